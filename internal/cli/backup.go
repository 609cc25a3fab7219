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
	"github.com/hostaccess/hostaccess/pkg/engine"
)

func newExportCommand(streams Streams, conn *connFlags) *cobra.Command {
	var file string
	var offline offlineFlags
	cmd := &cobra.Command{
		Use:   "export [--file FILE]",
		Short: "Write the schema and every relationship (and, offline, the directory) to a file or standard output",
		Long: `Without --datastore-conn-uri, export is a client of a running server (any
SpiceDB): the schema and every relationship at one revision.

With --datastore-engine postgres|cockroachdb and --datastore-conn-uri, export
reads the database directly and writes a FULL backup: relationships and the
directory (accounts, people, invitations, contacts, audit log), restorable
with import into an empty database.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			write := func(f relfile.File, token string) error {
				header := relfile.Header(token, time.Now())
				if file == "" || file == "-" {
					return relfile.Encode(streams.Out, f, header)
				}
				if err := writeFileAtomically(file, func(w io.Writer) error { return relfile.Encode(w, f, header) }); err != nil {
					return err
				}
				what := "the schema and"
				if f.Directory != nil {
					what = "the schema, the directory and"
				}
				fmt.Fprintf(streams.Err, "exported %s %d relationships to %s\n", what, len(f.Relationships), file)
				return nil
			}
			if offline.uri != "" {
				return offline.run(cmd.Context(), false, func(ctx context.Context, o *offlineStores) error {
					f, token, err := relfile.Export(ctx, o.engine.Client)
					if err != nil {
						return err
					}
					snap, err := o.dir.ExportAll(ctx)
					if err != nil {
						return fmt.Errorf("exporting the directory: %w", err)
					}
					f.Directory = &snap
					return write(f, token)
				})
			}
			return conn.withClient(cmd, func(ctx context.Context, client *authzed.Client) error {
				f, token, err := relfile.Export(ctx, client)
				if err != nil {
					return err
				}
				return write(f, token)
			})
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "file to write (default: standard output)")
	offline.register(cmd)
	conn.register(cmd)
	return cmd
}

func newImportCommand(streams Streams, conn *connFlags) *cobra.Command {
	var offline offlineFlags
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Load a file written by export in one transaction (offline: a full backup into an empty database)",
		Long: `Import writes the file's schema, then loads every relationship in a single
bulk import: if any relationship is refused (already present, not allowed by
the schema), none is written. Import into an empty datastore to restore a backup.

With --datastore-engine postgres|cockroachdb and --datastore-conn-uri, import
migrates the (empty) database and restores a full backup: relationships and
the directory.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := relfile.Read(args[0])
			if err != nil {
				return err
			}
			if offline.uri != "" {
				return offline.run(cmd.Context(), true, func(ctx context.Context, o *offlineStores) error {
					if f.Directory != nil {
						existing, err := o.dir.ExportAll(ctx)
						if err != nil {
							return err
						}
						if !isEmpty(existing) {
							return errNotEmpty
						}
					}
					n, err := relfile.Import(ctx, o.engine.Client, f)
					if err != nil {
						return err
					}
					if f.Directory != nil {
						if err := o.dir.ImportAll(ctx, *f.Directory); err != nil {
							return fmt.Errorf("the relationships were imported but not the directory (drop the database and import again): %w", err)
						}
					}
					if err := engine.Analyze(ctx, offline.engine, offline.uri); err != nil {
						return fmt.Errorf("imported, but: %w (run ANALYZE)", err)
					}
					fmt.Fprintf(streams.Out, "imported %d relationships%s\n", n, map[bool]string{true: " and the directory", false: ""}[f.Directory != nil])
					return nil
				})
			}
			if f.Directory != nil {
				fmt.Fprintln(streams.Err, "note: this file holds directory data, which only an offline import (--datastore-conn-uri) restores; importing the relationships")
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
	offline.register(cmd)
	conn.register(cmd)
	return cmd
}

// offlineFlags select a database to back up or restore directly.
type offlineFlags struct {
	engine string
	uri    string
}

func (o *offlineFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.engine, "datastore-engine", engine.EnginePostgres, "with --datastore-conn-uri: postgres or cockroachdb")
	cmd.Flags().StringVar(&o.uri, "datastore-conn-uri", "", "work on this database directly (full backup with the directory) instead of a running server")
}

func (o *offlineFlags) run(ctx context.Context, migrate bool, fn func(context.Context, *offlineStores) error) error {
	stores, err := openOffline(ctx, o.engine, o.uri, migrate)
	if err != nil {
		return err
	}
	defer stores.stop()
	return fn(ctx, stores)
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
