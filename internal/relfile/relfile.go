// Package relfile reads and writes relationship files in SpiceDB's
// validation-file format (schema + relationships), the format of
// `hostaccess export`, `hostaccess import`, `serve --bootstrap` and the
// demo data, so one file moves between hostaccess, zed and the Playground.
package relfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/authzed-go/v1"
	"github.com/authzed/spicedb/pkg/tuple"
	"github.com/authzed/spicedb/pkg/validationfile"
	"go.yaml.in/yaml/v3"

	"github.com/hostaccess/hostaccess/internal/streams"
	"github.com/hostaccess/hostaccess/internal/tuples"
	"github.com/hostaccess/hostaccess/pkg/directory"
)

// File is the content of a relationship file.
type File struct {
	// Schema is the schema text; empty when the file names none.
	Schema string
	// Relationships in file order.
	Relationships []*v1.Relationship
	// Directory is the directory's data, in a full backup; nil otherwise.
	Directory *directory.Snapshot
}

// Read loads a relationship file. A schemaFile key is resolved relative to
// the file's folder.
func Read(path string) (File, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return File{}, err
	}
	f, err := Decode(raw, func(name string) ([]byte, error) {
		if !filepath.IsAbs(name) {
			name = filepath.Join(filepath.Dir(path), name)
		}
		return os.ReadFile(name)
	})
	if err != nil {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Decode parses a relationship file; readSchemaFile loads a schemaFile
// reference (nil refuses them).
func Decode(raw []byte, readSchemaFile func(string) ([]byte, error)) (File, error) {
	vf, err := validationfile.DecodeValidationFile(raw)
	if err != nil {
		return File{}, err
	}
	f := File{Schema: vf.Schema.Schema}
	if vf.SchemaFile != "" {
		if readSchemaFile == nil {
			return File{}, errors.New("schemaFile references are not allowed here")
		}
		schemaText, err := readSchemaFile(vf.SchemaFile)
		if err != nil {
			return File{}, fmt.Errorf("reading schemaFile: %w", err)
		}
		f.Schema = string(schemaText)
	}
	for _, rel := range vf.Relationships.Relationships {
		f.Relationships = append(f.Relationships, tuple.ToV1Relationship(rel))
	}
	var extra struct {
		Directory any `yaml:"directory"`
	}
	if err := yaml.Unmarshal(raw, &extra); err != nil {
		return File{}, err
	}
	if extra.Directory != nil {
		if f.Directory, err = snapshotFromYAML(extra.Directory); err != nil {
			return File{}, err
		}
	}
	return f, nil
}

type document struct {
	Schema        string `yaml:"schema"`
	Relationships string `yaml:"relationships"`
	Directory     any    `yaml:"directory,omitempty"`
}

// Encode writes f as a validation file, with a comment header.
func Encode(w io.Writer, f File, header string) error {
	var rels strings.Builder
	for _, rel := range f.Relationships {
		rels.WriteString(tuples.String(rel))
		rels.WriteByte('\n')
	}
	var buf bytes.Buffer
	for _, line := range strings.Split(strings.TrimSpace(header), "\n") {
		if line != "" {
			fmt.Fprintf(&buf, "# %s\n", line)
		}
	}
	doc := document{Schema: f.Schema, Relationships: rels.String()}
	if f.Directory != nil {
		dir, err := snapshotToYAML(f.Directory)
		if err != nil {
			return err
		}
		doc.Directory = dir
	}
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Export reads the schema and every relationship from SpiceDB at one
// revision, returning the ZedToken of that revision.
func Export(ctx context.Context, client *authzed.Client) (File, string, error) {
	schemaResp, err := client.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	if err != nil {
		return File{}, "", fmt.Errorf("reading the schema: %w", err)
	}
	at := schemaResp.GetReadAt()
	stream, err := client.ExportBulkRelationships(ctx, &v1.ExportBulkRelationshipsRequest{
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: at}},
	})
	if err != nil {
		return File{}, "", fmt.Errorf("exporting relationships: %w", err)
	}
	f := File{Schema: schemaResp.GetSchemaText()}
	if err := streams.Each(stream, func(resp *v1.ExportBulkRelationshipsResponse) {
		f.Relationships = append(f.Relationships, resp.GetRelationships()...)
	}); err != nil {
		return File{}, "", fmt.Errorf("exporting relationships: %w", err)
	}
	return f, at.GetToken(), nil
}

// importBatch is how many relationships travel in one import message.
const importBatch = 1_000

// Import writes f's schema (when it has one) and then all its relationships
// in one bulk import, which SpiceDB applies in a single transaction: an
// import that fails (a relationship already present, one the schema refuses)
// writes no relationship at all. Returns how many were loaded.
func Import(ctx context.Context, client *authzed.Client, f File) (uint64, error) {
	if f.Schema != "" {
		if _, err := client.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: f.Schema}); err != nil {
			return 0, fmt.Errorf("writing the schema: %w", err)
		}
	}
	if len(f.Relationships) == 0 {
		return 0, nil
	}
	stream, err := client.ImportBulkRelationships(ctx)
	if err != nil {
		return 0, fmt.Errorf("importing relationships: %w", err)
	}
	for start := 0; start < len(f.Relationships); start += importBatch {
		end := min(start+importBatch, len(f.Relationships))
		if err := stream.Send(&v1.ImportBulkRelationshipsRequest{Relationships: f.Relationships[start:end]}); err != nil {
			if errors.Is(err, io.EOF) {
				break // the server ended the stream; CloseAndRecv returns why
			}
			return 0, fmt.Errorf("importing relationships: %w", err)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return 0, fmt.Errorf("importing relationships (nothing was imported): %w", err)
	}
	return resp.GetNumLoaded(), nil
}

// Touch writes relationships idempotently (create or update), in chunks of
// at most chunk per WriteRelationships. Used for bootstrap data, which must
// load again harmlessly on every start of a durable deployment.
func Touch(ctx context.Context, client *authzed.Client, rels []*v1.Relationship, chunk int) (*v1.ZedToken, error) {
	var token *v1.ZedToken
	for start := 0; start < len(rels); start += chunk {
		end := min(start+chunk, len(rels))
		updates := make([]*v1.RelationshipUpdate, 0, end-start)
		for _, rel := range rels[start:end] {
			updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel})
		}
		resp, err := client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates})
		if err != nil {
			return token, err
		}
		token = resp.GetWrittenAt()
	}
	return token, nil
}

// Header is the comment an export starts with.
func Header(token string, now time.Time) string {
	return fmt.Sprintf("hostaccess export, %s\nrevision (ZedToken): %s\nrestore with: hostaccess import FILE", now.UTC().Format(time.RFC3339), token)
}
