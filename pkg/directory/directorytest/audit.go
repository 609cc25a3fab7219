package directorytest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

func testAppendAudit(t *testing.T, s directory.Store) {
	ctx := t.Context()
	e := directory.AuditEntry{
		Time:      now(),
		Actor:     "user:alice",
		Flow:      "invite",
		AccountID: "acme",
		Target:    "invitation:acme/x1",
		After:     json.RawMessage(`{"email":"carol@example.com"}`),
		ZedToken:  "zed1",
	}
	var last int64
	for i, account := range []string{"acme", "other", "acme"} {
		e.AccountID = account
		got, err := s.AppendAudit(ctx, e)
		require.NoError(t, err)
		require.Greater(t, got.Seq, last, "entry %d: Seq must increase across accounts", i)
		last = got.Seq
		want := e
		want.Seq, want.Outcome = got.Seq, directory.AuditApplied
		requireAudit(t, want, got)
	}

	// Seq is assigned by the store: a caller's value is ignored.
	e.Seq = 1 << 40
	got, err := s.AppendAudit(ctx, e)
	require.NoError(t, err)
	require.Greater(t, got.Seq, last)
	require.Less(t, got.Seq, int64(1<<40))
}

func testListAudit(t *testing.T, s directory.Store) {
	ctx := t.Context()
	var acme []directory.AuditEntry
	for i := range 5 {
		for _, account := range []string{"acme", "other"} {
			e, err := s.AppendAudit(ctx, directory.AuditEntry{
				Time:      now(),
				Actor:     "user:alice",
				Flow:      "set_access",
				AccountID: account,
				Target:    fmt.Sprintf("user:u%d", i),
				Before:    json.RawMessage(`{"role":"viewer"}`),
				After:     json.RawMessage(`{"role":"admin"}`),
			})
			require.NoError(t, err)
			if account == "acme" {
				acme = append(acme, e)
			}
		}
	}

	list, err := s.ListAudit(ctx, directory.AuditFilter{AccountID: "acme"})
	require.NoError(t, err)
	require.Len(t, list, len(acme))
	for i, got := range list {
		requireAudit(t, acme[len(acme)-1-i], got) // newest first
	}

	list, err = s.ListAudit(ctx, directory.AuditFilter{AccountID: "nobody"})
	require.NoError(t, err)
	require.Empty(t, list)
}

func testListAuditPaging(t *testing.T, s directory.Store) {
	ctx := t.Context()
	var seqs []int64 // acme's, oldest first
	for i := range 7 {
		for _, account := range []string{"acme", "other"} {
			e, err := s.AppendAudit(ctx, directory.AuditEntry{Time: now(), Actor: "user:alice", Flow: "invite", AccountID: account, Target: fmt.Sprintf("user:u%d", i)})
			require.NoError(t, err)
			if account == "acme" {
				seqs = append(seqs, e.Seq)
			}
		}
	}
	// Newest first: 6 5 4 | 3 2 1 | 0.
	want := [][]int64{
		{seqs[6], seqs[5], seqs[4]},
		{seqs[3], seqs[2], seqs[1]},
		{seqs[0]},
	}
	var before int64
	for page, w := range want {
		list, err := s.ListAudit(ctx, directory.AuditFilter{AccountID: "acme", BeforeSeq: before, Limit: 3})
		require.NoError(t, err)
		require.Equal(t, w, auditSeqs(list), "page %d", page)
		before = list[len(list)-1].Seq
	}
	list, err := s.ListAudit(ctx, directory.AuditFilter{AccountID: "acme", BeforeSeq: before, Limit: 3})
	require.NoError(t, err)
	require.Empty(t, list, "past the oldest")

	// BeforeSeq need not be an entry of this account.
	list, err = s.ListAudit(ctx, directory.AuditFilter{AccountID: "acme", BeforeSeq: seqs[3] + 1})
	require.NoError(t, err)
	require.Equal(t, []int64{seqs[3], seqs[2], seqs[1], seqs[0]}, auditSeqs(list))
}

