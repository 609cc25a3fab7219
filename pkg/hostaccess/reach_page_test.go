package hostaccess_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func accountIDs(as []hostaccess.AccountSummary) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

// An agency member of many accounts pages through their reach: every
// account once, as of the first page, with the products of that page's
// accounts only.
func TestReachPagesAreOneConsistentPicture(t *testing.T) {
	f := newFixture(t)
	agency := hostaccess.Person("agency")
	for i := range 4 {
		id := fmt.Sprintf("c%d", i)
		_, err := f.svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: id, OwnerID: "owner-" + id})
		require.NoError(t, err)
		_, err = f.svc.AddProduct(ctx, service, id, "site", nil, nil)
		require.NoError(t, err)
		link, err := f.svc.Invite(ctx, hostaccess.Person("owner-"+id), id, "agency@example.com",
			hostaccess.Access{Technical: hostaccess.ProductScope{Products: []string{"site"}}})
		require.NoError(t, err)
		_, err = f.svc.AcceptInvitation(ctx, link.Token, login("agency"))
		require.NoError(t, err)
	}

	first, err := f.svc.ReachPage(ctx, agency, "agency", "", 3)
	require.NoError(t, err)
	require.Equal(t, []string{"c0", "c1", "c2"}, accountIDs(first.Accounts))
	require.Equal(t, []string{"c0/site", "c1/site", "c2/site"}, first.Products)
	require.Equal(t, "scoped product access", first.Accounts[0].Summary)
	require.NotEmpty(t, first.Next)

	_, err = f.svc.RemoveMember(ctx, hostaccess.Person("owner-c3"), "c3", "agency") // meanwhile
	require.NoError(t, err)
	second, err := f.svc.ReachPage(ctx, agency, "agency", first.Next, 3)
	require.NoError(t, err)
	require.Equal(t, []string{"c3"}, accountIDs(second.Accounts), "as of the first page")
	require.Equal(t, []string{"c3/site"}, second.Products)
	require.Equal(t, first.At, second.At)
	require.Empty(t, second.Next)

	fresh, err := f.svc.ReachPage(ctx, agency, "agency", "", hostaccess.MaxPageSize)
	require.NoError(t, err)
	require.Equal(t, []string{"c0", "c1", "c2"}, accountIDs(fresh.Accounts), "a new listing sees the removal")

	// Refusals: someone else, another person's cursor, bad limits and cursors.
	_, err = f.svc.ReachPage(ctx, hostaccess.Person("mallory"), "agency", "", 3)
	requireCode(t, err, "forbidden")
	_, err = f.svc.ReachPage(ctx, alice, "alice", first.Next, 3)
	requireCode(t, err, "invalid_argument")
	_, err = f.svc.ReachPage(ctx, agency, "agency", "garbage", 3)
	requireCode(t, err, "invalid_argument")
	_, err = f.svc.ReachPage(ctx, agency, "agency", "", 0)
	requireCode(t, err, "invalid_argument")

	nobody, err := f.svc.ReachPage(ctx, service, "nobody", "", 3)
	require.NoError(t, err)
	require.Empty(t, nobody.Accounts)
	require.NotNil(t, nobody.Accounts)
	require.Empty(t, nobody.Next)
}
