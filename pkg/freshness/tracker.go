// Package freshness keeps, for every account, the newest ZedToken known to
// have changed it, and turns it into the consistency of each SpiceDB
// request: an answer about an account is evaluated at the exact snapshot of
// the account's last change (or of the floor, or of the caller's token,
// whichever is newest). That snapshot moves only when something that can
// change the answer moves, so SpiceDB's cache, keyed by revision, keeps an
// unchanged account's answers until it changes, instead of dropping every
// account's at each quantization window.
//
// Tokens advance from three sources: the domain layer's flows (Record, which
// also stores them durably in the directory so other nodes and restarts see
// them), writes through this node's SpiceDB API (the interceptors), and
// SpiceDB's Watch API for everything else (Follow). Until Follow has proved
// its watch live, and whenever it is down, every answer is fully
// consistent: a change this node might not have seen is never answered
// stale.
package freshness

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/revisionparsing"
	"github.com/authzed/spicedb/pkg/zedtoken"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

// DefaultCapacity is how many accounts' tokens a node keeps in memory by
// default (about 200 bytes each).
const DefaultCapacity = 100_000

// ErrInvalidToken is returned for a caller's token that is not a ZedToken of
// this datastore engine.
var ErrInvalidToken = errors.New("not a ZedToken of this access engine")

// Config configures a Tracker.
type Config struct {
	// DatastoreEngine is the SpiceDB datastore engine the tokens come from
	// (memory, postgres or cockroachdb): it decides how two tokens compare.
	DatastoreEngine string
	// Store keeps the accounts' tokens durably.
	Store directory.Freshness
	// Logger (no logs when nil).
	Logger *zap.Logger
	// Capacity bounds the accounts kept in memory (DefaultCapacity when 0).
	Capacity int
	// RepinEvery is how often the floor moves to SpiceDB's newest revision
	// although nothing global changed (DefaultRepinEvery when 0): the
	// snapshots answers are pinned to must stay well inside the
	// datastore's garbage collection window (24 h by default), and a
	// change no token reports (a time-bound relationship this node never
	// saw written) is answered at most this late.
	RepinEvery time.Duration
	// Unpinned asks at_least_as_fresh the same tokens instead of their
	// exact snapshots (SpiceDB then answers at its quantized revision, and
	// PinInterceptor leaves API checks alone): the behaviour before
	// 2026-12, kept for A/B benchmarks (bench --pin=false).
	Unpinned bool
}

// DefaultRepinEvery is Config.RepinEvery's default: every cached answer
// goes cold this often, once.
const DefaultRepinEvery = 10 * time.Minute

// mark is a known point in SpiceDB's history. unsure marks a scope that
// took two concurrent changes: only SpiceDB's newest revision covers both.
type mark struct {
	token  string
	rev    datastore.Revision // nil: nothing known
	unsure bool
	gen    uint64 // changes on every update, so a repair never overwrites a newer change
}

// Tracker hands out consistency per account. It is safe for concurrent use.
type Tracker struct {
	parse    revisionparsing.ParsingFunc
	store    directory.Freshness
	log      *zap.Logger
	capacity int
	repin    time.Duration
	unpinned bool

	mu        sync.RWMutex
	client    Client          // set by Follow
	entries   map[string]mark // account -> newest known change; loaded from the store on first use
	floor     mark            // every answer is at least this fresh (Global changes, start of the watch)
	following bool            // a live watch reports every change
	gen       uint64
	shrinking atomic.Bool

	expMu     sync.Mutex // guards the expiry queue (see expiry.go)
	expiries  expiries
	expQueued map[expiry]bool
	expTimer  *time.Timer

	stats struct{ hits, loads, full, heads, reasks atomic.Int64 }
}

// Client is the part of SpiceDB's API the tracker uses: its newest revision
// (to order concurrent tokens), the watch, and the watch's probe write. An
// *authzed.Client satisfies it.
type Client interface {
	v1.PermissionsServiceClient
	v1.WatchServiceClient
}

