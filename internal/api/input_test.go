package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// raw sends a request exactly as given (path, Content-Type, body), never
// following a redirect.
func (c *apiClient) raw(method, path, contentType, actor, body string) response {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	req.URL.Opaque = "" // keep the path as written
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if actor != "" {
		req.Header.Set(ActorHeader, actor)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// TestBadTextIsRefusedOverHTTP: NUL bytes, invalid UTF-8, control
// characters and oversized text are 400 invalid_argument naming the field,
// on every store (this runs on Postgres when HOSTACCESS_TEST_POSTGRES_URI is
// set, where a NUL used to come back as 503 unavailable).
func TestBadTextIsRefusedOverHTTP(t *testing.T) {
	c, _ := newTestAPI(t)
	c.createAccount("acme", "alice")
	big := strings.Repeat("a", 500<<10)

	tests := []struct {
		name, method, path, body, detail string
	}{
		{"a NUL in an account name", "POST", "/v1/accounts", `{"id":"beta","owner_id":"bob","host_id":"nordhost","name":"Be\u0000ta"}`, "account name holds the control character U+0000"},
		{"invalid UTF-8 in an account name", "POST", "/v1/accounts", "{\"id\":\"beta\",\"owner_id\":\"bob\",\"name\":\"Be\xfft\"}", `field "name" is not valid UTF-8`},
		{"invalid UTF-8 in a key", "POST", "/v1/accounts", "{\"id\":\"beta\",\"na\xffme\":\"x\"}", "not valid UTF-8"},
		{"a 500 KB account name", "POST", "/v1/accounts", `{"id":"beta","owner_id":"bob","host_id":"nordhost","name":"` + big + `"}`, "account name is 512000 characters long: at most 200"},
		{"a NUL in an owner name", "POST", "/v1/accounts", `{"id":"beta","owner_id":"bob","host_id":"nordhost","owner_name":"B\u0000b"}`, "owner name"},
		{"a NUL in an owner e-mail", "POST", "/v1/accounts", `{"id":"beta","owner_id":"bob","host_id":"nordhost","owner_email":"b\u0000b@example.com"}`, "owner e-mail"},
		{"a NUL in an account id", "POST", "/v1/accounts", `{"id":"be\u0000ta","owner_id":"bob","host_id":"nordhost"}`, "account id"},
		{"a NUL in a contact name", "POST", "/v1/accounts/acme/contacts", `{"name":"D\u0000na","email":"dana@example.com"}`, "contact name"},
		{"a NUL in a contact phone", "POST", "/v1/accounts/acme/contacts", `{"name":"Dana","email":"dana@example.com","phone":"+41\u0000"}`, "contact phone"},
		{"a 51-character phone", "POST", "/v1/accounts/acme/contacts", `{"name":"Dana","email":"dana@example.com","phone":"` + strings.Repeat("1", 51) + `"}`, "contact phone is 51 characters long: at most 50"},
		{"a 500 KB contact name", "POST", "/v1/accounts/acme/contacts", `{"name":"` + big + `","email":"dana@example.com"}`, "contact name"},
		{"a NUL in an invited e-mail", "POST", "/v1/accounts/acme/invitations", `{"email":"x\u0000@example.com","access":{}}`, "e-mail address"},
		{"a 255-byte e-mail", "POST", "/v1/accounts/acme/invitations", `{"email":"` + strings.Repeat("x", 243) + `@example.com","access":{}}`, "at most 254"},
		{"a NUL in a display name", "POST", "/v1/invitations/accept", `{"token":"t","user_id":"carol","email":"carol@example.com","email_verified":true,"display_name":"C\u0000"}`, "display name"},
		{"a NUL in an invitation path", "DELETE", "/v1/accounts/acme/invitations/%00", "", "invitation id"},
		{"a NUL in a contact path", "DELETE", "/v1/accounts/acme/contacts/%00", "", "contact id"},
		{"invalid UTF-8 in a contact path", "PUT", "/v1/accounts/acme/contacts/%FF", `{"name":"D","email":"d@example.com"}`, "contact id"},
		{"a NUL in an account id path", "GET", "/v1/accounts/ac%00me/members", "", "account id"},
		{"invalid UTF-8 in a user id path", "DELETE", "/v1/accounts/acme/members/b%FFb", "", "user id"},
		{"a NUL in a user id path", "PUT", "/v1/accounts/acme/members/b%00b/access", `{}`, "user id"},
		{"a NUL in the actor's user id", "GET", "/v1/accounts/acme/members", "", "actor user id"},
		{"a NUL in a check's resource", "POST", "/v1/check", `{"resource":"account:ac\u0000me","permission":"view","subject":"user:carol"}`, ""},
		{"a NUL in a check's subject", "POST", "/v1/check", `{"resource":"account:acme","permission":"view","subject":"user:c\u0000"}`, ""},
		{"a NUL in a who-can resource", "GET", "/v1/who-can?resource=account:ac%00me&permission=view", "", ""},
		{"a NUL in a product name", "POST", "/v1/accounts/acme/products", `{"name":"si\u0000te"}`, "product"},
		{"a NUL in a recipients product", "GET", "/v1/accounts/acme/recipients?category=renewals&product=s%00", "", "product"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			actor := "user:alice"
			switch {
			case tc.path == "/v1/accounts":
				actor = "service"
			case strings.Contains(tc.name, "actor"):
				actor = "user:al\xffice"
			}
			ct := ""
			if tc.body != "" {
				ct = "application/json"
			}
			p := problem(t, c.raw(tc.method, tc.path, ct, actor, tc.body), http.StatusBadRequest, "invalid_argument")
			require.Contains(t, p.Detail, tc.detail)
			require.Less(t, len(p.Detail), 300, "the detail does not echo the input")
		})
	}
	// Nothing was written.
	problem(t, c.call("GET", "/v1/accounts/beta/members", "service", nil), http.StatusNotFound, "not_found")
	require.Empty(t, ok[wire.ContactList](t, c.call("GET", "/v1/accounts/acme/contacts", "user:alice", nil), http.StatusOK).Contacts)

	// Unicode within the limits is fine.
	ok[wire.ContactCreated](t, c.call("POST", "/v1/accounts/acme/contacts", "user:alice", map[string]any{
		"name": strings.Repeat("é", hostaccess.MaxNameLen), "email": "dana@example.com", "phone": strings.Repeat("1", hostaccess.MaxPhoneLen),
	}), http.StatusCreated)
}

// TestStrictJSON: duplicate keys, keys that only match case-insensitively,
// and null where an object or a value is wanted are refused, not guessed.
func TestStrictJSON(t *testing.T) {
	c, _ := newTestAPI(t)
	c.createAccount("acme", "alice")
	billing := hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}}
	c.join("user:alice", "acme", "carol", billing)

	refused := []struct {
		name, method, path, body, detail string
	}{
		{"a duplicate key", "POST", "/v1/accounts/acme/invitations", `{"email":"x@example.com","email":"y@example.com","access":{}}`, `field "email" appears twice`},
		{"a case-variant duplicate", "POST", "/v1/accounts/acme/invitations", `{"email":"x@example.com","EMAIL":"y@example.com","access":{}}`, `field "EMAIL": field names are case-sensitive, want "email"`},
		{"a case-variant key", "POST", "/v1/accounts/acme/invitations", `{"Email":"x@example.com","access":{}}`, `field "Email": field names are case-sensitive`},
		{"a nested duplicate", "PUT", "/v1/accounts/acme/members/carol/access", `{"rights":["billing"],"technical":{"all":false,"all":true}}`, `field "technical.all" appears twice`},
		{"a nested case-variant key", "PUT", "/v1/accounts/acme/members/carol/access", `{"rights":["billing"],"technical":{"All":true}}`, `field "technical.All"`},
		{"a case-variant key in a list", "POST", "/v1/check-bulk", `{"checks":[{"resource":"account:acme","permission":"view","Subject":"user:carol"}]}`, `field "checks[0].Subject"`},
		{"a null body on set-access", "PUT", "/v1/accounts/acme/members/carol/access", `null`, "want a JSON object, got null"},
		{"a string body", "PUT", "/v1/accounts/acme/members/carol/access", `"admin"`, "want a JSON object, got a string"},
		{"a null access", "POST", "/v1/accounts/acme/invitations", `{"email":"x@example.com","access":null}`, `field "access": null is not an object`},
		{"a null scope", "PUT", "/v1/accounts/acme/members/carol/access", `{"technical":null}`, `field "technical": null is not an object`},
		{"a null required string", "POST", "/v1/accounts/acme/owners", `{"user_id":null}`, `field "user_id": null is not a string`},
		{"a null boolean", "PUT", "/v1/accounts/acme/delegation", `{"enabled":null}`, "enabled is required"},
		{"a null cap", "PUT", "/v1/accounts/acme/admin-cap", `{"cap":null}`, "cap is required"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			actor := "user:alice"
			if strings.Contains(tc.path, "admin-cap") {
				actor = "service"
			}
			p := problem(t, c.raw(tc.method, tc.path, "application/json", actor, tc.body), http.StatusBadRequest, "invalid_argument")
			require.Contains(t, p.Detail, tc.detail)
		})
	}
	// Carol's rights and the invitations are untouched.
	members := ok[wire.MemberList](t, c.call("GET", "/v1/accounts/acme/members", "user:alice", nil), http.StatusOK).Members
	require.Equal(t, "billing", members[len(members)-1].Summary)
	require.Len(t, ok[wire.InvitationList](t, c.call("GET", "/v1/accounts/acme/invitations", "user:alice", nil), http.StatusOK).Invitations, 1)

	// Exact keys, null where Go has a nil (no expiry, no list) and an
	// explicit "keep": null are fine.
	ok[hostaccess.Result](t, c.raw("PUT", "/v1/accounts/acme/members/carol/access", "application/json", "user:alice",
		`{"rights":["billing","support"],"technical":{"all":false},"view":{},"notifications":null,"expires_at":null}`), http.StatusOK)
	ok[hostaccess.InvitationLink](t, c.raw("POST", "/v1/accounts/acme/invitations", "application/json", "user:alice",
		`{"email":"x@example.com","access":{"rights":["billing"]}}`), http.StatusCreated)
	ok[wire.AnswerList](t, c.raw("POST", "/v1/check-bulk", "application/json", "",
		`{"checks":[{"resource":"account:acme","permission":"view","subject":"user:carol"}]}`), http.StatusOK)
	c.join("user:alice", "acme", "dave", hostaccess.Access{})
	ok[hostaccess.Result](t, c.raw("POST", "/v1/accounts/acme/transfer", "application/json", "user:alice", `{"to":"dave","keep":null}`), http.StatusOK)
}

