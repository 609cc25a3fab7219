package engine_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/pkg/engine"
	"github.com/hostaccess/hostaccess/schema"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// startMemory runs an embedded engine on the memory datastore for one test.
func startMemory(t *testing.T) *engine.Engine {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	eng, err := engine.Open(ctx, engine.Config{
		DatastoreEngine: engine.EngineMemory,
		GRPCAddr:        freeAddr(t),
		PresharedKey:    "test-key",
	}, zap.NewNop())
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(15 * time.Second):
			t.Error("engine did not stop")
		}
		require.NoError(t, eng.Close())
	})
	return eng
}

func TestEnsureSchemaWritesOnceThenLeavesItAlone(t *testing.T) {
	eng := startMemory(t)
	ctx := context.Background()

	require.Error(t, eng.Ready(ctx), "not ready before the schema is written")

	change, err := eng.EnsureSchema(ctx, schema.Hosting)
	require.NoError(t, err)
	require.True(t, change.Written)
	require.NoError(t, eng.Ready(ctx))

	change, err = eng.EnsureSchema(ctx, schema.Hosting)
	require.NoError(t, err)
	require.False(t, change.Written, "an identical schema is not rewritten")
	require.Empty(t, change.Changes)
}

func TestEnsureSchemaAppliesAcceptedChangeAndRefusesOrphaning(t *testing.T) {
	eng := startMemory(t)
	ctx := context.Background()
	_, err := eng.EnsureSchema(ctx, schema.Hosting)
	require.NoError(t, err)

	// An added permission is accepted and reported.
	extended := strings.Replace(schema.Hosting, "permission close = owner", "permission close = owner\n\tpermission audit = owner", 1)
	change, err := eng.EnsureSchema(ctx, extended)
	require.NoError(t, err)
	require.True(t, change.Written)
	require.Equal(t, []string{"account: added-permission audit"}, change.Changes)

	// Removing a relation still in use is refused, and nothing changes.
	_, err = eng.Client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
		Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
		Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"},
			Relation: "billing",
			Subject:  &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "carol"}},
		},
	}}})
	require.NoError(t, err)
	orphaning := strings.Replace(extended, "\trelation billing: user | user with expiration\n", "", 1)
	orphaning = strings.Replace(orphaning, "(billing & access)", "(support & access)", 1)
	change, err = eng.EnsureSchema(ctx, orphaning)
	require.ErrorContains(t, err, "billing")
	require.Contains(t, change.Changes, "account: removed-relation billing")

	stored, err := eng.Client.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	require.NoError(t, err)
	require.Contains(t, stored.GetSchemaText(), "relation billing:")
	require.Contains(t, stored.GetSchemaText(), "permission audit")
}

func TestConfigValidate(t *testing.T) {
	valid := engine.Config{DatastoreEngine: engine.EngineMemory, GRPCAddr: ":50051", PresharedKey: "k"}
	require.NoError(t, valid.Validate())

	for name, tc := range map[string]struct {
		mutate func(*engine.Config)
		want   string
	}{
		"unknown engine":         {func(c *engine.Config) { c.DatastoreEngine = "mysql" }, `unknown --datastore-engine "mysql"`},
		"postgres without uri":   {func(c *engine.Config) { c.DatastoreEngine = engine.EnginePostgres }, "--datastore-conn-uri is required"},
		"memory with uri":        {func(c *engine.Config) { c.DatastoreURI = "postgres://x" }, "not used by the memory datastore"},
		"no key":                 {func(c *engine.Config) { c.PresharedKey = "" }, "--grpc-preshared-key is required"},
		"bad grpc addr":          {func(c *engine.Config) { c.GRPCAddr = "nowhere" }, "invalid --grpc-addr"},
		"endpoint without token": {func(c *engine.Config) { c.SpiceDBEndpoint = "spicedb:50051" }, "--spicedb-token is required"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := valid
			tc.mutate(&cfg)
			require.ErrorContains(t, cfg.Validate(), tc.want)
		})
	}

	noAuth := valid
	noAuth.PresharedKey = ""
	noAuth.InsecureNoAuth = true
	require.NoError(t, noAuth.Validate())
}

func TestOpenFailsClearlyWhenPostgresIsUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := engine.Open(ctx, engine.Config{
		DatastoreEngine: engine.EnginePostgres,
		DatastoreURI:    "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2",
		GRPCAddr:        freeAddr(t),
		PresharedKey:    "k",
	}, zap.NewNop())
	require.ErrorContains(t, err, "postgres")
}

func TestDiffSchemas(t *testing.T) {
	same, err := engine.DiffSchemas(schema.Hosting, schema.Hosting)
	require.NoError(t, err)
	require.Empty(t, same)

	_, err = engine.DiffSchemas(schema.Hosting, "definition broken {")
	require.Error(t, err)
}

// TestEngineOnPostgres runs the embedded engine on a real Postgres: the
// migrations run, the schema is written, and data survives a restart.
func TestEngineOnPostgres(t *testing.T) {
	uri := testutil.PostgresDatabase(t)
	ctx := context.Background()

	open := func() (*engine.Engine, context.CancelFunc, chan error) {
		runCtx, cancel := context.WithCancel(ctx)
		eng, err := engine.Open(runCtx, engine.Config{
			DatastoreEngine: engine.EnginePostgres,
			DatastoreURI:    uri,
			GRPCAddr:        freeAddr(t),
			PresharedKey:    "k",
		}, zap.NewNop())
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() { done <- eng.Run(runCtx) }()
		return eng, cancel, done
	}
	stop := func(eng *engine.Engine, cancel context.CancelFunc, done chan error) {
		cancel()
		require.NoError(t, <-done)
		require.NoError(t, eng.Close())
	}

	eng, cancel, done := open()
	change, err := eng.EnsureSchema(ctx, schema.Hosting)
	require.NoError(t, err)
	require.True(t, change.Written)
	write, err := eng.Client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
		Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
		Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"},
			Relation: "owner",
			Subject:  &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "alice"}},
		},
	}}})
	require.NoError(t, err)
	stop(eng, cancel, done)

	// Restart on the same database: migrations are a no-op, the schema is
	// unchanged, and the owner is still there.
	eng, cancel, done = open()
	defer stop(eng, cancel, done)
	change, err = eng.EnsureSchema(ctx, schema.Hosting)
	require.NoError(t, err)
	require.False(t, change.Written)
	resp, err := eng.Client.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: "acme"},
		Permission:  "close",
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "alice"}},
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: write.GetWrittenAt()}},
	})
	require.NoError(t, err)
	require.Equal(t, v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION, resp.GetPermissionship())
}
