package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// tokenBody is a token input as a panel sends it, expiring in a day.
func tokenBody(clock interface{ Now() time.Time }, name string, rights ...string) map[string]any {
	return map[string]any{"name": name, "rights": rights, "expires_at": clock.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}
}

func (c *apiClient) createToken(actor, account string, body any) hostaccess.NewToken {
	c.t.Helper()
	nt := ok[hostaccess.NewToken](c.t, c.call("POST", "/v1/accounts/"+account+"/tokens", actor, body), http.StatusCreated)
	require.True(c.t, strings.HasPrefix(nt.Secret, hostaccess.TokenSecretPrefix), "secret %q", nt.Secret)
	require.NotEmpty(c.t, nt.ZedToken)
	return nt
}

func (c *apiClient) listTokens(actor, account string) []hostaccess.Token {
	c.t.Helper()
	r := c.call("GET", "/v1/accounts/"+account+"/tokens", actor, nil)
	require.NotContains(c.t, string(r.body), hostaccess.TokenSecretPrefix, "a listing never holds a secret")
	require.NotContains(c.t, string(r.body), `"secret"`)
	return ok[wire.TokenList](c.t, r, http.StatusOK).Tokens
}

func (c *apiClient) checkToken(body map[string]any) hostaccess.TokenAnswer {
	c.t.Helper()
	r := c.call("POST", "/v1/tokens/check", "", body)
	if s, isString := body["secret"].(string); isString {
		require.NotContains(c.t, string(r.body), s, "the answer never echoes the secret")
	}
	return ok[hostaccess.TokenAnswer](c.t, r, http.StatusOK)
}

// tokenPath is the path of a token, from its full id.
func tokenPath(id string) string {
	account, name, _ := strings.Cut(id, "/")
	return "/v1/accounts/" + account + "/tokens/" + name
}

func ids(tokens []hostaccess.Token) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		out[i] = t.ID
	}
	return out
}

