package stack_test

import (
	"context"
	"fmt"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
	"github.com/hostaccess/hostaccess/pkg/stack"
	"github.com/hostaccess/hostaccess/schema"
)

// A hosting panel embeds hostaccess: an owner invites an accountant for
// billing only, the accountant accepts, and the panel asks what to show.
func Example() {
	ctx := context.Background()

	// The zero Server: SpiceDB in-process on the memory datastore, the
	// hosting schema, a memory directory.
	s := &stack.Server{InviteURLTemplate: "https://panel.example.com/invite/{token}"}
	if err := s.Start(ctx); err != nil {
		panic(err)
	}
	defer func() { _ = s.Close() }()
	svc := s.Service()

	panel := hostaccess.System("panel")
	if _, err := svc.CreateAccount(ctx, panel, hostaccess.NewAccount{ID: "acme", Name: "Acme", OwnerID: "alice"}); err != nil {
		panic(err)
	}
	link, err := svc.Invite(ctx, hostaccess.Person("alice"), "acme", "carol@example.com",
		hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	if err != nil {
		panic(err)
	}
	if _, err := svc.AcceptInvitation(ctx, link.Token, hostaccess.Login{UserID: "carol", Email: "carol@example.com", EmailVerified: true}); err != nil {
		panic(err)
	}

	// One round trip for the menu of carol's session.
	answers, err := svc.CanAll(ctx, []hostaccess.Check{
		{Resource: schema.TypeAccount + ":acme", Permission: schema.PermPayInvoices, Subject: schema.TypeUser + ":carol"},
		{Resource: schema.TypeAccount + ":acme", Permission: schema.PermManageUsers, Subject: schema.TypeUser + ":carol"},
	}, hostaccess.CheckOptions{})
	if err != nil {
		panic(err)
	}
	for _, a := range answers {
		fmt.Printf("%s: %v\n", a.Permission, a.Allowed)
	}
	accounts, err := svc.SwitchAccounts(ctx, hostaccess.Person("carol"), "carol")
	if err != nil {
		panic(err)
	}
	fmt.Println("session goes straight to:", accounts.Single.ID, "-", accounts.Single.Summary)
	// Output:
	// pay_invoices: true
	// manage_users: false
	// session goes straight to: acme - billing
}
