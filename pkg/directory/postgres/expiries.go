package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

func (s *Store) AddExpiry(ctx context.Context, scope string, at time.Time) error {
	if at.IsZero() {
		return errors.New("expiry: no time")
	}
	_, err := s.pool.Exec(ctx,
		`INSERT INTO hostaccess.freshness_expiries (scope, lapses_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		scope, at.UTC())
	if err != nil {
		return storeError("expiry of "+scope, err)
	}
	return nil
}

// PendingExpiries forgets the lapsed ones first: the table holds only what
// a node starting now needs.
func (s *Store) PendingExpiries(ctx context.Context, now time.Time) ([]directory.Expiry, error) {
	if _, err := s.pool.Exec(ctx, `DELETE FROM hostaccess.freshness_expiries WHERE lapses_at <= $1`, now.UTC()); err != nil {
		return nil, storeError("lapsed expiries", err)
	}
	rows, err := s.pool.Query(ctx,
		`SELECT scope, lapses_at FROM hostaccess.freshness_expiries WHERE lapses_at > $1 ORDER BY lapses_at, scope`, now.UTC())
	if err != nil {
		return nil, storeError("pending expiries", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (directory.Expiry, error) {
		var e directory.Expiry
		err := row.Scan(&e.Scope, &e.At)
		e.At = e.At.UTC()
		return e, err
	})
	if err != nil {
		return nil, storeError("pending expiries", err)
	}
	return out, nil
}
