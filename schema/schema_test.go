package schema_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/validate"
	"github.com/hostaccess/hostaccess/schema"
)

// minAssertions is the floor the schema's validation files must keep: every
// rule of the domain the schema carries has an allowed and a denied case.
const minAssertions = 60

func TestEmbeddedSchemaMatchesFile(t *testing.T) {
	onDisk, err := os.ReadFile("hosting.zed")
	require.NoError(t, err)
	require.Equal(t, string(onDisk), schema.Hosting)
}

func TestEmbeddedSchemaCompilesWithoutWarnings(t *testing.T) {
	res := validate.Schema(context.Background(), schema.FileName, schema.Hosting)
	require.Empty(t, res.Problems)
	require.Empty(t, res.Warnings)
}

// TestValidationFiles runs every validation file in testdata/schema with the
// semantics of `zed validate`. A failing assertion is reported by its text.
func TestValidationFiles(t *testing.T) {
	files, err := filepath.Glob("../testdata/schema/*.yaml")
	require.NoError(t, err)
	demo, err := filepath.Glob("../testdata/demo.yaml")
	files = append(files, demo...)
	require.NoError(t, err)
	require.NotEmpty(t, files)

	total := 0
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			res, err := validate.File(context.Background(), file)
			require.NoError(t, err)
			for _, p := range res.Problems {
				t.Errorf("%s", p)
			}
			require.Positive(t, res.Assertions, "a validation file without assertions proves nothing")
			total += res.Assertions
		})
	}
	require.GreaterOrEqual(t, total, minAssertions, "the schema's validation files must keep at least %d assertions", minAssertions)
}

// TestValidationCatchesBrokenAssertion guards the harness itself: a wrong
// assertion must fail and be named.
func TestValidationCatchesBrokenAssertion(t *testing.T) {
	file := []byte(`schemaFile: hosting.zed
relationships: |-
  account:acme#owner@user:alice
  account:acme#member@user:carol
assertions:
  assertTrue:
    - account:acme#pay_invoices@user:carol
  assertFalse:
    - account:acme#pay_invoices@user:alice
`)
	res, err := validate.ValidationFile(context.Background(), "broken.yaml", file, func(string) ([]byte, error) {
		return []byte(schema.Hosting), nil
	})
	require.NoError(t, err)
	require.Len(t, res.Problems, 2)
	joined := res.Problems[0].String() + "\n" + res.Problems[1].String()
	require.Contains(t, joined, "account:acme#pay_invoices@user:carol")
	require.Contains(t, joined, "account:acme#pay_invoices@user:alice")
}

func TestValidationRejectsBadInput(t *testing.T) {
	for name, tc := range map[string]struct {
		file string
		want string
	}{
		"unknown relation": {
			file: "schemaFile: hosting.zed\nrelationships: |-\n  account:acme#boss@user:alice\n",
			want: "boss",
		},
		"contact given an access right": {
			file: "schemaFile: hosting.zed\nrelationships: |-\n  account:acme#billing@contact:compta\n",
			want: "contact",
		},
		"malformed relationship": {
			file: "schemaFile: hosting.zed\nrelationships: |-\n  account:acme#owner\n",
			want: "account:acme#owner",
		},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := validate.ValidationFile(context.Background(), "bad.yaml", []byte(tc.file), func(string) ([]byte, error) {
				return []byte(schema.Hosting), nil
			})
			if err == nil {
				require.False(t, res.OK(), "expected a problem")
				var msgs []string
				for _, p := range res.Problems {
					msgs = append(msgs, p.String())
				}
				require.Contains(t, strings.Join(msgs, "\n"), tc.want)
				return
			}
			require.Contains(t, err.Error(), tc.want)
		})
	}
}
