package postgres

import (
	"context"
	"fmt"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

func (s *Store) GetFreshness(ctx context.Context, scope string) (string, error) {
	var token string
	err := s.pool.QueryRow(ctx, `SELECT zed_token FROM hostaccess.freshness WHERE scope = $1`, scope).Scan(&token)
	if err != nil {
		return "", storeError(fmt.Sprintf("freshness token of %q", scope), err)
	}
	return token, nil
}

// SetFreshness is one statement either way: an insert that loses to a
// concurrent one reports a conflict, as does an update of a changed token.
func (s *Store) SetFreshness(ctx context.Context, scope, old, next string) error {
	what := fmt.Sprintf("freshness token of %q", scope)
	if next == "" {
		return fmt.Errorf("%s: empty token", what)
	}
	if old == "" {
		_, err := s.pool.Exec(ctx,
			`INSERT INTO hostaccess.freshness (scope, zed_token) VALUES ($1, $2)`, scope, next)
		if err != nil {
			return storeError(what, err)
		}
		return nil
	}
	tag, err := s.pool.Exec(ctx,
		`UPDATE hostaccess.freshness SET zed_token = $3, updated_at = now() WHERE scope = $1 AND zed_token = $2`,
		scope, old, next)
	if err != nil {
		return storeError(what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s changed: %w", what, directory.ErrConflict)
	}
	return nil
}
