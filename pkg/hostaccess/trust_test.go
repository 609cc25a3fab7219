package hostaccess_test

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/streams"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// The tests of this file are the attacks of issue #12: each tries to get
// access nobody granted, and fails, next to the allowed path it abuses.

// hostAdmin makes userID an admin of host nordhost, written through
// SpiceDB's API as a provider would.
func (f *fixture) hostAdmin(userID string) {
	f.t.Helper()
	_, err := f.stack.Engine.Client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
		Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
		Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "host", ObjectId: "nordhost"}, Relation: "admin",
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: userID}},
		},
	}}})
	require.NoError(f.t, err)
}

// rightsOf lists every relationship of acme (and of its products, groups,
// tags) naming userID, but invitations sent and seats: the person's rights.
func (f *fixture) rightsOf(userID string) []string {
	f.t.Helper()
	var out []string
	for _, filter := range []*v1.RelationshipFilter{
		{ResourceType: "account", OptionalResourceId: "acme"},
		{ResourceType: "product", OptionalResourceIdPrefix: "acme/"},
		{ResourceType: "product_group", OptionalResourceIdPrefix: "acme/"},
		{ResourceType: "tag", OptionalResourceIdPrefix: "acme/"},
	} {
		filter.OptionalSubjectFilter = &v1.SubjectFilter{SubjectType: "user", OptionalSubjectId: userID}
		stream, err := f.stack.Engine.Client.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
			RelationshipFilter: filter, Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
		})
		require.NoError(f.t, err)
		require.NoError(f.t, streams.Each(stream, func(r *v1.ReadRelationshipsResponse) {
			out = append(out, r.GetRelationship().GetResource().GetObjectId()+"#"+r.GetRelationship().GetRelation())
		}))
	}
	return out
}

// administrators counts acme's members holding the administrator role.
func (f *fixture) administrators() int {
	f.t.Helper()
	members, err := f.svc.ListMembers(ctx, alice, "acme")
	require.NoError(f.t, err)
	admins := 0
	for _, m := range members {
		if m.Access.Administrator {
			admins++
		}
	}
	return admins
}

