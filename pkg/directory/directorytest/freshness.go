package directorytest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

func testFreshness(t *testing.T, s directory.Store) {
	ctx := t.Context()
	_, err := s.GetFreshness(ctx, "acme")
	require.ErrorIs(t, err, directory.ErrNotFound)

	require.NoError(t, s.SetFreshness(ctx, "acme", "", "zed-1"))
	got, err := s.GetFreshness(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, "zed-1", got)

	// Compare-and-set: a stale or absent expectation changes nothing.
	require.ErrorIs(t, s.SetFreshness(ctx, "acme", "", "zed-2"), directory.ErrConflict)
	require.ErrorIs(t, s.SetFreshness(ctx, "acme", "zed-0", "zed-2"), directory.ErrConflict)
	require.Error(t, s.SetFreshness(ctx, "acme", "zed-1", ""), "an empty token is refused")
	got, err = s.GetFreshness(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, "zed-1", got)

	require.NoError(t, s.SetFreshness(ctx, "acme", "zed-1", "zed-2"))
	got, err = s.GetFreshness(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, "zed-2", got)

	// Scopes are independent.
	_, err = s.GetFreshness(ctx, "globex")
	require.ErrorIs(t, err, directory.ErrNotFound)
}
