package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/directory/postgres"
)

func randomSuffix(t *testing.T) string {
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

func TestOpenDetectsPostgres(t *testing.T) {
	s := openMigrated(t, testutil.PostgresDatabase(t), postgres.Postgres)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	require.Equal(t, postgres.Postgres, s.Dialect())
}

// Times come back in UTC whatever the session's time zone, so callers can
// compare and print them without surprises.
func TestTimesComeBackUTC(t *testing.T) {
	uri := testutil.PostgresDatabase(t)
	u, err := url.Parse(uri)
	require.NoError(t, err)
	q := u.Query()
	q.Set("timezone", "Asia/Tokyo")
	u.RawQuery = q.Encode()

	s := openMigrated(t, u.String(), postgres.Postgres)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	ctx := t.Context()

	created := time.Date(2026, 3, 1, 12, 30, 0, 123456000, time.FixedZone("CET", 3600))
	require.NoError(t, s.CreateAccount(ctx, directory.Account{ID: "acme", Name: "Acme", CreatedAt: created}))
	got, err := s.GetAccount(ctx, "acme")
	require.NoError(t, err)
	require.Same(t, time.UTC, got.CreatedAt.Location())
	require.True(t, created.Equal(got.CreatedAt))

	e, err := s.AppendAudit(ctx, directory.AuditEntry{Time: created, Actor: "user:alice", Flow: "invite", AccountID: "acme"})
	require.NoError(t, err)
	require.Same(t, time.UTC, e.Time.Location())
}

// Contact names sort by bytes, like the memory store and Go's
// strings.Compare, even in a database whose default collation is a
// language's (en-US puts "adam" before "Zed").
func TestListContactsByteOrderUnderLanguageCollation(t *testing.T) {
	uri := enUSDatabase(t)
	s := openMigrated(t, uri, postgres.Postgres)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	ctx := t.Context()

	for id, name := range map[string]string{"k1": "adam", "k2": "Zed", "k3": "Émile", "k4": "bob"} {
		require.NoError(t, s.PutContact(ctx, directory.Contact{ID: id, AccountID: "acme", Name: name, CreatedAt: time.Now(), UpdatedAt: time.Now()}))
	}
	list, err := s.ListContacts(ctx, "acme")
	require.NoError(t, err)
	var names []string
	for _, c := range list {
		names = append(names, c.Name)
	}
	require.Equal(t, []string{"Zed", "adam", "bob", "Émile"}, names)
}

// New is for callers that own their pool: closing the store leaves it open.
func TestNewDoesNotClosePool(t *testing.T) {
	uri := testutil.PostgresDatabase(t)
	require.NoError(t, postgres.Migrate(t.Context(), uri, postgres.Postgres))
	pool, err := pgxpool.New(t.Context(), uri)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	s := postgres.New(pool, postgres.Postgres)
	require.NoError(t, s.CreateAccount(t.Context(), directory.Account{ID: "acme", Name: "Acme", CreatedAt: time.Now()}))
	require.NoError(t, s.Close())
	require.NoError(t, pool.Ping(t.Context()))
}

// enUSDatabase creates a database whose default collation is ICU's en-US
// (testutil's follow the server's default, often C) and drops it afterwards.
func enUSDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv(testutil.PostgresEnv)
	if base == "" {
		t.Skip(testutil.SkipMessage)
	}
	u, err := url.Parse(base)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	require.NoError(t, err)
	defer admin.Close(context.Background())

	name := "hostaccess_test_" + randomSuffix(t)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+
		" TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'")
	if err != nil {
		t.Skipf("this server cannot create a database with ICU's en-US collation: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// A restore never hands out a Seq again: when the audit sequence is already
// past the snapshot's highest (entries deleted by hand before restoring an
// older backup), ImportAll leaves it there.
func TestImportAllNeverMovesSequenceBack(t *testing.T) {
	uri := testutil.PostgresDatabase(t)
	s := openMigrated(t, uri, postgres.Postgres)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	ctx := t.Context()

	var last int64
	for range 5 {
		e, err := s.AppendAudit(ctx, directory.AuditEntry{Time: time.Now(), Actor: "user:alice", Flow: "invite", AccountID: "acme"})
		require.NoError(t, err)
		last = e.Seq
	}
	conn, err := pgx.Connect(ctx, uri)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, `DELETE FROM hostaccess.audit`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `UPDATE hostaccess.audit_chain SET head_seq = 0, head_hash = NULL`)
	require.NoError(t, err)

	require.NoError(t, s.ImportAll(ctx, directory.Snapshot{Audit: []directory.AuditEntry{
		{Seq: 2, Time: time.Now(), Actor: "user:alice", Flow: "invite", AccountID: "acme"},
	}}))
	e, err := s.AppendAudit(ctx, directory.AuditEntry{Time: time.Now(), Actor: "user:alice", Flow: "invite", AccountID: "acme"})
	require.NoError(t, err)
	require.Greater(t, e.Seq, last)
}

// The chain detects what someone with access to the database does to the
// audit table by hand: an entry edited in place, another deleted.
func TestAuditChainDetectsTamperingInTheDatabase(t *testing.T) {
	uri := testutil.PostgresDatabase(t)
	s := openMigrated(t, uri, postgres.Postgres)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	ctx := t.Context()
	for i := range 5 {
		_, err := s.AppendAudit(ctx, directory.AuditEntry{Time: time.Now(), Actor: "user:alice", Flow: "set_access",
			AccountID: "acme", Target: "user:u" + strconv.Itoa(i), After: []byte(`{"rights": ["billing"]}`)})
		require.NoError(t, err)
	}
	r, err := directory.Verify(ctx, s)
	require.NoError(t, err)
	require.True(t, r.OK(), "%+v", r.Problems)

	conn, err := pgx.Connect(ctx, uri)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, `UPDATE hostaccess.audit SET after_state = '{"rights": ["security"]}' WHERE chain_seq = 2`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `DELETE FROM hostaccess.audit WHERE chain_seq = 4`)
	require.NoError(t, err)

	r, err = directory.Verify(ctx, s)
	require.NoError(t, err)
	require.Len(t, r.Problems, 2, "%+v", r.Problems)
	require.Equal(t, int64(2), r.Problems[0].Chain)
	require.Contains(t, r.Problems[0].Reason, "edited")
	require.Equal(t, int64(4), r.Problems[1].Chain)
	require.Contains(t, r.Problems[1].Reason, "missing")
}
