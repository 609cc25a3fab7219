package testengine

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/pkg/directory/postgres"
	"github.com/hostaccess/hostaccess/pkg/engine"
)

// MigratedDatabase creates a fresh database for one test, already migrated
// for SpiceDB and the directory: it is cloned from a template database that
// is migrated once per migration version (CREATE DATABASE ... TEMPLATE),
// which takes a fraction of running the migrations each time. Skips like
// PostgresDatabase without the variable.
func MigratedDatabase(t testing.TB) string {
	t.Helper()
	base := os.Getenv(testutil.PostgresEnv)
	if base == "" {
		t.Skip(testutil.SkipMessage)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tmpl, err := ensureTemplate(ctx, base)
	if err != nil {
		t.Fatalf("preparing the migrated template database: %v", err)
	}
	return cloneDatabase(t, base, tmpl)
}

// templateName names the template after the migration heads, so a new
// migration gets a new template.
func templateName() (string, error) {
	spicedbHead, err := engine.MigrationHead(engine.EnginePostgres)
	if err != nil {
		return "", err
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(spicedbHead + "|" + postgres.HeadRevision() + "|" + engine.TuningVersion))
	return fmt.Sprintf("hostaccess_template_%08x", h.Sum32()), nil
}

// ensureTemplate creates and migrates the template once; concurrent test
// processes serialise on an advisory lock.
func ensureTemplate(ctx context.Context, base string) (string, error) {
	name, err := templateName()
	if err != nil {
		return "", err
	}
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", fmt.Errorf("cannot reach Postgres at %s: %w", testutil.PostgresEnv, err)
	}
	defer func() { _ = admin.Close(context.Background()) }()
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(hashtext($1))", name); err != nil {
		return "", err
	}
	defer func() { _, _ = admin.Exec(context.Background(), "SELECT pg_advisory_unlock(hashtext($1))", name) }()

	var ready bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)", name).Scan(&ready); err != nil {
		return "", err
	}
	if ready {
		return name, nil
	}
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return "", err
	}
	uri, err := withDatabase(base, name)
	if err != nil {
		return "", err
	}
	if err := engine.Migrate(ctx, engine.EnginePostgres, uri, zap.NewNop()); err != nil {
		return "", err
	}
	if err := postgres.Migrate(ctx, uri, postgres.Postgres); err != nil {
		return "", err
	}
	// Marked a template only once fully migrated: a crash midway leaves a
	// plain database, which the next run drops and redoes.
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+ident+" WITH IS_TEMPLATE true"); err != nil {
		return "", err
	}
	return name, nil
}

func cloneDatabase(t testing.TB, base, tmpl string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("cannot reach Postgres at %s: %v", testutil.PostgresEnv, err)
	}
	defer func() { _ = admin.Close(context.Background()) }()
	name := "hostaccess_test_" + testutil.RandomSuffix(t)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{tmpl}.Sanitize()); err != nil {
		t.Fatalf("cloning the template database: %v", err)
	}
	t.Cleanup(func() { testutil.DropDatabase(t, base, name) })
	uri, err := withDatabase(base, name)
	if err != nil {
		t.Fatal(err)
	}
	return uri
}

func withDatabase(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("%s is not a URL: %w", testutil.PostgresEnv, err)
	}
	u.Path = "/" + name
	return u.String(), nil
}