func TestRemoveRacingAcceptLeavesNoOrphanedGrant(t *testing.T) {
	for round := range 8 {
		f := newFixture(t)
		f.member("carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
		link, err := f.svc.Invite(ctx, alice, "acme", "carol@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightDomains}})
		require.NoError(t, err)

		var removeErr, acceptErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() { <-start; _, removeErr = f.svc.RemoveMember(ctx, alice, "acme", "carol") })
		wg.Go(func() { <-start; _, acceptErr = f.svc.AcceptInvitation(ctx, link.Token, login("carol")) })
		close(start)
		wg.Wait()

		for _, err := range []error{removeErr, acceptErr} {
			if err != nil {
				require.Equal(t, "conflict", hostaccess.Code(err), "round %d: the loser is told the state changed: %v", round, err)
			}
		}
		t.Logf("round %d: remove: %v; accept: %v", round, removeErr, acceptErr)
		require.False(t, removeErr != nil && acceptErr != nil, "round %d: one of the two wins", round)
		member := f.can("user:carol", "account:acme", "access")
		rights := f.rightsOf("carol")
		if !member {
			require.Empty(t, rights, "round %d: no right survives the removal", round)
		}
		if member && removeErr == nil {
			// Both won, one after the other: removal, then acceptance.
			require.ElementsMatch(t, []string{"acme#member", "acme#domains"}, rights, "round %d: billing did not come back", round)
		}
	}
}

func TestScopedManagerCannotOrganizeProductsIntoTheirScope(t *testing.T) {
	f := newFixture(t)
	f.member("dave", hostaccess.Access{
		Rights:    []hostaccess.Right{hostaccess.RightUserManagement},
		Technical: hostaccess.ProductScope{Tags: []string{"client-x"}, Groups: []string{"web"}},
	})
	dave := hostaccess.Person("dave")

	_, err := f.svc.SetProductTag(ctx, dave, "acme", "site", "client-x", true)
	requireCode(t, err, "escalation")
	_, err = f.svc.SetProductGroup(ctx, dave, "acme", "site", "web", true)
	requireCode(t, err, "escalation")
	_, err = f.svc.SetProductTag(ctx, dave, "acme", "shop", "brand-new", true)
	requireCode(t, err, "escalation") // a new tag reaches products still to come
	require.False(t, f.can("user:dave", "product:acme/site", "manage"))
	// Nor turn the tag's reach into a direct grant of his own, which would
	// survive untagging.
	self, err := f.svc.Invite(ctx, dave, "acme", "dave@example.com", hostaccess.Access{Technical: hostaccess.ProductScope{Products: []string{"shop"}}})
	require.NoError(t, err, "he may offer shop to someone else")
	_, err = f.svc.AcceptInvitation(ctx, self.Token, login("dave"))
	requireCode(t, err, "escalation")

	// Within his scope he organizes: shop carries client-x, he manages both.
	_, err = f.svc.SetProductGroup(ctx, dave, "acme", "shop", "web", true)
	require.NoError(t, err)
	_, err = f.svc.SetProductTag(ctx, dave, "acme", "shop", "client-x", false)
	require.NoError(t, err)
	// The owner organizes anything.
	_, err = f.svc.SetProductTag(ctx, alice, "acme", "site", "client-x", true)
	require.NoError(t, err)
	require.True(t, f.can("user:dave", "product:acme/site", "manage"))
}

func TestTimeBoundMemberCannotOutliveTheirAccess(t *testing.T) {
	f := newFixture(t)
	end := f.clock.Now().Add(48 * time.Hour).Truncate(time.Second)
	f.member("frank", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightUserManagement, hostaccess.RightBilling}, ExpiresAt: &end})
	frank := hostaccess.Person("frank")
	rights := []hostaccess.Right{hostaccess.RightBilling, hostaccess.RightUserManagement}

	_, err := f.svc.SetAccess(ctx, frank, "acme", "frank", hostaccess.Access{Rights: rights})
	requireCode(t, err, "escalation")
	later := end.Add(time.Hour)
	_, err = f.svc.SetAccess(ctx, frank, "acme", "frank", hostaccess.Access{Rights: rights, ExpiresAt: &later})
	requireCode(t, err, "escalation")
	_, err = f.svc.Invite(ctx, frank, "acme", "frank@example.com", hostaccess.Access{Rights: rights})
	requireCode(t, err, "escalation")
	_, err = f.svc.Invite(ctx, frank, "acme", "gina@example.com", hostaccess.Access{})
	requireCode(t, err, "escalation") // membership itself is reach
	_, err = f.svc.Invite(ctx, frank, "acme", "gina@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}, ExpiresAt: &later})
	requireCode(t, err, "escalation")

	// Within his own end he grants, and narrows himself.
	link, err := f.svc.Invite(ctx, frank, "acme", "gina@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}, ExpiresAt: &end})
	require.NoError(t, err)
	_, err = f.svc.AcceptInvitation(ctx, link.Token, login("gina"))
	require.NoError(t, err)
	sooner := end.Add(-time.Hour)
	_, err = f.svc.SetAccess(ctx, frank, "acme", "frank", hostaccess.Access{Rights: rights, ExpiresAt: &sooner})
	require.NoError(t, err)

	// His own invitation, within his end, adds nothing when he accepts it.
	self, err := f.svc.Invite(ctx, frank, "acme", "frank@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}, ExpiresAt: &sooner})
	require.NoError(t, err)
	acc, err := f.svc.AcceptInvitation(ctx, self.Token, login("frank"))
	require.NoError(t, err)
	require.Equal(t, rights, acc.Access.Rights)
	require.True(t, acc.Access.ExpiresAt.Equal(sooner))

	// An owner's permanent offer merges, and the earlier end stays.
	link, err = f.svc.Invite(ctx, alice, "acme", "frank@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightSupport}})
	require.NoError(t, err)
	acc, err = f.svc.AcceptInvitation(ctx, link.Token, login("frank"))
	require.NoError(t, err)
	require.True(t, acc.Merged)
	require.NotNil(t, acc.Access.ExpiresAt)
	require.True(t, acc.Access.ExpiresAt.Equal(sooner), "merge keeps the earlier end, got %v", acc.Access.ExpiresAt)

	// The owner may still make frank permanent: that is their grant.
	_, err = f.svc.SetAccess(ctx, alice, "acme", "frank", hostaccess.Access{Rights: rights})
	require.NoError(t, err)
}

func TestDelegatesCannotTurnDelegationIntoMembership(t *testing.T) {
	f := newFixture(t) // acme has host nordhost: delegated by default
	f.hostAdmin("hannah")
	hannah := hostaccess.Person("hannah")
	require.True(t, f.can("user:hannah", "account:acme", "manage_users"))

	_, err := f.svc.Invite(ctx, hannah, "acme", "hannah@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightUserManagement}})
	requireCode(t, err, "escalation")
	_, err = f.svc.Invite(ctx, hannah, "acme", "ivan@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightUserManagement}})
	requireCode(t, err, "escalation")

	// She manages users within what she holds: invitations without rights.
	self, err := f.svc.Invite(ctx, hannah, "acme", "hannah@example.com", hostaccess.Access{})
	require.NoError(t, err)
	_, err = f.svc.AcceptInvitation(ctx, self.Token, login("hannah"))
	requireCode(t, err, "escalation")
	pending, err := f.svc.Invite(ctx, hannah, "acme", "ivan@example.com", hostaccess.Access{})
	require.NoError(t, err)

	// Delegation off: her reach and the invitations she sent end at once.
	_, err = f.svc.SetDelegation(ctx, alice, "acme", false)
	require.NoError(t, err)
	require.False(t, f.can("user:hannah", "account:acme", "manage_users"))
	_, err = f.svc.AcceptInvitation(ctx, pending.Token, login("ivan"))
	requireCode(t, err, "invitation_revoked")
	_, err = f.svc.AcceptInvitation(ctx, self.Token, login("hannah"))
	requireCode(t, err, "invitation_revoked")
	require.Empty(t, f.rightsOf("hannah"))
	require.Empty(t, f.rightsOf("ivan"))
}

func TestCreateAccountNeverRewritesAKnownPerson(t *testing.T) {
	f := newFixture(t)
	f.member("victor", hostaccess.Access{Notifications: []hostaccess.Category{hostaccess.CategoryBilling}})
	f.hostAdmin("hannah")
	hannah := hostaccess.Person("hannah")

	// Host staff create a managed account for an existing login; the
	// attacker's e-mail is not taken for his.
	_, err := f.svc.CreateAccount(ctx, hannah, hostaccess.NewAccount{ID: "trap", OwnerID: "victor", OwnerEmail: "attacker@evil.test", OwnerName: "Not Victor", HostID: "nordhost"})
	require.NoError(t, err)
	for _, account := range []string{"acme", "trap"} {
		recipients, err := f.svc.Recipients(ctx, service, account, "", hostaccess.CategoryBilling)
		require.NoError(t, err)
		for _, r := range recipients {
			require.NotEqual(t, "attacker@evil.test", r.Email, "billing mail of %s", account)
		}
	}
	// Who made victor an owner is on record.
	entries, err := f.svc.AuditLog(ctx, service, hostaccess.AuditQuery{AccountID: "trap", Limit: 10})
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	created := entries[len(entries)-1]
	require.Equal(t, "create_account", created.Flow)
	require.Equal(t, "user:hannah", created.Actor)
	var after map[string]any
	require.NoError(t, json.Unmarshal(created.After, &after))
	require.Equal(t, "victor", after["owner"])

	// A person hostaccess does not know yet is introduced with the e-mail given.
	_, err = f.svc.CreateAccount(ctx, hannah, hostaccess.NewAccount{ID: "fresh", OwnerID: "newbie", OwnerEmail: "newbie@example.com", HostID: "nordhost"})
	require.NoError(t, err)
	recipients, err := f.svc.Recipients(ctx, service, "fresh", "", hostaccess.CategoryBilling)
	require.NoError(t, err)
	require.Len(t, recipients, 1)
	require.Equal(t, "newbie@example.com", recipients[0].Email)

	// Staff of nordhost create nothing for another host.
	_, err = f.svc.CreateAccount(ctx, hannah, hostaccess.NewAccount{ID: "elsewhere", OwnerID: "x", HostID: "otherhost"})
	requireCode(t, err, "forbidden")
}

func TestConcurrentAdministratorGrantsFillEveryFreeSeat(t *testing.T) {
	f := newFixture(t)
	f.member("admin1", hostaccess.PresetAdministrator(nil, hostaccess.ProductScope{}))
	const contenders = 8
	for i := range contenders {
		f.member("cand"+string(rune('a'+i)), hostaccess.Access{})
	}
	errs := make([]error, contenders)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range contenders {
		wg.Go(func() {
			<-start
			_, errs[i] = f.svc.SetAccess(ctx, alice, "acme", "cand"+string(rune('a'+i)), hostaccess.PresetAdministrator(nil, hostaccess.ProductScope{}))
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		require.Equal(t, "admin_cap_reached", hostaccess.Code(err), "%v", err)
	}
	require.Equal(t, 2, wins, "cap 3 with one seat taken: exactly the two free seats are granted")
	require.Equal(t, 3, f.administrators())
}

func TestOwnerRightsAreChangedByOwnershipFlowsOnly(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.SetAccess(ctx, alice, "acme", "alice", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	requireCode(t, err, "last_owner")
	require.ErrorIs(t, err, hostaccess.ErrLastOwner)

	f.member("bob", hostaccess.Access{})
	_, err = f.svc.AddOwner(ctx, alice, "acme", "bob")
	require.NoError(t, err)
	_, err = f.svc.SetAccess(ctx, alice, "acme", "alice", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	requireCode(t, err, "owner_holds_every_right")
	// The way out that the message names works.
	_, err = f.svc.RemoveMember(ctx, alice, "acme", "alice")
	require.NoError(t, err)
}

func TestDelegationIsOnByDefaultForManagedAccounts(t *testing.T) {
	f := newFixture(t)
	f.hostAdmin("hank")
	_, err := f.svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "managed", OwnerID: "mia", HostID: "nordhost"})
	require.NoError(t, err)
	_, err = f.svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "optout", OwnerID: "olga", HostID: "nordhost", Delegated: hostaccess.Delegation(false)})
	require.NoError(t, err)
	_, err = f.svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "direct", OwnerID: "dina"})
	require.NoError(t, err)
	_, err = f.svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "nohost", OwnerID: "nina", Delegated: hostaccess.Delegation(true)})
	requireCode(t, err, "invalid_argument")

	require.True(t, f.can("user:hank", "account:managed", "manage_users"))
	require.False(t, f.can("user:hank", "account:optout", "manage_users"))
	require.False(t, f.can("user:hank", "account:direct", "manage_users"))
	// Switchable, at once.
	_, err = f.svc.SetDelegation(ctx, hostaccess.Person("mia"), "managed", false)
	require.NoError(t, err)
	require.False(t, f.can("user:hank", "account:managed", "manage_users"))
}

func TestNoRightLeaksWhetherAnAccountExists(t *testing.T) {
	f := newFixture(t)
	outsider := hostaccess.Person("mallory")
	calls := map[string]func(account string) error{
		"list members": func(a string) error { _, err := f.svc.ListMembers(ctx, outsider, a); return err },
		"invite": func(a string) error {
			_, err := f.svc.Invite(ctx, outsider, a, "m@example.com", hostaccess.Access{})
			return err
		},
		"set access": func(a string) error {
			_, err := f.svc.SetAccess(ctx, outsider, a, "alice", hostaccess.Access{})
			return err
		},
		"remove member": func(a string) error { _, err := f.svc.RemoveMember(ctx, outsider, a, "alice"); return err },
		"list products": func(a string) error { _, err := f.svc.ListProducts(ctx, outsider, a); return err },
		"close":         func(a string) error { _, err := f.svc.CloseAccount(ctx, outsider, a); return err },
		"audit log": func(a string) error {
			_, err := f.svc.AuditLog(ctx, outsider, hostaccess.AuditQuery{AccountID: a, Limit: 10})
			return err
		},
		"revoke": func(a string) error {
			_, err := f.svc.RevokeInvitation(ctx, outsider, a+"/0123456789abcdef")
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			existing, missing := call("acme"), call("nowhere")
			requireCode(t, existing, "forbidden")
			requireCode(t, missing, "forbidden")
			require.Equal(t, existing.Error(), strings.ReplaceAll(missing.Error(), "nowhere", "acme"))
		})
	}
	// A service identity is trusted, and told.
	_, err := f.svc.ListMembers(ctx, service, "nowhere")
	require.True(t, errors.Is(err, hostaccess.ErrNotFound), "%v", err)
}

func TestRemovingAMemberWithdrawsTheInvitationsTheySent(t *testing.T) {
	f := newFixture(t)
	f.member("dave", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightUserManagement}})
	dave := hostaccess.Person("dave")
	link, err := f.svc.Invite(ctx, dave, "acme", "mallory@example.com", hostaccess.Access{})
	require.NoError(t, err)
	kept, err := f.svc.Invite(ctx, alice, "acme", "bob@example.com", hostaccess.Access{})
	require.NoError(t, err)

	_, err = f.svc.RemoveMember(ctx, dave, "acme", "dave") // dave leaves
	require.NoError(t, err)

	status := map[string]string{}
	invs, err := f.svc.ListInvitations(ctx, alice, "acme")
	require.NoError(t, err)
	for _, inv := range invs {
		status[inv.ID] = inv.Status
	}
	require.Equal(t, "revoked", status[link.Invitation.ID], "an offer made on dave's access goes with it")
	require.Equal(t, "pending", status[kept.Invitation.ID], "other people's invitations stand")
	_, err = f.svc.AcceptInvitation(ctx, link.Token, login("mallory"))
	requireCode(t, err, "invitation_revoked")
}
