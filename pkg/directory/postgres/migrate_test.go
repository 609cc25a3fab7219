package postgres

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/authzed/spicedb/pkg/migrate"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/pkg/directory"
)

func TestHeadRevision(t *testing.T) {
	pg, err := migrationVersions(Postgres)
	require.NoError(t, err)
	crdb, err := migrationVersions(CockroachDB)
	require.NoError(t, err)
	require.NotEmpty(t, pg)
	require.Equal(t, pg, crdb, "both dialects must have the same migrations")
	require.Equal(t, pg[len(pg)-1], HeadRevision())

	for _, d := range []Dialect{Postgres, CockroachDB} {
		m, err := newMigrationManager(d)
		require.NoError(t, err)
		head, err := m.HeadRevision()
		require.NoError(t, err)
		require.Equal(t, HeadRevision(), head, d.String())
	}
}

func TestSplitStatements(t *testing.T) {
	for _, tc := range []struct {
		name string
		sql  string
		want []string
	}{
		{name: "empty", sql: "  \n-- only a comment; really\n", want: nil},
		{name: "two", sql: "CREATE TABLE a (x int);\nCREATE TABLE b (y int);\n", want: []string{"CREATE TABLE a (x int)", "CREATE TABLE b (y int)"}},
		{name: "no final semicolon", sql: "SELECT 1;\nSELECT 2", want: []string{"SELECT 1", "SELECT 2"}},
		{name: "semicolon in comment", sql: "-- a; b\nSELECT 1;", want: []string{"-- a; b\nSELECT 1"}},
		{name: "semicolon in strings", sql: `INSERT INTO t VALUES ('a;b', 'it''s;');SELECT "x;y" FROM t;`, want: []string{`INSERT INTO t VALUES ('a;b', 'it''s;')`, `SELECT "x;y" FROM t`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, splitStatements(tc.sql))
		})
	}
}

// Every embedded CockroachDB statement splits cleanly: each one starts with
// a keyword, none is a stray comment.
func TestCockroachMigrationsSplit(t *testing.T) {
	versions, err := migrationVersions(CockroachDB)
	require.NoError(t, err)
	for _, v := range versions {
		body, err := migrationFiles.ReadFile("migrations/cockroachdb/" + v + ".sql")
		require.NoError(t, err)
		stmts := splitStatements(string(body))
		require.NotEmpty(t, stmts, v)
		for _, s := range stmts {
			require.Regexp(t, `(?s)^(--[^\n]*\n\s*)*(CREATE|INSERT|ALTER) `, s, v)
		}
	}
}

func TestMigrateFreshDatabase(t *testing.T) {
	uri := testutil.PostgresDatabase(t)
	ctx := t.Context()

	v, err := Version(ctx, uri)
	require.NoError(t, err)
	require.Empty(t, v, "a fresh database has no version")

	require.NoError(t, Migrate(ctx, uri, Postgres))
	v, err = Version(ctx, uri)
	require.NoError(t, err)
	require.Equal(t, HeadRevision(), v)

	conn := connectTest(t, uri)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'hostaccess' ORDER BY table_name`)
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"access_requests", "accounts", "audit", "audit_chain", "contacts", "freshness", "freshness_expiries", "invitations", "people", "schema_version", "tokens"}, tables)

	rows, err = conn.Query(ctx, `SELECT indexname FROM pg_indexes WHERE schemaname = 'hostaccess' ORDER BY indexname`)
	require.NoError(t, err)
	indexes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Subset(t, indexes, []string{"audit_account_seq_idx", "audit_intent_idx", "audit_chain_idx", "audit_account_chain_idx", "contacts_account_idx", "access_requests_account_idx", "access_requests_user_idx", "invitations_account_idx", "invitations_token_hash_key"})

	// Nothing lands in the public schema, where SpiceDB's tables live.
	var public int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`).Scan(&public))
	require.Zero(t, public)
}

