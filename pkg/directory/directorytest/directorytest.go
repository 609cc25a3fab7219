// Package directorytest is the conformance suite every directory.Store must
// pass. An implementation's test calls RunConformance with a function that
// builds a fresh, empty store.
//
// The suite only assumes what a database can keep: times are truncated to
// microseconds and compared as instants (not by location), JSON is compared
// by meaning (jsonb rewrites whitespace), and audit Seq values are only
// required to increase, not to be consecutive (sequences have gaps).
package directorytest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

// RunConformance runs the suite as subtests of t. newStore must return a new,
// empty store, independent of every other it returned: it is called once per
// subtest, and more than once by the backup subtests, which copy one store
// into another. The suite closes each store (and requires Close to succeed)
// when the subtest ends, before any cleanup newStore registered on t runs.
func RunConformance(t *testing.T, newStore func(t *testing.T) directory.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s directory.Store)
	}{
		{"Ping", testPing},
		{"Accounts", testAccounts},
		{"AccountConflict", testAccountConflict},
		{"AccountNotFound", testAccountNotFound},
		{"GetAccounts", testGetAccounts},
		{"People", testPeople},
		{"GetPeople", testGetPeople},
		{"Invitations", testInvitations},
		{"InvitationConflict", testInvitationConflict},
		{"InvitationNotFound", testInvitationNotFound},
		{"ListInvitations", testListInvitations},
		{"SetInvitationStatus", testSetInvitationStatus},
		{"SetInvitationStatusConcurrent", testSetInvitationStatusConcurrent},
		{"Contacts", testContacts},
		{"GetContacts", testGetContacts},
		{"ListContacts", testListContacts},
		{"AppendAudit", testAppendAudit},
		{"ListAudit", testListAudit},
		{"ListAuditPaging", testListAuditPaging},
		{"ListAuditDefaultLimit", testListAuditDefaultLimit},
		{"ListAuditRequiresAccount", testListAuditRequiresAccount},
		{"CopiesNotAliases", testCopiesNotAliases},
		{"AuditOutcome", testAuditOutcome},
		{"AuditRecoveryJSON", testAuditRecoveryJSON},
		{"ListAuditIntents", testListAuditIntents},
		{"ListAuditIntentsDefaultLimit", testListAuditIntentsDefaultLimit},
		{"SettleAudit", testSettleAudit},
		{"SettleAuditConcurrent", testSettleAuditConcurrent},
		{"Freshness", testFreshness},
		{"FreshnessConcurrent", testFreshnessConcurrent},
		{"ExportAll", testExportAll},
		{"ImportAll", testImportAll},
		{"ImportAllAtomic", testImportAllAtomic},
		{"ImportAllConcurrent", testImportAllConcurrent},
		{"BackupCopiesNotAliases", testBackupCopiesNotAliases},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, openStore(t, newStore))
		})
	}
	// Subtests that need more than one store.
	multi := []struct {
		name string
		fn   func(t *testing.T, newStore func(t *testing.T) directory.Store)
	}{
		{"BackupRoundTrip", testBackupRoundTrip},
		{"ImportAllNotEmpty", testImportAllNotEmpty},
	}
	for _, tc := range multi {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, func(t *testing.T) directory.Store { return openStore(t, newStore) })
		})
	}
}

// openStore builds a store and closes it when the test ends.
func openStore(t *testing.T, newStore func(t *testing.T) directory.Store) directory.Store {
	t.Helper()
	s := newStore(t)
	// Registered after newStore's cleanups, so it runs before them.
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// now is the current time as a database keeps it.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func newInvitation(id, accountID string, createdAt time.Time) directory.Invitation {
	return directory.Invitation{
		ID:        id,
		AccountID: accountID,
		Email:     id + "@example.com",
		TokenHash: tokenHash("token-" + accountID + "/" + id),
		Access:    json.RawMessage(`{"role":"admin","hosts":["h1"]}`),
		InvitedBy: "user:alice",
		CreatedAt: createdAt,
		ExpiresAt: createdAt.Add(7 * 24 * time.Hour),
		Status:    directory.InvitationPending,
	}
}

