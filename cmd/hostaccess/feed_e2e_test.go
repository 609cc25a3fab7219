package main_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/apiclient"
	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/directory/postgres"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// feedReader follows a server's audit feed, resuming from the last entry
// it received, as a SIEM's connector does.
type feedReader struct {
	mu       sync.Mutex
	received []hostaccess.AuditEntry
}

func (f *feedReader) last() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.received) == 0 {
		return 0
	}
	return f.received[len(f.received)-1].Chain
}

// follow reads s's feed from after the last entry received until the
// stream ends (the server stops or dies) and returns why.
func (f *feedReader) follow(ctx context.Context, s *server) error {
	c := apiclient.New("http://"+s.httpAddr, apiKey, "service")
	return c.AuditFeed(ctx, "", f.last(), func(e hostaccess.AuditEntry) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.received = append(f.received, e)
		return nil
	})
}

// waitFor waits until the reader has received position n.
func (f *feedReader) waitFor(t *testing.T, n int64) {
	t.Helper()
	require.Eventually(t, func() bool { return f.last() >= n }, 20*time.Second, 20*time.Millisecond,
		"the feed stopped at %d, short of %d", f.last(), n)
}

// headOf is the chain's head as the server's verification reports it.
func headOf(t *testing.T, s *server) int64 {
	t.Helper()
	var report directory.ChainReport
	newAPIClient(s, 10*time.Second).do("GET", "/v1/audit/verify", "service", nil).must(t, http.StatusOK, &report)
	require.True(t, report.OK(), "%+v", report.Problems)
	return report.To
}

// terminate stops a server started by startServe with SIGTERM and waits for
// it: an open feed must not hold the shutdown up.
func (s *server) terminate(t *testing.T) {
	t.Helper()
	done, _ := exited.Load(s)
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-done.(chan struct{}):
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not stop within 20s of SIGTERM; logs:\n%s", s.logs)
	}
	require.True(t, s.cmd.ProcessState.Success(), "serve exited with %s", s.cmd.ProcessState)
}

// The live feed resumes from the last id received without losing or
// repeating an entry, across a SIGKILL of the server mid-writes and a
// graceful restart, on Postgres; what it carried is the stored chain.
func TestAuditFeedResumesAcrossRestarts(t *testing.T) {
	uri := testutil.PostgresDatabase(t)
	flows := func(c apiClient, round, n int) int {
		acked := 0
		for i := range n {
			id := fmt.Sprintf("r%d-a%d", round, i)
			r := c.do("POST", "/v1/accounts", "service", map[string]any{"id": id, "owner_id": "o-" + id, "owner_email": id + "@example.com"})
			if !r.ok() {
				continue
			}
			acked++
			c.do("POST", "/v1/accounts/"+id+"/invitations", "user:o-"+id, map[string]any{"email": "dev@example.com", "access": map[string]any{"rights": []string{"billing"}}})
		}
		return acked
	}
	feed := &feedReader{}

	// Round 1: the feed follows live writes; the server is killed mid-write.
	s1 := startServe(t, durableFlags(uri)...)
	flows(newAPIClient(s1, 10*time.Second), 0, 3)
	ended := make(chan error, 1)
	go func() { ended <- feed.follow(context.Background(), s1) }()
	feed.waitFor(t, headOf(t, s1))
	writing := make(chan int, 1)
	go func() { writing <- flows(newAPIClient(s1, 2*time.Second), 1, 40) }()
	require.Eventually(t, func() bool { return feed.last() >= 12 }, 20*time.Second, 10*time.Millisecond)
	s1.kill(t)
	killedAt := time.Now()
	<-writing
	select {
	case <-ended: // the connection dropped with the server
	case <-time.After(10 * time.Second):
		t.Fatal("the feed did not end when its server died")
	}
	beforeRestart := feed.last()

	// Round 2: a new server on the same database, once the kill's
	// intents are older than --recover-after (the recovery at start then
	// seals them, after what the feed had); the reader resumes.
	time.Sleep(time.Until(killedAt.Add(1500 * time.Millisecond)))
	s2 := startServe(t, durableFlags(uri)...)
	db := pgConnect(t, uri)
	require.Eventually(t, func() bool { return auditIntents(t, db) == 0 }, 10*time.Second, 50*time.Millisecond,
		"the kill's intents were not settled by the recovery at start")
	go func() { ended <- feed.follow(context.Background(), s2) }()
	flows(newAPIClient(s2, 10*time.Second), 2, 3)
	feed.waitFor(t, headOf(t, s2))
	require.Greater(t, feed.last(), beforeRestart)
	s2.terminate(t)
	select {
	case err := <-ended:
		require.NoError(t, err, "a graceful stop ends the stream cleanly")
	case <-time.After(10 * time.Second):
		t.Fatal("the feed did not end when its server stopped")
	}

	// What the feed carried is the stored chain, each entry once, in order.
	store, err := postgres.Open(context.Background(), uri, postgres.PoolConfig{MaxConns: 2})
	require.NoError(t, err)
	defer store.Close()
	stored, err := store.ListChain(context.Background(), directory.ChainFilter{Limit: 10000})
	require.NoError(t, err)
	feed.mu.Lock()
	defer feed.mu.Unlock()
	require.Len(t, feed.received, len(stored))
	for i, e := range feed.received {
		require.Equal(t, int64(i+1), e.Chain, "position %d: lost or repeated", i+1)
		require.Equal(t, fmt.Sprintf("%x", stored[i].Hash), e.Hash)
	}
	report, err := directory.Verify(context.Background(), store)
	require.NoError(t, err)
	require.True(t, report.OK(), "%+v", report.Problems)
}
