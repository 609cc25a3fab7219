package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

// defaultAuditLimit is what ListAudit and ListAuditIntents return at most
// when no limit is given.
const defaultAuditLimit = 100

const auditColumns = `seq, occurred_at, actor, flow, account_id, target, before_state, after_state, zed_token,
	outcome, operation, recovery, chain_seq, prev_hash, hash`

func scanAudit(row pgx.Row) (directory.AuditEntry, error) {
	var (
		e                       directory.AuditEntry
		before, after, recovery []byte
		outcome                 string
		chain                   *int64
	)
	err := row.Scan(&e.Seq, &e.Time, &e.Actor, &e.Flow, &e.AccountID, &e.Target, &before, &after, &e.ZedToken,
		&outcome, &e.Operation, &recovery, &chain, &e.PrevHash, &e.Hash)
	e.Time = utc(e.Time)
	e.Before, e.After, e.Recovery = before, after, recovery
	e.Outcome = directory.AuditOutcome(outcome)
	if chain != nil {
		e.Chain = *chain
	}
	return e, err
}

// chainArg is a chain position as stored: NULL for an unsealed entry.
func chainArg(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// sealTx seals e (as read back from tx) after the chain's head, which it
// locks first: every seal waits for the one before to commit, so positions
// are given in commit order.
func sealTx(ctx context.Context, tx pgx.Tx, e directory.AuditEntry) (directory.AuditEntry, error) {
	var head directory.ChainLink
	if err := tx.QueryRow(ctx, `SELECT head_seq, head_hash FROM hostaccess.audit_chain WHERE id = 1 FOR UPDATE`).
		Scan(&head.Seq, &head.Hash); err != nil {
		return directory.AuditEntry{}, fmt.Errorf("read the chain's head: %w", err)
	}
	e, err := directory.Seal(head, e)
	if err != nil {
		return directory.AuditEntry{}, err
	}
	if _, err := tx.Exec(ctx, `UPDATE hostaccess.audit SET chain_seq = $2, prev_hash = $3, hash = $4 WHERE seq = $1`,
		e.Seq, e.Chain, e.PrevHash, e.Hash); err != nil {
		return directory.AuditEntry{}, err
	}
	if _, err := tx.Exec(ctx, `UPDATE hostaccess.audit_chain SET head_seq = $1, head_hash = $2 WHERE id = 1`,
		e.Chain, e.Hash); err != nil {
		return directory.AuditEntry{}, err
	}
	return e, nil
}

// sealing is how a seal's transaction runs: READ COMMITTED on PostgreSQL,
// where its row locks are what orders it, so that a seal waiting on the
// head's lock goes on with the newest head instead of failing to serialize.
// CockroachDB runs it SERIALIZABLE, retried as every transaction here.
func (s *Store) sealing() pgx.TxOptions {
	if s.dialect == CockroachDB {
		return serializable
	}
	return pgx.TxOptions{IsoLevel: pgx.ReadCommitted}
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
	insert := func(q interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}) (directory.AuditEntry, error) {
		return scanAudit(q.QueryRow(ctx,
			`INSERT INTO hostaccess.audit (occurred_at, actor, flow, account_id, target, before_state, after_state, zed_token,
				outcome, operation, recovery)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			RETURNING `+auditColumns,
			e.Time, e.Actor, e.Flow, e.AccountID, e.Target, jsonArg(e.Before), jsonArg(e.After), e.ZedToken,
			string(outcome), e.Operation, jsonArg(e.Recovery)))
	}
	var out directory.AuditEntry
	if !outcome.Final() {
		// An intent is not sealed: one statement, no lock on the chain.
		out, err = insert(s.pool)
	} else {
		err = runTxWith(ctx, s.pool, s.dialect, s.sealing(), func(tx pgx.Tx) error {
			row, err := insert(tx)
			if err != nil {
				return err
			}
			out, err = sealTx(ctx, tx, row)
			return err
		})
	}
	if err != nil {
		return directory.AuditEntry{}, fmt.Errorf("append audit entry for %q: %w", e.AccountID, err)
	}
	return out, nil
}

func (s *Store) ListAudit(ctx context.Context, f directory.AuditFilter) ([]directory.AuditEntry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	// Only the conditions asked for, so each query gets a plain range scan
	// of the index that fits it: (account_id, seq), (actor, seq) or
	// (target, seq).
	var (
		where []string
		args  []any
	)
	cond := func(sql string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(sql, len(args)))
	}
	if f.AccountID != "" {
		cond("account_id = $%d", f.AccountID)
	}
	if f.Actor != "" {
		cond("actor = $%d", f.Actor)
	}
	if f.Flow != "" {
		cond("flow = $%d", f.Flow)
	}
	if f.Target != "" {
		cond("target = $%d", f.Target)
	}
	if !f.Since.IsZero() {
		cond("occurred_at >= $%d", f.Since)
	}
	if !f.Until.IsZero() {
		cond("occurred_at < $%d", f.Until)
	}
	if f.BeforeSeq > 0 {
		cond("seq < $%d", f.BeforeSeq)
	}
	sql := `SELECT ` + auditColumns + ` FROM hostaccess.audit`
	if len(where) > 0 {
		sql += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	sql += fmt.Sprintf(` ORDER BY seq DESC LIMIT $%d`, len(args))
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	entries, err := collectAudit(rows)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return entries, nil
}