func TestMigrateTwiceIsNoop(t *testing.T) {
	uri := testutil.PostgresDatabase(t)
	ctx := t.Context()
	require.NoError(t, Migrate(ctx, uri, Postgres))
	conn := connectTest(t, uri)
	var first time.Time
	require.NoError(t, conn.QueryRow(ctx, `SELECT migrated_at FROM hostaccess.schema_version`).Scan(&first))
	_, err := conn.Exec(ctx, `INSERT INTO hostaccess.accounts (id, name, host_id, admin_cap, created_at) VALUES ('acme', 'Acme', '', 1, now())`)
	require.NoError(t, err)

	run, err := migrateToHead(ctx, uri, Postgres)
	require.NoError(t, err)
	require.Equal(t, migrateRun{from: HeadRevision(), to: HeadRevision()}, run)

	var (
		versions int
		again    time.Time
		accounts int
	)
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*), max(migrated_at) FROM hostaccess.schema_version`).Scan(&versions, &again))
	require.Equal(t, 1, versions)
	require.True(t, first.Equal(again), "the version row must not be rewritten")
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM hostaccess.accounts`).Scan(&accounts))
	require.Equal(t, 1, accounts)
}

// Nodes starting at once all migrate: one does the work, the others wait for
// it and find nothing left to do.
func TestMigrateConcurrent(t *testing.T) {
	uri := testutil.PostgresDatabase(t)
	ctx := t.Context()

	const nodes = 4
	runs := make([]migrateRun, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { runs[i], errs[i] = migrateToHead(ctx, uri, Postgres) })
	}
	wg.Wait()

	fromScratch := 0
	for i := range nodes {
		require.NoError(t, errs[i], "node %d", i)
		require.Equal(t, HeadRevision(), runs[i].to, "node %d", i)
		switch runs[i].from {
		case "":
			fromScratch++
		case HeadRevision():
		default:
			t.Fatalf("node %d started from %q: it ran while another node was migrating", i, runs[i].from)
		}
	}
	require.Equal(t, 1, fromScratch, "exactly one node must have migrated")

	var versions int
	require.NoError(t, connectTest(t, uri).QueryRow(ctx, `SELECT count(*) FROM hostaccess.schema_version`).Scan(&versions))
	require.Equal(t, 1, versions)
}

// A database left at an older version is brought forward from there.
func TestMigrateFromOlderVersion(t *testing.T) {
	uri := testutil.PostgresDatabase(t)
	ctx := t.Context()
	versions, err := migrationVersions(Postgres)
	require.NoError(t, err)
	require.Greater(t, len(versions), 1, "this test needs two migrations")
	migrateThrough(t, uri, versions[0])

	run, err := migrateToHead(ctx, uri, Postgres)
	require.NoError(t, err)
	require.Equal(t, migrateRun{from: versions[0], to: HeadRevision()}, run)
}

