package hostaccess_test

import (
	"fmt"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// hostPerson writes host:nordhost#relation@user:userID by hand: host staff
// are provider-side, not written through the flows.
func (f *fixture) hostPerson(relation, userID string) {
	f.t.Helper()
	_, err := f.stack.Engine.Client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
		Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
		Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "host", ObjectId: "nordhost"}, Relation: relation,
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: userID}},
		},
	}}})
	require.NoError(f.t, err)
}

// linesOf indexes a review's lines by "user right scope".
func linesOf(r hostaccess.AccessReview) map[string]hostaccess.ReviewLine {
	out := map[string]hostaccess.ReviewLine{}
	for _, l := range r.Lines {
		out[l.UserID+" "+l.Right+" "+l.Scope] = l
	}
	return out
}

func usersOf(r hostaccess.AccessReview) []string {
	var out []string
	for _, l := range r.Lines {
		if len(out) == 0 || out[len(out)-1] != l.UserID {
			out = append(out, l.UserID)
		}
	}
	return out
}

func TestAccessReviewListsEveryHolderAndHowTheyHoldIt(t *testing.T) {
	f := newFixture(t)
	day := 24 * time.Hour
	f.member("carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}, ExpiresAt: until(5 * day)})
	f.member("dave", hostaccess.Access{Technical: hostaccess.ProductScope{Groups: []string{"web"}, Tags: []string{"client-x"}}, View: hostaccess.ProductScope{Products: []string{"site"}}})
	f.member("erin", hostaccess.PresetAdministrator([]hostaccess.Right{hostaccess.RightSecurity}, hostaccess.ProductScope{All: true}))
	f.member("gus", hostaccess.Access{Notifications: []hostaccess.Category{hostaccess.CategoryBilling}}) // may log in, no right
	_, _, err := f.svc.AddContact(ctx, alice, "acme", hostaccess.ContactInput{Name: "Renewals", Email: "renew@acme.test", Notifications: []hostaccess.Category{hostaccess.CategoryRenewals}, SupportAccess: true})
	require.NoError(t, err)
	f.hostPerson("admin", "hank")
	f.hostPerson("staff", "sam")

	r, err := f.svc.AccessReview(ctx, alice, "acme", hostaccess.ReviewFilter{})
	require.NoError(t, err)
	require.Equal(t, "acme", r.AccountID)
	require.Equal(t, "Acme", r.AccountName)
	require.True(t, r.Delegated)
	require.NotEmpty(t, r.At, "the revision every line is read at")
	require.WithinDuration(t, time.Now(), r.GeneratedAt, time.Minute)
	require.Equal(t, []string{"alice", "carol", "dave", "erin", "gus", "hank", "sam"}, usersOf(r), "owners, members, then delegated host staff; never the contact")
	require.Equal(t, 7, r.People)
	lines := linesOf(r)

	// The owner: one line per right, held by ownership, granted when the
	// account was created.
	for _, right := range append(hostaccess.Rights, "technical") {
		scope := "account"
		if right == "technical" {
			scope = "all products"
		}
		l, ok := lines["alice "+string(right)+" "+scope]
		require.True(t, ok, "alice holds %s", right)
		require.Equal(t, hostaccess.HeldOwnership, l.Held)
		require.Equal(t, hostaccess.RoleOwner, l.Role)
		require.Equal(t, "service:panel", l.GrantedBy)
		require.NotNil(t, l.GrantedAt)
		require.Nil(t, l.Ends, "an owner never expires")
		require.Equal(t, "alice@acme.test", l.Email)
	}

	carol := lines["carol billing account"]
	require.Equal(t, hostaccess.HeldDirect, carol.Held)
	require.Equal(t, "user:alice", carol.GrantedBy, "the inviter granted what the acceptance took")
	require.NotNil(t, carol.Ends)
	require.WithinDuration(t, *until(5 * day), *carol.Ends, 2*time.Second)
	require.Equal(t, "carol@example.com", carol.Email)

	require.Equal(t, hostaccess.ReviewLine{UserID: "dave", Email: "dave@example.com", Role: "member", Right: "technical", Scope: "group web", Held: "group", Through: "web",
		GrantedBy: "user:alice", GrantedAt: lines["dave technical group web"].GrantedAt}, lines["dave technical group web"])
	require.Equal(t, "tag", lines["dave technical tag client-x"].Held)
	require.Equal(t, "client-x", lines["dave technical tag client-x"].Through)
	require.Equal(t, "direct", lines["dave view product site"].Held)

	require.Equal(t, "administrator", lines["erin administrator account"].Role)
	require.Equal(t, "all_products", lines["erin technical all products"].Held)
	require.Equal(t, "direct", lines["erin security account"].Held)
	require.Equal(t, "direct", lines["gus access account"].Held, "a member without rights still appears")

	hank := lines["hank user_management account"]
	require.Equal(t, hostaccess.HeldDelegation, hank.Held)
	require.Equal(t, hostaccess.RoleHostAdmin, hank.Role)
	require.Equal(t, "host:nordhost", hank.Through)
	require.Equal(t, "service:panel", hank.GrantedBy, "delegation came on with the account")
	require.Equal(t, hostaccess.HeldDelegation, lines["sam view_users account"].Held)
	for _, l := range r.Lines {
		require.NotContains(t, l.UserID, "/", "a contact id (ACCOUNT/ID) never appears")
	}

	// Switching delegation off takes the host staff out at once.
	_, err = f.svc.SetDelegation(ctx, alice, "acme", false)
	require.NoError(t, err)
	r, err = f.svc.AccessReview(ctx, alice, "acme", hostaccess.ReviewFilter{})
	require.NoError(t, err)
	require.False(t, r.Delegated)
	require.Equal(t, []string{"alice", "carol", "dave", "erin", "gus"}, usersOf(r))

	// On again: the lines come back, granted by who switched it on.
	f.clock.Advance(time.Hour)
	_, err = f.svc.SetDelegation(ctx, alice, "acme", true)
	require.NoError(t, err)
	r, err = f.svc.AccessReview(ctx, alice, "acme", hostaccess.ReviewFilter{Delegation: true})
	require.NoError(t, err)
	require.Equal(t, []string{"hank", "sam"}, usersOf(r), "delegation only")
	require.Equal(t, "user:alice", r.Lines[0].GrantedBy)
}

func TestAccessReviewFiltersAndGrantDates(t *testing.T) {
	f := newFixture(t)
	day := 24 * time.Hour
	f.member("carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}, ExpiresAt: until(5 * day)})
	f.member("dave", hostaccess.Access{Technical: hostaccess.ProductScope{Products: []string{"site"}}, ExpiresAt: until(40 * day)})
	f.member("ursula", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightUserManagement, hostaccess.RightSupport}})
	f.hostPerson("admin", "hank")

	soon, err := f.svc.AccessReview(ctx, alice, "acme", hostaccess.ReviewFilter{ExpiringWithinDays: 10})
	require.NoError(t, err)
	require.Equal(t, []string{"carol"}, usersOf(soon))
	later, err := f.svc.AccessReview(ctx, alice, "acme", hostaccess.ReviewFilter{ExpiringWithinDays: 60})
	require.NoError(t, err)
	require.Equal(t, []string{"carol", "dave"}, usersOf(later), "owners, permanent members and host staff never end")

	// A month later, alice adds a product to dave's scope: that line is
	// new, his first stays dated from his invitation.
	f.clock.Advance(31 * day)
	granted := f.clock.Now().UTC().Truncate(time.Second)
	_, err = f.svc.SetAccess(ctx, alice, "acme", "dave", hostaccess.Access{Technical: hostaccess.ProductScope{Products: []string{"site", "shop"}}, ExpiresAt: until(40 * day)})
	require.NoError(t, err)
	r, err := f.svc.AccessReview(ctx, alice, "acme", hostaccess.ReviewFilter{})
	require.NoError(t, err)
	lines := linesOf(r)
	require.WithinDuration(t, granted, *lines["dave technical product shop"].GrantedAt, time.Second)
	require.True(t, lines["dave technical product site"].GrantedAt.Before(granted.Add(-30*day)))

	old, err := f.svc.AccessReview(ctx, alice, "acme", hostaccess.ReviewFilter{GrantedBeforeDays: 30})
	require.NoError(t, err)
	got := linesOf(old)
	require.Contains(t, got, "dave technical product site")
	require.NotContains(t, got, "dave technical product shop", "granted today")
	require.Contains(t, got, "carol billing account")
	require.Contains(t, got, "alice billing account")
	require.Contains(t, got, "hank user_management account", "delegation is on since the account was created")

	both, err := f.svc.AccessReview(ctx, alice, "acme", hostaccess.ReviewFilter{GrantedBeforeDays: 30, Delegation: true})
	require.NoError(t, err)
	require.Equal(t, []string{"hank"}, usersOf(both), "the conditions all hold")
	none, err := f.svc.AccessReview(ctx, alice, "acme", hostaccess.ReviewFilter{GrantedBeforeDays: 60})
	require.NoError(t, err)
	require.Empty(t, none.Lines)
	require.NotNil(t, none.Lines, "an empty list, not null")
	require.Zero(t, none.People)

	// Removed: gone from the review, and a later membership is dated anew.
	_, err = f.svc.RemoveMember(ctx, alice, "acme", "carol")
	require.NoError(t, err)
	f.member("carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	r, err = f.svc.AccessReview(ctx, alice, "acme", hostaccess.ReviewFilter{})
	require.NoError(t, err)
	require.WithinDuration(t, f.clock.Now(), *linesOf(r)["carol billing account"].GrantedAt, time.Second)
	require.Nil(t, linesOf(r)["carol billing account"].Ends)
}

func TestAccessReviewIsRefusedWithoutTheRightToSeeUsers(t *testing.T) {
	f := newFixture(t)
	f.member("carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	f.member("rita", hostaccess.PresetReadOnly())
	f.hostPerson("staff", "sam")

	for _, who := range []string{"carol", "mallory"} {
		_, err := f.svc.AccessReview(ctx, hostaccess.Person(who), "acme", hostaccess.ReviewFilter{})
		requireCode(t, err, "forbidden")
	}
	_, err := f.svc.AccessReview(ctx, alice, "no-such-account", hostaccess.ReviewFilter{})
	requireCode(t, err, "forbidden") // the same answer as for an account that exists
	for _, who := range []string{"rita", "sam"} {
		_, err := f.svc.AccessReview(ctx, hostaccess.Person(who), "acme", hostaccess.ReviewFilter{})
		require.NoError(t, err, "%s sees the account's users (read-only; host staff through delegation)", who)
	}
	for i, bad := range []hostaccess.ReviewFilter{
		{ExpiringWithinDays: -1}, {ExpiringWithinDays: hostaccess.MaxExpiringDays + 1},
		{GrantedBeforeDays: -1}, {GrantedBeforeDays: hostaccess.MaxGrantedBeforeDays + 1},
	} {
		_, err := f.svc.AccessReview(ctx, alice, "acme", bad)
		requireCode(t, err, "invalid_argument")
		require.Contains(t, err.Error(), "give 1 to", fmt.Sprint(i))
	}
}
