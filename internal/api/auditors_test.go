package api

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func TestExpiringOverHTTP(t *testing.T) {
	c, _ := newTestAPI(t)
	c.createAccount("acme", "alice")
	ends := time.Now().UTC().Add(3 * 24 * time.Hour).Truncate(time.Second)
	c.join("user:alice", "acme", "carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}, ExpiresAt: &ends})
	c.join("user:alice", "acme", "bob", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightSupport}})
	c.invite("user:alice", "acme", "erin@example.com", hostaccess.Access{})

	got := ok[hostaccess.ExpiringAccess](t, c.call("GET", "/v1/accounts/acme/expiring", "user:alice", nil), http.StatusOK)
	require.Len(t, got.Members, 1)
	require.Equal(t, "carol", got.Members[0].UserID)
	require.True(t, ends.Equal(got.Members[0].ExpiresAt))
	require.Len(t, got.Invitations, 1, "30 days by default: the 7-day link lapses within it")

	got = ok[hostaccess.ExpiringAccess](t, c.call("GET", "/v1/accounts/acme/expiring?days=1", "user:alice", nil), http.StatusOK)
	require.Empty(t, got.Members)
	require.Empty(t, got.Invitations)

	problem(t, c.call("GET", "/v1/accounts/acme/expiring", "user:carol", nil), http.StatusForbidden, "forbidden")
	problem(t, c.call("GET", "/v1/accounts/acme/expiring", "user:mallory", nil), http.StatusForbidden, "forbidden")
	for _, days := range []string{"0", "-3", "3651", "ten", "1e3", ""} {
		problem(t, c.call("GET", "/v1/accounts/acme/expiring?days="+days, "user:alice", nil), http.StatusBadRequest, "invalid_argument")
	}
}

func TestWhyDeniedOverHTTP(t *testing.T) {
	c, _ := newTestAPI(t)
	c.createAccount("acme", "alice")
	c.join("user:alice", "acme", "carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	q := map[string]string{"resource": "account:acme", "permission": "manage_domains", "subject": "user:carol"}

	d := ok[hostaccess.Denial](t, c.call("POST", "/v1/why-denied", "user:alice", q), http.StatusOK)
	require.False(t, d.Allowed)
	require.Equal(t, "carol is a member of acme without the domains right", d.Reason)
	require.Equal(t, []string{"user:alice"}, d.Grantors)

	d = ok[hostaccess.Denial](t, c.call("POST", "/v1/why-denied", "user:carol", q), http.StatusOK)
	require.False(t, d.Allowed, "carol may ask about herself")

	problem(t, c.call("POST", "/v1/why-denied", "user:mallory", q), http.StatusForbidden, "forbidden")
	problem(t, c.call("POST", "/v1/why-denied", "user:alice", map[string]string{"resource": "account:acme", "permission": "close", "subject": "user:carol"}), http.StatusBadRequest, "invalid_argument")
	problem(t, c.call("POST", "/v1/why-denied", "user:alice", `{"resource":"account:acme","permission":"pay_invoices","subject":"user:carol","extra":1}`), http.StatusBadRequest, "invalid_argument")
}

func TestWhoCanPagesOverHTTP(t *testing.T) {
	c, _ := newTestAPI(t)
	c.createAccount("acme", "alice")
	for _, u := range []string{"bob", "carol", "dave"} {
		c.join("user:alice", "acme", u, hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	}
	var seen []string
	path := "/v1/who-can?resource=account:acme&permission=pay_invoices&limit=3"
	page := ok[wire.HolderList](t, c.call("GET", path, "user:alice", nil), http.StatusOK)
	for _, h := range page.Holders {
		seen = append(seen, h.Subject)
	}
	require.NotEmpty(t, page.Next)
	require.NotEmpty(t, page.At)
	next := ok[wire.HolderList](t, c.call("GET", path+"&cursor="+page.Next, "user:alice", nil), http.StatusOK)
	for _, h := range next.Holders {
		seen = append(seen, h.Subject)
	}
	require.Empty(t, next.Next)
	require.Equal(t, []string{"user:alice", "user:bob", "user:carol", "user:dave"}, seen)

	all := ok[wire.HolderList](t, c.call("GET", "/v1/who-can?resource=account:acme&permission=pay_invoices", "user:alice", nil), http.StatusOK)
	require.Len(t, all.Holders, 4, "without limit or cursor: every holder, as before")
	require.Empty(t, all.Next)

	problem(t, c.call("GET", path+"&cursor="+page.Next, "user:carol", nil), http.StatusForbidden, "forbidden")
	problem(t, c.call("GET", "/v1/who-can?resource=account:acme&permission=pay_invoices&limit=0", "user:alice", nil), http.StatusBadRequest, "invalid_argument")
	problem(t, c.call("GET", "/v1/who-can?resource=account:acme&permission=pay_invoices&cursor=nope", "user:alice", nil), http.StatusBadRequest, "invalid_argument")
}

func TestReachPagesOverHTTP(t *testing.T) {
	c, _ := newTestAPI(t)
	for _, id := range []string{"a1", "a2", "a3"} {
		c.createAccount(id, "owner-"+id)
		c.join("user:owner-"+id, id, "agency", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightSupport}})
	}
	first := ok[hostaccess.AccessReport](t, c.call("GET", "/v1/users/agency/reach?limit=2", "user:agency", nil), http.StatusOK)
	require.Len(t, first.Accounts, 2)
	require.NotEmpty(t, first.Next)
	second := ok[hostaccess.AccessReport](t, c.call("GET", "/v1/users/agency/reach?limit=2&cursor="+first.Next, "user:agency", nil), http.StatusOK)
	require.Len(t, second.Accounts, 1)
	require.Equal(t, "a3", second.Accounts[0].ID)
	require.Empty(t, second.Next)
	require.Equal(t, first.At, second.At)

	whole := ok[hostaccess.AccessReport](t, c.call("GET", "/v1/users/agency/reach", "user:agency", nil), http.StatusOK)
	require.Len(t, whole.Accounts, 3)
	require.Empty(t, whole.Next)

	problem(t, c.call("GET", "/v1/users/agency/reach?limit=2", "user:mallory", nil), http.StatusForbidden, "forbidden")
	problem(t, c.call("GET", "/v1/users/agency/reach?limit=1001", "user:agency", nil), http.StatusBadRequest, "invalid_argument")
}
