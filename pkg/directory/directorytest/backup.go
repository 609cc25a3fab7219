package directorytest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

// populate fills a store through its ordinary methods, every field set and
// records created out of order, and returns what ExportAll must give back.
func populate(t *testing.T, s directory.Store) directory.Snapshot {
	t.Helper()
	ctx := t.Context()
	t0 := now().Add(-24 * time.Hour)
	var want directory.Snapshot

	accounts := map[string]directory.Account{
		"beta":  {ID: "beta", Name: "Beta", HostID: "host2", AdminCap: 2, CreatedAt: t0.Add(time.Minute)},
		"acme":  {ID: "acme", Name: "Acme", HostID: "host1", AdminCap: 3, CreatedAt: t0},
		"gamma": {ID: "gamma", Name: "Gamma", HostID: "host1", AdminCap: 1, CreatedAt: t0.Add(2 * time.Minute)},
	}
	for _, id := range []string{"gamma", "acme", "beta"} {
		require.NoError(t, s.CreateAccount(ctx, accounts[id]))
	}
	acme := accounts["acme"]
	acme.Name, acme.AdminCap = "Acme Ltd", 5
	require.NoError(t, s.UpdateAccount(ctx, acme))
	require.NoError(t, s.CreateAccount(ctx, directory.Account{ID: "gone", Name: "Gone", CreatedAt: t0}))
	require.NoError(t, s.DeleteAccount(ctx, "gone"))
	want.Accounts = []directory.Account{acme, accounts["beta"], accounts["gamma"]}

	dave := directory.Person{UserID: "user:dave", Email: "dave@example.com", DisplayName: "Dave", UpdatedAt: t0}
	carol := directory.Person{UserID: "user:carol", Email: "carol@example.com", DisplayName: "Carol", UpdatedAt: t0.Add(time.Second)}
	require.NoError(t, s.PutPerson(ctx, dave))
	require.NoError(t, s.PutPerson(ctx, carol))
	want.People = []directory.Person{carol, dave}

	// x3 is the newest; x1 and x2 share a time, so the id breaks the tie.
	x3 := newInvitation("x3", "beta", t0.Add(2*time.Hour))
	x2 := newInvitation("x2", "acme", t0.Add(time.Hour))
	x1 := newInvitation("x1", "acme", t0.Add(time.Hour))
	x1.Access = nil
	for _, inv := range []directory.Invitation{x3, x2, x1} {
		require.NoError(t, s.CreateInvitation(ctx, inv))
	}
	at := t0.Add(90 * time.Minute)
	require.NoError(t, s.SetInvitationStatus(ctx, "x1", directory.InvitationPending, directory.InvitationSuperseded, "user:alice", at, "x2"))
	x1.Status, x1.StatusAt, x1.StatusBy, x1.SupersededBy = directory.InvitationSuperseded, at, "user:alice", "x2"
	want.Invitations = []directory.Invitation{x1, x2, x3}

	k2 := directory.Contact{ID: "k2", AccountID: "acme", Name: "Kim", Email: "kim@example.com", Phone: "+44 20 7946 0000", CreatedAt: t0, UpdatedAt: t0.Add(time.Second)}
	k1 := directory.Contact{ID: "k1", AccountID: "beta", Name: "Lee", Email: "lee@example.com", CreatedAt: t0, UpdatedAt: t0}
	require.NoError(t, s.PutContact(ctx, k2))
	require.NoError(t, s.PutContact(ctx, k1))
	want.Contacts = []directory.Contact{k1, k2}

	// r2 is the newest; r1 was decided.
	r2 := newRequest("acme/r2", "acme", "dave", t0.Add(2*time.Hour))
	r1 := newRequest("beta/r1", "beta", "carol", t0.Add(time.Hour))
	r1.Requested = nil
	require.NoError(t, s.CreateAccessRequest(ctx, r2))
	require.NoError(t, s.CreateAccessRequest(ctx, r1))
	require.NoError(t, s.SetAccessRequestStatus(ctx, "beta/r1", directory.AccessRequestPending, directory.AccessRequestRefused, "user:alice", at, "not for support"))
	r1.Status, r1.DecidedBy, r1.DecidedAt, r1.Note = directory.AccessRequestRefused, "user:alice", at, "not for support"
	want.AccessRequests = []directory.AccessRequest{r1, r2}

	for i, e := range []directory.AuditEntry{
		{Time: t0, Actor: "user:alice", Flow: "invite", AccountID: "acme", Target: "invitation:acme/x1",
			After: json.RawMessage(`{"email":"x1@example.com"}`), ZedToken: "zed1"},
		{Time: t0.Add(time.Minute), Actor: "user:alice", Flow: "set_access", AccountID: "beta", Target: "user:dave",
			Before: json.RawMessage(`{"role":"viewer"}`), After: json.RawMessage(`{"role":"admin"}`),
			Outcome: directory.AuditIntent, Operation: "op-1", Recovery: json.RawMessage(`{"steps":["a","b"]}`)},
		{Time: t0.Add(2 * time.Minute), Actor: "service:billing", Flow: "set_access", AccountID: "acme", Target: "user:carol",
			Outcome: directory.AuditIntent, Operation: "op-2", Recovery: json.RawMessage(`{"steps":[]}`)},
		{Time: t0.Add(3 * time.Minute), Actor: "user:carol", Flow: "accept_invitation", AccountID: "acme", Target: "invitation:acme/x2",
			Outcome: directory.AuditIntent, Operation: "op-3"},
	} {
		got, err := s.AppendAudit(ctx, e)
		require.NoError(t, err, "audit entry %d", i)
		want.Audit = append(want.Audit, got)
	}
	require.NoError(t, s.SettleAudit(ctx, want.Audit[1].Seq, directory.AuditIntent, directory.AuditApplied, "zed2"))
	want.Audit[1].Outcome, want.Audit[1].ZedToken = directory.AuditApplied, "zed2"
	require.NoError(t, s.SettleAudit(ctx, want.Audit[2].Seq, directory.AuditIntent, directory.AuditAbandoned, ""))
	want.Audit[2].Outcome = directory.AuditAbandoned
	want.Audit[0].Outcome = directory.AuditApplied
	return want
}

