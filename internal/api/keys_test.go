package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hostaccess/hostaccess/internal/testengine"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

const (
	auditorKey = "k-auditor-0123456789"
	writerKey  = "k-writer-0123456789"
)

func mustKey(t *testing.T, spec string) Key {
	t.Helper()
	k, err := ParseKey(spec)
	require.NoError(t, err)
	return k
}

// newScopedAPI serves the API with a full key (testKey), a read-only one
// and a write-only one, from a keyring the test may change.
func newScopedAPI(t *testing.T) (*apiClient, *Keyring) {
	t.Helper()
	svc, _ := testengine.NewService(t, nil)
	set, err := NewKeySet([]Key{
		mustKey(t, testCaller+"="+testKey),
		mustKey(t, "auditor:read="+auditorKey),
		mustKey(t, "billing:write="+writerKey),
	})
	require.NoError(t, err)
	ring := NewKeyring(set)
	srv := httptest.NewServer(NewHandlerWithKeys(svc, ring, zaptest.NewLogger(t)))
	t.Cleanup(srv.Close)
	return &apiClient{t: t, base: srv.URL, key: testKey}, ring
}

// TestEveryRouteNeedsItsScope: reads (GET, the checks and why-denied) need
// read, every change write, the public document none.
func TestEveryRouteNeedsItsScope(t *testing.T) {
	for _, rt := range routes {
		t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
			switch {
			case rt.access == public:
				require.Empty(t, rt.scope)
			case rt.Method == http.MethodGet || rt.Pattern == "/v1/check" || rt.Pattern == "/v1/check-bulk" || rt.Pattern == "/v1/why-denied" || rt.Pattern == "/v1/tokens/check":
				require.Equal(t, ScopeRead, rt.scope)
			default:
				require.Equal(t, ScopeWrite, rt.scope)
			}
		})
	}
}

// TestKeysAreHeldToTheirScopes: a read key reads and checks but cannot
// change anything; a write key changes but cannot read; a full key does both.
func TestKeysAreHeldToTheirScopes(t *testing.T) {
	c, _ := newScopedAPI(t)
	c.createAccount("acme", "alice")
	c.addProduct("user:alice", "acme", "site", nil, nil)
	as := func(key string) *apiClient { return &apiClient{t: t, base: c.base, key: key} }
	checkBody := map[string]any{"resource": "account:acme", "permission": "manage_users", "subject": "user:alice"}
	productBody := map[string]any{"name": "shop"}

	t.Run("read key: GET and checks allowed", func(t *testing.T) {
		r := as(auditorKey).call("GET", "/v1/accounts/acme/members", "service", nil)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		r = as(auditorKey).call("GET", "/v1/accounts/acme/audit", "service", nil)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		require.True(t, ok[hostaccess.Answer](t, as(auditorKey).call("POST", "/v1/check", "", checkBody), http.StatusOK).Allowed)
		r = as(auditorKey).call("POST", "/v1/check-bulk", "", map[string]any{"checks": []any{checkBody}})
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	})
	t.Run("read key: flows refused, nothing changes", func(t *testing.T) {
		r := as(auditorKey).call("POST", "/v1/accounts/acme/products", "service", productBody)
		p := problem(t, r, http.StatusForbidden, "insufficient_scope")
		require.Contains(t, p.Detail, "auditor")
		require.Contains(t, p.Detail, "write scope")
		require.Contains(t, p.Detail, "POST /v1/accounts/{account}/products")
		require.Equal(t, `Bearer realm="hostaccess", error="insufficient_scope", scope="write"`, r.header.Get("WWW-Authenticate"))

		r = as(auditorKey).call("POST", "/v1/invitations/accept", "", acceptBody("t", "u", "u@example.com", true))
		problem(t, r, http.StatusForbidden, "insufficient_scope")
		r = as(auditorKey).call("DELETE", "/v1/accounts/acme", "service", nil)
		problem(t, r, http.StatusForbidden, "insufficient_scope")

		list := ok[map[string][]hostaccess.Product](t, c.call("GET", "/v1/accounts/acme/products", "service", nil), http.StatusOK)
		require.Len(t, list["products"], 1, "the refused flow added nothing")
	})
	t.Run("the scope is checked before the actor", func(t *testing.T) {
		r := as(auditorKey).call("POST", "/v1/accounts/acme/products", "", productBody)
		problem(t, r, http.StatusForbidden, "insufficient_scope")
	})
	t.Run("write key: flows allowed, reads refused", func(t *testing.T) {
		r := as(writerKey).call("POST", "/v1/accounts/acme/products", "service", productBody)
		require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
		p := problem(t, as(writerKey).call("GET", "/v1/accounts/acme/members", "service", nil), http.StatusForbidden, "insufficient_scope")
		require.Contains(t, p.Detail, "read scope")
		problem(t, as(writerKey).call("POST", "/v1/check", "", checkBody), http.StatusForbidden, "insufficient_scope")
	})
	t.Run("full key: both", func(t *testing.T) {
		r := c.call("POST", "/v1/accounts/acme/products", "service", map[string]any{"name": "mail"})
		require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
		r = c.call("GET", "/v1/accounts/acme/members", "service", nil)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	})
}

