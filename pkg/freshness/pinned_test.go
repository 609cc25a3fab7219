package freshness_test

import (
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hostaccess/hostaccess/internal/testengine"
	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/pkg/engine"
	"github.com/hostaccess/hostaccess/pkg/freshness"
	"github.com/hostaccess/hostaccess/schema"
)

// grant writes account#member@user through the engine's API (so its
// tracker hears of it) and returns the write's token.
func grant(t *testing.T, eng *engine.Engine, account, user string, expires *timestamppb.Timestamp) string {
	t.Helper()
	resp, err := eng.Client.WriteRelationships(t.Context(), &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
		Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
		Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "account", ObjectId: account}, Relation: "member",
			Subject:           &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
			OptionalExpiresAt: expires,
		},
	}}})
	require.NoError(t, err)
	return resp.GetWrittenAt().GetToken()
}

// views asks whether user may view account at c.
func views(t *testing.T, eng *engine.Engine, c *v1.Consistency, account, user string) bool {
	t.Helper()
	resp, err := eng.Client.CheckPermission(t.Context(), &v1.CheckPermissionRequest{
		Consistency: c,
		Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: account}, Permission: "view",
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
	})
	require.NoError(t, err)
	return resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
}

func pinnedAt(t *testing.T, tracker *freshness.Tracker, account string) string {
	t.Helper()
	c, err := tracker.Consistency(t.Context(), []string{account}, "")
	require.NoError(t, err)
	require.NotNil(t, c.GetAtExactSnapshot(), "following: an exact snapshot, got %v", c)
	return c.GetAtExactSnapshot().GetToken()
}

// TestAnswersStayPinnedUntilTheAccountChanges: an account's snapshot does
// not move with SpiceDB's quantization window (50 ms here) nor with other
// accounts' changes, so its cached answers stay warm; its own change moves
// it, and the answer at the new snapshot holds the change.
func TestAnswersStayPinnedUntilTheAccountChanges(t *testing.T) {
	r := newRig(t, 0)
	testengine.Follow(t, r.tracker, r.eng)

	acme := pinnedAt(t, r.tracker, "acme")
	time.Sleep(200 * time.Millisecond) // four quantization windows
	require.Equal(t, acme, pinnedAt(t, r.tracker, "acme"), "nothing changed: the same snapshot")

	// The rig's engine reports its writes to the tracker through the watch.
	globexChange := grant(t, r.eng, "globex", "gina", nil)
	require.Eventually(t, func() bool { return pinnedAt(t, r.tracker, "globex") == globexChange }, 10*time.Second, 10*time.Millisecond,
		"globex is answered at its change")
	require.Equal(t, acme, pinnedAt(t, r.tracker, "acme"), "another account's change leaves acme's snapshot")

	require.False(t, views(t, r.eng, &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: &v1.ZedToken{Token: acme}}}, "acme", "carol"))
	acmeChange := grant(t, r.eng, "acme", "carol", nil)
	require.Eventually(t, func() bool { return pinnedAt(t, r.tracker, "acme") == acmeChange }, 10*time.Second, 10*time.Millisecond,
		"acme's change moves its snapshot")
	c, err := r.tracker.Consistency(t.Context(), []string{"acme"}, "")
	require.NoError(t, err)
	require.True(t, views(t, r.eng, c, "acme", "carol"), "the new snapshot holds the grant")

	// A caller's newer token wins over the account's.
	later := r.write(t)
	c, err = r.tracker.Consistency(t.Context(), []string{"acme"}, later)
	require.NoError(t, err)
	require.Equal(t, later, tokenOf(c))
}

// TestASchemaChangeMovesEverySnapshot: answers read the schema of their
// snapshot, so a schema written through the API moves the floor.
func TestASchemaChangeMovesEverySnapshot(t *testing.T) {
	r := newRig(t, 0)
	testengine.Follow(t, r.tracker, r.eng)
	before := pinnedAt(t, r.tracker, "acme")

	resp, err := r.eng.Client.WriteSchema(t.Context(), &v1.WriteSchemaRequest{Schema: schema.Hosting + "\ndefinition scratch {}\n"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return pinnedAt(t, r.tracker, "acme") == resp.GetWrittenAt().GetToken() }, 10*time.Second, 10*time.Millisecond,
		"the watch reports the schema change; it moves the floor from %s", before)
}

// TestRepinMovesTheFloorAlone: with nothing global changing, the floor
// still moves to the newest revision every RepinEvery, so pinned
// snapshots stay inside the datastore's garbage collection window.
func TestRepinMovesTheFloorAlone(t *testing.T) {
	eng, uri := testengine.StartEngineWithDatabase(t)
	store := testengine.NewDirectory(t, uri)
	kind := engine.EngineMemory
	if uri != "" {
		kind = engine.EnginePostgres
	}
	tracker, err := freshness.New(freshness.Config{DatastoreEngine: kind, Store: store, RepinEvery: 100 * time.Millisecond})
	require.NoError(t, err)
	testengine.Follow(t, tracker, eng)
	r := &rig{eng: eng, store: store, tracker: tracker}

	unseen := r.write(t) // no scope: only the repin covers it
	require.Eventually(t, func() bool { return tracker.Covers("acme", unseen) }, 10*time.Second, 20*time.Millisecond)

	_, err = freshness.New(freshness.Config{DatastoreEngine: kind, Store: store, RepinEvery: -time.Second})
	require.Error(t, err)
}