// TestContentTypeIsRequired: a body is application/json (charset=utf-8 at
// most), else 415 unsupported_media_type.
func TestContentTypeIsRequired(t *testing.T) {
	c, _ := newTestAPI(t)
	c.createAccount("acme", "alice")
	body := `{"name":"Dana","email":"dana@example.com"}`
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/jsonx", "application/json; charset=latin1", "application/json; boundary=x", "application/json;;"} {
		t.Run("refused "+ct, func(t *testing.T) {
			p := problem(t, c.raw("POST", "/v1/accounts/acme/contacts", ct, "user:alice", body), http.StatusUnsupportedMediaType, "unsupported_media_type")
			require.Contains(t, p.Detail, "application/json")
		})
	}
	require.Empty(t, ok[wire.ContactList](t, c.call("GET", "/v1/accounts/acme/contacts", "user:alice", nil), http.StatusOK).Contacts)
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON; charset=UTF-8"} {
		t.Run("accepted "+ct, func(t *testing.T) {
			ok[wire.ContactCreated](t, c.raw("POST", "/v1/accounts/acme/contacts", ct, "user:alice", body), http.StatusCreated)
		})
	}
}

// TestPathsAreNeverRedirected: a path ServeMux would clean or extend
// answers problem+json, never a redirect a client might follow.
func TestPathsAreNeverRedirected(t *testing.T) {
	c, _ := newTestAPI(t)
	c.createAccount("acme", "alice")
	c.createAccount("beta", "bob")
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1/accounts/beta/../acme/members"},
		{"DELETE", "/v1/accounts/x/../acme"},
		{"GET", "//v1/accounts/acme/members"},
		{"GET", "/v1//accounts/acme/members"},
		{"GET", "/v1/accounts/acme/./members"},
		{"GET", "/v1/accounts/acme/members/.."},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			p := problem(t, c.raw(tc.method, tc.path, "", "user:alice", ""), http.StatusBadRequest, "invalid_argument")
			require.Contains(t, p.Detail, "is not canonical")
		})
	}
	// A wildcard's root without its slash is not a route (the mux would
	// redirect to add one).
	r := c.raw("DELETE", "/v1/accounts/acme/contacts", "", "user:alice", "")
	require.Contains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, r.status, "body: %s", r.body)
	require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
	// acme still exists; canonical paths work.
	ok[wire.MemberList](t, c.raw("GET", "/v1/accounts/acme/members", "", "user:alice", ""), http.StatusOK)
}

