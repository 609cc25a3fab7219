package hostaccess_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/testengine"
	"github.com/hostaccess/hostaccess/internal/teststack"
	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

var (
	ctx     = context.Background()
	service = hostaccess.System("panel")
	alice   = hostaccess.Person("alice")
)

// fixture is an account acme owned by alice, with products site, shop
// (tagged client-x) and mail (in group web).
type fixture struct {
	t     *testing.T
	svc   *hostaccess.Service
	clock *testutil.Clock
	mails *recordingMailer
	stack *teststack.Stack
}

type recordingMailer struct {
	mu   sync.Mutex
	sent []hostaccess.InvitationMail
}

func (m *recordingMailer) SendInvitation(_ context.Context, mail hostaccess.InvitationMail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, mail)
	return nil
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	mails := &recordingMailer{}
	st := teststack.NewStack(t, mails)
	svc := st.Service
	f := &fixture{t: t, svc: svc, clock: st.Clock, mails: mails, stack: st}
	_, err := svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "acme", Name: "Acme", OwnerID: "alice", OwnerEmail: "alice@acme.test", HostID: "nordhost"})
	require.NoError(t, err)
	_, err = svc.AddProduct(ctx, service, "acme", "site", nil, nil)
	require.NoError(t, err)
	_, err = svc.AddProduct(ctx, service, "acme", "shop", nil, []string{"client-x"})
	require.NoError(t, err)
	_, err = svc.AddProduct(ctx, service, "acme", "mail", []string{"web"}, nil)
	require.NoError(t, err)
	return f
}

// member invites email with access as alice and accepts it as userID.
func (f *fixture) member(userID string, access hostaccess.Access) {
	f.t.Helper()
	link, err := f.svc.Invite(ctx, alice, "acme", userID+"@example.com", access)
	require.NoError(f.t, err)
	_, err = f.svc.AcceptInvitation(ctx, link.Token, login(userID))
	require.NoError(f.t, err)
}

func login(userID string) hostaccess.Login {
	return hostaccess.Login{UserID: userID, Email: userID + "@example.com", EmailVerified: true}
}

func (f *fixture) can(subject, resource, permission string) bool {
	f.t.Helper()
	a, err := f.svc.Can(ctx, hostaccess.Check{Resource: resource, Permission: permission, Subject: subject}, hostaccess.CheckOptions{})
	require.NoError(f.t, err)
	return a.Allowed
}

func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, hostaccess.Code(err), "error: %v", err)
}

