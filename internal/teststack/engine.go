// Package teststack starts the whole hostaccess stack for tests: SpiceDB
// in-process and a directory, in memory or on a fresh migrated Postgres
// database when HOSTACCESS_TEST_POSTGRES_URI is set.
package teststack

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hostaccess/hostaccess/internal/engine"
	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/directory/memory"
	"github.com/hostaccess/hostaccess/pkg/directory/postgres"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
	"github.com/hostaccess/hostaccess/schema"
)

// StartEngine runs an embedded SpiceDB with the hosting schema for one test,
// stopped when the test ends: on the memory datastore, or on a fresh
// migrated Postgres database when HOSTACCESS_TEST_POSTGRES_URI is set.
func StartEngine(t testing.TB) *engine.Engine {
	t.Helper()
	eng, _ := startEngine(t)
	return eng
}

// StartEngineWithDatabase is StartEngine, also returning the Postgres
// database it runs on ("" in memory) for the test's directory.
func StartEngineWithDatabase(t testing.TB) (*engine.Engine, string) {
	t.Helper()
	return startEngine(t)
}

func startEngine(t testing.TB) (*engine.Engine, string) {
	t.Helper()
	cfg := engine.Config{
		DatastoreEngine: engine.EngineMemory,
		GRPCAddr:        testutil.FreeAddr(t),
		PresharedKey:    "test-key",
		// Tests run many engines in one process, and many processes on one
		// Postgres: small pools keep them under its max_connections.
		DisableDatastoreMetrics: true,
		ReadPoolMaxOpen:         4,
		WritePoolMaxOpen:        2,
	}
	if testutil.UsePostgres() {
		cfg.DatastoreEngine = engine.EnginePostgres
		cfg.DatastoreURI = MigratedDatabase(t)
		cfg.SkipMigrations = true
	}
	ctx, cancel := context.WithCancel(context.Background())
	eng, err := engine.Open(ctx, cfg, zap.NewNop())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("engine did not stop in time")
		}
		_ = eng.Close()
	})
	startCtx, startCancel := context.WithTimeout(ctx, 30*time.Second)
	defer startCancel()
	if _, err := eng.EnsureSchema(startCtx, schema.Hosting); err != nil {
		t.Fatal(err)
	}
	return eng, cfg.DatastoreURI
}

// NewDirectory opens a directory for one test: in memory, or in the test's
// Postgres database when it has one.
func NewDirectory(t testing.TB, uri string) directory.Store {
	t.Helper()
	if uri == "" {
		return memory.New()
	}
	store, err := postgres.Open(context.Background(), uri, postgres.PoolConfig{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

// NewService starts an engine and a directory (memory, or Postgres when
// HOSTACCESS_TEST_POSTGRES_URI is set) and returns a service over them,
// with the clock it uses.
func NewService(t testing.TB, mailer hostaccess.InvitationMailer) (*hostaccess.Service, *testutil.Clock) {
	t.Helper()
	eng, uri := startEngine(t)
	clock := testutil.NewClock()
	svc, err := hostaccess.New(hostaccess.Config{
		Engine:            eng.Client,
		Directory:         NewDirectory(t, uri),
		InviteURLTemplate: "https://panel.example.com/invite/{token}",
		Mailer:            mailer,
		Now:               clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc, clock
}
