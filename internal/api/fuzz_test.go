package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/hostaccess/hostaccess/internal/testengine"
	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// FuzzDecode: the strict decoder accepts only what plain encoding/json reads
// the same way, with every key spelled as declared, and refuses the rest
// with a client error (never a panic, never a server error).
func FuzzDecode(f *testing.F) {
	for _, seed := range []struct{ contentType, body string }{
		{"application/json", `{"email":"carol@example.com","access":{"rights":["billing"]}}`},
		{"application/json; charset=utf-8", `{"email":"dave@example.com","access":{"technical":{"products":["site"]},"expires_at":"2027-01-01T00:00:00Z"}}`},
		{"application/json", `{"email":"a@b.c","EMAIL":"x@evil.example"}`},
		{"application/json", `{"email":"a@b.c","email":"x@evil.example"}`},
		{"application/json", `null`},
		{"application/json", `{"access":null}`},
		{"application/json", `{"email":"a\u0000@b.c"}`},
		{"application/json", `{"access":{"expires_at":"0001-01-01T00:00:00Z"}} {}`},
		{"text/plain", `{"email":"a@b.c"}`},
		{"application/json", `{"id":"acme","owner_id":"alice","owner_email":"alice@acme.test","delegated":null}`},
		{"application/json", "{\"id\":\"\xff\"}"},
		{"application/json", `[{"id":"acme"}]`},
	} {
		f.Add(seed.contentType, seed.body)
	}
	f.Fuzz(func(t *testing.T, contentType, body string) {
		for _, dst := range []any{&wire.InviteRequest{}, &wire.CreateAccountRequest{}, &wire.AcceptRequest{}} {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			r.Header.Set("Content-Type", contentType)
			err := decode(r, dst)
			if err != nil {
				if code := codeOf(err); code != hostaccess.CodeInvalidArgument && code != wire.CodeUnsupportedMedia {
					t.Fatalf("decode(%q) into %T: %v is not a client error (%s)", body, dst, err, code)
				}
				continue
			}
			// What the strict decoder read, plain encoding/json reads alike.
			plain := reflect.New(reflect.TypeOf(dst).Elem()).Interface()
			if err := json.Unmarshal([]byte(body), plain); err != nil {
				t.Fatalf("decode accepted %q into %T, which encoding/json refuses: %v", body, dst, err)
			}
			if !reflect.DeepEqual(dst, plain) {
				t.Fatalf("decode(%q) into %T = %+v; encoding/json reads %+v", body, dst, dst, plain)
			}
			// Every top-level key is a declared name, spelled exactly.
			var keys map[string]json.RawMessage
			if err := json.Unmarshal([]byte(body), &keys); err != nil {
				t.Fatalf("decode accepted %q, which is not an object: %v", body, err)
			}
			declared := jsonFieldTypes(reflect.TypeOf(dst).Elem())
			for k := range keys {
				if _, ok := declared[k]; !ok {
					t.Fatalf("decode accepted key %q, not a field of %T", k, dst)
				}
			}
		}
	})
}

// FuzzHandler sends any request to the API over a real stack: whatever the
// method, path, actor and body, the answer is never a server error, and a
// refusal is a problem+json document.
func FuzzHandler(f *testing.F) {
	svc, _ := testengine.NewService(f, nil)
	handler := NewHandler(svc, map[string]string{testKey: testCaller}, zap.NewNop())
	// A first account, so flows have something to act on.
	if _, err := svc.CreateAccount(f.Context(), hostaccess.System(testCaller), hostaccess.NewAccount{ID: "acme", Name: "Acme", OwnerID: "alice", OwnerEmail: "alice@acme.test"}); err != nil {
		f.Fatal(err)
	}
	for _, seed := range []struct{ method, path, actor, body string }{
		{"POST", "/v1/accounts", "service", `{"id":"globex","name":"Globex","owner_id":"bob","owner_email":"bob@globex.test"}`},
		{"POST", "/v1/accounts/acme/invitations", "user:alice", `{"email":"carol@example.com","access":{"rights":["billing"]}}`},
		{"POST", "/v1/invitations/accept", "", `{"token":"00","user_id":"carol","email":"carol@example.com","email_verified":true}`},
		{"PUT", "/v1/accounts/acme/members/carol/access", "user:alice", `{"rights":["domains"],"expires_at":"2001-01-01T00:00:00Z"}`},
		{"PUT", "/v1/accounts/acme/members/carol/access", "user:alice", `null`},
		{"DELETE", "/v1/accounts/acme/members/alice", "user:alice", ""},
		{"POST", "/v1/accounts/acme/products", "user:alice", `{"name":"site","tags":["client-x"]}`},
		{"PUT", "/v1/accounts/acme/products/site/tags/client-x", "user:mallory", ""},
		{"POST", "/v1/accounts/acme/contacts", "user:alice", `{"name":"Renewals\u0000","email":"r@acme.test"}`},
		{"PUT", "/v1/accounts/acme/admin-cap", "user:alice", `{"cap":-1}`},
		{"GET", "/v1/accounts/acme/members", "user:alice", ""},
		{"GET", "/v1/accounts/x/../acme/members", "user:alice", ""},
		{"GET", "//v1/accounts", "user:alice", ""},
		{"GET", "/v1/who-can?resource=account:acme&permission=pay_invoices", "service", ""},
		{"GET", "/v1/accounts/acme/audit?limit=99999999999999999999", "user:alice", ""},
		{"POST", "/v1/check", "", `{"resource":"account:acme","permission":"manage_users","subject":"user:alice"}`},
		{"GET", "/v1/users/%00/accounts", "user:alice", ""},
		{"PATCH", "/v1/accounts/acme", "user:alice", "{}"},
	} {
		f.Add(seed.method, seed.path, seed.actor, seed.body)
	}
	f.Fuzz(func(t *testing.T, method, path, actor, body string) {
		if _, err := url.ParseRequestURI(path); err != nil || !strings.HasPrefix(path, "/") {
			return // not a request a server could receive
		}
		r, err := http.NewRequest(method, "http://hostaccess.test"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		r.RequestURI = path
		r.Header.Set("Authorization", "Bearer "+testKey)
		r.Header.Set("Content-Type", "application/json")
		if actor != "" {
			r.Header.Set(ActorHeader, actor)
		}
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s as %q with %q: %d %s", method, path, actor, body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("%s %s: %d with Content-Type %q, want application/problem+json", method, path, w.Code, ct)
			}
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("%s %s: %d with a body that is not JSON: %q", method, path, w.Code, w.Body)
			}
		}
	})
}
