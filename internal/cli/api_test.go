package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/hostaccess/hostaccess/internal/api"
	"github.com/hostaccess/hostaccess/internal/cli"
	"github.com/hostaccess/hostaccess/internal/teststack"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// apiStack is the real stack in-process: embedded SpiceDB, memory
// directory, the HTTP handler, and a count of the requests it received.
type apiStack struct {
	url      string
	requests atomic.Int64
}

func startAPI(t *testing.T) *apiStack {
	t.Helper()
	svc, _ := teststack.NewService(t, nil)
	st := &apiStack{}
	handler := api.NewHandler(svc, map[string]string{"k": "panel"}, zap.NewNop())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.requests.Add(1)
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	st.url = srv.URL
	return st
}

// result is what one command line did.
type result struct {
	code        int
	out, errOut string
}

// run executes hostaccess with args against the stack, with the API key.
func (st *apiStack) run(t *testing.T, args ...string) result {
	t.Helper()
	return runCLI(t, append(args, "--api-url", st.url, "--api-key", "k")...)
}

func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(context.Background(), args, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

// ok runs a command that must succeed and returns its standard output.
func (st *apiStack) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := st.run(t, args...)
	require.Equal(t, cli.ExitOK, r.code, "hostaccess %s: stderr %q", strings.Join(args, " "), r.errOut)
	require.Empty(t, r.errOut)
	return r.out
}

// refused runs a command the server must refuse with code, and returns
// the error line.
func (st *apiStack) refused(t *testing.T, code string, args ...string) string {
	t.Helper()
	r := st.run(t, args...)
	require.Equal(t, cli.ExitError, r.code, "hostaccess %s: stdout %q", strings.Join(args, " "), r.out)
	require.Empty(t, r.out)
	require.True(t, strings.HasPrefix(r.errOut, "error: "), r.errOut)
	require.True(t, strings.HasSuffix(r.errOut, " ("+code+")\n"), "want code %s, got %q", code, r.errOut)
	require.Equal(t, 1, strings.Count(r.errOut, "\n"), "one line on stderr: %q", r.errOut)
	return r.errOut
}

// lineWith returns the one line of out containing all of parts.
func lineWith(t *testing.T, out string, parts ...string) string {
	t.Helper()
	var found []string
	for line := range strings.Lines(out) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			found = append(found, line)
		}
	}
	require.Len(t, found, 1, "lines with %q in:\n%s", parts, out)
	return found[0]
}

