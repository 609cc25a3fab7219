// Package testengine starts the parts of hostaccess for tests that need
// them one by one: SpiceDB in-process, directories, freshness trackers, and
// fresh migrated Postgres databases when HOSTACCESS_TEST_POSTGRES_URI is
// set. Tests of the whole stack use internal/teststack, built on pkg/stack.
package testengine

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/directory/memory"
	"github.com/hostaccess/hostaccess/pkg/directory/postgres"
	"github.com/hostaccess/hostaccess/pkg/engine"
	"github.com/hostaccess/hostaccess/pkg/freshness"
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
	uri := ""
	if testutil.UsePostgres() {
		uri = MigratedDatabase(t)
	}
	return startEngineOn(t, uri, nil), uri
}

// startEngineOn starts an engine on the given database (memory when ""),
// with the tracker's write observers when tracker is set.
func startEngineOn(t testing.TB, uri string, tracker *freshness.Tracker) *engine.Engine {
	t.Helper()
	return startEngineWith(t, uri, tracker, 50*time.Millisecond)
}

// StartEngineWithTracker starts an engine (memory, or a fresh Postgres
// database when HOSTACCESS_TEST_POSTGRES_URI is set) whose API reports its
// writes to tracker, with the given quantization window, and the database
// ("" in memory).
func StartEngineWithTracker(t testing.TB, tracker *freshness.Tracker, quantization time.Duration) (*engine.Engine, string) {
	t.Helper()
	uri := ""
	if testutil.UsePostgres() {
		uri = MigratedDatabase(t)
	}
	return startEngineWith(t, uri, tracker, quantization), uri
}

// EngineConfig is SpiceDB for a test: in-process without a port, on
// memory or the given migrated Postgres database.
func EngineConfig(uri string, quantization time.Duration) engine.Config {
	cfg := engine.Config{
		DatastoreEngine: engine.EngineMemory,
		// Tests run many engines in one process, and many processes on one
		// Postgres: small pools keep them under its max_connections.
		DisableDatastoreMetrics: true,
		ReadPoolMaxOpen:         4,
		WritePoolMaxOpen:        2,
		// A short quantization makes stale answers likely within a test's
		// milliseconds (SpiceDB's 5 s would hide them until the datastore
		// is older than one window), so freshness bugs show.
		RevisionQuantization: quantization,
	}
	if uri != "" {
		cfg.DatastoreEngine = engine.EnginePostgres
		cfg.DatastoreURI = uri
		cfg.SkipMigrations = true
		cfg.WatchInterval = 100 * time.Millisecond
	}
	return cfg
}

func startEngineWith(t testing.TB, uri string, tracker *freshness.Tracker, quantization time.Duration) *engine.Engine {
	t.Helper()
	cfg := EngineConfig(uri, quantization)
	cfg.Freshness = tracker
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
	return eng
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

// NewTracker builds a freshness tracker for an engine on Postgres or in
// memory, keeping its tokens in store (capacity 0: the default).
func NewTracker(t testing.TB, store directory.Freshness, onPostgres bool, capacity int) *freshness.Tracker {
	t.Helper()
	kind := engine.EngineMemory
	if onPostgres {
		kind = engine.EnginePostgres
	}
	tracker, err := freshness.New(freshness.Config{DatastoreEngine: kind, Store: store, Capacity: capacity})
	if err != nil {
		t.Fatal(err)
	}
	return tracker
}

// Follow runs the tracker's watch on the engine until the test ends, and
// waits until it is live.
func Follow(t testing.TB, tracker *freshness.Tracker, eng *engine.Engine) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tracker.Follow(ctx, eng.Client) }()
	t.Cleanup(func() { cancel(); <-done })
	if err := tracker.WaitFollowing(ctx, 20*time.Second); err != nil {
		t.Fatalf("%v (ALTER SYSTEM SET track_commit_timestamp = on, then restart Postgres)", err)
	}
}

// NewService builds a service over an engine and a directory of its own
// (memory, or Postgres when HOSTACCESS_TEST_POSTGRES_URI is set), with
// freshness tokens: for the tests of internal/api, which pkg/stack imports
// and whose own tests therefore cannot start the stack. Every other test
// uses internal/teststack.
func NewService(t testing.TB, mailer hostaccess.InvitationMailer) (*hostaccess.Service, *testutil.Clock) {
	t.Helper()
	clock := testutil.NewClock()
	uri := ""
	if testutil.UsePostgres() {
		uri = MigratedDatabase(t)
	}
	dir := NewDirectory(t, uri)
	tracker := NewTracker(t, dir, uri != "", 0)
	eng := startEngineOn(t, uri, tracker)
	Follow(t, tracker, eng)
	svc, err := hostaccess.New(hostaccess.Config{
		Engine:            eng.Client,
		Directory:         dir,
		InviteURLTemplate: "https://panel.example.com/invite/{token}",
		Mailer:            mailer,
		Now:               clock.Now,
		Freshness:         tracker,
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc, clock
}
