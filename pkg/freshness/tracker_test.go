package freshness_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hostaccess/hostaccess/internal/testengine"
	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/engine"
	"github.com/hostaccess/hostaccess/pkg/freshness"
)

func TestScopeOf(t *testing.T) {
	for _, tc := range []struct {
		typ, id string
		scope   string
		ok      bool
	}{
		{"account", "acme", "acme", true},
		{"product", "acme/site", "acme", true},
		{"product_group", "acme/web", "acme", true},
		{"tag", "acme/client-x", "acme", true},
		{"admin_seat", "acme/seat-1", "acme", true},
		{"invitation", "acme/4f2a", "acme", true},
		{"product", "no-slash", freshness.Global, true},
		{"host", "nordhost", freshness.Global, true},
		{"user", "carol", "", false},
		{"token", "acme/t1", "acme", true},
		{"contact", "acme/77", "", false},
		{"operation", "0a1b", "", false},
	} {
		scope, ok := freshness.ScopeOf(tc.typ, tc.id)
		require.Equal(t, tc.ok, ok, "%s:%s", tc.typ, tc.id)
		require.Equal(t, tc.scope, scope, "%s:%s", tc.typ, tc.id)
	}
}

// TestAUsersTokenLinkBelongsToTheTokensAccount: revoking a token removes
// user#tokens@token:ACCOUNT/ID, which changes ACCOUNT's answers.
func TestAUsersTokenLinkBelongsToTheTokensAccount(t *testing.T) {
	link := &v1.Relationship{
		Resource: &v1.ObjectReference{ObjectType: "user", ObjectId: "carol"}, Relation: "tokens",
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "token", ObjectId: "acme/t1"}},
	}
	scope, ok := freshness.ScopeOfRelationship(link)
	require.True(t, ok)
	require.Equal(t, "acme", scope)
	require.Equal(t, []string{"acme"}, freshness.ScopesOfUpdates([]*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: link}}))
	marker := &v1.Relationship{
		Resource: &v1.ObjectReference{ObjectType: "operation", ObjectId: "0a1b"}, Relation: "applied",
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"}},
	}
	_, ok = freshness.ScopeOfRelationship(marker)
	require.False(t, ok, "no permission reads the flows' markers")
}

func TestScopesOfFilter(t *testing.T) {
	for _, tc := range []struct {
		filter *v1.RelationshipFilter
		want   []string
	}{
		{&v1.RelationshipFilter{ResourceType: "account", OptionalResourceId: "acme"}, []string{"acme"}},
		{&v1.RelationshipFilter{ResourceType: "product", OptionalResourceIdPrefix: "acme/"}, []string{"acme"}},
		{&v1.RelationshipFilter{ResourceType: "product", OptionalResourceIdPrefix: "acm"}, []string{freshness.Global}},
		{&v1.RelationshipFilter{ResourceType: "account", OptionalResourceIdPrefix: "acme"}, []string{freshness.Global}},
		{&v1.RelationshipFilter{ResourceType: "product"}, []string{freshness.Global}},
		{&v1.RelationshipFilter{OptionalRelation: "billing"}, []string{freshness.Global}},
		{&v1.RelationshipFilter{ResourceType: "operation"}, nil},
		{&v1.RelationshipFilter{ResourceType: "operation", OptionalResourceId: "0a1b"}, nil},
		{&v1.RelationshipFilter{ResourceType: "host", OptionalResourceIdPrefix: "x/"}, []string{freshness.Global}},
		{&v1.RelationshipFilter{ResourceType: "token", OptionalResourceId: "acme/t1"}, []string{"acme"}},
		{&v1.RelationshipFilter{ResourceType: "user", OptionalResourceId: "carol", OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: "token", OptionalSubjectId: "acme/t1"}}, []string{"acme"}},
		{&v1.RelationshipFilter{ResourceType: "user", OptionalResourceId: "carol"}, []string{freshness.Global}},
		{&v1.RelationshipFilter{ResourceType: "user", OptionalRelation: "tokens"}, []string{freshness.Global}},
	} {
		require.Equal(t, tc.want, freshness.ScopesOfFilter(tc.filter), "%v", tc.filter)
	}
}

// rig is an engine, a directory and a tracker following the engine.
type rig struct {
	eng     *engine.Engine
	store   directory.Store
	tracker *freshness.Tracker
}

