package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/authzed/spicedb/pkg/cmd/server"
	"github.com/jackc/pgx/v5"
)

// resourcePrefixIndex lets Postgres answer SpiceDB's resource-id prefix
// reads (object_id LIKE 'acme/%'), which hostaccess uses to read one
// account's products, groups, tags, seats and invitations. SpiceDB's own
// indexes cannot serve LIKE under a non-C collation, so such a read scanned
// every relationship of the type: 1.8 s at 1.2 M relationships, 0.8 ms with
// this index (measured with hostaccess bench's 100k-account data set).
const resourcePrefixIndex = `CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_hostaccess_resource_prefix
	ON relation_tuple (namespace, object_id text_pattern_ops)`

// TuningVersion changes whenever tuneDatastore does (test templates are
// keyed on it).
const TuningVersion = "1"

// tuneDatastore adds hostaccess's indexes to SpiceDB's tables. CONCURRENTLY
// keeps writes flowing while the index builds on a large table.
func tuneDatastore(ctx context.Context, engine, uri string) error {
	if engine != EnginePostgres {
		return nil // CockroachDB compares strings byte-wise: its indexes serve prefixes
	}
	conn, err := pgx.Connect(ctx, uri)
	if err != nil {
		return fmt.Errorf("tuning the postgres datastore: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, resourcePrefixIndex); err != nil {
		return fmt.Errorf("tuning the postgres datastore (index for prefix reads): %w", err)
	}
	return nil
}

// Analyze refreshes a SQL datastore's planner statistics. After a bulk load
// Postgres plans on empty-table statistics until autovacuum analyzes the
// tables (a minute or more): cold checks took 9.6 ms at p50 instead of 2.3 ms
// at 10k accounts (hostaccess bench), so loads analyze at once.
func Analyze(ctx context.Context, engine, uri string) error {
	if engine == EngineMemory {
		return nil
	}
	conn, err := pgx.Connect(ctx, uri)
	if err != nil {
		return fmt.Errorf("analyzing the %s datastore: %w", engine, err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("analyzing the %s datastore: %w", engine, err)
	}
	return nil
}

// queryExecModeParam is pgx's connection-string setting for how queries are
// sent; SpiceDB leaves it alone when the URI names it.
const queryExecModeParam = "default_query_exec_mode"

// statementCacheParam sizes pgx's prepared-statement cache; a URI that sets
// it (statement_cache_capacity=0 was pgx v4's advice behind PgBouncer) has
// made its own choice, and cache_statement with no cache fails every query.
const statementCacheParam = "statement_cache_capacity"

// withPreparedStatements makes SpiceDB's Postgres connections prepare each
// distinct query once per connection (pgx's cache_statement mode) unless the
// URI already chooses how queries are sent. SpiceDB defaults to "exec", which
// has Postgres parse and plan every query: cold checks ran 43-56% faster
// prepared at 10k accounts and 40-67% at 100k (hostaccess bench, same-hour
// A/B, docs/benchmarks.md, which also gives what did not improve). Behind a
// pooler that cannot keep prepared statements (PgBouncer in transaction mode
// without max_prepared_statements), add default_query_exec_mode=exec.
func withPreparedStatements(engine, uri string) string {
	if engine != EnginePostgres || uri == "" || strings.Contains(uri, queryExecModeParam) || strings.Contains(uri, statementCacheParam) {
		return uri
	}
	setting := queryExecModeParam + "=cache_statement"
	if !strings.HasPrefix(uri, "postgres://") && !strings.HasPrefix(uri, "postgresql://") {
		return uri + " " + setting // keyword/value form: host=... dbname=...
	}
	// Appended rather than re-encoded through net/url, which refuses
	// libpq's multi-host form (host1:5432,host2:5432).
	base, fragment, _ := strings.Cut(uri, "#")
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
		if strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&") {
			sep = ""
		}
	}
	out := base + sep + setting
	if fragment != "" {
		out += "#" + fragment
	}
	return out
}

// Tuning holds settings of the embedded SpiceDB that hostaccess measures
// one at a time (hostaccess bench --only cold, docs/bench-cold.md); the zero
// value keeps SpiceDB's defaults. Only what won a measured A/B becomes a
// default elsewhere.
type Tuning struct {
	// QueryPlanChecks routes CheckPermission through SpiceDB's experimental
	// query plan engine (serve's --experimental-query-plan check).
	QueryPlanChecks bool
	// DispatchChunkSize caps the object ids in one dispatched request
	// (SpiceDB's default 100 when zero).
	DispatchChunkSize uint16
	// CheckConcurrency caps the goroutines one check (or sub-check) starts
	// (SpiceDB's default, the global limit of 50, when zero).
	CheckConcurrency uint16
}

// apply sets t's non-zero settings on SpiceDB's server configuration.
func (t Tuning) apply(c *server.Config) {
	if t.QueryPlanChecks && !slices.Contains(c.ExperimentalQueryPlan, "check") {
		c.ExperimentalQueryPlan = append(c.ExperimentalQueryPlan, "check")
	}
	if t.DispatchChunkSize > 0 {
		c.DispatchChunkSize = t.DispatchChunkSize
	}
	if t.CheckConcurrency > 0 {
		c.DispatchConcurrencyLimits.Check = t.CheckConcurrency
	}
}
