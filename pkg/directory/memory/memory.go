// Package memory is an in-memory directory.Store, for tests and for running
// hostaccess without a database. Everything is lost when the process exits.
package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

var _ directory.Store = (*Store)(nil)

// defaultAuditLimit is what ListAudit returns at most when no Limit is given.
const defaultAuditLimit = 100

// Store keeps the directory in maps guarded by one lock. It stores and hands
// out copies, so callers can never change its contents behind its back.
type Store struct {
	mu          sync.RWMutex
	accounts    map[string]directory.Account
	people      map[string]directory.Person
	invitations map[string]directory.Invitation
	invByHash   map[string]string // string(TokenHash) -> invitation id
	contacts    map[string]directory.Contact
	tokens      tokenStore
	requests    map[string]directory.AccessRequest
	audit       []directory.AuditEntry // in Seq order
	chain       directory.ChainState
	sealed      []int64           // the Seq of every sealed entry, in chain order: the feed's index
	lastSeq     int64             // the highest Seq handed out or imported
	freshness   map[string]string // scope -> ZedToken
	expiries    map[directory.Expiry]bool
}

// New returns an empty store.
func New() *Store {
	return &Store{
		accounts:    map[string]directory.Account{},
		people:      map[string]directory.Person{},
		invitations: map[string]directory.Invitation{},
		invByHash:   map[string]string{},
		contacts:    map[string]directory.Contact{},
		tokens:      newTokenStore(),
		requests:    map[string]directory.AccessRequest{},
		freshness:   map[string]string{},
	}
}

// Accounts and people hold no slices, so a plain value copy is a deep copy.

func (s *Store) CreateAccount(_ context.Context, a directory.Account) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[a.ID]; ok {
		return fmt.Errorf("account %q: %w", a.ID, directory.ErrConflict)
	}
	s.accounts[a.ID] = a
	return nil
}

func (s *Store) UpdateAccount(_ context.Context, a directory.Account) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[a.ID]; !ok {
		return fmt.Errorf("account %q: %w", a.ID, directory.ErrNotFound)
	}
	s.accounts[a.ID] = a
	return nil
}

func (s *Store) GetAccount(_ context.Context, id string) (directory.Account, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.accounts[id]
	if !ok {
		return directory.Account{}, fmt.Errorf("account %q: %w", id, directory.ErrNotFound)
	}
	return a, nil
}

func (s *Store) GetAccounts(_ context.Context, ids []string) (map[string]directory.Account, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]directory.Account, len(ids))
	for _, id := range ids {
		if a, ok := s.accounts[id]; ok {
			out[id] = a
		}
	}
	return out, nil
}

func (s *Store) DeleteAccount(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[id]; !ok {
		return fmt.Errorf("account %q: %w", id, directory.ErrNotFound)
	}
	delete(s.accounts, id)
	return nil
}

func (s *Store) PutPerson(_ context.Context, p directory.Person) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.people[p.UserID] = p
	return nil
}

func (s *Store) GetPerson(_ context.Context, userID string) (directory.Person, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.people[userID]
	if !ok {
		return directory.Person{}, fmt.Errorf("person %q: %w", userID, directory.ErrNotFound)
	}
	return p, nil
}

func (s *Store) GetPeople(_ context.Context, userIDs []string) (map[string]directory.Person, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]directory.Person, len(userIDs))
	for _, id := range userIDs {
		if p, ok := s.people[id]; ok {
			out[id] = p
		}
	}
	return out, nil
}

func (s *Store) CreateInvitation(_ context.Context, inv directory.Invitation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.invitations[inv.ID]; ok {
		return fmt.Errorf("invitation %q: %w", inv.ID, directory.ErrConflict)
	}
	if _, ok := s.invByHash[string(inv.TokenHash)]; ok {
		return fmt.Errorf("invitation %q: token hash in use: %w", inv.ID, directory.ErrConflict)
	}
	s.invitations[inv.ID] = cloneInvitation(inv)
	s.invByHash[string(inv.TokenHash)] = inv.ID
	return nil
}

