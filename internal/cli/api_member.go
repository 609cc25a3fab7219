package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hostaccess/hostaccess/internal/apiclient"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func newMemberCommand(streams Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "member",
		Short: "List an account's members, change their rights, remove them (HTTP API)",
	}
	cmd.AddCommand(
		newMemberListCommand(streams),
		newMemberSetCommand(streams),
		newMemberRemoveCommand(streams),
		newMemberExpiringCommand(streams),
		newMemberReviewCommand(streams),
	)
	return cmd
}

func newMemberListCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	return newAPILeaf("list ACCOUNT", "List an account's owners and members with their rights", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				members, err := client.ListMembers(ctx, args[0])
				if err != nil {
					return err
				}
				if f.json() {
					return printJSON(streams.Out, map[string]any{"members": orEmpty(members)})
				}
				rows := make([][]string, 0, len(members))
				for _, m := range members {
					role := "member"
					if m.Owner {
						role = "owner"
					}
					rows = append(rows, []string{m.UserID, orDash(m.Email), orDash(m.DisplayName), role, m.Summary})
				}
				return printTable(streams.Out, []string{"USER", "EMAIL", "NAME", "ROLE", "ACCESS"}, rows)
			})
		})
}

func newMemberSetCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	af := &accessFlags{}
	cmd := newAPILeaf("set ACCOUNT USER", "Replace a member's rights and product scope (what the flags say, nothing else)", cobra.ExactArgs(2), f,
		func(cmd *cobra.Command, args []string) error {
			var access hostaccess.Access
			return f.withAPI(cmd, af.parseInto(&access), func(ctx context.Context, client *apiclient.Client) error {
				res, err := client.SetAccess(ctx, args[0], args[1], access)
				if err != nil {
					return err
				}
				return printDone(streams.Out, f, res, "%s on %s: %s", args[1], args[0], access.Summary())
			})
		})
	cmd.Example = `  hostaccess member set acme carol --right billing --right support --actor user:alice
  hostaccess member set acme dave --tag client-x --view-product site --actor user:alice`
	af.register(cmd)
	return cmd
}

func newMemberRemoveCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	return newAPILeaf("remove ACCOUNT USER", "Remove a person's access to an account at once", cobra.ExactArgs(2), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				res, err := client.RemoveMember(ctx, args[0], args[1])
				if err != nil {
					return err
				}
				return printDone(streams.Out, f, res, "%s removed from %s", args[1], args[0])
			})
		})
}

func newMemberExpiringCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	var days int
	cmd := newAPILeaf("expiring ACCOUNT", "What ends within --days: memberships that lapse and pending invitations whose link does", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				out, err := client.Expiring(ctx, args[0], days)
				if err != nil {
					return err
				}
				if f.json() {
					return printJSON(streams.Out, out)
				}
				rows := make([][]string, 0, len(out.Members)+len(out.Invitations))
				for _, m := range out.Members {
					rows = append(rows, []string{"member", m.UserID, orDash(m.Email), m.ExpiresAt.Format(time.RFC3339), m.Summary})
				}
				for _, inv := range out.Invitations {
					rows = append(rows, []string{"invitation", inv.ID, inv.Email, inv.ExpiresAt.Format(time.RFC3339), inv.Access.Summary()})
				}
				return printTable(streams.Out, []string{"KIND", "WHO", "EMAIL", "ENDS", "ACCESS"}, rows)
			})
		})
	cmd.Flags().IntVar(&days, "days", 30, "the window, in days from now")
	return cmd
}

func newMemberReviewCommand(streams Streams) *cobra.Command {
	f := &apiFlags{documents: []string{"csv", "html"}}
	var filter hostaccess.ReviewFilter
	cmd := newAPILeaf("review ACCOUNT", "The access review: every holder x every right and product scope, how it is held, who granted it and when, when it ends", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				if format := f.document(); format != "" {
					doc, err := client.AccessReviewDocument(ctx, args[0], filter, format)
					if err != nil {
						return err
					}
					_, err = streams.Out.Write(doc)
					return err
				}
				rv, err := client.AccessReview(ctx, args[0], filter)
				if err != nil {
					return err
				}
				if f.json() {
					return printJSON(streams.Out, rv)
				}
				rows := make([][]string, 0, len(rv.Lines))
				for _, l := range rv.Lines {
					held := l.Held
					if l.Through != "" && l.Held == hostaccess.HeldDelegation {
						held += " (" + l.Through + ")"
					}
					rows = append(rows, []string{l.UserID, l.Role, l.Right, l.Scope, held, orDash(l.GrantedBy), reviewTime(l.GrantedAt), reviewTime(l.Ends), reviewConditions(l)})
				}
				if err := printTable(streams.Out, []string{"USER", "ROLE", "RIGHT", "SCOPE", "HELD", "GRANTED BY", "GRANTED", "ENDS", "CONDITIONS"}, rows); err != nil {
					return err
				}
				_, err = fmt.Fprintf(streams.Out, "%s, %s (%s); %s at revision %s\n", counted(len(rv.Lines), "line", "lines"), counted(rv.People, "person", "people"),
					rv.Filter.Describe(), rv.GeneratedAt.Format(time.RFC3339), rv.At)
				return err
			})
		})
	fl := cmd.Flags()
	fl.IntVar(&filter.ExpiringWithinDays, "expiring-within", 0, "only the lines that end within N days")
	fl.IntVar(&filter.GrantedBeforeDays, "granted-before", 0, "only the lines granted more than N days ago")
	fl.BoolVar(&filter.Delegation, "delegation", false, "only the lines held through delegation (host staff)")
	return cmd
}

func reviewTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func counted(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// reviewConditions says under which conditions a review line holds.
func reviewConditions(l hostaccess.ReviewLine) string {
	var parts []string
	if len(l.Networks) > 0 {
		parts = append(parts, "from "+strings.Join(l.Networks, " "))
	}
	if l.NeedsMFA {
		parts = append(parts, "two-factor")
	}
	return orDash(strings.Join(parts, "; "))
}