func TestSeedsStory(t *testing.T) {
	st := startAPI(t)

	// The provider's platform creates the account and its products.
	require.Equal(t, "account acme created, owned by alice\n",
		st.ok(t, "account", "create", "acme", "--owner", "alice", "--owner-email", "alice@acme.example", "--name", "Acme Ltd", "--actor", "service"))
	require.Equal(t, "product acme/site added\n", st.ok(t, "product", "add", "acme", "site", "--tag", "client-x", "--actor", "service"))
	st.ok(t, "product", "add", "acme", "shop", "--tag", "client-x", "--group", "web", "--actor", "service")
	products := st.ok(t, "product", "list", "acme", "--actor", "service")
	require.Regexp(t, `(?m)^NAME\s+ID\s+GROUPS\s+TAGS\s*$`, products)
	require.Regexp(t, `(?m)^site\s+acme/site\s+-\s+client-x\s*$`, products)
	require.Regexp(t, `(?m)^shop\s+acme/shop\s+web\s+client-x\s*$`, products)

	// Alice invites Carol for billing; the link goes to carol@example.com.
	var link hostaccess.InvitationLink
	require.NoError(t, json.Unmarshal([]byte(st.ok(t,
		"invite", "create", "acme", "carol@example.com", "--right", "billing", "--actor", "user:alice", "--output", "json")), &link))
	require.NotEmpty(t, link.Token)
	require.Equal(t, "carol@example.com", link.Invitation.Email)
	require.Equal(t, []hostaccess.Right{hostaccess.RightBilling}, link.Invitation.Access.Rights)
	invitations := st.ok(t, "invite", "list", "acme", "--actor", "user:alice")
	require.Contains(t, lineWith(t, invitations, link.Invitation.ID), "pending")

	// A bad flag value is refused by the command line: the server never hears of it.
	before := st.requests.Load()
	r := st.run(t, "invite", "create", "acme", "dave@example.com", "--right", "everything", "--actor", "user:alice")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.errOut, `error: invalid --right "everything"`)
	r = st.run(t, "invite", "create", "acme", "dave@example.com", "--expires", "next week", "--actor", "user:alice")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.errOut, `error: invalid --expires "next week"`)
	require.Equal(t, before, st.requests.Load())

	// Someone else's login cannot use Carol's link; Carol's can.
	st.refused(t, "email_mismatch", "invite", "accept", link.Token, "--user", "mallory", "--email", "mallory@example.com", "--email-verified")
	st.refused(t, "email_not_verified", "invite", "accept", link.Token, "--user", "carol", "--email", "carol@example.com")
	require.Equal(t, "carol joined acme: billing\n",
		st.ok(t, "invite", "accept", link.Token, "--user", "carol", "--email", "carol@example.com", "--email-verified", "--display-name", "Carol"))
	st.refused(t, "invitation_used", "invite", "accept", link.Token, "--user", "carol", "--email", "carol@example.com", "--email-verified")

	// Carol has one account: the panel takes her straight to it.
	single := st.ok(t, "accounts", "carol", "--actor", "user:carol")
	require.Regexp(t, `(?m)^single account:\s+acme$`, single)
	require.Regexp(t, `(?m)^rights:\s+billing$`, single)
	st.refused(t, "forbidden", "accounts", "carol", "--actor", "user:alice")

	members := st.ok(t, "member", "list", "acme", "--actor", "user:alice")
	require.Regexp(t, `(?m)^USER\s+EMAIL\s+NAME\s+ROLE\s+ACCESS\s*$`, members)
	require.Regexp(t, `(?m)^alice\s+alice@acme\.example\s+-\s+owner\s+owner: every right\s*$`, members)
	require.Regexp(t, `(?m)^carol\s+carol@example\.com\s+Carol\s+member\s+billing\s*$`, members)

	// Alice makes Carol a user manager; Carol grants nothing she lacks, and
	// does not raise her own rights.
	require.Equal(t, "carol on acme: billing, user_management\n",
		st.ok(t, "member", "set", "acme", "carol", "--right", "billing,user_management", "--actor", "user:alice"))
	st.refused(t, "escalation", "invite", "create", "acme", "dave@example.com", "--right", "domains", "--actor", "user:carol")
	st.refused(t, "escalation", "member", "set", "acme", "carol", "--right", "billing", "--right", "user_management", "--right", "support", "--actor", "user:carol")
	// Narrowing takes effect at once.
	st.ok(t, "member", "set", "acme", "carol", "--right", "billing", "--actor", "user:alice")
	narrowed := lineWith(t, st.ok(t, "member", "list", "acme", "--actor", "service"), "carol")
	require.Regexp(t, `member\s+billing\s*$`, narrowed)
	st.refused(t, "forbidden", "invite", "create", "acme", "dave@example.com", "--right", "billing", "--actor", "user:carol")

	// The account can never lose its last owner.
	errLine := st.refused(t, "last_owner", "member", "remove", "acme", "alice", "--actor", "service")
	require.Contains(t, errLine, "alice is the last owner of acme")

	// A contact receives billing notices, next to the owner.
	added := st.ok(t, "contact", "add", "acme", "--name", "Bob Books", "--email", "Bob@Acme.example", "--notify", "billing", "--actor", "user:alice")
	require.Regexp(t, `^contact acme/\S+ added to acme\n$`, added)
	contactID := strings.Fields(added)[1]
	require.Regexp(t, `(?m)^`+contactID+`\s+Bob Books\s+bob@acme\.example\s+-\s+billing\s+no\s*$`, st.ok(t, "contact", "list", "acme", "--actor", "service"))
	recipients := st.ok(t, "recipients", "acme", "billing", "--actor", "service")
	require.Regexp(t, `(?m)^KIND\s+ID\s+NAME\s+EMAIL\s*$`, recipients)
	require.Regexp(t, `(?m)^user\s+alice\s+-\s+alice@acme\.example\s*$`, recipients)
	require.Regexp(t, `(?m)^contact\s+`+contactID+`\s+Bob Books\s+bob@acme\.example\s*$`, recipients)
	require.NotContains(t, recipients, "carol", "a billing right is not a billing subscription")

	// Editing changes only what is given. (A short id works too, but a
	// random one may start with "-": the full id is safe on a command line.)
	require.Equal(t, "contact "+contactID+" updated\n", st.ok(t, "contact", "edit", "acme", contactID, "--notify", "renewals", "--support", "--actor", "service"))
	require.Regexp(t, `(?m)^`+contactID+`\s+Bob Books\s+bob@acme\.example\s+-\s+renewals\s+yes\s*$`, st.ok(t, "contact", "list", "acme", "--actor", "service"))
	require.NotContains(t, st.ok(t, "recipients", "acme", "billing", "--actor", "service"), "Bob")

	// Who can manage the shop: the owner, and Carol once her scope holds the tag.
	st.ok(t, "member", "set", "acme", "carol", "--right", "billing", "--tag", "client-x", "--actor", "user:alice")
	whoCan := st.ok(t, "who-can", "product:acme/shop", "manage", "--actor", "user:alice")
	require.Regexp(t, `(?m)^SUBJECT\s+THROUGH\s*$`, whoCan)
	require.Regexp(t, `(?m)^user:alice\s+account:acme#owner\s*$`, whoCan)
	require.Regexp(t, `(?m)^user:carol\s+tag:acme/client-x#`, whoCan)
	var holders struct {
		Holders []hostaccess.Holder `json:"holders"`
	}
	require.NoError(t, json.Unmarshal([]byte(st.ok(t, "who-can", "product:acme/shop", "manage", "-o", "json", "--actor", "service")), &holders))
	require.Len(t, holders.Holders, 2)
	// Untagging removes that reach at once.
	require.Equal(t, "product acme/shop no longer tagged client-x\n", st.ok(t, "product", "untag", "acme", "shop", "client-x", "--actor", "service"))
	require.NotContains(t, st.ok(t, "who-can", "product:acme/shop", "manage", "--actor", "service"), "carol")

	// Removing Carol ends her access; she has no account left to switch to.
	require.Equal(t, "carol removed from acme\n", st.ok(t, "member", "remove", "acme", "carol", "--actor", "user:alice"))
	require.NotContains(t, st.ok(t, "member", "list", "acme", "--actor", "service"), "carol")
	var switchList hostaccess.SwitchList
	require.NoError(t, json.Unmarshal([]byte(st.ok(t, "accounts", "carol", "-o", "json", "--actor", "service")), &switchList))
	require.Empty(t, switchList.Accounts)
	require.Nil(t, switchList.Single)

	// The audit log has it all, newest first.
	audit := st.ok(t, "audit", "acme", "--limit", "2", "--actor", "user:alice")
	require.Regexp(t, `(?m)^SEQ\s+TIME\s+ACCOUNT\s+ACTOR\s+FLOW\s+TARGET\s*$`, audit)
	require.Len(t, strings.Split(strings.TrimSpace(audit), "\n"), 3)
	require.Regexp(t, `(?m)^\d+\s+\S+\s+acme\s+user:alice\s+remove_member\s+user:carol\s*$`, strings.Split(audit, "\n")[1])
	require.Regexp(t, `(?m)^\d+\s+\S+\s+acme\s+service:panel\s+tag_product\s+product:acme/shop\s*$`, strings.Split(audit, "\n")[2])
}