func (s *Store) GetInvitation(_ context.Context, id string) (directory.Invitation, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	inv, ok := s.invitations[id]
	if !ok {
		return directory.Invitation{}, fmt.Errorf("invitation %q: %w", id, directory.ErrNotFound)
	}
	return cloneInvitation(inv), nil
}

func (s *Store) GetInvitationByTokenHash(_ context.Context, hash []byte) (directory.Invitation, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.invByHash[string(hash)]
	if !ok {
		// The hash is a secret's digest: keep it out of error messages.
		return directory.Invitation{}, fmt.Errorf("invitation by token hash: %w", directory.ErrNotFound)
	}
	return cloneInvitation(s.invitations[id]), nil
}

func (s *Store) ListInvitations(_ context.Context, accountID string, statuses ...directory.InvitationStatus) ([]directory.Invitation, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []directory.Invitation
	for _, inv := range s.invitations {
		if inv.AccountID != accountID {
			continue
		}
		if len(statuses) > 0 && !slices.Contains(statuses, inv.Status) {
			continue
		}
		out = append(out, cloneInvitation(inv))
	}
	slices.SortFunc(out, func(a, b directory.Invitation) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

func (s *Store) SetInvitationStatus(_ context.Context, id string, from, to directory.InvitationStatus, by string, at time.Time, supersededBy string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.invitations[id]
	if !ok {
		return fmt.Errorf("invitation %q: %w", id, directory.ErrNotFound)
	}
	if inv.Status != from {
		return fmt.Errorf("invitation %q is %s, not %s: %w", id, inv.Status, from, directory.ErrConflict)
	}
	inv.Status, inv.StatusAt, inv.StatusBy = to, at, by
	if supersededBy != "" {
		inv.SupersededBy = supersededBy
	}
	// inv shares its slices with the stored value, which is fine: neither
	// is reachable by callers, and the stored value is overwritten here.
	s.invitations[id] = inv
	return nil
}

func (s *Store) PutContact(_ context.Context, c directory.Contact) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.contacts[c.ID] = c
	return nil
}

func (s *Store) GetContact(_ context.Context, id string) (directory.Contact, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.contacts[id]
	if !ok {
		return directory.Contact{}, fmt.Errorf("contact %q: %w", id, directory.ErrNotFound)
	}
	return c, nil
}

func (s *Store) GetContacts(_ context.Context, ids []string) (map[string]directory.Contact, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]directory.Contact, len(ids))
	for _, id := range ids {
		if c, ok := s.contacts[id]; ok {
			out[id] = c
		}
	}
	return out, nil
}

