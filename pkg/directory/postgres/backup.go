package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

// importBatchSize is how many inserts ImportAll sends to the server at once.
const importBatchSize = 1000

// ExportAll reads every table in one read-only REPEATABLE READ transaction,
// so the snapshot is one point in time however long the reads take.
func (s *Store) ExportAll(ctx context.Context) (directory.Snapshot, error) {
	var snap directory.Snapshot
	err := runTxWith(ctx, s.pool, s.dialect, snapshotRead, func(tx pgx.Tx) error {
		var err error
		// Every field is assigned again if the transaction is retried.
		if snap.Accounts, err = queryAll(ctx, tx, scanAccount,
			`SELECT `+accountColumns+` FROM hostaccess.accounts ORDER BY id`); err != nil {
			return fmt.Errorf("accounts: %w", err)
		}
		if snap.People, err = queryAll(ctx, tx, scanPerson,
			`SELECT `+personColumns+` FROM hostaccess.people ORDER BY user_id`); err != nil {
			return fmt.Errorf("people: %w", err)
		}
		if snap.Invitations, err = queryAll(ctx, tx, scanInvitation,
			`SELECT `+invitationColumns+` FROM hostaccess.invitations ORDER BY created_at, id`); err != nil {
			return fmt.Errorf("invitations: %w", err)
		}
		if snap.Contacts, err = queryAll(ctx, tx, scanContact,
			`SELECT `+contactColumns+` FROM hostaccess.contacts ORDER BY id`); err != nil {
			return fmt.Errorf("contacts: %w", err)
		}
		if snap.Tokens, err = queryAll(ctx, tx, scanToken,
			`SELECT `+tokenColumns+` FROM hostaccess.tokens ORDER BY created_at, id`); err != nil {
			return fmt.Errorf("tokens: %w", err)
		}
		if snap.AccessRequests, err = queryAll(ctx, tx, scanRequest,
			`SELECT `+requestColumns+` FROM hostaccess.access_requests ORDER BY created_at, id`); err != nil {
			return fmt.Errorf("access requests: %w", err)
		}
		if snap.Audit, err = queryAll(ctx, tx, scanAudit,
			`SELECT `+auditColumns+` FROM hostaccess.audit ORDER BY seq`); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		if err := tx.QueryRow(ctx, `SELECT anchor_seq, anchor_hash, head_seq, head_hash FROM hostaccess.audit_chain WHERE id = 1`).
			Scan(&snap.Chain.Anchor.Seq, &snap.Chain.Anchor.Hash, &snap.Chain.Head.Seq, &snap.Chain.Head.Hash); err != nil {
			return fmt.Errorf("audit chain: %w", err)
		}
		return nil
	})
	if err != nil {
		return directory.Snapshot{}, fmt.Errorf("export the directory: %w", err)
	}
	return snap, nil
}

func queryAll[T any](ctx context.Context, tx pgx.Tx, scan func(pgx.Row) (T, error), sql string) ([]T, error) {
	rows, err := tx.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (T, error) { return scan(row) })
}