func testExportAll(t *testing.T, s directory.Store) {
	ctx := t.Context()
	snap, err := s.ExportAll(ctx)
	require.NoError(t, err)
	requireSnapshot(t, directory.Snapshot{}, snap)

	want := populate(t, s)
	snap, err = s.ExportAll(ctx)
	require.NoError(t, err)
	requireSnapshot(t, want, snap)
}

// sampleSnapshot is a snapshot as a backup might hold one: audit Seq values
// with gaps, far from 1, every outcome. Each call builds new slices.
func sampleSnapshot(t0 time.Time) directory.Snapshot {
	accepted := newInvitation("x1", "acme", t0)
	accepted.Status, accepted.StatusAt, accepted.StatusBy = directory.InvitationAccepted, t0.Add(time.Hour), "user:carol"
	approved := newRequest("acme/r1", "acme", "carol", t0)
	approved.Status, approved.DecidedBy, approved.DecidedAt, approved.Note = directory.AccessRequestApproved, "user:alice", t0.Add(time.Hour), "ok"
	return directory.Snapshot{
		Accounts: []directory.Account{
			{ID: "acme", Name: "Acme", HostID: "host1", AdminCap: 3, CreatedAt: t0},
			{ID: "beta", Name: "Beta", HostID: "host2", AdminCap: 1, CreatedAt: t0.Add(time.Second)},
		},
		People: []directory.Person{
			{UserID: "user:alice", Email: "alice@example.com", DisplayName: "Alice", UpdatedAt: t0},
			{UserID: "user:carol", Email: "carol@example.com", DisplayName: "Carol", UpdatedAt: t0.Add(time.Hour)},
		},
		Invitations: []directory.Invitation{
			accepted,
			newInvitation("x2", "acme", t0.Add(time.Minute)),
			newInvitation("y1", "beta", t0.Add(time.Minute)),
		},
		Contacts: []directory.Contact{
			{ID: "k1", AccountID: "acme", Name: "Kim", Email: "kim@example.com", Phone: "+1 555 0100", CreatedAt: t0, UpdatedAt: t0},
		},
		Tokens: []directory.Token{
			newToken("t1", "acme", t0),
			func() directory.Token {
				tok := newToken("t2", "acme", t0.Add(time.Minute))
				tok.AllowedCIDRs = []string{"192.0.2.0/24"}
				tok.Status, tok.StatusAt, tok.StatusBy = directory.TokenRevoked, t0.Add(time.Hour), "user:alice"
				return tok
			}(),
		},
		AccessRequests: []directory.AccessRequest{approved, newRequest("acme/r2", "acme", "dave", t0.Add(time.Minute))},
		Audit: []directory.AuditEntry{
			{Seq: 3, Time: t0, Actor: "user:alice", Flow: "invite", AccountID: "acme", Target: "invitation:acme/x1",
				After: json.RawMessage(`{"email":"x1@example.com"}`), ZedToken: "zed3", Outcome: directory.AuditApplied},
			{Seq: 7, Time: t0.Add(time.Hour), Actor: "user:carol", Flow: "accept_invitation", AccountID: "acme",
				Target: "invitation:acme/x1", Outcome: directory.AuditAbandoned, Operation: "op-7"},
			{Seq: 1000, Time: t0.Add(2 * time.Hour), Actor: "user:alice", Flow: "set_access", AccountID: "beta", Target: "user:carol",
				Before: json.RawMessage(`{"role":"viewer"}`), After: json.RawMessage(`{"role":"admin"}`),
				Outcome: directory.AuditIntent, Operation: "op-1000", Recovery: json.RawMessage(`{"steps":[{"put_person":"user:carol"}]}`)},
		},
	}
}

