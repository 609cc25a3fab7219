package hostaccess_test

import (
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func subjects(hs []hostaccess.Holder) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Subject
	}
	return out
}

// Paging through who-can gives every holder once, in order, as of the
// first page's revision, even when access changes between pages.
func TestWhoCanPagesAreOneConsistentPicture(t *testing.T) {
	f := newFixture(t)
	for i := range 5 {
		f.member(fmt.Sprintf("m%d", i), billing)
	}
	q := func(cursor string) hostaccess.HolderPage {
		t.Helper()
		p, err := f.svc.WhoCanPage(ctx, alice, "account:acme", "pay_invoices", cursor, 2)
		require.NoError(t, err)
		return p
	}
	first := q("")
	require.Equal(t, []string{"user:alice", "user:m0"}, subjects(first.Holders))
	require.NotEmpty(t, first.Next)
	require.Equal(t, []string{"account:acme#owner"}, first.Holders[0].Reasons)

	// Meanwhile m1 leaves and m9 joins: the listing still shows the first
	// page's revision.
	_, err := f.svc.RemoveMember(ctx, alice, "acme", "m1")
	require.NoError(t, err)
	f.member("m9", billing)

	second := q(first.Next)
	require.Equal(t, []string{"user:m1", "user:m2"}, subjects(second.Holders))
	require.Equal(t, first.At, second.At)
	third := q(second.Next)
	require.Equal(t, []string{"user:m3", "user:m4"}, subjects(third.Holders))
	require.Empty(t, third.Next, "the last page")

	// A new listing sees the change.
	all, err := f.svc.WhoCanPage(ctx, alice, "account:acme", "pay_invoices", "", hostaccess.MaxPageSize)
	require.NoError(t, err)
	require.Equal(t, []string{"user:alice", "user:m0", "user:m2", "user:m3", "user:m4", "user:m9"}, subjects(all.Holders))
	require.Empty(t, all.Next)
}

func TestWhoCanPageRefusals(t *testing.T) {
	f := newFixture(t)
	f.member("carol", billing)
	first, err := f.svc.WhoCanPage(ctx, alice, "account:acme", "pay_invoices", "", 1)
	require.NoError(t, err)
	require.NotEmpty(t, first.Next)

	_, err = f.svc.WhoCanPage(ctx, hostaccess.Person("carol"), "account:acme", "pay_invoices", first.Next, 1)
	requireCode(t, err, "forbidden") // a cursor is no key: each page is authorized again
	_, err = f.svc.WhoCanPage(ctx, alice, "account:acme", "manage_users", first.Next, 1)
	requireCode(t, err, "invalid_argument") // another question
	for _, bad := range []string{"x", "!!!", base64.RawURLEncoding.EncodeToString([]byte(`{"r":"account:acme","p":"pay_invoices","at":"bogus"}`))} {
		_, err = f.svc.WhoCanPage(ctx, alice, "account:acme", "pay_invoices", bad, 1)
		requireCode(t, err, "invalid_argument")
	}
	for _, limit := range []int{0, -1, hostaccess.MaxPageSize + 1} {
		_, err = f.svc.WhoCanPage(ctx, alice, "account:acme", "pay_invoices", "", limit)
		requireCode(t, err, "invalid_argument")
	}
}
