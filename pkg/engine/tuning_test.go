package engine

import (
	"testing"

	"github.com/authzed/spicedb/pkg/cmd/server"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

func TestWithPreparedStatements(t *testing.T) {
	for _, tc := range []struct {
		name, engine, uri, want string
	}{
		{"url without query", EnginePostgres, "postgres://u@h:5432/db", "postgres://u@h:5432/db?default_query_exec_mode=cache_statement"},
		{"url with query", EnginePostgres, "postgresql://u@h/db?sslmode=disable", "postgresql://u@h/db?sslmode=disable&default_query_exec_mode=cache_statement"},
		{"unix socket as a parameter", EnginePostgres, "postgres://u@/db?host=/var/run/postgresql", "postgres://u@/db?host=/var/run/postgresql&default_query_exec_mode=cache_statement"},
		{"multi-host url", EnginePostgres, "postgres://u@a:5432,b:5432/db", "postgres://u@a:5432,b:5432/db?default_query_exec_mode=cache_statement"},
		{"keyword form", EnginePostgres, "host=h dbname=db", "host=h dbname=db default_query_exec_mode=cache_statement"},
		{"operator's choice kept", EnginePostgres, "postgres://u@h/db?default_query_exec_mode=exec", "postgres://u@h/db?default_query_exec_mode=exec"},
		{"statement cache sized by the operator", EnginePostgres, "postgres://u@h/db?statement_cache_capacity=0", "postgres://u@h/db?statement_cache_capacity=0"},
		{"cockroachdb untouched", EngineCockroachDB, "postgres://u@h:26257/db", "postgres://u@h:26257/db"},
		{"memory untouched", EngineMemory, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := withPreparedStatements(tc.engine, tc.uri)
			if got != tc.want {
				t.Fatalf("withPreparedStatements(%q) = %q, want %q", tc.uri, got, tc.want)
			}
			if tc.engine != EnginePostgres || tc.name == "multi-host url" || got == tc.uri && tc.name != "operator's choice kept" {
				return // nothing added, nothing named: SpiceDB's default applies
			}
			// pgx, which SpiceDB's Postgres datastore uses, must read the
			// mode back from the connection string we hand SpiceDB.
			cfg, err := pgx.ParseConfig(got)
			if err != nil {
				t.Fatalf("pgx cannot parse %q: %v", got, err)
			}
			want := pgx.QueryExecModeCacheStatement
			if tc.name == "operator's choice kept" {
				want = pgx.QueryExecModeExec
			}
			if cfg.DefaultQueryExecMode != want {
				t.Fatalf("pgx reads mode %v from %q, want %v", cfg.DefaultQueryExecMode, got, want)
			}
		})
	}
}

func TestTuningKeepsSpiceDBDefaultsWhenZero(t *testing.T) {
	defaults := server.NewConfigWithOptionsAndDefaults()
	got := server.NewConfigWithOptionsAndDefaults()
	Tuning{}.apply(got)
	require.Equal(t, defaults.ExperimentalQueryPlan, got.ExperimentalQueryPlan)
	require.Equal(t, defaults.DispatchChunkSize, got.DispatchChunkSize)
	require.Equal(t, defaults.DispatchConcurrencyLimits, got.DispatchConcurrencyLimits)

	Tuning{QueryPlanChecks: true, DispatchChunkSize: 50, CheckConcurrency: 4}.apply(got)
	Tuning{QueryPlanChecks: true}.apply(got) // twice: listed once
	require.Equal(t, []string{"check"}, got.ExperimentalQueryPlan)
	require.EqualValues(t, 50, got.DispatchChunkSize)
	require.EqualValues(t, 4, got.DispatchConcurrencyLimits.Check)
}