// TestTokensOverHTTP: the token flows as a panel drives them, allowed and
// refused.
func TestTokensOverHTTP(t *testing.T) {
	c, clock := newTestAPI(t)
	c.createAccount("acme", "alice")
	c.addProduct("user:alice", "acme", "site", nil, nil)
	c.join("user:alice", "acme", "carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling, hostaccess.RightSupport}, Technical: hostaccess.ProductScope{Products: []string{"site"}}})
	c.join("user:alice", "acme", "dave", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightSupport}})

	// Carol creates a token for her invoice export: 201, the secret once.
	invoices := c.createToken("user:carol", "acme", tokenBody(clock, "invoice export", "billing"))
	assert.Regexp(t, `^acme/[0-9a-f]{16}$`, invoices.Token.ID)
	assert.Equal(t, "carol", invoices.Token.Creator)
	assert.Equal(t, "active", invoices.Token.Status)
	assert.Equal(t, []hostaccess.Right{hostaccess.RightBilling}, invoices.Token.Rights)
	// A second one, usable from the office network only.
	office := c.createToken("user:carol", "acme", map[string]any{
		"name": "office deploys", "technical": map[string]any{"products": []string{"site"}},
		"expires_at": clock.Now().Add(time.Hour).Format(time.RFC3339), "allowed_cidrs": []string{"10.0.0.0/8"},
	})
	assert.Equal(t, []string{"10.0.0.0/8"}, office.Token.AllowedCIDRs)
	daves := c.createToken("user:dave", "acme", tokenBody(clock, "tickets", "support"))

	// A member lists their own tokens, an owner every token; never a secret.
	assert.ElementsMatch(t, []string{invoices.Token.ID, office.Token.ID}, ids(c.listTokens("user:carol", "acme")))
	assert.Equal(t, []string{daves.Token.ID}, ids(c.listTokens("user:dave", "acme")))
	assert.ElementsMatch(t, []string{invoices.Token.ID, office.Token.ID, daves.Token.ID}, ids(c.listTokens("user:alice", "acme")))
	p := problem(t, c.call("GET", "/v1/accounts/acme/tokens", "user:mallory", nil), http.StatusForbidden, "forbidden")
	assert.Contains(t, p.Detail, "see the tokens of acme")

	// Dave may not revoke Carol's token: only she and the owners may.
	p = problem(t, c.call("DELETE", tokenPath(invoices.Token.ID), "user:dave", nil), http.StatusForbidden, "forbidden")
	assert.Contains(t, p.Detail, "only its creator and the owners of acme may")

	// The panel checks a request made with the secret.
	ans := c.checkToken(map[string]any{"secret": invoices.Secret, "resource": "account:acme", "permission": "pay_invoices"})
	assert.True(t, ans.Allowed)
	assert.Equal(t, "token:"+invoices.Token.ID, ans.Subject)
	assert.Equal(t, "invoice export", ans.Token.Name)
	assert.False(t, c.checkToken(map[string]any{"secret": invoices.Secret, "resource": "account:acme", "permission": "open_ticket"}).Allowed,
		"support was not given to the token")
	assert.False(t, c.checkToken(map[string]any{"secret": invoices.Secret, "resource": "product:acme/site", "permission": "manage"}).Allowed)

	// The office token: conditional without client_ip, allowed from the
	// office, denied from elsewhere.
	site := map[string]any{"secret": office.Secret, "resource": "product:acme/site", "permission": "manage"}
	ans = c.checkToken(site)
	assert.False(t, ans.Allowed)
	assert.True(t, ans.Conditional)
	assert.Equal(t, []string{"client_ip"}, ans.MissingContext)
	site["context"] = map[string]any{"client_ip": "10.1.2.3"}
	ans = c.checkToken(site)
	assert.True(t, ans.Allowed)
	assert.False(t, ans.Conditional)
	assert.Empty(t, ans.MissingContext)
	site["context"] = map[string]any{"client_ip": "192.0.2.1"}
	ans = c.checkToken(site)
	assert.False(t, ans.Allowed)
	assert.False(t, ans.Conditional)

	// /v1/check and /v1/check-bulk take the token's id and the context too.
	check := func(ctx map[string]any) hostaccess.Answer {
		body := map[string]any{"resource": "product:acme/site", "permission": "manage", "subject": "token:" + office.Token.ID}
		if ctx != nil {
			body["context"] = ctx
		}
		return ok[hostaccess.Answer](t, c.call("POST", "/v1/check", "", body), http.StatusOK)
	}
	a := check(nil)
	assert.Equal(t, []any{false, true, []string{"client_ip"}}, []any{a.Allowed, a.Conditional, a.MissingContext})
	a = check(map[string]any{"client_ip": "10.200.0.1"})
	assert.Equal(t, []any{true, false}, []any{a.Allowed, a.Conditional})
	assert.Equal(t, map[string]any{"client_ip": "10.200.0.1"}, a.Context, "the answer echoes the question")
	bulk := ok[wire.AnswerList](t, c.call("POST", "/v1/check-bulk", "", map[string]any{"checks": []map[string]any{
		{"resource": "product:acme/site", "permission": "manage", "subject": "token:" + office.Token.ID},
		{"resource": "product:acme/site", "permission": "manage", "subject": "token:" + office.Token.ID, "context": map[string]any{"client_ip": "10.0.0.7"}},
		{"resource": "product:acme/site", "permission": "manage", "subject": "token:" + office.Token.ID, "context": map[string]any{"client_ip": "203.0.113.9"}},
		{"resource": "account:acme", "permission": "pay_invoices", "subject": "token:" + invoices.Token.ID},
	}}), http.StatusOK).Answers
	require.Len(t, bulk, 4)
	assert.Equal(t, []any{false, true, []string{"client_ip"}}, []any{bulk[0].Allowed, bulk[0].Conditional, bulk[0].MissingContext})
	assert.True(t, bulk[1].Allowed)
	assert.Equal(t, []any{false, false}, []any{bulk[2].Allowed, bulk[2].Conditional})
	assert.True(t, bulk[3].Allowed)
	// A person's check is unchanged by a context no caveat reads.
	a = ok[hostaccess.Answer](t, c.call("POST", "/v1/check", "", map[string]any{
		"resource": "account:acme", "permission": "pay_invoices", "subject": "user:carol", "context": map[string]any{"client_ip": "192.0.2.1"},
	}), http.StatusOK)
	assert.True(t, a.Allowed)

	// Carol revokes the invoice token: denied at once, listed revoked.
	res := ok[hostaccess.Result](t, c.call("DELETE", tokenPath(invoices.Token.ID), "user:carol", nil), http.StatusOK)
	ans = c.checkToken(map[string]any{"secret": invoices.Secret, "resource": "account:acme", "permission": "pay_invoices", "at_least_as_fresh": res.ZedToken})
	assert.False(t, ans.Allowed)
	assert.Equal(t, "revoked", ans.Token.Status)
	listed := c.listTokens("user:carol", "acme")
	for _, tok := range listed {
		if tok.ID == invoices.Token.ID {
			assert.Equal(t, "revoked", tok.Status)
			assert.Equal(t, "user:carol", tok.RevokedBy)
			assert.NotNil(t, tok.RevokedAt)
		}
	}
	p = problem(t, c.call("DELETE", tokenPath(invoices.Token.ID), "user:carol", nil), http.StatusNotFound, "not_found")
	assert.Contains(t, p.Detail, "already revoked")

	// The owner revokes Dave's token.
	ok[hostaccess.Result](t, c.call("DELETE", tokenPath(daves.Token.ID), "user:alice", nil), http.StatusOK)
	assert.False(t, c.checkToken(map[string]any{"secret": daves.Secret, "resource": "account:acme", "permission": "open_ticket"}).Allowed)

	// A secret nobody holds is 404; something that is not a secret, 400.
	p = problem(t, c.call("POST", "/v1/tokens/check", "", map[string]any{"secret": hostaccess.TokenSecretPrefix + strings.Repeat("0", 64), "resource": "account:acme", "permission": "pay_invoices"}), http.StatusNotFound, "not_found")
	assert.Contains(t, p.Detail, "no token has this secret")
	p = problem(t, c.call("POST", "/v1/tokens/check", "", map[string]any{"secret": "password1", "resource": "account:acme", "permission": "pay_invoices"}), http.StatusBadRequest, "invalid_argument")
	assert.Contains(t, p.Detail, "secret: want the "+hostaccess.TokenSecretPrefix)
	assert.NotContains(t, p.Detail, "password1")

	// A token is a person's: the calling service cannot create one.
	p = problem(t, c.call("POST", "/v1/accounts/acme/tokens", "service", tokenBody(clock, "svc", "billing")), http.StatusForbidden, "forbidden")
	assert.Contains(t, p.Detail, "is a service")
	// Nor can a member give a token what they do not hold.
	p = problem(t, c.call("POST", "/v1/accounts/acme/tokens", "user:dave", tokenBody(clock, "pay", "billing")), http.StatusForbidden, "escalation")
	assert.Contains(t, p.Detail, "billing")
	// A token of another account is not found there.
	c.createAccount("beta", "bob")
	problem(t, c.call("DELETE", "/v1/accounts/beta/tokens/"+strings.TrimPrefix(office.Token.ID, "acme/"), "user:bob", nil), http.StatusNotFound, "not_found")

	// The audit trail records the flows, never a secret.
	audit := c.call("GET", "/v1/accounts/acme/audit", "user:alice", nil)
	require.Equal(t, http.StatusOK, audit.status, "body: %s", audit.body)
	assert.Contains(t, string(audit.body), `"flow":"create_token"`)
	assert.Contains(t, string(audit.body), `"flow":"revoke_token"`)
	for _, s := range []string{invoices.Secret, office.Secret, daves.Secret} {
		assert.NotContains(t, string(audit.body), s)
	}
}

