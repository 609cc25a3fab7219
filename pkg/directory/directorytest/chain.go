package directorytest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

func appendEntry(t *testing.T, s directory.Store, e directory.AuditEntry) directory.AuditEntry {
	t.Helper()
	if e.Time.IsZero() {
		e.Time = now()
	}
	if e.Actor == "" {
		e.Actor, e.Flow, e.Target = "user:alice", "set_access", "user:carol"
	}
	if e.AccountID == "" {
		e.AccountID = "acme"
	}
	got, err := s.AppendAudit(t.Context(), e)
	require.NoError(t, err)
	return got
}

func verify(t *testing.T, s directory.Store) directory.ChainReport {
	t.Helper()
	r, err := directory.Verify(t.Context(), s)
	require.NoError(t, err)
	return r
}

func chainSeqs(es []directory.AuditEntry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.Chain
	}
	return out
}

// A final entry is sealed when appended; an intent when it settles, after
// whatever was sealed meanwhile; the chain verifies.
func testAuditChainSeals(t *testing.T, s directory.Store) {
	ctx := t.Context()
	first := appendEntry(t, s, directory.AuditEntry{After: json.RawMessage(`{"b": 1, "a": [true, null]}`)})
	require.Equal(t, int64(1), first.Chain)
	require.Empty(t, first.PrevHash)
	require.Len(t, first.Hash, 32)

	intent := appendEntry(t, s, directory.AuditEntry{Outcome: directory.AuditIntent, Operation: "op1"})
	require.Zero(t, intent.Chain, "an intent is not sealed")
	second := appendEntry(t, s, directory.AuditEntry{Outcome: directory.AuditAbandoned})
	require.Equal(t, int64(2), second.Chain)
	require.Equal(t, first.Hash, second.PrevHash)

	require.NoError(t, s.SettleAudit(ctx, intent.Seq, directory.AuditIntent, directory.AuditApplied, "zed9"))
	chain, err := s.ListChain(ctx, directory.ChainFilter{})
	require.NoError(t, err)
	require.Equal(t, []int64{1, 2, 3}, chainSeqs(chain))
	require.Equal(t, []int64{first.Seq, second.Seq, intent.Seq}, auditSeqs(chain))
	settled := chain[2]
	require.Equal(t, "zed9", settled.ZedToken)
	require.Equal(t, second.Hash, settled.PrevHash)

	// A sealed entry never settles again: it would leave the chain.
	err = s.SettleAudit(ctx, intent.Seq, directory.AuditApplied, directory.AuditAbandoned, "")
	require.ErrorIs(t, err, directory.ErrConflict)

	state, err := s.Chain(ctx)
	require.NoError(t, err)
	require.Equal(t, directory.ChainLink{Seq: 3, Hash: settled.Hash}, state.Head)
	require.Zero(t, state.Anchor.Seq)

	r := verify(t, s)
	require.True(t, r.OK(), "%+v", r.Problems)
	require.Equal(t, 3, r.Entries)

	page, err := s.ListChain(ctx, directory.ChainFilter{After: 1, Limit: 1})
	require.NoError(t, err)
	require.Equal(t, []int64{2}, chainSeqs(page))
}

// Concurrent appends and settles get every position once, in an order the
// chain's links agree with.
func testAuditChainConcurrent(t *testing.T, s directory.Store) {
	ctx := t.Context()
	const n = 20
	var intents []int64
	for range n {
		intents = append(intents, appendEntry(t, s, directory.AuditEntry{Outcome: directory.AuditIntent}).Seq)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			_, err := s.AppendAudit(ctx, directory.AuditEntry{Time: now(), Actor: "user:alice", Flow: "invite", AccountID: "acme"})
			errs <- err
		})
		wg.Go(func() { errs <- s.SettleAudit(ctx, intents[i], directory.AuditIntent, directory.AuditApplied, "") })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	chain, err := s.ListChain(ctx, directory.ChainFilter{Limit: 3 * n})
	require.NoError(t, err)
	want := make([]int64, 2*n)
	for i := range want {
		want[i] = int64(i + 1)
	}
	require.Equal(t, want, chainSeqs(chain))
	r := verify(t, s)
	require.True(t, r.OK(), "%+v", r.Problems)
	require.Equal(t, 2*n, r.Entries)
}

// One account's chain is that account's sealed entries in chain order.
func testAuditChainAccount(t *testing.T, s directory.Store) {
	a := appendEntry(t, s, directory.AuditEntry{AccountID: "acme"})
	appendEntry(t, s, directory.AuditEntry{AccountID: "other"})
	c := appendEntry(t, s, directory.AuditEntry{AccountID: "acme"})
	got, err := s.ListChain(t.Context(), directory.ChainFilter{AccountID: "acme"})
	require.NoError(t, err)
	require.Equal(t, []int64{a.Chain, c.Chain}, chainSeqs(got))
	got, err = s.ListChain(t.Context(), directory.ChainFilter{AccountID: "acme", After: a.Chain})
	require.NoError(t, err)
	require.Equal(t, []int64{c.Chain}, chainSeqs(got))
}

