package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

const requestColumns = `id, account_id, user_id, requested, reason, status, created_at, expires_at,
	decided_by, decided_at, note`

func scanRequest(row pgx.Row) (directory.AccessRequest, error) {
	var (
		r         directory.AccessRequest
		requested []byte
		status    string
		decidedAt *time.Time // NULL while pending
	)
	err := row.Scan(&r.ID, &r.AccountID, &r.UserID, &requested, &r.Reason, &status, &r.CreatedAt, &r.ExpiresAt,
		&r.DecidedBy, &decidedAt, &r.Note)
	r.Requested = requested
	r.Status = directory.AccessRequestStatus(status)
	r.CreatedAt, r.ExpiresAt = utc(r.CreatedAt), utc(r.ExpiresAt)
	if decidedAt != nil {
		r.DecidedAt = utc(*decidedAt)
	}
	return r, err
}

// requestArgs are a request's values in requestColumns order.
func requestArgs(r directory.AccessRequest) []any {
	return []any{r.ID, r.AccountID, r.UserID, jsonArg(r.Requested), r.Reason, string(r.Status), r.CreatedAt, r.ExpiresAt,
		r.DecidedBy, timeArg(r.DecidedAt), r.Note}
}

const insertRequest = `INSERT INTO hostaccess.access_requests (` + requestColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

func (s *Store) CreateAccessRequest(ctx context.Context, r directory.AccessRequest) error {
	if _, err := s.pool.Exec(ctx, insertRequest, requestArgs(r)...); err != nil {
		return storeError(fmt.Sprintf("access request %q", r.ID), err)
	}
	return nil
}

func (s *Store) GetAccessRequest(ctx context.Context, id string) (directory.AccessRequest, error) {
	r, err := scanRequest(s.pool.QueryRow(ctx,
		`SELECT `+requestColumns+` FROM hostaccess.access_requests WHERE id = $1`, id))
	if err != nil {
		return directory.AccessRequest{}, storeError(fmt.Sprintf("access request %q", id), err)
	}
	return r, nil
}

// ListAccessRequests orders by creation time, then id in byte order
// (declared COLLATE "C" on PostgreSQL). An empty user or status list
// matches every row.
func (s *Store) ListAccessRequests(ctx context.Context, accountID string, f directory.AccessRequestFilter) ([]directory.AccessRequest, error) {
	statuses := make([]string, len(f.Statuses))
	for i, st := range f.Statuses {
		statuses[i] = string(st)
	}
	rows, err := s.pool.Query(ctx,
		`SELECT `+requestColumns+` FROM hostaccess.access_requests
		WHERE account_id = $1 AND ($2 = '' OR user_id = $2) AND (cardinality($3::text[]) = 0 OR status = ANY($3))
		ORDER BY created_at, id`, accountID, f.UserID, statuses)
	if err != nil {
		return nil, fmt.Errorf("list access requests of %q: %w", accountID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (directory.AccessRequest, error) { return scanRequest(row) })
	if err != nil {
		return nil, fmt.Errorf("list access requests of %q: %w", accountID, err)
	}
	return out, nil
}

// SetAccessRequestStatus is a compare-and-set in one UPDATE, as
// SetInvitationStatus is: of concurrent callers exactly one matches the
// row in status from. Requests are never deleted, so telling a missing one
// from one in another status afterwards cannot go stale.
func (s *Store) SetAccessRequestStatus(ctx context.Context, id string, from, to directory.AccessRequestStatus, by string, at time.Time, note string) error {
	tag, err := s.pool.Exec(ctx,
		`UPDATE hostaccess.access_requests SET status = $3, decided_by = $4, decided_at = $5, note = $6
		WHERE id = $1 AND status = $2`,
		id, string(from), string(to), by, timeArg(at), note)
	if err != nil {
		return fmt.Errorf("access request %q: set status %s: %w", id, to, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var current string
	err = s.pool.QueryRow(ctx, `SELECT status FROM hostaccess.access_requests WHERE id = $1`, id).Scan(&current)
	if err != nil {
		return storeError(fmt.Sprintf("access request %q", id), err)
	}
	return fmt.Errorf("access request %q is %s, not %s: %w", id, current, from, directory.ErrConflict)
}