func testListAuditDefaultLimit(t *testing.T, s directory.Store) {
	ctx := t.Context()
	var last int64
	for range 105 {
		e, err := s.AppendAudit(ctx, directory.AuditEntry{Time: now(), Actor: "user:alice", Flow: "invite", AccountID: "acme"})
		require.NoError(t, err)
		last = e.Seq
	}
	list, err := s.ListAudit(ctx, directory.AuditFilter{AccountID: "acme"})
	require.NoError(t, err)
	require.Len(t, list, 100)
	require.Equal(t, last, list[0].Seq)
}

// Every filter narrows the list, and an empty account means every account.
func testListAuditFilters(t *testing.T, s directory.Store) {
	ctx := t.Context()
	t0 := now().Add(-time.Hour)
	add := func(minute int, account, actor, flow, target string) directory.AuditEntry {
		e, err := s.AppendAudit(ctx, directory.AuditEntry{
			Time: t0.Add(time.Duration(minute) * time.Minute), Actor: actor, Flow: flow, AccountID: account, Target: target,
		})
		require.NoError(t, err)
		return e
	}
	a := add(0, "acme", "user:alice", "invite", "invitation:acme/x1")
	b := add(1, "other", "user:alice", "set_access", "user:carol")
	c := add(2, "acme", "user:bob", "set_access", "user:carol")
	d := add(3, "acme", "service:billing", "remove_member", "user:dave")

	list := func(f directory.AuditFilter) []directory.AuditEntry {
		got, err := s.ListAudit(ctx, f)
		require.NoError(t, err)
		return got
	}
	requireAudits(t, []directory.AuditEntry{d, c, b, a}, list(directory.AuditFilter{}))
	requireAudits(t, []directory.AuditEntry{b, a}, list(directory.AuditFilter{Actor: "user:alice"}))
	requireAudits(t, []directory.AuditEntry{c}, list(directory.AuditFilter{AccountID: "acme", Flow: "set_access"}))
	requireAudits(t, []directory.AuditEntry{c, b}, list(directory.AuditFilter{Target: "user:carol"}))
	requireAudits(t, []directory.AuditEntry{c, b}, list(directory.AuditFilter{Since: b.Time, Until: d.Time}))
	requireAudits(t, []directory.AuditEntry{b}, list(directory.AuditFilter{Target: "user:carol", BeforeSeq: c.Seq}))
	require.Empty(t, list(directory.AuditFilter{AccountID: "acme", Actor: "user:nobody"}))
}

// An entry's outcome: applied when none is given, kept when one is, refused
// when the directory does not know it.
func testAuditOutcome(t *testing.T, s directory.Store) {
	ctx := t.Context()
	plain := directory.AuditEntry{Time: now(), Actor: "user:alice", Flow: "set_contact", AccountID: "acme", Target: "contact:k1"}
	got, err := s.AppendAudit(ctx, plain)
	require.NoError(t, err)
	want := plain
	want.Seq, want.Outcome = got.Seq, directory.AuditApplied
	requireAudit(t, want, got)
	requireAudit(t, want, listAuditEntry(t, s, "acme", got.Seq))

	intent := directory.AuditEntry{
		Time: now(), Actor: "user:alice", Flow: "invite", AccountID: "acme", Target: "invitation:acme/x1",
		After:     json.RawMessage(`{"email":"carol@example.com"}`),
		Outcome:   directory.AuditIntent,
		Operation: "op-7f3a",
		Recovery:  json.RawMessage(`{"undo":[{"delete_invitation":"x1"}]}`),
	}
	got, err = s.AppendAudit(ctx, intent)
	require.NoError(t, err)
	want = intent
	want.Seq = got.Seq
	requireAudit(t, want, got)
	requireAudit(t, want, listAuditEntry(t, s, "acme", got.Seq))

	abandoned := plain
	abandoned.Outcome = directory.AuditAbandoned
	got, err = s.AppendAudit(ctx, abandoned)
	require.NoError(t, err)
	want = abandoned
	want.Seq = got.Seq
	requireAudit(t, want, listAuditEntry(t, s, "acme", got.Seq))

	// An outcome recovery could never settle is refused, and not stored.
	bogus := plain
	bogus.Outcome = "maybe"
	_, err = s.AppendAudit(ctx, bogus)
	require.Error(t, err)
	list, err := s.ListAudit(ctx, directory.AuditFilter{AccountID: "acme"})
	require.NoError(t, err)
	require.Len(t, list, 3)
}

