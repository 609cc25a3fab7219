package directorytest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

func newRequest(id, accountID, userID string, createdAt time.Time) directory.AccessRequest {
	return directory.AccessRequest{
		ID:        id,
		AccountID: accountID,
		UserID:    userID,
		Requested: json.RawMessage(`{"rights":["billing"],"technical":{"products":["site"]}}`),
		Reason:    "I pay the invoices of " + accountID,
		Status:    directory.AccessRequestPending,
		CreatedAt: createdAt,
		ExpiresAt: createdAt.Add(7 * 24 * time.Hour),
	}
}

func requireRequest(t *testing.T, want, got directory.AccessRequest) {
	t.Helper()
	requireRecord(t, want, got, func(r *directory.AccessRequest) (map[string]*time.Time, *json.RawMessage) {
		return map[string]*time.Time{"CreatedAt": &r.CreatedAt, "ExpiresAt": &r.ExpiresAt, "DecidedAt": &r.DecidedAt}, &r.Requested
	})
}

func requestIDs(rs []directory.AccessRequest) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}

func testAccessRequests(t *testing.T, s directory.Store) {
	ctx := t.Context()
	r := newRequest("acme/r1", "acme", "carol", now())
	require.NoError(t, s.CreateAccessRequest(ctx, r))
	got, err := s.GetAccessRequest(ctx, "acme/r1")
	require.NoError(t, err)
	requireRequest(t, r, got)
	require.True(t, got.DecidedAt.IsZero(), "undecided: no decision time")

	// An absent Requested stays absent.
	bare := newRequest("acme/r2", "acme", "carol", now())
	bare.Requested = nil
	require.NoError(t, s.CreateAccessRequest(ctx, bare))
	got, err = s.GetAccessRequest(ctx, "acme/r2")
	require.NoError(t, err)
	requireRequest(t, bare, got)
}

func testAccessRequestConflict(t *testing.T, s directory.Store) {
	ctx := t.Context()
	r := newRequest("acme/r1", "acme", "carol", now())
	require.NoError(t, s.CreateAccessRequest(ctx, r))
	again := newRequest("acme/r1", "acme", "mallory", now())
	again.Reason = "overwrite"
	require.ErrorIs(t, s.CreateAccessRequest(ctx, again), directory.ErrConflict)
	got, err := s.GetAccessRequest(ctx, "acme/r1")
	require.NoError(t, err)
	requireRequest(t, r, got)
}

func testAccessRequestNotFound(t *testing.T, s directory.Store) {
	ctx := t.Context()
	_, err := s.GetAccessRequest(ctx, "acme/nope")
	require.ErrorIs(t, err, directory.ErrNotFound)
	err = s.SetAccessRequestStatus(ctx, "acme/nope", directory.AccessRequestPending, directory.AccessRequestApproved, "user:alice", now(), "")
	require.ErrorIs(t, err, directory.ErrNotFound)
	list, err := s.ListAccessRequests(ctx, "acme", directory.AccessRequestFilter{})
	require.NoError(t, err)
	require.Empty(t, list)
}

func testListAccessRequests(t *testing.T, s directory.Store) {
	ctx := t.Context()
	t0 := now()
	// Created out of order; r2 and r3 share a time so the id breaks the tie.
	for _, r := range []directory.AccessRequest{
		newRequest("acme/r4", "acme", "dave", t0.Add(3*time.Second)),
		newRequest("acme/r3", "acme", "carol", t0.Add(time.Second)),
		newRequest("acme/r1", "acme", "carol", t0),
		newRequest("acme/r2", "acme", "dave", t0.Add(time.Second)),
		newRequest("other/o1", "other", "carol", t0), // another account's
	} {
		require.NoError(t, s.CreateAccessRequest(ctx, r))
	}
	require.NoError(t, s.SetAccessRequestStatus(ctx, "acme/r2", directory.AccessRequestPending, directory.AccessRequestApproved, "user:alice", now(), "ok"))
	require.NoError(t, s.SetAccessRequestStatus(ctx, "acme/r4", directory.AccessRequestPending, directory.AccessRequestRefused, "user:alice", now(), ""))

	for _, tc := range []struct {
		name    string
		account string
		filter  directory.AccessRequestFilter
		want    []string
	}{
		{"all", "acme", directory.AccessRequestFilter{}, []string{"acme/r1", "acme/r2", "acme/r3", "acme/r4"}},
		{"pending", "acme", directory.AccessRequestFilter{Statuses: []directory.AccessRequestStatus{directory.AccessRequestPending}}, []string{"acme/r1", "acme/r3"}},
		{"decided", "acme", directory.AccessRequestFilter{Statuses: []directory.AccessRequestStatus{directory.AccessRequestApproved, directory.AccessRequestRefused}}, []string{"acme/r2", "acme/r4"}},
		{"one requester", "acme", directory.AccessRequestFilter{UserID: "carol"}, []string{"acme/r1", "acme/r3"}},
		{"requester and status", "acme", directory.AccessRequestFilter{UserID: "dave", Statuses: []directory.AccessRequestStatus{directory.AccessRequestRefused}}, []string{"acme/r4"}},
		{"nobody's", "acme", directory.AccessRequestFilter{UserID: "erin"}, []string{}},
		{"other account", "other", directory.AccessRequestFilter{}, []string{"other/o1"}},
		{"no account", "nobody", directory.AccessRequestFilter{}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, err := s.ListAccessRequests(ctx, tc.account, tc.filter)
			require.NoError(t, err)
			require.Equal(t, tc.want, requestIDs(list))
		})
	}
	list, err := s.ListAccessRequests(ctx, "acme", directory.AccessRequestFilter{UserID: "carol"})
	require.NoError(t, err)
	requireRequest(t, newRequest("acme/r1", "acme", "carol", t0), list[0])
}