func TestInviteAcceptGrantsExactlyTheInvitedRights(t *testing.T) {
	f := newFixture(t)
	link, err := f.svc.Invite(ctx, alice, "acme", "Carol@Example.com ", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	require.NoError(t, err)
	require.Equal(t, "carol@example.com", link.Invitation.Email, "bound to the normalised address")
	require.GreaterOrEqual(t, len(link.Token), 32, "at least 128 bits of token (hex)")
	require.Contains(t, link.URL, "https://panel.example.com/invite/")
	require.True(t, link.Emailed)
	require.Len(t, f.mails.sent, 1)
	require.Equal(t, "carol@example.com", f.mails.sent[0].To)

	acc, err := f.svc.AcceptInvitation(ctx, link.Token, hostaccess.Login{UserID: "carol", Email: "CAROL@example.com", EmailVerified: true})
	require.NoError(t, err)
	require.False(t, acc.Merged)
	require.True(t, f.can("user:carol", "account:acme", "pay_invoices"))
	require.False(t, f.can("user:carol", "account:acme", "open_ticket"))
	require.False(t, f.can("user:carol", "product:acme/site", "manage"))
	require.False(t, f.can("user:carol", "account:acme", "manage_users"))

	// Used once.
	_, err = f.svc.AcceptInvitation(ctx, link.Token, login("carol"))
	requireCode(t, err, "invitation_used")
}

func TestInvitationIsBoundToItsVerifiedEmail(t *testing.T) {
	f := newFixture(t)
	link, err := f.svc.Invite(ctx, alice, "acme", "carol@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	require.NoError(t, err)

	_, err = f.svc.AcceptInvitation(ctx, link.Token, hostaccess.Login{UserID: "mallory", Email: "mallory@example.com", EmailVerified: true})
	requireCode(t, err, "email_mismatch")
	_, err = f.svc.AcceptInvitation(ctx, link.Token, hostaccess.Login{UserID: "carol", Email: "carol@example.com", EmailVerified: false})
	requireCode(t, err, "email_not_verified")
	_, err = f.svc.AcceptInvitation(ctx, "not-a-token", login("carol"))
	requireCode(t, err, "invitation_not_found")
	require.False(t, f.can("user:mallory", "account:acme", "pay_invoices"))

	_, err = f.svc.AcceptInvitation(ctx, link.Token, login("carol"))
	require.NoError(t, err)
}

func TestInvitationExpiresRevokesAndRegenerates(t *testing.T) {
	f := newFixture(t)
	billing := hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}}

	expiring, err := f.svc.Invite(ctx, alice, "acme", "late@example.com", billing)
	require.NoError(t, err)
	revoked, err := f.svc.Invite(ctx, alice, "acme", "gone@example.com", billing)
	require.NoError(t, err)
	old, err := f.svc.Invite(ctx, alice, "acme", "again@example.com", billing)
	require.NoError(t, err)

	_, err = f.svc.RevokeInvitation(ctx, alice, revoked.Invitation.ID)
	require.NoError(t, err)
	_, err = f.svc.AcceptInvitation(ctx, revoked.Token, login("gone"))
	requireCode(t, err, "invitation_revoked")

	fresh, err := f.svc.RegenerateInvitation(ctx, alice, old.Invitation.ID)
	require.NoError(t, err)
	require.NotEqual(t, old.Token, fresh.Token)
	_, err = f.svc.AcceptInvitation(ctx, old.Token, login("again"))
	requireCode(t, err, "invitation_regenerated")

	f.clock.Advance(7*24*time.Hour + time.Minute)
	_, err = f.svc.AcceptInvitation(ctx, expiring.Token, login("late"))
	requireCode(t, err, "invitation_expired")
	require.False(t, f.can("user:late", "account:acme", "pay_invoices"))

	list, err := f.svc.ListInvitations(ctx, alice, "acme")
	require.NoError(t, err)
	statuses := map[string]string{}
	for _, inv := range list {
		statuses[inv.Email] = inv.Status
	}
	require.Equal(t, "expired", statuses["late@example.com"])
	require.Equal(t, "revoked", statuses["gone@example.com"])
}

func TestAcceptingWhenAlreadyMemberMergesWithoutLowering(t *testing.T) {
	f := newFixture(t)
	f.member("dave", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightSupport}, Technical: hostaccess.ProductScope{Products: []string{"site"}}})
	link, err := f.svc.Invite(ctx, alice, "acme", "dave@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	require.NoError(t, err)
	acc, err := f.svc.AcceptInvitation(ctx, link.Token, login("dave"))
	require.NoError(t, err)
	require.True(t, acc.Merged)
	require.True(t, f.can("user:dave", "account:acme", "pay_invoices"))
	require.True(t, f.can("user:dave", "account:acme", "open_ticket"), "existing rights kept")
	require.True(t, f.can("user:dave", "product:acme/site", "manage"))
}

