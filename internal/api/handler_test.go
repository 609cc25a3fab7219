package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAuthAndRouting: keys, the actor header, unknown routes and methods,
// and the public OpenAPI document.
func TestAuthAndRouting(t *testing.T) {
	c, _ := newTestAPI(t)
	c.createAccount("acme", "alice")

	tests := []struct {
		name   string
		key    string
		auth   string // a raw Authorization header, when set
		method string
		path   string
		actor  string
		status int
		code   string
	}{
		{name: "no key", method: "GET", path: "/v1/accounts/acme/members", actor: "user:alice", status: 401, code: "unauthenticated"},
		{name: "wrong key", key: "k-panel-0123456788", method: "GET", path: "/v1/accounts/acme/members", actor: "user:alice", status: 401, code: "unauthenticated"},
		{name: "key prefix", key: "k-panel", method: "GET", path: "/v1/accounts/acme/members", actor: "user:alice", status: 401, code: "unauthenticated"},
		{name: "not bearer", auth: "Basic " + testKey, method: "GET", path: "/v1/accounts/acme/members", actor: "user:alice", status: 401, code: "unauthenticated"},
		{name: "empty bearer", auth: "Bearer ", method: "GET", path: "/v1/accounts/acme/members", actor: "user:alice", status: 401, code: "unauthenticated"},
		{name: "no key on a check", method: "POST", path: "/v1/check", status: 401, code: "unauthenticated"},
		{name: "missing actor", key: testKey, method: "GET", path: "/v1/accounts/acme/members", status: 400, code: "invalid_argument"},
		{name: "malformed actor", key: testKey, method: "GET", path: "/v1/accounts/acme/members", actor: "alice", status: 400, code: "invalid_argument"},
		{name: "actor without id", key: testKey, method: "GET", path: "/v1/accounts/acme/members", actor: "user:", status: 400, code: "invalid_argument"},
		{name: "actor with a bad id", key: testKey, method: "GET", path: "/v1/accounts/acme/members", actor: "user:a b", status: 400, code: "invalid_argument"},
		{name: "named service actor", key: testKey, method: "GET", path: "/v1/accounts/acme/members", actor: "service:billing", status: 400, code: "invalid_argument"},
		{name: "a second key works", key: "k-billing-abcdef", method: "GET", path: "/v1/accounts/acme/members", actor: "service", status: 200},
		{name: "unknown route", key: testKey, method: "GET", path: "/v1/nothing-here", actor: "service", status: 404, code: "not_found"},
		{name: "unknown route without key", method: "GET", path: "/v2/accounts", status: 404, code: "not_found"},
		{name: "wrong method", key: testKey, method: "PATCH", path: "/v1/accounts/acme/members", actor: "service", status: 405, code: "method_not_allowed"},
		{name: "wrong method on a check", key: testKey, method: "GET", path: "/v1/check", status: 405, code: "method_not_allowed"},
		{name: "openapi needs no key", method: "GET", path: "/openapi.json", status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, c.base+tc.path, nil)
			require.NoError(t, err)
			if tc.key != "" {
				req.Header.Set("Authorization", "Bearer "+tc.key)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			if tc.actor != "" {
				req.Header.Set(ActorHeader, tc.actor)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var body json.RawMessage
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			r := response{status: resp.StatusCode, header: resp.Header, body: body}
			if tc.code == "" {
				require.Equal(t, tc.status, r.status, "body: %s", r.body)
				require.Equal(t, "application/json", r.header.Get("Content-Type"))
				return
			}
			p := problem(t, r, tc.status, tc.code)
			switch tc.status {
			case http.StatusUnauthorized:
				require.Equal(t, `Bearer realm="hostaccess"`, r.header.Get("WWW-Authenticate"))
			case http.StatusMethodNotAllowed:
				require.NotEmpty(t, r.header.Get("Allow"))
			case http.StatusBadRequest:
				require.Contains(t, strings.ToLower(p.Detail), "actor")
			}
		})
	}

	t.Run("openapi document is served as committed", func(t *testing.T) {
		c := &apiClient{t: t, base: c.base}
		r := c.call("GET", "/openapi.json", "", nil)
		require.Equal(t, http.StatusOK, r.status)
		require.JSONEq(t, string(OpenAPIDocument()), string(r.body))
	})
	t.Run("405 lists the allowed methods", func(t *testing.T) {
		r := c.call("PATCH", "/v1/accounts/acme/products", "service", nil)
		problem(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
		require.Contains(t, r.header.Get("Allow"), "GET")
		require.Contains(t, r.header.Get("Allow"), "POST")
	})
}

// TestParseActor: the header's two forms, and what the service sees.
func TestParseActor(t *testing.T) {
	tests := []struct {
		header  string
		want    string
		wantErr bool
	}{
		{header: "user:alice", want: "user:alice"},
		{header: " user:alice ", want: "user:alice"},
		{header: "service", want: "service:panel"},
		{header: "", wantErr: true},
		{header: "user:", wantErr: true},
		{header: "Service", wantErr: true},
		{header: "service:panel", wantErr: true},
		{header: "alice", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.header, func(t *testing.T) {
			actor, err := parseActor(tc.header, "panel")
			if tc.wantErr {
				require.Error(t, err)
				require.Equal(t, "invalid_argument", codeOf(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, actor.String())
		})
	}
}