func (s *Store) ListContacts(_ context.Context, accountID string) ([]directory.Contact, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []directory.Contact
	for _, c := range s.contacts {
		if c.AccountID == accountID {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b directory.Contact) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

func (s *Store) DeleteContact(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.contacts[id]; !ok {
		return fmt.Errorf("contact %q: %w", id, directory.ErrNotFound)
	}
	delete(s.contacts, id)
	return nil
}

func (s *Store) AppendAudit(_ context.Context, e directory.AuditEntry) (directory.AuditEntry, error) {
	if e.Outcome == "" {
		e.Outcome = directory.AuditApplied
	}
	if err := validOutcome(e.Outcome); err != nil {
		return directory.AuditEntry{}, fmt.Errorf("append audit entry for %q: %w", e.AccountID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e = cloneAudit(e)
	s.lastSeq++
	e.Seq = s.lastSeq
	e.Chain, e.PrevHash, e.Hash = 0, nil, nil
	if e.Outcome.Final() {
		var err error
		if e, err = s.seal(e); err != nil {
			return directory.AuditEntry{}, fmt.Errorf("append audit entry for %q: %w", e.AccountID, err)
		}
	}
	s.audit = append(s.audit, e)
	return cloneAudit(e), nil
}

// seal links e to the chain's head and makes it the head; the caller holds
// the lock.
func (s *Store) seal(e directory.AuditEntry) (directory.AuditEntry, error) {
	e, err := directory.Seal(s.chain.Head, e)
	if err != nil {
		return directory.AuditEntry{}, err
	}
	s.chain.Head = directory.ChainLink{Seq: e.Chain, Hash: slices.Clone(e.Hash)}
	s.sealed = append(s.sealed, e.Seq)
	return e, nil
}

// entry returns the entry with seq; the caller holds the lock.
func (s *Store) entry(seq int64) (*directory.AuditEntry, bool) {
	i, ok := slices.BinarySearchFunc(s.audit, seq, func(e directory.AuditEntry, seq int64) int {
		return cmp.Compare(e.Seq, seq)
	})
	if !ok {
		return nil, false
	}
	return &s.audit[i], true
}

func (s *Store) ListAudit(_ context.Context, f directory.AuditFilter) ([]directory.AuditEntry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []directory.AuditEntry
	for i := len(s.audit) - 1; i >= 0 && len(out) < limit; i-- {
		e := s.audit[i]
		if !matches(f, e) {
			continue
		}
		out = append(out, cloneAudit(e))
	}
	return out, nil
}

func matches(f directory.AuditFilter, e directory.AuditEntry) bool {
	return (f.AccountID == "" || e.AccountID == f.AccountID) &&
		(f.Actor == "" || e.Actor == f.Actor) &&
		(f.Flow == "" || e.Flow == f.Flow) &&
		(f.Target == "" || e.Target == f.Target) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since)) &&
		(f.Until.IsZero() || e.Time.Before(f.Until)) &&
		(f.BeforeSeq <= 0 || e.Seq < f.BeforeSeq)
}

// ListChain reads the chain-ordered index from the first position after
// f.After, so a feed polling the head costs a search, not a scan.
func (s *Store) ListChain(_ context.Context, f directory.ChainFilter) ([]directory.AuditEntry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	start, _ := slices.BinarySearchFunc(s.sealed, f.After+1, func(seq, chain int64) int {
		e, _ := s.entry(seq)
		return cmp.Compare(e.Chain, chain)
	})
	var out []directory.AuditEntry
	for _, seq := range s.sealed[start:] {
		if len(out) == limit {
			break
		}
		if e, _ := s.entry(seq); f.AccountID == "" || e.AccountID == f.AccountID {
			out = append(out, cloneAudit(*e))
		}
	}
	return out, nil
}

func (s *Store) Chain(context.Context) (directory.ChainState, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return cloneChain(s.chain), nil
}

func (s *Store) PruneAudit(_ context.Context, before time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cut := 0
	for _, seq := range s.sealed {
		e, _ := s.entry(seq)
		if !e.Time.Before(before) {
			break
		}
		s.chain.Anchor = directory.ChainLink{Seq: e.Chain, Hash: slices.Clone(e.Hash)}
		cut++
	}
	gone := map[int64]bool{}
	for _, seq := range s.sealed[:cut] {
		gone[seq] = true
	}
	s.sealed = slices.Clone(s.sealed[cut:])
	s.audit = slices.DeleteFunc(s.audit, func(e directory.AuditEntry) bool { return gone[e.Seq] })
	return cut, nil
}

func cloneChain(c directory.ChainState) directory.ChainState {
	c.Anchor.Hash = slices.Clone(c.Anchor.Hash)
	c.Head.Hash = slices.Clone(c.Head.Hash)
	return c
}

// SettleAudit is a compare-and-set under the store's lock.
func (s *Store) SettleAudit(_ context.Context, seq int64, from, to directory.AuditOutcome, zedToken string) error {
	if err := validOutcome(to); err != nil {
		return fmt.Errorf("audit entry %d: settle: %w", seq, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entry(seq)
	if !ok {
		return fmt.Errorf("audit entry %d: %w", seq, directory.ErrNotFound)
	}
	if e.Outcome != from {
		return fmt.Errorf("audit entry %d is %s, not %s: %w", seq, e.Outcome, from, directory.ErrConflict)
	}
	if e.Chain > 0 {
		return fmt.Errorf("audit entry %d is sealed: %w", seq, directory.ErrConflict)
	}
	settled := *e
	settled.Outcome = to
	if zedToken != "" {
		settled.ZedToken = zedToken
	}
	if to.Final() {
		var err error
		if settled, err = s.seal(settled); err != nil {
			return fmt.Errorf("audit entry %d: settle %s: %w", seq, to, err)
		}
	}
	*e = settled
	return nil
}

func (s *Store) ListAuditIntents(_ context.Context, before time.Time, limit int) ([]directory.AuditEntry, error) {
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []directory.AuditEntry
	for _, e := range s.audit {
		if len(out) == limit {
			break
		}
		if e.Outcome == directory.AuditIntent && e.Time.Before(before) {
			out = append(out, cloneAudit(e))
		}
	}
	return out, nil
}

// ExportAll copies everything under the read lock, so the snapshot is one
// point in time.
func (s *Store) ExportAll(context.Context) (directory.Snapshot, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var snap directory.Snapshot
	for _, a := range s.accounts {
		snap.Accounts = append(snap.Accounts, a)
	}
	slices.SortFunc(snap.Accounts, func(a, b directory.Account) int { return strings.Compare(a.ID, b.ID) })
	for _, p := range s.people {
		snap.People = append(snap.People, p)
	}
	slices.SortFunc(snap.People, func(a, b directory.Person) int { return strings.Compare(a.UserID, b.UserID) })
	for _, inv := range s.invitations {
		snap.Invitations = append(snap.Invitations, cloneInvitation(inv))
	}
	slices.SortFunc(snap.Invitations, func(a, b directory.Invitation) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	for _, c := range s.contacts {
		snap.Contacts = append(snap.Contacts, c)
	}
	slices.SortFunc(snap.Contacts, func(a, b directory.Contact) int { return strings.Compare(a.ID, b.ID) })
	snap.Tokens = s.tokens.sorted()
	for _, r := range s.requests {
		snap.AccessRequests = append(snap.AccessRequests, cloneRequest(r))
	}
	sortRequests(snap.AccessRequests)
	for _, e := range s.audit {
		snap.Audit = append(snap.Audit, cloneAudit(e))
	}
	snap.Chain = cloneChain(s.chain)
	return snap, nil
}

// ImportAll checks the whole snapshot before storing any of it, so a
// refused import leaves the store as it was.
func (s *Store) ImportAll(_ context.Context, snap directory.Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.accounts) > 0 || len(s.people) > 0 || len(s.invitations) > 0 || len(s.contacts) > 0 || len(s.tokens.byID) > 0 || len(s.requests) > 0 || len(s.audit) > 0 || s.chain.Head.Seq > 0 {
		return fmt.Errorf("import: the directory is not empty: %w", directory.ErrConflict)
	}

	accounts := make(map[string]directory.Account, len(snap.Accounts))
	for _, a := range snap.Accounts {
		if _, ok := accounts[a.ID]; ok {
			return fmt.Errorf("import: account %q: %w", a.ID, directory.ErrConflict)
		}
		accounts[a.ID] = a
	}
	people := make(map[string]directory.Person, len(snap.People))
	for _, p := range snap.People {
		if _, ok := people[p.UserID]; ok {
			return fmt.Errorf("import: person %q: %w", p.UserID, directory.ErrConflict)
		}
		people[p.UserID] = p
	}
	invitations := make(map[string]directory.Invitation, len(snap.Invitations))
	invByHash := make(map[string]string, len(snap.Invitations))
	for _, inv := range snap.Invitations {
		if _, ok := invitations[inv.ID]; ok {
			return fmt.Errorf("import: invitation %q: %w", inv.ID, directory.ErrConflict)
		}
		if _, ok := invByHash[string(inv.TokenHash)]; ok {
			return fmt.Errorf("import: invitation %q: token hash in use: %w", inv.ID, directory.ErrConflict)
		}
		invitations[inv.ID] = cloneInvitation(inv)
		invByHash[string(inv.TokenHash)] = inv.ID
	}
	contacts := make(map[string]directory.Contact, len(snap.Contacts))
	for _, c := range snap.Contacts {
		if _, ok := contacts[c.ID]; ok {
			return fmt.Errorf("import: contact %q: %w", c.ID, directory.ErrConflict)
		}
		contacts[c.ID] = c
	}
	tokens := newTokenStore()
	for _, t := range snap.Tokens {
		if err := tokens.add(t); err != nil {
			return fmt.Errorf("import: %w", err)
		}
	}
	requests := make(map[string]directory.AccessRequest, len(snap.AccessRequests))
	for _, r := range snap.AccessRequests {
		if _, ok := requests[r.ID]; ok {
			return fmt.Errorf("import: access request %q: %w", r.ID, directory.ErrConflict)
		}
		requests[r.ID] = cloneRequest(r)
	}
	audit := make([]directory.AuditEntry, 0, len(snap.Audit))
	for _, e := range snap.Audit {
		if e.Seq <= 0 {
			return fmt.Errorf("import: audit entry with Seq %d: Seq must be positive", e.Seq)
		}
		if e.Outcome == "" {
			e.Outcome = directory.AuditApplied
		}
		if err := validOutcome(e.Outcome); err != nil {
			return fmt.Errorf("import: audit entry %d: %w", e.Seq, err)
		}
		audit = append(audit, cloneAudit(e))
	}
	slices.SortFunc(audit, func(a, b directory.AuditEntry) int { return cmp.Compare(a.Seq, b.Seq) })
	for i := 1; i < len(audit); i++ {
		if audit[i].Seq == audit[i-1].Seq {
			return fmt.Errorf("import: audit entry %d: %w", audit[i].Seq, directory.ErrConflict)
		}
	}

	s.accounts, s.people, s.invitations, s.invByHash, s.contacts = accounts, people, invitations, invByHash, contacts
	s.tokens = tokens
	s.requests = requests
	s.audit = audit
	s.chain = cloneChain(snap.Chain)
	s.sealed = nil
	for _, e := range audit {
		if e.Chain > 0 {
			s.sealed = append(s.sealed, e.Seq)
		}
	}
	slices.SortFunc(s.sealed, func(a, b int64) int {
		ea, _ := s.entry(a)
		eb, _ := s.entry(b)
		return cmp.Compare(ea.Chain, eb.Chain)
	})
	if n := len(audit); n > 0 {
		s.lastSeq = max(s.lastSeq, audit[n-1].Seq)
	}
	return nil
}

func (s *Store) GetFreshness(_ context.Context, scope string) (string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	token, ok := s.freshness[scope]
	if !ok {
		return "", fmt.Errorf("freshness token of %q: %w", scope, directory.ErrNotFound)
	}
	return token, nil
}

func (s *Store) SetFreshness(_ context.Context, scope, old, next string) error {
	if next == "" {
		return fmt.Errorf("freshness token of %q: empty token", scope)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.freshness[scope] != old {
		return fmt.Errorf("freshness token of %q changed: %w", scope, directory.ErrConflict)
	}
	s.freshness[scope] = next
	return nil
}

func (s *Store) Ping(context.Context) error { return nil }

func (s *Store) Close() error { return nil }

// slices.Clone keeps nil as nil, so a round trip does not turn an absent
// value into an empty one.

func cloneInvitation(inv directory.Invitation) directory.Invitation {
	inv.TokenHash = slices.Clone(inv.TokenHash)
	inv.Access = slices.Clone(inv.Access)
	return inv
}

func cloneAudit(e directory.AuditEntry) directory.AuditEntry {
	e.Before = slices.Clone(e.Before)
	e.After = slices.Clone(e.After)
	e.Recovery = slices.Clone(e.Recovery)
	e.PrevHash = slices.Clone(e.PrevHash)
	e.Hash = slices.Clone(e.Hash)
	return e
}

// validOutcome refuses an outcome the directory does not know, which
// recovery could never settle.
func validOutcome(o directory.AuditOutcome) error {
	switch o {
	case directory.AuditIntent, directory.AuditApplied, directory.AuditAbandoned:
		return nil
	default:
		return fmt.Errorf("unknown audit outcome %q", o)
	}
}