func TestOnlyUserManagersInviteEditAndRemove(t *testing.T) {
	f := newFixture(t)
	f.member("carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	f.member("dave", hostaccess.Access{Technical: hostaccess.ProductScope{Products: []string{"site"}}})

	_, err := f.svc.Invite(ctx, hostaccess.Person("carol"), "acme", "x@example.com", hostaccess.Access{})
	requireCode(t, err, "forbidden")
	_, err = f.svc.SetAccess(ctx, hostaccess.Person("carol"), "acme", "dave", hostaccess.Access{})
	requireCode(t, err, "forbidden")
	_, err = f.svc.RemoveMember(ctx, hostaccess.Person("carol"), "acme", "dave")
	requireCode(t, err, "forbidden")
	_, err = f.svc.Invite(ctx, hostaccess.Person("stranger"), "acme", "x@example.com", hostaccess.Access{})
	requireCode(t, err, "forbidden")

	// A member may always leave.
	_, err = f.svc.RemoveMember(ctx, hostaccess.Person("dave"), "acme", "dave")
	require.NoError(t, err)
	require.False(t, f.can("user:dave", "product:acme/site", "manage"))
}

func TestNobodyGrantsWhatTheyDoNotHold(t *testing.T) {
	f := newFixture(t)
	// Uma manages users and the shop (through its tag), nothing else.
	f.member("uma", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightUserManagement}, Technical: hostaccess.ProductScope{Tags: []string{"client-x"}}})
	uma := hostaccess.Person("uma")

	for name, access := range map[string]hostaccess.Access{
		"a right":                {Rights: []hostaccess.Right{hostaccess.RightBilling}},
		"all products":           {Technical: hostaccess.ProductScope{All: true}},
		"a product":              {Technical: hostaccess.ProductScope{Products: []string{"site"}}},
		"a group":                {Technical: hostaccess.ProductScope{Groups: []string{"web"}}},
		"the administrator role": {Administrator: true},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.svc.Invite(ctx, uma, "acme", "x@example.com", access)
			requireCode(t, err, "escalation")
		})
	}
	// Within her reach, she may.
	_, err := f.svc.Invite(ctx, uma, "acme", "agency@example.com", hostaccess.Access{Technical: hostaccess.ProductScope{Tags: []string{"client-x"}}})
	require.NoError(t, err)
	_, err = f.svc.Invite(ctx, uma, "acme", "shop@example.com", hostaccess.Access{Technical: hostaccess.ProductScope{Products: []string{"shop"}}})
	require.NoError(t, err)

	// And she cannot raise her own rights, even within what she holds.
	_, err = f.svc.SetAccess(ctx, uma, "acme", "uma", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightUserManagement}, Technical: hostaccess.ProductScope{Tags: []string{"client-x"}, Products: []string{"shop"}}})
	requireCode(t, err, "escalation")
	// Lowering her own is fine.
	_, err = f.svc.SetAccess(ctx, uma, "acme", "uma", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightUserManagement}})
	require.NoError(t, err)
	require.False(t, f.can("user:uma", "product:acme/shop", "manage"))
}

func TestSetAccessTakesEffectAtOnce(t *testing.T) {
	f := newFixture(t)
	f.member("dave", hostaccess.Access{Technical: hostaccess.ProductScope{Products: []string{"site"}}})
	require.True(t, f.can("user:dave", "product:acme/site", "manage"))

	_, err := f.svc.SetAccess(ctx, alice, "acme", "dave", hostaccess.Access{Technical: hostaccess.ProductScope{Groups: []string{"web"}}})
	require.NoError(t, err)
	require.False(t, f.can("user:dave", "product:acme/site", "manage"))
	require.True(t, f.can("user:dave", "product:acme/mail", "manage"))

	members, err := f.svc.ListMembers(ctx, alice, "acme")
	require.NoError(t, err)
	require.Len(t, members, 2)
	require.True(t, members[0].Owner)
	require.Equal(t, "dave", members[1].UserID)
	require.Equal(t, []string{"web"}, members[1].Access.Technical.Groups)
	require.Equal(t, "dave@example.com", members[1].Email)

	_, err = f.svc.SetAccess(ctx, alice, "acme", "dave", hostaccess.Access{Technical: hostaccess.ProductScope{Products: []string{"nope"}}})
	requireCode(t, err, "not_found")
	_, err = f.svc.SetAccess(ctx, alice, "acme", "nobody", hostaccess.Access{})
	requireCode(t, err, "not_found")
	_, err = f.svc.SetAccess(ctx, alice, "acme", "dave", hostaccess.Access{Rights: []hostaccess.Right{"superpowers"}})
	requireCode(t, err, "invalid_argument")
}

