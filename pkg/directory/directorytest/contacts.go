package directorytest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

func testContacts(t *testing.T, s directory.Store) {
	ctx := t.Context()
	_, err := s.GetContact(ctx, "nope")
	require.ErrorIs(t, err, directory.ErrNotFound)
	require.ErrorIs(t, s.DeleteContact(ctx, "nope"), directory.ErrNotFound)

	c := directory.Contact{ID: "k1", AccountID: "acme", Name: "Kim", Email: "kim@example.com", Phone: "+44 20 7946 0000", CreatedAt: now(), UpdatedAt: now()}
	require.NoError(t, s.PutContact(ctx, c))
	got, err := s.GetContact(ctx, "k1")
	require.NoError(t, err)
	requireContact(t, c, got)

	// Put replaces.
	c.Phone, c.UpdatedAt = "", now().Add(time.Second)
	require.NoError(t, s.PutContact(ctx, c))
	got, err = s.GetContact(ctx, "k1")
	require.NoError(t, err)
	requireContact(t, c, got)

	require.NoError(t, s.DeleteContact(ctx, "k1"))
	_, err = s.GetContact(ctx, "k1")
	require.ErrorIs(t, err, directory.ErrNotFound)
	require.ErrorIs(t, s.DeleteContact(ctx, "k1"), directory.ErrNotFound)
}

func testGetContacts(t *testing.T, s directory.Store) {
	ctx := t.Context()
	a := directory.Contact{ID: "k1", AccountID: "acme", Name: "Kim", CreatedAt: now(), UpdatedAt: now()}
	b := directory.Contact{ID: "k2", AccountID: "other", Name: "Lee", CreatedAt: now(), UpdatedAt: now()}
	require.NoError(t, s.PutContact(ctx, a))
	require.NoError(t, s.PutContact(ctx, b))

	got, err := s.GetContacts(ctx, []string{"k1", "missing", "k2"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	requireContact(t, a, got["k1"])
	requireContact(t, b, got["k2"])

	got, err = s.GetContacts(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testListContacts(t *testing.T, s directory.Store) {
	ctx := t.Context()
	// Plain lower-case ASCII names, so byte order and a database collation
	// agree.
	for _, c := range []directory.Contact{
		{ID: "k3", AccountID: "acme", Name: "lee"},
		{ID: "k2", AccountID: "acme", Name: "kim"},
		{ID: "k1", AccountID: "acme", Name: "lee"},
		{ID: "k4", AccountID: "acme", Name: "ann"},
		{ID: "o1", AccountID: "other", Name: "bob"},
	} {
		c.CreatedAt, c.UpdatedAt = now(), now()
		require.NoError(t, s.PutContact(ctx, c))
	}

	list, err := s.ListContacts(ctx, "acme")
	require.NoError(t, err)
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	require.Equal(t, []string{"k4", "k2", "k1", "k3"}, ids)

	list, err = s.ListContacts(ctx, "other")
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "o1", list[0].ID)

	list, err = s.ListContacts(ctx, "nobody")
	require.NoError(t, err)
	require.Empty(t, list)
}
