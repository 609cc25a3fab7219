package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

// defaultAuditLimit is what ListAudit and ListAuditIntents return at most
// when no limit is given.
const defaultAuditLimit = 100

const auditColumns = `seq, occurred_at, actor, flow, account_id, target, before_state, after_state, zed_token,
	outcome, operation, recovery`

func scanAudit(row pgx.Row) (directory.AuditEntry, error) {
	var (
		e                       directory.AuditEntry
		before, after, recovery []byte
		outcome                 string
	)
	err := row.Scan(&e.Seq, &e.Time, &e.Actor, &e.Flow, &e.AccountID, &e.Target, &before, &after, &e.ZedToken,
		&outcome, &e.Operation, &recovery)
	e.Time = utc(e.Time)
	e.Before, e.After, e.Recovery = before, after, recovery
	e.Outcome = directory.AuditOutcome(outcome)
	return e, err
}

func collectAudit(rows pgx.Rows) ([]directory.AuditEntry, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (directory.AuditEntry, error) {
		return scanAudit(row)
	})
}

// validOutcome refuses an outcome the directory does not know, which
// recovery could never settle.
func validOutcome(o directory.AuditOutcome) error {
	switch o {
	case directory.AuditIntent, directory.AuditApplied, directory.AuditAbandoned:
		return nil
	default:
		return fmt.Errorf("unknown audit outcome %q", o)
	}
}

// appendOutcome is the outcome an entry is stored with: applied when none
// is given.
func appendOutcome(o directory.AuditOutcome) (directory.AuditOutcome, error) {
	if o == "" {
		return directory.AuditApplied, nil
	}
	return o, validOutcome(o)
}

// AppendAudit stores e; the database assigns Seq (an identity column on
// PostgreSQL, a sequence on CockroachDB). It returns the entry as stored.
func (s *Store) AppendAudit(ctx context.Context, e directory.AuditEntry) (directory.AuditEntry, error) {
	outcome, err := appendOutcome(e.Outcome)
	if err != nil {
		return directory.AuditEntry{}, fmt.Errorf("append audit entry for %q: %w", e.AccountID, err)
	}
	out, err := scanAudit(s.pool.QueryRow(ctx,
		`INSERT INTO hostaccess.audit (occurred_at, actor, flow, account_id, target, before_state, after_state, zed_token,
			outcome, operation, recovery)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		RETURNING `+auditColumns,
		e.Time, e.Actor, e.Flow, e.AccountID, e.Target, jsonArg(e.Before), jsonArg(e.After), e.ZedToken,
		string(outcome), e.Operation, jsonArg(e.Recovery)))
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
	entries, err := collectAudit(rows)
	if err != nil {
		return nil, fmt.Errorf("list audit of %q: %w", f.AccountID, err)
	}
	return entries, nil
}

// SettleAudit is a compare-and-set in one UPDATE, like SetInvitationStatus:
// of concurrent callers exactly one finds the entry still in outcome from.
// Only when nothing matched does a second query tell a missing entry from
// one in another outcome; entries are never deleted, so that answer cannot go
// stale. An empty zedToken keeps the one stored.
func (s *Store) SettleAudit(ctx context.Context, seq int64, from, to directory.AuditOutcome, zedToken string) error {
	if err := validOutcome(to); err != nil {
		return fmt.Errorf("audit entry %d: settle: %w", seq, err)
	}
	tag, err := s.pool.Exec(ctx,
		`UPDATE hostaccess.audit
		SET outcome = $3, zed_token = COALESCE(NULLIF($4::text, ''), zed_token)
		WHERE seq = $1 AND outcome = $2`,
		seq, string(from), string(to), zedToken)
	if err != nil {
		return fmt.Errorf("audit entry %d: settle %s: %w", seq, to, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var current string
	err = s.pool.QueryRow(ctx, `SELECT outcome FROM hostaccess.audit WHERE seq = $1`, seq).Scan(&current)
	if err != nil {
		return storeError(fmt.Sprintf("audit entry %d", seq), err)
	}
	return fmt.Errorf("audit entry %d is %s, not %s: %w", seq, current, from, directory.ErrConflict)
}

// ListAuditIntents scans the partial index of intents (audit_intent_idx) in
// seq order.
func (s *Store) ListAuditIntents(ctx context.Context, before time.Time, limit int) ([]directory.AuditEntry, error) {
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	rows, err := s.pool.Query(ctx,
		`SELECT `+auditColumns+` FROM hostaccess.audit
		WHERE outcome = 'intent' AND occurred_at < $1 ORDER BY seq LIMIT $2`,
		before, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit intents: %w", err)
	}
	entries, err := collectAudit(rows)
	if err != nil {
		return nil, fmt.Errorf("list audit intents: %w", err)
	}
	return entries, nil
}
