// Package teststack starts the whole hostaccess stack for tests through
// the public stack (pkg/stack): SpiceDB in-process, a directory in memory
// or on a fresh migrated Postgres database when HOSTACCESS_TEST_POSTGRES_URI
// is set, freshness tokens, the service.
package teststack

import (
	"context"
	"testing"
	"time"

	"github.com/hostaccess/hostaccess/internal/testengine"
	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/engine"
	"github.com/hostaccess/hostaccess/pkg/freshness"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
	"github.com/hostaccess/hostaccess/pkg/stack"
)

// Stack is one test's whole hostaccess: engine, directory, freshness
// tracker following the engine's watch, and the service over them.
type Stack struct {
	Server      *stack.Server
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
// cover both stores whatever the environment use it. It is the public
// stack (pkg/stack) with test settings: SpiceDB in-process without a port,
// small pools, a short quantization window, the test's clock, no
// background recovery.
func NewStackOn(t testing.TB, mailer hostaccess.InvitationMailer, onPostgres bool) *Stack {
	t.Helper()
	return NewStackWith(t, mailer, onPostgres, nil)
}

// NewStackWith is NewStackOn with settings of the test's own: configure
// changes the server before it starts.
func NewStackWith(t testing.TB, mailer hostaccess.InvitationMailer, onPostgres bool, configure func(*stack.Server)) *Stack {
	t.Helper()
	st := &Stack{Clock: testutil.NewClock()}
	srv := &stack.Server{
		Engine:            testengine.EngineConfig("", 50*time.Millisecond),
		DirectoryMaxConns: 2,
		InviteURLTemplate: "https://panel.example.com/invite/{token}",
		Mailer:            mailer,
		Now:               st.Clock.Now,
		RecoverInterval:   -1, // tests run Recover themselves, on their clock
		FollowWait:        20 * time.Second,
	}
	if onPostgres {
		st.DatabaseURI = testengine.MigratedDatabase(t)
		srv.Engine = testengine.EngineConfig(st.DatabaseURI, 50*time.Millisecond)
	}
	if configure != nil {
		configure(srv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	if err := srv.Freshness().WaitFollowing(ctx, 0); err != nil {
		t.Fatalf("%v (ALTER SYSTEM SET track_commit_timestamp = on, then restart Postgres)", err)
	}
	st.Server = srv
	st.Engine = srv.SpiceDB()
	st.Directory = srv.Store()
	st.Freshness = srv.Freshness()
	st.Service = srv.Service()
	return st
}

// NewService starts a Stack and returns its service and clock.
func NewService(t testing.TB, mailer hostaccess.InvitationMailer) (*hostaccess.Service, *testutil.Clock) {
	t.Helper()
	st := NewStack(t, mailer)
	return st.Service, st.Clock
}
