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

func startEngineWith(t testing.TB, uri string, tracker *freshness.Tracker, quantization time.Duration) *engine.Engine {
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

// Stack is one test's whole hostaccess: engine, directory, freshness
// tracker following the engine's watch, and the service over them.
type Stack struct {
	Engine      *engine.Engine
	Directory   directory.Store
	Freshness   *freshness.Tracker
	Service     *hostaccess.Service
	Clock       *testutil.Clock
	DatabaseURI string // "" in memory
}

// NewStack starts a Stack (memory, or Postgres when
// HOSTACCESS_TEST_POSTGRES_URI is set) and waits until its freshness
// tracker follows a live watch, as serve does.
func NewStack(t testing.TB, mailer hostaccess.InvitationMailer) *Stack {
	t.Helper()
	return NewStackOn(t, mailer, testutil.UsePostgres())
}

// NewStackOn is NewStack on a chosen store: a fresh migrated Postgres
// database when onPostgres (skipped visibly when
// HOSTACCESS_TEST_POSTGRES_URI is unset), memory otherwise. Tests that must
// cover both stores whatever the environment use it.
func NewStackOn(t testing.TB, mailer hostaccess.InvitationMailer, onPostgres bool) *Stack {
	t.Helper()
	st := &Stack{Clock: testutil.NewClock()}
	if onPostgres {
		st.DatabaseURI = MigratedDatabase(t)
	}
	st.Directory = NewDirectory(t, st.DatabaseURI)
	tracker := NewTracker(t, st.Directory, st.DatabaseURI != "", 0)
	st.Freshness = tracker
	st.Engine = startEngineOn(t, st.DatabaseURI, tracker)
	Follow(t, tracker, st.Engine)
	var err error
	st.Service, err = hostaccess.New(hostaccess.Config{
		Engine:            st.Engine.Client,
		Directory:         st.Directory,
		InviteURLTemplate: "https://panel.example.com/invite/{token}",
		Mailer:            mailer,
		Now:               st.Clock.Now,
		Freshness:         tracker,
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
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

// NewService starts a Stack and returns its service and clock.
func NewService(t testing.TB, mailer hostaccess.InvitationMailer) (*hostaccess.Service, *testutil.Clock) {
	t.Helper()
	st := NewStack(t, mailer)
	return st.Service, st.Clock
}