func newRig(t *testing.T, capacity int) *rig {
	t.Helper()
	eng, uri := testengine.StartEngineWithDatabase(t)
	store := testengine.NewDirectory(t, uri)
	return &rig{eng: eng, store: store, tracker: testengine.NewTracker(t, store, uri != "", capacity)}
}

// write changes something no scope covers (an operation marker), so only
// the test tells the tracker about it; it returns the write's token.
func (r *rig) write(t *testing.T) string {
	t.Helper()
	expires := time.Now().Add(time.Hour)
	resp, err := r.eng.Client.WriteRelationships(context.Background(), &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
		Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
		Relationship: &v1.Relationship{
			Resource:          &v1.ObjectReference{ObjectType: "operation", ObjectId: fmt.Sprintf("test-%d", time.Now().UnixNano())},
			Relation:          "applied",
			Subject:           &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"}},
			OptionalExpiresAt: timestamppb.New(expires),
		},
	}}})
	require.NoError(t, err)
	return resp.GetWrittenAt().GetToken()
}

func tokenOf(c *v1.Consistency) string { return c.GetAtExactSnapshot().GetToken() }

func TestFullyConsistentUntilFollowingAndAfter(t *testing.T) {
	r := newRig(t, 0)
	c, err := r.tracker.Consistency(t.Context(), []string{"acme"}, "")
	require.NoError(t, err)
	require.True(t, c.GetFullyConsistent(), "no watch yet: nothing may be cached")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.tracker.Follow(ctx, r.eng.Client) }()
	require.Eventually(t, r.tracker.Following, 20*time.Second, 5*time.Millisecond)
	c, err = r.tracker.Consistency(t.Context(), []string{"acme"}, "")
	require.NoError(t, err)
	require.NotEmpty(t, tokenOf(c), "following: at least as fresh as the floor")

	cancel()
	<-done
	require.False(t, r.tracker.Following())
	c, err = r.tracker.Consistency(t.Context(), []string{"acme"}, "")
	require.NoError(t, err)
	require.True(t, c.GetFullyConsistent(), "the watch stopped: back to full consistency")
}

func TestConsistencyTakesTheNewestOfStoreMemoryAndCaller(t *testing.T) {
	r := newRig(t, 0)
	testengine.Follow(t, r.tracker, r.eng)
	ctx := t.Context()

	// A token only the store knows (another node's flow).
	stored := r.write(t)
	require.NoError(t, r.store.SetFreshness(ctx, "acme", "", stored))
	c, err := r.tracker.Consistency(ctx, []string{"acme"}, "")
	require.NoError(t, err)
	require.Equal(t, stored, tokenOf(c))
	require.EqualValues(t, 1, r.tracker.Stats().Loads)

	// Cached now: the store is not read again.
	c, err = r.tracker.Consistency(ctx, []string{"acme", "globex"}, "")
	require.NoError(t, err)
	require.Equal(t, stored, tokenOf(c))
	require.EqualValues(t, 2, r.tracker.Stats().Loads, "globex read once, acme not again")

	// A newer change observed in memory wins; an older one changes nothing.
	newer := r.write(t)
	require.NoError(t, r.tracker.Observe([]string{"globex"}, newer))
	require.NoError(t, r.tracker.Observe([]string{"globex"}, stored))
	c, err = r.tracker.Consistency(ctx, []string{"acme", "globex"}, "")
	require.NoError(t, err)
	require.Equal(t, newer, tokenOf(c))
	c, err = r.tracker.Consistency(ctx, []string{"acme"}, "")
	require.NoError(t, err)
	require.Equal(t, stored, tokenOf(c), "acme is not held back by globex's change")

	// The caller's token, when newer, is honoured.
	callers := r.write(t)
	c, err = r.tracker.Consistency(ctx, []string{"acme"}, callers)
	require.NoError(t, err)
	require.Equal(t, callers, tokenOf(c))

	_, err = r.tracker.Consistency(ctx, []string{"acme"}, "bogus")
	require.ErrorIs(t, err, freshness.ErrInvalidToken)
	require.Zero(t, r.tracker.Stats().Full)
}

