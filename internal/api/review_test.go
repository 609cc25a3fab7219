package api

import (
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hostaccess/hostaccess/internal/testengine"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// newReviewAPI is newScopedAPI over a stack whose engine the test writes
// host staff to (provider-side relationships, not written by the flows).
func newReviewAPI(t *testing.T) (*apiClient, func(relation, userID string)) {
	t.Helper()
	eng, uri := testengine.StartEngineWithDatabase(t)
	svc, err := hostaccess.New(hostaccess.Config{Engine: eng.Client, Directory: testengine.NewDirectory(t, uri)})
	require.NoError(t, err)
	set, err := NewKeySet([]Key{mustKey(t, testCaller+"="+testKey), mustKey(t, "auditor:read="+auditorKey), mustKey(t, "billing:write="+writerKey)})
	require.NoError(t, err)
	srv := httptest.NewServer(NewHandlerWithKeys(svc, NewKeyring(set), zaptest.NewLogger(t)))
	t.Cleanup(srv.Close)
	hostPerson := func(relation, userID string) {
		_, err := eng.Client.WriteRelationships(t.Context(), &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
			Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
			Relationship: &v1.Relationship{
				Resource: &v1.ObjectReference{ObjectType: "host", ObjectId: "nordhost"}, Relation: relation,
				Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: userID}},
			},
		}}})
		require.NoError(t, err)
	}
	return &apiClient{t: t, base: srv.URL, key: testKey}, hostPerson
}

