package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func requestPath(id, action string) string {
	account, name, _ := strings.Cut(id, "/")
	return "/v1/accounts/" + account + "/requests/" + name + "/" + action
}

// A member asks over HTTP, the owner lists and approves, the member holds it.
func TestAccessRequestsOverHTTP(t *testing.T) {
	c, clock := newTestAPI(t)
	c.createAccount("acme", "alice")
	c.addProduct("user:alice", "acme", "site", nil, nil)
	c.join("user:alice", "acme", "carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightSupport}})
	c.join("user:alice", "acme", "bob", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightUserManagement}})

	asked := ok[wire.AccessRequestChange](t, c.call("POST", "/v1/accounts/acme/requests", "user:carol", map[string]any{
		"access": map[string]any{"rights": []string{"billing"}, "technical": map[string]any{"products": []string{"site"}}},
		"reason": "I pay the invoices now",
	}), http.StatusCreated)
	require.Equal(t, "pending", asked.Request.Status)
	require.NotEmpty(t, asked.ZedToken)

	list := ok[wire.AccessRequestList](t, c.call("GET", "/v1/accounts/acme/requests?status=pending", "user:alice", nil), http.StatusOK)
	require.Len(t, list.Requests, 1)
	require.Equal(t, "I pay the invoices now", list.Requests[0].Reason)
	none := ok[wire.AccessRequestList](t, c.call("GET", "/v1/accounts/acme/requests?status=refused", "user:alice", nil), http.StatusOK)
	require.NotNil(t, none.Requests, "an empty list is [], not null")
	require.Empty(t, none.Requests)
	problem(t, c.call("GET", "/v1/accounts/acme/requests?status=whatever", "user:alice", nil), http.StatusBadRequest, "invalid_argument")
	problem(t, c.call("GET", "/v1/accounts/acme/requests", "user:mallory", nil), http.StatusForbidden, "forbidden")

	// Bob manages users but holds neither billing nor the site: no escalation.
	problem(t, c.call("POST", requestPath(asked.Request.ID, "approve"), "user:bob", map[string]any{}), http.StatusForbidden, "escalation")
	problem(t, c.call("POST", requestPath(asked.Request.ID, "approve"), "user:carol", map[string]any{}), http.StatusForbidden, "forbidden")

	done := ok[wire.AccessRequestChange](t, c.call("POST", requestPath(asked.Request.ID, "approve"), "user:alice", map[string]any{"note": "ok"}), http.StatusOK)
	require.Equal(t, "approved", done.Request.Status)
	require.Equal(t, "user:alice", done.Request.DecidedBy)
	require.True(t, c.can("account:acme", "pay_invoices", "user:carol", done.ZedToken))
	require.True(t, c.can("product:acme/site", "manage", "user:carol", done.ZedToken))
	require.False(t, c.can("account:acme", "manage_domains", "user:carol", done.ZedToken))
	problem(t, c.call("POST", requestPath(asked.Request.ID, "approve"), "user:alice", map[string]any{}), http.StatusConflict, "request_not_pending")
	problem(t, c.call("POST", requestPath(asked.Request.ID, "refuse"), "user:alice", map[string]any{}), http.StatusConflict, "request_not_pending")

	// Refused, and lapsed.
	refused := ok[wire.AccessRequestChange](t, c.call("POST", "/v1/accounts/acme/requests", "user:carol", map[string]any{
		"access": map[string]any{"rights": []string{"domains"}}, "reason": "renewals",
	}), http.StatusCreated)
	out := ok[wire.AccessRequestChange](t, c.call("POST", requestPath(refused.Request.ID, "refuse"), "user:alice", map[string]any{"note": "ask the owner"}), http.StatusOK)
	require.Equal(t, "refused", out.Request.Status)
	require.False(t, c.can("account:acme", "manage_domains", "user:carol", out.ZedToken))
	lapsing := ok[wire.AccessRequestChange](t, c.call("POST", "/v1/accounts/acme/requests", "user:carol", map[string]any{
		"access": map[string]any{"rights": []string{"profile"}}, "reason": "address change",
	}), http.StatusCreated)
	clock.Advance(hostaccess.RequestTTL + time.Second)
	problem(t, c.call("POST", requestPath(lapsing.Request.ID, "approve"), "user:alice", map[string]any{}), http.StatusGone, "request_expired")
	mine := ok[wire.AccessRequestList](t, c.call("GET", "/v1/accounts/acme/requests", "user:carol", nil), http.StatusOK)
	statuses := []string{}
	for _, r := range mine.Requests {
		statuses = append(statuses, r.Status)
	}
	require.ElementsMatch(t, []string{"approved", "refused", "expired"}, statuses)

	// Every flow is in the change log.
	log := ok[wire.AuditEntries](t, c.call("GET", "/v1/accounts/acme/audit", "user:alice", nil), http.StatusOK)
	flows := map[string]int{}
	for _, e := range log.Entries {
		flows[e.Flow]++
	}
	require.Equal(t, 3, flows["request_access"])
	require.Equal(t, 1, flows["approve_request"])
	require.Equal(t, 1, flows["refuse_request"])
}

