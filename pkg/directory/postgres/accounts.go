package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

const accountColumns = `id, name, host_id, admin_cap, created_at`

func scanAccount(row pgx.Row) (directory.Account, error) {
	var a directory.Account
	err := row.Scan(&a.ID, &a.Name, &a.HostID, &a.AdminCap, &a.CreatedAt)
	a.CreatedAt = utc(a.CreatedAt)
	return a, err
}

func (s *Store) CreateAccount(ctx context.Context, a directory.Account) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO hostaccess.accounts (`+accountColumns+`) VALUES ($1, $2, $3, $4, $5)`,
		a.ID, a.Name, a.HostID, a.AdminCap, a.CreatedAt)
	if err != nil {
		return storeError(fmt.Sprintf("account %q", a.ID), err)
	}
	return nil
}

func (s *Store) UpdateAccount(ctx context.Context, a directory.Account) error {
	tag, err := s.pool.Exec(ctx,
		`UPDATE hostaccess.accounts SET name = $2, host_id = $3, admin_cap = $4, created_at = $5 WHERE id = $1`,
		a.ID, a.Name, a.HostID, a.AdminCap, a.CreatedAt)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	if err != nil {
		return storeError(fmt.Sprintf("account %q", a.ID), err)
	}
	return nil
}

func (s *Store) GetAccount(ctx context.Context, id string) (directory.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx,
		`SELECT `+accountColumns+` FROM hostaccess.accounts WHERE id = $1`, id))
	if err != nil {
		return directory.Account{}, storeError(fmt.Sprintf("account %q", id), err)
	}
	return a, nil
}

func (s *Store) GetAccounts(ctx context.Context, ids []string) (map[string]directory.Account, error) {
	out := make(map[string]directory.Account, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx,
		`SELECT `+accountColumns+` FROM hostaccess.accounts WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("get accounts: %w", err)
	}
	accounts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (directory.Account, error) {
		return scanAccount(row)
	})
	if err != nil {
		return nil, fmt.Errorf("get accounts: %w", err)
	}
	for _, a := range accounts {
		out[a.ID] = a
	}
	return out, nil
}

func (s *Store) DeleteAccount(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM hostaccess.accounts WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	if err != nil {
		return storeError(fmt.Sprintf("account %q", id), err)
	}
	return nil
}