func TestInvitationLifecycle(t *testing.T) {
	st := startAPI(t)
	st.ok(t, "account", "create", "acme", "--owner", "alice", "--actor", "service")
	st.ok(t, "product", "add", "acme", "site", "--actor", "service")

	// The table shows the link to send.
	// An expiry within the 10 years a grant may run.
	until := time.Now().UTC().AddDate(1, 0, 0).Truncate(time.Second).Format(time.RFC3339)
	created := st.ok(t, "invite", "create", "acme", "dave@example.com", "--product", "site", "--view-product", "site", "--expires", until, "--actor", "service")
	require.Regexp(t, `(?m)^access:\s+technical: product site, view: product site \(until `+until+`\)$`, created)
	token := strings.TrimSpace(strings.TrimPrefix(lineWith(t, created, "token:"), "token:"))
	require.Regexp(t, `(?m)^url:\s+https://panel\.example\.com/invite/`+token+`$`, created)
	first := strings.TrimSpace(strings.TrimPrefix(lineWith(t, created, "invitation:"), "invitation:"))

	// A new link replaces the old one.
	var regenerated hostaccess.InvitationLink
	require.NoError(t, json.Unmarshal([]byte(st.ok(t, "invite", "regenerate", first, "-o", "json", "--actor", "service")), &regenerated))
	require.NotEqual(t, token, regenerated.Token)
	st.refused(t, "invitation_regenerated", "invite", "accept", token, "--user", "dave", "--email", "dave@example.com", "--email-verified")

	require.Equal(t, "invitation "+regenerated.Invitation.ID+" revoked\n", st.ok(t, "invite", "revoke", regenerated.Invitation.ID, "--actor", "service"))
	st.refused(t, "invitation_revoked", "invite", "accept", regenerated.Token, "--user", "dave", "--email", "dave@example.com", "--email-verified")
	st.refused(t, "invitation_revoked", "invite", "revoke", regenerated.Invitation.ID, "--actor", "service")
	list := st.ok(t, "invite", "list", "acme", "--actor", "service")
	require.Contains(t, lineWith(t, list, first), "superseded")
	require.Contains(t, lineWith(t, list, regenerated.Invitation.ID), "revoked")

	var invitations struct {
		Invitations []hostaccess.Invitation `json:"invitations"`
	}
	require.NoError(t, json.Unmarshal([]byte(st.ok(t, "invite", "list", "acme", "--output", "json", "--actor", "service")), &invitations))
	require.Len(t, invitations.Invitations, 2)
}