func TestTagsCoverProductsTaggedLaterAndUntaggingRemovesReach(t *testing.T) {
	f := newFixture(t)
	f.member("agency", hostaccess.Access{Technical: hostaccess.ProductScope{Tags: []string{"client-x"}}})
	require.True(t, f.can("user:agency", "product:acme/shop", "manage"))
	require.False(t, f.can("user:agency", "product:acme/site", "manage"))

	_, err := f.svc.SetProductTag(ctx, alice, "acme", "site", "client-x", true)
	require.NoError(t, err)
	require.True(t, f.can("user:agency", "product:acme/site", "manage"), "tagged later")

	_, err = f.svc.SetProductTag(ctx, alice, "acme", "shop", "client-x", false)
	require.NoError(t, err)
	require.False(t, f.can("user:agency", "product:acme/shop", "manage"), "untagged")

	// All products covers products added later.
	f.member("ops", hostaccess.Access{Technical: hostaccess.ProductScope{All: true}})
	_, err = f.svc.AddProduct(ctx, service, "acme", "vps", nil, nil)
	require.NoError(t, err)
	require.True(t, f.can("user:ops", "product:acme/vps", "manage"))
}

func TestLastOwnerCannotBeRemovedAndTransferIsAtomic(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.RemoveMember(ctx, alice, "acme", "alice")
	requireCode(t, err, "last_owner")
	require.True(t, f.can("user:alice", "account:acme", "close"))

	f.member("bob", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	_, err = f.svc.TransferOwnership(ctx, alice, "acme", "bob", &hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	require.NoError(t, err)
	require.True(t, f.can("user:bob", "account:acme", "close"))
	require.False(t, f.can("user:alice", "account:acme", "close"))
	require.True(t, f.can("user:alice", "account:acme", "pay_invoices"))

	_, err = f.svc.RemoveMember(ctx, hostaccess.Person("bob"), "acme", "bob")
	requireCode(t, err, "last_owner")
	_, err = f.svc.TransferOwnership(ctx, hostaccess.Person("bob"), "acme", "stranger", nil)
	requireCode(t, err, "not_found")
}

func TestAdminCapCountsInvitations(t *testing.T) {
	f := newFixture(t)
	admin := hostaccess.Access{Administrator: true, Rights: []hostaccess.Right{hostaccess.RightBilling}}
	f.member("a1", admin)
	f.member("a2", admin)
	pending, err := f.svc.Invite(ctx, alice, "acme", "a3@example.com", admin)
	require.NoError(t, err)

	_, err = f.svc.Invite(ctx, alice, "acme", "a4@example.com", admin)
	requireCode(t, err, "admin_cap_reached")
	f.member("plain", hostaccess.Access{})
	_, err = f.svc.SetAccess(ctx, alice, "acme", "plain", admin)
	requireCode(t, err, "admin_cap_reached")

	// Host staff raise the cap; the account's own owner cannot.
	require.Error(t, f.svc.SetAdminCap(ctx, alice, "acme", 4))
	require.NoError(t, f.svc.SetAdminCap(ctx, service, "acme", 4))
	_, err = f.svc.SetAccess(ctx, alice, "acme", "plain", admin)
	require.NoError(t, err)

	// Revoking the pending invitation frees its seat.
	_, err = f.svc.Invite(ctx, alice, "acme", "a5@example.com", admin)
	requireCode(t, err, "admin_cap_reached")
	_, err = f.svc.RevokeInvitation(ctx, alice, pending.Invitation.ID)
	require.NoError(t, err)
	_, err = f.svc.Invite(ctx, alice, "acme", "a5@example.com", admin)
	require.NoError(t, err)
}

func TestRemovalIsImmediateAndTouchesNothingElse(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "globex", OwnerID: "gloria"})
	require.NoError(t, err)
	_, err = f.svc.AddProduct(ctx, service, "globex", "site", nil, nil)
	require.NoError(t, err)
	f.member("dave", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightSupport}, Technical: hostaccess.ProductScope{All: true}})
	f.member("carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	link, err := f.svc.Invite(ctx, hostaccess.Person("gloria"), "globex", "dave@example.com", hostaccess.Access{Technical: hostaccess.ProductScope{Products: []string{"site"}}})
	require.NoError(t, err)
	_, err = f.svc.AcceptInvitation(ctx, link.Token, login("dave"))
	require.NoError(t, err)

	res, err := f.svc.RemoveMember(ctx, alice, "acme", "dave")
	require.NoError(t, err)
	require.NotEmpty(t, res.ZedToken)
	for _, q := range [][2]string{{"account:acme", "open_ticket"}, {"product:acme/site", "manage"}, {"account:acme", "access"}} {
		a, err := f.svc.Can(ctx, hostaccess.Check{Resource: q[0], Permission: q[1], Subject: "user:dave"}, hostaccess.CheckOptions{AtLeastAsFresh: res.ZedToken})
		require.NoError(t, err)
		require.False(t, a.Allowed, "%v after removal", q)
	}
	require.True(t, f.can("user:carol", "account:acme", "pay_invoices"), "other members untouched")
	require.True(t, f.can("user:dave", "product:globex/site", "manage"), "other accounts untouched")
}

