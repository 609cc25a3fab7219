// Package cli builds the hostaccess command line: `serve` runs the engine,
// every other command is a client of a running server (or works offline,
// like `schema validate`).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes, documented in the README. `check` uses the first three to tell
// allowed, denied and error apart.
const (
	ExitOK          = 0 // success; check: allowed
	ExitDenied      = 1 // check: denied
	ExitError       = 2 // any error: bad input, unreachable server, refused write
	ExitConditional = 3 // check: allowed only under a caveat whose context is missing
)

// Streams are the command's standard streams.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// exitError carries a non-error exit code (denied, conditional) out of RunE.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Run executes the command line and returns the process exit code.
func Run(ctx context.Context, args []string, streams Streams) int {
	root := NewRootCommand(streams)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var exit exitError
	if errors.As(err, &exit) {
		return exit.code
	}
	fmt.Fprintf(streams.Err, "error: %v\n", err)
	return ExitError
}

// NewRootCommand builds the `hostaccess` command tree.
func NewRootCommand(streams Streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "hostaccess",
		Short: "Relationship-based access for hosting providers' client areas, on SpiceDB",
		Long: `hostaccess decides who may do what in a hosting provider's client area:
owners, administrators, users, contacts, products, groups, tags and host
delegation, modelled as relationships and answered by SpiceDB.

Every flag can also be set with an environment variable HOSTACCESS_<FLAG>,
e.g. --grpc-preshared-key as HOSTACCESS_GRPC_PRESHARED_KEY.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return bindEnv(cmd)
		},
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })

	conn := &connFlags{}
	root.AddCommand(
		newServeCommand(),
		newMigrateCommand(),
		newSchemaCommand(streams, conn),
		newRelCommand(streams, conn),
		newCheckCommand(streams, conn),
		newLookupResourcesCommand(streams, conn),
		newLookupSubjectsCommand(streams, conn),
		newExportCommand(streams, conn),
		newImportCommand(streams, conn),
		// Clients of the HTTP API (docs/http-api.md).
		newAccountCommand(streams), newProductCommand(streams), newInviteCommand(streams),
		newMemberCommand(streams), newRequestCommand(streams), newContactCommand(streams), newDelegationCommand(streams),
		newAccountsCommand(streams), newReachCommand(streams), newRecipientsCommand(streams),
		newWhoCanCommand(streams), newWhyDeniedCommand(streams), newAuditCommand(streams),
		newTokenCommand(streams),
		newBenchCommand(streams),
		newVersionCommand(streams),
	)
	return root
}
