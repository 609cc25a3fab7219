// Package validate runs SpiceDB validation files with SpiceDB's own development
// packages, so `hostaccess schema validate` and `go test` have the semantics of
// `zed validate`: the schema compiles, the relationships fit it, every
// assertion holds and every expected-relations block matches exactly.
package validate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/authzed/spicedb/pkg/development"
	corev1 "github.com/authzed/spicedb/pkg/proto/core/v1"
	devinterface "github.com/authzed/spicedb/pkg/proto/developer/v1"
	"github.com/authzed/spicedb/pkg/validationfile"
)

// Problem is one thing wrong with a validated file, located as precisely as
// SpiceDB can tell.
type Problem struct {
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
	// Context is the offending text: the assertion, relationship or schema
	// fragment, so a failure names what broke.
	Context string `json:"context,omitempty"`
}

func (p Problem) String() string {
	loc := ""
	if p.Line > 0 {
		loc = fmt.Sprintf("line %d: ", p.Line)
	}
	if p.Context != "" && !strings.Contains(p.Message, p.Context) {
		return fmt.Sprintf("%s%s: %s (%s)", loc, p.Kind, p.Message, p.Context)
	}
	return fmt.Sprintf("%s%s: %s", loc, p.Kind, p.Message)
}

// Result is the outcome of validating one file.
type Result struct {
	File              string    `json:"file"`
	Relationships     int       `json:"relationships"`
	Assertions        int       `json:"assertions"`
	ExpectedRelations int       `json:"expected_relations"`
	Problems          []Problem `json:"problems,omitempty"`
	Warnings          []Problem `json:"warnings,omitempty"`
}

// OK reports whether the file validated without problems (warnings allowed).
func (r Result) OK() bool { return len(r.Problems) == 0 }

// File validates a schema (.zed) or a validation file (YAML). A validation
// file's schemaFile is resolved relative to the file itself.
func File(ctx context.Context, path string) (Result, error) {
	contents, err := os.ReadFile(path)
	if err != nil {
		return Result{}, err
	}
	if strings.HasSuffix(path, ".zed") {
		return Schema(ctx, path, string(contents)), nil
	}
	return ValidationFile(ctx, path, contents, func(schemaFile string) ([]byte, error) {
		if !filepath.IsAbs(schemaFile) {
			schemaFile = filepath.Join(filepath.Dir(path), schemaFile)
		}
		return os.ReadFile(schemaFile)
	})
}

// Schema checks that a schema compiles, reporting where it does not.
func Schema(ctx context.Context, name, schemaText string) Result {
	res := Result{File: name}
	dev, devErrs, err := development.NewDevContext(ctx, &devinterface.RequestContext{Schema: schemaText})
	if err != nil {
		res.Problems = append(res.Problems, Problem{Kind: "error", Message: err.Error()})
		return res
	}
	if devErrs != nil {
		res.Problems = append(res.Problems, fromDevErrors(devErrs.InputErrors)...)
		return res
	}
	defer dev.Dispose()
	res.Warnings = warnings(ctx, dev)
	return res
}

// ValidationFile validates the contents of a validation file. readSchemaFile
// loads the file named by a `schemaFile:` key.
func ValidationFile(ctx context.Context, name string, contents []byte, readSchemaFile func(string) ([]byte, error)) (Result, error) {
	res := Result{File: name}
	vf, err := validationfile.DecodeValidationFile(contents)
	if err != nil {
		res.Problems = append(res.Problems, Problem{Kind: "parse_error", Message: err.Error()})
		return res, nil
	}

	schemaText := vf.Schema.Schema
	if vf.SchemaFile != "" {
		if schemaText != "" {
			res.Problems = append(res.Problems, Problem{Kind: "parse_error", Message: "a validation file takes either schema or schemaFile, not both"})
			return res, nil
		}
		raw, err := readSchemaFile(vf.SchemaFile)
		if err != nil {
			return res, fmt.Errorf("reading schemaFile %q: %w", vf.SchemaFile, err)
		}
		schemaText = string(raw)
	}
	if strings.TrimSpace(schemaText) == "" {
		res.Problems = append(res.Problems, Problem{Kind: "parse_error", Message: "the file has no schema (schema or schemaFile)"})
		return res, nil
	}

	rels := make([]*corev1.RelationTuple, 0, len(vf.Relationships.Relationships))
	for _, rel := range vf.Relationships.Relationships {
		rels = append(rels, rel.ToCoreTuple())
	}
	res.Relationships = len(rels)

	dev, devErrs, err := development.NewDevContext(ctx, &devinterface.RequestContext{Schema: schemaText, Relationships: rels})
	if err != nil {
		return res, err
	}
	if devErrs != nil {
		res.Problems = append(res.Problems, fromDevErrors(devErrs.InputErrors)...)
		return res, nil
	}
	defer dev.Dispose()

	assertions := vf.Assertions
	res.Assertions = len(assertions.AssertTrue) + len(assertions.AssertFalse) + len(assertions.AssertCaveated)
	failures, err := development.RunAllAssertions(dev, &assertions)
	if err != nil {
		return res, err
	}
	res.Problems = append(res.Problems, fromDevErrors(failures)...)

	res.ExpectedRelations = len(vf.ExpectedRelations.ValidationMap)
	if res.ExpectedRelations > 0 {
		_, failures, err := development.RunValidation(dev, &vf.ExpectedRelations)
		if err != nil {
			return res, err
		}
		res.Problems = append(res.Problems, fromDevErrors(failures)...)
	}

	res.Warnings = warnings(ctx, dev)
	return res, nil
}

func warnings(ctx context.Context, dev *development.DevContext) []Problem {
	ws, err := development.GetWarnings(ctx, dev)
	if err != nil {
		return []Problem{{Kind: "warning", Message: "could not compute warnings: " + err.Error()}}
	}
	out := make([]Problem, 0, len(ws))
	for _, w := range ws {
		out = append(out, Problem{Line: int(w.Line), Column: int(w.Column), Kind: "warning", Message: w.Message, Context: w.SourceCode})
	}
	return out
}

func fromDevErrors(errs []*devinterface.DeveloperError) []Problem {
	out := make([]Problem, 0, len(errs))
	for _, e := range errs {
		out = append(out, Problem{
			Line:    int(e.Line),
			Column:  int(e.Column),
			Kind:    strings.ToLower(e.Kind.String()),
			Message: e.Message,
			Context: e.Context,
		})
	}
	return out
}
