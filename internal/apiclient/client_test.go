package apiclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/apiclient"
	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// recorded is one request a fake server saw.
type recorded struct {
	method, path, rawPath, query string
	auth, actor, contentType     string
	hasActor                     bool
	body                         map[string]any
}

// fakeServer answers every request with status and body, recording it.
func fakeServer(t *testing.T, status int, contentType, body string) (*httptest.Server, *[]recorded) {
	t.Helper()
	var seen []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recorded{
			method: r.Method, path: r.URL.Path, rawPath: r.URL.EscapedPath(), query: r.URL.RawQuery,
			auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type"),
		}
		rec.actor = r.Header.Get("X-Hostaccess-Actor")
		_, rec.hasActor = r.Header["X-Hostaccess-Actor"]
		if data, _ := io.ReadAll(r.Body); len(data) > 0 {
			if err := json.Unmarshal(data, &rec.body); err != nil {
				t.Errorf("request body %q: %v", data, err)
			}
		}
		seen = append(seen, rec)
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestRequestsCarryKeyActorAndBody(t *testing.T) {
	srv, seen := fakeServer(t, http.StatusCreated, "application/json", `{"zed_token":"tok1"}`)
	client := apiclient.New(srv.URL+"/", "secret", "user:alice")

	res, err := client.AddProduct(context.Background(), "acme", "shop", nil, []string{"client-x"})
	require.NoError(t, err)
	require.Equal(t, "tok1", res.ZedToken)

	require.Len(t, *seen, 1)
	got := (*seen)[0]
	require.Equal(t, http.MethodPost, got.method)
	require.Equal(t, "/v1/accounts/acme/products", got.path)
	require.Equal(t, "Bearer secret", got.auth)
	require.Equal(t, "user:alice", got.actor)
	require.Equal(t, "application/json", got.contentType)
	// Empty lists are left out: the server refuses nothing it does not know.
	require.Equal(t, map[string]any{"name": "shop", "tags": []any{"client-x"}}, got.body)
}

func TestRoutes(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		call   func(c *apiclient.Client) error
		method string
		path   string // escaped, as sent
		query  string
		body   map[string]any
		// noActor: the route needs no actor, and none is sent.
		noActor bool
	}{
		{
			name: "create account",
			call: func(c *apiclient.Client) error {
				_, err := c.CreateAccount(ctx, wire.CreateAccountRequest{ID: "acme", OwnerID: "alice", OwnerEmail: "alice@acme.example"})
				return err
			},
			method: "POST", path: "/v1/accounts",
			body: map[string]any{"id": "acme", "owner_id": "alice", "owner_email": "alice@acme.example"},
		},
		{
			name:   "admin cap",
			call:   func(c *apiclient.Client) error { return c.SetAdminCap(ctx, "acme", 5) },
			method: "PUT", path: "/v1/accounts/acme/admin-cap", body: map[string]any{"cap": float64(5)},
		},
		{
			name: "delegation off",
			call: func(c *apiclient.Client) error {
				_, err := c.SetDelegation(ctx, "acme", false)
				return err
			},
			method: "PUT", path: "/v1/accounts/acme/delegation", body: map[string]any{"enabled": false},
		},
		{
			name: "untag",
			call: func(c *apiclient.Client) error {
				_, err := c.SetProductTag(ctx, "acme", "shop", "client-x", false)
				return err
			},
			method: "DELETE", path: "/v1/accounts/acme/products/shop/tags/client-x",
		},
		{
			name: "group",
			call: func(c *apiclient.Client) error {
				_, err := c.SetProductGroup(ctx, "acme", "shop", "web", true)
				return err
			},
			method: "PUT", path: "/v1/accounts/acme/products/shop/groups/web",
		},
		{
			name: "set access",
			call: func(c *apiclient.Client) error {
				_, err := c.SetAccess(ctx, "acme", "carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
				return err
			},
			method: "PUT", path: "/v1/accounts/acme/members/carol/access",
			body: map[string]any{"rights": []any{"billing"}, "technical": map[string]any{}, "view": map[string]any{}},
		},
		{
			name: "a contact is named by its short name below the account",
			call: func(c *apiclient.Client) error {
				_, err := c.RemoveContact(ctx, "acme", "acme/Xy-1_z")
				return err
			},
			method: "DELETE", path: "/v1/accounts/acme/contacts/Xy-1_z",
		},
		{
			name: "revoke an invitation: DELETE on it",
			call: func(c *apiclient.Client) error {
				_, err := c.RevokeInvitation(ctx, "acme/0123456789abcdef")
				return err
			},
			method: "DELETE", path: "/v1/accounts/acme/invitations/0123456789abcdef",
		},
		{
			name: "regenerate an invitation",
			call: func(c *apiclient.Client) error {
				_, err := c.RegenerateInvitation(ctx, "acme/0123456789abcdef")
				return err
			},
			method: "POST", path: "/v1/accounts/acme/invitations/0123456789abcdef/regenerate",
		},
		{
			name: "a slash in a name does not make a new segment",
			call: func(c *apiclient.Client) error {
				_, err := c.RemoveMember(ctx, "acme", "../x")
				return err
			},
			method: "DELETE", path: "/v1/accounts/acme/members/..%2Fx",
		},
		{
			name: "recipients",
			call: func(c *apiclient.Client) error {
				_, err := c.Recipients(ctx, "acme", hostaccess.CategoryRenewals, "site")
				return err
			},
			method: "GET", path: "/v1/accounts/acme/recipients", query: "category=renewals&product=site",
		},
		{
			name: "audit",
			call: func(c *apiclient.Client) error {
				_, err := c.AuditLog(ctx, hostaccess.AuditQuery{AccountID: "acme", Limit: 10})
				return err
			},
			method: "GET", path: "/v1/accounts/acme/audit", query: "limit=10",
		},
		{
			name: "reach, a page",
			call: func(c *apiclient.Client) error {
				_, err := c.ReachPage(ctx, "agency", "", 20)
				return err
			},
			method: "GET", path: "/v1/users/agency/reach", query: "limit=20",
		},
		{
			name: "who-can, a page",
			call: func(c *apiclient.Client) error {
				_, err := c.WhoCanPage(ctx, "account:acme", "pay_invoices", "abc", 50)
				return err
			},
			method: "GET", path: "/v1/who-can", query: "cursor=abc&limit=50&permission=pay_invoices&resource=account%3Aacme",
		},
		{
			name: "why denied",
			call: func(c *apiclient.Client) error {
				_, err := c.WhyDenied(ctx, hostaccess.Check{Resource: "account:acme", Permission: "pay_invoices", Subject: "user:carol"})
				return err
			},
			method: "POST", path: "/v1/why-denied",
			body: map[string]any{"resource": "account:acme", "permission": "pay_invoices", "subject": "user:carol"},
		},
		{
			name: "expiring",
			call: func(c *apiclient.Client) error {
				_, err := c.Expiring(ctx, "acme", 14)
				return err
			},
			method: "GET", path: "/v1/accounts/acme/expiring", query: "days=14",
		},
		{
			name: "access review",
			call: func(c *apiclient.Client) error {
				_, err := c.AccessReview(ctx, "acme", hostaccess.ReviewFilter{ExpiringWithinDays: 30, Delegation: true})
				return err
			},
			method: "GET", path: "/v1/accounts/acme/review", query: "delegation=true&expiring_within_days=30",
		},
		{
			name: "access review as CSV",
			call: func(c *apiclient.Client) error {
				_, err := c.AccessReviewDocument(ctx, "acme", hostaccess.ReviewFilter{GrantedBeforeDays: 90}, "csv")
				return err
			},
			method: "GET", path: "/v1/accounts/acme/review", query: "format=csv&granted_before_days=90",
		},
		{
			name: "expiring, the server's default window",
			call: func(c *apiclient.Client) error {
				_, err := c.Expiring(ctx, "acme", 0)
				return err
			},
			method: "GET", path: "/v1/accounts/acme/expiring",
		},
		{
			name: "who can",
			call: func(c *apiclient.Client) error {
				_, err := c.WhoCan(ctx, "product:acme/shop", "manage")
				return err
			},
			method: "GET", path: "/v1/who-can", query: "permission=manage&resource=product%3Aacme%2Fshop",
		},
		{
			name: "accept",
			call: func(c *apiclient.Client) error {
				_, err := c.AcceptInvitation(ctx, "tok", hostaccess.Login{UserID: "carol", Email: "carol@example.com", EmailVerified: true})
				return err
			},
			method: "POST", path: "/v1/invitations/accept", noActor: true,
			body: map[string]any{"token": "tok", "user_id": "carol", "email": "carol@example.com", "email_verified": true},
		},
		{
			name: "request access",
			call: func(c *apiclient.Client) error {
				_, err := c.RequestAccess(ctx, "acme", hostaccess.AccessRequestInput{Access: hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}}, Reason: "invoices"})
				return err
			},
			method: "POST", path: "/v1/accounts/acme/requests",
			body: map[string]any{"access": map[string]any{"rights": []any{"billing"}, "technical": map[string]any{}, "view": map[string]any{}}, "reason": "invoices"},
		},
		{
			name: "pending requests",
			call: func(c *apiclient.Client) error {
				_, err := c.ListAccessRequests(ctx, "acme", "pending")
				return err
			},
			method: "GET", path: "/v1/accounts/acme/requests", query: "status=pending",
		},
		{
			name: "approve a request by its full id",
			call: func(c *apiclient.Client) error {
				_, err := c.ApproveAccessRequest(ctx, "acme/0123456789abcdef", "ok")
				return err
			},
			method: "POST", path: "/v1/accounts/acme/requests/0123456789abcdef/approve", body: map[string]any{"note": "ok"},
		},
		{
			name: "refuse a request",
			call: func(c *apiclient.Client) error {
				_, err := c.RefuseAccessRequest(ctx, "acme/0123456789abcdef", "")
				return err
			},
			method: "POST", path: "/v1/accounts/acme/requests/0123456789abcdef/refuse", body: map[string]any{},
		},
		{
			name: "check",
			call: func(c *apiclient.Client) error {
				_, err := c.Can(ctx, hostaccess.Check{Resource: "account:acme", Permission: "pay_invoices", Subject: "user:carol"}, "")
				return err
			},
			method: "POST", path: "/v1/check", noActor: true,
			body: map[string]any{"resource": "account:acme", "permission": "pay_invoices", "subject": "user:carol"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, seen := fakeServer(t, http.StatusOK, "application/json", `{}`)
			require.NoError(t, tt.call(apiclient.New(srv.URL, "secret", "service")))
			require.Len(t, *seen, 1)
			got := (*seen)[0]
			require.Equal(t, tt.method, got.method)
			require.Equal(t, tt.path, got.rawPath)
			require.Equal(t, tt.query, got.query)
			require.Equal(t, tt.body, got.body)
			require.Equal(t, "Bearer secret", got.auth)
			require.Equal(t, !tt.noActor, got.hasActor)
		})
	}
}