// TestExpiriesOverHTTP: an expires_at in the past, or more than 10 years
// away, is refused.
func TestExpiriesOverHTTP(t *testing.T) {
	c, clock := newTestAPI(t)
	c.createAccount("acme", "alice")
	c.join("user:alice", "acme", "carol", hostaccess.Access{})
	for _, at := range []string{"0001-01-01T00:00:00Z", "2001-09-09T01:46:40Z", clock.Now().Add(-time.Second).Format(time.RFC3339), clock.Now().AddDate(11, 0, 0).Format(time.RFC3339)} {
		t.Run(at, func(t *testing.T) {
			p := problem(t, c.raw("POST", "/v1/accounts/acme/invitations", "application/json", "user:alice",
				`{"email":"x@example.com","access":{"rights":["billing"],"expires_at":"`+at+`"}}`), http.StatusBadRequest, "invalid_argument")
			require.Contains(t, p.Detail, "expires_at "+at)
			p = problem(t, c.raw("PUT", "/v1/accounts/acme/members/carol/access", "application/json", "user:alice",
				`{"rights":["billing"],"expires_at":"`+at+`"}`), http.StatusBadRequest, "invalid_argument")
			require.Contains(t, p.Detail, "expires_at")
		})
	}
	require.Empty(t, ok[wire.InvitationList](t, c.call("GET", "/v1/accounts/acme/invitations", "user:alice", nil), http.StatusOK).Invitations[1:])
	next := clock.Now().AddDate(0, 1, 0).UTC().Truncate(time.Second)
	ok[hostaccess.Result](t, c.raw("PUT", "/v1/accounts/acme/members/carol/access", "application/json", "user:alice",
		`{"rights":["billing"],"expires_at":"`+next.Format(time.RFC3339)+`"}`), http.StatusOK)
}

