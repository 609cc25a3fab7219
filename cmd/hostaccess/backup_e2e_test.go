package main_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/testutil"
)

// TestFullBackupRoundTripOnPostgres exports a Postgres deployment (schema,
// relationships and directory) and imports it into an empty database: the
// restored deployment gives the same answers and the same listings.
func TestFullBackupRoundTripOnPostgres(t *testing.T) {
	source, target := testutil.PostgresDatabase(t), testutil.PostgresDatabase(t)
	pgFlags := func(uri string) []string {
		return []string{"--datastore-engine", "postgres", "--datastore-conn-uri", uri, "--grpc-preshared-key", testKey, "--api-keys", "panel=" + apiKey}
	}

	src := startServer(t, pgFlags(source)...)
	status, out := src.call(t, "POST", "/v1/accounts", "service", map[string]any{"id": "acme", "name": "Acme", "owner_id": "alice", "owner_email": "alice@acme.test"})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	status, out = src.call(t, "POST", "/v1/accounts/acme/products", "service", map[string]any{"name": "site", "tags": []string{"client-x"}})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	status, out = src.call(t, "POST", "/v1/accounts/acme/invitations", "user:alice", map[string]any{"email": "carol@example.com", "access": map[string]any{"rights": []string{"billing"}}})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	status, out = src.call(t, "POST", "/v1/invitations/accept", "", map[string]any{"token": out["token"], "user_id": "carol", "email": "carol@example.com", "email_verified": true})
	require.Equal(t, http.StatusOK, status, "%v", out)
	status, out = src.call(t, "POST", "/v1/accounts/acme/invitations", "user:alice", map[string]any{"email": "dave@example.com", "access": map[string]any{"technical": map[string]any{"tags": []string{"client-x"}}}})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	pendingToken := out["token"]
	status, out = src.call(t, "POST", "/v1/accounts/acme/contacts", "user:alice", map[string]any{"name": "Accounting", "email": "compta@acme.test", "notifications": []string{"billing"}})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	require.Equal(t, 0, src.stop(t))

	file := filepath.Join(t.TempDir(), "backup.yaml")
	res := run(t, "", "export", "--datastore-engine", "postgres", "--datastore-conn-uri", source, "--file", file)
	require.Equal(t, 0, res.code, res.stderr)
	require.Contains(t, res.stderr, "the schema, the directory and")
	res = run(t, "", "import", "--datastore-engine", "postgres", "--datastore-conn-uri", target, file)
	require.Equal(t, 0, res.code, res.stderr)
	require.Contains(t, res.stdout, "and the directory")

	// A second restore into the now non-empty database is refused.
	res = run(t, "", "import", "--datastore-engine", "postgres", "--datastore-conn-uri", target, file)
	require.Equal(t, 2, res.code)
	require.Contains(t, res.stderr, "not empty")

	src = startServer(t, pgFlags(source)...)
	dst := startServer(t, pgFlags(target)...)
	for _, path := range []string{"/v1/accounts/acme/members", "/v1/accounts/acme/invitations", "/v1/accounts/acme/contacts", "/v1/accounts/acme/products", "/v1/accounts/acme/audit"} {
		s1, a := src.call(t, "GET", path, "user:alice", nil)
		s2, b := dst.call(t, "GET", path, "user:alice", nil)
		require.Equal(t, http.StatusOK, s1, "%v", a)
		require.Equal(t, http.StatusOK, s2, "%v", b)
		require.Equal(t, withoutTokens(a), withoutTokens(b), path)
	}
	for _, q := range [][3]string{
		{"account:acme", "pay_invoices", "user:carol"},
		{"product:acme/site", "manage", "user:carol"},
		{"account:acme", "close", "user:alice"},
		{"account:acme", "receive_billing_notices", "user:alice"},
	} {
		require.Equal(t, src.allowed(t, q[0], q[1], q[2]), dst.allowed(t, q[0], q[1], q[2]), "%v", q)
	}
	// The restored pending invitation still works, once.
	status, out = dst.call(t, "POST", "/v1/invitations/accept", "", map[string]any{"token": pendingToken, "user_id": "dave", "email": "dave@example.com", "email_verified": true})
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.True(t, dst.allowed(t, "product:acme/site", "manage", "user:dave"))
}

// withoutTokens drops revision tokens, which differ between databases.
func withoutTokens(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range t {
			if strings.Contains(k, "token") {
				continue
			}
			out[k] = withoutTokens(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = withoutTokens(x)
		}
		return out
	}
	return v
}
