package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// The request commands against the real stack: dave asks, bob (who manages
// users but lacks billing) cannot approve, alice approves one and refuses
// another, and dave's access shows it.
func TestAccessRequestCommands(t *testing.T) {
	st := startAPI(t)
	st.ok(t, "account", "create", "acme", "--owner", "alice", "--owner-email", "alice@acme.example", "--actor", "service")
	st.ok(t, "product", "add", "acme", "shop", "--actor", "service")
	for _, m := range []struct{ user, right string }{{"dave", "support"}, {"bob", "user_management"}} {
		var link hostaccess.InvitationLink
		require.NoError(t, json.Unmarshal([]byte(st.ok(t, "invite", "create", "acme", m.user+"@example.com", "--right", m.right, "--actor", "user:alice", "-o", "json")), &link))
		st.ok(t, "invite", "accept", link.Token, "--user", m.user, "--email", m.user+"@example.com", "--email-verified")
	}

	out := st.ok(t, "request", "create", "acme", "--right", "billing", "--product", "shop", "--reason", "I now handle the invoices", "--actor", "user:dave")
	require.Regexp(t, `(?m)^request:\s+acme/[0-9a-f]{16}$`, out)
	require.Regexp(t, `(?m)^access:\s+billing, technical: product shop$`, out)
	require.Regexp(t, `(?m)^status:\s+pending$`, out)
	id := strings.Fields(lineWith(t, out, "request:"))[1]
	var other wire.AccessRequestChange
	require.NoError(t, json.Unmarshal([]byte(st.ok(t, "request", "create", "acme", "--right", "domains", "--reason", "renewals", "--actor", "user:dave", "-o", "json")), &other))

	list := st.ok(t, "request", "list", "acme", "--status", "pending", "--actor", "user:alice")
	require.Regexp(t, `(?m)^ID\s+USER\s+STATUS\s+ACCESS\s+REASON\s+EXPIRES\s+DECIDED BY\s*$`, list)
	require.Contains(t, lineWith(t, list, id), "I now handle the invoices")
	require.Contains(t, lineWith(t, list, other.Request.ID), "renewals")
	st.refused(t, "forbidden", "request", "list", "acme", "--actor", "user:mallory")
	st.refused(t, "owner_holds_every_right", "request", "create", "acme", "--right", "billing", "--reason", "r", "--actor", "user:alice")

	st.refused(t, "escalation", "request", "approve", id, "--actor", "user:bob")
	st.refused(t, "forbidden", "request", "approve", id, "--actor", "user:dave")
	require.Equal(t, "request "+id+" approved: billing, technical: product shop for dave\n",
		st.ok(t, "request", "approve", id, "--note", "for the Q3 audit", "--actor", "user:alice"))
	st.refused(t, "request_not_pending", "request", "refuse", id, "--actor", "user:alice")
	require.Equal(t, "request "+other.Request.ID+" refused: domains for dave\n",
		st.ok(t, "request", "refuse", other.Request.ID, "--note", "ask the owner", "--actor", "user:bob"))

	members := st.ok(t, "member", "list", "acme", "--actor", "user:alice")
	require.Contains(t, lineWith(t, members, "dave"), "billing, support, technical: product shop")
	mine := st.ok(t, "request", "list", "acme", "--actor", "user:dave")
	require.Contains(t, lineWith(t, mine, id), "approved")
	require.Contains(t, lineWith(t, mine, id), "user:alice")
	require.Contains(t, lineWith(t, mine, other.Request.ID), "refused")

	audit := st.ok(t, "audit", "acme", "--actor", "user:alice")
	for _, flow := range []string{"request_access", "approve_request", "refuse_request"} {
		require.Contains(t, audit, flow)
	}
}
