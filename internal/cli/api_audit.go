package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hostaccess/hostaccess/internal/apiclient"
	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func newAccountsCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	return newAPILeaf("accounts USER", "List the accounts USER can switch to, with their rights on each (HTTP API)", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				list, err := client.SwitchAccounts(ctx, args[0])
				if err != nil {
					return err
				}
				if f.json() {
					list.Accounts = orEmpty(list.Accounts)
					return printJSON(streams.Out, list)
				}
				if list.Single != nil {
					// One account: the panel takes the session straight to it.
					a := list.Single
					return printFields(streams.Out, [][2]string{
						{"single account", a.ID}, {"name", orDash(a.Name)}, {"rights", a.Summary},
					})
				}
				rows := make([][]string, 0, len(list.Accounts))
				for _, a := range list.Accounts {
					rows = append(rows, []string{a.ID, orDash(a.Name), yesNo(a.Owner), a.Summary})
				}
				return printTable(streams.Out, []string{"ACCOUNT", "NAME", "OWNER", "RIGHTS"}, rows)
			})
		})
}

func newReachCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	var limit int
	var cursor string
	cmd := newAPILeaf("reach USER", "Show what USER can reach: accounts and manageable products (HTTP API)", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				var report hostaccess.AccessReport
				var err error
				if limit > 0 || cursor != "" {
					report, err = client.ReachPage(ctx, args[0], cursor, cmp.Or(limit, 100))
				} else {
					report, err = client.ReachOf(ctx, args[0])
				}
				if err != nil {
					return err
				}
				if f.json() {
					report.Accounts, report.Products = orEmpty(report.Accounts), orEmpty(report.Products)
					return printJSON(streams.Out, report)
				}
				rows := make([][]string, 0, len(report.Accounts)+len(report.Products))
				for _, a := range report.Accounts {
					rows = append(rows, []string{"account:" + a.ID, a.Summary})
				}
				for _, p := range report.Products {
					rows = append(rows, []string{"product:" + p, "manage"})
				}
				return printPage(streams.Out, []string{"RESOURCE", "ACCESS"}, rows, report.Next)
			})
		})
	pageFlags(cmd, &limit, &cursor, "accounts")
	return cmd
}

func newRecipientsCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	var product string
	cmd := newAPILeaf("recipients ACCOUNT CATEGORY", "List who must receive notices of CATEGORY for an account or one of its products (HTTP API)", cobra.ExactArgs(2), f,
		func(cmd *cobra.Command, args []string) error {
			var category hostaccess.Category
			check := func() (err error) {
				category, err = parseCategory("category", args[1])
				return err
			}
			return f.withAPI(cmd, check, func(ctx context.Context, client *apiclient.Client) error {
				recipients, err := client.Recipients(ctx, args[0], category, product)
				if err != nil {
					return err
				}
				if f.json() {
					return printJSON(streams.Out, map[string]any{"recipients": orEmpty(recipients)})
				}
				rows := make([][]string, 0, len(recipients))
				for _, r := range recipients {
					rows = append(rows, []string{r.Kind, r.ID, orDash(r.Name), orDash(r.Email)})
				}
				return printTable(streams.Out, []string{"KIND", "ID", "NAME", "EMAIL"}, rows)
			})
		})
	cmd.Example = `  hostaccess recipients acme billing --actor user:alice
  hostaccess recipients acme renewals --product site --actor service`
	cmd.Flags().StringVar(&product, "product", "", "notices about this product (renewals and technical only)")
	return cmd
}

func newWhoCanCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	var limit int
	var cursor string
	cmd := newAPILeaf("who-can RESOURCE PERMISSION", "List who holds PERMISSION on RESOURCE, and through which grant (HTTP API)", cobra.ExactArgs(2), f,
		func(cmd *cobra.Command, args []string) error {
			check := func() error {
				if typ, id, ok := strings.Cut(args[0], ":"); !ok || typ == "" || id == "" {
					return fmt.Errorf("invalid resource %q: want TYPE:ID, e.g. account:acme or product:acme/site", args[0])
				}
				return nil
			}
			return f.withAPI(cmd, check, func(ctx context.Context, client *apiclient.Client) error {
				var page wire.HolderList
				var err error
				if limit > 0 || cursor != "" {
					page, err = client.WhoCanPage(ctx, args[0], args[1], cursor, cmp.Or(limit, 100))
				} else {
					page.Holders, err = client.WhoCan(ctx, args[0], args[1])
				}
				if err != nil {
					return err
				}
				if f.json() {
					page.Holders = orEmpty(page.Holders)
					return printJSON(streams.Out, page)
				}
				rows := make([][]string, 0, len(page.Holders))
				for _, h := range page.Holders {
					rows = append(rows, []string{h.Subject, orDash(strings.Join(h.Reasons, ", "))})
				}
				return printPage(streams.Out, []string{"SUBJECT", "THROUGH"}, rows, page.Next)
			})
		})
	pageFlags(cmd, &limit, &cursor, "holders")
	cmd.Example = `  hostaccess who-can product:acme/shop manage --actor service
  hostaccess who-can account:acme pay_invoices --actor user:alice`
	return cmd
}

func newWhyDeniedCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	cmd := newAPILeaf("why-denied RESOURCE PERMISSION SUBJECT", "Why SUBJECT may not do PERMISSION on RESOURCE: what is missing, who may grant it (HTTP API)", cobra.ExactArgs(3), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				d, err := client.WhyDenied(ctx, hostaccess.Check{Resource: args[0], Permission: args[1], Subject: args[2]})
				if err != nil {
					return err
				}
				if f.json() {
					return printJSON(streams.Out, d)
				}
				if d.Allowed {
					_, err := fmt.Fprintf(streams.Out, "allowed: %s %s %s\n", args[2], args[1], args[0])
					return err
				}
				return printFields(streams.Out, [][2]string{
					{"denied", args[2] + " " + args[1] + " " + args[0]}, {"reason", d.Reason}, {"missing", d.Missing},
					{"may grant it", orDash(strings.Join(d.Grantors, ", "))},
				})
			})
		})
	cmd.Example = `  hostaccess why-denied product:acme/shop manage user:dave --actor user:alice`
	return cmd
}

// pageFlags registers --limit and --cursor of a paged listing of what.
func pageFlags(cmd *cobra.Command, limit *int, cursor *string, what string) {
	cmd.Flags().IntVar(limit, "limit", 0, "page the answer: at most this many "+what+" (all when neither --limit nor --cursor)")
	cmd.Flags().StringVar(cursor, "cursor", "", "the next page of a paged listing, as the previous page printed it")
}

// printPage prints a page's table, then how to ask for the next one.
func printPage(w io.Writer, header []string, rows [][]string, next string) error {
	if err := printTable(w, header, rows); err != nil {
		return err
	}
	if next == "" {
		return nil
	}
	_, err := fmt.Fprintf(w, "next page: --cursor %s\n", next)
	return err
}