// Ask asks a first question about an account at once, at what the node
// knows, and asks again only when the account's stored token turns out
// newer than the answer's revision.
func TestAskReasksOnlyWhenTheStoredTokenIsNewer(t *testing.T) {
	r := newRig(t, 0)
	ctx := t.Context()
	type call struct{ token string }
	var calls []call
	// answerAt answers each request at the given revision ("" answers at the
	// token it was asked for, as SpiceDB at least does).
	ask := func(answerAt string) func(context.Context, *v1.Consistency) (string, error) {
		return func(_ context.Context, c *v1.Consistency) (string, error) {
			calls = append(calls, call{tokenOf(c)})
			if c.GetFullyConsistent() {
				calls[len(calls)-1].token = "full"
			}
			if answerAt != "" {
				return answerAt, nil
			}
			return tokenOf(c), nil
		}
	}

	// Not following: one fully consistent request, no store read.
	require.NoError(t, r.tracker.Ask(ctx, []string{"acme"}, "", ask("")))
	require.Equal(t, []call{{"full"}}, calls)
	require.Zero(t, r.tracker.Stats().Loads)

	testengine.Follow(t, r.tracker, r.eng)
	stored := r.write(t) // another node's flow on acme
	require.NoError(t, r.store.SetFreshness(ctx, "acme", "", stored))
	globexStored := r.write(t)
	require.NoError(t, r.store.SetFreshness(ctx, "globex", "", globexStored))
	later := r.write(t)

	// The first request runs at the floor, before the token is known; its
	// answer is older than the stored token, so it is asked again with it.
	calls = nil
	require.NoError(t, r.tracker.Ask(ctx, []string{"acme"}, "", ask("")))
	require.Len(t, calls, 2)
	require.NotEqual(t, stored, calls[0].token, "asked before the store answered")
	require.Equal(t, stored, calls[1].token)
	require.EqualValues(t, 1, r.tracker.Stats().Reasks)
	require.EqualValues(t, 1, r.tracker.Stats().Loads)

	// An answer at a revision newer than the stored token stands: one request.
	calls = nil
	require.NoError(t, r.tracker.Ask(ctx, []string{"globex"}, "", ask(later)))
	require.Len(t, calls, 1)
	require.EqualValues(t, 1, r.tracker.Stats().Reasks)
	require.EqualValues(t, 2, r.tracker.Stats().Loads)

	// An answer without a readable revision is not trusted: asked again.
	calls = nil
	initechStored := r.write(t)
	require.NoError(t, r.store.SetFreshness(ctx, "initech", "", initechStored))
	require.NoError(t, r.tracker.Ask(ctx, []string{"initech"}, "", ask("not-a-token")))
	require.Len(t, calls, 2)
	require.Equal(t, initechStored, calls[1].token)
	require.EqualValues(t, 2, r.tracker.Stats().Reasks)

	// Known now: asked once at the token, no store read.
	calls = nil
	require.NoError(t, r.tracker.Ask(ctx, []string{"acme"}, "", ask("")))
	require.Equal(t, []call{{stored}}, calls)
	require.EqualValues(t, 3, r.tracker.Stats().Loads)

	// A request that fails is not asked again; a bad caller token is refused
	// before anything is asked.
	calls = nil
	boom := errors.New("engine down")
	err := r.tracker.Ask(ctx, []string{"hooli"}, "", func(context.Context, *v1.Consistency) (string, error) {
		calls = append(calls, call{})
		return "", boom
	})
	require.ErrorIs(t, err, boom)
	require.Len(t, calls, 1)
	err = r.tracker.Ask(ctx, []string{"umbrella"}, "bogus", ask(""))
	require.ErrorIs(t, err, freshness.ErrInvalidToken)
	require.Len(t, calls, 1)
}

func TestRecordStoresTokensNeverBackwards(t *testing.T) {
	r := newRig(t, 0)
	testengine.Follow(t, r.tracker, r.eng)
	ctx := t.Context()
	older, newer := r.write(t), r.write(t)

	require.NoError(t, r.tracker.Record(ctx, []string{"acme", freshness.Global}, newer))
	got, err := r.store.GetFreshness(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, newer, got)
	_, err = r.store.GetFreshness(ctx, freshness.Global)
	require.ErrorIs(t, err, directory.ErrNotFound, "the floor is not stored: each node's starts at its watch")

	require.NoError(t, r.tracker.Record(ctx, []string{"acme"}, older))
	got, err = r.store.GetFreshness(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, newer, got, "an older write's token does not replace a newer one")
	require.True(t, r.tracker.Covers("acme", newer))
}