// TestOpenAPILimitsMatchTheDomain holds openapi.json's maxLength values to
// the limits pkg/hostaccess enforces, and documents 415 on every route
// that reads a body.
func TestOpenAPILimitsMatchTheDomain(t *testing.T) {
	var doc struct {
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas    map[string]map[string]any `json:"schemas"`
			Parameters map[string]map[string]any `json:"parameters"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(OpenAPIDocument(), &doc))
	maxLength := func(t *testing.T, schema any) int {
		t.Helper()
		m, ok := schema.(map[string]any)
		require.True(t, ok, "schema %v", schema)
		if items, ok := m["items"]; ok {
			m = items.(map[string]any)
		}
		n, ok := m["maxLength"].(float64)
		require.True(t, ok, "no maxLength in %v", m)
		return int(n)
	}
	fields := map[string]int{
		"CreateAccountRequest.id": hostaccess.MaxIDLen, "CreateAccountRequest.name": hostaccess.MaxNameLen,
		"CreateAccountRequest.owner_id": hostaccess.MaxIDLen, "CreateAccountRequest.owner_email": hostaccess.MaxEmailLen,
		"CreateAccountRequest.owner_name": hostaccess.MaxNameLen, "CreateAccountRequest.host_id": hostaccess.MaxIDLen,
		"AcceptRequest.token": hostaccess.MaxTokenLen, "AcceptRequest.user_id": hostaccess.MaxIDLen,
		"AcceptRequest.email": hostaccess.MaxEmailLen, "AcceptRequest.display_name": hostaccess.MaxNameLen,
		"InviteRequest.email":     hostaccess.MaxEmailLen,
		"AddOwnerRequest.user_id": hostaccess.MaxIDLen, "TransferRequest.to": hostaccess.MaxIDLen,
		"AddProductRequest.name": hostaccess.MaxIDLen, "AddProductRequest.groups": hostaccess.MaxIDLen, "AddProductRequest.tags": hostaccess.MaxIDLen,
		"ProductScope.products": hostaccess.MaxIDLen, "ProductScope.groups": hostaccess.MaxIDLen, "ProductScope.tags": hostaccess.MaxIDLen,
		"ContactInput.name": hostaccess.MaxNameLen, "ContactInput.email": hostaccess.MaxEmailLen, "ContactInput.phone": hostaccess.MaxPhoneLen,
	}
	for field, want := range fields {
		t.Run(field, func(t *testing.T) {
			schema, prop, _ := strings.Cut(field, ".")
			props, ok := doc.Components.Schemas[schema]["properties"].(map[string]any)
			require.True(t, ok, "schema %s", schema)
			require.Equal(t, want, maxLength(t, props[prop]))
		})
	}
	params := map[string]int{
		"Account": hostaccess.MaxIDLen, "Product": hostaccess.MaxIDLen, "Group": hostaccess.MaxIDLen,
		"Tag": hostaccess.MaxIDLen, "User": hostaccess.MaxIDLen,
	}
	for name, want := range params {
		require.Equal(t, want, maxLength(t, doc.Components.Parameters[name]["schema"]), name)
	}
	// Every e-mail and date-time the API reads says so.
	for name, schema := range doc.Components.Schemas {
		props, _ := schema["properties"].(map[string]any)
		for prop, v := range props {
			p, _ := v.(map[string]any)
			if p["format"] == "email" && strings.HasSuffix(name, "Request") {
				require.Equal(t, hostaccess.MaxEmailLen, maxLength(t, p), name+"."+prop)
			}
		}
	}
	require.Equal(t, "date-time", doc.Components.Schemas["Access"]["properties"].(map[string]any)["expires_at"].(map[string]any)["format"])
	for path, ops := range doc.Paths {
		for method, op := range ops {
			_, hasBody := op["requestBody"]
			_, has415 := op["responses"].(map[string]any)["415"]
			require.Equal(t, hasBody, has415, "%s %s: 415 is documented iff the route reads a body", method, path)
		}
	}
	var codes []string
	for _, c := range doc.Components.Schemas["Problem"]["properties"].(map[string]any)["code"].(map[string]any)["enum"].([]any) {
		codes = append(codes, c.(string))
	}
	var served []string
	for code := range problemKinds {
		served = append(served, code)
	}
	require.ElementsMatch(t, served, codes, "Problem.code lists every code errors.go answers")
}
