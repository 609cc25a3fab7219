package hostaccess_test

import (
	"strings"
	"testing"

	"github.com/hostaccess/hostaccess/internal/teststack"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// FuzzAcceptInvitation presents any token and login to a real stack holding
// one pending invitation for carol@example.com: an acceptance succeeds only
// with that invitation's token, from a verified login of that address, and
// every refusal is a client error with its code (never "internal").
//
// Tokens are random, so the fuzzed text is a template: "{token}" stands for
// the pending invitation's token. After an acceptance carol is removed and
// invited again, so every run meets a pending invitation.
func FuzzAcceptInvitation(f *testing.F) {
	st := teststack.NewStack(f, nil)
	svc := st.Service
	if _, err := svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "acme", Name: "Acme", OwnerID: "alice", OwnerEmail: "alice@acme.test"}); err != nil {
		f.Fatal(err)
	}
	invite := func(tb testing.TB) string {
		link, err := svc.Invite(ctx, alice, "acme", "carol@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
		if err != nil {
			tb.Fatal(err)
		}
		return link.Token
	}
	pending := invite(f)
	const real = "{token}"
	for _, seed := range []struct {
		token, userID, email string
		verified             bool
	}{
		{real, "carol", "carol@example.com", true},
		{" " + real + "\n", "carol", "Carol@Example.COM", true},
		{real, "carol", "carol@example.com", false},
		{real, "mallory", "mallory@evil.example", true},
		{real + real, "carol", "carol@example.com", true},
		{real + "0", "carol", "carol@example.com", true},
		{real + "\x00", "carol", "carol@example.com", true},
		{"", "carol", "carol@example.com", true},
		{strings.Repeat("a", 100000), "carol", "carol@example.com", true},
		{real, "", "carol@example.com", true},
		{real, "carol\x00", "carol@example.com", true},
		{real, "carol", "carol@example.com\u202e", true},
		{real, "carol", "\"carol@example.com\" <carol@example.com>", true},
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "carol", "carol@example.com", true},
	} {
		f.Add(seed.token, seed.userID, seed.email, seed.verified)
	}
	f.Fuzz(func(t *testing.T, template, userID, email string, verified bool) {
		token := strings.ReplaceAll(template, real, pending)
		_, err := svc.AcceptInvitation(ctx, token, hostaccess.Login{UserID: userID, Email: email, EmailVerified: verified})
		if err == nil {
			normalized, _ := hostaccess.NormalizeEmail(email)
			if strings.TrimSpace(token) != pending || !verified || normalized != "carol@example.com" {
				t.Fatalf("accepted with token %q, login %q <%s> verified=%v", token, userID, email, verified)
			}
			if _, err := svc.RemoveMember(ctx, alice, "acme", userID); err != nil {
				t.Fatalf("removing %q who accepted: %v", userID, err)
			}
			pending = invite(t)
			return
		}
		if code := hostaccess.Code(err); code == "internal" || code == "unavailable" {
			t.Fatalf("token %q, login %q <%s>: %s error %v", token, userID, email, code, err)
		}
	})
}