func TestAccountAdministration(t *testing.T) {
	st := startAPI(t)
	st.ok(t, "account", "create", "acme", "--owner", "alice", "--actor", "service")
	st.ok(t, "account", "create", "nordacme", "--owner", "erin", "--host", "nordhost", "--delegated", "--actor", "service")

	require.Equal(t, "account nordacme: delegation off\n", st.ok(t, "delegation", "off", "nordacme", "--actor", "service"))
	st.refused(t, "invalid_argument", "delegation", "on", "acme", "--actor", "service")
	require.Equal(t, "account acme: administrator cap set to 5\n", st.ok(t, "account", "admin-cap", "acme", "5", "--actor", "service"))
	require.JSONEq(t, `{"account_id":"acme","admin_cap":2}`, st.ok(t, "account", "admin-cap", "acme", "2", "-o", "json", "--actor", "service"))
	st.refused(t, "invalid_argument", "account", "admin-cap", "acme", "1000", "--actor", "service")

	// Ownership is handed over by the owner, to a member.
	var link hostaccess.InvitationLink
	require.NoError(t, json.Unmarshal([]byte(st.ok(t, "invite", "create", "acme", "fay@example.com", "--right", "support", "-o", "json", "--actor", "service")), &link))
	st.ok(t, "invite", "accept", link.Token, "--user", "fay", "--email", "fay@example.com", "--email-verified")
	st.refused(t, "invalid_argument", "account", "transfer", "acme", "--to", "fay", "--actor", "service")
	st.refused(t, "not_found", "account", "transfer", "acme", "--to", "gus", "--actor", "user:alice")
	require.Equal(t, "account acme now owned by fay\n", st.ok(t, "account", "transfer", "acme", "--to", "fay", "--actor", "user:alice"))
	require.Regexp(t, `(?m)^fay\s.*owner`, st.ok(t, "member", "list", "acme", "--actor", "service"))
	require.NotContains(t, st.ok(t, "member", "list", "acme", "--actor", "service"), "alice")

	st.refused(t, "forbidden", "account", "close", "acme", "--actor", "user:alice")
	require.Equal(t, "account acme closed\n", st.ok(t, "account", "close", "acme", "--actor", "user:fay"))
	st.refused(t, "not_found", "product", "list", "acme", "--actor", "service")

	st.refused(t, "conflict", "account", "create", "nordacme", "--owner", "zed", "--actor", "service")

	r := runCLI(t, "product", "list", "nordacme", "--api-url", st.url, "--api-key", "wrong", "--actor", "service")
	require.Equal(t, cli.ExitError, r.code)
	require.Equal(t, "error: send a configured API key as Authorization: Bearer <key> (unauthenticated)\n", r.errOut)
}

func TestProductCommands(t *testing.T) {
	st := startAPI(t)
	st.ok(t, "account", "create", "acme", "--owner", "alice", "--actor", "service")
	st.ok(t, "product", "add", "acme", "site", "--actor", "service")
	st.refused(t, "conflict", "product", "add", "acme", "site", "--actor", "service")

	require.Equal(t, "product acme/site tagged vip\n", st.ok(t, "product", "tag", "acme", "site", "vip", "--actor", "service"))
	require.Equal(t, "product acme/site now in group web\n", st.ok(t, "product", "group", "acme", "site", "web", "--actor", "service"))
	require.Regexp(t, `(?m)^site\s+acme/site\s+web\s+vip\s*$`, st.ok(t, "product", "list", "acme", "--actor", "service"))
	require.Equal(t, "product acme/site no longer in group web\n", st.ok(t, "product", "ungroup", "acme", "site", "web", "--actor", "service"))

	var products struct {
		Products []hostaccess.Product `json:"products"`
	}
	require.NoError(t, json.Unmarshal([]byte(st.ok(t, "product", "list", "acme", "-o", "json", "--actor", "service")), &products))
	require.Equal(t, []hostaccess.Product{{ID: "acme/site", Name: "site", Tags: []string{"vip"}}}, products.Products)

	require.Equal(t, "product acme/site removed\n", st.ok(t, "product", "remove", "acme", "site", "--actor", "service"))
	st.refused(t, "not_found", "product", "remove", "acme", "site", "--actor", "service")
	require.JSONEq(t, `{"products":[]}`, st.ok(t, "product", "list", "acme", "-o", "json", "--actor", "service"))
}

