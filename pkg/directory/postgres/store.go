// Package postgres is a directory.Store on PostgreSQL or CockroachDB, in the
// same database as SpiceDB's tables but in a schema of its own, "hostaccess".
//
// The schema is created and upgraded by Migrate (the "hostaccess migrate"
// command), never by Open: a node that starts against an older schema
// refuses to run and says so.
package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

var _ directory.Store = (*Store)(nil)

// Pool defaults, used for every PoolConfig field left at zero.
const (
	DefaultMaxConns        int32 = 10
	DefaultMinConns        int32 = 0
	DefaultConnectTimeout        = 5 * time.Second
	DefaultMaxConnLifetime       = time.Hour
)

// PoolConfig sizes the connection pool Open creates. A zero field takes its
// default; the values override any pool_* parameters in the URI. A
// connect_timeout in the URI is kept when ConnectTimeout is zero.
type PoolConfig struct {
	MaxConns        int32         // connections open at most; default 10
	MinConns        int32         // connections kept open when idle; default 0
	ConnectTimeout  time.Duration // to open one connection; default 5s
	MaxConnLifetime time.Duration // a connection is replaced after this; default 1h
}

// Validate reports a configuration Open would refuse.
func (c PoolConfig) Validate() error {
	switch {
	case c.MaxConns < 0, c.MinConns < 0, c.ConnectTimeout < 0, c.MaxConnLifetime < 0:
		return errors.New("directory pool: sizes and durations must not be negative")
	case c.MaxConns > 0 && c.MinConns > c.MaxConns:
		return fmt.Errorf("directory pool: MinConns %d is more than MaxConns %d", c.MinConns, c.MaxConns)
	case c.MaxConns == 0 && c.MinConns > DefaultMaxConns:
		return fmt.Errorf("directory pool: MinConns %d is more than the default MaxConns %d", c.MinConns, DefaultMaxConns)
	}
	return nil
}

func (c PoolConfig) apply(pc *pgxpool.Config) {
	pc.MaxConns = cmp.Or(c.MaxConns, DefaultMaxConns)
	pc.MinConns = cmp.Or(c.MinConns, DefaultMinConns)
	pc.MaxConnLifetime = cmp.Or(c.MaxConnLifetime, DefaultMaxConnLifetime)
	switch {
	case c.ConnectTimeout > 0:
		pc.ConnConfig.ConnectTimeout = c.ConnectTimeout
	case pc.ConnConfig.ConnectTimeout == 0:
		pc.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
}

// Store is a directory.Store on a pgx pool.
type Store struct {
	pool    *pgxpool.Pool
	dialect Dialect
	owned   bool // Close closes the pool: Open made it
}

// Open connects to the database at uri, finds out whether it is PostgreSQL
// or CockroachDB, and checks that its hostaccess schema is at this build's
// HeadRevision. It does not migrate: a schema that is behind is an error
// wrapping ErrMigrationRequired, naming the command to run.
func Open(ctx context.Context, uri string, cfg PoolConfig) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(uri)
	if err != nil {
		// pgconn redacts the password from its parse errors.
		return nil, fmt.Errorf("directory database URI: %w", err)
	}
	cfg.apply(pc)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("directory database pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to the directory database: %w", err)
	}
	dialect, err := detectDialect(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to the directory database: %w", err)
	}
	if err := checkVersion(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool, dialect: dialect, owned: true}, nil
}

// New returns a Store on a pool the caller owns: Close leaves it open. It
// checks nothing; the caller has run Migrate.
func New(pool *pgxpool.Pool, dialect Dialect) *Store {
	return &Store{pool: pool, dialect: dialect}
}

// Dialect is the SQL dialect the store speaks.
func (s *Store) Dialect() Dialect { return s.dialect }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("directory database: %w", err)
	}
	return nil
}

// Close closes the pool if Open created it.
func (s *Store) Close() error {
	if s.owned {
		s.pool.Close()
	}
	return nil
}

// SQLSTATE codes the store acts on.
const (
	codeUniqueViolation = "23505"
	codeUndefinedTable  = "42P01"
	codeInvalidSchema   = "3F000"
)

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// storeError maps a database error to the directory's: a unique violation
// to ErrConflict and no rows to ErrNotFound. what names the record, as in
// `account "acme"`.
func storeError(what string, err error) error {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%s: %w", what, directory.ErrNotFound)
	case sqlState(err) == codeUniqueViolation:
		return fmt.Errorf("%s: %w", what, directory.ErrConflict)
	default:
		return fmt.Errorf("%s: %w", what, err)
	}
}

// utc is how times leave the store: pgx hands timestamptz back in the
// local zone.
func utc(t time.Time) time.Time { return t.UTC() }

// jsonArg passes JSON to a jsonb parameter, an absent value as NULL.
func jsonArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}
