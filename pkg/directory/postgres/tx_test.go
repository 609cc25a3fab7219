package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/testutil"
)

// PostgreSQL's SSI reports most serialization failures at COMMIT. runTx must
// see that failure and run the transaction again, not report success for a
// transaction that was rolled back (what cockroach-go's savepoint protocol
// does on PostgreSQL).
func TestRunTxRetriesCommitTimeSerializationFailure(t *testing.T) {
	ctx := t.Context()
	pool, err := pgxpool.New(ctx, testutil.PostgresDatabase(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pool.Exec(ctx, `CREATE TABLE oncall (doctor text PRIMARY KEY)`)
	require.NoError(t, err)

	// Write skew: each transaction counts the doctors on call, then adds
	// one; neither sees the other's row. The other transaction commits
	// first, so ours must fail at COMMIT.
	attempts := 0
	err = runTx(ctx, pool, Postgres, func(tx pgx.Tx) error {
		attempts++
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM oncall`).Scan(&n); err != nil {
			return err
		}
		if attempts > 1 {
			_, err := tx.Exec(ctx, `INSERT INTO oncall VALUES ('alice')`)
			return err
		}
		other, err := pool.BeginTx(ctx, serializable)
		if err != nil {
			return err
		}
		defer other.Rollback(ctx) //nolint:errcheck // a no-op once committed
		if err := other.QueryRow(ctx, `SELECT count(*) FROM oncall`).Scan(&n); err != nil {
			return err
		}
		if _, err := other.Exec(ctx, `INSERT INTO oncall VALUES ('bob')`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO oncall VALUES ('alice')`); err != nil {
			return err
		}
		return other.Commit(ctx)
	})
	require.NoError(t, err)
	require.Equal(t, 2, attempts, "the first attempt must fail at COMMIT and be retried")

	rows, err := pool.Query(ctx, `SELECT doctor FROM oncall ORDER BY doctor`)
	require.NoError(t, err)
	doctors, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"alice", "bob"}, doctors)
}
