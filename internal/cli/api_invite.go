package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/hostaccess/hostaccess/internal/apiclient"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func newInviteCommand(streams Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "invite",
		Short: "Invite people to an account, and manage and accept invitations (HTTP API)",
	}
	cmd.AddCommand(
		newInviteCreateCommand(streams),
		newInviteListCommand(streams),
		newInviteRevokeCommand(streams),
		newInviteRegenerateCommand(streams),
		newInviteAcceptCommand(streams),
	)
	return cmd
}

func newInviteCreateCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	af := &accessFlags{}
	cmd := newAPILeaf("create ACCOUNT EMAIL", "Invite EMAIL with the given rights; prints the link to send", cobra.ExactArgs(2), f,
		func(cmd *cobra.Command, args []string) error {
			var access hostaccess.Access
			return f.withAPI(cmd, af.parseInto(&access), func(ctx context.Context, client *apiclient.Client) error {
				link, err := client.Invite(ctx, args[0], args[1], access)
				if err != nil {
					return err
				}
				return printLink(streams.Out, f, link)
			})
		})
	cmd.Example = `  hostaccess invite create acme carol@example.com --right billing --actor user:alice
  hostaccess invite create acme dave@example.com --tag client-x --expires 2027-06-30T00:00:00Z --actor user:alice`
	af.register(cmd)
	return cmd
}

// printLink prints an invitation link: the URL (or bare token) to pass on.
func printLink(w io.Writer, f *apiFlags, link hostaccess.InvitationLink) error {
	if f.json() {
		return printJSON(w, link)
	}
	emailed := yesNo(link.Emailed)
	if link.EmailError != "" {
		emailed += " (" + link.EmailError + ")"
	}
	return printFields(w, [][2]string{
		{"invitation", link.Invitation.ID},
		{"email", link.Invitation.Email},
		{"access", link.Invitation.Access.Summary()},
		{"expires", link.Invitation.ExpiresAt.UTC().Format(time.RFC3339)},
		{"url", orDash(link.URL)},
		{"token", link.Token},
		{"emailed", emailed},
	})
}

func newInviteListCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	return newAPILeaf("list ACCOUNT", "List an account's invitations and their status", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				invs, err := client.ListInvitations(ctx, args[0])
				if err != nil {
					return err
				}
				if f.json() {
					return printJSON(streams.Out, map[string]any{"invitations": orEmpty(invs)})
				}
				rows := make([][]string, 0, len(invs))
				for _, inv := range invs {
					rows = append(rows, []string{
						inv.ID, inv.Email, inv.Status, inv.Access.Summary(),
						inv.ExpiresAt.UTC().Format(time.RFC3339), inv.InvitedBy,
					})
				}
				return printTable(streams.Out, []string{"ID", "EMAIL", "STATUS", "ACCESS", "EXPIRES", "INVITED BY"}, rows)
			})
		})
}

func newInviteRevokeCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	return newAPILeaf("revoke ID", "Revoke a pending invitation: its link stops working at once", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				res, err := client.RevokeInvitation(ctx, args[0])
				if err != nil {
					return err
				}
				return printDone(streams.Out, f, res, "invitation %s revoked", args[0])
			})
		})
}

func newInviteRegenerateCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	return newAPILeaf("regenerate ID", "Replace an invitation's link with a new one (the old one stops working)", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				link, err := client.RegenerateInvitation(ctx, args[0])
				if err != nil {
					return err
				}
				return printLink(streams.Out, f, link)
			})
		})
}

func newInviteAcceptCommand(streams Streams) *cobra.Command {
	f := &apiFlags{noActor: true} // the login in the body accepts
	var login hostaccess.Login
	cmd := newAPILeaf("accept TOKEN --user U --email E", "Accept an invitation for a login (what the panel does when the link is opened)", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			check := func() error {
				if login.UserID == "" || login.Email == "" {
					return fmt.Errorf("--user and --email are required: the login accepting the invitation")
				}
				return nil
			}
			return f.withAPI(cmd, check, func(ctx context.Context, client *apiclient.Client) error {
				acc, err := client.AcceptInvitation(ctx, args[0], login)
				if err != nil {
					return err
				}
				if f.json() {
					return printJSON(streams.Out, acc)
				}
				switch {
				case acc.Owner:
					_, err = fmt.Fprintf(streams.Out, "%s already owns %s: nothing to add\n", login.UserID, acc.AccountID)
				case acc.Merged:
					_, err = fmt.Fprintf(streams.Out, "%s now holds on %s: %s (added to their existing access)\n", login.UserID, acc.AccountID, acc.Access.Summary())
				default:
					_, err = fmt.Fprintf(streams.Out, "%s joined %s: %s\n", login.UserID, acc.AccountID, acc.Access.Summary())
				}
				return err
			})
		})
	cmd.Example = `  hostaccess invite accept "$TOKEN" --user carol --email carol@example.com --email-verified`
	cmd.Flags().StringVar(&login.UserID, "user", "", "user id of the login accepting (required)")
	cmd.Flags().StringVar(&login.Email, "email", "", "e-mail address of the login (required; must be the invited one)")
	cmd.Flags().BoolVar(&login.EmailVerified, "email-verified", false, "the login system verified the e-mail address")
	cmd.Flags().StringVar(&login.DisplayName, "display-name", "", "display name of the login")
	return cmd
}
