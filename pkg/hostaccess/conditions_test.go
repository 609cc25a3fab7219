package hostaccess_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/teststack"
	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
	"github.com/hostaccess/hostaccess/pkg/stack"
)

// newMFAFixture is newFixture on a provider requiring a two-factor session
// for security and user management.
func newMFAFixture(t *testing.T) *fixture {
	t.Helper()
	mails := &recordingMailer{}
	st := teststack.NewStackWith(t, mails, testutil.UsePostgres(), func(s *stack.Server) {
		s.MFARights = hostaccess.RecommendedMFARights
	})
	f := &fixture{t: t, svc: st.Service, clock: st.Clock, mails: mails, stack: st}
	_, err := f.svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "acme", Name: "Acme", OwnerID: "alice", OwnerEmail: "alice@acme.test", HostID: "nordhost"})
	require.NoError(t, err)
	_, err = f.svc.AddProduct(ctx, service, "acme", "site", nil, nil)
	require.NoError(t, err)
	return f
}

func (f *fixture) answer(subject, resource, permission string, context map[string]any) hostaccess.Answer {
	f.t.Helper()
	a, err := f.svc.Can(ctx, hostaccess.Check{Resource: resource, Permission: permission, Subject: subject, Context: context}, hostaccess.CheckOptions{})
	require.NoError(f.t, err)
	return a
}

var withMFA = map[string]any{"mfa": true}

