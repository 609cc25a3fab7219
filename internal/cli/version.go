package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hostaccess/hostaccess/internal/version"
)

func newVersionCommand(streams Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the versions of hostaccess, Go and the embedded SpiceDB",
		Long: `Print hostaccess's version (its module version, or the one set at build time
with -ldflags "-X github.com/hostaccess/hostaccess/internal/version.Version=..."),
the VCS revision it was built from, the Go release that built it and the
version of the SpiceDB module it embeds (which is also what the embedded
SpiceDB reports to clients such as zed).`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprint(streams.Out, version.Current().String())
			return err
		},
	}
}
