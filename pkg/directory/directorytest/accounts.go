package directorytest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

func testAccounts(t *testing.T, s directory.Store) {
	ctx := t.Context()
	a := directory.Account{ID: "acme", Name: "Acme", HostID: "host1", AdminCap: 3, CreatedAt: now()}
	require.NoError(t, s.CreateAccount(ctx, a))
	got, err := s.GetAccount(ctx, "acme")
	require.NoError(t, err)
	requireAccount(t, a, got)

	a.Name, a.AdminCap = "Acme Ltd", 5
	require.NoError(t, s.UpdateAccount(ctx, a))
	got, err = s.GetAccount(ctx, "acme")
	require.NoError(t, err)
	requireAccount(t, a, got)

	require.NoError(t, s.DeleteAccount(ctx, "acme"))
	_, err = s.GetAccount(ctx, "acme")
	require.ErrorIs(t, err, directory.ErrNotFound)
}

func testAccountConflict(t *testing.T, s directory.Store) {
	ctx := t.Context()
	a := directory.Account{ID: "acme", Name: "Acme", HostID: "host1", AdminCap: 3, CreatedAt: now()}
	require.NoError(t, s.CreateAccount(ctx, a))
	err := s.CreateAccount(ctx, directory.Account{ID: "acme", Name: "Other", CreatedAt: now()})
	require.ErrorIs(t, err, directory.ErrConflict)

	got, err := s.GetAccount(ctx, "acme")
	require.NoError(t, err)
	requireAccount(t, a, got) // the first one is kept
}

func testAccountNotFound(t *testing.T, s directory.Store) {
	ctx := t.Context()
	_, err := s.GetAccount(ctx, "nope")
	require.ErrorIs(t, err, directory.ErrNotFound)
	err = s.UpdateAccount(ctx, directory.Account{ID: "nope", Name: "Nope", CreatedAt: now()})
	require.ErrorIs(t, err, directory.ErrNotFound)
	require.ErrorIs(t, s.DeleteAccount(ctx, "nope"), directory.ErrNotFound)

	// An update of a missing account must not create it.
	_, err = s.GetAccount(ctx, "nope")
	require.ErrorIs(t, err, directory.ErrNotFound)
}

func testGetAccounts(t *testing.T, s directory.Store) {
	ctx := t.Context()
	a := directory.Account{ID: "a", Name: "A", CreatedAt: now()}
	b := directory.Account{ID: "b", Name: "B", CreatedAt: now()}
	require.NoError(t, s.CreateAccount(ctx, a))
	require.NoError(t, s.CreateAccount(ctx, b))
	require.NoError(t, s.CreateAccount(ctx, directory.Account{ID: "c", Name: "C", CreatedAt: now()}))

	got, err := s.GetAccounts(ctx, []string{"a", "missing", "b"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	requireAccount(t, a, got["a"])
	requireAccount(t, b, got["b"])

	got, err = s.GetAccounts(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}
