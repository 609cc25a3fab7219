package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hostaccess/hostaccess/internal/testengine"
	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

const (
	testKey    = "k-panel-0123456789"
	testCaller = "panel"
)

// apiClient calls a test server as one calling service.
type apiClient struct {
	t    *testing.T
	base string
	key  string
}

// response is what a call got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// newTestAPI serves NewHandler over a real embedded SpiceDB and a memory
// directory, and returns a client holding a valid key.
func newTestAPI(t *testing.T) (*apiClient, *testutil.Clock) {
	t.Helper()
	svc, clock := testengine.NewService(t, nil)
	srv := httptest.NewServer(NewHandler(svc, map[string]string{testKey: testCaller, "k-billing-abcdef": "billing"}, zaptest.NewLogger(t)))
	t.Cleanup(srv.Close)
	return &apiClient{t: t, base: srv.URL, key: testKey}, clock
}

// call sends body (nil: none; string: as is; anything else: as JSON) with
// the actor header when actor is not empty.
func (c *apiClient) call(method, path, actor string, body any) response {
	c.t.Helper()
	return c.send(method, path, actor, body, nil)
}

// callWith is call without a body and with extra headers.
func (c *apiClient) callWith(method, path, actor string, headers map[string]string) response {
	c.t.Helper()
	return c.send(method, path, actor, nil, headers)
}

func (c *apiClient) send(method, path, actor string, body any, headers map[string]string) response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(c.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if actor != "" {
		req.Header.Set(ActorHeader, actor)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	requireDocumented(c.t, req, resp.StatusCode, resp.Header, raw)
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

// ok asserts a success status and decodes the JSON answer.
func ok[T any](t *testing.T, r response, status int) T {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	var out T
	require.NoError(t, json.Unmarshal(r.body, &out), "body: %s", r.body)
	return out
}

// problem asserts an RFC 9457 answer with status and code, and returns it.
func problem(t *testing.T, r response, status int, code string) wire.Problem {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
	var p wire.Problem
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&p), "body: %s", r.body)
	require.Equal(t, code, p.Code, "detail: %s", p.Detail)
	require.Equal(t, status, p.Status)
	require.Equal(t, "https://hostaccess.dev/problems/"+code, p.Type)
	require.NotEmpty(t, p.Title)
	require.NotEmpty(t, p.Detail)
	return p
}

// The flows the tests repeat.

func (c *apiClient) createAccount(id, owner string) {
	c.t.Helper()
	ok[hostaccess.Result](c.t, c.call("POST", "/v1/accounts", "service", map[string]any{
		"id": id, "name": strings.ToUpper(id[:1]) + id[1:], "owner_id": owner,
		"owner_email": owner + "@example.com", "owner_name": owner, "host_id": "nordhost",
	}), http.StatusCreated)
}

func (c *apiClient) addProduct(actor, account, name string, groups, tags []string) {
	c.t.Helper()
	ok[hostaccess.Result](c.t, c.call("POST", "/v1/accounts/"+account+"/products", actor,
		map[string]any{"name": name, "groups": groups, "tags": tags}), http.StatusCreated)
}

func (c *apiClient) invite(actor, account, email string, access hostaccess.Access) hostaccess.InvitationLink {
	c.t.Helper()
	link := ok[hostaccess.InvitationLink](c.t, c.call("POST", "/v1/accounts/"+account+"/invitations", actor,
		map[string]any{"email": email, "access": access}), http.StatusCreated)
	require.NotEmpty(c.t, link.Token)
	return link
}

func acceptBody(token, user, email string, verified bool) map[string]any {
	return map[string]any{"token": token, "user_id": user, "email": email, "email_verified": verified, "display_name": user}
}

func (c *apiClient) accept(token, user, email string) hostaccess.Acceptance {
	c.t.Helper()
	return ok[hostaccess.Acceptance](c.t, c.call("POST", "/v1/invitations/accept", "", acceptBody(token, user, email, true)), http.StatusOK)
}

// join invites user (as user@example.com) with access and accepts.
func (c *apiClient) join(inviter, account, user string, access hostaccess.Access) {
	c.t.Helper()
	link := c.invite(inviter, account, user+"@example.com", access)
	c.accept(link.Token, user, user+"@example.com")
}

func (c *apiClient) can(resource, permission, subject, fresh string) bool {
	c.t.Helper()
	body := map[string]any{"resource": resource, "permission": permission, "subject": subject}
	if fresh != "" {
		body["at_least_as_fresh"] = fresh
	}
	return ok[hostaccess.Answer](c.t, c.call("POST", "/v1/check", "", body), http.StatusOK).Allowed
}

// invitationPath is the path of an invitation, from its full id.
func invitationPath(id string) string {
	account, name, _ := strings.Cut(id, "/")
	return "/v1/accounts/" + account + "/invitations/" + name
}
