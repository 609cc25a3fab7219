package freshness

import (
	"container/heap"
	"context"
	"time"

	"go.uber.org/zap"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
)

// A relationship that expires changes access without a write: no token
// moves, and SpiceDB keeps answering from its cache at the account's
// pinned snapshot, so an expired grant would still be allowed until the
// account changes. The tracker therefore remembers when the
// time-bound relationships it sees lapse, and at that moment makes its
// account read SpiceDB's newest revision again (a new cache key, evaluated
// after the expiry).
//
// Every node sees what it writes and what its watch reports, and each
// stores the expiries it learns of in the directory (AddExpiry), so a node
// started later reads them at Follow (loadExpiries). A time-bound
// relationship no node recorded (written before this version) lapses at
// the next repin at the latest (Config.RepinEvery).

// expiry is one scope to refresh at a time.
type expiry struct {
	at    time.Time
	scope string
}

// expiries is a min-heap of expiries by time.
type expiries []expiry

func (h expiries) Len() int           { return len(h) }
func (h expiries) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiries) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiries) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiries) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// NoteExpirations schedules a refresh of each scope whose time-bound
// relationships the updates write, at their expiry, and stores the ones
// this node had not seen yet. A store failure is logged: this node, and
// every node following the watch, still refresh on time.
func (t *Tracker) NoteExpirations(ctx context.Context, updates []*v1.RelationshipUpdate) {
	for _, u := range updates {
		exp := u.GetRelationship().GetOptionalExpiresAt()
		if exp == nil || u.GetOperation() == v1.RelationshipUpdate_OPERATION_DELETE {
			continue
		}
		scope, ok := ScopeOfRelationship(u.GetRelationship())
		if !ok || !t.expireAt(scope, exp.AsTime()) || !exp.AsTime().After(time.Now()) {
			continue
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		err := t.store.AddExpiry(sctx, scope, exp.AsTime())
		cancel()
		if err != nil {
			t.log.Warn("freshness: expiry not stored; a node started before it lapses refreshes it at its next repin",
				zap.String("account", scope), zap.Time("lapses_at", exp.AsTime()), zap.Error(err))
		}
	}
}

// loadExpiries schedules the expiries other nodes stored (and this one, in
// an earlier life).
func (t *Tracker) loadExpiries(ctx context.Context) error {
	pending, err := t.store.PendingExpiries(ctx, time.Now())
	if err != nil {
		return err
	}
	for _, e := range pending {
		t.expireAt(e.Scope, e.At)
	}
	return nil
}

// expireAt queues a refresh of scope at at; false if it was queued already.
func (t *Tracker) expireAt(scope string, at time.Time) bool {
	e := expiry{at: at.UTC(), scope: scope}
	t.expMu.Lock()
	defer t.expMu.Unlock()
	if t.expQueued[e] {
		return false // the interceptor, the watch and the flow may all report it
	}
	if t.expQueued == nil {
		t.expQueued = map[expiry]bool{}
	}
	t.expQueued[e] = true
	heap.Push(&t.expiries, e)
	if t.expiries[0] != e {
		return true // an earlier one is due first; its timer is set
	}
	// The new entry is the next due: (re)arm the timer for it.
	if t.expTimer == nil {
		t.expTimer = time.AfterFunc(time.Until(at), t.expire)
	} else {
		t.expTimer.Reset(time.Until(at))
	}
	return true
}

// stopExpiries stops the timer (the tracker's client is going away).
func (t *Tracker) stopExpiries() {
	t.expMu.Lock()
	defer t.expMu.Unlock()
	if t.expTimer != nil {
		t.expTimer.Stop()
		t.expTimer = nil
	}
	t.expiries = nil
	clear(t.expQueued)
}

// expire refreshes the scopes whose relationships have lapsed and waits for
// the next. Nothing was written, so SpiceDB's newest revision is the one its
// cache already answered "allowed" at: the tracker first writes a marker of
// its own, which makes a new revision, then makes the scopes read it.
func (t *Tracker) expire() {
	t.expMu.Lock()
	now := time.Now()
	var due []string
	for t.expiries.Len() > 0 && !t.expiries[0].at.After(now) {
		e := heap.Pop(&t.expiries).(expiry)
		delete(t.expQueued, e)
		due = append(due, e.scope)
	}
	if t.expiries.Len() > 0 && t.expTimer != nil {
		t.expTimer.Reset(time.Until(t.expiries[0].at))
	}
	t.expMu.Unlock()
	if len(due) == 0 {
		return
	}
	t.mu.RLock()
	client := t.client
	t.mu.RUnlock()
	if client != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := touchMarker(ctx, client, probeAccount+"-tick"); err != nil {
			t.log.Warn("freshness: cannot make a new revision for lapsed grants; they are denied after the next write or repin", zap.Error(err))
		}
	}
	for _, scope := range due {
		t.Forget(scope)
	}
}
