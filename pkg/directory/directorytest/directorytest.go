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

// RunConformance runs the suite as subtests of t. newStore is called once per
// subtest and must return an empty store; the suite closes it (and requires
// Close to succeed) when the subtest ends, before any cleanup newStore
// registered on t runs.
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
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			// Registered after newStore's cleanups, so it runs before them.
			t.Cleanup(func() { require.NoError(t, s.Close()) })
			tc.fn(t, s)
		})
	}
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
	want.Time, want.Before, want.After = time.Time{}, nil, nil
	got.Time, got.Before, got.After = time.Time{}, nil, nil
	require.Equal(t, want, got)
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
		want.Seq = got.Seq
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
	scribble := func(b []byte) {
		for i := range b {
			b[i] = 'X'
		}
	}

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
		Before: json.RawMessage(`{"role":"viewer"}`),
		After:  json.RawMessage(`{"role":"admin"}`),
	}
	in := entry
	in.Before, in.After = append(json.RawMessage(nil), entry.Before...), append(json.RawMessage(nil), entry.After...)
	appended, err := s.AppendAudit(ctx, in)
	require.NoError(t, err)
	entry.Seq = appended.Seq
	scribble(in.Before)
	scribble(in.After)
	scribble(appended.Before)
	scribble(appended.After)

	entries, err := s.ListAudit(ctx, directory.AuditFilter{AccountID: "acme"})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	scribble(entries[0].Before)
	scribble(entries[0].After)

	entries, err = s.ListAudit(ctx, directory.AuditFilter{AccountID: "acme"})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	requireAudit(t, entry, entries[0])
}
