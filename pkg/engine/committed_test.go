package engine

import (
	"context"
	"testing"
	"time"

	"github.com/authzed/spicedb/pkg/cmd/datastore"
	spicedatastore "github.com/authzed/spicedb/pkg/datastore"
	"github.com/stretchr/testify/require"
)

// While a write is in flight on the memory datastore, its clock-derived
// optimized revision can pass the newest committed one: an answer computed
// there lacks the write yet is cached at a revision that includes it. The
// engine's datastore advertises no revision past the committed head while
// a write is in flight, and the clock's revision otherwise.
func TestOptimizedRevisionNeverPassesTheCommittedHead(t *testing.T) {
	ctx := context.Background()
	const window = 5 * time.Millisecond
	cfg := datastore.DefaultDatastoreConfig()
	cfg.Engine = EngineMemory
	cfg.RevisionQuantization = window
	raw, err := datastore.NewDatastore(ctx, cfg.ToOption())
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close() })
	capped := capAtCommitted(raw)

	var rawAhead bool
	_, err = capped.ReadWriteTx(ctx, func(ctx context.Context, _ spicedatastore.ReadWriteTransaction) error {
		time.Sleep(4 * window) // the write is in flight across a window boundary
		head, err := raw.HeadRevision(ctx)
		require.NoError(t, err)
		optimized, err := raw.OptimizedRevision(ctx)
		require.NoError(t, err)
		rawAhead = optimized.Revision.GreaterThan(head.Revision)
		c, err := capped.OptimizedRevision(ctx)
		require.NoError(t, err)
		require.False(t, c.Revision.GreaterThan(head.Revision), "advertised %v past the committed head %v", c.Revision, head.Revision)
		return nil
	})
	require.NoError(t, err)
	require.True(t, rawAhead, "the memory datastore alone advertised no revision past its head: the hazard this guards against is gone (SpiceDB fixed it?)")

	// No write in flight: the revision moves with the clock, as SpiceDB's.
	time.Sleep(2 * window)
	head, err := raw.HeadRevision(ctx)
	require.NoError(t, err)
	idle, err := capped.OptimizedRevision(ctx)
	require.NoError(t, err)
	require.True(t, idle.Revision.GreaterThan(head.Revision), "idle: the optimized revision still follows the clock")
}
