package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

// tokenStore holds personal access tokens, by id and by secret hash. It is
// guarded by the Store's mutex.
type tokenStore struct {
	byID   map[string]directory.Token
	byHash map[string]string // string(SecretHash) -> token id
}

func newTokenStore() tokenStore {
	return tokenStore{byID: map[string]directory.Token{}, byHash: map[string]string{}}
}

// add checks and stores one token (CreateToken and ImportAll).
func (ts tokenStore) add(t directory.Token) error {
	if _, ok := ts.byID[t.ID]; ok {
		return fmt.Errorf("token %q: %w", t.ID, directory.ErrConflict)
	}
	if _, ok := ts.byHash[string(t.SecretHash)]; ok {
		return fmt.Errorf("token %q: secret hash in use: %w", t.ID, directory.ErrConflict)
	}
	ts.byID[t.ID] = cloneToken(t)
	ts.byHash[string(t.SecretHash)] = t.ID
	return nil
}

func (ts tokenStore) sorted() []directory.Token {
	out := make([]directory.Token, 0, len(ts.byID))
	for _, t := range ts.byID {
		out = append(out, cloneToken(t))
	}
	sortTokens(out)
	return out
}

func sortTokens(ts []directory.Token) {
	slices.SortFunc(ts, func(a, b directory.Token) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
}

func (s *Store) CreateToken(_ context.Context, t directory.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens.add(t)
}

func (s *Store) GetToken(_ context.Context, id string) (directory.Token, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.tokens.byID[id]
	if !ok {
		return directory.Token{}, fmt.Errorf("token %q: %w", id, directory.ErrNotFound)
	}
	return cloneToken(t), nil
}

func (s *Store) GetTokenBySecretHash(_ context.Context, hash []byte) (directory.Token, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.tokens.byHash[string(hash)]
	if !ok {
		// The hash is a secret's digest: keep it out of error messages.
		return directory.Token{}, fmt.Errorf("token by secret hash: %w", directory.ErrNotFound)
	}
	return cloneToken(s.tokens.byID[id]), nil
}

func (s *Store) ListTokens(_ context.Context, accountID string) ([]directory.Token, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []directory.Token
	for _, t := range s.tokens.byID {
		if t.AccountID == accountID {
			out = append(out, cloneToken(t))
		}
	}
	sortTokens(out)
	return out, nil
}

func (s *Store) SetTokenStatus(_ context.Context, id string, from, to directory.TokenStatus, by string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens.byID[id]
	if !ok {
		return fmt.Errorf("token %q: %w", id, directory.ErrNotFound)
	}
	if t.Status != from {
		return fmt.Errorf("token %q is %s, not %s: %w", id, t.Status, from, directory.ErrConflict)
	}
	t.Status, t.StatusAt, t.StatusBy = to, at, by
	s.tokens.byID[id] = t
	return nil
}

func cloneToken(t directory.Token) directory.Token {
	t.SecretHash = slices.Clone(t.SecretHash)
	t.Access = slices.Clone(t.Access)
	t.AllowedCIDRs = slices.Clone(t.AllowedCIDRs)
	return t
}
