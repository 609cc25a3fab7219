package schema_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/schema"
)

func TestTheHostingSchemaHasEveryNameTheCodeUses(t *testing.T) {
	require.NoError(t, schema.CheckVocabulary(schema.Hosting))
}

func TestASchemaMissingANameIsRefusedNamingIt(t *testing.T) {
	renamed := strings.Replace(schema.Hosting, "permission manage_users =", "permission manage_people =", 1)
	require.NotEqual(t, schema.Hosting, renamed)
	err := schema.CheckVocabulary(renamed)
	require.ErrorContains(t, err, "account#manage_users")

	noTags := strings.Replace(schema.Hosting, "definition tag {", "definition label {", 1)
	err = schema.CheckVocabulary(noTags)
	require.ErrorContains(t, err, "definition tag")
}

func TestASchemaThatDoesNotCompileIsRefused(t *testing.T) {
	require.ErrorContains(t, schema.CheckVocabulary("definition {"), "compiling the schema")
}
