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

const invitationColumns = `id, account_id, email, token_hash, access, invited_by, created_at, expires_at,
	status, status_at, status_by, superseded_by`

// tokenHashConstraint is the unique constraint on invitations.token_hash,
// named in the migrations.
const tokenHashConstraint = "invitations_token_hash_key"

func scanInvitation(row pgx.Row) (directory.Invitation, error) {
	var (
		inv      directory.Invitation
		access   []byte
		status   string
		statusAt *time.Time // NULL until the status first changes
	)
	err := row.Scan(&inv.ID, &inv.AccountID, &inv.Email, &inv.TokenHash, &access, &inv.InvitedBy,
		&inv.CreatedAt, &inv.ExpiresAt, &status, &statusAt, &inv.StatusBy, &inv.SupersededBy)
	inv.Access = access
	inv.Status = directory.InvitationStatus(status)
	inv.CreatedAt, inv.ExpiresAt = utc(inv.CreatedAt), utc(inv.ExpiresAt)
	if statusAt != nil {
		inv.StatusAt = utc(*statusAt)
	}
	return inv, err
}

func collectInvitations(rows pgx.Rows) ([]directory.Invitation, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (directory.Invitation, error) {
		return scanInvitation(row)
	})
}

// timeArg passes a time to a nullable timestamptz, the zero time as NULL.
func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func (s *Store) CreateInvitation(ctx context.Context, inv directory.Invitation) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO hostaccess.invitations (`+invitationColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		inv.ID, inv.AccountID, inv.Email, inv.TokenHash, jsonArg(inv.Access), inv.InvitedBy,
		inv.CreatedAt, inv.ExpiresAt, string(inv.Status), timeArg(inv.StatusAt), inv.StatusBy, inv.SupersededBy)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == codeUniqueViolation && pgErr.ConstraintName == tokenHashConstraint {
			return fmt.Errorf("invitation %q: token hash in use: %w", inv.ID, directory.ErrConflict)
		}
		return storeError(fmt.Sprintf("invitation %q", inv.ID), err)
	}
	return nil
}

func (s *Store) GetInvitation(ctx context.Context, id string) (directory.Invitation, error) {
	inv, err := scanInvitation(s.pool.QueryRow(ctx,
		`SELECT `+invitationColumns+` FROM hostaccess.invitations WHERE id = $1`, id))
	if err != nil {
		return directory.Invitation{}, storeError(fmt.Sprintf("invitation %q", id), err)
	}
	return inv, nil
}

func (s *Store) GetInvitationByTokenHash(ctx context.Context, hash []byte) (directory.Invitation, error) {
	inv, err := scanInvitation(s.pool.QueryRow(ctx,
		`SELECT `+invitationColumns+` FROM hostaccess.invitations WHERE token_hash = $1`, hash))
	if err != nil {
		// The hash is a secret's digest: keep it out of error messages.
		return directory.Invitation{}, storeError("invitation by token hash", err)
	}
	return inv, nil
}

// ListInvitations orders by creation time, then id in byte order (declared
// COLLATE "C" on PostgreSQL).
func (s *Store) ListInvitations(ctx context.Context, accountID string, statuses ...directory.InvitationStatus) ([]directory.Invitation, error) {
	var (
		rows pgx.Rows
		err  error
	)
	if len(statuses) == 0 {
		rows, err = s.pool.Query(ctx,
			`SELECT `+invitationColumns+` FROM hostaccess.invitations
			WHERE account_id = $1 ORDER BY created_at, id`, accountID)
	} else {
		names := make([]string, len(statuses))
		for i, st := range statuses {
			names[i] = string(st)
		}
		rows, err = s.pool.Query(ctx,
			`SELECT `+invitationColumns+` FROM hostaccess.invitations
			WHERE account_id = $1 AND status = ANY($2) ORDER BY created_at, id`, accountID, names)
	}
	if err != nil {
		return nil, fmt.Errorf("list invitations of %q: %w", accountID, err)
	}
	invs, err := collectInvitations(rows)
	if err != nil {
		return nil, fmt.Errorf("list invitations of %q: %w", accountID, err)
	}
	return invs, nil
}

// SetInvitationStatus is a compare-and-set in one UPDATE: the row moves only
// if it is still in status from, so of concurrent callers exactly one wins
// (on PostgreSQL the losers wait for the winner's row lock, then re-check
// the WHERE clause against the new row and match nothing). Only when nothing
// matched does a second query tell a missing invitation from one in another
// status; invitations are never deleted, so that answer cannot go stale.
func (s *Store) SetInvitationStatus(ctx context.Context, id string, from, to directory.InvitationStatus, by string, at time.Time, supersededBy string) error {
	tag, err := s.pool.Exec(ctx,
		`UPDATE hostaccess.invitations
		SET status = $3, status_at = $4, status_by = $5, superseded_by = COALESCE(NULLIF($6::text, ''), superseded_by)
		WHERE id = $1 AND status = $2`,
		id, string(from), string(to), timeArg(at), by, supersededBy)
	if err != nil {
		return fmt.Errorf("invitation %q: set status %s: %w", id, to, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var current string
	err = s.pool.QueryRow(ctx, `SELECT status FROM hostaccess.invitations WHERE id = $1`, id).Scan(&current)
	if err != nil {
		return storeError(fmt.Sprintf("invitation %q", id), err)
	}
	return fmt.Errorf("invitation %q is %s, not %s: %w", id, current, from, directory.ErrConflict)
}
