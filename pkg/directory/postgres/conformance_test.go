package postgres_test

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/directory/directorytest"
	"github.com/hostaccess/hostaccess/pkg/directory/postgres"
)

// cockroachEnv points the CockroachDB run of the suite at a server, e.g.
// postgres://root@127.0.0.1:26257/defaultdb?sslmode=disable.
const cockroachEnv = "HOSTACCESS_TEST_COCKROACH_URI"

func TestConformancePostgres(t *testing.T) {
	if os.Getenv(testutil.PostgresEnv) == "" {
		t.Skip(testutil.SkipMessage)
	}
	directorytest.RunConformance(t, func(t *testing.T) directory.Store {
		return openMigrated(t, testutil.PostgresDatabase(t), postgres.Postgres)
	})
}

func TestConformanceCockroachDB(t *testing.T) {
	if os.Getenv(cockroachEnv) == "" {
		t.Skip(cockroachEnv + " is not set: skipping the directory conformance suite on CockroachDB")
	}
	directorytest.RunConformance(t, func(t *testing.T) directory.Store {
		s := openMigrated(t, cockroachDatabase(t), postgres.CockroachDB)
		require.Equal(t, postgres.CockroachDB, s.Dialect())
		return s
	})
}

// openMigrated migrates the database at uri and opens a store on it.
func openMigrated(t *testing.T, uri string, dialect postgres.Dialect) *postgres.Store {
	t.Helper()
	require.NoError(t, postgres.Migrate(t.Context(), uri, dialect))
	s, err := postgres.Open(t.Context(), uri, postgres.PoolConfig{MaxConns: 4})
	require.NoError(t, err)
	return s
}

// cockroachDatabase creates a fresh database for one test on the CockroachDB
// server named by HOSTACCESS_TEST_COCKROACH_URI and drops it afterwards.
func cockroachDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv(cockroachEnv)
	u, err := url.Parse(base)
	require.NoError(t, err, "%s is not a URL", cockroachEnv)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	require.NoError(t, err, "cannot reach CockroachDB at %s=%s", cockroachEnv, u.Redacted())
	defer admin.Close(context.Background())

	name := pgx.Identifier{"hostaccess_test_" + randomSuffix(t)}.Sanitize()
	_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" CASCADE"); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name[1:len(name)-1]
	return u.String()
}