// Recovery is JSON the domain layer encodes: it comes back with the same
// meaning (jsonb may rewrite whitespace and key order) from every read.
func testAuditRecoveryJSON(t *testing.T, s directory.Store) {
	ctx := t.Context()
	recovery := json.RawMessage(`{ "steps" : [ {"put_person": {"user": "user:carol", "email": "carol@example.com"}},
		{"set_invitation_status": {"id": "x1", "from": "pending", "to": "accepted"}} ],
		"note": "caf\u00e9 \"quoted\"", "n": 12.5, "none": null, "ok": true }`)
	e, err := s.AppendAudit(ctx, directory.AuditEntry{
		Time: now().Add(-time.Minute), Actor: "user:carol", Flow: "accept_invitation", AccountID: "acme",
		Outcome: directory.AuditIntent, Operation: "op-1", Recovery: recovery,
	})
	require.NoError(t, err)
	require.JSONEq(t, string(recovery), string(e.Recovery))
	require.JSONEq(t, string(recovery), string(listAuditEntry(t, s, "acme", e.Seq).Recovery))

	intents, err := s.ListAuditIntents(ctx, now(), 0)
	require.NoError(t, err)
	require.Len(t, intents, 1)
	require.JSONEq(t, string(recovery), string(intents[0].Recovery))

	snap, err := s.ExportAll(ctx)
	require.NoError(t, err)
	require.Len(t, snap.Audit, 1)
	require.JSONEq(t, string(recovery), string(snap.Audit[0].Recovery))

	// None given: none back.
	e, err = s.AppendAudit(ctx, directory.AuditEntry{Time: now(), Actor: "user:alice", Flow: "invite", AccountID: "acme"})
	require.NoError(t, err)
	require.Empty(t, e.Recovery)
	require.Empty(t, listAuditEntry(t, s, "acme", e.Seq).Recovery)
}

func testListAuditIntents(t *testing.T, s directory.Store) {
	ctx := t.Context()
	t0 := now()
	appendEntry := func(account string, outcome directory.AuditOutcome, at time.Time) directory.AuditEntry {
		t.Helper()
		e, err := s.AppendAudit(ctx, directory.AuditEntry{
			Time: at, Actor: "user:alice", Flow: "set_access", AccountID: account, Target: "user:bob",
			Outcome: outcome, Operation: fmt.Sprintf("op-%s-%d", account, at.Unix()),
			Recovery: json.RawMessage(`{"account":"` + account + `"}`),
		})
		require.NoError(t, err)
		return e
	}
	e1 := appendEntry("acme", directory.AuditIntent, t0.Add(-3*time.Hour))
	appendEntry("acme", directory.AuditApplied, t0.Add(-3*time.Hour))
	e3 := appendEntry("other", directory.AuditIntent, t0.Add(-time.Hour))
	appendEntry("other", directory.AuditAbandoned, t0.Add(-2*time.Hour))
	// Recorded earlier than e1 but appended later: the order is Seq's.
	e5 := appendEntry("acme", directory.AuditIntent, t0.Add(-4*time.Hour))
	e6 := appendEntry("acme", directory.AuditIntent, t0) // not before t0
	e7 := appendEntry("other", directory.AuditIntent, t0.Add(time.Hour))

	list, err := s.ListAuditIntents(ctx, t0, 0)
	require.NoError(t, err)
	requireAudits(t, []directory.AuditEntry{e1, e3, e5}, list)

	list, err = s.ListAuditIntents(ctx, t0, 2)
	require.NoError(t, err)
	requireAudits(t, []directory.AuditEntry{e1, e3}, list)

	list, err = s.ListAuditIntents(ctx, t0.Add(2*time.Hour), 0)
	require.NoError(t, err)
	requireAudits(t, []directory.AuditEntry{e1, e3, e5, e6, e7}, list)

	list, err = s.ListAuditIntents(ctx, t0.Add(-5*time.Hour), 0)
	require.NoError(t, err)
	require.Empty(t, list)

	// Settled intents are no longer listed, however they were settled.
	require.NoError(t, s.SettleAudit(ctx, e3.Seq, directory.AuditIntent, directory.AuditApplied, "zed3"))
	list, err = s.ListAuditIntents(ctx, t0, 0)
	require.NoError(t, err)
	requireAudits(t, []directory.AuditEntry{e1, e5}, list)

	require.NoError(t, s.SettleAudit(ctx, e1.Seq, directory.AuditIntent, directory.AuditAbandoned, ""))
	list, err = s.ListAuditIntents(ctx, t0, 0)
	require.NoError(t, err)
	requireAudits(t, []directory.AuditEntry{e5}, list)
}