// TestKeyringSwapsKeys: a new key set applies to the next request; the
// old keys are refused from then on.
func TestKeyringSwapsKeys(t *testing.T) {
	c, ring := newScopedAPI(t)
	newKey := "k-rotated-0123456789"
	before := c.call("GET", "/v1/users/alice/accounts", "service", nil)
	require.Equal(t, http.StatusOK, before.status)

	set, err := NewKeySet([]Key{mustKey(t, testCaller+"="+newKey)})
	require.NoError(t, err)
	ring.Set(set)
	problem(t, c.call("GET", "/v1/users/alice/accounts", "service", nil), http.StatusUnauthorized, "unauthenticated")
	rotated := &apiClient{t: t, base: c.base, key: newKey}
	require.Equal(t, http.StatusOK, rotated.call("GET", "/v1/users/alice/accounts", "service", nil).status)
}

func TestParseKey(t *testing.T) {
	tests := []struct {
		spec    string
		name    string
		scopes  []Scope
		wantErr string
	}{
		{spec: "panel=0123456789abcdef", name: "panel", scopes: []Scope{ScopeRead, ScopeWrite}},
		{spec: "auditor:read=0123456789abcdef", name: "auditor", scopes: []Scope{ScopeRead}},
		{spec: "billing:write=0123456789abcdef", name: "billing", scopes: []Scope{ScopeWrite}},
		{spec: "panel:write+read=0123456789abcdef", name: "panel", scopes: []Scope{ScopeWrite, ScopeRead}},
		{spec: " panel:read+read=0123456789abcdef== ", name: "panel", scopes: []Scope{ScopeRead}},
		{spec: "0123456789abcdef", wantErr: "wants NAME=KEY"},
		{spec: "=0123456789abcdef", wantErr: "wants NAME=KEY"},
		{spec: ":read=0123456789abcdef", wantErr: "wants NAME=KEY"},
		{spec: "panel=short", wantErr: "at least 16 characters"},
		{spec: "auditor:admin=0123456789abcdef", wantErr: `unknown scope "admin"`},
		{spec: "auditor:=0123456789abcdef", wantErr: `unknown scope ""`},
		{spec: "auditor:read,write=0123456789abcdef", wantErr: `unknown scope "read,write"`},
		{spec: "my panel=0123456789abcdef", wantErr: "no spaces"},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			k, err := ParseKey(tc.spec)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.NotContains(t, err.Error(), "0123456789abcdef", "the key is never echoed")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.name, k.Name)
			require.Equal(t, tc.scopes, k.Scopes)
			require.True(t, strings.HasPrefix(k.Secret, "0123456789abcdef"))
		})
	}
}

func TestNewKeySetRefusesBadKeys(t *testing.T) {
	good := Key{Name: "panel", Secret: "0123456789abcdef", Scopes: Scopes}
	for name, keys := range map[string][]Key{
		"same key twice": {good, {Name: "billing", Secret: good.Secret, Scopes: Scopes}},
		"no scope":       {{Name: "panel", Secret: good.Secret}},
		"unknown scope":  {{Name: "panel", Secret: good.Secret, Scopes: []Scope{"admin"}}},
		"no name":        {{Secret: good.Secret, Scopes: Scopes}},
		"no secret":      {{Name: "panel", Scopes: Scopes}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewKeySet(keys)
			require.Error(t, err)
			require.NotContains(t, err.Error(), good.Secret)
		})
	}
	set, err := NewKeySet([]Key{good, {Name: "auditor", Secret: "fedcba9876543210", Scopes: []Scope{ScopeRead}}})
	require.NoError(t, err)
	require.Equal(t, []string{"panel:read+write", "auditor:read"}, set.Names())
}