// New builds a Tracker. It answers fully consistent until Follow runs.
func New(cfg Config) (*Tracker, error) {
	parse, ok := revisionparsing.ParseRevisionStringByDatastoreEngineID[cfg.DatastoreEngine]
	if !ok {
		return nil, fmt.Errorf("freshness: unknown datastore engine %q", cfg.DatastoreEngine)
	}
	if cfg.Store == nil {
		return nil, errors.New("freshness: Config.Store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Capacity <= 0 {
		cfg.Capacity = DefaultCapacity
	}
	if cfg.RepinEvery < 0 {
		return nil, errors.New("freshness: Config.RepinEvery must not be negative")
	}
	if cfg.RepinEvery == 0 {
		cfg.RepinEvery = DefaultRepinEvery
	}
	return &Tracker{
		parse: parse, store: cfg.Store, log: cfg.Logger, capacity: cfg.Capacity, repin: cfg.RepinEvery, unpinned: cfg.Unpinned,
		entries: map[string]mark{},
	}, nil
}

// Stats counts what the tracker did, for benchmarks and tests.
type Stats struct {
	Hits  int64 // consistency from tokens already in memory
	Loads int64 // tokens read from the directory store
	Full  int64 // fully consistent answers (no live watch, or store unreachable)
	Heads int64 // SpiceDB's newest revision read to order concurrent tokens
	// Reasks counts requests Ask ran again: a token read beside them was
	// newer than their answer.
	Reasks int64
}

// Stats returns the counters so far.
func (t *Tracker) Stats() Stats {
	return Stats{Hits: t.stats.hits.Load(), Loads: t.stats.loads.Load(), Full: t.stats.full.Load(), Heads: t.stats.heads.Load(), Reasks: t.stats.reasks.Load()}
}

// Following reports whether a live watch covers changes made elsewhere.
func (t *Tracker) Following() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.following
}

// Covers reports whether answers about scope are, from what this node knows
// now, at least as fresh as token (without reading the store).
func (t *Tracker) Covers(scope, token string) bool {
	m, err := t.markOf(token)
	if err != nil {
		return false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	known := t.floor
	if e, ok := t.entries[scope]; ok && scope != Global {
		if known, ok = newer(known, e); !ok {
			return false
		}
	}
	if known.unsure || known.rev == nil {
		return false
	}
	got, ok := newer(known, m)
	return ok && got.rev != nil && (got.rev.Equal(known.rev) || known.rev.GreaterThan(m.rev))
}

// holder lets SpiceDB's own decoder read a token's revision.
type holder struct{ parse revisionparsing.ParsingFunc }

func (holder) UniqueID(context.Context) (string, error) { return "", nil }
func (h holder) RevisionFromString(s string) (datastore.Revision, error) {
	return h.parse(s)
}

func (t *Tracker) markOf(token string) (mark, error) {
	if token == "" {
		return mark{}, fmt.Errorf("empty token: %w", ErrInvalidToken)
	}
	decoded, err := zedtoken.DecodeRevision(&v1.ZedToken{Token: token}, holder{t.parse})
	if err != nil || decoded.Revision == nil || decoded.Revision == datastore.NoRevision {
		return mark{}, fmt.Errorf("%q: %w", token, ErrInvalidToken)
	}
	return mark{token: token, rev: decoded.Revision}, nil
}

// newer returns the newer of two marks; ok is false when neither is
// (concurrent revisions, or either unsure).
func newer(a, b mark) (m mark, ok bool) {
	switch {
	case a.unsure || b.unsure:
		return mark{}, false
	case b.rev == nil:
		return a, true
	case a.rev == nil:
		return b, true
	case a.rev.Equal(b.rev) || a.rev.GreaterThan(b.rev):
		return a, true
	case b.rev.GreaterThan(a.rev):
		return b, true
	default:
		return mark{}, false
	}
}

// Observe advances the scopes' tokens in memory: a change at token is now
// known. Writes seen by this node's API and by the watch land here.
func (t *Tracker) Observe(scopes []string, token string) error {
	if len(scopes) == 0 {
		return nil
	}
	m, err := t.markOf(token)
	if err != nil {
		return err
	}
	t.mu.Lock()
	for _, scope := range scopes {
		t.advanceLocked(scope, m)
	}
	over := len(t.entries) > t.capacity
	t.mu.Unlock()
	if over {
		t.shrink(context.Background())
	}
	return nil
}

// Forget marks a scope changed at an unknown revision (a bulk import
// returns no token): the next answer reads SpiceDB's newest revision.
func (t *Tracker) Forget(scope string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	m := mark{unsure: true, gen: t.gen}
	if scope == Global {
		t.floor = m
		return
	}
	t.entries[scope] = m
}

func (t *Tracker) advanceLocked(scope string, m mark) {
	cur := t.floor
	if scope != Global {
		// Absent: this change is the newest known here. (A newer token
		// stored by another node reaches this one through the watch.)
		cur = t.entries[scope]
	}
	next, ok := newer(cur, m)
	if !ok {
		next = mark{unsure: true}
	}
	t.gen++
	next.gen = t.gen
	if scope == Global {
		t.floor = next
	} else {
		t.entries[scope] = next
	}
}

// shrink keeps memory bounded: past capacity, the floor moves to SpiceDB's
// newest revision, which covers every token older than the read, and those
// tokens go.
func (t *Tracker) shrink(ctx context.Context) {
	if !t.shrinking.CompareAndSwap(false, true) {
		return // another goroutine is at it
	}
	defer t.shrinking.Store(false)
	if err := t.raiseFloorToHead(ctx); err != nil {
		t.log.Warn("freshness: cannot shrink the token cache yet", zap.Error(err))
	}
}

// raiseFloorToHead moves the floor to SpiceDB's newest revision and drops
// the tokens it covers. Every cached answer goes cold once: they were
// pinned to older snapshots.
func (t *Tracker) raiseFloorToHead(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	head, err := t.head(ctx)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.raiseFloorLocked(head) {
		return nil // the floor moved meanwhile; a later call tries again
	}
	for scope, e := range t.entries {
		if e.gen < head.gen {
			delete(t.entries, scope)
		}
	}
	return nil
}

// head reads SpiceDB's newest revision: a fully consistent check answers at
// it, and its token covers every change committed before the call. Its gen
// is taken before the call, so marks changed during it count as newer.
func (t *Tracker) head(ctx context.Context) (mark, error) {
	t.stats.heads.Add(1)
	t.mu.Lock()
	t.gen++
	gen, client := t.gen, t.client
	t.mu.Unlock()
	if client == nil {
		return mark{}, errors.New("not connected to the access engine yet")
	}
	resp, err := client.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: fullyConsistent(),
		Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: probeAccount},
		Permission:  "view",
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: probeAccount}},
	})
	if err != nil {
		return mark{}, fmt.Errorf("reading the access engine's newest revision: %w", err)
	}
	m, err := t.markOf(resp.GetCheckedAt().GetToken())
	m.gen = gen
	return m, err
}