func requireTime(t *testing.T, want, got time.Time, field string) {
	t.Helper()
	require.True(t, want.Equal(got), "%s: want %v, got %v", field, want, got)
}

// requireJSON compares JSON by meaning; an absent value may come back as
// nil or empty.
func requireJSON(t *testing.T, want, got json.RawMessage, field string) {
	t.Helper()
	if len(want) == 0 {
		require.Empty(t, got, field)
		return
	}
	require.JSONEq(t, string(want), string(got), field)
}

func requireAccount(t *testing.T, want, got directory.Account) {
	t.Helper()
	requireTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
	want.CreatedAt, got.CreatedAt = time.Time{}, time.Time{}
	require.Equal(t, want, got)
}

func requirePerson(t *testing.T, want, got directory.Person) {
	t.Helper()
	requireTime(t, want.UpdatedAt, got.UpdatedAt, "UpdatedAt")
	want.UpdatedAt, got.UpdatedAt = time.Time{}, time.Time{}
	require.Equal(t, want, got)
}

func requireInvitation(t *testing.T, want, got directory.Invitation) {
	t.Helper()
	requireTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
	requireTime(t, want.ExpiresAt, got.ExpiresAt, "ExpiresAt")
	requireTime(t, want.StatusAt, got.StatusAt, "StatusAt")
	requireJSON(t, want.Access, got.Access, "Access")
	want.CreatedAt, want.ExpiresAt, want.StatusAt, want.Access = time.Time{}, time.Time{}, time.Time{}, nil
	got.CreatedAt, got.ExpiresAt, got.StatusAt, got.Access = time.Time{}, time.Time{}, time.Time{}, nil
	require.Equal(t, want, got)
}

func requireContact(t *testing.T, want, got directory.Contact) {
	t.Helper()
	requireTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
	requireTime(t, want.UpdatedAt, got.UpdatedAt, "UpdatedAt")
	want.CreatedAt, want.UpdatedAt = time.Time{}, time.Time{}
	got.CreatedAt, got.UpdatedAt = time.Time{}, time.Time{}
	require.Equal(t, want, got)
}

func requireAudit(t *testing.T, want, got directory.AuditEntry) {
	t.Helper()
	requireTime(t, want.Time, got.Time, "Time")
	requireJSON(t, want.Before, got.Before, "Before")
	requireJSON(t, want.After, got.After, "After")
	requireJSON(t, want.Recovery, got.Recovery, "Recovery")
	want.Time, want.Before, want.After, want.Recovery = time.Time{}, nil, nil, nil
	got.Time, got.Before, got.After, got.Recovery = time.Time{}, nil, nil, nil
	require.Equal(t, want, got)
}