// Persist is Record's store half, for writes the engine already reported:
// the same never-backwards rule, and a token it cannot read is refused.
func TestPersistStoresTokensNeverBackwards(t *testing.T) {
	r := newRig(t, 0)
	ctx := t.Context()
	older, newer := r.write(t), r.write(t)

	require.NoError(t, r.tracker.Persist(ctx, []string{"acme"}, newer))
	require.NoError(t, r.tracker.Persist(ctx, []string{"acme"}, older))
	got, err := r.store.GetFreshness(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, newer, got, "an older write's token does not replace a newer one")

	require.Error(t, r.tracker.Persist(ctx, []string{"acme"}, "not-a-token"))
	got, err = r.store.GetFreshness(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, newer, got, "a refused token changes nothing")
}

func TestForgetReadsTheNewestRevision(t *testing.T) {
	r := newRig(t, 0)
	testengine.Follow(t, r.tracker, r.eng)
	ctx := t.Context()
	unseen := r.write(t) // a bulk import's change, say: no token reported
	require.False(t, r.tracker.Covers("acme", unseen))
	r.tracker.Forget(freshness.Global)
	heads := r.tracker.Stats().Heads
	_, err := r.tracker.Consistency(ctx, []string{"acme"}, "")
	require.NoError(t, err)
	require.Equal(t, heads+1, r.tracker.Stats().Heads)
	require.True(t, r.tracker.Covers("acme", unseen), "the floor moved to the newest revision")
}

func TestCapacityBoundsMemoryWithoutLosingFreshness(t *testing.T) {
	r := newRig(t, 2)
	testengine.Follow(t, r.tracker, r.eng)
	tokens := map[string]string{}
	for _, scope := range []string{"a", "b", "c", "d"} {
		tokens[scope] = r.write(t)
		require.NoError(t, r.tracker.Observe([]string{scope}, tokens[scope]))
	}
	for scope, token := range tokens {
		require.True(t, r.tracker.Covers(scope, token), "%s: forgotten tokens are covered by the floor", scope)
	}
}

// BenchmarkConsistencyCached is the cost of reading an account's token on
// the check path once it is in memory.
func BenchmarkConsistencyCached(b *testing.B) {
	eng := testengine.StartEngine(b)
	tracker := testengine.NewTracker(b, testengine.NewDirectory(b, ""), false, 0)
	testengine.Follow(b, tracker, eng)
	scopes := []string{"acme"}
	ctx := context.Background()
	if _, err := tracker.Consistency(ctx, scopes, ""); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := tracker.Consistency(ctx, scopes, ""); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestExpiredGrantsAreDeniedOnTime: a time-bound grant is denied as soon
// as it lapses, although nothing was written and SpiceDB's 30 s window
// would keep serving the cached "allowed" (the control shows it does).
func TestExpiredGrantsAreDeniedOnTime(t *testing.T) {
	tracker := testengine.NewTracker(t, testengine.NewDirectory(t, ""), testutil.UsePostgres(), 0)
	eng, _ := testengine.StartEngineWithTracker(t, tracker, 30*time.Second)
	testengine.Follow(t, tracker, eng)
	ctx := t.Context()

	// Twice: the second grant is written after the first lapsed, when the
	// expiry queue had emptied.
	for _, user := range []string{"contractor1", "contractor2"} {
		expires := time.Now().Add(1500 * time.Millisecond)
		_, err := eng.Client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
			Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
			Relationship: &v1.Relationship{
				Resource: &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"}, Relation: "member",
				Subject:           &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
				OptionalExpiresAt: timestamppb.New(expires),
			},
		}}})
		require.NoError(t, err)
		ask := func(c *v1.Consistency) bool {
			resp, err := eng.Client.CheckPermission(ctx, &v1.CheckPermissionRequest{
				Consistency: c,
				Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"}, Permission: "view",
				Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
			})
			require.NoError(t, err)
			return resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
		}
		tracked := func() *v1.Consistency {
			c, err := tracker.Consistency(ctx, []string{"acme"}, "")
			require.NoError(t, err)
			return c
		}
		// Warm while the grant holds; remember the revision answers came from.
		var before *v1.Consistency
		for time.Until(expires) > 300*time.Millisecond {
			before = tracked()
			require.True(t, ask(before), user)
			time.Sleep(50 * time.Millisecond)
		}
		pinned := before // already an exact snapshot
		require.True(t, ask(pinned), user)
		time.Sleep(time.Until(expires) + 150*time.Millisecond)
		require.False(t, ask(tracked()), "%s lapsed: denied at once through the tracker", user)
		require.True(t, ask(pinned),
			"control: at the revision answers came from before, SpiceDB's cache still allows %s (nothing was written)", user)
	}
}
