package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// TestErrorCodesThroughHTTP produces, through HTTP, every error code the
// flows can produce, and checks its status. The cases share one account and
// run in order; the expiry case moves the clock, so it runs last.
func TestErrorCodesThroughHTTP(t *testing.T) {
	c, clock := newTestAPI(t)
	c.createAccount("acme", "alice")
	c.addProduct("user:alice", "acme", "site", nil, nil)
	c.join("user:alice", "acme", "uma", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightUserManagement}})
	c.join("user:alice", "acme", "carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	billing := hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}}

	tests := []struct {
		name   string
		status int
		code   string
		detail string // a part of the detail, when it matters
		call   func(t *testing.T) response
	}{
		{
			name: "the last owner removing herself", status: 409, code: "last_owner",
			call: func(*testing.T) response {
				return c.call("DELETE", "/v1/accounts/acme/members/alice", "user:alice", nil)
			},
		},
		{
			name: "a user manager granting billing they lack", status: 403, code: "escalation",
			call: func(*testing.T) response {
				return c.call("POST", "/v1/accounts/acme/invitations", "user:uma", map[string]any{"email": "x@example.com", "access": billing})
			},
		},
		{
			name: "a user manager raising their own rights", status: 403, code: "escalation",
			call: func(*testing.T) response {
				return c.call("PUT", "/v1/accounts/acme/members/uma/access", "user:uma", hostaccess.Access{
					Rights: []hostaccess.Right{hostaccess.RightUserManagement, hostaccess.RightBilling},
				})
			},
		},
		{
			name: "a billing member inviting", status: 403, code: "forbidden",
			call: func(*testing.T) response {
				return c.call("POST", "/v1/accounts/acme/invitations", "user:carol", map[string]any{"email": "x@example.com", "access": hostaccess.Access{}})
			},
		},
		{
			name: "a stranger listing someone's accounts", status: 403, code: "forbidden",
			call: func(*testing.T) response { return c.call("GET", "/v1/users/alice/accounts", "user:carol", nil) },
		},
		{
			name: "a stranger asking someone's reach", status: 403, code: "forbidden",
			call: func(*testing.T) response { return c.call("GET", "/v1/users/alice/reach", "user:carol", nil) },
		},
		{
			name: "a member removing an owner", status: 403, code: "forbidden",
			call: func(*testing.T) response { return c.call("DELETE", "/v1/accounts/acme/members/alice", "user:uma", nil) },
		},
		{
			name: "a fourth administrator", status: 409, code: "admin_cap_reached", detail: "3 of 3",
			call: func(t *testing.T) response {
				admin := hostaccess.Access{Administrator: true}
				for _, who := range []string{"adm1", "adm2", "adm3"} {
					c.invite("user:alice", "acme", who+"@example.com", admin)
				}
				return c.call("POST", "/v1/accounts/acme/invitations", "user:alice", map[string]any{"email": "adm4@example.com", "access": admin})
			},
		},
		{
			name: "accepting a revoked invitation", status: 410, code: "invitation_revoked",
			call: func(t *testing.T) response {
				link := c.invite("user:alice", "acme", "rev@example.com", billing)
				ok[hostaccess.Result](t, c.call("DELETE", invitationPath(link.Invitation.ID), "user:alice", nil), http.StatusOK)
				return c.call("POST", "/v1/invitations/accept", "", acceptBody(link.Token, "rev", "rev@example.com", true))
			},
		},
		{
			name: "revoking twice", status: 410, code: "invitation_revoked",
			call: func(t *testing.T) response {
				link := c.invite("user:alice", "acme", "rev2@example.com", billing)
				ok[hostaccess.Result](t, c.call("DELETE", invitationPath(link.Invitation.ID), "user:alice", nil), http.StatusOK)
				return c.call("DELETE", invitationPath(link.Invitation.ID), "user:alice", nil)
			},
		},
		{
			name: "accepting with the link a regeneration replaced", status: 410, code: "invitation_regenerated",
			call: func(t *testing.T) response {
				old := c.invite("user:alice", "acme", "regen@example.com", billing)
				fresh := ok[hostaccess.InvitationLink](t, c.call("POST", invitationPath(old.Invitation.ID)+"/regenerate", "user:alice", nil), http.StatusCreated)
				require.NotEqual(t, old.Token, fresh.Token)
				r := c.call("POST", "/v1/invitations/accept", "", acceptBody(old.Token, "regen", "regen@example.com", true))
				c.accept(fresh.Token, "regen", "regen@example.com") // the new link works
				return r
			},
		},
		{
			name: "accepting twice", status: 410, code: "invitation_used",
			call: func(t *testing.T) response {
				link := c.invite("user:alice", "acme", "twice@example.com", billing)
				c.accept(link.Token, "twice", "twice@example.com")
				return c.call("POST", "/v1/invitations/accept", "", acceptBody(link.Token, "twice", "twice@example.com", true))
			},
		},
		{
			name: "accepting with another e-mail", status: 403, code: "email_mismatch",
			call: func(t *testing.T) response {
				link := c.invite("user:alice", "acme", "meant@example.com", billing)
				return c.call("POST", "/v1/invitations/accept", "", acceptBody(link.Token, "mallory", "mallory@example.com", true))
			},
		},
		{
			name: "accepting with an unverified e-mail", status: 403, code: "email_not_verified",
			call: func(t *testing.T) response {
				link := c.invite("user:alice", "acme", "unverified@example.com", billing)
				return c.call("POST", "/v1/invitations/accept", "", acceptBody(link.Token, "unverified", "unverified@example.com", false))
			},
		},
		{
			name: "accepting an unknown token", status: 404, code: "invitation_not_found",
			call: func(*testing.T) response {
				return c.call("POST", "/v1/invitations/accept", "", acceptBody("no-such-token", "zed", "zed@example.com", true))
			},
		},
		{
			name: "an unknown account", status: 404, code: "not_found",
			call: func(*testing.T) response { return c.call("GET", "/v1/accounts/nope/members", "service", nil) },
		},
		{
			name: "an unknown product", status: 404, code: "not_found",
			call: func(*testing.T) response {
				return c.call("DELETE", "/v1/accounts/acme/products/nope", "user:alice", nil)
			},
		},
		{
			name: "an unknown member", status: 404, code: "not_found",
			call: func(*testing.T) response {
				return c.call("PUT", "/v1/accounts/acme/members/nobody/access", "user:alice", hostaccess.Access{})
			},
		},
		{
			name: "an unknown invitation", status: 404, code: "not_found",
			call: func(*testing.T) response {
				return c.call("DELETE", "/v1/accounts/acme/invitations/0123456789abcdef", "user:alice", nil)
			},
		},
		{
			name: "a malformed invitation id", status: 400, code: "invalid_argument", detail: `invitation id "acme/nope"`,
			call: func(*testing.T) response {
				return c.call("DELETE", "/v1/accounts/acme/invitations/nope", "user:alice", nil)
			},
		},
		{
			name: "an account id taken", status: 409, code: "conflict",
			call: func(*testing.T) response {
				return c.call("POST", "/v1/accounts", "service", map[string]any{"id": "acme", "owner_id": "zoe"})
			},
		},
		{
			name: "a product name taken", status: 409, code: "conflict",
			call: func(*testing.T) response {
				return c.call("POST", "/v1/accounts/acme/products", "user:alice", map[string]any{"name": "site"})
			},
		},
		{
			name: "an unknown JSON field", status: 400, code: "invalid_argument", detail: `unknown field "nickname"`,
			call: func(*testing.T) response {
				return c.call("POST", "/v1/accounts/acme/invitations", "user:alice", `{"email":"x@example.com","access":{},"nickname":"x"}`)
			},
		},
		{
			name: "an unknown nested field", status: 400, code: "invalid_argument", detail: `unknown field "access.technical.everything"`,
			call: func(*testing.T) response {
				return c.call("POST", "/v1/accounts/acme/invitations", "user:alice", `{"email":"x@example.com","access":{"technical":{"everything":true}}}`)
			},
		},
		{
			name: "a bad e-mail", status: 400, code: "invalid_argument", detail: "not an e-mail address",
			call: func(*testing.T) response {
				return c.call("POST", "/v1/accounts/acme/invitations", "user:alice", map[string]any{"email": "not-an-email", "access": hostaccess.Access{}})
			},
		},
		{
			name: "an unknown right", status: 400, code: "invalid_argument", detail: `unknown right "root"`,
			call: func(*testing.T) response {
				return c.call("POST", "/v1/accounts/acme/invitations", "user:alice", `{"email":"x@example.com","access":{"rights":["root"]}}`)
			},
		},
		{
			name: "malformed JSON", status: 400, code: "invalid_argument", detail: "malformed JSON",
			call: func(*testing.T) response {
				return c.call("POST", "/v1/accounts/acme/products", "user:alice", `{"name": "x",}`)
			},
		},
		{
			name: "a truncated body", status: 400, code: "invalid_argument", detail: "malformed JSON",
			call: func(*testing.T) response {
				return c.call("POST", "/v1/accounts/acme/products", "user:alice", `{"name": "x"`)
			},
		},
		{
			name: "a wrong type", status: 400, code: "invalid_argument", detail: `field "cap": want an integer, got string`,
			call: func(*testing.T) response {
				return c.call("PUT", "/v1/accounts/acme/admin-cap", "service", `{"cap": "five"}`)
			},
		},
		{
			name: "a wrong nested type", status: 400, code: "invalid_argument", detail: `field "access.administrator": want a boolean`,
			call: func(*testing.T) response {
				return c.call("POST", "/v1/accounts/acme/invitations", "user:alice", `{"email":"x@example.com","access":{"administrator":"yes"}}`)
			},
		},
		{
			name: "not an object", status: 400, code: "invalid_argument", detail: "want a JSON object, got an array",
			call: func(*testing.T) response { return c.call("POST", "/v1/check", "", `["account:acme"]`) },
		},
		{
			name: "an empty body", status: 400, code: "invalid_argument", detail: "empty",
			call: func(*testing.T) response { return c.call("POST", "/v1/accounts/acme/products", "user:alice", nil) },
		},
		{
			name: "two JSON values", status: 400, code: "invalid_argument", detail: "after the JSON object",
			call: func(*testing.T) response {
				return c.call("POST", "/v1/accounts/acme/products", "user:alice", `{"name":"a"} {"name":"b"}`)
			},
		},
		{
			name: "a body over 1 MiB", status: 400, code: "invalid_argument", detail: "larger than",
			call: func(*testing.T) response {
				return c.call("POST", "/v1/accounts/acme/products", "user:alice", `{"name":"`+strings.Repeat("a", maxBodyBytes)+`"}`)
			},
		},
		{
			name: "a missing required field", status: 400, code: "invalid_argument", detail: "enabled is required",
			call: func(*testing.T) response { return c.call("PUT", "/v1/accounts/acme/delegation", "user:alice", `{}`) },
		},
		{
			name: "an out of range admin cap", status: 400, code: "invalid_argument", detail: "use 1 to 100",
			call: func(*testing.T) response {
				return c.call("PUT", "/v1/accounts/acme/admin-cap", "service", `{"cap": 0}`)
			},
		},
		{
			name: "a bad audit limit", status: 400, code: "invalid_argument", detail: "limit",
			call: func(*testing.T) response { return c.call("GET", "/v1/accounts/acme/audit?limit=-1", "user:alice", nil) },
		},
		{
			name: "a who-can without a permission", status: 400, code: "invalid_argument", detail: "permission is required",
			call: func(*testing.T) response {
				return c.call("GET", "/v1/who-can?resource=account:acme", "user:alice", nil)
			},
		},
		{
			name: "a check on a malformed object", status: 400, code: "invalid_argument", detail: "TYPE:ID",
			call: func(*testing.T) response {
				return c.call("POST", "/v1/check", "", map[string]string{"resource": "acme", "permission": "view", "subject": "user:carol"})
			},
		},
		{
			name: "a check on an unknown permission", status: 400, code: "invalid_argument",
			call: func(*testing.T) response {
				return c.call("POST", "/v1/check", "", map[string]string{"resource": "account:acme", "permission": "fly", "subject": "user:carol"})
			},
		},
		{
			name: "a check with a token that is not one", status: 400, code: "invalid_argument", detail: "at_least_as_fresh",
			call: func(*testing.T) response {
				return c.call("POST", "/v1/check", "", map[string]string{"resource": "account:acme", "permission": "view", "subject": "user:carol", "at_least_as_fresh": "not-a-token"})
			},
		},
		{
			name: "accepting an expired invitation", status: 410, code: "invitation_expired",
			call: func(t *testing.T) response {
				link := c.invite("user:alice", "acme", "late@example.com", billing)
				clock.Advance(hostaccess.DefaultInvitationTTL + time.Minute)
				return c.call("POST", "/v1/invitations/accept", "", acceptBody(link.Token, "late", "late@example.com", true))
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := problem(t, tc.call(t), tc.status, tc.code)
			if tc.detail != "" {
				require.Contains(t, p.Detail, tc.detail)
			}
		})
	}
}

