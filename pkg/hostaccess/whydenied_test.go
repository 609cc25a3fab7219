package hostaccess_test

import (
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func TestWhyDeniedSaysWhatIsMissingAndWhoMayGrantIt(t *testing.T) {
	f := newFixture(t)
	f.member("carol", billing)
	f.member("dave", hostaccess.Access{Technical: hostaccess.ProductScope{Products: []string{"site"}}})
	f.member("ursula", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightUserManagement}})

	d, err := f.svc.WhyDenied(ctx, alice, check("user:carol", "account:acme", "manage_domains"))
	require.NoError(t, err)
	require.False(t, d.Allowed)
	require.Equal(t, "carol is a member of acme without the domains right", d.Reason)
	require.Equal(t, "the domains right", d.Missing)
	require.Equal(t, []string{"user:alice"}, d.Grantors, "ursula manages users but does not hold domains: she cannot grant it")

	d, err = f.svc.WhyDenied(ctx, alice, check("user:carol", "account:acme", "pay_invoices"))
	require.NoError(t, err)
	require.True(t, d.Allowed)
	require.Empty(t, d.Reason)

	d, err = f.svc.WhyDenied(ctx, alice, check("user:mallory", "account:acme", "pay_invoices"))
	require.NoError(t, err)
	require.Equal(t, "mallory is not a member of acme", d.Reason)
	require.Equal(t, "membership of acme with the billing right", d.Missing)

	d, err = f.svc.WhyDenied(ctx, alice, check("user:dave", "product:acme/shop", "manage"))
	require.NoError(t, err)
	require.False(t, d.Allowed)
	require.Equal(t, "dave's technical access covers product site, not product shop (in tag client-x)", d.Reason)
	require.Equal(t, []string{"user:alice"}, d.Grantors)

	// The person may ask about themself; about someone else, only who sees the users.
	d, err = f.svc.WhyDenied(ctx, hostaccess.Person("carol"), check("user:carol", "account:acme", "manage_domains"))
	require.NoError(t, err)
	require.False(t, d.Allowed)
	_, err = f.svc.WhyDenied(ctx, hostaccess.Person("carol"), check("user:dave", "product:acme/site", "manage"))
	requireCode(t, err, "forbidden")
	_, err = f.svc.WhyDenied(ctx, hostaccess.Person("mallory"), check("user:carol", "account:acme", "pay_invoices"))
	requireCode(t, err, "forbidden")
}

func TestWhyDeniedNamesDelegationSwitchedOff(t *testing.T) {
	f := newFixture(t) // acme is managed by nordhost, delegation on
	_, err := f.stack.Engine.Client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
		Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
		Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "host", ObjectId: "nordhost"}, Relation: "admin",
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "sam"}},
		},
	}}})
	require.NoError(t, err)
	q := check("user:sam", "account:acme", "manage_users")
	d, err := f.svc.WhyDenied(ctx, alice, q)
	require.NoError(t, err)
	require.True(t, d.Allowed, "delegated")

	_, err = f.svc.SetDelegation(ctx, alice, "acme", false)
	require.NoError(t, err)
	d, err = f.svc.WhyDenied(ctx, alice, q)
	require.NoError(t, err)
	require.False(t, d.Allowed)
	require.Equal(t, "sam is an admin of host nordhost, whose management of acme's users is switched off", d.Reason)
	require.Equal(t, "delegation of acme to nordhost, switched on by an owner", d.Missing)
	require.Equal(t, []string{"user:alice"}, d.Grantors, "the owners switch delegation")
}

func TestWhyDeniedRefusesWhatItCannotExplain(t *testing.T) {
	f := newFixture(t)
	for _, q := range []hostaccess.Check{
		check("contact:acme/0123456789abcdef", "account:acme", "pay_invoices"),
		check("user:carol", "account:acme", "close"),
		check("user:carol", "tag:acme/client-x", "manage"),
		check("user:carol", "product:site", "manage"),
		check("user:carol", "product:acme/site", "pay_invoices"),
		check("user:carol\x00", "account:acme", "pay_invoices"),
		check("carol", "account:acme", "pay_invoices"),
	} {
		_, err := f.svc.WhyDenied(ctx, alice, q)
		requireCode(t, err, "invalid_argument")
	}
}