func TestContactsHaveNoAccessAndReceiveTheirCategories(t *testing.T) {
	f := newFixture(t)
	f.member("carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}, Notifications: []hostaccess.Category{hostaccess.CategoryBilling}})
	c, _, err := f.svc.AddContact(ctx, alice, "acme", hostaccess.ContactInput{Name: "Accounting", Email: "compta@acme.test", Notifications: []hostaccess.Category{hostaccess.CategoryBilling}})
	require.NoError(t, err)
	renew, _, err := f.svc.AddContact(ctx, alice, "acme", hostaccess.ContactInput{Name: "Renewals", Email: "renew@acme.test", Notifications: []hostaccess.Category{hostaccess.CategoryRenewals}, SupportAccess: true})
	require.NoError(t, err)

	recipients, err := f.svc.Recipients(ctx, alice, "acme", "", hostaccess.CategoryBilling)
	require.NoError(t, err)
	var ids []string
	for _, r := range recipients {
		ids = append(ids, r.Kind+":"+r.ID)
	}
	require.ElementsMatch(t, []string{"user:alice", "user:carol", "contact:" + c.ID}, ids)

	for _, perm := range []string{"access", "view", "pay_invoices", "view_invoices", "open_ticket", "switch_to"} {
		require.False(t, f.can("contact:"+c.ID, "account:acme", perm), perm)
	}
	require.True(t, f.can("contact:"+renew.ID, "account:acme", "speak_to_support"))
	require.False(t, f.can("contact:"+c.ID, "account:acme", "speak_to_support"))

	// Edit, then remove: reach ends at once.
	_, err = f.svc.UpdateContact(ctx, alice, "acme", c.ID, hostaccess.ContactInput{Name: "Accounting", Email: "compta@acme.test", Notifications: []hostaccess.Category{hostaccess.CategoryDomains}})
	require.NoError(t, err)
	require.False(t, f.can("contact:"+c.ID, "account:acme", "receive_billing_notices"))
	require.True(t, f.can("contact:"+c.ID, "account:acme", "receive_domain_notices"))
	_, err = f.svc.RemoveContact(ctx, alice, "acme", c.ID)
	require.NoError(t, err)
	require.False(t, f.can("contact:"+c.ID, "account:acme", "receive_domain_notices"))
	contacts, err := f.svc.ListContacts(ctx, alice, "acme")
	require.NoError(t, err)
	require.Len(t, contacts, 1)

	_, _, err = f.svc.AddContact(ctx, hostaccess.Person("carol"), "acme", hostaccess.ContactInput{Name: "X", Email: "x@acme.test"})
	requireCode(t, err, "forbidden")
}

// TestDelegationToHost: host staff with admin rights manage the users of
// delegated accounts only, and switching delegation off removes that reach
// at once. Host staff are provider-side, written as raw relationships.
func TestDelegationToHost(t *testing.T) {
	eng, uri := testengine.StartEngineWithDatabase(t)
	svc, err := hostaccess.New(hostaccess.Config{Engine: eng.Client, Directory: testengine.NewDirectory(t, uri)})
	require.NoError(t, err)
	f := &fixture{t: t, svc: svc, clock: testutil.NewClock(), mails: &recordingMailer{}}
	_, err = eng.Client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
		Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
		Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "host", ObjectId: "nordhost"}, Relation: "admin",
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "hank"}},
		},
	}}})
	require.NoError(t, err)
	_, err = svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "managed", OwnerID: "mia", HostID: "nordhost", Delegated: hostaccess.Delegation(true)})
	require.NoError(t, err)
	_, err = svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "private", OwnerID: "pia", HostID: "nordhost", Delegated: hostaccess.Delegation(false)})
	require.NoError(t, err)

	require.True(t, f.can("user:hank", "account:managed", "manage_users"))
	require.False(t, f.can("user:hank", "account:private", "manage_users"), "not delegated")
	require.False(t, f.can("user:hank", "account:managed", "pay_invoices"), "delegation is user management only")

	// Only the account itself switches delegation; off takes effect at once.
	_, err = svc.SetDelegation(ctx, hostaccess.Person("hank"), "managed", false)
	requireCode(t, err, "forbidden")
	_, err = svc.SetDelegation(ctx, hostaccess.Person("mia"), "managed", false)
	require.NoError(t, err)
	require.False(t, f.can("user:hank", "account:managed", "manage_users"))
	_, err = svc.SetDelegation(ctx, hostaccess.Person("pia"), "private", true)
	require.NoError(t, err)
	require.True(t, f.can("user:hank", "account:private", "manage_users"))
}