// TestTokenInputIsRefusedOverHTTP: hostile or mistaken token input is 400
// naming the problem, and nothing is written.
func TestTokenInputIsRefusedOverHTTP(t *testing.T) {
	c, clock := newTestAPI(t)
	c.createAccount("acme", "alice")
	c.join("user:alice", "acme", "carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	office := c.createToken("user:carol", "acme", map[string]any{"name": "office", "rights": []string{"billing"},
		"expires_at": clock.Now().Add(time.Hour).Format(time.RFC3339), "allowed_cidrs": []string{"10.0.0.0/8"}})

	day := `"` + clock.Now().Add(24*time.Hour).UTC().Format(time.RFC3339) + `"`
	past := `"` + clock.Now().Add(-time.Hour).UTC().Format(time.RFC3339) + `"`
	far := `"` + clock.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339) + `"`
	big := strings.Repeat("a", 500<<10)
	huge := `{"name":"` + strings.Repeat("a", 1<<20) + `","rights":["billing"],"expires_at":` + day + `}`
	bigContext := `{"resource":"account:acme","permission":"pay_invoices","subject":"user:carol","context":{"note":"` + strings.Repeat("x", 5000) + `"}}`

	tests := []struct{ name, path, body, detail string }{
		{"a null name", "/v1/accounts/acme/tokens", `{"name":null,"rights":["billing"],"expires_at":` + day + `}`, `field "name": null is not a string`},
		{"no name", "/v1/accounts/acme/tokens", `{"rights":["billing"],"expires_at":` + day + `}`, "a token needs a name"},
		{"a blank name", "/v1/accounts/acme/tokens", `{"name":"   ","rights":["billing"],"expires_at":` + day + `}`, "a token needs a name"},
		{"a duplicate key", "/v1/accounts/acme/tokens", `{"name":"a","name":"b","rights":["billing"],"expires_at":` + day + `}`, `field "name" appears twice`},
		{"a NUL in the name", "/v1/accounts/acme/tokens", `{"name":"de\u0000ploy","rights":["billing"],"expires_at":` + day + `}`, "token name holds the control character U+0000"},
		{"a 500 KB name", "/v1/accounts/acme/tokens", `{"name":"` + big + `","rights":["billing"],"expires_at":` + day + `}`, "token name is 512000 characters long: at most 100"},
		{"a body over 1 MiB", "/v1/accounts/acme/tokens", huge, "request body is larger than 1048576 bytes"},
		{"an unknown field", "/v1/accounts/acme/tokens", `{"name":"a","rights":["billing"],"expires_at":` + day + `,"secret":"hat_mine"}`, `unknown field "secret"`},
		{"a case-variant key", "/v1/accounts/acme/tokens", `{"Name":"a","rights":["billing"],"expires_at":` + day + `}`, `field "Name": field names are case-sensitive`},
		{"an unknown right", "/v1/accounts/acme/tokens", `{"name":"a","rights":["everything"],"expires_at":` + day + `}`, "everything"},
		{"nothing given", "/v1/accounts/acme/tokens", `{"name":"a","expires_at":` + day + `}`, "the token is given nothing"},
		{"no expiry", "/v1/accounts/acme/tokens", `{"name":"a","rights":["billing"]}`, "a token needs expires_at"},
		{"a null expiry", "/v1/accounts/acme/tokens", `{"name":"a","rights":["billing"],"expires_at":null}`, "a token needs expires_at"},
		{"a past expiry", "/v1/accounts/acme/tokens", `{"name":"a","rights":["billing"],"expires_at":` + past + `}`, "is in the past"},
		{"an expiry a year away", "/v1/accounts/acme/tokens", `{"name":"a","rights":["billing"],"expires_at":` + far + `}`, "the longest a token may live here"},
		{"an expiry that is not a time", "/v1/accounts/acme/tokens", `{"name":"a","rights":["billing"],"expires_at":"tomorrow"}`, `field "expires_at": want an RFC 3339 time`},
		{"an expiry that is a number", "/v1/accounts/acme/tokens", `{"name":"a","rights":["billing"],"expires_at":1767225600}`, `field "expires_at": want an RFC 3339 time`},
		{"a CIDR with a bad prefix", "/v1/accounts/acme/tokens", `{"name":"a","rights":["billing"],"expires_at":` + day + `,"allowed_cidrs":["10.0.0.0/33"]}`, "is not a network in CIDR notation"},
		{"an address, not a network", "/v1/accounts/acme/tokens", `{"name":"a","rights":["billing"],"expires_at":` + day + `,"allowed_cidrs":["10.1.2.3"]}`, "is not a network in CIDR notation"},
		{"a CIDR with host bits", "/v1/accounts/acme/tokens", `{"name":"a","rights":["billing"],"expires_at":` + day + `,"allowed_cidrs":["10.1.2.3/8"]}`, "did you mean 10.0.0.0/8?"},
		{"a bad token path", "/v1/accounts/acme/tokens/xyz", "", "token id"},

		{"a check without a secret", "/v1/tokens/check", `{"resource":"account:acme","permission":"pay_invoices"}`, "secret: want the hat_"},
		{"a null secret", "/v1/tokens/check", `{"secret":null,"resource":"account:acme","permission":"pay_invoices"}`, `field "secret": null is not a string`},
		{"a check naming a subject", "/v1/tokens/check", `{"secret":"` + office.Secret + `","resource":"account:acme","permission":"pay_invoices","subject":"user:alice"}`, `unknown field "subject"`},
		{"a client_ip that is not an address", "/v1/tokens/check", `{"secret":"` + office.Secret + `","resource":"account:acme","permission":"pay_invoices","context":{"client_ip":"the office"}}`, "context client_ip"},
		{"a client_ip that is a number", "/v1/tokens/check", `{"secret":"` + office.Secret + `","resource":"account:acme","permission":"pay_invoices","context":{"client_ip":167772161}}`, "want an IP address as a string"},
		{"a duplicate context key", "/v1/check", `{"resource":"account:acme","permission":"pay_invoices","subject":"user:carol","context":{"client_ip":"10.0.0.1","client_ip":"192.0.2.1"}}`, `field "context.client_ip" appears twice`},
		{"a NUL in a context key", "/v1/check", `{"resource":"account:acme","permission":"pay_invoices","subject":"user:carol","context":{"client\u0000ip":"10.0.0.1"}}`, "context key holds the control character U+0000"},
		{"a NUL in client_ip", "/v1/check", `{"resource":"account:acme","permission":"pay_invoices","subject":"user:carol","context":{"client_ip":"10.0.0.1\u0000"}}`, "context client_ip"},
		{"a context over 4 KiB", "/v1/check", bigContext, "at most 4096"},
		{"a context that is not an object", "/v1/check", `{"resource":"account:acme","permission":"pay_invoices","subject":"user:carol","context":["client_ip"]}`, `field "context"`},
		{"a bad context in a bulk check", "/v1/check-bulk", `{"checks":[{"resource":"account:acme","permission":"view","subject":"user:carol"},{"resource":"account:acme","permission":"view","subject":"user:carol","context":{"client_ip":"nope"}}]}`, "question 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			actor, method, ct := "user:carol", "POST", "application/json"
			switch {
			case strings.HasPrefix(tc.path, "/v1/tokens/") || strings.HasPrefix(tc.path, "/v1/check"):
				actor = ""
			case tc.body == "":
				method, ct = "DELETE", ""
			}
			p := problem(t, c.raw(method, tc.path, ct, actor, tc.body), http.StatusBadRequest, "invalid_argument")
			assert.Contains(t, p.Detail, tc.detail)
			assert.Less(t, len(p.Detail), 300, "the detail does not echo the input")
			assert.NotContains(t, p.Detail, office.Secret)
		})
	}
	// Nothing was written: Carol still holds the one token.
	assert.Equal(t, []string{office.Token.ID}, ids(c.listTokens("user:carol", "acme")))

	// What is allowed: a null context (none), no allowed_cidrs, a CIDR
	// with spaces around it, an IPv6 network.
	ok[hostaccess.Answer](t, c.raw("POST", "/v1/check", "application/json", "",
		`{"resource":"account:acme","permission":"pay_invoices","subject":"user:carol","context":null}`), http.StatusOK)
	nt := ok[hostaccess.NewToken](t, c.raw("POST", "/v1/accounts/acme/tokens", "application/json", "user:carol",
		`{"name":" v6 ","rights":["billing"],"technical":{},"view":{},"expires_at":`+day+`,"allowed_cidrs":[" 2001:db8::/32 ","10.0.0.0/8"]}`), http.StatusCreated)
	assert.Equal(t, "v6", nt.Token.Name)
	assert.Equal(t, []string{"10.0.0.0/8", "2001:db8::/32"}, nt.Token.AllowedCIDRs)
}