// fullyConsistent is what an answer uses when no token is known to cover
// every change.
func fullyConsistent() *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
}

// pinned evaluates a request at m's exact snapshot: it holds every change
// m covers, and, unlike at_least_as_fresh, it does not move with SpiceDB's
// quantization window, so its cached answers stay warm.
func pinned(m mark) *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: &v1.ZedToken{Token: m.token}}}
}

// at is pinned(m), or at_least_as_fresh m when the tracker is Unpinned.
func (t *Tracker) at(m mark) *v1.Consistency {
	if t.unpinned {
		return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: &v1.ZedToken{Token: m.token}}}
	}
	return pinned(m)
}

// Consistency is the consistency of a request about the scopes (see
// ScopesOfResources): the exact snapshot of the newest of each scope's
// newest known change, the floor and the caller's token (when not empty). It reads the
// directory store for scopes not in memory yet.
func (t *Tracker) Consistency(ctx context.Context, scopes []string, callerToken string) (*v1.Consistency, error) {
	caller, err := t.callerMark(callerToken)
	if err != nil {
		return nil, err
	}
	k := t.knownAbout(scopes, caller)
	tokenHits.Add(float64(k.inMemory))
	return counted(t.consistencyFrom(ctx, scopes, caller, k)), nil
}

// consistencyFrom is Consistency from what memory held (k), reading the
// missing scopes' tokens from the store.
func (t *Tracker) consistencyFrom(ctx context.Context, scopes []string, caller mark, k known) *v1.Consistency {
	if !k.following {
		t.stats.full.Add(1)
		return fullyConsistent()
	}
	best, ordered, missing, unsure := k.best, k.ordered, k.missing, k.unsure
	for _, scope := range missing {
		e, err := t.load(ctx, scope)
		if err != nil {
			t.log.Warn("freshness: token not readable; answering fully consistent", zap.String("account", scope), zap.Error(err))
			t.stats.full.Add(1)
			return fullyConsistent()
		}
		if e.unsure {
			unsure = append(unsure, scope)
		} else if ordered {
			best, ordered = newer(best, e)
		}
	}
	if len(unsure) == 0 && ordered {
		if len(missing) == 0 {
			t.stats.hits.Add(1)
		}
		if best.rev == nil {
			t.stats.full.Add(1)
			return fullyConsistent()
		}
		return t.at(best)
	}
	// Concurrent tokens: SpiceDB's newest revision covers them all, and
	// becomes the token of the scopes involved, so the next request about
	// them needs no such read.
	head, err := t.head(ctx)
	if err != nil {
		t.stats.full.Add(1)
		return fullyConsistent() // always safe
	}
	t.repair(scopes, head)
	if c, ok := newer(head, caller); ok {
		return t.at(c)
	}
	return t.at(head)
}