func TestSwitchAccounts(t *testing.T) {
	f := newFixture(t)
	list, err := f.svc.SwitchAccounts(ctx, service, "alice")
	require.NoError(t, err)
	require.NotNil(t, list.Single, "one account: straight to it")
	require.Equal(t, "acme", list.Single.ID)
	require.True(t, list.Single.Owner)

	_, err = f.svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "globex", Name: "Globex", OwnerID: "gloria"})
	require.NoError(t, err)
	link, err := f.svc.Invite(ctx, hostaccess.Person("gloria"), "globex", "alice@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	require.NoError(t, err)
	_, err = f.svc.AcceptInvitation(ctx, link.Token, login("alice"))
	require.NoError(t, err)

	list, err = f.svc.SwitchAccounts(ctx, service, "alice")
	require.NoError(t, err)
	require.Nil(t, list.Single)
	require.Len(t, list.Accounts, 2)
	require.Equal(t, "globex", list.Accounts[1].ID)
	require.Equal(t, "billing", list.Accounts[1].Summary)

	none, err := f.svc.SwitchAccounts(ctx, service, "nobody")
	require.NoError(t, err)
	require.Empty(t, none.Accounts)
}

func TestWhoCanExplainsAndAuditRecordsEveryChange(t *testing.T) {
	f := newFixture(t)
	f.member("agency", hostaccess.Access{Technical: hostaccess.ProductScope{Tags: []string{"client-x"}}})
	holders, err := f.svc.WhoCan(ctx, alice, "product:acme/shop", "manage")
	require.NoError(t, err)
	reasons := map[string][]string{}
	for _, h := range holders {
		reasons[h.Subject] = h.Reasons
	}
	require.Contains(t, reasons["user:alice"], "account:acme#owner")
	require.Contains(t, reasons["user:agency"], "tag:acme/client-x#technician")

	_, err = f.svc.WhoCan(ctx, hostaccess.Person("agency"), "product:acme/shop", "manage")
	requireCode(t, err, "forbidden")
	// Refused first, whatever else is wrong: nothing about the account leaks.
	_, err = f.svc.WhoCan(ctx, hostaccess.Person("agency"), "nosuchtype:acme/shop", "manage")
	requireCode(t, err, "forbidden")

	entries, err := f.svc.AuditLog(ctx, alice, hostaccess.AuditQuery{AccountID: "acme"})
	require.NoError(t, err)
	flows := map[string]bool{}
	for _, e := range entries {
		flows[e.Flow] = true
		require.NotEmpty(t, e.Actor)
		require.False(t, e.Time.IsZero())
	}
	for _, flow := range []string{"create_account", "add_product", "invite", "accept_invitation"} {
		require.True(t, flows[flow], flow)
	}
	require.Equal(t, "user:agency", entries[0].Actor, "newest first: the acceptance")
	require.NotEmpty(t, entries[0].ZedToken)

	// A product in a group: the group's technician is explained through the
	// group, and the agency (tag client-x only) is not a holder.
	f.member("dev", hostaccess.Access{Technical: hostaccess.ProductScope{Groups: []string{"web"}}})
	holders, err = f.svc.WhoCan(ctx, alice, "product:acme/mail", "manage")
	require.NoError(t, err)
	reasons = map[string][]string{}
	for _, h := range holders {
		reasons[h.Subject] = h.Reasons
	}
	require.Contains(t, reasons["user:dev"], "product_group:acme/web#technician")
	require.Contains(t, reasons["user:alice"], "account:acme#owner")
	require.NotContains(t, reasons, "user:agency")

	// Explanations reuse development contexts: after dev's grant moves from
	// the group to the product itself, the group is no longer a reason.
	_, err = f.svc.SetAccess(ctx, alice, "acme", "dev", hostaccess.Access{Technical: hostaccess.ProductScope{Products: []string{"mail"}}})
	require.NoError(t, err)
	for range 3 {
		holders, err = f.svc.WhoCan(ctx, alice, "product:acme/mail", "manage")
		require.NoError(t, err)
		reasons = map[string][]string{}
		for _, h := range holders {
			reasons[h.Subject] = h.Reasons
		}
		require.Equal(t, []string{"product:acme/mail#technician"}, reasons["user:dev"])
	}

	// Concurrent audits of different products each get their own reasons.
	var wg sync.WaitGroup
	for i := range 8 {
		product, want := "product:acme/mail", "product:acme/mail#technician"
		if i%2 == 1 {
			product, want = "product:acme/shop", ""
		}
		wg.Go(func() {
			holders, err := f.svc.WhoCan(ctx, alice, product, "manage")
			assert.NoError(t, err)
			for _, h := range holders {
				if h.Subject == "user:dev" {
					assert.Equal(t, []string{want}, h.Reasons, product)
					return
				}
			}
			assert.Empty(t, want, "%s: dev is not a holder", product)
		})
	}
	wg.Wait()
}

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	f := newFixture(t)
	for name, call := range map[string]func() error{
		"no actor": func() error {
			_, err := f.svc.Invite(ctx, hostaccess.Actor{}, "acme", "x@example.com", hostaccess.Access{})
			return err
		},
		"bad e-mail": func() error {
			_, err := f.svc.Invite(ctx, alice, "acme", "not an address", hostaccess.Access{})
			return err
		},
		"unknown right": func() error {
			_, err := f.svc.Invite(ctx, alice, "acme", "x@example.com", hostaccess.Access{Rights: []hostaccess.Right{"root"}})
			return err
		},
		"bad account id": func() error {
			_, err := f.svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "a b", OwnerID: "x"})
			return err
		},
		"view all": func() error {
			_, err := f.svc.Invite(ctx, alice, "acme", "x@example.com", hostaccess.Access{View: hostaccess.ProductScope{All: true}})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) { requireCode(t, call(), "invalid_argument") })
	}
	// A person learns nothing about an account they have no right on, not
	// even whether it exists; a service identity is told it does not.
	_, err := f.svc.Invite(ctx, alice, "nowhere", "x@example.com", hostaccess.Access{})
	requireCode(t, err, "forbidden")
	_, err = f.svc.Invite(ctx, service, "nowhere", "x@example.com", hostaccess.Access{})
	requireCode(t, err, "not_found")
	_, err = f.svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "acme", OwnerID: "eve"})
	requireCode(t, err, "conflict")
	require.False(t, f.can("user:eve", "account:acme", "close"))

	invs, err := f.svc.ListInvitations(ctx, alice, "acme")
	require.NoError(t, err)
	require.Empty(t, invs)
}

