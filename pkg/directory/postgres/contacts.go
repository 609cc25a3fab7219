package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

const contactColumns = `id, account_id, name, email, phone, created_at, updated_at`

func scanContact(row pgx.Row) (directory.Contact, error) {
	var c directory.Contact
	err := row.Scan(&c.ID, &c.AccountID, &c.Name, &c.Email, &c.Phone, &c.CreatedAt, &c.UpdatedAt)
	c.CreatedAt, c.UpdatedAt = utc(c.CreatedAt), utc(c.UpdatedAt)
	return c, err
}

func collectContacts(rows pgx.Rows) ([]directory.Contact, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (directory.Contact, error) {
		return scanContact(row)
	})
}

func (s *Store) PutContact(ctx context.Context, c directory.Contact) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO hostaccess.contacts (`+contactColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE
		SET account_id = excluded.account_id, name = excluded.name, email = excluded.email,
			phone = excluded.phone, created_at = excluded.created_at, updated_at = excluded.updated_at`,
		c.ID, c.AccountID, c.Name, c.Email, c.Phone, c.CreatedAt, c.UpdatedAt)
	if err != nil {
		return storeError(fmt.Sprintf("contact %q", c.ID), err)
	}
	return nil
}

func (s *Store) GetContact(ctx context.Context, id string) (directory.Contact, error) {
	c, err := scanContact(s.pool.QueryRow(ctx,
		`SELECT `+contactColumns+` FROM hostaccess.contacts WHERE id = $1`, id))
	if err != nil {
		return directory.Contact{}, storeError(fmt.Sprintf("contact %q", id), err)
	}
	return c, nil
}

func (s *Store) GetContacts(ctx context.Context, ids []string) (map[string]directory.Contact, error) {
	out := make(map[string]directory.Contact, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx,
		`SELECT `+contactColumns+` FROM hostaccess.contacts WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("get contacts: %w", err)
	}
	contacts, err := collectContacts(rows)
	if err != nil {
		return nil, fmt.Errorf("get contacts: %w", err)
	}
	for _, c := range contacts {
		out[c.ID] = c
	}
	return out, nil
}

// ListContacts orders by name, then id, in byte order like the memory store:
// on PostgreSQL both columns are declared COLLATE "C" (a database's default
// collation may well be en_US), on CockroachDB strings compare by bytes.
func (s *Store) ListContacts(ctx context.Context, accountID string) ([]directory.Contact, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+contactColumns+` FROM hostaccess.contacts WHERE account_id = $1 ORDER BY name, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list contacts of %q: %w", accountID, err)
	}
	contacts, err := collectContacts(rows)
	if err != nil {
		return nil, fmt.Errorf("list contacts of %q: %w", accountID, err)
	}
	return contacts, nil
}

func (s *Store) DeleteContact(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM hostaccess.contacts WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	if err != nil {
		return storeError(fmt.Sprintf("contact %q", id), err)
	}
	return nil
}
