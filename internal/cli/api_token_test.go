package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/cli"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// runIn is run with stdin.
func (st *apiStack) runIn(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--api-url", st.url, "--api-key", "k")
	code := cli.Run(context.Background(), args, cli.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut})
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

// created runs token create, which prints the secret's warning on stderr.
func (st *apiStack) created(t *testing.T, args ...string) string {
	t.Helper()
	r := st.run(t, append([]string{"token", "create"}, args...)...)
	require.Equal(t, cli.ExitOK, r.code, "stderr %q", r.errOut)
	require.Equal(t, "Copy the secret now: it is not stored (only its hash is) and will not be shown again.\n", r.errOut)
	return r.out
}

var secretLine = regexp.MustCompile(`(?m)^secret:\s+(hat_[0-9a-f]{64})$`)

func TestTokensStory(t *testing.T) {
	st := startAPI(t)
	st.ok(t, "account", "create", "acme", "--owner", "alice", "--owner-email", "alice@acme.example", "--actor", "service")
	st.ok(t, "product", "add", "acme", "site", "--actor", "service")
	for _, who := range []struct{ user, flags string }{{"carol", "--right=billing --product=site"}, {"dave", "--right=support"}} {
		var link hostaccess.InvitationLink
		require.NoError(t, json.Unmarshal([]byte(st.ok(t, append([]string{"invite", "create", "acme", who.user + "@example.com", "--actor", "user:alice", "-o", "json"}, strings.Fields(who.flags)...)...)), &link))
		st.ok(t, "invite", "accept", link.Token, "--user", who.user, "--email", who.user+"@example.com", "--email-verified")
	}

	// Carol creates a token: its fields, then the secret, once, with a warning.
	out := st.created(t, "acme", "--name", "invoice export", "--right", "billing", "--expires-in", "720h", "--actor", "user:carol")
	require.Regexp(t, `(?m)^token:\s+acme/[0-9a-f]{16}$`, out)
	require.Regexp(t, `(?m)^name:\s+invoice export$`, out)
	require.Regexp(t, `(?m)^creator:\s+carol$`, out)
	require.Regexp(t, `(?m)^access:\s+billing$`, out)
	require.Regexp(t, `(?m)^networks:\s+any$`, out)
	m := secretLine.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	invoices, invoicesID := m[1], strings.Fields(out)[1]

	// A token for the office network, as JSON for a script.
	var office hostaccess.NewToken
	require.NoError(t, json.Unmarshal([]byte(st.created(t, "acme", "--name", "deploys", "--product", "site", "--expires-in", "30d",
		"--allow-cidr", "10.0.0.0/8", "--actor", "user:carol", "-o", "json")), &office))
	require.Equal(t, []string{"10.0.0.0/8"}, office.Token.AllowedCIDRs)
	require.True(t, strings.HasPrefix(office.Secret, hostaccess.TokenSecretPrefix))
	daveOut := st.created(t, "acme", "--name", "tickets", "--right", "support", "--expires-in", "48h", "--actor", "user:dave")
	daveID := strings.Fields(daveOut)[1]

	// Listed without secrets: a member sees their own, the owner every one.
	list := st.ok(t, "token", "list", "acme", "--actor", "user:carol")
	require.Regexp(t, `(?m)^ID\s+NAME\s+CREATOR\s+STATUS\s+ACCESS\s+NETWORKS\s+EXPIRES\s*$`, list)
	require.Regexp(t, `(?m)^`+invoicesID+`\s+invoice export\s+carol\s+active\s+billing\s+any\s+\S+\s*$`, list)
	require.Regexp(t, `(?m)^`+office.Token.ID+`\s+deploys\s+carol\s+active\s+technical: product site\s+10\.0\.0\.0/8\s+\S+\s*$`, list)
	require.NotContains(t, list, daveID)
	require.NotContains(t, list, "hat_")
	require.Contains(t, st.ok(t, "token", "list", "acme", "--actor", "user:dave"), daveID)
	require.NotContains(t, st.ok(t, "token", "list", "acme", "--actor", "user:dave"), "carol")
	all := st.ok(t, "token", "list", "acme", "--actor", "user:alice", "-o", "json")
	var listed struct {
		Tokens []hostaccess.Token `json:"tokens"`
	}
	require.NoError(t, json.Unmarshal([]byte(all), &listed))
	require.Len(t, listed.Tokens, 3)
	require.NotContains(t, all, "hat_")

	// Dave may not revoke Carol's token.
	errLine := st.refused(t, "forbidden", "token", "revoke", "acme", invoicesID, "--actor", "user:dave")
	require.Contains(t, errLine, "only its creator and the owners of acme may")

	// Checks with the secret: exit 0 allowed, 1 denied, 3 conditional.
	r := st.run(t, "token", "check", "account:acme", "pay_invoices", "--secret", invoices)
	require.Equal(t, cli.ExitOK, r.code, r.errOut)
	require.Equal(t, `allowed: token:`+invoicesID+` ("invoice export" of carol) pay_invoices account:acme`+"\n", r.out)
	r = st.run(t, "token", "check", "account:acme", "open_ticket", "--secret", invoices)
	require.Equal(t, cli.ExitDenied, r.code, r.errOut)
	require.True(t, strings.HasPrefix(r.out, "denied: token:"+invoicesID), r.out)
	// From standard input, and from HOSTACCESS_SECRET: kept out of the shell history.
	r = st.runIn(t, invoices+"\n", "token", "check", "account:acme", "pay_invoices", "--secret", "-")
	require.Equal(t, cli.ExitOK, r.code, r.errOut)
	t.Setenv("HOSTACCESS_SECRET", invoices)
	require.Equal(t, cli.ExitOK, st.run(t, "token", "check", "account:acme", "pay_invoices").code)
	t.Setenv("HOSTACCESS_SECRET", "")

	site := []string{"token", "check", "product:acme/site", "manage", "--secret", office.Secret}
	r = st.run(t, site...)
	require.Equal(t, cli.ExitConditional, r.code, r.errOut)
	require.Equal(t, `conditional: token:`+office.Token.ID+` ("deploys" of carol) manage product:acme/site (missing context client_ip: give --client-ip or --context KEY=VALUE)`+"\n", r.out)
	r = st.run(t, append(site, "--client-ip", "10.1.2.3")...)
	require.Equal(t, cli.ExitOK, r.code, r.errOut)
	require.Equal(t, cli.ExitOK, st.run(t, append(site, "--context", "client_ip=10.9.9.9")...).code)
	require.Equal(t, cli.ExitDenied, st.run(t, append(site, "--client-ip", "192.0.2.1")...).code)
	var ans hostaccess.TokenAnswer
	r = st.run(t, append(site, "-o", "json")...)
	require.Equal(t, cli.ExitConditional, r.code)
	require.NoError(t, json.Unmarshal([]byte(r.out), &ans))
	require.Equal(t, []string{"client_ip"}, ans.MissingContext)
	require.NotContains(t, r.out, office.Secret, "the answer names the token, never the secret")

	// Carol revokes by short name: denied at once, listed revoked.
	short := strings.TrimPrefix(invoicesID, "acme/")
	require.Equal(t, "token "+invoicesID+" revoked\n", st.ok(t, "token", "revoke", "acme", short, "--actor", "user:carol"))
	r = st.run(t, "token", "check", "account:acme", "pay_invoices", "--secret", invoices)
	require.Equal(t, cli.ExitDenied, r.code, r.errOut)
	require.True(t, strings.HasSuffix(r.out, "(the token is revoked)\n"), r.out)
	require.Regexp(t, `(?m)^`+invoicesID+`\s+invoice export\s+carol\s+revoked\s`, st.ok(t, "token", "list", "acme", "--actor", "user:carol"))
	st.refused(t, "not_found", "token", "revoke", "acme", invoicesID, "--actor", "user:carol")
	// The owner revokes Dave's.
	st.ok(t, "token", "revoke", "acme", daveID, "--actor", "user:alice")

	// A secret nobody holds: refused, and the error line does not repeat it.
	unknown := hostaccess.TokenSecretPrefix + strings.Repeat("ab", 32)
	errLine = st.refused(t, "not_found", "token", "check", "account:acme", "pay_invoices", "--secret", unknown)
	require.NotContains(t, errLine, unknown)

	// The server's refusals name the problem.
	errLine = st.refused(t, "invalid_argument", "token", "create", "acme", "--name", "x", "--right", "billing", "--expires-in", "24h", "--allow-cidr", "10.1.2.3/8", "--actor", "user:carol")
	require.Contains(t, errLine, "did you mean 10.0.0.0/8?")
	errLine = st.refused(t, "invalid_argument", "token", "create", "acme", "--name", "x", "--right", "billing", "--expires-in", "2400h", "--actor", "user:carol")
	require.Contains(t, errLine, "the longest a token may live here")
	st.refused(t, "escalation", "token", "create", "acme", "--name", "x", "--right", "domains", "--expires-in", "1h", "--actor", "user:carol")
	errLine = st.refused(t, "forbidden", "token", "create", "acme", "--name", "x", "--right", "billing", "--expires-in", "1h", "--actor", "service")
	require.Contains(t, errLine, "is a service")
}

