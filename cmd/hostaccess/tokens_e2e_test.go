package main_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/structpb"
)

// TestTokensThroughHTTPAndTheSpiceDBAPI: a token created over HTTP is
// answered the same by /v1/tokens/check, by the served SpiceDB API
// (authzed-go, with the caveat context) and by `hostaccess check`.
func TestTokensThroughHTTPAndTheSpiceDBAPI(t *testing.T) {
	s := startServer(t, "--grpc-preshared-key", testKey, "--api-keys", "panel="+apiKey, "--bootstrap", "../../testdata/demo.yaml")
	c := s.client(t)

	// Carol (billing on acme in the demo) creates a token for the office network.
	status, out := s.call(t, "POST", "/v1/accounts/acme/tokens", "user:carol", map[string]any{
		"name": "invoice export", "rights": []string{"billing"}, "allowed_cidrs": []string{"10.0.0.0/8"},
		"expires_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
	})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	secret := out["secret"].(string)
	id := out["token"].(map[string]any)["id"].(string)
	require.True(t, strings.HasPrefix(secret, "hat_"))

	ask := func(permission string, caveats map[string]any) *v1.CheckPermissionResponse {
		t.Helper()
		req := &v1.CheckPermissionRequest{
			Resource:    parseObject("account:acme"),
			Permission:  permission,
			Subject:     &v1.SubjectReference{Object: parseObject("token:" + id)},
			Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
		}
		if caveats != nil {
			st, err := structpb.NewStruct(caveats)
			require.NoError(t, err)
			req.Context = st
		}
		resp, err := c.CheckPermission(context.Background(), req)
		require.NoError(t, err)
		return resp
	}
	// The SpiceDB API: the token_ permission, with the client's address.
	require.Equal(t, v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION, ask("token_pay_invoices", map[string]any{"client_ip": "10.1.2.3"}).GetPermissionship())
	resp := ask("token_pay_invoices", nil)
	require.Equal(t, v1.CheckPermissionResponse_PERMISSIONSHIP_CONDITIONAL_PERMISSION, resp.GetPermissionship())
	require.Equal(t, []string{"client_ip"}, resp.GetPartialCaveatInfo().GetMissingRequiredContext())
	require.Equal(t, v1.CheckPermissionResponse_PERMISSIONSHIP_NO_PERMISSION, ask("token_pay_invoices", map[string]any{"client_ip": "192.0.2.1"}).GetPermissionship())
	require.Equal(t, v1.CheckPermissionResponse_PERMISSIONSHIP_NO_PERMISSION, ask("pay_invoices", map[string]any{"client_ip": "10.1.2.3"}).GetPermissionship(),
		"no plain permission holds for a token")
	require.Equal(t, v1.CheckPermissionResponse_PERMISSIONSHIP_NO_PERMISSION, ask("token_manage_users", map[string]any{"client_ip": "10.1.2.3"}).GetPermissionship())

	// The CLI asks the token_ counterpart itself; exit 0 allowed, 1 denied, 3 conditional.
	res := s.cli(t, "", "check", "account:acme", "pay_invoices", "token:"+id, "--client-ip", "10.1.2.3")
	require.Equal(t, 0, res.code, res.stderr)
	require.Equal(t, "allowed: token:"+id+" pay_invoices account:acme (asked as token_pay_invoices)\n", res.stdout)
	res = s.cli(t, "", "check", "account:acme", "pay_invoices", "token:"+id)
	require.Equal(t, 3, res.code, res.stderr)
	require.Contains(t, res.stdout, "conditional: token:"+id)
	require.Contains(t, res.stdout, "missing context client_ip")
	res = s.cli(t, "", "check", "account:acme", "pay_invoices", "token:"+id, "--context", "client_ip=192.0.2.1")
	require.Equal(t, 1, res.code, res.stderr)
	// A person's check is unchanged.
	res = s.cli(t, "", "check", "account:acme", "pay_invoices", "user:carol", "--client-ip", "192.0.2.1")
	require.Equal(t, 0, res.code, res.stderr)

	// The panel's call with the secret agrees.
	status, out = s.call(t, "POST", "/v1/tokens/check", "", map[string]any{"secret": secret, "resource": "account:acme", "permission": "pay_invoices", "context": map[string]any{"client_ip": "10.1.2.3"}})
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, true, out["allowed"])
	require.Equal(t, "token:"+id, out["subject"])

	// Revoked: denied on every path at once, and the secret never reached the log.
	status, out = s.call(t, "DELETE", "/v1/accounts/acme/tokens/"+strings.TrimPrefix(id, "acme/"), "user:carol", nil)
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, v1.CheckPermissionResponse_PERMISSIONSHIP_NO_PERMISSION, ask("token_pay_invoices", map[string]any{"client_ip": "10.1.2.3"}).GetPermissionship())
	status, out = s.call(t, "POST", "/v1/tokens/check", "", map[string]any{"secret": secret, "resource": "account:acme", "permission": "pay_invoices", "context": map[string]any{"client_ip": "10.1.2.3"}})
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, false, out["allowed"])
	require.NotContains(t, s.logs.String(), secret)
}
