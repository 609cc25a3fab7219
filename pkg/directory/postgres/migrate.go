package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/authzed/spicedb/pkg/migrate"
	"github.com/jackc/pgx/v5"
)

// The migrations, one SQL file per version and dialect:
// migrations/<dialect>/<version>.sql. Versions apply in file name order, each
// replacing the one before; both dialects have the same versions. They only
// go forward: a released file is never edited, a change is a new file.
//
//go:embed migrations
var migrationFiles embed.FS

// ErrMigrationRequired is wrapped by Open's error when the database's
// hostaccess schema is older than this build.
var ErrMigrationRequired = errors.New("the directory schema needs migrating")

// errVersionMoved: the version row no longer held the version a migration
// replaces, so another node migrated meanwhile (CockroachDB).
var errVersionMoved = errors.New("schema version changed during the migration")

// migrationLockKey is the PostgreSQL advisory lock Migrate holds, any
// 64-bit number no other program uses: "hostacc" in ASCII.
const migrationLockKey int64 = 0x686f7374616363

// migrateAttempts bounds Migrate's retries after losing a race to another
// node (CockroachDB) or a serialization failure.
const migrateAttempts = 5

type migrationManager = migrate.Manager[*migrationDriver, *pgx.Conn, pgx.Tx]

// HeadRevision is the schema version this build needs: its newest migration.
func HeadRevision() string {
	versions, err := migrationVersions(Postgres)
	if err != nil || len(versions) == 0 {
		return "" // cannot happen: the files are embedded (TestHeadRevision)
	}
	return versions[len(versions)-1]
}

// Version returns the version of the hostaccess schema in the database at
// uri, "" if it has never been migrated.
func Version(ctx context.Context, uri string) (string, error) {
	conn, err := connect(ctx, uri)
	if err != nil {
		return "", err
	}
	defer closeConn(ctx, conn)
	return readVersion(ctx, conn)
}

// Migrate brings the hostaccess schema in the database at uri to
// HeadRevision; at head it does nothing. Nodes may run it at the same time:
// on PostgreSQL they queue on an advisory lock; on CockroachDB, which has
// none, every statement is idempotent and each version write is a
// compare-and-set, so a node that loses the race retries and finds the work
// done.
func Migrate(ctx context.Context, uri string, dialect Dialect) error {
	_, err := migrateToHead(ctx, uri, dialect)
	return err
}

// migrateRun is what one node's Migrate saw: the version it found and the
// one it left.
type migrateRun struct{ from, to string }

