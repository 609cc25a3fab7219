// Package memory is an in-memory directory.Store, for tests and for running
// hostaccess without a database. Everything is lost when the process exits.
package memory

import (
	"cmp"
	"context"
	"errors"
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
	audit       []directory.AuditEntry // in Seq order
}

// New returns an empty store.
func New() *Store {
	return &Store{
		accounts:    map[string]directory.Account{},
		people:      map[string]directory.Person{},
		invitations: map[string]directory.Invitation{},
		invByHash:   map[string]string{},
		contacts:    map[string]directory.Contact{},
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
	s.mu.Lock()
	defer s.mu.Unlock()
	e = cloneAudit(e)
	e.Seq = int64(len(s.audit)) + 1
	s.audit = append(s.audit, e)
	return cloneAudit(e), nil
}

func (s *Store) ListAudit(_ context.Context, f directory.AuditFilter) ([]directory.AuditEntry, error) {
	if f.AccountID == "" {
		return nil, errors.New("list audit: account id required")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []directory.AuditEntry
	for i := len(s.audit) - 1; i >= 0 && len(out) < limit; i-- {
		e := s.audit[i]
		if e.AccountID != f.AccountID || (f.BeforeSeq > 0 && e.Seq >= f.BeforeSeq) {
			continue
		}
		out = append(out, cloneAudit(e))
	}
	return out, nil
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
	return e
}