func requireAudits(t *testing.T, want, got []directory.AuditEntry) {
	t.Helper()
	require.Equal(t, auditSeqs(want), auditSeqs(got))
	for i := range want {
		requireAudit(t, want[i], got[i])
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
	requireAudits(t, want.Audit, got.Audit)
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

func invitationIDs(invs []directory.Invitation) []string {
	ids := make([]string, len(invs))
	for i, inv := range invs {
		ids[i] = inv.ID
	}
	return ids
}

func auditSeqs(es []directory.AuditEntry) []int64 {
	seqs := make([]int64, len(es))
	for i, e := range es {
		seqs[i] = e.Seq
	}
	return seqs
}

func testPing(t *testing.T, s directory.Store) {
	require.NoError(t, s.Ping(t.Context()))
}

func testAccounts(t *testing.T, s directory.Store) {
	ctx := t.Context()
	a := directory.Account{ID: "acme", Name: "Acme", HostID: "host1", AdminCap: 3, CreatedAt: now()}
	require.NoError(t, s.CreateAccount(ctx, a))
	got, err := s.GetAccount(ctx, "acme")
	require.NoError(t, err)
	requireAccount(t, a, got)

	a.Name, a.AdminCap = "Acme Ltd", 5
	require.NoError(t, s.UpdateAccount(ctx, a))
	got, err = s.GetAccount(ctx, "acme")
	require.NoError(t, err)
	requireAccount(t, a, got)

	require.NoError(t, s.DeleteAccount(ctx, "acme"))
	_, err = s.GetAccount(ctx, "acme")
	require.ErrorIs(t, err, directory.ErrNotFound)
}

func testAccountConflict(t *testing.T, s directory.Store) {
	ctx := t.Context()
	a := directory.Account{ID: "acme", Name: "Acme", HostID: "host1", AdminCap: 3, CreatedAt: now()}
	require.NoError(t, s.CreateAccount(ctx, a))
	err := s.CreateAccount(ctx, directory.Account{ID: "acme", Name: "Other", CreatedAt: now()})
	require.ErrorIs(t, err, directory.ErrConflict)

	got, err := s.GetAccount(ctx, "acme")
	require.NoError(t, err)
	requireAccount(t, a, got) // the first one is kept
}

func testAccountNotFound(t *testing.T, s directory.Store) {
	ctx := t.Context()
	_, err := s.GetAccount(ctx, "nope")
	require.ErrorIs(t, err, directory.ErrNotFound)
	err = s.UpdateAccount(ctx, directory.Account{ID: "nope", Name: "Nope", CreatedAt: now()})
	require.ErrorIs(t, err, directory.ErrNotFound)
	require.ErrorIs(t, s.DeleteAccount(ctx, "nope"), directory.ErrNotFound)

	// An update of a missing account must not create it.
	_, err = s.GetAccount(ctx, "nope")
	require.ErrorIs(t, err, directory.ErrNotFound)
}

func testGetAccounts(t *testing.T, s directory.Store) {
	ctx := t.Context()
	a := directory.Account{ID: "a", Name: "A", CreatedAt: now()}
	b := directory.Account{ID: "b", Name: "B", CreatedAt: now()}
	require.NoError(t, s.CreateAccount(ctx, a))
	require.NoError(t, s.CreateAccount(ctx, b))
	require.NoError(t, s.CreateAccount(ctx, directory.Account{ID: "c", Name: "C", CreatedAt: now()}))

	got, err := s.GetAccounts(ctx, []string{"a", "missing", "b"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	requireAccount(t, a, got["a"])
	requireAccount(t, b, got["b"])

	got, err = s.GetAccounts(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testPeople(t *testing.T, s directory.Store) {
	ctx := t.Context()
	_, err := s.GetPerson(ctx, "user:nobody")
	require.ErrorIs(t, err, directory.ErrNotFound)

	p := directory.Person{UserID: "user:carol", Email: "carol@example.com", DisplayName: "Carol", UpdatedAt: now()}
	require.NoError(t, s.PutPerson(ctx, p))
	got, err := s.GetPerson(ctx, p.UserID)
	require.NoError(t, err)
	requirePerson(t, p, got)

	// Put replaces.
	p.Email, p.DisplayName, p.UpdatedAt = "carol@example.org", "Carol C.", now().Add(time.Second)
	require.NoError(t, s.PutPerson(ctx, p))
	got, err = s.GetPerson(ctx, p.UserID)
	require.NoError(t, err)
	requirePerson(t, p, got)
}

func testGetPeople(t *testing.T, s directory.Store) {
	ctx := t.Context()
	c := directory.Person{UserID: "user:carol", Email: "carol@example.com", DisplayName: "Carol", UpdatedAt: now()}
	d := directory.Person{UserID: "user:dave", Email: "dave@example.com", DisplayName: "Dave", UpdatedAt: now()}
	require.NoError(t, s.PutPerson(ctx, c))
	require.NoError(t, s.PutPerson(ctx, d))

	got, err := s.GetPeople(ctx, []string{"user:carol", "user:missing", "user:dave"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	requirePerson(t, c, got["user:carol"])
	requirePerson(t, d, got["user:dave"])

	got, err = s.GetPeople(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testInvitations(t *testing.T, s directory.Store) {
	ctx := t.Context()
	inv := newInvitation("x1", "acme", now())
	require.NoError(t, s.CreateInvitation(ctx, inv))

	got, err := s.GetInvitation(ctx, "x1")
	require.NoError(t, err)
	requireInvitation(t, inv, got)

	got, err = s.GetInvitationByTokenHash(ctx, tokenHash("token-acme/x1"))
	require.NoError(t, err)
	requireInvitation(t, inv, got)
}

func testInvitationConflict(t *testing.T, s directory.Store) {
	ctx := t.Context()
	inv := newInvitation("x1", "acme", now())
	require.NoError(t, s.CreateInvitation(ctx, inv))

	sameID := newInvitation("x1", "acme", now())
	sameID.TokenHash = tokenHash("another token")
	require.ErrorIs(t, s.CreateInvitation(ctx, sameID), directory.ErrConflict)
	_, err := s.GetInvitationByTokenHash(ctx, sameID.TokenHash)
	require.ErrorIs(t, err, directory.ErrNotFound, "a refused create must store nothing")

	sameHash := newInvitation("x2", "acme", now())
	sameHash.TokenHash = inv.TokenHash
	require.ErrorIs(t, s.CreateInvitation(ctx, sameHash), directory.ErrConflict)
	_, err = s.GetInvitation(ctx, "x2")
	require.ErrorIs(t, err, directory.ErrNotFound, "a refused create must store nothing")

	got, err := s.GetInvitationByTokenHash(ctx, inv.TokenHash)
	require.NoError(t, err)
	requireInvitation(t, inv, got)
}

func testInvitationNotFound(t *testing.T, s directory.Store) {
	ctx := t.Context()
	_, err := s.GetInvitation(ctx, "nope")
	require.ErrorIs(t, err, directory.ErrNotFound)
	_, err = s.GetInvitationByTokenHash(ctx, tokenHash("nope"))
	require.ErrorIs(t, err, directory.ErrNotFound)
	err = s.SetInvitationStatus(ctx, "nope", directory.InvitationPending, directory.InvitationAccepted, "user:bob", now(), "")
	require.ErrorIs(t, err, directory.ErrNotFound)

	list, err := s.ListInvitations(ctx, "acme")
	require.NoError(t, err)
	require.Empty(t, list)
}

func testListInvitations(t *testing.T, s directory.Store) {
	ctx := t.Context()
	t0 := now()
	// Created out of order; i2 and i3 share a time so the id breaks the tie.
	for _, inv := range []directory.Invitation{
		newInvitation("i4", "acme", t0.Add(3*time.Second)),
		newInvitation("i3", "acme", t0.Add(time.Second)),
		newInvitation("i1", "acme", t0),
		newInvitation("i2", "acme", t0.Add(time.Second)),
		newInvitation("o1", "other", t0), // another account's
	} {
		require.NoError(t, s.CreateInvitation(ctx, inv))
	}
	require.NoError(t, s.SetInvitationStatus(ctx, "i2", directory.InvitationPending, directory.InvitationAccepted, "user:bob", now(), ""))
	require.NoError(t, s.SetInvitationStatus(ctx, "i4", directory.InvitationPending, directory.InvitationRevoked, "user:alice", now(), ""))

	list, err := s.ListInvitations(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, []string{"i1", "i2", "i3", "i4"}, invitationIDs(list))
	requireInvitation(t, newInvitation("i1", "acme", t0), list[0])

	list, err = s.ListInvitations(ctx, "acme", directory.InvitationPending)
	require.NoError(t, err)
	require.Equal(t, []string{"i1", "i3"}, invitationIDs(list))

	list, err = s.ListInvitations(ctx, "acme", directory.InvitationAccepted, directory.InvitationRevoked)
	require.NoError(t, err)
	require.Equal(t, []string{"i2", "i4"}, invitationIDs(list))

	list, err = s.ListInvitations(ctx, "acme", directory.InvitationSuperseded)
	require.NoError(t, err)
	require.Empty(t, list)

	list, err = s.ListInvitations(ctx, "other")
	require.NoError(t, err)
	require.Equal(t, []string{"o1"}, invitationIDs(list))

	list, err = s.ListInvitations(ctx, "nobody")
	require.NoError(t, err)
	require.Empty(t, list)
}

func testSetInvitationStatus(t *testing.T, s directory.Store) {
	ctx := t.Context()
	inv := newInvitation("x1", "acme", now())
	require.NoError(t, s.CreateInvitation(ctx, inv))

	// Wrong from: refused, nothing changes.
	err := s.SetInvitationStatus(ctx, "x1", directory.InvitationAccepted, directory.InvitationRevoked, "user:alice", now(), "")
	require.ErrorIs(t, err, directory.ErrConflict)
	got, err := s.GetInvitation(ctx, "x1")
	require.NoError(t, err)
	requireInvitation(t, inv, got)

	// Regenerated: superseded by a newer invitation.
	at := now()
	require.NoError(t, s.SetInvitationStatus(ctx, "x1", directory.InvitationPending, directory.InvitationSuperseded, "user:alice", at, "x2"))
	want := inv
	want.Status, want.StatusAt, want.StatusBy, want.SupersededBy = directory.InvitationSuperseded, at, "user:alice", "x2"
	got, err = s.GetInvitation(ctx, "x1")
	require.NoError(t, err)
	requireInvitation(t, want, got)

	// Once moved on, the old from no longer matches.
	err = s.SetInvitationStatus(ctx, "x1", directory.InvitationPending, directory.InvitationAccepted, "user:bob", now(), "")
	require.ErrorIs(t, err, directory.ErrConflict)
	got, err = s.GetInvitation(ctx, "x1")
	require.NoError(t, err)
	requireInvitation(t, want, got)

	// Accepted: an empty supersededBy is not stored.
	inv2 := newInvitation("x2", "acme", now())
	require.NoError(t, s.CreateInvitation(ctx, inv2))
	at = now()
	require.NoError(t, s.SetInvitationStatus(ctx, "x2", directory.InvitationPending, directory.InvitationAccepted, "user:bob", at, ""))
	want = inv2
	want.Status, want.StatusAt, want.StatusBy = directory.InvitationAccepted, at, "user:bob"
	got, err = s.GetInvitationByTokenHash(ctx, inv2.TokenHash)
	require.NoError(t, err)
	requireInvitation(t, want, got)
}

// Accepting an invitation is a race the store must settle: of many
// concurrent accepts exactly one wins.
func testSetInvitationStatusConcurrent(t *testing.T, s directory.Store) {
	ctx := t.Context()
	require.NoError(t, s.CreateInvitation(ctx, newInvitation("x1", "acme", now())))

	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		// require must not be called off the test goroutine: collect errors.
		wg.Go(func() {
			errs[i] = s.SetInvitationStatus(ctx, "x1", directory.InvitationPending, directory.InvitationAccepted,
				fmt.Sprintf("user:u%d", i), now(), "")
		})
	}
	wg.Wait()

	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "more than one accept succeeded")
			winner = i
			continue
		}
		require.ErrorIs(t, err, directory.ErrConflict, "goroutine %d", i)
	}
	require.NotEqual(t, -1, winner, "no accept succeeded")

	got, err := s.GetInvitation(ctx, "x1")
	require.NoError(t, err)
	require.Equal(t, directory.InvitationAccepted, got.Status)
	require.Equal(t, fmt.Sprintf("user:u%d", winner), got.StatusBy)
}

func testContacts(t *testing.T, s directory.Store) {
	ctx := t.Context()
	_, err := s.GetContact(ctx, "nope")
	require.ErrorIs(t, err, directory.ErrNotFound)
	require.ErrorIs(t, s.DeleteContact(ctx, "nope"), directory.ErrNotFound)

	c := directory.Contact{ID: "k1", AccountID: "acme", Name: "Kim", Email: "kim@example.com", Phone: "+44 20 7946 0000", CreatedAt: now(), UpdatedAt: now()}
	require.NoError(t, s.PutContact(ctx, c))
	got, err := s.GetContact(ctx, "k1")
	require.NoError(t, err)
	requireContact(t, c, got)

	// Put replaces.
	c.Phone, c.UpdatedAt = "", now().Add(time.Second)
	require.NoError(t, s.PutContact(ctx, c))
	got, err = s.GetContact(ctx, "k1")
	require.NoError(t, err)
	requireContact(t, c, got)

	require.NoError(t, s.DeleteContact(ctx, "k1"))
	_, err = s.GetContact(ctx, "k1")
	require.ErrorIs(t, err, directory.ErrNotFound)
	require.ErrorIs(t, s.DeleteContact(ctx, "k1"), directory.ErrNotFound)
}

func testGetContacts(t *testing.T, s directory.Store) {
	ctx := t.Context()
	a := directory.Contact{ID: "k1", AccountID: "acme", Name: "Kim", CreatedAt: now(), UpdatedAt: now()}
	b := directory.Contact{ID: "k2", AccountID: "other", Name: "Lee", CreatedAt: now(), UpdatedAt: now()}
	require.NoError(t, s.PutContact(ctx, a))
	require.NoError(t, s.PutContact(ctx, b))

	got, err := s.GetContacts(ctx, []string{"k1", "missing", "k2"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	requireContact(t, a, got["k1"])
	requireContact(t, b, got["k2"])

	got, err = s.GetContacts(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testListContacts(t *testing.T, s directory.Store) {
	ctx := t.Context()
	// Plain lower-case ASCII names, so byte order and a database collation
	// agree.
	for _, c := range []directory.Contact{
		{ID: "k3", AccountID: "acme", Name: "lee"},
		{ID: "k2", AccountID: "acme", Name: "kim"},
		{ID: "k1", AccountID: "acme", Name: "lee"},
		{ID: "k4", AccountID: "acme", Name: "ann"},
		{ID: "o1", AccountID: "other", Name: "bob"},
	} {
		c.CreatedAt, c.UpdatedAt = now(), now()
		require.NoError(t, s.PutContact(ctx, c))
	}

	list, err := s.ListContacts(ctx, "acme")
	require.NoError(t, err)
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	require.Equal(t, []string{"k4", "k2", "k1", "k3"}, ids)

	list, err = s.ListContacts(ctx, "other")
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "o1", list[0].ID)

	list, err = s.ListContacts(ctx, "nobody")
	require.NoError(t, err)
	require.Empty(t, list)
}

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

func testListAuditRequiresAccount(t *testing.T, s directory.Store) {
	ctx := t.Context()
	_, err := s.AppendAudit(ctx, directory.AuditEntry{Time: now(), Actor: "user:alice", Flow: "invite", AccountID: "acme"})
	require.NoError(t, err)
	_, err = s.ListAudit(ctx, directory.AuditFilter{})
	require.Error(t, err)
}

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

func testFreshness(t *testing.T, s directory.Store) {
	ctx := t.Context()
	_, err := s.GetFreshness(ctx, "acme")
	require.ErrorIs(t, err, directory.ErrNotFound)

	require.NoError(t, s.SetFreshness(ctx, "acme", "", "zed-1"))
	got, err := s.GetFreshness(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, "zed-1", got)

	// Compare-and-set: a stale or absent expectation changes nothing.
	require.ErrorIs(t, s.SetFreshness(ctx, "acme", "", "zed-2"), directory.ErrConflict)
	require.ErrorIs(t, s.SetFreshness(ctx, "acme", "zed-0", "zed-2"), directory.ErrConflict)
	require.Error(t, s.SetFreshness(ctx, "acme", "zed-1", ""), "an empty token is refused")
	got, err = s.GetFreshness(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, "zed-1", got)

	require.NoError(t, s.SetFreshness(ctx, "acme", "zed-1", "zed-2"))
	got, err = s.GetFreshness(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, "zed-2", got)

	// Scopes are independent.
	_, err = s.GetFreshness(ctx, "globex")
	require.ErrorIs(t, err, directory.ErrNotFound)
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
