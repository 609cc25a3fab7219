package memory

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

func (s *Store) AddExpiry(_ context.Context, scope string, at time.Time) error {
	if at.IsZero() {
		return errors.New("expiry: no time")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.expiries == nil {
		s.expiries = map[directory.Expiry]bool{}
	}
	s.expiries[directory.Expiry{Scope: scope, At: at.UTC()}] = true
	return nil
}

func (s *Store) PendingExpiries(_ context.Context, now time.Time) ([]directory.Expiry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	maps.DeleteFunc(s.expiries, func(e directory.Expiry, _ bool) bool { return !e.At.After(now) })
	out := slices.Collect(maps.Keys(s.expiries))
	slices.SortFunc(out, func(a, b directory.Expiry) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Scope, b.Scope))
	})
	return out, nil
}
