package testutil

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hostaccess/hostaccess/internal/engine"
	"github.com/hostaccess/hostaccess/pkg/directory/memory"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
	"github.com/hostaccess/hostaccess/schema"
)

// FreeAddr returns a loopback address with a port free at the time of asking.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// StartEngine runs an embedded SpiceDB with the hosting schema on the memory
// datastore for one test, stopped when the test ends.
func StartEngine(t testing.TB) *engine.Engine {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	eng, err := engine.Open(ctx, engine.Config{
		DatastoreEngine: engine.EngineMemory,
		GRPCAddr:        FreeAddr(t),
		PresharedKey:    "test-key",
	}, zap.NewNop())
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

// Clock is a settable clock for tests, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at the current time.
func NewClock() *Clock { return &Clock{t: time.Now().UTC()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// NewService starts an engine and a memory directory and returns a service
// over them, with the clock it uses.
func NewService(t testing.TB, mailer hostaccess.InvitationMailer) (*hostaccess.Service, *Clock) {
	t.Helper()
	eng := StartEngine(t)
	clock := NewClock()
	svc, err := hostaccess.New(hostaccess.Config{
		Engine:            eng.Client,
		Directory:         memory.New(),
		InviteURLTemplate: "https://panel.example.com/invite/{token}",
		Mailer:            mailer,
		Now:               clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc, clock
}