func (s *Store) ListChain(ctx context.Context, f directory.ChainFilter) ([]directory.AuditEntry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	var (
		rows pgx.Rows
		err  error
	)
	if f.AccountID != "" {
		rows, err = s.pool.Query(ctx, `SELECT `+auditColumns+` FROM hostaccess.audit
			WHERE account_id = $1 AND chain_seq > $2 ORDER BY chain_seq LIMIT $3`, f.AccountID, f.After, limit)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT `+auditColumns+` FROM hostaccess.audit
			WHERE chain_seq > $1 ORDER BY chain_seq LIMIT $2`, f.After, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list the audit chain: %w", err)
	}
	entries, err := collectAudit(rows)
	if err != nil {
		return nil, fmt.Errorf("list the audit chain: %w", err)
	}
	return entries, nil
}

func (s *Store) Chain(ctx context.Context) (directory.ChainState, error) {
	var c directory.ChainState
	err := s.pool.QueryRow(ctx, `SELECT anchor_seq, anchor_hash, head_seq, head_hash FROM hostaccess.audit_chain WHERE id = 1`).
		Scan(&c.Anchor.Seq, &c.Anchor.Hash, &c.Head.Seq, &c.Head.Hash)
	if err != nil {
		return directory.ChainState{}, fmt.Errorf("read the audit chain: %w", err)
	}
	return c, nil
}

// PruneAudit holds the chain's head lock, so no entry is sealed while the
// cut is chosen: everything up to the position before the first entry that
// is not older than before.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int, error) {
	var removed int
	err := runTxWith(ctx, s.pool, s.dialect, s.sealing(), func(tx pgx.Tx) error {
		removed = 0
		var head int64
		if err := tx.QueryRow(ctx, `SELECT head_seq FROM hostaccess.audit_chain WHERE id = 1 FOR UPDATE`).Scan(&head); err != nil {
			return err
		}
		var keep *int64
		if err := tx.QueryRow(ctx, `SELECT min(chain_seq) FROM hostaccess.audit
			WHERE chain_seq IS NOT NULL AND occurred_at >= $1`, before).Scan(&keep); err != nil {
			return err
		}
		cut := head
		if keep != nil {
			cut = *keep - 1
		}
		var anchor []byte
		err := tx.QueryRow(ctx, `SELECT hash FROM hostaccess.audit WHERE chain_seq = $1`, cut).Scan(&anchor)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // already cut there, or nothing sealed yet
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM hostaccess.audit WHERE chain_seq <= $1`, cut)
		if err != nil {
			return err
		}
		removed = int(tag.RowsAffected())
		_, err = tx.Exec(ctx, `UPDATE hostaccess.audit_chain SET anchor_seq = $1, anchor_hash = $2 WHERE id = 1`, cut, anchor)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune the audit log: %w", err)
	}
	return removed, nil
}

// SettleAudit locks the entry, checks its outcome (compare-and-set: of
// concurrent callers exactly one finds it still in outcome from) and, when
// the new outcome is final, seals it in the same transaction. An empty
// zedToken keeps the one stored.
func (s *Store) SettleAudit(ctx context.Context, seq int64, from, to directory.AuditOutcome, zedToken string) error {
	if err := validOutcome(to); err != nil {
		return fmt.Errorf("audit entry %d: settle: %w", seq, err)
	}
	err := runTxWith(ctx, s.pool, s.dialect, s.sealing(), func(tx pgx.Tx) error {
		e, err := scanAudit(tx.QueryRow(ctx, `SELECT `+auditColumns+` FROM hostaccess.audit WHERE seq = $1 FOR UPDATE`, seq))
		if err != nil {
			return storeError(fmt.Sprintf("audit entry %d", seq), err)
		}
		if e.Outcome != from {
			return fmt.Errorf("audit entry %d is %s, not %s: %w", seq, e.Outcome, from, directory.ErrConflict)
		}
		if e.Chain > 0 {
			return fmt.Errorf("audit entry %d is sealed: %w", seq, directory.ErrConflict)
		}
		e.Outcome = to
		if zedToken != "" {
			e.ZedToken = zedToken
		}
		if _, err := tx.Exec(ctx, `UPDATE hostaccess.audit SET outcome = $2, zed_token = $3 WHERE seq = $1`,
			seq, string(e.Outcome), e.ZedToken); err != nil {
			return err
		}
		if !to.Final() {
			return nil
		}
		_, err = sealTx(ctx, tx, e)
		return err
	})
	if err != nil && !errors.Is(err, directory.ErrConflict) && !errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("audit entry %d: settle %s: %w", seq, to, err)
	}
	return err
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