func TestMemberReview(t *testing.T) {
	st := startAPI(t)
	st.ok(t, "account", "create", "acme", "--owner", "alice", "--host", "nordhost", "--actor", "service")
	st.ok(t, "product", "add", "acme", "site", "--group", "web", "--actor", "service")
	ends := time.Now().UTC().Add(5 * 24 * time.Hour).Truncate(time.Second).Format(time.RFC3339)
	for _, m := range [][]string{{"carol", "--right", "billing", "--expires", ends}, {"dave", "--group", "web"}} {
		var link hostaccess.InvitationLink
		args := append([]string{"invite", "create", "acme", m[0] + "@example.com", "-o", "json", "--actor", "user:alice"}, m[1:]...)
		require.NoError(t, json.Unmarshal([]byte(st.ok(t, args...)), &link))
		st.ok(t, "invite", "accept", link.Token, "--user", m[0], "--email", m[0]+"@example.com", "--email-verified")
	}

	table := st.ok(t, "member", "review", "acme", "--actor", "user:alice")
	require.Regexp(t, `^USER\s+ROLE\s+RIGHT\s+SCOPE\s+HELD\s+GRANTED BY\s+GRANTED\s+ENDS\s+CONDITIONS\n`, table)
	require.Regexp(t, `alice\s+owner\s+billing\s+account\s+ownership\s+service:panel\s`, lineWith(t, table, "alice  owner", " billing "))
	require.Regexp(t, `carol\s+member\s+billing\s+account\s+direct\s+user:alice\s.*`+ends[:10], lineWith(t, table, "carol"))
	require.Regexp(t, `dave\s+member\s+technical\s+group web\s+group\s+user:alice`, lineWith(t, table, "dave"))
	require.Contains(t, table, "10 lines, 3 people (every line)")

	soon := st.ok(t, "member", "review", "acme", "--expiring-within", "10", "--actor", "user:alice")
	require.Contains(t, soon, "1 line, 1 person (lines ending within 10 days)")
	require.Empty(t, strings.TrimSpace(st.ok(t, "member", "review", "acme", "--granted-before", "30", "-o", "csv", "--actor", "user:alice")[len("account,user_id,email,display_name,role,right,scope,held,through,granted_by,granted_at,ends,networks,needs_mfa"):]), "nothing is a month old")

	csvOut := st.ok(t, "member", "review", "acme", "--expiring-within", "10", "-o", "csv", "--actor", "user:alice")
	require.True(t, strings.HasPrefix(csvOut, "account,user_id,email,display_name,role,right,scope,held,through,granted_by,granted_at,ends,networks,needs_mfa\n"), csvOut)
	require.Contains(t, csvOut, "acme,carol,carol@example.com,,member,billing,account,direct,,user:alice,")

	var rv hostaccess.AccessReview
	require.NoError(t, json.Unmarshal([]byte(st.ok(t, "member", "review", "acme", "--delegation", "-o", "json", "--actor", "user:alice")), &rv))
	require.Empty(t, rv.Lines, "no host staff in this stack")
	require.True(t, rv.Filter.Delegation)

	page := st.ok(t, "member", "review", "acme", "-o", "html", "--actor", "user:alice")
	require.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
	require.Contains(t, page, "<h1>Access review: acme</h1>")

	st.refused(t, "forbidden", "member", "review", "acme", "--actor", "user:carol")
	st.refused(t, "forbidden", "member", "review", "acme", "-o", "csv", "--actor", "user:mallory")
	st.refused(t, "invalid_argument", "member", "review", "acme", "--expiring-within", "-1", "--actor", "user:alice")
	r := st.run(t, "member", "review", "acme", "-o", "pdf", "--actor", "user:alice")
	require.Equal(t, cli.ExitError, r.code, r.errOut)
	require.Contains(t, r.errOut, `invalid --output "pdf": use table, json, csv or html`)
}