func testListAuditIntentsDefaultLimit(t *testing.T, s directory.Store) {
	ctx := t.Context()
	t0 := now()
	var seqs []int64
	for i := range 105 {
		e, err := s.AppendAudit(ctx, directory.AuditEntry{
			Time: t0.Add(-time.Hour), Actor: "user:alice", Flow: "invite", AccountID: fmt.Sprintf("a%d", i%3),
			Outcome: directory.AuditIntent,
		})
		require.NoError(t, err)
		seqs = append(seqs, e.Seq)
	}
	list, err := s.ListAuditIntents(ctx, t0, 0)
	require.NoError(t, err)
	require.Equal(t, seqs[:100], auditSeqs(list), "the oldest 100")
}

func testSettleAudit(t *testing.T, s directory.Store) {
	ctx := t.Context()
	intent, err := s.AppendAudit(ctx, directory.AuditEntry{
		Time: now(), Actor: "user:alice", Flow: "set_access", AccountID: "acme", Target: "user:bob",
		Before: json.RawMessage(`{"role":"viewer"}`), After: json.RawMessage(`{"role":"admin"}`),
		Outcome: directory.AuditIntent, Operation: "op-1", Recovery: json.RawMessage(`{"steps":[]}`),
	})
	require.NoError(t, err)

	// Wrong from: refused, nothing changes.
	err = s.SettleAudit(ctx, intent.Seq, directory.AuditApplied, directory.AuditAbandoned, "zed-wrong")
	require.ErrorIs(t, err, directory.ErrConflict)
	requireAudit(t, intent, listAuditEntry(t, s, "acme", intent.Seq))

	// No such entry.
	err = s.SettleAudit(ctx, intent.Seq+1000, directory.AuditIntent, directory.AuditApplied, "zed-1")
	require.ErrorIs(t, err, directory.ErrNotFound)

	// An outcome the directory does not know is refused.
	err = s.SettleAudit(ctx, intent.Seq, directory.AuditIntent, "maybe", "zed-1")
	require.Error(t, err)
	requireAudit(t, intent, listAuditEntry(t, s, "acme", intent.Seq))

	// Applied, with the write's token.
	require.NoError(t, s.SettleAudit(ctx, intent.Seq, directory.AuditIntent, directory.AuditApplied, "zed-42"))
	want := intent
	want.Outcome, want.ZedToken = directory.AuditApplied, "zed-42"
	requireAudit(t, want, listAuditEntry(t, s, "acme", intent.Seq))

	// Once settled, the old from no longer matches.
	err = s.SettleAudit(ctx, intent.Seq, directory.AuditIntent, directory.AuditAbandoned, "zed-43")
	require.ErrorIs(t, err, directory.ErrConflict)
	requireAudit(t, want, listAuditEntry(t, s, "acme", intent.Seq))

	// Another account's entry, found by Seq alone; an empty token keeps the
	// stored one.
	other, err := s.AppendAudit(ctx, directory.AuditEntry{
		Time: now(), Actor: "service:billing", Flow: "set_access", AccountID: "other", ZedToken: "zed-before",
		Outcome: directory.AuditIntent, Operation: "op-2",
	})
	require.NoError(t, err)
	require.NoError(t, s.SettleAudit(ctx, other.Seq, directory.AuditIntent, directory.AuditAbandoned, ""))
	wantOther := other
	wantOther.Outcome = directory.AuditAbandoned
	requireAudit(t, wantOther, listAuditEntry(t, s, "other", other.Seq))
	requireAudit(t, want, listAuditEntry(t, s, "acme", intent.Seq)) // untouched
}

// listAuditEntry reads one entry back through ListAudit.
func listAuditEntry(t *testing.T, s directory.Store, accountID string, seq int64) directory.AuditEntry {
	t.Helper()
	list, err := s.ListAudit(t.Context(), directory.AuditFilter{AccountID: accountID, BeforeSeq: seq + 1, Limit: 1})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, seq, list[0].Seq)
	return list[0]
}
