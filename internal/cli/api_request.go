package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hostaccess/hostaccess/internal/apiclient"
	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func newRequestCommand(streams Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "request",
		Short: "Ask for access one lacks, and approve or refuse such requests (HTTP API)",
	}
	cmd.AddCommand(
		newRequestCreateCommand(streams),
		newRequestListCommand(streams),
		newRequestDecideCommand(streams, true),
		newRequestDecideCommand(streams, false),
	)
	return cmd
}

func newRequestCreateCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	af := &accessFlags{}
	var reason string
	cmd := newAPILeaf("create ACCOUNT --reason TEXT", "Ask, as the actor, for the rights and product scopes the flags name, with a reason", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			var access hostaccess.Access
			check := func() error {
				if strings.TrimSpace(reason) == "" {
					return fmt.Errorf("--reason is required: say why the access is needed")
				}
				return af.parseInto(&access)()
			}
			return f.withAPI(cmd, check, func(ctx context.Context, client *apiclient.Client) error {
				out, err := client.RequestAccess(ctx, args[0], hostaccess.AccessRequestInput{Access: access, Reason: reason})
				if err != nil {
					return err
				}
				return printRequest(streams.Out, f, out)
			})
		})
	cmd.Example = `  hostaccess request create acme --right billing --reason "I now handle the invoices" --actor user:dave
  hostaccess request create acme --product shop --reason "the shop moves to me" --actor user:dave`
	af.register(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", fmt.Sprintf("why the access is needed (required, at most %d characters)", hostaccess.MaxReasonLen))
	return cmd
}

// printRequest prints a request as it now stands.
func printRequest(w io.Writer, f *apiFlags, out wire.AccessRequestChange) error {
	if f.json() {
		return printJSON(w, out)
	}
	r := out.Request
	fields := [][2]string{
		{"request", r.ID},
		{"user", r.UserID},
		{"access", r.Access.Summary()},
		{"reason", r.Reason},
		{"status", r.Status},
		{"expires", r.ExpiresAt.UTC().Format(time.RFC3339)},
	}
	if r.DecidedBy != "" {
		fields = append(fields, [2]string{"decided by", r.DecidedBy})
	}
	if r.Note != "" {
		fields = append(fields, [2]string{"note", r.Note})
	}
	return printFields(w, fields)
}

func newRequestListCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	var status string
	cmd := newAPILeaf("list ACCOUNT", "List access requests: all of them for those who manage users, one's own for other members", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			check := func() error {
				if status != "" && !slices.Contains(hostaccess.RequestStatuses, status) {
					return fmt.Errorf("invalid --status %q: use one of %s", status, strings.Join(hostaccess.RequestStatuses, ", "))
				}
				return nil
			}
			return f.withAPI(cmd, check, func(ctx context.Context, client *apiclient.Client) error {
				reqs, err := client.ListAccessRequests(ctx, args[0], status)
				if err != nil {
					return err
				}
				if f.json() {
					return printJSON(streams.Out, map[string]any{"requests": orEmpty(reqs)})
				}
				rows := make([][]string, 0, len(reqs))
				for _, r := range reqs {
					rows = append(rows, []string{r.ID, r.UserID, r.Status, r.Access.Summary(), r.Reason, r.ExpiresAt.UTC().Format(time.RFC3339), orDash(r.DecidedBy)})
				}
				return printTable(streams.Out, []string{"ID", "USER", "STATUS", "ACCESS", "REASON", "EXPIRES", "DECIDED BY"}, rows)
			})
		})
	cmd.Example = `  hostaccess request list acme --status pending --actor user:alice`
	cmd.Flags().StringVar(&status, "status", "", "only requests in this status: "+strings.Join(hostaccess.RequestStatuses, ", "))
	return cmd
}

// newRequestDecideCommand is request approve (approve) or request refuse.
func newRequestDecideCommand(streams Streams, approve bool) *cobra.Command {
	f := &apiFlags{}
	var note string
	use, short, verb := "refuse ID", "Refuse a pending request: no access changes", "refused"
	if approve {
		use, short, verb = "approve ID", "Approve a pending request: grant what was asked, within what the actor may grant", "approved"
	}
	cmd := newAPILeaf(use, short, cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				decide := client.RefuseAccessRequest
				if approve {
					decide = client.ApproveAccessRequest
				}
				out, err := decide(ctx, args[0], note)
				if err != nil {
					return err
				}
				if f.json() {
					return printJSON(streams.Out, out)
				}
				_, err = fmt.Fprintf(streams.Out, "request %s %s: %s for %s\n", out.Request.ID, verb, out.Request.Access.Summary(), out.Request.UserID)
				return err
			})
		})
	cmd.Flags().StringVar(&note, "note", "", fmt.Sprintf("a note for the requester and the audit log (at most %d characters)", hostaccess.MaxNoteLen))
	return cmd
}
