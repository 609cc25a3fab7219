package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/cli"
	"github.com/hostaccess/hostaccess/internal/version"
)

// TestVersionCommand: the output names the SpiceDB module this binary
// embeds (v1.x.y from go.mod) and the Go release that built it.
func TestVersionCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	code := cli.Run(context.Background(), []string{"version"}, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	require.Equal(t, cli.ExitOK, code, errOut.String())
	info := version.Current()
	require.Regexp(t, `^v1\.\d+\.\d+$`, info.SpiceDB, "the test binary links SpiceDB")
	require.Contains(t, out.String(), "spicedb    "+info.SpiceDB+"\n")
	require.Contains(t, out.String(), "go         "+info.Go+"\n")
	require.True(t, strings.HasPrefix(out.String(), "hostaccess "), out.String())
}