// TestAGrantStoredByOneNodeLapsesOnTimeOnANodeStartedLater: node A writes
// a time-bound grant; node B starts after it (its watch never reports the
// write) and answers from its floor, which holds the grant. B still
// denies it as soon as it lapses: A stored the expiry, B read it at start.
func TestAGrantStoredByOneNodeLapsesOnTimeOnANodeStartedLater(t *testing.T) {
	eng, uri := testengine.StartEngineWithDatabase(t)
	store := testengine.NewDirectory(t, uri)
	expires := time.Now().Add(2 * time.Second)
	grant(t, eng, "acme", "contractor", timestamppb.New(expires))
	// Node A's flow notes what it wrote, as its journal does.
	nodeA := testengine.NewTracker(t, store, uri != "", 0)
	nodeA.NoteExpirations(t.Context(), []*v1.RelationshipUpdate{{
		Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
		Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"}, Relation: "member",
			Subject:           &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "contractor"}},
			OptionalExpiresAt: timestamppb.New(expires),
		},
	}})
	pending, err := store.PendingExpiries(t.Context(), time.Now())
	require.NoError(t, err)
	require.Len(t, pending, 1, "node A stored the expiry")

	nodeB := testengine.NewTracker(t, store, uri != "", 0)
	testengine.Follow(t, nodeB, eng)
	for time.Until(expires) > 300*time.Millisecond {
		c, err := nodeB.Consistency(t.Context(), []string{"acme"}, "")
		require.NoError(t, err)
		require.True(t, views(t, eng, c, "acme", "contractor"), "the grant holds")
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Until(expires) + 200*time.Millisecond)
	c, err := nodeB.Consistency(t.Context(), []string{"acme"}, "")
	require.NoError(t, err)
	require.False(t, views(t, eng, c, "acme", "contractor"), "lapsed: denied at once on the node started after the grant")
}

// TestAPIChecksArePinned: a check through SpiceDB's API asking
// minimize_latency or at_least_as_fresh is answered at the account's pinned
// snapshot: the same one until the account changes, and after a raw write
// through the API the write's own, so it reads its write without passing
// the token. fully_consistent and at_exact_snapshot are left as asked.
func TestAPIChecksArePinned(t *testing.T) {
	tracker := testengine.NewTracker(t, testengine.NewDirectory(t, ""), testutil.UsePostgres(), 0)
	eng, _ := testengine.StartEngineWithTracker(t, tracker, 30*time.Second)
	testengine.Follow(t, tracker, eng)
	ask := func(c *v1.Consistency) (bool, string) {
		resp, err := eng.Client.CheckPermission(t.Context(), &v1.CheckPermissionRequest{
			Consistency: c,
			Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"}, Permission: "view",
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "carol"}},
		})
		require.NoError(t, err)
		return resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION, resp.GetCheckedAt().GetToken()
	}
	minLatency := &v1.Consistency{Requirement: &v1.Consistency_MinimizeLatency{MinimizeLatency: true}}

	allowed, at := ask(minLatency)
	require.False(t, allowed)
	require.Equal(t, pinnedAt(t, tracker, "acme"), at)
	allowed, _ = ask(nil)
	require.False(t, allowed)

	written := grant(t, eng, "acme", "carol", nil)
	allowed, at = ask(minLatency)
	require.True(t, allowed, "minimize_latency reads the account's last write at once (SpiceDB alone: after up to 30 s)")
	require.Equal(t, written, at)

	later := grant(t, eng, "globex", "gina", nil)
	allowed, at = ask(&v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: &v1.ZedToken{Token: later}}})
	require.True(t, allowed)
	require.Equal(t, later, at, "at least as fresh as the caller's newer token")

	allowed, at = ask(&v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: &v1.ZedToken{Token: written}}})
	require.True(t, allowed)
	require.Equal(t, written, at, "an exact snapshot is left as asked")

	_, err := eng.Client.CheckPermission(t.Context(), &v1.CheckPermissionRequest{
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: &v1.ZedToken{Token: "not-a-token"}}},
		Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"}, Permission: "view",
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "carol"}},
	})
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
}

// TestATokensLapseIsTheTokensAccounts: a personal access token's link
// (user#tokens, time-bound) lapses as a change of the token's account, so
// that account's pinned answers are refreshed then, and the expiry is
// stored under it for nodes started later. A link to something else is no
// account's.
func TestATokensLapseIsTheTokensAccounts(t *testing.T) {
	store := testengine.NewDirectory(t, "")
	tracker := testengine.NewTracker(t, store, false, 0)
	lapses := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	tracker.NoteExpirations(t.Context(), []*v1.RelationshipUpdate{{
		Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
		Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "user", ObjectId: "carol"}, Relation: "tokens",
			Subject:           &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "token", ObjectId: "acme/t1"}},
			OptionalExpiresAt: timestamppb.New(lapses),
		},
	}, {
		Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
		Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "operation", ObjectId: "0a1b"}, Relation: "applied",
			Subject:           &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"}},
			OptionalExpiresAt: timestamppb.New(lapses),
		},
	}})
	pending, err := store.PendingExpiries(t.Context(), time.Now())
	require.NoError(t, err)
	require.Len(t, pending, 1, "only the token link changes an answer when it lapses")
	require.Equal(t, "acme", pending[0].Scope)
	require.True(t, pending[0].At.Equal(lapses))
}