// Ask runs ask, a request about the scopes, at the consistency Consistency
// would give it, and returns ask's error. When scopes' tokens are not in
// memory yet it does not wait for the store: ask runs at once at what is
// known without them while they are read, and runs again, with them, only
// if its answer's revision (the checkedAt token it returns) is not at least
// as new as each. A node's first question about an account then takes no
// longer than its others; the answer is as fresh as Consistency's.
func (t *Tracker) Ask(ctx context.Context, scopes []string, callerToken string, ask func(context.Context, *v1.Consistency) (checkedAt string, err error)) error {
	caller, err := t.callerMark(callerToken)
	if err != nil {
		return err
	}
	k := t.knownAbout(scopes, caller)
	tokenHits.Add(float64(k.inMemory))
	if early := t.early(k); early != nil {
		loaded := make([]mark, len(k.missing))
		var loadErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i, scope := range k.missing {
				if loaded[i], loadErr = t.load(ctx, scope); loadErr != nil {
					return
				}
			}
		}()
		checkedAt, err := ask(ctx, counted(early))
		if err != nil && status.Code(err) != codes.OutOfRange {
			return err // the read ends with ctx; its result is not needed
		}
		<-done
		if err == nil && loadErr == nil && t.coveredBy(checkedAt, loaded) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		t.stats.reasks.Add(1)
		k = t.knownAbout(scopes, caller) // now with the tokens read
	}
	_, err = ask(ctx, counted(t.consistencyFrom(ctx, scopes, caller, k)))
	if status.Code(err) != codes.OutOfRange || ctx.Err() != nil {
		return err
	}
	// The snapshot fell out of the datastore's garbage collection window
	// (a cluster configured with a shorter one than RepinEvery): move the
	// floor to the newest revision and ask once more.
	if ferr := t.raiseFloorToHead(ctx); ferr != nil {
		return err
	}
	t.stats.reasks.Add(1)
	_, err = ask(ctx, counted(t.consistencyFrom(ctx, scopes, caller, t.knownAbout(scopes, caller))))
	return err
}

// repinLoop moves the floor to SpiceDB's newest revision every RepinEvery
// until ctx ends (see Config.RepinEvery).
func (t *Tracker) repinLoop(ctx context.Context) {
	every(ctx, t.repin, func() bool {
		if err := t.raiseFloorToHead(ctx); err != nil && ctx.Err() == nil {
			t.log.Warn("freshness: cannot move the floor to the newest revision; trying again next time", zap.Error(err))
		}
		return true
	})
}

// every runs fn every d until ctx ends or fn returns false.
func every(ctx context.Context, d time.Duration, fn func() bool) {
	ticker := time.NewTicker(d)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if !fn() {
			return
		}
	}
}

// early is the consistency a request can be asked at before the missing
// scopes' tokens are read: the newest of the floor, the caller's token and
// the tokens in memory. It is nil when nothing is missing, or when the known
// marks need SpiceDB's newest revision (concurrent or unsure ones) or are
// empty (a fully consistent answer needs no token).
func (t *Tracker) early(k known) *v1.Consistency {
	if !k.following || len(k.missing) == 0 || len(k.unsure) > 0 || !k.ordered || k.best.rev == nil {
		return nil
	}
	return t.at(k.best)
}

// known is what memory holds about some scopes: the newest of the floor,
// the caller's mark and the scopes' marks (ordered is false when two are
// concurrent), the scopes not loaded yet and those marked unsure, and how
// many scopes memory held. following is false when no live watch covers
// changes made elsewhere.
type known struct {
	best            mark
	ordered         bool
	missing, unsure []string
	inMemory        int
	following       bool
}

func (t *Tracker) knownAbout(scopes []string, caller mark) known {
	t.mu.RLock()
	defer t.mu.RUnlock()
	k := known{following: t.following}
	if !k.following {
		return k
	}
	k.best, k.ordered = newer(t.floor, caller)
	for _, scope := range scopes {
		if scope == Global {
			continue
		}
		e, ok := t.entries[scope]
		if ok {
			k.inMemory++
		}
		switch {
		case !ok:
			k.missing = append(k.missing, scope)
		case e.unsure:
			k.unsure = append(k.unsure, scope)
		case k.ordered:
			k.best, k.ordered = newer(k.best, e)
		}
	}
	return k
}

