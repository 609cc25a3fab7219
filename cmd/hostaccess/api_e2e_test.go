package main_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/testutil"
)

const apiKey = "panel-key-0123456789"

// call sends one JSON request to the served API and decodes the answer.
func (s *server) call(t *testing.T, method, path, actor string, body any) (int, map[string]any) {
	t.Helper()
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+s.httpAddr+path, reader)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	if actor != "" {
		req.Header.Set("X-Hostaccess-Actor", actor)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := map[string]any{}
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), "body: %s", raw)
	}
	return resp.StatusCode, out
}

func (s *server) allowed(t *testing.T, resource, permission, subject string) bool {
	t.Helper()
	status, out := s.call(t, "POST", "/v1/check", "", map[string]any{"resource": resource, "permission": permission, "subject": subject})
	require.Equal(t, http.StatusOK, status, "%v", out)
	return out["allowed"] == true
}

var linkPattern = regexp.MustCompile(`https://panel\.example\.com/invite/([0-9a-f]+)`)

// tokenFromMail finds the invitation link in a received message.
func tokenFromMail(t *testing.T, m testutil.Mail) string {
	t.Helper()
	text := strings.ReplaceAll(string(m.Data), "=\r\n", "") // quoted-printable soft breaks
	match := linkPattern.FindStringSubmatch(text)
	require.NotNil(t, match, "no invitation link in:\n%s", m.Data)
	return match[1]
}

// TestSeedStoryOverHTTP runs the seeds' story against a running serve, with
// invitations e-mailed through a real SMTP server.
func TestSeedStoryOverHTTP(t *testing.T) {
	mailServer := testutil.StartMailServer(t)
	s := startServer(t, "--grpc-preshared-key", testKey, "--api-keys", "panel="+apiKey,
		"--invite-url-template", "https://panel.example.com/invite/{token}",
		"--smtp-url", "smtp+insecure://"+mailServer.Addr, "--smtp-from", "no-reply@nordhost.test")

	status, out := s.call(t, "POST", "/v1/accounts", "service", map[string]any{"id": "acme", "name": "Acme", "owner_id": "alice", "owner_email": "alice@acme.test"})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	for _, p := range []map[string]any{{"name": "site", "tags": []string{"client-x"}}, {"name": "shop"}} {
		status, out = s.call(t, "POST", "/v1/accounts/acme/products", "service", p)
		require.Equal(t, http.StatusCreated, status, "%v", out)
	}

	// The owner invites an accountant for invoices only; the link is e-mailed.
	status, out = s.call(t, "POST", "/v1/accounts/acme/invitations", "user:alice", map[string]any{"email": "carol@example.com", "access": map[string]any{"rights": []string{"billing"}}})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	require.Equal(t, true, out["emailed"], "%v", out)
	var mails []testutil.Mail
	require.Eventually(t, func() bool { mails = mailServer.Received(); return len(mails) == 1 }, 5*time.Second, 50*time.Millisecond)
	require.Equal(t, []string{"carol@example.com"}, mails[0].To)
	token := tokenFromMail(t, mails[0])
	require.Equal(t, out["token"], token, "the inviter's copy and the e-mail carry the same link")

	// The accountant accepts, switches accounts (one: straight to it) and pays.
	status, out = s.call(t, "POST", "/v1/invitations/accept", "", map[string]any{"token": token, "user_id": "carol", "email": "carol@example.com", "email_verified": true})
	require.Equal(t, http.StatusOK, status, "%v", out)
	status, out = s.call(t, "GET", "/v1/users/carol/accounts", "user:carol", nil)
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, "acme", out["single"].(map[string]any)["id"])
	require.True(t, s.allowed(t, "account:acme", "pay_invoices", "user:carol"))
	require.False(t, s.allowed(t, "product:acme/site", "manage", "user:carol"))

	// A developer gets the tagged site.
	status, out = s.call(t, "POST", "/v1/accounts/acme/invitations", "user:alice", map[string]any{"email": "dave@example.com", "access": map[string]any{"technical": map[string]any{"tags": []string{"client-x"}}}})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	status, out = s.call(t, "POST", "/v1/invitations/accept", "", map[string]any{"token": out["token"], "user_id": "dave", "email": "dave@example.com", "email_verified": true})
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.True(t, s.allowed(t, "product:acme/site", "manage", "user:dave"))
	require.False(t, s.allowed(t, "product:acme/shop", "manage", "user:dave"))

	// The auditor asks who can manage the site, and why.
	status, out = s.call(t, "GET", "/v1/who-can?resource=product:acme/site&permission=manage", "user:alice", nil)
	require.Equal(t, http.StatusOK, status, "%v", out)
	holders := map[string]any{}
	for _, h := range out["holders"].([]any) {
		hm := h.(map[string]any)
		holders[hm["subject"].(string)] = hm["reasons"]
	}
	require.Contains(t, holders, "user:alice")
	require.Equal(t, []any{"tag:acme/client-x#technician"}, holders["user:dave"])

	// The owner revokes the accountant: denied at once.
	status, out = s.call(t, "DELETE", "/v1/accounts/acme/members/carol", "user:alice", nil)
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.False(t, s.allowed(t, "account:acme", "pay_invoices", "user:carol"))

	// Refusals come back as problem+json with stable codes.
	status, out = s.call(t, "DELETE", "/v1/accounts/acme/members/alice", "user:alice", nil)
	require.Equal(t, http.StatusConflict, status)
	require.Equal(t, "last_owner", out["code"])
	status, out = s.call(t, "POST", "/v1/accounts/acme/invitations", "user:dave", map[string]any{"email": "x@example.com", "access": map[string]any{}})
	require.Equal(t, http.StatusForbidden, status)
	require.Equal(t, "forbidden", out["code"])

	// The audit log recorded every change with its actor.
	status, out = s.call(t, "GET", "/v1/accounts/acme/audit", "user:alice", nil)
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.GreaterOrEqual(t, len(out["entries"].([]any)), 7)

	// The OpenAPI document is served.
	resp, err := http.Get("http://" + s.httpAddr + "/openapi.json")
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestServeRefusesBadAPIConfiguration(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"short key":         {[]string{"--api-keys", "panel=short"}, "at least 16 characters"},
		"no name":           {[]string{"--api-keys", "0123456789abcdef0"}, "--api-keys wants NAME=KEY"},
		"smtp without from": {[]string{"--smtp-url", "smtp://mail.test:587", "--invite-url-template", "https://p.test/i/{token}"}, "--smtp-from is required"},
		"template no token": {[]string{"--invite-url-template", "https://p.test/invite"}, "{token}"},
	} {
		t.Run(name, func(t *testing.T) {
			res := run(t, "", append([]string{"serve", "--grpc-preshared-key", testKey}, tc.args...)...)
			require.Equal(t, 2, res.code)
			require.Contains(t, res.stderr, tc.want)
			require.NotContains(t, res.stderr, "short", "keys are never echoed")
		})
	}
}
