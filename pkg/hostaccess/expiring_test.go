package hostaccess_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func until(d time.Duration) *time.Time {
	t := time.Now().UTC().Add(d).Truncate(time.Second)
	return &t
}

func TestExpiringListsWhatEndsWithinTheWindow(t *testing.T) {
	f := newFixture(t)
	day := 24 * time.Hour
	carolEnds := until(5 * day) // once: a loaded machine takes seconds between two calls
	f.member("carol", hostaccess.Access{Rights: billing.Rights, ExpiresAt: carolEnds})
	f.member("dave", hostaccess.Access{Technical: hostaccess.ProductScope{Products: []string{"site"}}, ExpiresAt: until(40 * day)})
	f.member("erin", billing) // no end
	_, _, err := f.svc.AddContact(ctx, alice, "acme", hostaccess.ContactInput{Name: "Renewals", Email: "renew@acme.test", Notifications: []hostaccess.Category{hostaccess.CategoryRenewals}})
	require.NoError(t, err)
	pending, err := f.svc.Invite(ctx, alice, "acme", "frank@example.com", billing) // lapses in 7 days
	require.NoError(t, err)

	soon, err := f.svc.Expiring(ctx, alice, "acme", 10)
	require.NoError(t, err)
	require.Equal(t, "acme", soon.AccountID)
	require.Len(t, soon.Members, 1)
	require.Equal(t, "carol", soon.Members[0].UserID)
	require.Equal(t, "carol@example.com", soon.Members[0].Email)
	require.WithinDuration(t, *carolEnds, soon.Members[0].ExpiresAt, time.Second)
	require.Len(t, soon.Invitations, 1)
	require.Equal(t, pending.Invitation.ID, soon.Invitations[0].ID)

	later, err := f.svc.Expiring(ctx, alice, "acme", 60)
	require.NoError(t, err)
	require.Equal(t, []string{"carol", "dave"}, []string{later.Members[0].UserID, later.Members[1].UserID}, "soonest first; erin, alice and the contact never expire")
	require.Len(t, later.Members, 2)

	tomorrow, err := f.svc.Expiring(ctx, alice, "acme", 1)
	require.NoError(t, err)
	require.Empty(t, tomorrow.Members)
	require.Empty(t, tomorrow.Invitations)
	require.NotNil(t, tomorrow.Members, "an empty list, not null")

	// A revoked invitation no longer lapses: it is gone.
	_, err = f.svc.RevokeInvitation(ctx, alice, pending.Invitation.ID)
	require.NoError(t, err)
	soon, err = f.svc.Expiring(ctx, alice, "acme", 10)
	require.NoError(t, err)
	require.Empty(t, soon.Invitations)
}

func TestExpiringIsRefusedWithoutUserManagement(t *testing.T) {
	f := newFixture(t)
	f.member("carol", hostaccess.Access{Rights: billing.Rights, ExpiresAt: until(5 * 24 * time.Hour)})
	f.member("ursula", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightUserManagement}})

	_, err := f.svc.Expiring(ctx, hostaccess.Person("carol"), "acme", 30)
	requireCode(t, err, "forbidden") // not even about herself: the panel tells the owner
	_, err = f.svc.Expiring(ctx, hostaccess.Person("mallory"), "acme", 30)
	requireCode(t, err, "forbidden")
	got, err := f.svc.Expiring(ctx, hostaccess.Person("ursula"), "acme", 30)
	require.NoError(t, err, "a user manager sees it")
	require.Len(t, got.Members, 1)

	for _, days := range []int{0, -1, hostaccess.MaxExpiringDays + 1} {
		_, err = f.svc.Expiring(ctx, alice, "acme", days)
		requireCode(t, err, "invalid_argument")
	}
	_, err = f.svc.Expiring(ctx, alice, "no-such-account", 30)
	requireCode(t, err, "forbidden") // the same answer as for an account that exists
}
