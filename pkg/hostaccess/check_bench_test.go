package hostaccess_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/hostaccess/hostaccess/internal/teststack"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// benchAccount builds one small generated account through the flows: an
// owner, 20 products (half in a group, a third tagged), an accountant and a
// developer working through the tag. It returns the service and 50
// questions about the account, as a client-area page asks them.
func benchAccount(b *testing.B) (*hostaccess.Service, []hostaccess.Check) {
	b.Helper()
	bctx := context.Background()
	svc, _ := teststack.NewService(b, nil)
	sys := hostaccess.System("bench")
	if _, err := svc.CreateAccount(bctx, sys, hostaccess.NewAccount{ID: "shop", OwnerID: "owner"}); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		var groups, tags []string
		if i%2 == 0 {
			groups = []string{"web"}
		}
		if i%3 == 0 {
			tags = []string{"client-x"}
		}
		if _, err := svc.AddProduct(bctx, sys, "shop", fmt.Sprintf("site%d", i), groups, tags); err != nil {
			b.Fatal(err)
		}
	}
	invite := func(user string, access hostaccess.Access) {
		link, err := svc.Invite(bctx, hostaccess.Person("owner"), "shop", user+"@example.com", access)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.AcceptInvitation(bctx, link.Token, hostaccess.Login{UserID: user, Email: user + "@example.com", EmailVerified: true}); err != nil {
			b.Fatal(err)
		}
	}
	invite("accountant", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	invite("developer", hostaccess.PresetUser(hostaccess.ProductScope{Tags: []string{"client-x"}}))

	var checks []hostaccess.Check
	for _, p := range []string{"view", "pay_invoices", "manage_users", "manage_all_products", "close"} {
		checks = append(checks, hostaccess.Check{Resource: "account:shop", Permission: p, Subject: "user:developer"})
	}
	for i := 0; len(checks) < 50; i++ {
		perm := "manage"
		if i >= 20 {
			perm = "view"
		}
		checks = append(checks, hostaccess.Check{Resource: fmt.Sprintf("product:shop/site%d", i%20), Permission: perm, Subject: "user:developer"})
	}
	// The developer manages exactly the tagged products (every third one).
	answers, err := svc.CanAll(bctx, checks, hostaccess.CheckOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for i, a := range answers[5:25] {
		if want := i%3 == 0; a.Allowed != want {
			b.Fatalf("%s: allowed %t, want %t", a.Check, a.Allowed, want)
		}
	}
	return svc, checks
}

// BenchmarkCan is one fully consistent check through the service.
func BenchmarkCan(b *testing.B) {
	svc, checks := benchAccount(b)
	bctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := svc.Can(bctx, checks[5+i%20], hostaccess.CheckOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCanAll50 is one page load: 50 questions in one CanAll.
func BenchmarkCanAll50(b *testing.B) {
	svc, checks := benchAccount(b)
	bctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.CanAll(bctx, checks, hostaccess.CheckOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWhoCan is one audit question: who can manage a product, and why.
func BenchmarkWhoCan(b *testing.B) {
	svc, _ := benchAccount(b)
	bctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		holders, err := svc.WhoCan(bctx, hostaccess.Person("owner"), fmt.Sprintf("product:shop/site%d", i%20), "manage")
		if err != nil {
			b.Fatal(err)
		}
		if len(holders) == 0 {
			b.Fatal("no holders")
		}
	}
}

// BenchmarkAccessReview is the review of an account of 500 products (in
// groups and tags) with members of every kind, its audit trail replayed.
func BenchmarkAccessReview(b *testing.B) {
	svc, _ := teststack.NewService(b, nil)
	bctx := context.Background()
	_, err := svc.CreateAccount(bctx, hostaccess.System("bench"), hostaccess.NewAccount{ID: "big", OwnerID: "owner", HostID: "main"})
	if err != nil {
		b.Fatal(err)
	}
	for j := range 500 {
		_, err := svc.AddProduct(bctx, hostaccess.System("bench"), "big", fmt.Sprintf("site%d", j), []string{fmt.Sprintf("group%d", j%3)}, []string{fmt.Sprintf("client%d", j%4)})
		if err != nil {
			b.Fatal(err)
		}
	}
	for k := range 20 {
		user := fmt.Sprintf("dev%d", k)
		link, err := svc.Invite(bctx, hostaccess.Person("owner"), "big", user+"@example.com", hostaccess.PresetUser(hostaccess.ProductScope{Products: []string{fmt.Sprintf("site%d", k)}, Tags: []string{"client1"}}))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.AcceptInvitation(bctx, link.Token, hostaccess.Login{UserID: user, Email: user + "@example.com", EmailVerified: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		rv, err := svc.AccessReview(bctx, hostaccess.Person("owner"), "big", hostaccess.ReviewFilter{})
		if err != nil {
			b.Fatal(err)
		}
		if len(rv.Lines) != 8+40 {
			b.Fatalf("%d lines", len(rv.Lines))
		}
	}
}