// TestTokenFlagsAreCheckedLocally: a mistake on the command line is refused
// before any request is made.
func TestTokenFlagsAreCheckedLocally(t *testing.T) {
	st := startAPI(t)
	tests := []struct {
		args   []string
		stderr string
	}{
		{[]string{"token", "create", "acme", "--right", "billing", "--expires-in", "1h", "--actor", "user:carol"}, "--name is required"},
		{[]string{"token", "create", "acme", "--name", "x", "--right", "billing", "--actor", "user:carol"}, "--expires-in (720h, 30d) or --expires-at (RFC 3339) is required"},
		{[]string{"token", "create", "acme", "--name", "x", "--expires-in", "1h", "--expires-at", "2030-01-01T00:00:00Z", "--actor", "user:carol"}, "give one"},
		{[]string{"token", "create", "acme", "--name", "x", "--expires-in", "soon", "--actor", "user:carol"}, `invalid --expires-in "soon"`},
		{[]string{"token", "create", "acme", "--name", "x", "--expires-in", "-1h", "--actor", "user:carol"}, `invalid --expires-in "-1h"`},
		{[]string{"token", "create", "acme", "--name", "x", "--expires-in", "0d", "--actor", "user:carol"}, `invalid --expires-in "0d"`},
		{[]string{"token", "create", "acme", "--name", "x", "--expires-at", "next week", "--actor", "user:carol"}, `invalid --expires-at "next week"`},
		{[]string{"token", "create", "acme", "--name", "x", "--right", "everything", "--expires-in", "1h", "--actor", "user:carol"}, `invalid --right "everything"`},
		{[]string{"token", "create", "acme", "--name", "x", "--right", "billing", "--expires-in", "1h"}, "--actor (or HOSTACCESS_ACTOR) is required"},
		{[]string{"token", "check", "account:acme", "pay_invoices"}, "--secret (or HOSTACCESS_SECRET) is required"},
		{[]string{"token", "check", "account:acme", "pay_invoices", "--secret", "hat_x", "--client-ip", "the office"}, `invalid client_ip the office`},
		{[]string{"token", "check", "account:acme", "pay_invoices", "--secret", "hat_x", "--context", "client_ip"}, `invalid --context "client_ip": want KEY=VALUE`},
		{[]string{"token", "check", "account:acme", "pay_invoices", "--secret", "hat_x", "--context", "a=1", "--context", "a=2"}, "--context a is given twice"},
		{[]string{"token", "check", "account:acme", "pay_invoices", "--secret", "hat_x", "--client-ip", "10.0.0.1", "--context", "client_ip=10.0.0.2"}, "keep one"},
		{[]string{"token", "check", "account:acme", "pay_invoices", "--secret", "hat_x", "--context", "client_ip=5"}, "invalid client_ip 5"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			before := st.requests.Load()
			r := st.run(t, tc.args...)
			require.Equal(t, cli.ExitError, r.code, "stdout %q", r.out)
			require.Contains(t, r.errOut, tc.stderr)
			require.NotContains(t, r.errOut, "hat_x", "a secret is never part of an error")
			require.Equal(t, before, st.requests.Load(), "the server heard of it")
		})
	}
	// Standard input that holds no secret.
	r := st.runIn(t, "\n", "token", "check", "account:acme", "pay_invoices", "--secret", "-")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.errOut, "--secret (or HOSTACCESS_SECRET) is required")
}
