package engine

import (
	"context"
	"sync/atomic"

	spicedatastore "github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
)

// committedRevisions keeps the memory datastore from advertising, while a
// write is in flight, a revision that the write will belong to.
//
// SpiceDB's memory datastore derives the optimized revision from the clock
// (now, rounded down to the quantization window), while a write takes its
// revision when its transaction starts and becomes visible when it
// commits. A check that runs in between is evaluated at a revision at or
// after the write's, without the write, and its answer is cached under
// that revision for the rest of the window: a check asked after the write
// returned, at least as fresh as its token, can then be answered from that
// cache with the access the write removed. So while a write is in flight
// the optimized revision is capped at the head (the newest committed
// revision). With no write in flight it is left as SpiceDB computes it, so
// that it still moves with the clock and cached answers about time-bound
// grants go stale after one window, as on an unwrapped datastore.
// Postgres and CockroachDB derive revisions from committed transactions
// and need no such cap.
type committedRevisions struct {
	spicedatastore.Datastore
	writing *atomic.Int64
}

func capAtCommitted(ds spicedatastore.Datastore) committedRevisions {
	return committedRevisions{Datastore: ds, writing: new(atomic.Int64)}
}

func (d committedRevisions) ReadWriteTx(ctx context.Context, fn spicedatastore.TxUserFunc, opts ...options.RWTOptionsOption) (spicedatastore.Revision, error) {
	d.writing.Add(1) // before the write takes its revision
	defer d.writing.Add(-1)
	return d.Datastore.ReadWriteTx(ctx, fn, opts...)
}

func (d committedRevisions) OptimizedRevision(ctx context.Context) (spicedatastore.RevisionWithSchemaHash, error) {
	// Computed first: a write that starts afterwards takes a later
	// revision, so only one already in flight needs the cap.
	optimized, err := d.Datastore.OptimizedRevision(ctx)
	if err != nil || d.writing.Load() == 0 {
		return optimized, err
	}
	head, err := d.Datastore.HeadRevision(ctx)
	if err != nil {
		return head, err
	}
	if optimized.Revision.GreaterThan(head.Revision) {
		return head, nil
	}
	return optimized, nil
}

// Unwrap lets SpiceDB's datastore helpers reach the memory datastore.
func (d committedRevisions) Unwrap() spicedatastore.Datastore { return d.Datastore }
