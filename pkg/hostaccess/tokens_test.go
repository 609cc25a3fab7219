package hostaccess_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// token creates a token as actor and returns it with its secret.
func (f *fixture) token(actor hostaccess.Actor, in hostaccess.TokenInput) hostaccess.NewToken {
	f.t.Helper()
	if in.Name == "" {
		in.Name = "deploy"
	}
	if in.ExpiresAt == nil {
		end := f.clock.Now().Add(24 * time.Hour)
		in.ExpiresAt = &end
	}
	nt, err := f.svc.CreateToken(ctx, actor, "acme", in)
	require.NoError(f.t, err)
	return nt
}

// tokenCan asks a question with the token as subject, with an optional
// client_ip.
func (f *fixture) tokenCan(id, resource, permission string, context map[string]any) hostaccess.Answer {
	f.t.Helper()
	a, err := f.svc.Can(ctx, hostaccess.Check{Resource: resource, Permission: permission, Subject: "token:" + id, Context: context}, hostaccess.CheckOptions{})
	require.NoError(f.t, err)
	return a
}

func billingAndSite() hostaccess.Access {
	return hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling, hostaccess.RightSupport}, Technical: hostaccess.ProductScope{Products: []string{"site"}}}
}

func TestTokenReachesWhatItWasGivenAndWhatItsCreatorStillHolds(t *testing.T) {
	f := newFixture(t)
	f.member("carol", billingAndSite())
	nt := f.token(carol, hostaccess.TokenInput{Name: "invoices export", Rights: []hostaccess.Right{hostaccess.RightBilling}, Technical: hostaccess.ProductScope{Products: []string{"site"}}})
	require.True(t, strings.HasPrefix(nt.Secret, hostaccess.TokenSecretPrefix))
	require.NotContains(t, nt.Token.ID, nt.Secret)
	id := nt.Token.ID

	// What it was given, and nothing else its creator holds.
	assert.True(t, f.tokenCan(id, "account:acme", "pay_invoices", nil).Allowed)
	assert.True(t, f.tokenCan(id, "account:acme", "view_invoices", nil).Allowed)
	assert.True(t, f.tokenCan(id, "product:acme/site", "manage", nil).Allowed)
	assert.False(t, f.tokenCan(id, "account:acme", "open_ticket", nil).Allowed, "support was not given")
	assert.False(t, f.tokenCan(id, "product:acme/shop", "manage", nil).Allowed)
	assert.False(t, f.tokenCan(id, "account:acme", "manage_users", nil).Allowed)
	assert.False(t, f.tokenCan(id, "account:acme", "access", nil).Allowed, "no plain permission holds for a token")

	// The panel's call: the secret, answered with the token's account.
	ans, err := f.svc.CheckToken(ctx, hostaccess.TokenCheck{Secret: nt.Secret, Resource: "account:acme", Permission: "pay_invoices"}, hostaccess.CheckOptions{})
	require.NoError(t, err)
	assert.True(t, ans.Allowed)
	assert.Equal(t, "acme", ans.Token.AccountID)
	assert.Equal(t, "token:"+id, ans.Subject, "the answer names the token, never the secret")

	// The creator loses billing: the token loses it at once.
	_, err = f.svc.SetAccess(ctx, alice, "acme", "carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightSupport}, Technical: hostaccess.ProductScope{Products: []string{"site"}}})
	require.NoError(t, err)
	assert.False(t, f.tokenCan(id, "account:acme", "pay_invoices", nil).Allowed)
	assert.True(t, f.tokenCan(id, "product:acme/site", "manage", nil).Allowed, "what she still holds stays")
	assert.False(t, f.tokenCan(id, "account:acme", "open_ticket", nil).Allowed, "what she holds but did not give stays out")

	// She leaves: the token reaches nothing and is listed revoked.
	_, err = f.svc.RemoveMember(ctx, alice, "acme", "carol")
	require.NoError(t, err)
	assert.False(t, f.tokenCan(id, "product:acme/site", "manage", nil).Allowed)
	tokens, err := f.svc.ListTokens(ctx, alice, "acme")
	require.NoError(t, err)
	require.Len(t, tokens, 1)
	assert.Equal(t, "revoked", tokens[0].Status)

	// Invited again, her old token does not come back.
	f.member("carol", billingAndSite())
	assert.False(t, f.tokenCan(id, "account:acme", "pay_invoices", nil).Allowed)
	ans, err = f.svc.CheckToken(ctx, hostaccess.TokenCheck{Secret: nt.Secret, Resource: "account:acme", Permission: "pay_invoices"}, hostaccess.CheckOptions{})
	require.NoError(t, err)
	assert.False(t, ans.Allowed)
	assert.Equal(t, "revoked", ans.Token.Status)
}

func TestAnOwnersTokenEndsWithTheirOwnership(t *testing.T) {
	f := newFixture(t)
	nt := f.token(alice, hostaccess.TokenInput{Rights: []hostaccess.Right{hostaccess.RightSecurity}, Technical: hostaccess.ProductScope{Groups: []string{"web"}}})
	assert.True(t, f.tokenCan(nt.Token.ID, "account:acme", "manage_security", nil).Allowed)
	assert.True(t, f.tokenCan(nt.Token.ID, "product:acme/mail", "manage", nil).Allowed, "through the group it was given")
	assert.False(t, f.tokenCan(nt.Token.ID, "product:acme/site", "manage", nil).Allowed)

	// Alice hands the account over and stays as a member with billing only.
	f.member("bob", hostaccess.Access{})
	_, err := f.svc.TransferOwnership(ctx, alice, "acme", "bob", &hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	require.NoError(t, err)
	assert.False(t, f.tokenCan(nt.Token.ID, "account:acme", "manage_security", nil).Allowed)
	assert.False(t, f.tokenCan(nt.Token.ID, "product:acme/mail", "manage", nil).Allowed)

	// Bob hands it on and leaves: his token goes with him.
	link, err := f.svc.Invite(ctx, hostaccess.Person("bob"), "acme", "carol@example.com", hostaccess.Access{})
	require.NoError(t, err)
	_, err = f.svc.AcceptInvitation(ctx, link.Token, login("carol"))
	require.NoError(t, err)
	bobs := f.token(hostaccess.Person("bob"), hostaccess.TokenInput{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	_, err = f.svc.TransferOwnership(ctx, hostaccess.Person("bob"), "acme", "carol", nil)
	require.NoError(t, err)
	assert.False(t, f.tokenCan(bobs.Token.ID, "account:acme", "pay_invoices", nil).Allowed)
	listed, err := f.svc.ListTokens(ctx, hostaccess.Person("carol"), "acme")
	require.NoError(t, err)
	for _, tok := range listed {
		if tok.ID == bobs.Token.ID {
			assert.Equal(t, "revoked", tok.Status)
		}
	}
}

func TestATokenIsRefusedWhatItsCreatorDoesNotHold(t *testing.T) {
	f := newFixture(t)
	f.member("carol", billingAndSite())
	end := f.clock.Now().Add(time.Hour)
	past := f.clock.Now().Add(-time.Hour)
	tooFar := f.clock.Now().Add(hostaccess.DefaultMaxTokenLifetime + time.Hour)
	try := func(actor hostaccess.Actor, in hostaccess.TokenInput) error {
		if in.Name == "" {
			in.Name = "t"
		}
		_, err := f.svc.CreateToken(ctx, actor, "acme", in)
		return err
	}
	billing := []hostaccess.Right{hostaccess.RightBilling}
	requireCode(t, try(carol, hostaccess.TokenInput{Rights: []hostaccess.Right{hostaccess.RightSecurity}, ExpiresAt: &end}), "escalation")
	requireCode(t, try(carol, hostaccess.TokenInput{Technical: hostaccess.ProductScope{Products: []string{"shop"}}, ExpiresAt: &end}), "escalation")
	requireCode(t, try(carol, hostaccess.TokenInput{Technical: hostaccess.ProductScope{All: true}, ExpiresAt: &end}), "escalation")
	requireCode(t, try(carol, hostaccess.TokenInput{Technical: hostaccess.ProductScope{Products: []string{"nope"}}, ExpiresAt: &end}), "not_found")
	requireCode(t, try(carol, hostaccess.TokenInput{Rights: billing}), "invalid_argument")                     // no expiry
	requireCode(t, try(carol, hostaccess.TokenInput{Rights: billing, ExpiresAt: &past}), "invalid_argument")   // past
	requireCode(t, try(carol, hostaccess.TokenInput{Rights: billing, ExpiresAt: &tooFar}), "invalid_argument") // beyond the maximum
	requireCode(t, try(carol, hostaccess.TokenInput{ExpiresAt: &end}), "invalid_argument")                     // given nothing
	requireCode(t, try(carol, hostaccess.TokenInput{Name: "a\x00b", Rights: billing, ExpiresAt: &end}), "invalid_argument")
	requireCode(t, try(carol, hostaccess.TokenInput{Name: strings.Repeat("n", 101), Rights: billing, ExpiresAt: &end}), "invalid_argument")
	requireCode(t, try(carol, hostaccess.TokenInput{Rights: []hostaccess.Right{"root"}, ExpiresAt: &end}), "invalid_argument")
	requireCode(t, try(carol, hostaccess.TokenInput{Rights: billing, ExpiresAt: &end, AllowedCIDRs: []string{"10.0.0.1/8"}}), "invalid_argument")
	requireCode(t, try(carol, hostaccess.TokenInput{Rights: billing, ExpiresAt: &end, AllowedCIDRs: []string{"everywhere"}}), "invalid_argument")
	requireCode(t, try(hostaccess.Person("mallory"), hostaccess.TokenInput{Rights: billing, ExpiresAt: &end}), "forbidden")
	requireCode(t, try(service, hostaccess.TokenInput{Rights: billing, ExpiresAt: &end}), "forbidden")

	// A time-bound member's token ends by their own end.
	memberEnd := f.clock.Now().Add(2 * time.Hour).Truncate(time.Second)
	f.member("dave", hostaccess.Access{Rights: billing, ExpiresAt: &memberEnd})
	later := memberEnd.Add(time.Minute)
	requireCode(t, try(hostaccess.Person("dave"), hostaccess.TokenInput{Rights: billing, ExpiresAt: &later}), "escalation")
	require.NoError(t, try(hostaccess.Person("dave"), hostaccess.TokenInput{Rights: billing, ExpiresAt: &memberEnd}))

	// Nothing refused was written.
	tokens, err := f.svc.ListTokens(ctx, alice, "acme")
	require.NoError(t, err)
	require.Len(t, tokens, 1)
	assert.Equal(t, "dave", tokens[0].Creator)
}

func TestATokenRestrictedToNetworksNeedsTheClientAddress(t *testing.T) {
	f := newFixture(t)
	f.member("carol", billingAndSite())
	nt := f.token(carol, hostaccess.TokenInput{Rights: []hostaccess.Right{hostaccess.RightBilling}, AllowedCIDRs: []string{"10.0.0.0/8", "2001:db8::/32"}})
	require.Equal(t, []string{"10.0.0.0/8", "2001:db8::/32"}, nt.Token.AllowedCIDRs)
	id := nt.Token.ID

	a := f.tokenCan(id, "account:acme", "pay_invoices", nil)
	assert.False(t, a.Allowed, "without the address: never allowed")
	assert.True(t, a.Conditional)
	assert.Equal(t, []string{"client_ip"}, a.MissingContext)
	assert.True(t, f.tokenCan(id, "account:acme", "pay_invoices", map[string]any{"client_ip": "10.1.2.3"}).Allowed)
	assert.True(t, f.tokenCan(id, "account:acme", "pay_invoices", map[string]any{"client_ip": "2001:db8::7"}).Allowed)
	denied := f.tokenCan(id, "account:acme", "pay_invoices", map[string]any{"client_ip": "192.0.2.1"})
	assert.False(t, denied.Allowed)
	assert.False(t, denied.Conditional)

	_, err := f.svc.Can(ctx, hostaccess.Check{Resource: "account:acme", Permission: "pay_invoices", Subject: "token:" + id, Context: map[string]any{"client_ip": "not-an-ip"}}, hostaccess.CheckOptions{})
	requireCode(t, err, "invalid_argument")
	_, err = f.svc.Can(ctx, hostaccess.Check{Resource: "account:acme", Permission: "pay_invoices", Subject: "token:" + id, Context: map[string]any{"client_ip": 10}}, hostaccess.CheckOptions{})
	requireCode(t, err, "invalid_argument")

	ans, err := f.svc.CheckToken(ctx, hostaccess.TokenCheck{Secret: nt.Secret, Resource: "account:acme", Permission: "pay_invoices", Context: map[string]any{"client_ip": "10.9.9.9"}}, hostaccess.CheckOptions{})
	require.NoError(t, err)
	assert.True(t, ans.Allowed)
}

func TestTokensAreListedAndRevokedByTheirCreatorAndTheOwners(t *testing.T) {
	f := newFixture(t)
	f.member("carol", billingAndSite())
	f.member("bob", billingAndSite())
	bob := hostaccess.Person("bob")
	c1 := f.token(carol, hostaccess.TokenInput{Name: "one", Rights: []hostaccess.Right{hostaccess.RightBilling}})
	c2 := f.token(carol, hostaccess.TokenInput{Name: "two", Rights: []hostaccess.Right{hostaccess.RightSupport}})
	b1 := f.token(bob, hostaccess.TokenInput{Name: "bob's", Rights: []hostaccess.Right{hostaccess.RightBilling}})

	mine, err := f.svc.ListTokens(ctx, carol, "acme")
	require.NoError(t, err)
	require.Len(t, mine, 2, "a member sees their own")
	all, err := f.svc.ListTokens(ctx, alice, "acme")
	require.NoError(t, err)
	require.Len(t, all, 3, "an owner sees every token")
	_, err = f.svc.ListTokens(ctx, hostaccess.Person("mallory"), "acme")
	requireCode(t, err, "forbidden")

	_, err = f.svc.RevokeToken(ctx, bob, "acme", c1.Token.ID)
	requireCode(t, err, "forbidden")
	assert.True(t, f.tokenCan(c1.Token.ID, "account:acme", "pay_invoices", nil).Allowed)

	_, err = f.svc.RevokeToken(ctx, carol, "acme", c1.Token.ID)
	require.NoError(t, err)
	assert.False(t, f.tokenCan(c1.Token.ID, "account:acme", "pay_invoices", nil).Allowed)
	assert.True(t, f.tokenCan(c2.Token.ID, "account:acme", "open_ticket", nil).Allowed, "her other token stands")
	_, err = f.svc.RevokeToken(ctx, carol, "acme", c1.Token.ID)
	requireCode(t, err, "not_found")

	_, err = f.svc.RevokeToken(ctx, alice, "acme", b1.Token.ID)
	require.NoError(t, err)
	assert.False(t, f.tokenCan(b1.Token.ID, "account:acme", "pay_invoices", nil).Allowed)
	_, err = f.svc.RevokeToken(ctx, alice, "acme", "acme/nothex")
	requireCode(t, err, "invalid_argument")
	_, err = f.svc.RevokeToken(ctx, alice, "beta", c2.Token.ID)
	requireCode(t, err, "not_found")

	// Every flow is audited.
	entries, err := f.svc.AuditLog(ctx, alice, hostaccess.AuditQuery{AccountID: "acme"})
	require.NoError(t, err)
	flows := map[string]int{}
	for _, e := range entries {
		flows[e.Flow]++
	}
	assert.Equal(t, 3, flows["create_token"])
	assert.Equal(t, 2, flows["revoke_token"])

	_, err = f.svc.CheckToken(ctx, hostaccess.TokenCheck{Secret: hostaccess.TokenSecretPrefix + "0000", Resource: "account:acme", Permission: "pay_invoices"}, hostaccess.CheckOptions{})
	requireCode(t, err, "not_found")
	_, err = f.svc.CheckToken(ctx, hostaccess.TokenCheck{Secret: "not a token", Resource: "account:acme", Permission: "pay_invoices"}, hostaccess.CheckOptions{})
	requireCode(t, err, "invalid_argument")
}

// A token used while its creator is removed: once the removal has answered,
// no check says allowed.
func TestATokenUsedWhileItsCreatorIsRemovedIsNeverAllowedAfter(t *testing.T) {
	for round := range 3 {
		f := newFixture(t)
		f.member("carol", billingAndSite())
		nt := f.token(carol, hostaccess.TokenInput{Rights: []hostaccess.Right{hostaccess.RightBilling}})
		var removed sync.WaitGroup
		removed.Add(1)
		done := make(chan struct{})
		var afterRemoval []bool
		var mu sync.Mutex
		removedFlag := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-removedFlag:
					// Every check started after the removal answered.
					for range 20 {
						a := f.tokenCan(nt.Token.ID, "account:acme", "pay_invoices", nil)
						mu.Lock()
						afterRemoval = append(afterRemoval, a.Allowed)
						mu.Unlock()
					}
					return
				default:
					f.tokenCan(nt.Token.ID, "account:acme", "pay_invoices", nil)
				}
			}
		}()
		go func() {
			defer removed.Done()
			_, err := f.svc.RemoveMember(ctx, alice, "acme", "carol")
			assert.NoError(t, err)
			close(removedFlag)
		}()
		removed.Wait()
		<-done
		for i, allowed := range afterRemoval {
			require.False(t, allowed, "round %d: check %d after the removal answered was allowed", round, i)
		}
	}
}

// Narrowing a creator while they create a token: whichever order the two
// land in, the token never reaches what the creator no longer holds.
func TestATokenCreatedWhileItsCreatorIsNarrowedNeverExceedsThem(t *testing.T) {
	for round := range 4 {
		f := newFixture(t)
		f.member("carol", billingAndSite())
		var wg sync.WaitGroup
		var nt hostaccess.NewToken
		var createErr, narrowErr error
		end := f.clock.Now().Add(time.Hour)
		wg.Go(func() {
			nt, createErr = f.svc.CreateToken(ctx, carol, "acme", hostaccess.TokenInput{Name: "race", Rights: []hostaccess.Right{hostaccess.RightBilling}, ExpiresAt: &end})
		})
		wg.Go(func() {
			_, narrowErr = f.svc.SetAccess(ctx, alice, "acme", "carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightSupport}})
		})
		wg.Wait()
		if createErr != nil {
			require.Contains(t, []string{"conflict", "escalation"}, hostaccess.Code(createErr), "round %d: %v", round, createErr)
			continue
		}
		if narrowErr != nil {
			requireCode(t, narrowErr, "conflict")
			assert.True(t, f.tokenCan(nt.Token.ID, "account:acme", "pay_invoices", nil).Allowed, "round %d", round)
			continue
		}
		assert.False(t, f.tokenCan(nt.Token.ID, "account:acme", "pay_invoices", nil).Allowed, "round %d: the creator lost billing", round)
	}
}