// Hostile bodies are refused before the service hears of them, or by it.
func TestAccessRequestInputOverHTTP(t *testing.T) {
	c, _ := newTestAPI(t)
	c.createAccount("acme", "alice")
	c.join("user:alice", "acme", "carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightSupport}})
	path := "/v1/accounts/acme/requests"
	for _, tc := range []struct {
		name, body, detail string
	}{
		{"null access", `{"access": null, "reason": "r"}`, `"access"`},
		{"null reason", `{"access": {"rights": ["billing"]}, "reason": null}`, `"reason"`},
		{"null rights", `{"access": {"rights": null}, "reason": "r"}`, "asks for nothing"},
		{"duplicate key", `{"reason": "a", "access": {"rights": ["billing"]}, "reason": "b"}`, "appears twice"},
		{"case-folded key", `{"Reason": "a", "access": {"rights": ["billing"]}}`, "case-sensitive"},
		{"unknown field", `{"reason": "a", "access": {"rights": ["billing"]}, "grant_now": true}`, "unknown field"},
		{"unknown right", `{"reason": "a", "access": {"rights": ["root"]}}`, "unknown right"},
		{"empty reason", `{"reason": "", "access": {"rights": ["billing"]}}`, "reason is required"},
		{"NUL in reason", `{"reason": "a\u0000b", "access": {"rights": ["billing"]}}`, "control character"},
		{"huge reason", `{"reason": "` + strings.Repeat("x", hostaccess.MaxReasonLen+1) + `", "access": {"rights": ["billing"]}}`, "at most 500"},
		{"an array", `[]`, "JSON object"},
		{"null", `null`, "JSON object"},
		{"empty", ``, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := problem(t, c.call("POST", path, "user:carol", tc.body), http.StatusBadRequest, "invalid_argument")
			require.Contains(t, p.Detail, tc.detail)
		})
	}
	asked := ok[wire.AccessRequestChange](t, c.call("POST", path, "user:carol", `{"reason": "invoices", "access": {"rights": ["billing"]}}`), http.StatusCreated)
	approve := requestPath(asked.Request.ID, "approve")
	problem(t, c.call("POST", approve, "user:alice", `{"note": null}`), http.StatusBadRequest, "invalid_argument")
	problem(t, c.call("POST", approve, "user:alice", `{"note": "a", "note": "b"}`), http.StatusBadRequest, "invalid_argument")
	problem(t, c.call("POST", approve, "user:alice", `{"note": "`+strings.Repeat("x", hostaccess.MaxNoteLen+1)+`"}`), http.StatusBadRequest, "invalid_argument")
	problem(t, c.call("POST", "/v1/accounts/acme/requests/not-an-id/approve", "user:alice", `{}`), http.StatusBadRequest, "invalid_argument")
	problem(t, c.call("POST", "/v1/accounts/acme/requests/0123456789abcdef/approve", "user:alice", `{}`), http.StatusNotFound, "not_found")
	list := ok[wire.AccessRequestList](t, c.call("GET", path, "user:alice", nil), http.StatusOK)
	require.Len(t, list.Requests, 1, "no refused body recorded anything")
	require.Equal(t, "pending", list.Requests[0].Status)
}
