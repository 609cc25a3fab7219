package directorytest

import (
	"crypto/sha256"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

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