func testSetAccessRequestStatus(t *testing.T, s directory.Store) {
	ctx := t.Context()
	r := newRequest("acme/r1", "acme", "carol", now())
	require.NoError(t, s.CreateAccessRequest(ctx, r))

	// Wrong from: refused, nothing changes.
	err := s.SetAccessRequestStatus(ctx, "acme/r1", directory.AccessRequestApproved, directory.AccessRequestRefused, "user:alice", now(), "no")
	require.ErrorIs(t, err, directory.ErrConflict)
	got, err := s.GetAccessRequest(ctx, "acme/r1")
	require.NoError(t, err)
	requireRequest(t, r, got)

	at := now()
	require.NoError(t, s.SetAccessRequestStatus(ctx, "acme/r1", directory.AccessRequestPending, directory.AccessRequestApproved, "user:alice", at, "granted for the audit"))
	want := r
	want.Status, want.DecidedBy, want.DecidedAt, want.Note = directory.AccessRequestApproved, "user:alice", at, "granted for the audit"
	got, err = s.GetAccessRequest(ctx, "acme/r1")
	require.NoError(t, err)
	requireRequest(t, want, got)

	// Decided once: the old from no longer matches.
	err = s.SetAccessRequestStatus(ctx, "acme/r1", directory.AccessRequestPending, directory.AccessRequestRefused, "user:bob", now(), "")
	require.ErrorIs(t, err, directory.ErrConflict)
	got, err = s.GetAccessRequest(ctx, "acme/r1")
	require.NoError(t, err)
	requireRequest(t, want, got)
}

// Two approvers deciding one request at once: exactly one wins.
func testSetAccessRequestStatusConcurrent(t *testing.T, s directory.Store) {
	ctx := t.Context()
	require.NoError(t, s.CreateAccessRequest(ctx, newRequest("acme/r1", "acme", "carol", now())))

	winner := oneWins(t, 20, "decision", func(i int) error {
		to := directory.AccessRequestApproved
		if i%2 == 1 {
			to = directory.AccessRequestRefused
		}
		return s.SetAccessRequestStatus(ctx, "acme/r1", directory.AccessRequestPending, to, fmt.Sprintf("user:u%d", i), now(), "")
	})
	got, err := s.GetAccessRequest(ctx, "acme/r1")
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("user:u%d", winner), got.DecidedBy)
	want := directory.AccessRequestApproved
	if winner%2 == 1 {
		want = directory.AccessRequestRefused
	}
	require.Equal(t, want, got.Status)
}

// What a caller passed in or got back is theirs to change.
func testAccessRequestCopies(t *testing.T, s directory.Store) {
	ctx := t.Context()
	r := newRequest("acme/r1", "acme", "carol", now())
	want := newRequest("acme/r1", "acme", "carol", r.CreatedAt)
	require.NoError(t, s.CreateAccessRequest(ctx, r))
	scribble(r.Requested)

	got, err := s.GetAccessRequest(ctx, "acme/r1")
	require.NoError(t, err)
	scribble(got.Requested)
	list, err := s.ListAccessRequests(ctx, "acme", directory.AccessRequestFilter{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	scribble(list[0].Requested)
	list[0].Status = directory.AccessRequestApproved

	got, err = s.GetAccessRequest(ctx, "acme/r1")
	require.NoError(t, err)
	requireRequest(t, want, got)
}