func testImportAll(t *testing.T, s directory.Store) {
	ctx := t.Context()
	// An empty snapshot imports into an empty store, which stays empty.
	require.NoError(t, s.ImportAll(ctx, directory.Snapshot{}))
	snap, err := s.ExportAll(ctx)
	require.NoError(t, err)
	requireSnapshot(t, directory.Snapshot{}, snap)

	t0 := now().Add(-24 * time.Hour)
	want := sampleSnapshot(t0)
	require.NoError(t, s.ImportAll(ctx, sampleSnapshot(t0)))
	snap, err = s.ExportAll(ctx)
	require.NoError(t, err)
	requireSnapshot(t, want, snap)

	// What was imported is found by the ordinary methods.
	inv, err := s.GetInvitationByTokenHash(ctx, want.Invitations[1].TokenHash)
	require.NoError(t, err)
	requireInvitation(t, want.Invitations[1], inv)
	account, err := s.GetAccount(ctx, "beta")
	require.NoError(t, err)
	requireAccount(t, want.Accounts[1], account)
	requireAudit(t, want.Audit[1], listAuditEntry(t, s, "acme", 7))
	intents, err := s.ListAuditIntents(ctx, now(), 0)
	require.NoError(t, err)
	requireAudits(t, want.Audit[2:], intents)

	// New entries number on from the imported ones.
	e, err := s.AppendAudit(ctx, directory.AuditEntry{Time: now(), Actor: "user:alice", Flow: "invite", AccountID: "acme"})
	require.NoError(t, err)
	require.Greater(t, e.Seq, int64(1000))

	// Imported intents settle like any other.
	require.NoError(t, s.SettleAudit(ctx, 1000, directory.AuditIntent, directory.AuditApplied, "zed1000"))
	err = s.SettleAudit(ctx, 7, directory.AuditIntent, directory.AuditApplied, "")
	require.ErrorIs(t, err, directory.ErrConflict)

	// And the store, no longer empty, refuses another import.
	require.ErrorIs(t, s.ImportAll(ctx, directory.Snapshot{}), directory.ErrConflict)
}

// A snapshot that cannot be stored whole is not stored at all.
func testImportAllAtomic(t *testing.T, s directory.Store) {
	ctx := t.Context()
	t0 := now()

	// Two invitations with one token hash: the second comes after accounts
	// and people have been written.
	bad := sampleSnapshot(t0)
	bad.Invitations[2].TokenHash = bad.Invitations[1].TokenHash
	require.ErrorIs(t, s.ImportAll(ctx, bad), directory.ErrConflict)

	// Two access requests with one id.
	bad = sampleSnapshot(t0)
	bad.AccessRequests[1].ID = bad.AccessRequests[0].ID
	require.ErrorIs(t, s.ImportAll(ctx, bad), directory.ErrConflict)

	// Two audit entries with one Seq, in different accounts.
	bad = sampleSnapshot(t0)
	bad.Audit[2].Seq = bad.Audit[0].Seq
	require.ErrorIs(t, s.ImportAll(ctx, bad), directory.ErrConflict)

	snap, err := s.ExportAll(ctx)
	require.NoError(t, err)
	requireSnapshot(t, directory.Snapshot{}, snap)
	_, err = s.GetAccount(ctx, "acme")
	require.ErrorIs(t, err, directory.ErrNotFound)

	// Still empty, so a good snapshot imports.
	require.NoError(t, s.ImportAll(ctx, sampleSnapshot(t0)))
	snap, err = s.ExportAll(ctx)
	require.NoError(t, err)
	requireSnapshot(t, sampleSnapshot(t0), snap)
}