func TestAccessReviewOverHTTP(t *testing.T) {
	c, hostPerson := newReviewAPI(t)
	c.createAccount("acme", "alice")
	c.addProduct("user:alice", "acme", "site", []string{"web"}, []string{"client-x"})
	ends := time.Now().UTC().Add(3 * 24 * time.Hour).Truncate(time.Second)
	c.join("user:alice", "acme", "carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}, ExpiresAt: &ends})
	c.join("user:alice", "acme", "dave", hostaccess.Access{Technical: hostaccess.ProductScope{Groups: []string{"web"}, Tags: []string{"client-x"}}})
	ok[map[string]any](t, c.call("POST", "/v1/accounts/acme/contacts", "user:alice", map[string]any{"name": "Renewals", "email": "renew@acme.test", "notifications": []string{"renewals"}}), http.StatusCreated)
	hostPerson("admin", "hank")

	t.Run("json", func(t *testing.T) {
		rv := ok[hostaccess.AccessReview](t, c.call("GET", "/v1/accounts/acme/review", "user:alice", nil), http.StatusOK)
		require.Equal(t, "acme", rv.AccountID)
		require.NotEmpty(t, rv.At)
		require.True(t, rv.Delegated)
		held := map[string]string{}
		for _, l := range rv.Lines {
			held[l.UserID+" "+l.Right+" "+l.Scope] = l.Held
			require.NotEqual(t, "contact", l.Role)
		}
		require.Equal(t, "ownership", held["alice billing account"])
		require.Equal(t, "direct", held["carol billing account"])
		require.Equal(t, "group", held["dave technical group web"])
		require.Equal(t, "tag", held["dave technical tag client-x"])
		require.Equal(t, "delegation", held["hank user_management account"])
		require.Equal(t, 4, rv.People, "alice, carol, dave, hank: the contact never")

		soon := ok[hostaccess.AccessReview](t, c.call("GET", "/v1/accounts/acme/review?expiring_within_days=7", "user:alice", nil), http.StatusOK)
		require.Len(t, soon.Lines, 1)
		require.Equal(t, "carol", soon.Lines[0].UserID)
		require.True(t, ends.Equal(*soon.Lines[0].Ends))
		require.Equal(t, 7, soon.Filter.ExpiringWithinDays)

		deleg := ok[hostaccess.AccessReview](t, c.call("GET", "/v1/accounts/acme/review?delegation=true", "user:alice", nil), http.StatusOK)
		require.Len(t, deleg.Lines, 1)
		require.Equal(t, "hank", deleg.Lines[0].UserID)

		old := ok[hostaccess.AccessReview](t, c.call("GET", "/v1/accounts/acme/review?granted_before_days=1", "user:alice", nil), http.StatusOK)
		require.Empty(t, old.Lines, "everything was granted just now")
	})

	t.Run("csv", func(t *testing.T) {
		r := c.call("GET", "/v1/accounts/acme/review?format=csv&expiring_within_days=7", "user:alice", nil)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		require.Equal(t, "text/csv; charset=utf-8", r.header.Get("Content-Type"))
		require.Contains(t, r.header.Get("Content-Disposition"), `attachment; filename=access-review-acme-`)
		rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
		require.NoError(t, err)
		require.Equal(t, reviewColumns, rows[0])
		require.Len(t, rows, 2)
		require.Equal(t, []string{"acme", "carol", "carol@example.com", "carol", "member", "billing", "account", "direct", "", "user:alice"}, rows[1][:10])
		require.Equal(t, ends.Format(time.RFC3339), rows[1][11])
	})

	t.Run("html", func(t *testing.T) {
		r := c.call("GET", "/v1/accounts/acme/review?format=html", "user:alice", nil)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		require.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
		page := string(r.body)
		require.Contains(t, page, "<title>Access review: Acme (acme)")
		require.Contains(t, page, "@media print")
		require.Contains(t, page, "Signature")
		require.Contains(t, page, "group (web)")
		require.Contains(t, page, "delegation (host:nordhost)")
		require.NotContains(t, page, "renew@acme.test", "a contact is not an access holder")
	})

	t.Run("refused", func(t *testing.T) {
		for _, who := range []string{"user:carol", "user:mallory"} {
			p := problem(t, c.call("GET", "/v1/accounts/acme/review", who, nil), http.StatusForbidden, "forbidden")
			require.Contains(t, p.Detail, "review the access to acme")
			problem(t, c.call("GET", "/v1/accounts/acme/review?format=csv", who, nil), http.StatusForbidden, "forbidden")
		}
		writer := &apiClient{t: t, base: c.base, key: writerKey}
		p := problem(t, writer.call("GET", "/v1/accounts/acme/review?format=html", "service", nil), http.StatusForbidden, "insufficient_scope")
		require.Contains(t, p.Detail, "read scope")
		stranger := &apiClient{t: t, base: c.base, key: "not-a-key-0123456789"}
		problem(t, stranger.call("GET", "/v1/accounts/acme/review", "service", nil), http.StatusUnauthorized, "unauthenticated")
		auditor := &apiClient{t: t, base: c.base, key: auditorKey}
		require.NotEmpty(t, ok[hostaccess.AccessReview](t, auditor.call("GET", "/v1/accounts/acme/review", "service", nil), http.StatusOK).Lines, "a read key reviews")

		for _, q := range []string{"format=pdf", "format=", "expiring_within_days=0", "expiring_within_days=3651", "granted_before_days=-1", "granted_before_days=x", "delegation=maybe"} {
			problem(t, c.call("GET", "/v1/accounts/acme/review?"+q, "user:alice", nil), http.StatusBadRequest, "invalid_argument")
		}
	})
}

// The page escapes what people type: a display name is not markup, and a
// cell a spreadsheet would run is made inert.
func TestAccessReviewEscapesWhatPeopleType(t *testing.T) {
	rv := hostaccess.AccessReview{AccountID: "acme", AccountName: "<b>Acme</b>", Lines: []hostaccess.ReviewLine{{
		UserID: "=cmd", DisplayName: `<script>alert(1)</script>`, Email: "@x", Role: "member", Right: "billing", Scope: "account", Held: "direct",
	}}}
	page, err := reviewHTMLOf(rv)
	require.NoError(t, err)
	require.NotContains(t, string(page), "<script>alert")
	require.Contains(t, string(page), "&lt;script&gt;alert(1)&lt;/script&gt;")
	require.NotContains(t, string(page), "<b>Acme</b>")

	body, err := reviewCSVOf(rv)
	require.NoError(t, err)
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"acme", "'=cmd", "'@x", "<script>alert(1)</script>"}, rows[1][:4])
}
