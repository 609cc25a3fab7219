package directorytest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

// Accepting an invitation is a race the store must settle: of many
// concurrent accepts exactly one wins.
func testSetInvitationStatusConcurrent(t *testing.T, s directory.Store) {
	ctx := t.Context()
	require.NoError(t, s.CreateInvitation(ctx, newInvitation("x1", "acme", now())))

	winner := oneWins(t, 20, "accept", func(i int) error {
		return s.SetInvitationStatus(ctx, "x1", directory.InvitationPending, directory.InvitationAccepted,
			fmt.Sprintf("user:u%d", i), now(), "")
	})

	got, err := s.GetInvitation(ctx, "x1")
	require.NoError(t, err)
	require.Equal(t, directory.InvitationAccepted, got.Status)
	require.Equal(t, fmt.Sprintf("user:u%d", winner), got.StatusBy)
}

// Recovery and the flow that recorded an intent may settle it at once: of
// concurrent settles exactly one wins.
func testSettleAuditConcurrent(t *testing.T, s directory.Store) {
	ctx := t.Context()
	intent, err := s.AppendAudit(ctx, directory.AuditEntry{
		Time: now().Add(-time.Minute), Actor: "user:alice", Flow: "invite", AccountID: "acme",
		Outcome: directory.AuditIntent, Operation: "op-1",
	})
	require.NoError(t, err)

	const n = 10
	to := func(i int) directory.AuditOutcome {
		if i%2 == 0 {
			return directory.AuditApplied
		}
		return directory.AuditAbandoned
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		// require must not be called off the test goroutine: collect errors.
		wg.Go(func() {
			errs[i] = s.SettleAudit(ctx, intent.Seq, directory.AuditIntent, to(i), fmt.Sprintf("zed-%d", i))
		})
	}
	wg.Wait()

	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "more than one settle succeeded")
			winner = i
			continue
		}
		require.ErrorIs(t, err, directory.ErrConflict, "goroutine %d", i)
	}
	require.NotEqual(t, -1, winner, "no settle succeeded")

	got := listAuditEntry(t, s, "acme", intent.Seq)
	require.Equal(t, to(winner), got.Outcome)
	require.Equal(t, fmt.Sprintf("zed-%d", winner), got.ZedToken)
	list, err := s.ListAuditIntents(ctx, now(), 0)
	require.NoError(t, err)
	require.Empty(t, list)
}

// Restores racing into one empty store: exactly one wins, even when their
// snapshots share no key, and the store holds the winner's snapshot alone.
func testImportAllConcurrent(t *testing.T, s directory.Store) {
	ctx := t.Context()
	t0 := now()
	const n = 5
	snapshot := func(i int) directory.Snapshot {
		id := fmt.Sprintf("acct%d", i)
		snap := directory.Snapshot{
			Accounts: []directory.Account{{ID: id, Name: id, AdminCap: 1, CreatedAt: t0}},
			Audit: []directory.AuditEntry{{Seq: int64(10*i + 1), Time: t0, Actor: "user:alice", Flow: "create_account",
				AccountID: id, Outcome: directory.AuditApplied}},
		}
		if i%2 == 0 { // some touch tables the others do not
			snap.People = []directory.Person{{UserID: fmt.Sprintf("user:u%d", i), Email: "u@example.com", UpdatedAt: t0}}
		}
		return snap
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.ImportAll(ctx, snapshot(i)) })
	}
	wg.Wait()

	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "more than one import succeeded")
			winner = i
			continue
		}
		require.ErrorIs(t, err, directory.ErrConflict, "goroutine %d", i)
	}
	require.NotEqual(t, -1, winner, "no import succeeded")
	got, err := s.ExportAll(ctx)
	require.NoError(t, err)
	requireSnapshot(t, snapshot(winner), got)
}

func testFreshnessConcurrent(t *testing.T, s directory.Store) {
	ctx := t.Context()
	// From no token (racing inserts) and from a token (racing updates).
	require.NoError(t, s.SetFreshness(ctx, "globex", "", "zed-start"))
	for scope, old := range map[string]string{"acme": "", "globex": "zed-start"} {
		const n = 10
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = s.SetFreshness(ctx, scope, old, fmt.Sprintf("zed-%d", i)) })
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			if err == nil {
				require.Equal(t, -1, winner, "%s: more than one set succeeded", scope)
				winner = i
				continue
			}
			require.ErrorIs(t, err, directory.ErrConflict, "%s: goroutine %d", scope, i)
		}
		require.NotEqual(t, -1, winner, "%s: no set succeeded", scope)
		got, err := s.GetFreshness(ctx, scope)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("zed-%d", winner), got)
	}
}

// oneWins runs n attempts at once and requires exactly one to succeed and
// every other to answer ErrConflict; it returns the winner's index.
func oneWins(t *testing.T, n int, what string, attempt func(i int) error) int {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		// require must not be called off the test goroutine: collect errors.
		wg.Go(func() { errs[i] = attempt(i) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "more than one %s succeeded", what)
			winner = i
			continue
		}
		require.ErrorIs(t, err, directory.ErrConflict, "goroutine %d", i)
	}
	require.NotEqual(t, -1, winner, "no %s succeeded", what)
	return winner
}
