package cli_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/cli"
)

// seenRequest is what a fake server saw of one request.
type seenRequest struct {
	method, path, query, auth, actor, body string
}

// fakeAPI answers every request with status and body, recording it.
func fakeAPI(t *testing.T, status int, body string) (string, func() []seenRequest) {
	t.Helper()
	var mu sync.Mutex
	var seen []seenRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, seenRequest{
			method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery,
			auth: r.Header.Get("Authorization"), actor: r.Header.Get("X-Hostaccess-Actor"), body: string(data),
		})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []seenRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]seenRequest(nil), seen...)
	}
}

func TestBadValuesAreRefusedBeforeAnyRequest(t *testing.T) {
	url, seen := fakeAPI(t, http.StatusOK, `{}`)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown right", []string{"invite", "create", "acme", "a@example.com", "--right", "superpowers"}, `invalid --right "superpowers": use one of billing, support`},
		{"unknown right in a list", []string{"member", "set", "acme", "carol", "--right", "billing,root"}, `invalid --right "root"`},
		{"expiry not RFC 3339", []string{"invite", "create", "acme", "a@example.com", "--expires", "tomorrow"}, `invalid --expires "tomorrow": want RFC 3339`},
		{"date without time", []string{"member", "set", "acme", "carol", "--expires", "2026-12-31"}, `invalid --expires "2026-12-31"`},
		{"unknown notification", []string{"member", "set", "acme", "carol", "--notify", "newsletter"}, `invalid --notify "newsletter"`},
		{"unknown contact notification", []string{"contact", "add", "acme", "--name", "Bob", "--email", "b@example.com", "--notify", "spam"}, `invalid --notify "spam"`},
		{"contact edit checks before reading", []string{"contact", "edit", "acme", "x1", "--notify", "spam"}, `invalid --notify "spam"`},
		{"contact without e-mail", []string{"contact", "add", "acme", "--name", "Bob"}, "--name and --email are required"},
		{"unknown recipients category", []string{"recipients", "acme", "newsletter"}, `invalid category "newsletter"`},
		{"malformed actor", []string{"product", "list", "acme", "--actor", "alice"}, `invalid --actor "alice": use user:<id> or service`},
		{"empty user actor", []string{"product", "list", "acme", "--actor", "user:"}, `invalid --actor "user:"`},
		{"unknown output", []string{"product", "list", "acme", "--output", "yaml"}, `invalid --output "yaml"`},
		{"admin cap not a number", []string{"account", "admin-cap", "acme", "three"}, `invalid administrator cap "three"`},
		{"owner missing", []string{"account", "create", "acme"}, "--owner is required"},
		{"delegation without host", []string{"account", "create", "acme", "--owner", "alice", "--delegated"}, "--delegated needs --host"},
		{"transfer without target", []string{"account", "transfer", "acme", "--actor", "user:alice"}, "--to is required"},
		{"accept without login", []string{"invite", "accept", "tok", "--user", "carol"}, "--user and --email are required"},
		{"who-can without type", []string{"who-can", "acme", "manage"}, `invalid resource "acme": want TYPE:ID`},
		{"negative limit", []string{"audit", "acme", "--limit", "-1"}, "invalid --limit -1"},
		{"not an integer flag", []string{"audit", "acme", "--limit", "ten"}, `invalid argument "ten" for "--limit" flag`},
		{"no such flag", []string{"product", "list", "acme", "--verbose"}, "unknown flag: --verbose"},
		{"accept takes no actor", []string{"invite", "accept", "tok", "--user", "carol", "--email", "c@example.com", "--actor", "service"}, "unknown flag: --actor"},
		{"missing argument", []string{"product", "add", "acme"}, "accepts 2 arg(s), received 1"},
		{"request without reason", []string{"request", "create", "acme", "--right", "billing"}, "--reason is required"},
		{"request with a blank reason", []string{"request", "create", "acme", "--right", "billing", "--reason", "  "}, "--reason is required"},
		{"request with an unknown right", []string{"request", "create", "acme", "--right", "root", "--reason", "r"}, `invalid --right "root"`},
		{"unknown request status", []string{"request", "list", "acme", "--status", "lost"}, `invalid --status "lost"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(tt.args, "--api-url", url, "--api-key", "k")
			if !slices.Contains(args, "--actor") && !slices.Contains(args, "accept") {
				args = append(args, "--actor", "service")
			}
			r := runCLI(t, args...)
			require.Equal(t, cli.ExitError, r.code)
			require.Empty(t, r.out)
			require.True(t, strings.HasPrefix(r.errOut, "error: "), r.errOut)
			require.Contains(t, r.errOut, tt.want)
			require.Empty(t, seen(), "no request may be made")
		})
	}
}

// TestActorIsRequired: without --actor no command acts, not even as the
// trusted service (the old default, which bypassed every check).
func TestActorIsRequired(t *testing.T) {
	url, seen := fakeAPI(t, http.StatusOK, `{"products":[],"members":[]}`)
	t.Setenv("HOSTACCESS_ACTOR", "")
	for _, args := range [][]string{
		{"product", "list", "acme"},
		{"member", "set", "acme", "carol", "--right", "billing"},
		{"account", "create", "acme", "--owner", "alice"},
		{"invite", "revoke", "acme/0123456789abcdef"},
		{"who-can", "account:acme", "view"},
		{"accounts", "carol"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runCLI(t, append(args, "--api-url", url, "--api-key", "k")...)
			require.Equal(t, cli.ExitError, r.code)
			require.Empty(t, r.out)
			require.True(t, strings.HasPrefix(r.errOut, "error: --actor (or HOSTACCESS_ACTOR) is required: "), r.errOut)
			require.Empty(t, seen(), "no request may be made")
		})
	}
	// Explicit actors work, the trusted service included.
	for _, actor := range []string{"service", "user:alice"} {
		r := runCLI(t, "product", "list", "acme", "--api-url", url, "--api-key", "k", "--actor", actor)
		require.Equal(t, cli.ExitOK, r.code, r.errOut)
	}
	got := seen()
	require.Len(t, got, 2)
	require.Equal(t, "service", got[0].actor)
	require.Equal(t, "user:alice", got[1].actor)
}

func TestAPIKeyIsRequired(t *testing.T) {
	url, seen := fakeAPI(t, http.StatusOK, `{}`)
	t.Setenv("HOSTACCESS_API_KEY", "")
	r := runCLI(t, "product", "list", "acme", "--api-url", url)
	require.Equal(t, cli.ExitError, r.code)
	require.Equal(t, "error: --api-key (or HOSTACCESS_API_KEY) is required: the key the server knows the calling service by\n", r.errOut)
	require.Empty(t, seen())
}

func TestFlagsFromEnvironment(t *testing.T) {
	url, seen := fakeAPI(t, http.StatusOK, `{"products":[]}`)
	t.Setenv("HOSTACCESS_API_URL", url)
	t.Setenv("HOSTACCESS_API_KEY", "from-env")
	t.Setenv("HOSTACCESS_ACTOR", "user:alice")

	r := runCLI(t, "product", "list", "acme")
	require.Equal(t, cli.ExitOK, r.code, r.errOut)
	require.Equal(t, "NAME  ID  GROUPS  TAGS\n", r.out)
	// A flag wins over the environment.
	r = runCLI(t, "product", "list", "acme", "--actor", "service")
	require.Equal(t, cli.ExitOK, r.code, r.errOut)

	got := seen()
	require.Len(t, got, 2)
	require.Equal(t, seenRequest{method: "GET", path: "/v1/accounts/acme/products", auth: "Bearer from-env", actor: "user:alice"}, got[0])
	require.Equal(t, "service", got[1].actor)
}

func TestRequestsSent(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want seenRequest
	}{
		{
			name: "invite with every access flag",
			args: []string{
				"invite", "create", "acme", "dave@example.com", "--right", "billing", "--right", "support", "--administrator",
				"--product", "site", "--group", "web", "--tag", "client-x", "--view-product", "shop", "--notify", "renewals",
				"--expires", "2026-12-31T00:00:00Z",
			},
			want: seenRequest{
				method: "POST", path: "/v1/accounts/acme/invitations",
				body: `{"email":"dave@example.com","access":{"administrator":true,"rights":["billing","support"],` +
					`"technical":{"products":["site"],"groups":["web"],"tags":["client-x"]},"view":{"products":["shop"]},` +
					`"notifications":["renewals"],"expires_at":"2026-12-31T00:00:00Z"}}`,
			},
		},
		{
			name: "all products",
			args: []string{"member", "set", "acme", "dave", "--all-products"},
			want: seenRequest{method: "PUT", path: "/v1/accounts/acme/members/dave/access", body: `{"technical":{"all":true},"view":{}}`},
		},
		{
			name: "accept sends no actor",
			args: []string{"invite", "accept", "tok", "--user", "carol", "--email", "carol@example.com", "--email-verified"},
			want: seenRequest{
				method: "POST", path: "/v1/invitations/accept",
				body: `{"token":"tok","user_id":"carol","email":"carol@example.com","email_verified":true}`,
			},
		},
		{
			name: "access request",
			args: []string{"request", "create", "acme", "--right", "billing", "--product", "site", "--reason", "the invoices"},
			want: seenRequest{
				method: "POST", path: "/v1/accounts/acme/requests",
				body: `{"access":{"rights":["billing"],"technical":{"products":["site"]},"view":{}},"reason":"the invoices"}`,
			},
		},
		{
			name: "expired requests",
			args: []string{"request", "list", "acme", "--status", "expired"},
			want: seenRequest{method: "GET", path: "/v1/accounts/acme/requests", query: "status=expired"},
		},
		{
			name: "approve with a note",
			args: []string{"request", "approve", "acme/0123456789abcdef", "--note", "ok"},
			want: seenRequest{method: "POST", path: "/v1/accounts/acme/requests/0123456789abcdef/approve", body: `{"note":"ok"}`},
		},
		{
			name: "refuse",
			args: []string{"request", "refuse", "acme/0123456789abcdef"},
			want: seenRequest{method: "POST", path: "/v1/accounts/acme/requests/0123456789abcdef/refuse", body: `{}`},
		},
		{
			name: "delegation on",
			args: []string{"delegation", "on", "acme"},
			want: seenRequest{method: "PUT", path: "/v1/accounts/acme/delegation", body: `{"enabled":true}`},
		},
		{
			name: "contact removal with a short id",
			args: []string{"contact", "remove", "acme", "x1"},
			want: seenRequest{method: "DELETE", path: "/v1/accounts/acme/contacts/x1"},
		},
		{
			name: "recipients of a product",
			args: []string{"recipients", "acme", "renewals", "--product", "site"},
			want: seenRequest{method: "GET", path: "/v1/accounts/acme/recipients", query: "category=renewals&product=site"},
		},
		{
			name: "audit page",
			args: []string{"audit", "acme", "--limit", "5", "--before", "40"},
			want: seenRequest{method: "GET", path: "/v1/accounts/acme/audit", query: "before=40&limit=5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, seen := fakeAPI(t, http.StatusOK, `{}`)
			args := append(tt.args, "--api-url", url, "--api-key", "k", "-o", "json")
			if !slices.Contains(args, "accept") {
				args = append(args, "--actor", "service")
			}
			r := runCLI(t, args...)
			require.Equal(t, cli.ExitOK, r.code, r.errOut)
			got := seen()
			require.Len(t, got, 1)
			want := tt.want
			want.auth = "Bearer k"
			if want.path != "/v1/invitations/accept" {
				want.actor = "service"
			}
			if want.body != "" {
				require.JSONEq(t, want.body, got[0].body)
				want.body = got[0].body
			}
			require.Equal(t, want, got[0])
		})
	}
}

func TestUnreachableServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()

	r := runCLI(t, "member", "list", "acme", "--api-url", url, "--api-key", "k", "--actor", "service")
	require.Equal(t, cli.ExitError, r.code)
	require.True(t, strings.HasPrefix(r.errOut, "error: cannot reach hostaccess at "+url+": "), r.errOut)
}

func TestContactEditKeepsWhatIsNotGiven(t *testing.T) {
	// One answer serves both calls: the list, and the update (whose Result
	// ignores the rest).
	url, seen := fakeAPI(t, http.StatusOK, `{"contacts":[{"id":"acme/-x1","name":"Bob","email":"b@example.com","notifications":["billing"],"support_access":true}]}`)

	// A short id starting with "-" goes after "--".
	r := runCLI(t, "contact", "edit", "acme", "--phone", "+41 22", "--support=false", "--api-url", url, "--api-key", "k", "--actor", "service", "--", "-x1")
	require.Equal(t, cli.ExitOK, r.code, r.errOut)
	require.Equal(t, "contact acme/-x1 updated\n", r.out)
	got := seen()
	require.Len(t, got, 2)
	require.Equal(t, "GET", got[0].method)
	require.Equal(t, "/v1/accounts/acme/contacts", got[0].path)
	require.Equal(t, "PUT", got[1].method)
	require.Equal(t, "/v1/accounts/acme/contacts/-x1", got[1].path)
	require.JSONEq(t, `{"name":"Bob","email":"b@example.com","phone":"+41 22","notifications":["billing"]}`, got[1].body)

	r = runCLI(t, "contact", "edit", "acme", "acme/nope", "--name", "X", "--api-url", url, "--api-key", "k", "--actor", "service")
	require.Equal(t, cli.ExitError, r.code)
	require.Equal(t, "error: account acme has no contact acme/nope (see contact list)\n", r.errOut)
	require.Len(t, seen(), 3, "no update of a contact that is not there")
}
