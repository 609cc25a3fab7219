package stack_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/engine"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
	"github.com/hostaccess/hostaccess/pkg/stack"
	"github.com/hostaccess/hostaccess/schema"
)

func start(t *testing.T, s *stack.Server) *stack.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.Engine.DisableDatastoreMetrics = true
	require.NoError(t, s.Start(ctx))
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestTheZeroServerRunsTheWholeStackInProcess(t *testing.T) {
	s := start(t, &stack.Server{})
	ctx := context.Background()
	require.NoError(t, s.Ready(ctx))
	require.NotNil(t, s.Freshness(), "tokens are the default consistency")
	require.False(t, s.SpiceDB().Remote())

	svc := s.Service()
	_, err := svc.CreateAccount(ctx, hostaccess.System("panel"), hostaccess.NewAccount{ID: "acme", Name: "Acme", OwnerID: "alice"})
	require.NoError(t, err)
	answer, err := svc.Can(ctx, hostaccess.Check{Resource: "account:acme", Permission: "close", Subject: "user:alice"}, hostaccess.CheckOptions{})
	require.NoError(t, err)
	require.True(t, answer.Allowed)
	answer, err = svc.Can(ctx, hostaccess.Check{Resource: "account:acme", Permission: "close", Subject: "user:mallory"}, hostaccess.CheckOptions{})
	require.NoError(t, err)
	require.False(t, answer.Allowed)
}

func TestTheHandlerServesTheAPIToItsKeysOnly(t *testing.T) {
	s := start(t, &stack.Server{APIKeys: []string{"panel=panel-secret-0123456789"}})
	require.Equal(t, []string{"panel:read+write"}, s.APIKeyNames())
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	call := func(key, method, path, body string) (int, string) {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		req.Header.Set("X-Hostaccess-Actor", "service")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, _ := call("panel-secret-0123456789", "POST", "/v1/accounts", `{"id":"acme","name":"Acme","owner_id":"alice","owner_email":"alice@example.com"}`)
	require.Equal(t, http.StatusCreated, status)
	status, body := call("panel-secret-0123456789", "GET", "/v1/users/bob/reach", "")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `"products":[]`, "no products is an empty list, not null")
	status, _ = call("wrong", "GET", "/v1/users/bob/reach", "")
	require.Equal(t, http.StatusUnauthorized, status)
	status, _ = call("panel-secret-0123456789", "GET", "/openapi.json", "")
	require.Equal(t, http.StatusOK, status)
}

func TestAServerWithoutKeysRefusesEveryCall(t *testing.T) {
	s := start(t, &stack.Server{})
	req := httptest.NewRequest("GET", "/v1/users/bob/reach", nil)
	req.Header.Set("Authorization", "Bearer anything")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
}

func TestASchemaLackingANameTheCodeUsesStopsTheStart(t *testing.T) {
	renamed := strings.Replace(schema.Hosting, "permission pay_invoices =", "permission pay_bills =", 1)
	s := &stack.Server{Schema: renamed}
	err := s.Start(context.Background())
	require.ErrorContains(t, err, "account#pay_invoices")
	require.ErrorContains(t, err, "refusing to start")
	require.NoError(t, s.Close())
}

func TestBadSettingsAreRefusedBeforeAnythingStarts(t *testing.T) {
	for name, tc := range map[string]struct {
		server func() *stack.Server
		want   string
	}{
		"consistency":   {func() *stack.Server { return &stack.Server{Consistency: "eventual"} }, `unknown consistency "eventual"`},
		"api key":       {func() *stack.Server { return &stack.Server{APIKeys: []string{"no-equals-sign"}} }, "--api-keys"},
		"datastore":     {func() *stack.Server { return &stack.Server{Engine: engine.Config{DatastoreEngine: "mysql"}} }, `unknown --datastore-engine "mysql"`},
		"directory uri": {func() *stack.Server { return &stack.Server{DirectoryURI: "postgres://nowhere/db"} }, "--directory-conn-uri"},
		"dispatch on memory": {func() *stack.Server {
			return &stack.Server{Engine: engine.Config{DispatchAddr: "127.0.0.1:50053", DispatchUpstreamAddr: "127.0.0.1:50053,127.0.0.1:50063"}}
		}, "the memory datastore lives in one process"},
		"postgres no uri": {func() *stack.Server {
			return &stack.Server{Engine: engine.Config{DatastoreEngine: engine.EnginePostgres}}
		}, "--datastore-conn-uri is required"},
	} {
		t.Run(name, func(t *testing.T) {
			s := tc.server()
			require.ErrorContains(t, s.Start(context.Background()), tc.want)
			require.Nil(t, s.Service())
			require.NoError(t, s.Close())
		})
	}
}

func TestAFailedStartClosesWhatItOpened(t *testing.T) {
	s := &stack.Server{Engine: engine.Config{
		DatastoreEngine: engine.EnginePostgres,
		DatastoreURI:    "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1",
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.Error(t, s.Start(ctx))
	require.Nil(t, s.Service())
	require.NoError(t, s.Close())
}

func TestStartTwiceIsRefused(t *testing.T) {
	s := start(t, &stack.Server{})
	require.ErrorContains(t, s.Start(context.Background()), "Start called twice")
}
