package directorytest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

// A caller changing what it passed in or got back, slices included, must
// not change what the store holds.
func testCopiesNotAliases(t *testing.T, s directory.Store) {
	ctx := t.Context()

	inv := newInvitation("x1", "acme", now())
	want := newInvitation("x1", "acme", inv.CreatedAt)
	require.NoError(t, s.CreateInvitation(ctx, inv))
	scribble(inv.TokenHash)
	scribble(inv.Access)

	got, err := s.GetInvitation(ctx, "x1")
	require.NoError(t, err)
	scribble(got.TokenHash)
	scribble(got.Access)
	got.Status = directory.InvitationRevoked

	got, err = s.GetInvitationByTokenHash(ctx, want.TokenHash)
	require.NoError(t, err)
	scribble(got.Access)

	list, err := s.ListInvitations(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, list, 1)
	scribble(list[0].TokenHash)
	scribble(list[0].Access)

	got, err = s.GetInvitationByTokenHash(ctx, want.TokenHash)
	require.NoError(t, err)
	requireInvitation(t, want, got)

	a := directory.Account{ID: "acme", Name: "Acme", CreatedAt: now()}
	require.NoError(t, s.CreateAccount(ctx, a))
	accounts, err := s.GetAccounts(ctx, []string{"acme"})
	require.NoError(t, err)
	accounts["acme"] = directory.Account{ID: "acme", Name: "Changed"}
	gotAccount, err := s.GetAccount(ctx, "acme")
	require.NoError(t, err)
	requireAccount(t, a, gotAccount)

	entry := directory.AuditEntry{
		Time: now(), Actor: "user:alice", Flow: "set_access", AccountID: "acme",
		Before:    json.RawMessage(`{"role":"viewer"}`),
		After:     json.RawMessage(`{"role":"admin"}`),
		Outcome:   directory.AuditIntent,
		Operation: "op-1",
		Recovery:  json.RawMessage(`{"steps":["put_person"]}`),
	}
	in := entry
	in.Before, in.After = append(json.RawMessage(nil), entry.Before...), append(json.RawMessage(nil), entry.After...)
	in.Recovery = append(json.RawMessage(nil), entry.Recovery...)
	appended, err := s.AppendAudit(ctx, in)
	require.NoError(t, err)
	entry.Seq = appended.Seq
	scribble(in.Before)
	scribble(in.After)
	scribble(in.Recovery)
	scribble(appended.Before)
	scribble(appended.After)
	scribble(appended.Recovery)

	entries, err := s.ListAudit(ctx, directory.AuditFilter{AccountID: "acme"})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	scribble(entries[0].Before)
	scribble(entries[0].After)
	scribble(entries[0].Recovery)

	intents, err := s.ListAuditIntents(ctx, entry.Time.Add(time.Second), 0)
	require.NoError(t, err)
	require.Len(t, intents, 1)
	scribble(intents[0].Before)
	scribble(intents[0].After)
	scribble(intents[0].Recovery)

	entries, err = s.ListAudit(ctx, directory.AuditFilter{AccountID: "acme"})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	requireAudit(t, entry, entries[0])
}

// scribble overwrites a slice in place, as a careless caller might.
func scribble(b []byte) {
	for i := range b {
		b[i] = 'X'
	}
}

// What ImportAll was given and what ExportAll returns are the caller's:
// changing them changes nothing stored.
func testBackupCopiesNotAliases(t *testing.T, s directory.Store) {
	ctx := t.Context()
	t0 := now()
	in := sampleSnapshot(t0)
	require.NoError(t, s.ImportAll(ctx, in))
	scribbleSnapshot := func(snap directory.Snapshot) {
		for i := range snap.Invitations {
			scribble(snap.Invitations[i].TokenHash)
			scribble(snap.Invitations[i].Access)
		}
		for i := range snap.Audit {
			scribble(snap.Audit[i].Before)
			scribble(snap.Audit[i].After)
			scribble(snap.Audit[i].Recovery)
			snap.Audit[i].Outcome = directory.AuditAbandoned
		}
		for i := range snap.Accounts {
			snap.Accounts[i].Name = "Changed"
		}
		for i := range snap.AccessRequests {
			scribble(snap.AccessRequests[i].Requested)
			snap.AccessRequests[i].Status = directory.AccessRequestRefused
		}
	}
	scribbleSnapshot(in)

	out, err := s.ExportAll(ctx)
	require.NoError(t, err)
	requireSnapshot(t, sampleSnapshot(t0), out)
	scribbleSnapshot(out)

	out, err = s.ExportAll(ctx)
	require.NoError(t, err)
	requireSnapshot(t, sampleSnapshot(t0), out)
	inv, err := s.GetInvitationByTokenHash(ctx, sampleSnapshot(t0).Invitations[0].TokenHash)
	require.NoError(t, err)
	requireInvitation(t, sampleSnapshot(t0).Invitations[0], inv)
}
