package directorytest

import (
	"testing"
	"time"

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

func testFreshnessExpiries(t *testing.T, s directory.Store) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	pending, err := s.PendingExpiries(ctx, now)
	require.NoError(t, err)
	require.Empty(t, pending)

	require.NoError(t, s.AddExpiry(ctx, "acme", now.Add(2*time.Hour)))
	require.NoError(t, s.AddExpiry(ctx, "acme", now.Add(2*time.Hour)), "adding one twice is no error")
	require.NoError(t, s.AddExpiry(ctx, "globex", now.Add(time.Hour)))
	require.NoError(t, s.AddExpiry(ctx, "acme", now.Add(-time.Minute)), "a lapsed one is accepted and forgotten")
	require.Error(t, s.AddExpiry(ctx, "acme", time.Time{}))

	pending, err = s.PendingExpiries(ctx, now)
	require.NoError(t, err)
	require.Len(t, pending, 2, "earliest first, each once, none lapsed")
	require.Equal(t, "globex", pending[0].Scope)
	require.True(t, pending[0].At.Equal(now.Add(time.Hour)), "got %s", pending[0].At)
	require.Equal(t, "acme", pending[1].Scope)
	require.True(t, pending[1].At.Equal(now.Add(2*time.Hour)), "got %s", pending[1].At)

	// Later, the first has lapsed: it is no longer pending, and stays gone.
	pending, err = s.PendingExpiries(ctx, now.Add(90*time.Minute))
	require.NoError(t, err)
	require.Len(t, pending, 1)
	require.Equal(t, "acme", pending[0].Scope)
	pending, err = s.PendingExpiries(ctx, now)
	require.NoError(t, err)
	require.Len(t, pending, 1, "forgotten expiries do not come back")
}
