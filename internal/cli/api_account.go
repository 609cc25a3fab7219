package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/hostaccess/hostaccess/internal/apiclient"
	"github.com/hostaccess/hostaccess/internal/wire"
)

func newAccountCommand(streams Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account",
		Short: "Create and close accounts, set their owners and administrator cap (HTTP API)",
	}
	cmd.AddCommand(
		newAccountCreateCommand(streams),
		newAccountCloseCommand(streams),
		newAccountAdminCapCommand(streams),
		newAccountTransferCommand(streams),
		newAccountAddOwnerCommand(streams),
	)
	return cmd
}

func newAccountCreateCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	var in wire.CreateAccountRequest
	var delegated bool
	cmd := newAPILeaf("create ID --owner USER", "Create an account with its owner", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			in.ID = args[0]
			check := func() error {
				if in.OwnerID == "" {
					return fmt.Errorf("--owner is required: the user id of the account's owner")
				}
				if cmd.Flags().Changed("delegated") {
					in.Delegated = &delegated
				}
				if in.Delegated != nil && *in.Delegated && in.HostID == "" {
					return fmt.Errorf("--delegated needs --host: the host to delegate to")
				}
				return nil
			}
			return f.withAPI(cmd, check, func(ctx context.Context, client *apiclient.Client) error {
				res, err := client.CreateAccount(ctx, in)
				if err != nil {
					return err
				}
				return printDone(streams.Out, f, res, "account %s created, owned by %s", in.ID, in.OwnerID)
			})
		})
	cmd.Example = `  hostaccess account create acme --owner alice --owner-email alice@acme.example --name "Acme Ltd" --actor service
  hostaccess account create acme --owner alice --host nordhost --actor service                   # managed: delegated by default
  hostaccess account create acme --owner alice --host nordhost --delegated=false --actor service # managed, delegation off`
	cmd.Flags().StringVar(&in.OwnerID, "owner", "", "user id of the owner (required)")
	cmd.Flags().StringVar(&in.OwnerEmail, "owner-email", "", "e-mail address of the owner")
	cmd.Flags().StringVar(&in.OwnerName, "owner-name", "", "display name of the owner")
	cmd.Flags().StringVar(&in.Name, "name", "", "display name of the account")
	cmd.Flags().StringVar(&in.HostID, "host", "", "provider or reseller the account belongs to")
	cmd.Flags().BoolVar(&delegated, "delegated", false, "let the host's staff manage the account's users (needs --host; default: on when --host is given)")
	return cmd
}

func newAccountCloseCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	return newAPILeaf("close ID", "Close an account: every access to it ends at once", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				res, err := client.CloseAccount(ctx, args[0])
				if err != nil {
					return err
				}
				return printDone(streams.Out, f, res, "account %s closed", args[0])
			})
		})
}

func newAccountAdminCapCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	return newAPILeaf("admin-cap ID N", "Set how many administrators an account may have (host staff or service)", cobra.ExactArgs(2), f,
		func(cmd *cobra.Command, args []string) error {
			var adminCap int
			check := func() error {
				n, err := strconv.Atoi(args[1])
				if err != nil || n < 1 {
					return fmt.Errorf("invalid administrator cap %q: want a positive number", args[1])
				}
				adminCap = n
				return nil
			}
			return f.withAPI(cmd, check, func(ctx context.Context, client *apiclient.Client) error {
				if err := client.SetAdminCap(ctx, args[0], adminCap); err != nil {
					return err
				}
				// The API answers 204 without a body; JSON output states the outcome.
				answer := map[string]any{"account_id": args[0], "admin_cap": adminCap}
				return printDone(streams.Out, f, answer, "account %s: administrator cap set to %d", args[0], adminCap)
			})
		})
}

func newAccountTransferCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	var to string
	cmd := newAPILeaf("transfer ID --to USER", "Make member USER the owner; the acting owner leaves (run as the owner: --actor user:ID)", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			check := func() error {
				if to == "" {
					return fmt.Errorf("--to is required: the member who becomes the owner")
				}
				return nil
			}
			return f.withAPI(cmd, check, func(ctx context.Context, client *apiclient.Client) error {
				res, err := client.TransferOwnership(ctx, args[0], to, nil)
				if err != nil {
					return err
				}
				return printDone(streams.Out, f, res, "account %s now owned by %s", args[0], to)
			})
		})
	cmd.Example = `  hostaccess account transfer acme --to carol --actor user:alice`
	cmd.Flags().StringVar(&to, "to", "", "member who becomes the owner (required)")
	return cmd
}

func newAccountAddOwnerCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	return newAPILeaf("add-owner ID USER", "Make member USER an additional owner (owners or service)", cobra.ExactArgs(2), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				res, err := client.AddOwner(ctx, args[0], args[1])
				if err != nil {
					return err
				}
				return printDone(streams.Out, f, res, "account %s: %s is now an owner", args[0], args[1])
			})
		})
}

func newDelegationCommand(streams Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delegation",
		Short: "Let the host's staff manage an account's users, or stop it (HTTP API)",
	}
	for _, on := range []bool{true, false} {
		f := &apiFlags{}
		use, short, done := "off ACCOUNT", "Stop the host's staff managing the account's users (at once)", "off"
		if on {
			use, short, done = "on ACCOUNT", "Let the host's staff manage the account's users", "on"
		}
		cmd.AddCommand(newAPILeaf(use, short, cobra.ExactArgs(1), f,
			func(cmd *cobra.Command, args []string) error {
				return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
					res, err := client.SetDelegation(ctx, args[0], on)
					if err != nil {
						return err
					}
					return printDone(streams.Out, f, res, "account %s: delegation %s", args[0], done)
				})
			}))
	}
	return cmd
}
