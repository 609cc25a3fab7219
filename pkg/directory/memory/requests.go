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

func (s *Store) CreateAccessRequest(_ context.Context, r directory.AccessRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.requests[r.ID]; ok {
		return fmt.Errorf("access request %q: %w", r.ID, directory.ErrConflict)
	}
	s.requests[r.ID] = cloneRequest(r)
	return nil
}

func (s *Store) GetAccessRequest(_ context.Context, id string) (directory.AccessRequest, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.requests[id]
	if !ok {
		return directory.AccessRequest{}, fmt.Errorf("access request %q: %w", id, directory.ErrNotFound)
	}
	return cloneRequest(r), nil
}

func (s *Store) ListAccessRequests(_ context.Context, accountID string, f directory.AccessRequestFilter) ([]directory.AccessRequest, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []directory.AccessRequest
	for _, r := range s.requests {
		if r.AccountID != accountID || (f.UserID != "" && r.UserID != f.UserID) ||
			(len(f.Statuses) > 0 && !slices.Contains(f.Statuses, r.Status)) {
			continue
		}
		out = append(out, cloneRequest(r))
	}
	sortRequests(out)
	return out, nil
}

func (s *Store) SetAccessRequestStatus(_ context.Context, id string, from, to directory.AccessRequestStatus, by string, at time.Time, note string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.requests[id]
	if !ok {
		return fmt.Errorf("access request %q: %w", id, directory.ErrNotFound)
	}
	if r.Status != from {
		return fmt.Errorf("access request %q is %s, not %s: %w", id, r.Status, from, directory.ErrConflict)
	}
	r.Status, r.DecidedBy, r.DecidedAt, r.Note = to, by, at, note
	s.requests[id] = r // r's Requested is the stored value's, unreachable by callers
	return nil
}

func sortRequests(rs []directory.AccessRequest) {
	slices.SortFunc(rs, func(a, b directory.AccessRequest) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
}

func cloneRequest(r directory.AccessRequest) directory.AccessRequest {
	r.Requested = slices.Clone(r.Requested)
	return r
}
