// Package testutil holds helpers shared by tests that need real services.
package testutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the variable that points tests at a Postgres server,
// e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
const PostgresEnv = "HOSTACCESS_TEST_POSTGRES_URI"

// SkipMessage is printed by every test skipped for want of Postgres; .ci/run
// fails when it sees it.
const SkipMessage = PostgresEnv + " is not set: skipping a test that needs a real Postgres (make test-integration runs them)"

// PostgresDatabase creates a fresh, empty database for one test on the
// server named by HOSTACCESS_TEST_POSTGRES_URI, drops it when the test ends,
// and returns its connection string. Without the variable the test is
// skipped with SkipMessage; with it, an unreachable server fails the test.
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skip(SkipMessage)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", PostgresEnv, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("cannot reach Postgres at %s=%s: %v", PostgresEnv, u.Redacted(), err)
	}
	defer admin.Close(context.Background())

	name := "hostaccess_test_" + RandomSuffix(t)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() { DropDatabase(t, base, name) })

	u.Path = "/" + name
	return u.String()
}

// RandomSuffix makes database names unique.
func RandomSuffix(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// DropDatabase drops a test database, forcing connections out.
func DropDatabase(t testing.TB, base, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Errorf("dropping test database %s: %v", name, err)
		return
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("dropping test database %s: %v", name, err)
	}
}

// UsePostgres reports whether tests run their stores on Postgres
// (HOSTACCESS_TEST_POSTGRES_URI is set) rather than in memory.
func UsePostgres() bool { return os.Getenv(PostgresEnv) != "" }