// TestRaces drives the racing flows with real concurrency: exactly one
// winner, no broken invariant.
func TestRaces(t *testing.T) {
	t.Run("accept against revoke", func(t *testing.T) {
		for range 5 {
			f := newFixture(t)
			link, err := f.svc.Invite(ctx, alice, "acme", "carol@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
			require.NoError(t, err)
			var acceptErr, revokeErr error
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); _, acceptErr = f.svc.AcceptInvitation(ctx, link.Token, login("carol")) }()
			go func() { defer wg.Done(); _, revokeErr = f.svc.RevokeInvitation(ctx, alice, link.Invitation.ID) }()
			wg.Wait()
			require.True(t, (acceptErr == nil) != (revokeErr == nil), "exactly one wins: accept=%v revoke=%v", acceptErr, revokeErr)
			require.Equal(t, acceptErr == nil, f.can("user:carol", "account:acme", "pay_invoices"))
		}
	})

	t.Run("two grants for the last administrator seat", func(t *testing.T) {
		f := newFixture(t)
		admin := hostaccess.Access{Administrator: true}
		f.member("a1", admin)
		f.member("a2", admin)
		f.member("x", hostaccess.Access{})
		f.member("y", hostaccess.Access{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, who := range []string{"x", "y"} {
			wg.Add(1)
			go func() { defer wg.Done(); _, errs[i] = f.svc.SetAccess(ctx, alice, "acme", who, admin) }()
		}
		wg.Wait()
		require.True(t, (errs[0] == nil) != (errs[1] == nil), "exactly one takes the seat: %v / %v", errs[0], errs[1])
		for _, err := range errs {
			if err != nil {
				requireCode(t, err, "admin_cap_reached")
			}
		}
		require.Equal(t, 3, f.administrators())
	})

	t.Run("two owners removing each other", func(t *testing.T) {
		for range 5 {
			f := newFixture(t)
			f.member("bob", hostaccess.Access{})
			_, err := f.svc.AddOwner(ctx, alice, "acme", "bob")
			require.NoError(t, err)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); _, errs[0] = f.svc.RemoveMember(ctx, alice, "acme", "bob") }()
			go func() {
				defer wg.Done()
				_, errs[1] = f.svc.RemoveMember(ctx, hostaccess.Person("bob"), "acme", "alice")
			}()
			wg.Wait()
			wins := 0
			for _, err := range errs {
				if err == nil {
					wins++
				} else if !errors.Is(err, hostaccess.ErrLastOwner) && !errors.Is(err, hostaccess.ErrForbidden) {
					t.Fatalf("unexpected error: %v", err)
				}
			}
			require.Equal(t, 1, wins)
			owners := 0
			for _, who := range []string{"alice", "bob"} {
				if f.can("user:"+who, "account:acme", "close") {
					owners++
				}
			}
			require.Equal(t, 1, owners, "the account keeps exactly one owner")
		}
	})
}

// TestInvitationNeedsItsInviterToStillHoldWhatItOffers: an inviter who lost
// user management (or the offered right) before acceptance grants nothing.
func TestInvitationNeedsItsInviterToStillHoldWhatItOffers(t *testing.T) {
	f := newFixture(t)
	f.member("uma", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightUserManagement, hostaccess.RightBilling}})
	uma := hostaccess.Person("uma")
	kept, err := f.svc.Invite(ctx, uma, "acme", "kept@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	require.NoError(t, err)
	lost, err := f.svc.Invite(ctx, uma, "acme", "lost@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	require.NoError(t, err)

	// While uma holds billing and user management, her invitation works.
	_, err = f.svc.AcceptInvitation(ctx, kept.Token, login("kept"))
	require.NoError(t, err)

	// The owner takes billing away from uma: her pending invitation no longer grants it.
	_, err = f.svc.SetAccess(ctx, alice, "acme", "uma", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightUserManagement}})
	require.NoError(t, err)
	_, err = f.svc.AcceptInvitation(ctx, lost.Token, login("lost"))
	requireCode(t, err, "forbidden")
	require.False(t, f.can("user:lost", "account:acme", "pay_invoices"))
}