func migrateToHead(ctx context.Context, uri string, dialect Dialect) (migrateRun, error) {
	if err := dialect.valid(); err != nil {
		return migrateRun{}, err
	}
	m, err := newMigrationManager(dialect)
	if err != nil {
		return migrateRun{}, err
	}
	for attempt := 1; ; attempt++ {
		run, err := migrateOnce(ctx, uri, dialect, m, migrate.Head)
		var lost raceLost
		if err == nil || attempt == migrateAttempts || !errors.As(err, &lost) {
			return run, err
		}
		// Let the winner finish before looking again.
		wait := time.Duration(attempt)*100*time.Millisecond + rand.N(100*time.Millisecond) //nolint:gosec // jitter, not a secret
		select {
		case <-ctx.Done():
			return run, fmt.Errorf("%w (gave up waiting: %w)", err, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// raceLost marks a failure another attempt may not have: another node
// migrated meanwhile, or the server asked for a retry.
type raceLost struct{ error }

func (e raceLost) Unwrap() error { return e.error }

func migrateOnce(ctx context.Context, uri string, dialect Dialect, m *migrationManager, through string) (migrateRun, error) {
	conn, err := connect(ctx, uri)
	if err != nil {
		return migrateRun{}, err
	}
	// Closing the connection also releases the advisory lock.
	defer closeConn(ctx, conn)

	server, err := detectDialect(ctx, conn)
	if err != nil {
		return migrateRun{}, err
	}
	if server != dialect {
		return migrateRun{}, fmt.Errorf("migrating the directory: the datastore engine is %s but the server is %s", dialect, server)
	}
	if dialect == Postgres {
		// Held on this connection, which runs every migration, until it closes.
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
			return migrateRun{}, fmt.Errorf("migrating the directory: taking the migration lock: %w", err)
		}
	}

	d := &migrationDriver{conn: conn, dialect: dialect}
	from, err := d.Version(ctx)
	if err != nil {
		return migrateRun{}, fmt.Errorf("migrating the directory: %w", err)
	}
	d.written = from
	if err := m.Run(ctx, d, through, migrate.LiveRun); err != nil {
		err = fmt.Errorf("migrating the directory from version %q: %w", from, err)
		if d.retryable(ctx, err) {
			err = raceLost{err}
		}
		return migrateRun{from: from}, err
	}
	to, err := d.Version(ctx)
	if err != nil {
		return migrateRun{from: from}, fmt.Errorf("migrating the directory: %w", err)
	}
	return migrateRun{from: from, to: to}, nil
}

// migrationDriver is SpiceDB's migrate.Driver over one pgx connection.
type migrationDriver struct {
	conn    *pgx.Conn
	dialect Dialect
	written string // the version this driver last saw or committed
	pending string // the version being written in the current transaction
}

var _ migrate.Driver[*pgx.Conn, pgx.Tx] = (*migrationDriver)(nil)

func (d *migrationDriver) Version(ctx context.Context) (string, error) {
	return readVersion(ctx, d.conn)
}

// WriteVersion moves the version row from replaced to version, and only from
// replaced: on CockroachDB that is what makes a node that lost a race fail
// instead of recording a migration twice.
func (d *migrationDriver) WriteVersion(ctx context.Context, tx pgx.Tx, version, replaced string) error {
	tag, err := tx.Exec(ctx,
		`UPDATE hostaccess.schema_version SET version_num = $1, migrated_at = now() WHERE id = 1 AND version_num = $2`,
		version, replaced)
	if err != nil {
		return fmt.Errorf("recording schema version %q: %w", version, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("recording schema version %q: %w", version, errVersionMoved)
	}
	d.pending = version
	return nil
}

func (d *migrationDriver) Conn() *pgx.Conn { return d.conn }

func (d *migrationDriver) RunTx(ctx context.Context, f migrate.TxMigrationFunc[pgx.Tx]) error {
	err := runTx(ctx, d.conn, d.dialect, func(tx pgx.Tx) error { return f(ctx, tx) })
	if err == nil && d.pending != "" {
		d.written = d.pending
	}
	d.pending = ""
	return err
}

func (d *migrationDriver) Close(ctx context.Context) error { return d.conn.Close(ctx) }

// retryable tells a lost race or a transient conflict from a migration that
// fails by itself.
func (d *migrationDriver) retryable(ctx context.Context, err error) bool {
	switch sqlState(err) {
	case "40001", "40P01": // serialization failure, deadlock
		return true
	case "42P06", "42P07", "42710", codeUniqueViolation:
		// Duplicate schema, table or object: CREATE ... IF NOT EXISTS racing
		// the same statement on another node, which CockroachDB may report.
		if d.dialect == CockroachDB {
			return true
		}
	}
	if errors.Is(err, errVersionMoved) {
		return true
	}
	// The manager checks the version before each migration and fails "out of
	// order" when it is not the one expected: another node wrote it.
	now, verr := d.Version(ctx)
	return verr == nil && now != d.written
}

func connect(ctx context.Context, uri string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(uri)
	if err != nil {
		return nil, fmt.Errorf("directory database URI: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the directory database: %w", err)
	}
	return conn, nil
}

// closeConn closes a connection that has served its purpose: a failure to
// say goodbye changes nothing for the caller (the server drops the session,
// and its advisory lock, when the socket goes).
func closeConn(ctx context.Context, conn *pgx.Conn) {
	_ = conn.Close(context.WithoutCancel(ctx))
}

// readVersion reads the version row: "" when there is none yet.
func readVersion(ctx context.Context, db querier) (string, error) {
	var version string
	err := db.QueryRow(ctx, `SELECT version_num FROM hostaccess.schema_version WHERE id = 1`).Scan(&version)
	switch {
	case err == nil:
		return version, nil
	case errors.Is(err, pgx.ErrNoRows), sqlState(err) == codeUndefinedTable, sqlState(err) == codeInvalidSchema:
		return "", nil
	default:
		return "", fmt.Errorf("reading the directory schema version: %w", err)
	}
}

// checkVersion fails unless the schema is exactly at HeadRevision.
func checkVersion(ctx context.Context, db querier) error {
	version, err := readVersion(ctx, db)
	if err != nil {
		return err
	}
	head := HeadRevision()
	if version == head {
		return nil
	}
	known, err := migrationVersions(Postgres)
	if err != nil {
		return err
	}
	if version == "" {
		return fmt.Errorf(`%w: the database has no hostaccess schema yet (this build needs version %q): run "hostaccess migrate"`,
			ErrMigrationRequired, head)
	}
	if slices.Contains(known, version) {
		return fmt.Errorf(`%w: the database is at version %q, this build needs %q: run "hostaccess migrate"`,
			ErrMigrationRequired, version, head)
	}
	return fmt.Errorf("the directory schema is at version %q, which this build does not know (it needs %q): "+
		"a newer hostaccess has migrated this database; run that version", version, head)
}

// migrationVersions lists a dialect's versions, oldest first.
func migrationVersions(dialect Dialect) ([]string, error) {
	names, err := fs.Glob(migrationFiles, path.Join("migrations", string(dialect), "*.sql"))
	if err != nil {
		return nil, err
	}
	versions := make([]string, len(names))
	for i, name := range names {
		versions[i] = strings.TrimSuffix(path.Base(name), ".sql")
	}
	slices.Sort(versions)
	return versions, nil
}

// newMigrationManager registers a dialect's migrations. On PostgreSQL a
// migration's SQL runs in the transaction that records its version, so it
// applies whole or not at all. On CockroachDB, which advises against schema
// changes inside explicit transactions, each statement runs on its own and
// only the version write is transactional: the statements are idempotent, so
// a migration interrupted halfway is simply run again.
func newMigrationManager(dialect Dialect) (*migrationManager, error) {
	versions, err := migrationVersions(dialect)
	if err != nil {
		return nil, err
	}
	if head := HeadRevision(); len(versions) == 0 || versions[len(versions)-1] != head {
		return nil, fmt.Errorf("the %s migrations do not end at %q", dialect, head)
	}
	m := migrate.NewManager[*migrationDriver, *pgx.Conn, pgx.Tx]()
	replaces := migrate.None
	for _, version := range versions {
		body, err := migrationFiles.ReadFile(path.Join("migrations", string(dialect), version+".sql"))
		if err != nil {
			return nil, err
		}
		sql := string(body)
		var (
			up   migrate.MigrationFunc[*pgx.Conn]
			upTx migrate.TxMigrationFunc[pgx.Tx]
		)
		switch dialect {
		case Postgres:
			// No arguments: pgx sends the file as one simple-protocol query.
			upTx = func(ctx context.Context, tx pgx.Tx) error {
				_, err := tx.Exec(ctx, sql)
				return err
			}
		case CockroachDB:
			statements := splitStatements(sql)
			up = func(ctx context.Context, conn *pgx.Conn) error {
				for _, stmt := range statements {
					if _, err := conn.Exec(ctx, stmt); err != nil {
						return err
					}
				}
				return nil
			}
		}
		if err := m.Register(version, replaces, up, upTx); err != nil {
			return nil, err
		}
		replaces = version
	}
	return m, nil
}

// splitStatements splits a migration file at the semicolons that end its
// statements, skipping those inside quotes and comments, and drops what holds
// only comments. It does not know dollar quoting: migrations don't use it.
func splitStatements(sql string) []string {
	var (
		out     []string
		start   int
		hasCode bool
	)
	for i := 0; i < len(sql); i++ {
		switch c := sql[i]; {
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			if end := strings.IndexByte(sql[i:], '\n'); end >= 0 {
				i += end
			} else {
				i = len(sql)
			}
		case c == '\'' || c == '"':
			// A doubled quote inside reads as closing and reopening.
			if end := strings.IndexByte(sql[i+1:], c); end >= 0 {
				i += end + 1
			} else {
				i = len(sql)
			}
			hasCode = true
		case c == ';':
			if hasCode {
				out = append(out, strings.TrimSpace(sql[start:i]))
			}
			start, hasCode = i+1, false
		case c != ' ' && c != '\t' && c != '\n' && c != '\r':
			hasCode = true
		}
	}
	if hasCode {
		out = append(out, strings.TrimSpace(sql[start:]))
	}
	return out
}
