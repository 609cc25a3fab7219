package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Dialect is the SQL server the directory runs on. PostgreSQL and
// CockroachDB speak the same wire protocol and mostly the same SQL; where
// they differ (locks, sequences, collations, transaction retries) the store
// and its migrations switch on the dialect.
type Dialect string

// The dialects, named as hostaccess's --datastore-engine names them.
const (
	Postgres    Dialect = "postgres"
	CockroachDB Dialect = "cockroachdb"
)

// ParseDialect turns an engine name into a Dialect.
func ParseDialect(name string) (Dialect, error) {
	switch d := Dialect(strings.ToLower(strings.TrimSpace(name))); d {
	case Postgres, CockroachDB:
		return d, nil
	default:
		return "", fmt.Errorf("unknown SQL dialect %q: want %q or %q", name, Postgres, CockroachDB)
	}
}

func (d Dialect) String() string { return string(d) }

func (d Dialect) valid() error {
	_, err := ParseDialect(string(d))
	return err
}

// querier is what the helpers shared by the store and the migrations need:
// a pool, a connection or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// detectDialect asks the server what it is. CockroachDB answers version()
// with "CockroachDB CCL v24.1.0 (...)", PostgreSQL with "PostgreSQL 15.2 ...".
func detectDialect(ctx context.Context, db querier) (Dialect, error) {
	var version string
	if err := db.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil {
		return "", fmt.Errorf("asking the server for its version: %w", err)
	}
	if strings.Contains(version, "CockroachDB") {
		return CockroachDB, nil
	}
	return Postgres, nil
}
