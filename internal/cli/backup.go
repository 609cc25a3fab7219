package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/authzed/authzed-go/v1"
	"github.com/spf13/cobra"

	"github.com/hostaccess/hostaccess/internal/relfile"
)

func newExportCommand(streams Streams, conn *connFlags) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "export [--file FILE]",
		Short: "Write the schema and every relationship, at one revision, to a file or standard output",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return conn.withClient(cmd, func(ctx context.Context, client *authzed.Client) error {
				f, token, err := relfile.Export(ctx, client)
				if err != nil {
					return err
				}
				var w io.Writer = streams.Out
				if file != "" && file != "-" {
					out, err := os.Create(file)
					if err != nil {
						return err
					}
					defer out.Close()
					w = out
				}
				if err := relfile.Encode(w, f, relfile.Header(token, time.Now())); err != nil {
					return err
				}
				if file != "" && file != "-" {
					fmt.Fprintf(streams.Err, "exported the schema and %d relationships to %s\n", len(f.Relationships), file)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "file to write (default: standard output)")
	conn.register(cmd)
	return cmd
}

func newImportCommand(streams Streams, conn *connFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Load a file written by export (schema + relationships) in one transaction",
		Long: `Import writes the file's schema, then loads every relationship in a single
bulk import: if any relationship is refused (already present, not allowed by
the schema), none is written. Import into an empty datastore to restore a backup.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := relfile.Read(args[0])
			if err != nil {
				return err
			}
			return conn.withClient(cmd, func(ctx context.Context, client *authzed.Client) error {
				n, err := relfile.Import(ctx, client, f)
				if err != nil {
					return err
				}
				if conn.output == outputJSON {
					return printJSON(streams.Out, map[string]any{"relationships": n, "schema_written": f.Schema != ""})
				}
				_, err = fmt.Fprintf(streams.Out, "imported %d relationships\n", n)
				return err
			})
		},
	}
	conn.register(cmd)
	return cmd
}
