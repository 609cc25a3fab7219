package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
				header := relfile.Header(token, time.Now())
				if file == "" || file == "-" {
					return relfile.Encode(streams.Out, f, header)
				}
				if err := writeFileAtomically(file, func(w io.Writer) error { return relfile.Encode(w, f, header) }); err != nil {
					return err
				}
				fmt.Fprintf(streams.Err, "exported the schema and %d relationships to %s\n", len(f.Relationships), file)
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

// writeFileAtomically writes to a temporary file beside path, syncs it and
// renames it into place: a backup is either complete or absent.
func writeFileAtomically(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := write(tmp); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