func TestDecodesAnswers(t *testing.T) {
	srv, _ := fakeServer(t, http.StatusOK, "application/json",
		`{"accounts":[{"id":"acme","name":"Acme","owner":false,"summary":"billing"}],"single":{"id":"acme","name":"Acme","owner":false,"summary":"billing"}}`)
	list, err := apiclient.New(srv.URL, "k", "service").SwitchAccounts(context.Background(), "carol")
	require.NoError(t, err)
	require.Len(t, list.Accounts, 1)
	require.NotNil(t, list.Single)
	require.Equal(t, "acme", list.Single.ID)
	require.Equal(t, "billing", list.Single.Summary)
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        apiclient.Problem
		message     string
	}{
		{
			name: "problem+json", status: http.StatusConflict, contentType: "application/problem+json",
			body:    `{"type":"https://hostaccess.dev/problems/last_owner","title":"Last owner","status":409,"detail":"alice is the last owner of acme","code":"last_owner"}`,
			want:    apiclient.Problem{Type: "https://hostaccess.dev/problems/last_owner", Status: 409, Code: "last_owner", Title: "Last owner", Detail: "alice is the last owner of acme"},
			message: "alice is the last owner of acme (last_owner)",
		},
		{
			name: "no detail: the title", status: http.StatusUnauthorized, contentType: "application/problem+json",
			body:    `{"title":"Unauthenticated","status":401,"code":"unauthenticated"}`,
			want:    apiclient.Problem{Status: 401, Code: "unauthenticated", Title: "Unauthenticated"},
			message: "Unauthenticated (unauthenticated)",
		},
		{
			name: "plain text from a router", status: http.StatusNotFound, contentType: "text/plain; charset=utf-8",
			body:    "404 page not found\n",
			want:    apiclient.Problem{Status: 404, Title: "Not Found", Detail: "404 page not found"},
			message: "404 page not found (HTTP 404)",
		},
		{
			name: "html from a proxy", status: http.StatusBadGateway, contentType: "text/html",
			body:    "<html><body>Bad gateway</body></html>",
			want:    apiclient.Problem{Status: 502, Title: "Bad Gateway"},
			message: "Bad Gateway (HTTP 502)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := fakeServer(t, tt.status, tt.contentType, tt.body)
			_, err := apiclient.New(srv.URL, "k", "service").RemoveMember(context.Background(), "acme", "alice")
			var p *apiclient.Problem
			require.True(t, errors.As(err, &p), "error %v is not a *Problem", err)
			require.Equal(t, tt.want, *p)
			require.EqualError(t, err, tt.message)
			require.Equal(t, tt.want.Code, apiclient.Code(err))
		})
	}
}

func TestUnreachableServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()

	_, err := apiclient.New(url, "k", "service").ListProducts(context.Background(), "acme")
	require.Error(t, err)
	require.Contains(t, err.Error(), "cannot reach hostaccess at "+url+": ")
	require.Empty(t, apiclient.Code(err))
}

func TestUnreadableAnswer(t *testing.T) {
	srv, _ := fakeServer(t, http.StatusOK, "application/json", `not json`)
	_, err := apiclient.New(srv.URL, "k", "service").ListMembers(context.Background(), "acme")
	require.ErrorContains(t, err, "unreadable JSON")
}
