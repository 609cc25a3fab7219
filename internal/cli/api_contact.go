package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hostaccess/hostaccess/internal/apiclient"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func newContactCommand(streams Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "contact",
		Short: "Manage an account's contacts: people without a login who get notices (HTTP API)",
	}
	cmd.AddCommand(
		newContactListCommand(streams),
		newContactAddCommand(streams),
		newContactEditCommand(streams),
		newContactRemoveCommand(streams),
	)
	return cmd
}

// contactFlags are the details of a contact.
type contactFlags struct {
	name    string
	email   string
	phone   string
	notify  []string
	support bool
}

func (c *contactFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.name, "name", "", "name of the contact")
	cmd.Flags().StringVar(&c.email, "email", "", "e-mail address of the contact")
	cmd.Flags().StringVar(&c.phone, "phone", "", "phone number of the contact")
	cmd.Flags().StringSliceVar(&c.notify, "notify", nil, "notification category the contact receives, repeatable: "+strings.Join(categoryNames(), ", "))
	cmd.Flags().BoolVar(&c.support, "support", false, "the contact may speak to support for the account")
}

// apply sets on in the flags the user passed (all of them when all is set).
func (c *contactFlags) apply(cmd *cobra.Command, in hostaccess.ContactInput, all bool) (hostaccess.ContactInput, error) {
	changed := func(name string) bool { return all || cmd.Flags().Changed(name) }
	if changed("name") {
		in.Name = c.name
	}
	if changed("email") {
		in.Email = c.email
	}
	if changed("phone") {
		in.Phone = c.phone
	}
	if changed("notify") {
		cats, err := parseCategories("--notify", c.notify)
		if err != nil {
			return hostaccess.ContactInput{}, err
		}
		in.Notifications = cats
	}
	if changed("support") {
		in.SupportAccess = c.support
	}
	return in, nil
}

func newContactListCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	return newAPILeaf("list ACCOUNT", "List an account's contacts and what they receive", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				contacts, err := client.ListContacts(ctx, args[0])
				if err != nil {
					return err
				}
				if f.json() {
					return printJSON(streams.Out, map[string]any{"contacts": orEmpty(contacts)})
				}
				rows := make([][]string, 0, len(contacts))
				for _, c := range contacts {
					rows = append(rows, []string{c.ID, c.Name, c.Email, orDash(c.Phone), joinOrDash(c.Notifications), yesNo(c.SupportAccess)})
				}
				return printTable(streams.Out, []string{"ID", "NAME", "EMAIL", "PHONE", "NOTIFY", "SUPPORT"}, rows)
			})
		})
}

func newContactAddCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	cf := &contactFlags{}
	cmd := newAPILeaf("add ACCOUNT --name N --email E", "Add a contact to an account", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			var in hostaccess.ContactInput
			check := func() (err error) {
				if cf.name == "" || cf.email == "" {
					return fmt.Errorf("--name and --email are required")
				}
				in, err = cf.apply(cmd, in, true)
				return err
			}
			return f.withAPI(cmd, check, func(ctx context.Context, client *apiclient.Client) error {
				created, err := client.AddContact(ctx, args[0], in)
				if err != nil {
					return err
				}
				return printDone(streams.Out, f, created, "contact %s added to %s", created.Contact.ID, args[0])
			})
		})
	cmd.Example = `  hostaccess contact add acme --name "Bob Books" --email bob@acme.example --notify billing --notify renewals --actor user:alice`
	cf.register(cmd)
	return cmd
}

func newContactEditCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	cf := &contactFlags{}
	cmd := newAPILeaf("edit ACCOUNT ID", "Change a contact: the flags given replace those details, the others stay", cobra.ExactArgs(2), f,
		func(cmd *cobra.Command, args []string) error {
			id := fullID(args[0], args[1])
			check := func() error {
				// Refuse bad values before reading the contact.
				_, err := cf.apply(cmd, hostaccess.ContactInput{}, false)
				return err
			}
			return f.withAPI(cmd, check, func(ctx context.Context, client *apiclient.Client) error {
				// The API replaces a contact whole: start from what it holds now.
				contacts, err := client.ListContacts(ctx, args[0])
				if err != nil {
					return err
				}
				var current *hostaccess.Contact
				for i := range contacts {
					if contacts[i].ID == id {
						current = &contacts[i]
					}
				}
				if current == nil {
					return fmt.Errorf("account %s has no contact %s (see contact list)", args[0], id)
				}
				in, err := cf.apply(cmd, current.ContactInput, false)
				if err != nil {
					return err
				}
				res, err := client.UpdateContact(ctx, args[0], id, in)
				if err != nil {
					return err
				}
				return printDone(streams.Out, f, res, "contact %s updated", id)
			})
		})
	cmd.Example = `  hostaccess contact edit acme acme/Xy12 --notify billing --notify support --support=false --actor user:alice`
	cf.register(cmd)
	return cmd
}

func newContactRemoveCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	return newAPILeaf("remove ACCOUNT ID", "Remove a contact and all it receives", cobra.ExactArgs(2), f,
		func(cmd *cobra.Command, args []string) error {
			id := fullID(args[0], args[1])
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				res, err := client.RemoveContact(ctx, args[0], id)
				if err != nil {
					return err
				}
				return printDone(streams.Out, f, res, "contact %s removed", id)
			})
		})
}