// TestErrorMapping holds errors.go to the table of docs/http-api.md.
func TestErrorMapping(t *testing.T) {
	spec := map[string]int{
		"invalid_argument": 400, "not_found": 404, "forbidden": 403, "escalation": 403, "last_owner": 409, "owner_holds_every_right": 409,
		"admin_cap_reached": 409, "conflict": 409, "invitation_expired": 410, "invitation_revoked": 410,
		"invitation_regenerated": 410, "invitation_used": 410, "invitation_not_pending": 409,
		"invitation_not_found": 404, "email_mismatch": 403, "email_not_verified": 403, "unavailable": 503,
		"internal": 500, "unauthenticated": 401, "insufficient_scope": 403, "method_not_allowed": 405, "unsupported_media_type": 415,
		"request_expired": 410, "request_not_pending": 409,
	}
	require.Len(t, problemKinds, len(spec))
	for code, status := range spec {
		require.Equal(t, status, problemKinds[code].status, code)
	}

	tests := []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("%w: alice is the last owner of acme", hostaccess.ErrLastOwner), 409, "last_owner"},
		{fmt.Errorf("%w: user:uma cannot grant the billing right", hostaccess.ErrEscalation), 403, "escalation"},
		{fmt.Errorf("%w: invitation acme/x expired", hostaccess.ErrInvitationExpired), 410, "invitation_expired"},
		{fmt.Errorf("%w: e-mail", hostaccess.ErrEmailNotVerified), 403, "email_not_verified"},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			s := &server{log: zap.NewNop()}
			rec := httptest.NewRecorder()
			s.writeError(rec, httptest.NewRequest("GET", "/v1/x", nil), tc.err)
			p := problem(t, response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}, tc.status, tc.code)
			require.Equal(t, tc.err.Error(), p.Detail, "a domain error's detail is its message")
		})
	}
	t.Run("api error", func(t *testing.T) {
		s := &server{log: zap.NewNop()}
		rec := httptest.NewRecorder()
		s.writeError(rec, httptest.NewRequest("PUT", "/v1/x", nil), fmt.Errorf("decoding: %w", invalidArgument("cap is required")))
		p := problem(t, response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}, 400, "invalid_argument")
		require.Equal(t, "cap is required", p.Detail)
	})
}

// TestInternalErrorsAreLoggedNotSent: the cause of an internal or
// unavailable error reaches the log, never the client.
func TestInternalErrorsAreLoggedNotSent(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		level  string
	}{
		{"internal", fmt.Errorf("directory: person alice: %w", errors.New("dial tcp 10.0.0.7:5432: password=hunter2 refused")), 500, "internal", "error"},
		{"unavailable", fmt.Errorf("%w: the access engine: dial tcp 10.0.0.7:50051: password=hunter2", hostaccess.ErrUnavailable), 503, "unavailable", "warn"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			core, logs := observer.New(zap.DebugLevel)
			s := &server{log: zap.New(core)}
			rec := httptest.NewRecorder()
			s.writeError(rec, httptest.NewRequest("POST", "/v1/accounts", nil), tc.err)
			p := problem(t, response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}, tc.status, tc.code)
			require.NotContains(t, p.Detail, "hunter2")
			require.NotContains(t, rec.Body.String(), "10.0.0.7")
			entries := logs.All()
			require.Len(t, entries, 1)
			require.Equal(t, tc.level, entries[0].Level.String())
			require.Contains(t, entries[0].ContextMap()["error"], "hunter2")
		})
	}
}
