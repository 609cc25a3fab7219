package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/hostaccess/hostaccess/internal/apiclient"
)

func newProductCommand(streams Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "product",
		Short: "List, add, remove, group and tag an account's products (HTTP API)",
		Long: `Products are named within their account: product "site" of account "acme"
is the object product:acme/site. Groups and tags widen scoped grants: a
member with technical access to tag client-x manages every product tagged
client-x, now and later.`,
	}
	cmd.AddCommand(
		newProductListCommand(streams),
		newProductAddCommand(streams),
		newProductRemoveCommand(streams),
		newProductMembershipCommand(streams, "tag", true),
		newProductMembershipCommand(streams, "untag", false),
		newProductMembershipCommand(streams, "group", true),
		newProductMembershipCommand(streams, "ungroup", false),
	)
	return cmd
}

func newProductListCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	return newAPILeaf("list ACCOUNT", "List an account's products with their groups and tags", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				products, err := client.ListProducts(ctx, args[0])
				if err != nil {
					return err
				}
				if f.json() {
					return printJSON(streams.Out, map[string]any{"products": orEmpty(products)})
				}
				rows := make([][]string, 0, len(products))
				for _, p := range products {
					rows = append(rows, []string{p.Name, p.ID, joinOrDash(p.Groups), joinOrDash(p.Tags)})
				}
				return printTable(streams.Out, []string{"NAME", "ID", "GROUPS", "TAGS"}, rows)
			})
		})
}

func newProductAddCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	var groups, tags []string
	cmd := newAPILeaf("add ACCOUNT NAME", "Add a product, optionally in groups and with tags", cobra.ExactArgs(2), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				res, err := client.AddProduct(ctx, args[0], args[1], groups, tags)
				if err != nil {
					return err
				}
				return printDone(streams.Out, f, res, "product %s/%s added", args[0], args[1])
			})
		})
	cmd.Example = `  hostaccess product add acme shop --tag client-x --group web --actor service`
	cmd.Flags().StringSliceVar(&groups, "group", nil, "put the product in this group (repeatable)")
	cmd.Flags().StringSliceVar(&tags, "tag", nil, "tag the product (repeatable)")
	return cmd
}

func newProductRemoveCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	return newAPILeaf("remove ACCOUNT NAME", "Remove a product and every grant on it", cobra.ExactArgs(2), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				res, err := client.RemoveProduct(ctx, args[0], args[1])
				if err != nil {
					return err
				}
				return printDone(streams.Out, f, res, "product %s/%s removed", args[0], args[1])
			})
		})
}

// newProductMembershipCommand builds tag, untag, group and ungroup.
func newProductMembershipCommand(streams Streams, verb string, in bool) *cobra.Command {
	f := &apiFlags{}
	group := verb == "group" || verb == "ungroup"
	label, short, done := "TAG", "Tag a product: grants on the tag reach it", "tagged"
	switch verb {
	case "untag":
		short, done = "Remove a tag from a product: grants on the tag stop reaching it at once", "no longer tagged"
	case "group":
		label, short, done = "GROUP", "Put a product in a group: grants on the group reach it", "now in group"
	case "ungroup":
		label, short, done = "GROUP", "Take a product out of a group: grants on the group stop reaching it at once", "no longer in group"
	}
	return newAPILeaf(verb+" ACCOUNT NAME "+label, short, cobra.ExactArgs(3), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				set := client.SetProductTag
				if group {
					set = client.SetProductGroup
				}
				res, err := set(ctx, args[0], args[1], args[2], in)
				if err != nil {
					return err
				}
				return printDone(streams.Out, f, res, "product %s/%s %s %s", args[0], args[1], done, args[2])
			})
		})
}
