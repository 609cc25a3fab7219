package cli_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/cli"
)

// Help examples are meant to be pasted against `make run`: every object
// they name must exist in the demo data.
func TestHelpExamplesNameDemoObjects(t *testing.T) {
	demo, err := os.ReadFile("../../testdata/demo.yaml")
	require.NoError(t, err)
	object := regexp.MustCompile(`\b(user|contact|host|account|product|product_group|tag):([a-z0-9][a-z0-9_/.-]*)`)
	var walk func(c *cobra.Command)
	seen := 0
	walk = func(c *cobra.Command) {
		for _, m := range object.FindAllString(c.Example, -1) {
			seen++
			require.True(t, strings.Contains(string(demo), m+"#") || strings.Contains(string(demo), "@"+m+"\n") || strings.Contains(string(demo), "@"+m+"#"),
				"`%s` help example names %s, which the demo data (testdata/demo.yaml) does not hold", c.CommandPath(), m)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cli.NewRootCommand(cli.Streams{}))
	require.NotZero(t, seen, "no help example names an object: the test reads nothing")
}
