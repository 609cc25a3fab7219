package apiclient_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/apiclient"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func TestTokenRoutes(t *testing.T) {
	ctx := context.Background()
	end := time.Date(2027, 1, 31, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		call    func(c *apiclient.Client) error
		method  string
		path    string
		body    map[string]any
		noActor bool
	}{
		{
			name: "create",
			call: func(c *apiclient.Client) error {
				_, err := c.CreateToken(ctx, "acme", hostaccess.TokenInput{
					Name: "deploy", Rights: []hostaccess.Right{hostaccess.RightBilling},
					Technical: hostaccess.ProductScope{Products: []string{"site"}}, ExpiresAt: &end, AllowedCIDRs: []string{"10.0.0.0/8"},
				})
				return err
			},
			method: "POST", path: "/v1/accounts/acme/tokens",
			body: map[string]any{
				"name": "deploy", "rights": []any{"billing"}, "technical": map[string]any{"products": []any{"site"}}, "view": map[string]any{},
				"expires_at": "2027-01-31T12:00:00Z", "allowed_cidrs": []any{"10.0.0.0/8"},
			},
		},
		{
			name:   "list",
			call:   func(c *apiclient.Client) error { _, err := c.ListTokens(ctx, "acme"); return err },
			method: "GET", path: "/v1/accounts/acme/tokens",
		},
		{
			name: "revoke by full id: DELETE on its short name",
			call: func(c *apiclient.Client) error {
				_, err := c.RevokeToken(ctx, "acme", "acme/0123456789abcdef")
				return err
			},
			method: "DELETE", path: "/v1/accounts/acme/tokens/0123456789abcdef",
		},
		{
			name:   "revoke by short name",
			call:   func(c *apiclient.Client) error { _, err := c.RevokeToken(ctx, "acme", "0123456789abcdef"); return err },
			method: "DELETE", path: "/v1/accounts/acme/tokens/0123456789abcdef",
		},
		{
			name: "check with the secret and a context, no actor",
			call: func(c *apiclient.Client) error {
				_, err := c.CheckToken(ctx, hostaccess.TokenCheck{Secret: "hat_x", Resource: "account:acme", Permission: "pay_invoices", Context: map[string]any{"client_ip": "10.1.2.3"}}, "zt")
				return err
			},
			method: "POST", path: "/v1/tokens/check", noActor: true,
			body: map[string]any{"secret": "hat_x", "resource": "account:acme", "permission": "pay_invoices", "context": map[string]any{"client_ip": "10.1.2.3"}, "at_least_as_fresh": "zt"},
		},
		{
			name: "a check carries its context",
			call: func(c *apiclient.Client) error {
				_, err := c.Can(ctx, hostaccess.Check{Resource: "account:acme", Permission: "pay_invoices", Subject: "token:acme/0123456789abcdef", Context: map[string]any{"client_ip": "10.1.2.3"}}, "")
				return err
			},
			method: "POST", path: "/v1/check", noActor: true,
			body: map[string]any{"resource": "account:acme", "permission": "pay_invoices", "subject": "token:acme/0123456789abcdef", "context": map[string]any{"client_ip": "10.1.2.3"}},
		},
		{
			name: "so does each bulk check",
			call: func(c *apiclient.Client) error {
				_, err := c.CanAll(ctx, []hostaccess.Check{{Resource: "account:acme", Permission: "pay_invoices", Subject: "user:carol", Context: map[string]any{"client_ip": "::1"}}}, "")
				return err
			},
			method: "POST", path: "/v1/check-bulk", noActor: true,
			body: map[string]any{"checks": []any{map[string]any{"resource": "account:acme", "permission": "pay_invoices", "subject": "user:carol", "context": map[string]any{"client_ip": "::1"}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, seen := fakeServer(t, http.StatusOK, "application/json", `{}`)
			require.NoError(t, tt.call(apiclient.New(srv.URL, "secret", "user:carol")))
			require.Len(t, *seen, 1)
			got := (*seen)[0]
			require.Equal(t, tt.method, got.method)
			require.Equal(t, tt.path, got.rawPath)
			require.Equal(t, tt.body, got.body)
			require.Equal(t, !tt.noActor, got.hasActor)
		})
	}
}

func TestTokenAnswersDecode(t *testing.T) {
	srv, _ := fakeServer(t, http.StatusCreated, "application/json",
		`{"token":{"id":"acme/0123456789abcdef","account_id":"acme","creator":"carol","name":"deploy","rights":["billing"],"technical":{},"view":{},
		  "created_at":"2026-12-01T00:00:00Z","expires_at":"2026-12-31T00:00:00Z","status":"active"},"secret":"hat_abc","zed_token":"zt"}`)
	nt, err := apiclient.New(srv.URL, "k", "user:carol").CreateToken(context.Background(), "acme", hostaccess.TokenInput{Name: "deploy"})
	require.NoError(t, err)
	require.Equal(t, "hat_abc", nt.Secret)
	require.Equal(t, "acme/0123456789abcdef", nt.Token.ID)
	require.Equal(t, "zt", nt.ZedToken)

	srv, _ = fakeServer(t, http.StatusOK, "application/json",
		`{"resource":"product:acme/site","permission":"manage","subject":"token:acme/0123456789abcdef","allowed":false,"conditional":true,"missing_context":["client_ip"],
		  "token":{"id":"acme/0123456789abcdef","status":"active"}}`)
	ans, err := apiclient.New(srv.URL, "k", "").CheckToken(context.Background(), hostaccess.TokenCheck{Secret: "hat_abc"}, "")
	require.NoError(t, err)
	require.True(t, ans.Conditional)
	require.Equal(t, []string{"client_ip"}, ans.MissingContext)
	require.Equal(t, "active", ans.Token.Status)

	srv, _ = fakeServer(t, http.StatusNotFound, "application/problem+json",
		`{"type":"https://hostaccess.dev/problems/not_found","title":"Not found","status":404,"detail":"no token has this secret","code":"not_found"}`)
	_, err = apiclient.New(srv.URL, "k", "").CheckToken(context.Background(), hostaccess.TokenCheck{Secret: "hat_abc"}, "")
	require.Equal(t, "not_found", apiclient.Code(err))
}