// Entries written before 0003 added the outcome were all applied: that is
// how they read after it, with no operation and no recovery steps.
func TestMigrateAuditOutcome(t *testing.T) {
	uri := testutil.PostgresDatabase(t)
	ctx := t.Context()
	migrateThrough(t, uri, "0002_directory_tables")
	conn := connectTest(t, uri)
	_, err := conn.Exec(ctx, `INSERT INTO hostaccess.audit (occurred_at, actor, flow, account_id, target, zed_token)
		VALUES (now() - interval '1 hour', 'user:alice', 'invite', 'acme', 'invitation:acme/x1', 'zed1')`)
	require.NoError(t, err)

	require.NoError(t, Migrate(ctx, uri, Postgres))
	s, err := Open(ctx, uri, PoolConfig{MaxConns: 2})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	list, err := s.ListAudit(ctx, directory.AuditFilter{AccountID: "acme"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, directory.AuditApplied, list[0].Outcome)
	require.Empty(t, list[0].Operation)
	require.Empty(t, list[0].Recovery)
	require.Equal(t, "zed1", list[0].ZedToken)
	intents, err := s.ListAuditIntents(ctx, time.Now(), 0)
	require.NoError(t, err)
	require.Empty(t, intents)
}

func TestMigrateWrongDialect(t *testing.T) {
	uri := testutil.PostgresDatabase(t)
	err := Migrate(t.Context(), uri, CockroachDB)
	require.ErrorContains(t, err, "the datastore engine is cockroachdb but the server is postgres")
	v, err := Version(t.Context(), uri)
	require.NoError(t, err)
	require.Empty(t, v, "nothing may be migrated")

	require.ErrorContains(t, Migrate(t.Context(), uri, "mysql"), "unknown SQL dialect")
}

func TestOpenUnmigrated(t *testing.T) {
	uri := testutil.PostgresDatabase(t)
	_, err := Open(t.Context(), uri, PoolConfig{})
	require.ErrorIs(t, err, ErrMigrationRequired)
	require.ErrorContains(t, err, `no hostaccess schema yet`)
	require.ErrorContains(t, err, `run "hostaccess migrate"`)

	v, err := Version(t.Context(), uri)
	require.NoError(t, err)
	require.Empty(t, v, "Open must not migrate")
}

func TestOpenBehind(t *testing.T) {
	uri := testutil.PostgresDatabase(t)
	versions, err := migrationVersions(Postgres)
	require.NoError(t, err)
	migrateThrough(t, uri, versions[0])

	_, err = Open(t.Context(), uri, PoolConfig{})
	require.ErrorIs(t, err, ErrMigrationRequired)
	require.ErrorContains(t, err, `the database is at version "`+versions[0]+`", this build needs "`+HeadRevision()+`"`)
	require.ErrorContains(t, err, `run "hostaccess migrate"`)
}

func TestOpenAheadOfThisBuild(t *testing.T) {
	uri := testutil.PostgresDatabase(t)
	require.NoError(t, Migrate(t.Context(), uri, Postgres))
	_, err := connectTest(t, uri).Exec(t.Context(), `UPDATE hostaccess.schema_version SET version_num = '9999_from_the_future'`)
	require.NoError(t, err)

	_, err = Open(t.Context(), uri, PoolConfig{})
	require.ErrorContains(t, err, `"9999_from_the_future", which this build does not know`)
	require.NotErrorIs(t, err, ErrMigrationRequired)
}

func TestOpenUnreachable(t *testing.T) {
	start := time.Now()
	_, err := Open(t.Context(), "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable", PoolConfig{ConnectTimeout: 2 * time.Second})
	require.ErrorContains(t, err, "connecting to the directory database")
	require.ErrorContains(t, err, "127.0.0.1")
	require.Less(t, time.Since(start), 5*time.Second)

	_, err = Open(t.Context(), "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable", PoolConfig{MinConns: 2, MaxConns: 1})
	require.ErrorContains(t, err, "MinConns")

	require.ErrorContains(t, Migrate(t.Context(), "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable", Postgres),
		"connecting to the directory database")
}

func TestOpenRedactsPassword(t *testing.T) {
	_, err := Open(t.Context(), "postgres://postgres:s3cret@127.0.0.1:1/postgres?sslmode=disable&bogus_param=%zz", PoolConfig{})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "s3cret")
	_, err = Open(t.Context(), "postgres://postgres:s3cret@127.0.0.1:1/postgres?sslmode=disable", PoolConfig{})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "s3cret")
}

// migrateThrough migrates uri up to and including version, and no further.
func migrateThrough(t *testing.T, uri, version string) {
	t.Helper()
	m, err := newMigrationManager(Postgres)
	require.NoError(t, err)
	run, err := migrateOnce(t.Context(), uri, Postgres, m, version)
	require.NoError(t, err)
	require.Equal(t, version, run.to)
	require.NotEqual(t, migrate.Head, version)
}

func connectTest(t *testing.T, uri string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), uri)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// On PostgreSQL a node waits for the advisory lock before it reads the
// version: it never races the node holding it.
func TestMigrateWaitsForLock(t *testing.T) {
	uri := testutil.PostgresDatabase(t)
	ctx := t.Context()
	holder := connectTest(t, uri)
	_, err := holder.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() { done <- Migrate(ctx, uri, Postgres) }()

	watcher := connectTest(t, uri)
	require.Eventually(t, func() bool {
		var waiting int
		err := watcher.QueryRow(ctx, `SELECT count(*) FROM pg_locks
			WHERE locktype = 'advisory' AND NOT granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&waiting)
		return err == nil && waiting == 1
	}, 10*time.Second, 10*time.Millisecond, "Migrate never waited for the lock")
	v, err := Version(ctx, uri)
	require.NoError(t, err)
	require.Empty(t, v, "Migrate ran without the lock")

	_, err = holder.Exec(ctx, `SELECT pg_advisory_unlock($1)`, migrationLockKey)
	require.NoError(t, err)
	require.NoError(t, <-done)
	v, err = Version(ctx, uri)
	require.NoError(t, err)
	require.Equal(t, HeadRevision(), v)
}
