package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// A member restricted to networks acts through the API only with the
// client IP header, from those networks; checks take the context and say
// what a conditional answer misses.
func TestConditionsThroughTheAPI(t *testing.T) {
	c, _ := newTestAPI(t)
	c.createAccount("acme", "alice")
	c.join("user:alice", "acme", "olga", hostaccess.Access{
		Rights: []hostaccess.Right{hostaccess.RightBilling, hostaccess.RightUserManagement}, AllowedCIDRs: []string{"203.0.113.0/24"},
	})
	invite := map[string]any{"email": "pat@example.com", "access": map[string]any{"rights": []string{"billing"}, "allowed_cidrs": []string{"203.0.113.0/25"}}}

	p := problem(t, c.call("POST", "/v1/accounts/acme/invitations", "user:olga", invite), http.StatusForbidden, "forbidden")
	require.Contains(t, p.Detail, "client_ip")
	problem(t, c.send("POST", "/v1/accounts/acme/invitations", "user:olga", invite, map[string]string{ClientIPHeader: "198.51.100.7"}), http.StatusForbidden, "forbidden")
	ok[hostaccess.InvitationLink](t, c.send("POST", "/v1/accounts/acme/invitations", "user:olga", invite, map[string]string{ClientIPHeader: "203.0.113.7"}), http.StatusCreated)

	problem(t, c.send("POST", "/v1/accounts/acme/invitations", "user:olga", invite, map[string]string{ClientIPHeader: "somewhere"}), http.StatusBadRequest, "invalid_argument")
	problem(t, c.send("POST", "/v1/accounts/acme/invitations", "user:alice", invite, map[string]string{MFAHeader: "yes"}), http.StatusBadRequest, "invalid_argument")

	check := func(context map[string]any) hostaccess.Answer {
		t.Helper()
		return ok[hostaccess.Answer](t, c.call("POST", "/v1/check", "", map[string]any{
			"resource": "account:acme", "permission": "pay_invoices", "subject": "user:olga", "context": context,
		}), http.StatusOK)
	}
	a := check(nil)
	require.False(t, a.Allowed)
	require.True(t, a.Conditional)
	require.Equal(t, []string{"client_ip"}, a.MissingContext)
	require.True(t, check(map[string]any{"client_ip": "203.0.113.9"}).Allowed)
	require.False(t, check(map[string]any{"client_ip": "198.51.100.1"}).Allowed)

	listed := ok[struct{ Members []hostaccess.Member }](t, c.call("GET", "/v1/accounts/acme/members", "user:alice", nil), http.StatusOK)
	var seen bool
	for _, m := range listed.Members {
		if m.UserID == "olga" {
			seen = true
			require.Equal(t, []string{"203.0.113.0/24"}, m.Access.AllowedCIDRs)
		}
	}
	require.True(t, seen)
}