// ImportAll checks that every table is empty and inserts the snapshot in the
// same SERIALIZABLE transaction, so a concurrent write either comes before
// (and the import is refused) or after. A duplicate key in the snapshot rolls
// everything back. Audit entries keep their Seq; the sequence that numbers
// new entries then moves past the highest, never back.
func (s *Store) ImportAll(ctx context.Context, snap directory.Snapshot) error {
	audit, maxSeq, err := importAudit(snap.Audit)
	if err != nil {
		return fmt.Errorf("import the directory: %w", err)
	}
	err = runTx(ctx, s.pool, s.dialect, func(tx pgx.Tx) error {
		var used bool
		if err := tx.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM hostaccess.accounts) OR
			EXISTS (SELECT 1 FROM hostaccess.people) OR
			EXISTS (SELECT 1 FROM hostaccess.invitations) OR
			EXISTS (SELECT 1 FROM hostaccess.contacts) OR
			EXISTS (SELECT 1 FROM hostaccess.tokens) OR
			EXISTS (SELECT 1 FROM hostaccess.access_requests) OR
			EXISTS (SELECT 1 FROM hostaccess.audit) OR
			EXISTS (SELECT 1 FROM hostaccess.audit_chain WHERE head_seq > 0)`).Scan(&used); err != nil {
			return err
		}
		if used {
			return fmt.Errorf("the directory is not empty: %w", directory.ErrConflict)
		}

		b := importBatch{ctx: ctx, tx: tx}
		for _, a := range snap.Accounts {
			b.queue(`INSERT INTO hostaccess.accounts (`+accountColumns+`) VALUES ($1, $2, $3, $4, $5)`,
				a.ID, a.Name, a.HostID, a.AdminCap, a.CreatedAt)
		}
		for _, p := range snap.People {
			b.queue(`INSERT INTO hostaccess.people (`+personColumns+`) VALUES ($1, $2, $3, $4)`,
				p.UserID, p.Email, p.DisplayName, p.UpdatedAt)
		}
		for _, inv := range snap.Invitations {
			b.queue(`INSERT INTO hostaccess.invitations (`+invitationColumns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
				inv.ID, inv.AccountID, inv.Email, inv.TokenHash, jsonArg(inv.Access), inv.InvitedBy,
				inv.CreatedAt, inv.ExpiresAt, string(inv.Status), timeArg(inv.StatusAt), inv.StatusBy, inv.SupersededBy)
		}
		for _, c := range snap.Contacts {
			b.queue(`INSERT INTO hostaccess.contacts (`+contactColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				c.ID, c.AccountID, c.Name, c.Email, c.Phone, c.CreatedAt, c.UpdatedAt)
		}
		for _, t := range snap.Tokens {
			b.queue(insertToken, tokenArgs(t)...)
		}
		for _, r := range snap.AccessRequests {
			b.queue(insertRequest, requestArgs(r)...)
		}
		// seq is GENERATED ALWAYS on PostgreSQL: an explicit value must say so.
		override := ""
		if s.dialect == Postgres {
			override = ` OVERRIDING SYSTEM VALUE`
		}
		for _, e := range audit {
			b.queue(`INSERT INTO hostaccess.audit (`+auditColumns+`)`+override+`
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
				e.Seq, e.Time, e.Actor, e.Flow, e.AccountID, e.Target, jsonArg(e.Before), jsonArg(e.After), e.ZedToken,
				string(e.Outcome), e.Operation, jsonArg(e.Recovery), chainArg(e.Chain), e.PrevHash, e.Hash)
		}
		b.queue(`UPDATE hostaccess.audit_chain SET anchor_seq = $1, anchor_hash = $2, head_seq = $3, head_hash = $4 WHERE id = 1`,
			snap.Chain.Anchor.Seq, snap.Chain.Anchor.Hash, snap.Chain.Head.Seq, snap.Chain.Head.Hash)
		if err := b.flush(); err != nil {
			return err
		}
		if maxSeq == 0 {
			return nil
		}
		// setval is not transactional: were this transaction to fail
		// after it, the sequence must still never have moved back.
		var sql string
		switch s.dialect {
		case CockroachDB:
			sql = `SELECT setval('hostaccess.audit_seq', GREATEST($1::INT8, (SELECT last_value FROM hostaccess.audit_seq)))`
		default:
			sql = `SELECT setval(q.s, GREATEST($1::bigint, COALESCE(pg_sequence_last_value(q.s), 0)))
				FROM (SELECT pg_get_serial_sequence('hostaccess.audit', 'seq')::regclass AS s) AS q`
		}
		_, err := tx.Exec(ctx, sql, maxSeq)
		return err
	})
	if err != nil {
		return storeError("import the directory", err)
	}
	return nil
}

// importAudit checks a snapshot's audit entries before anything is sent:
// each needs a positive Seq of its own (on CockroachDB the primary key is
// (account_id, seq), which would not catch a Seq used in two accounts) and
// an outcome the directory knows, applied when empty. It returns the
// entries to insert and the highest Seq.
func importAudit(entries []directory.AuditEntry) ([]directory.AuditEntry, int64, error) {
	out := make([]directory.AuditEntry, len(entries))
	seen := make(map[int64]bool, len(entries))
	var maxSeq int64
	for i, e := range entries {
		if e.Seq <= 0 {
			return nil, 0, fmt.Errorf("audit entry with Seq %d: Seq must be positive", e.Seq)
		}
		if seen[e.Seq] {
			return nil, 0, fmt.Errorf("audit entry %d appears twice: %w", e.Seq, directory.ErrConflict)
		}
		seen[e.Seq] = true
		var err error
		if e.Outcome, err = appendOutcome(e.Outcome); err != nil {
			return nil, 0, fmt.Errorf("audit entry %d: %w", e.Seq, err)
		}
		out[i] = e
		maxSeq = max(maxSeq, e.Seq)
	}
	return out, maxSeq, nil
}

// importBatch pipelines inserts, importBatchSize at a time. After an error
// it queues nothing more, and flush returns that error.
type importBatch struct {
	ctx   context.Context // the transaction's
	tx    pgx.Tx
	batch pgx.Batch
	err   error
}

func (b *importBatch) queue(sql string, args ...any) {
	if b.err != nil {
		return
	}
	b.batch.Queue(sql, args...)
	if b.batch.Len() >= importBatchSize {
		b.err = b.send()
	}
}

// flush sends what is queued and returns the first error.
func (b *importBatch) flush() error {
	if b.err == nil {
		b.err = b.send()
	}
	return b.err
}

func (b *importBatch) send() error {
	if b.batch.Len() == 0 {
		return nil
	}
	err := b.tx.SendBatch(b.ctx, &b.batch).Close()
	b.batch = pgx.Batch{}
	return err
}
