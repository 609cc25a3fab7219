package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

// defaultAuditLimit is what ListAudit returns at most when no Limit is given.
const defaultAuditLimit = 100

const auditColumns = `seq, occurred_at, actor, flow, account_id, target, before_state, after_state, zed_token`

func scanAudit(row pgx.Row) (directory.AuditEntry, error) {
	var e directory.AuditEntry
	var before, after []byte
	err := row.Scan(&e.Seq, &e.Time, &e.Actor, &e.Flow, &e.AccountID, &e.Target, &before, &after, &e.ZedToken)
	e.Time = utc(e.Time)
	e.Before, e.After = before, after
	return e, err
}

// AppendAudit stores e; the database assigns Seq (an identity column on
// PostgreSQL, a sequence on CockroachDB). It returns the entry as stored.
func (s *Store) AppendAudit(ctx context.Context, e directory.AuditEntry) (directory.AuditEntry, error) {
	out, err := scanAudit(s.pool.QueryRow(ctx,
		`INSERT INTO hostaccess.audit (occurred_at, actor, flow, account_id, target, before_state, after_state, zed_token)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		RETURNING `+auditColumns,
		e.Time, e.Actor, e.Flow, e.AccountID, e.Target, jsonArg(e.Before), jsonArg(e.After), e.ZedToken))
	if err != nil {
		return directory.AuditEntry{}, fmt.Errorf("append audit entry for %q: %w", e.AccountID, err)
	}
	return out, nil
}

func (s *Store) ListAudit(ctx context.Context, f directory.AuditFilter) ([]directory.AuditEntry, error) {
	if f.AccountID == "" {
		return nil, errors.New("list audit: account id required")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	// Two statements rather than "$2 = 0 OR seq < $2", so each gets a plain
	// range scan of the (account_id, seq) index.
	var (
		rows pgx.Rows
		err  error
	)
	if f.BeforeSeq > 0 {
		rows, err = s.pool.Query(ctx,
			`SELECT `+auditColumns+` FROM hostaccess.audit WHERE account_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
			f.AccountID, f.BeforeSeq, limit)
	} else {
		rows, err = s.pool.Query(ctx,
			`SELECT `+auditColumns+` FROM hostaccess.audit WHERE account_id = $1 ORDER BY seq DESC LIMIT $2`,
			f.AccountID, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list audit of %q: %w", f.AccountID, err)
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (directory.AuditEntry, error) {
		return scanAudit(row)
	})
	if err != nil {
		return nil, fmt.Errorf("list audit of %q: %w", f.AccountID, err)
	}
	return entries, nil
}
