package relfile_test

import (
	"bytes"
	"os"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hostaccess/hostaccess/internal/relfile"
)

// FuzzDecode: a relationship file (the import and backup format) is decoded
// or refused, never panics, and what decodes encodes to a file that decodes
// to the same schema, relationships and directory.
func FuzzDecode(f *testing.F) {
	demo, err := os.ReadFile("../../testdata/demo.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(demo)
	f.Add([]byte("schema: |-\n  definition user {}\nrelationships: |-\n  user:a#x@user:b\n"))
	f.Add([]byte("relationships: |-\n  account:acme#member@user:carol[expiration:2026-12-31T00:00:00Z]\ndirectory:\n  people:\n    - id: carol\n      email: carol@example.com\n"))
	f.Add([]byte("directory: null\n"))
	f.Add([]byte("schemaFile: /etc/passwd\n"))
	f.Add([]byte("relationships: [1, 2]\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		file, err := relfile.Decode(raw, nil)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := relfile.Encode(&buf, file, "fuzz"); err != nil {
			// Only a directory section whose values YAML cannot hold gets here.
			if file.Directory == nil {
				t.Fatalf("decoded, but encoding fails: %v", err)
			}
			return
		}
		again, err := relfile.Decode(buf.Bytes(), nil)
		if err != nil {
			t.Fatalf("encoded %q does not decode: %v", buf.String(), err)
		}
		if again.Schema != file.Schema {
			t.Fatalf("schema %q came back as %q", file.Schema, again.Schema)
		}
		if len(again.Relationships) != len(file.Relationships) {
			t.Fatalf("%d relationships came back as %d", len(file.Relationships), len(again.Relationships))
		}
		for i, rel := range file.Relationships {
			if !proto.Equal(rel, again.Relationships[i]) {
				t.Fatalf("relationship %v came back as %v", rel, again.Relationships[i])
			}
		}
		if (file.Directory == nil) != (again.Directory == nil) {
			t.Fatalf("directory section %v came back as %v", file.Directory, again.Directory)
		}
	})
}