// callerMark is the caller's token as a mark (none when empty).
func (t *Tracker) callerMark(token string) (mark, error) {
	if token == "" {
		return mark{}, nil
	}
	return t.markOf(token)
}

// coveredBy reports whether an answer at checkedAt is at least as fresh as
// every mark.
func (t *Tracker) coveredBy(checkedAt string, marks []mark) bool {
	at, err := t.markOf(checkedAt)
	if err != nil {
		return false
	}
	for _, m := range marks {
		if m.unsure {
			return false
		}
		if m.rev != nil && !at.rev.Equal(m.rev) && !at.rev.GreaterThan(m.rev) {
			return false
		}
	}
	return true
}

// repair replaces the scopes' marks, and the floor, by head when they were
// set before head was read (so head covers them); later ones stay.
func (t *Tracker) repair(scopes []string, head mark) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.floor.gen < head.gen {
		t.raiseFloorLocked(head)
	}
	for _, scope := range scopes {
		if e, ok := t.entries[scope]; ok && e.gen < head.gen {
			if next, ordered := newer(e, head); ordered {
				t.entries[scope] = next
			} else {
				t.entries[scope] = head
			}
		}
	}
}

// load reads a scope's token from the store into memory.
func (t *Tracker) load(ctx context.Context, scope string) (mark, error) {
	t.stats.loads.Add(1)
	tokenMisses.Inc()
	token, err := t.store.GetFreshness(ctx, scope)
	var m mark
	switch {
	case errors.Is(err, directory.ErrNotFound):
	case err != nil:
		return mark{}, err
	default:
		if m, err = t.markOf(token); err != nil {
			// A token of another datastore (a restored backup): the
			// floor, read at start, covers everything before it.
			t.log.Warn("freshness: ignoring an unreadable stored token", zap.String("account", scope), zap.Error(err))
			m = mark{}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur, ok := t.entries[scope]; ok {
		// Changed while we read: merge, never go back.
		next, ordered := newer(cur, m)
		if !ordered {
			next = mark{unsure: true}
		}
		m = next
	}
	t.gen++
	m.gen = t.gen
	t.entries[scope] = m
	if len(t.entries) > t.capacity {
		go t.shrink(context.WithoutCancel(ctx)) // off the check path (it outlives the request); one at a time
	}
	return m, nil
}

// Record is Observe for the domain layer's own writes, which also stores
// the scopes' tokens in the directory (compare-and-set, never going back),
// so other nodes and restarts start from them.
func (t *Tracker) Record(ctx context.Context, scopes []string, token string) error {
	if err := t.Observe(scopes, token); err != nil {
		return err
	}
	return t.Persist(ctx, scopes, token)
}

// Persist stores the scopes' tokens in the directory (compare-and-set,
// never going back) without telling this node, which already knows: for a
// domain write that the engine's interceptor has reported (Observe).
func (t *Tracker) Persist(ctx context.Context, scopes []string, token string) error {
	m, err := t.markOf(token)
	if err != nil {
		return err
	}
	var errs []error
	for _, scope := range scopes {
		if scope != Global {
			errs = append(errs, t.persist(ctx, scope, m))
		}
	}
	return errors.Join(errs...)
}

func (t *Tracker) persist(ctx context.Context, scope string, m mark) error {
	for range 5 {
		stored, err := t.store.GetFreshness(ctx, scope)
		if err != nil && !errors.Is(err, directory.ErrNotFound) {
			return err
		}
		next := m
		if stored != "" {
			if cur, perr := t.markOf(stored); perr == nil {
				n, ordered := newer(cur, m)
				if !ordered {
					if n, err = t.head(ctx); err != nil {
						return err
					}
				}
				if n.token == stored {
					return nil // the store already holds a newer token
				}
				next = n
			}
		}
		err = t.store.SetFreshness(ctx, scope, stored, next.token)
		if !errors.Is(err, directory.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("freshness token of %q: too many concurrent updates", scope)
}

// setFollowing is called by Follow: a live watch, from floor on.
func (t *Tracker) setFollowing(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.following = on
}

// raiseFloorLocked makes every later answer at least as fresh as head, a
// revision read from SpiceDB (so at least as new as every change made
// before the read). It reports false if it could not: the floor moved
// since, to a change not ordered with head.
func (t *Tracker) raiseFloorLocked(head mark) bool {
	if next, ok := newer(t.floor, head); ok {
		t.floor = next
		return true
	}
	if t.floor.gen < head.gen {
		t.floor = head // head covers whatever the floor stood for
		return true
	}
	return false
}