// A backup of one store restores into another, field for field.
func testBackupRoundTrip(t *testing.T, newStore func(t *testing.T) directory.Store) {
	ctx := t.Context()
	src := newStore(t)
	want := populate(t, src)
	snap, err := src.ExportAll(ctx)
	require.NoError(t, err)
	requireSnapshot(t, want, snap)

	dst := newStore(t)
	require.NoError(t, dst.ImportAll(ctx, snap))
	got, err := dst.ExportAll(ctx)
	require.NoError(t, err)
	requireSnapshot(t, want, got)

	last := want.Audit[len(want.Audit)-1].Seq
	e, err := dst.AppendAudit(ctx, directory.AuditEntry{Time: now(), Actor: "user:alice", Flow: "invite", AccountID: "acme"})
	require.NoError(t, err)
	require.Greater(t, e.Seq, last)

	// The source holds everything: it refuses the import.
	require.ErrorIs(t, src.ImportAll(ctx, snap), directory.ErrConflict)
}

// One record in any table makes a store not empty: the import is refused and
// nothing changes.
func testImportAllNotEmpty(t *testing.T, newStore func(t *testing.T) directory.Store) {
	for _, tc := range []struct {
		table string
		fill  func(t *testing.T, s directory.Store)
	}{
		{"accounts", func(t *testing.T, s directory.Store) {
			require.NoError(t, s.CreateAccount(t.Context(), directory.Account{ID: "zeta", Name: "Zeta", CreatedAt: now()}))
		}},
		{"people", func(t *testing.T, s directory.Store) {
			require.NoError(t, s.PutPerson(t.Context(), directory.Person{UserID: "user:zed", Email: "zed@example.com", UpdatedAt: now()}))
		}},
		{"invitations", func(t *testing.T, s directory.Store) {
			require.NoError(t, s.CreateInvitation(t.Context(), newInvitation("z1", "zeta", now())))
		}},
		{"contacts", func(t *testing.T, s directory.Store) {
			require.NoError(t, s.PutContact(t.Context(), directory.Contact{ID: "kz", AccountID: "zeta", Name: "Zed", CreatedAt: now(), UpdatedAt: now()}))
		}},
		{"access_requests", func(t *testing.T, s directory.Store) {
			require.NoError(t, s.CreateAccessRequest(t.Context(), newRequest("zeta/r1", "zeta", "zed", now())))
		}},
		{"audit", func(t *testing.T, s directory.Store) {
			_, err := s.AppendAudit(t.Context(), directory.AuditEntry{Time: now(), Actor: "user:zed", Flow: "invite", AccountID: "zeta", Outcome: directory.AuditIntent})
			require.NoError(t, err)
		}},
	} {
		t.Run(tc.table, func(t *testing.T) {
			ctx := t.Context()
			s := newStore(t)
			tc.fill(t, s)
			before, err := s.ExportAll(ctx)
			require.NoError(t, err)

			require.ErrorIs(t, s.ImportAll(ctx, sampleSnapshot(now())), directory.ErrConflict)
			require.ErrorIs(t, s.ImportAll(ctx, directory.Snapshot{}), directory.ErrConflict)

			after, err := s.ExportAll(ctx)
			require.NoError(t, err)
			requireSnapshot(t, before, after)
		})
	}
}

// requireSnapshot compares two snapshots record by record, in order; an
// empty table may come back as nil or empty.
func requireSnapshot(t *testing.T, want, got directory.Snapshot) {
	t.Helper()
	require.Len(t, got.Accounts, len(want.Accounts), "Accounts")
	for i := range want.Accounts {
		requireAccount(t, want.Accounts[i], got.Accounts[i])
	}
	require.Len(t, got.People, len(want.People), "People")
	for i := range want.People {
		requirePerson(t, want.People[i], got.People[i])
	}
	require.Equal(t, invitationIDs(want.Invitations), invitationIDs(got.Invitations), "Invitations")
	for i := range want.Invitations {
		requireInvitation(t, want.Invitations[i], got.Invitations[i])
	}
	require.Len(t, got.Contacts, len(want.Contacts), "Contacts")
	for i := range want.Contacts {
		requireContact(t, want.Contacts[i], got.Contacts[i])
	}
	require.Len(t, got.Tokens, len(want.Tokens), "Tokens")
	for i := range want.Tokens {
		requireToken(t, want.Tokens[i], got.Tokens[i])
	}
	require.Equal(t, requestIDs(want.AccessRequests), requestIDs(got.AccessRequests), "AccessRequests")
	for i := range want.AccessRequests {
		requireRequest(t, want.AccessRequests[i], got.AccessRequests[i])
	}
	requireAudits(t, want.Audit, got.Audit)
}
