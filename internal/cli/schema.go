package cli

import (
	"context"
	"fmt"
	"os"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/authzed-go/v1"
	"github.com/spf13/cobra"

	"github.com/hostaccess/hostaccess/internal/validate"
	"github.com/hostaccess/hostaccess/pkg/engine"
)

func newSchemaCommand(streams Streams, conn *connFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Read, write or validate the relationship schema",
	}
	cmd.AddCommand(newSchemaReadCommand(streams, conn), newSchemaWriteCommand(streams, conn), newSchemaValidateCommand(streams))
	return cmd
}

func newSchemaReadCommand(streams Streams, conn *connFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "read",
		Short: "Print the schema the server holds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return conn.withClient(cmd, func(ctx context.Context, client *authzed.Client) error {
				resp, err := client.ReadSchema(ctx, &v1.ReadSchemaRequest{})
				if err != nil {
					return err
				}
				if conn.output == outputJSON {
					return printJSON(streams.Out, map[string]string{"schema": resp.GetSchemaText(), "read_at": resp.GetReadAt().GetToken()})
				}
				_, err = fmt.Fprintln(streams.Out, resp.GetSchemaText())
				return err
			})
		},
	}
	conn.register(cmd)
	return cmd
}

func newSchemaWriteCommand(streams Streams, conn *connFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "write FILE",
		Short: "Replace the server's schema with FILE (.zed); refused if it would orphan relationships",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			text, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			if res := validate.Schema(cmd.Context(), args[0], string(text)); !res.OK() {
				return fmt.Errorf("%s does not compile: %s", args[0], res.Problems[0])
			}
			return conn.withClient(cmd, func(ctx context.Context, client *authzed.Client) error {
				var changes []string
				if current, err := client.ReadSchema(ctx, &v1.ReadSchemaRequest{}); err == nil {
					if changes, err = engine.DiffSchemas(current.GetSchemaText(), string(text)); err != nil {
						return err
					}
				}
				resp, err := client.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: string(text)})
				if err != nil {
					return err
				}
				if conn.output == outputJSON {
					return printJSON(streams.Out, map[string]any{"written_at": resp.GetWrittenAt().GetToken(), "changes": changes})
				}
				for _, c := range changes {
					fmt.Fprintln(streams.Out, c)
				}
				_, err = fmt.Fprintf(streams.Out, "schema written (%d changes)\n", len(changes))
				return err
			})
		},
	}
	conn.register(cmd)
	return cmd
}

func newSchemaValidateCommand(streams Streams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Validate schemas (.zed) and validation files (YAML) offline, like zed validate",
		Long: `Validate works offline, without a server. A .zed file must compile; a
validation file (YAML) must compile, its relationships must fit the schema,
every assertTrue / assertFalse must hold and every validation block must
match exactly. A failure names the assertion or relationship that broke.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			var results []validate.Result
			failed := 0
			for _, path := range args {
				res, err := validate.File(cmd.Context(), path)
				if err != nil {
					return err
				}
				if !res.OK() {
					failed++
				}
				results = append(results, res)
			}
			if output == outputJSON {
				if err := printJSON(streams.Out, results); err != nil {
					return err
				}
			} else {
				for _, res := range results {
					printValidation(streams, res)
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d files failed validation", failed, len(args))
			}
			return nil
		},
	}
	registerOutput(cmd, &output)
	return cmd
}

func printValidation(streams Streams, res validate.Result) {
	for _, w := range res.Warnings {
		fmt.Fprintf(streams.Out, "%s: %s\n", res.File, w)
	}
	if !res.OK() {
		for _, p := range res.Problems {
			fmt.Fprintf(streams.Out, "%s: FAIL %s\n", res.File, p)
		}
		return
	}
	fmt.Fprintf(streams.Out, "%s: ok (%d relationships, %d assertions, %d expected relations)\n",
		res.File, res.Relationships, res.Assertions, res.ExpectedRelations)
}
