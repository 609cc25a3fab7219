package hostaccess_test

import (
	"context"
	"fmt"
	"net"

	"go.uber.org/zap"

	"github.com/hostaccess/hostaccess/internal/engine"
	"github.com/hostaccess/hostaccess/pkg/directory/memory"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
	"github.com/hostaccess/hostaccess/schema"
)

// A hosting panel embeds the service: an owner invites an accountant for
// invoices only, the accountant accepts, and the panel asks what to show.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// SpiceDB in-process on the memory datastore, with the hosting schema.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	_ = l.Close()
	eng, err := engine.Open(ctx, engine.Config{DatastoreEngine: engine.EngineMemory, GRPCAddr: addr, PresharedKey: "panel-key"}, zap.NewNop())
	if err != nil {
		panic(err)
	}
	defer func() { _ = eng.Close() }()
	go func() { _ = eng.Run(ctx) }()
	if _, err := eng.EnsureSchema(ctx, schema.Hosting); err != nil {
		panic(err)
	}

	svc, err := hostaccess.New(hostaccess.Config{
		Engine:            eng.Client,
		Directory:         memory.New(),
		InviteURLTemplate: "https://panel.example.com/invite/{token}",
	})
	if err != nil {
		panic(err)
	}

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
		{Resource: "account:acme", Permission: "pay_invoices", Subject: "user:carol"},
		{Resource: "account:acme", Permission: "manage_users", Subject: "user:carol"},
	}, hostaccess.CheckOptions{})
	if err != nil {
		panic(err)
	}
	for _, a := range answers {
		fmt.Printf("%s: %v\n", a.Permission, a.Allowed)
	}
	accounts, _ := svc.SwitchAccounts(ctx, service, "carol")
	fmt.Println("session goes straight to:", accounts.Single.ID, "-", accounts.Single.Summary)
	// Output:
	// pay_invoices: true
	// manage_users: false
	// session goes straight to: acme - invoices
}
