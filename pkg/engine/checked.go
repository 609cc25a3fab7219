package engine

import (
	"context"
	"sync"
	"time"

	spicedatastore "github.com/authzed/spicedb/pkg/datastore"
)

// checkedFor is how long a revision found valid is taken as valid again
// without asking the database.
const checkedFor = time.Second

// maxChecked bounds the revisions remembered; past it they are forgotten
// all at once (each costs one query again).
const maxChecked = 4096

// checkedRevisions remembers, for a second, the revisions a SQL datastore
// found valid. Every request at an exact snapshot (how hostaccess pins each
// account's answers, pkg/freshness) makes SpiceDB check its revision, which
// on Postgres is one query: at thousands of cached checks a second that
// query, not the check, would be the cost. A revision found valid stays
// valid until it leaves the garbage collection window (24 h by default),
// which the snapshots hostaccess pins never approach (they are re-pinned
// every freshness.DefaultRepinEvery); one second more can only matter for a
// caller's own token within a second of that edge, a race SpiceDB's check
// followed by its read has as well.
type checkedRevisions struct {
	spicedatastore.Datastore
	mu    *sync.Mutex
	valid map[string]time.Time // revision -> valid until
}

func rememberChecks(ds spicedatastore.Datastore) checkedRevisions {
	return checkedRevisions{Datastore: ds, mu: new(sync.Mutex), valid: map[string]time.Time{}}
}

func (d checkedRevisions) CheckRevision(ctx context.Context, rev spicedatastore.Revision) error {
	key, now := rev.String(), time.Now()
	d.mu.Lock()
	until, ok := d.valid[key]
	d.mu.Unlock()
	if ok && now.Before(until) {
		return nil
	}
	if err := d.Datastore.CheckRevision(ctx, rev); err != nil {
		return err
	}
	d.mu.Lock()
	if len(d.valid) >= maxChecked {
		clear(d.valid)
	}
	d.valid[key] = now.Add(checkedFor)
	d.mu.Unlock()
	return nil
}

// Unwrap lets SpiceDB's datastore helpers reach the datastore.
func (d checkedRevisions) Unwrap() spicedatastore.Datastore { return d.Datastore }