func TestSensitiveRightsNeedATwoFactorSession(t *testing.T) {
	f := newMFAFixture(t)
	aliceMFA := hostaccess.Actor{UserID: "alice", MFA: true}

	// A check without mfa is conditional, never allowed, and names it.
	a := f.answer("user:alice", "account:acme", "manage_security", nil)
	assert.False(t, a.Allowed)
	assert.True(t, a.Conditional)
	assert.Equal(t, []string{"mfa"}, a.MissingContext)
	assert.True(t, f.answer("user:alice", "account:acme", "manage_security", withMFA).Allowed)
	assert.False(t, f.answer("user:alice", "account:acme", "manage_users", map[string]any{"mfa": false}).Allowed)
	// Rights the provider left alone, and seeing, need nothing.
	assert.True(t, f.answer("user:alice", "account:acme", "pay_invoices", nil).Allowed)
	assert.True(t, f.answer("user:alice", "account:acme", "view_security", nil).Allowed)

	// Flows using user management need the actor's second factor too.
	_, err := f.svc.Invite(ctx, alice, "acme", "carol@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightSecurity}})
	requireCode(t, err, "forbidden")
	link, err := f.svc.Invite(ctx, aliceMFA, "acme", "carol@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightSecurity, hostaccess.RightBilling}})
	require.NoError(t, err)
	_, err = f.svc.AcceptInvitation(ctx, link.Token, login("carol"))
	require.NoError(t, err)

	// What carol was granted is conditional the same way; mfa never gives
	// what is not held.
	assert.True(t, f.answer("user:carol", "account:acme", "manage_security", nil).Conditional)
	assert.True(t, f.answer("user:carol", "account:acme", "manage_security", withMFA).Allowed)
	assert.False(t, f.answer("user:carol", "account:acme", "manage_users", withMFA).Allowed)
	assert.True(t, f.answer("user:carol", "account:acme", "pay_invoices", nil).Allowed)

	// The access review says which lines need the second factor.
	rv, err := f.svc.AccessReview(ctx, aliceMFA, "acme", hostaccess.ReviewFilter{})
	require.NoError(t, err)
	needs := map[string]bool{}
	for _, l := range rv.Lines {
		if l.UserID == "carol" {
			needs[l.Right] = l.NeedsMFA
		}
	}
	assert.Equal(t, map[string]bool{"security": true, "billing": false}, needs)

	// Host staff acting through delegation meet the same condition.
	f.hostAdmin("hannah")
	_, err = f.svc.Invite(ctx, hostaccess.Person("hannah"), "acme", "pat@example.com", hostaccess.Access{})
	requireCode(t, err, "forbidden")
	_, err = f.svc.Invite(ctx, hostaccess.Actor{UserID: "hannah", MFA: true}, "acme", "pat@example.com", hostaccess.Access{})
	require.NoError(t, err)

	// Another provider's setting: a service without MFARights is unchanged
	// (newFixture's tests all run that way).
	plain := newFixture(t)
	assert.True(t, plain.answer("user:alice", "account:acme", "manage_security", nil).Allowed)
}

func TestAMemberRestrictedToNetworksHoldsRightsOnlyFromThem(t *testing.T) {
	f := newFixture(t)
	office := []string{"203.0.113.0/24"}
	link, err := f.svc.Invite(ctx, alice, "acme", "olga@example.com", hostaccess.Access{
		Rights: []hostaccess.Right{hostaccess.RightBilling, hostaccess.RightUserManagement}, Technical: hostaccess.ProductScope{Products: []string{"site"}}, AllowedCIDRs: office,
	})
	require.NoError(t, err)
	_, err = f.svc.AcceptInvitation(ctx, link.Token, login("olga"))
	require.NoError(t, err)

	a := f.answer("user:olga", "account:acme", "pay_invoices", nil)
	assert.True(t, a.Conditional)
	assert.Equal(t, []string{"client_ip"}, a.MissingContext)
	assert.True(t, f.answer("user:olga", "account:acme", "pay_invoices", map[string]any{"client_ip": "203.0.113.9"}).Allowed)
	assert.False(t, f.answer("user:olga", "account:acme", "pay_invoices", map[string]any{"client_ip": "198.51.100.1"}).Allowed)
	assert.True(t, f.answer("user:olga", "product:acme/site", "manage", map[string]any{"client_ip": "203.0.113.9"}).Allowed)
	assert.False(t, f.answer("user:olga", "product:acme/site", "manage", map[string]any{"client_ip": "198.51.100.1"}).Allowed)

	// The member list and the review show the restriction.
	members, err := f.svc.ListMembers(ctx, alice, "acme")
	require.NoError(t, err)
	for _, m := range members {
		if m.UserID == "olga" {
			assert.Equal(t, office, m.Access.AllowedCIDRs)
			assert.Contains(t, m.Summary, "203.0.113.0/24")
		}
	}

	rv, err := f.svc.AccessReview(ctx, alice, "acme", hostaccess.ReviewFilter{})
	require.NoError(t, err)
	for _, l := range rv.Lines {
		if l.UserID == "olga" {
			assert.Equal(t, office, l.Networks, "review line %s %s", l.Right, l.Scope)
		}
	}

	// She acts only with her address, from her network, and grants only
	// within it.
	olga := hostaccess.Person("olga")
	_, err = f.svc.Invite(ctx, olga, "acme", "pat@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}, AllowedCIDRs: office})
	requireCode(t, err, "forbidden")
	assert.ErrorContains(t, err, "client_ip")
	inOffice := hostaccess.Actor{UserID: "olga", ClientIP: "203.0.113.9"}
	_, err = f.svc.Invite(ctx, hostaccess.Actor{UserID: "olga", ClientIP: "198.51.100.1"}, "acme", "pat@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}, AllowedCIDRs: office})
	requireCode(t, err, "forbidden")
	_, err = f.svc.Invite(ctx, inOffice, "acme", "pat@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	requireCode(t, err, "escalation") // unrestricted would reach beyond her own
	_, err = f.svc.Invite(ctx, inOffice, "acme", "pat@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}, AllowedCIDRs: []string{"203.0.0.0/16"}})
	requireCode(t, err, "escalation") // wider than hers
	_, err = f.svc.Invite(ctx, inOffice, "acme", "pat@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}, AllowedCIDRs: []string{"203.0.113.128/25"}})
	require.NoError(t, err)

	// She cannot lift her own restriction; the owner can, at once.
	own := hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling, hostaccess.RightUserManagement}, Technical: hostaccess.ProductScope{Products: []string{"site"}}}
	_, err = f.svc.SetAccess(ctx, inOffice, "acme", "olga", own)
	requireCode(t, err, "escalation")
	_, err = f.svc.SetAccess(ctx, alice, "acme", "olga", own)
	require.NoError(t, err)
	assert.True(t, f.answer("user:olga", "account:acme", "pay_invoices", nil).Allowed)

	// And restrict it again through set-access.
	restricted := own
	restricted.AllowedCIDRs = []string{"192.0.2.0/24"}
	_, err = f.svc.SetAccess(ctx, alice, "acme", "olga", restricted)
	require.NoError(t, err)
	assert.False(t, f.answer("user:olga", "account:acme", "pay_invoices", map[string]any{"client_ip": "203.0.113.9"}).Allowed)
	assert.True(t, f.answer("user:olga", "account:acme", "pay_invoices", map[string]any{"client_ip": "192.0.2.1"}).Allowed)
}

func TestATokenOfARestrictedMemberIsRestrictedWithThem(t *testing.T) {
	f := newFixture(t)
	link, err := f.svc.Invite(ctx, alice, "acme", "olga@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}, AllowedCIDRs: []string{"10.0.0.0/8"}})
	require.NoError(t, err)
	_, err = f.svc.AcceptInvitation(ctx, link.Token, login("olga"))
	require.NoError(t, err)
	end := f.clock.Now().Add(time.Hour)
	nt, err := f.svc.CreateToken(ctx, hostaccess.Actor{UserID: "olga", ClientIP: "10.0.0.5"}, "acme", hostaccess.TokenInput{Name: "export", Rights: []hostaccess.Right{hostaccess.RightBilling}, ExpiresAt: &end})
	require.NoError(t, err)
	assert.True(t, f.tokenCan(nt.Token.ID, "account:acme", "pay_invoices", nil).Conditional, "the token has no allowlist of its own, hers applies")
	assert.True(t, f.tokenCan(nt.Token.ID, "account:acme", "pay_invoices", map[string]any{"client_ip": "10.2.3.4"}).Allowed)
	assert.False(t, f.tokenCan(nt.Token.ID, "account:acme", "pay_invoices", map[string]any{"client_ip": "192.0.2.1"}).Allowed)

	// The owner moves her restriction: the token follows.
	_, err = f.svc.SetAccess(ctx, alice, "acme", "olga", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}, AllowedCIDRs: []string{"192.0.2.0/24"}})
	require.NoError(t, err)
	assert.False(t, f.tokenCan(nt.Token.ID, "account:acme", "pay_invoices", map[string]any{"client_ip": "10.2.3.4"}).Allowed)
	assert.True(t, f.tokenCan(nt.Token.ID, "account:acme", "pay_invoices", map[string]any{"client_ip": "192.0.2.1"}).Allowed)
}

func TestBadNetworkRestrictionsAreRefused(t *testing.T) {
	f := newFixture(t)
	for _, cidrs := range [][]string{{"10.0.0.1/8"}, {"not-a-network"}, {""}, {"10.0.0.0/33"}} {
		_, err := f.svc.Invite(ctx, alice, "acme", "x@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}, AllowedCIDRs: cidrs})
		requireCode(t, err, "invalid_argument")
	}
	_, err := f.svc.Invite(ctx, hostaccess.Actor{UserID: "alice", ClientIP: "nowhere"}, "acme", "x@example.com", hostaccess.Access{})
	requireCode(t, err, "invalid_argument")
	invs, err := f.svc.ListInvitations(ctx, alice, "acme")
	require.NoError(t, err)
	assert.Empty(t, invs)
}

// Approving a restricted member's request adds what was asked and keeps
// the restriction: nobody lifts a network restriction by asking for a
// right.
func TestApprovingARestrictedMembersRequestKeepsTheirNetworks(t *testing.T) {
	f := newFixture(t)
	link, err := f.svc.Invite(ctx, alice, "acme", "olga@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}, AllowedCIDRs: []string{"10.0.0.0/8"}})
	require.NoError(t, err)
	_, err = f.svc.AcceptInvitation(ctx, link.Token, login("olga"))
	require.NoError(t, err)
	olga := hostaccess.Actor{UserID: "olga", ClientIP: "10.0.0.5"}
	_, _, err = f.svc.RequestAccess(ctx, olga, "acme", hostaccess.AccessRequestInput{Access: hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightSupport}, AllowedCIDRs: []string{"0.0.0.0/0"}}, Reason: "tickets"})
	requireCode(t, err, "invalid_argument")
	req, _, err := f.svc.RequestAccess(ctx, olga, "acme", hostaccess.AccessRequestInput{Access: hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightSupport}}, Reason: "tickets"})
	require.NoError(t, err)
	_, _, err = f.svc.ApproveAccessRequest(ctx, alice, "acme", req.ID, "ok")
	require.NoError(t, err)
	assert.True(t, f.answer("user:olga", "account:acme", "open_ticket", map[string]any{"client_ip": "10.1.1.1"}).Allowed)
	assert.False(t, f.answer("user:olga", "account:acme", "open_ticket", map[string]any{"client_ip": "192.0.2.1"}).Allowed, "still only from her network")
}

// An owner restricting a member to networks while she invites someone
// without restriction: whichever lands first, the invitation cannot be
// accepted once she is restricted (what she offers must fit within her own
// networks when it is granted).
func TestRestrictingAMemberWhileSheInvitesNeverLetsHerGrantBeyondIt(t *testing.T) {
	for round := range 3 {
		f := newFixture(t)
		f.member("olga", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling, hostaccess.RightUserManagement}})
		var link hostaccess.InvitationLink
		var inviteErr, restrictErr error
		var wg sync.WaitGroup
		wg.Go(func() {
			link, inviteErr = f.svc.Invite(ctx, hostaccess.Person("olga"), "acme", "pat@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
		})
		wg.Go(func() {
			_, restrictErr = f.svc.SetAccess(ctx, alice, "acme", "olga", hostaccess.Access{
				Rights: []hostaccess.Right{hostaccess.RightBilling, hostaccess.RightUserManagement}, AllowedCIDRs: []string{"10.0.0.0/8"},
			})
		})
		wg.Wait()
		if restrictErr != nil {
			requireCode(t, restrictErr, "conflict")
			continue
		}
		if inviteErr != nil {
			// Refused for want of her address (restricted first) or lost the race.
			require.Contains(t, []string{"forbidden", "conflict"}, hostaccess.Code(inviteErr), "round %d: %v", round, inviteErr)
			continue
		}
		_, err := f.svc.AcceptInvitation(ctx, link.Token, login("pat"))
		require.Error(t, err, "round %d: an unrestricted grant from a now restricted member was accepted", round)
		assert.False(t, f.answer("user:pat", "account:acme", "pay_invoices", nil).Allowed)
	}
}
