package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

const personColumns = `user_id, email, display_name, updated_at`

func scanPerson(row pgx.Row) (directory.Person, error) {
	var p directory.Person
	err := row.Scan(&p.UserID, &p.Email, &p.DisplayName, &p.UpdatedAt)
	p.UpdatedAt = utc(p.UpdatedAt)
	return p, err
}

func (s *Store) PutPerson(ctx context.Context, p directory.Person) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO hostaccess.people (`+personColumns+`) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id) DO UPDATE
		SET email = excluded.email, display_name = excluded.display_name, updated_at = excluded.updated_at`,
		p.UserID, p.Email, p.DisplayName, p.UpdatedAt)
	if err != nil {
		return storeError(fmt.Sprintf("person %q", p.UserID), err)
	}
	return nil
}

func (s *Store) GetPerson(ctx context.Context, userID string) (directory.Person, error) {
	p, err := scanPerson(s.pool.QueryRow(ctx,
		`SELECT `+personColumns+` FROM hostaccess.people WHERE user_id = $1`, userID))
	if err != nil {
		return directory.Person{}, storeError(fmt.Sprintf("person %q", userID), err)
	}
	return p, nil
}

func (s *Store) GetPeople(ctx context.Context, userIDs []string) (map[string]directory.Person, error) {
	out := make(map[string]directory.Person, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx,
		`SELECT `+personColumns+` FROM hostaccess.people WHERE user_id = ANY($1)`, userIDs)
	if err != nil {
		return nil, fmt.Errorf("get people: %w", err)
	}
	people, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (directory.Person, error) {
		return scanPerson(row)
	})
	if err != nil {
		return nil, fmt.Errorf("get people: %w", err)
	}
	for _, p := range people {
		out[p.UserID] = p
	}
	return out, nil
}
