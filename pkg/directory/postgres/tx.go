package postgres

import (
	"context"

	"github.com/cockroachdb/cockroach-go/v2/crdb"
	crdbpgx "github.com/cockroachdb/cockroach-go/v2/crdb/crdbpgxv5"
	"github.com/jackc/pgx/v5"
)

// txBeginner is a pool or a single connection.
type txBeginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

var (
	serializable = pgx.TxOptions{IsoLevel: pgx.Serializable}
	// snapshotRead is for reading many tables at one point in time.
	snapshotRead = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
)

// runTx runs fn in a SERIALIZABLE transaction and commits it, running fn
// again from the start when the server reports a serialization failure
// (SQLSTATE 40001), up to cockroach-go's limit of 50 retries. fn may run more
// than once: it must do nothing but talk to tx.
//
// The two dialects retry differently, on purpose:
//
//   - CockroachDB: crdbpgxv5.ExecuteTx, the client-side protocol CockroachDB
//     documents (SAVEPOINT cockroach_restart; RELEASE commits; ROLLBACK TO
//     SAVEPOINT on 40001 keeps the transaction's priority across retries).
//   - PostgreSQL: that protocol is wrong here. RELEASE does not commit on
//     PostgreSQL, and ExecuteTx ignores the error of the COMMIT that follows
//     it, which is exactly where PostgreSQL's SSI reports most serialization
//     failures: the transaction would be rolled back and reported as
//     committed. Rolling back to a savepoint would also keep the failed
//     snapshot. So on PostgreSQL cockroach-go's retry loop (crdb.ExecuteCtx)
//     runs a whole new transaction each time, and COMMIT's error counts.
func runTx(ctx context.Context, db txBeginner, dialect Dialect, fn func(pgx.Tx) error) error {
	return runTxWith(ctx, db, dialect, serializable, fn)
}

// runTxWith is runTx with other transaction options, retried the same way
// (a read-only transaction can still be asked to retry on CockroachDB).
func runTxWith(ctx context.Context, db txBeginner, dialect Dialect, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	if dialect == CockroachDB {
		return crdbpgx.ExecuteTx(ctx, db, opts, fn)
	}
	return crdb.ExecuteCtx(ctx, func(ctx context.Context, _ ...any) error {
		return pgx.BeginTxFunc(ctx, db, opts, fn)
	})
}
