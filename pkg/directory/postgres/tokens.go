package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

const tokenColumns = `id, account_id, user_id, name, secret_hash, access, allowed_cidrs,
	created_at, expires_at, status, status_at, status_by`

// secretHashConstraint is the unique constraint on tokens.secret_hash,
// named in the migration.
const secretHashConstraint = "tokens_secret_hash_key"

func scanToken(row pgx.Row) (directory.Token, error) {
	var (
		t        directory.Token
		access   []byte
		status   string
		statusAt *time.Time
	)
	err := row.Scan(&t.ID, &t.AccountID, &t.UserID, &t.Name, &t.SecretHash, &access, &t.AllowedCIDRs,
		&t.CreatedAt, &t.ExpiresAt, &status, &statusAt, &t.StatusBy)
	t.Access = access
	t.Status = directory.TokenStatus(status)
	t.CreatedAt, t.ExpiresAt = utc(t.CreatedAt), utc(t.ExpiresAt)
	if statusAt != nil {
		t.StatusAt = utc(*statusAt)
	}
	if len(t.AllowedCIDRs) == 0 {
		t.AllowedCIDRs = nil // as stored by the memory store
	}
	return t, err
}

// tokenArgs are a token's columns, in tokenColumns order.
func tokenArgs(t directory.Token) []any {
	cidrs := t.AllowedCIDRs
	if cidrs == nil {
		cidrs = []string{}
	}
	return []any{t.ID, t.AccountID, t.UserID, t.Name, t.SecretHash, jsonArg(t.Access), cidrs,
		t.CreatedAt, t.ExpiresAt, string(t.Status), timeArg(t.StatusAt), t.StatusBy}
}

const insertToken = `INSERT INTO hostaccess.tokens (` + tokenColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

func (s *Store) CreateToken(ctx context.Context, t directory.Token) error {
	if _, err := s.pool.Exec(ctx, insertToken, tokenArgs(t)...); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == codeUniqueViolation && pgErr.ConstraintName == secretHashConstraint {
			return fmt.Errorf("token %q: secret hash in use: %w", t.ID, directory.ErrConflict)
		}
		return storeError(fmt.Sprintf("token %q", t.ID), err)
	}
	return nil
}

func (s *Store) GetToken(ctx context.Context, id string) (directory.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM hostaccess.tokens WHERE id = $1`, id))
	if err != nil {
		return directory.Token{}, storeError(fmt.Sprintf("token %q", id), err)
	}
	return t, nil
}

func (s *Store) GetTokenBySecretHash(ctx context.Context, hash []byte) (directory.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM hostaccess.tokens WHERE secret_hash = $1`, hash))
	if err != nil {
		// The hash is a secret's digest: keep it out of error messages.
		return directory.Token{}, storeError("token by secret hash", err)
	}
	return t, nil
}

func (s *Store) ListTokens(ctx context.Context, accountID string) ([]directory.Token, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+tokenColumns+` FROM hostaccess.tokens WHERE account_id = $1 ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list tokens of %q: %w", accountID, err)
	}
	ts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (directory.Token, error) { return scanToken(row) })
	if err != nil {
		return nil, fmt.Errorf("list tokens of %q: %w", accountID, err)
	}
	return ts, nil
}

// SetTokenStatus is a compare-and-set in one UPDATE, as SetInvitationStatus.
func (s *Store) SetTokenStatus(ctx context.Context, id string, from, to directory.TokenStatus, by string, at time.Time) error {
	tag, err := s.pool.Exec(ctx,
		`UPDATE hostaccess.tokens SET status = $3, status_at = $4, status_by = $5 WHERE id = $1 AND status = $2`,
		id, string(from), string(to), timeArg(at), by)
	if err != nil {
		return fmt.Errorf("token %q: set status %s: %w", id, to, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var current string
	if err := s.pool.QueryRow(ctx, `SELECT status FROM hostaccess.tokens WHERE id = $1`, id).Scan(&current); err != nil {
		return storeError(fmt.Sprintf("token %q", id), err)
	}
	return fmt.Errorf("token %q is %s, not %s: %w", id, current, from, directory.ErrConflict)
}