// Retention removes the oldest sealed entries up to the first recent one,
// never an intent, and the rest still verifies from the new anchor.
func testPruneAudit(t *testing.T, s directory.Store) {
	ctx := t.Context()
	old := now().Add(-48 * time.Hour)
	e1 := appendEntry(t, s, directory.AuditEntry{Time: old})
	e2 := appendEntry(t, s, directory.AuditEntry{Time: old.Add(time.Minute)})
	intent := appendEntry(t, s, directory.AuditEntry{Time: old, Outcome: directory.AuditIntent})
	recent := appendEntry(t, s, directory.AuditEntry{})
	late := appendEntry(t, s, directory.AuditEntry{Time: old.Add(2 * time.Minute)}) // after a recent one: kept

	n, err := s.PruneAudit(ctx, now().Add(-24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 2, n)
	state, err := s.Chain(ctx)
	require.NoError(t, err)
	require.Equal(t, directory.ChainLink{Seq: e2.Chain, Hash: e2.Hash}, state.Anchor)

	left, err := s.ListAudit(ctx, directory.AuditFilter{AccountID: "acme"})
	require.NoError(t, err)
	require.Equal(t, []int64{late.Seq, recent.Seq, intent.Seq}, auditSeqs(left))
	require.NotContains(t, auditSeqs(left), e1.Seq)
	r := verify(t, s)
	require.True(t, r.OK(), "%+v", r.Problems)
	require.Equal(t, 2, r.Entries)

	n, err = s.PruneAudit(ctx, now().Add(-24*time.Hour))
	require.NoError(t, err)
	require.Zero(t, n, "pruning again removes nothing")
}

// tampered copies a store holding a sealed chain into a new one, changed by
// tamper on the way: the suite's way to reach into any store's rows.
func tampered(t *testing.T, newStore func(t *testing.T) directory.Store, n int, tamper func(*directory.Snapshot)) directory.Store {
	t.Helper()
	src := newStore(t)
	for i := range n {
		appendEntry(t, src, directory.AuditEntry{Target: fmt.Sprintf("user:u%d", i), After: json.RawMessage(`{"rights":["billing"]}`)})
	}
	snap, err := src.ExportAll(t.Context())
	require.NoError(t, err)
	slices.SortFunc(snap.Audit, func(a, b directory.AuditEntry) int { return int(a.Chain - b.Chain) })
	tamper(&snap)
	dst := newStore(t)
	require.NoError(t, dst.ImportAll(t.Context(), snap))
	return dst
}

func requireProblem(t *testing.T, r directory.ChainReport, chain int64, reason string) {
	t.Helper()
	require.False(t, r.OK())
	for _, p := range r.Problems {
		if p.Chain == chain {
			require.Contains(t, p.Reason, reason)
			return
		}
	}
	t.Fatalf("no problem at position %d in %+v", chain, r.Problems)
}

// An edited entry no longer matches its hash, whichever field changed.
func testAuditChainDetectsEdit(t *testing.T, newStore func(t *testing.T) directory.Store) {
	edits := map[string]func(e *directory.AuditEntry){
		"actor":   func(e *directory.AuditEntry) { e.Actor = "user:mallory" },
		"after":   func(e *directory.AuditEntry) { e.After = json.RawMessage(`{"rights":["security"]}`) },
		"time":    func(e *directory.AuditEntry) { e.Time = e.Time.Add(-time.Hour) },
		"outcome": func(e *directory.AuditEntry) { e.Outcome = directory.AuditAbandoned },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			s := tampered(t, newStore, 4, func(snap *directory.Snapshot) { edit(&snap.Audit[1]) })
			r := verify(t, s)
			requireProblem(t, r, 2, "edited")
			require.Len(t, r.Problems, 1, "only the edited entry: %+v", r.Problems)
		})
	}
	t.Run("rehashed", func(t *testing.T) {
		// Recomputing the edited entry's hash breaks the next one's link.
		s := tampered(t, newStore, 4, func(snap *directory.Snapshot) {
			e := &snap.Audit[1]
			e.Actor = "user:mallory"
			h, err := directory.SealHash(e.PrevHash, *e)
			require.NoError(t, err)
			e.Hash = h
		})
		requireProblem(t, verify(t, s), 3, "does not link")
	})
}

// A deleted entry leaves a gap; the newest one deleted leaves the head
// pointing past the end.
func testAuditChainDetectsDelete(t *testing.T, newStore func(t *testing.T) directory.Store) {
	t.Run("middle", func(t *testing.T) {
		s := tampered(t, newStore, 4, func(snap *directory.Snapshot) { snap.Audit = slices.Delete(snap.Audit, 1, 2) })
		requireProblem(t, verify(t, s), 2, "missing")
	})
	t.Run("newest", func(t *testing.T) {
		s := tampered(t, newStore, 4, func(snap *directory.Snapshot) { snap.Audit = snap.Audit[:3] })
		requireProblem(t, verify(t, s), 4, "missing")
	})
	t.Run("first", func(t *testing.T) {
		s := tampered(t, newStore, 4, func(snap *directory.Snapshot) { snap.Audit = snap.Audit[1:] })
		requireProblem(t, verify(t, s), 1, "missing")
	})
	t.Run("untouched", func(t *testing.T) {
		s := tampered(t, newStore, 4, func(*directory.Snapshot) {})
		r := verify(t, s)
		require.True(t, r.OK(), "%+v", r.Problems)
		require.Equal(t, 4, r.Entries)
	})
}

// A backup keeps the chain: the copy verifies, and goes on from its head.
func testAuditChainBackup(t *testing.T, newStore func(t *testing.T) directory.Store) {
	s := tampered(t, newStore, 3, func(*directory.Snapshot) {})
	next := appendEntry(t, s, directory.AuditEntry{})
	require.Equal(t, int64(4), next.Chain)
	r := verify(t, s)
	require.True(t, r.OK(), "%+v", r.Problems)
	require.Equal(t, 4, r.Entries)
}
