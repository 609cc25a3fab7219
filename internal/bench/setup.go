package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/jackc/pgx/v5"

	"github.com/hostaccess/hostaccess/internal/relfile"
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/engine"
	"github.com/hostaccess/hostaccess/pkg/freshness"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
	"github.com/hostaccess/hostaccess/pkg/stack"
)

// Env is a loaded provider behind a running engine.
type Env struct {
	Provider *Provider
	Engine   *engine.Engine
	Service  *hostaccess.Service
	Dir      directory.Store
	// Freshness is the token tracker (nil with --consistency full).
	Freshness *freshness.Tracker
	// loadToken is a revision at least as new as the load.
	loadToken *v1.ZedToken
	grpcAddr  string // SpiceDB's API, on loopback
	report    *Report
	v         *verifier
	cfg       Config
	stop      func()
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// checkDatabase refuses a database that already holds tables: a benchmark
// loads a whole provider and must not mix with (or damage) real data. With
// tokens it also needs SpiceDB's Watch API, which Postgres serves only with
// commit timestamps: refused at once rather than after generating and
// loading the data.
func checkDatabase(ctx context.Context, uri, consistency string) error {
	conn, err := pgx.Connect(ctx, uri)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", redact(uri), err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if consistency == ConsistencyTokens {
		var setting string
		if err := conn.QueryRow(ctx, `SHOW track_commit_timestamp`).Scan(&setting); err != nil {
			return err
		}
		if setting != "on" {
			return errors.New("--consistency tokens needs SpiceDB's Watch API, which on Postgres needs track_commit_timestamp = on (ALTER SYSTEM SET track_commit_timestamp = on, then restart Postgres); or measure with --consistency full")
		}
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("the database %s is not empty (%d tables): bench loads a whole generated provider and needs a fresh, empty database (createdb NAME)", redact(uri), n)
	}
	return nil
}

func redact(uri string) string {
	if at := strings.LastIndex(uri, "@"); at >= 0 {
		if scheme := strings.Index(uri, "://"); scheme >= 0 && scheme < at {
			return uri[:scheme+3] + "…" + uri[at:]
		}
	}
	return uri
}

// Setup generates the provider, starts the engine (migrating a fresh
// Postgres database first), and loads the data through the product's own
// paths, timing the load.
func Setup(ctx context.Context, cfg Config) (*Env, error) {
	if cfg.Accounts < 1 {
		return nil, errors.New("--accounts must be at least 1")
	}
	if cfg.DatastoreEngine == "" {
		cfg.DatastoreEngine = engine.EngineMemory
	}
	switch cfg.Only {
	case "", OnlyConditions, OnlyWarm, OnlyFlows, OnlyCold:
	default:
		return nil, fmt.Errorf("unknown --only %q: use %s, %s, %s or %s, or leave it out for every workload", cfg.Only, OnlyConditions, OnlyWarm, OnlyFlows, OnlyCold)
	}
	if cfg.CompareSpiceDB != "" && cfg.Only != OnlyCold {
		return nil, fmt.Errorf("--compare-spicedb is for --only %s", OnlyCold)
	}
	switch cfg.Consistency {
	case "":
		cfg.Consistency = ConsistencyTokens
	case ConsistencyTokens, ConsistencyFull:
	default:
		return nil, fmt.Errorf("unknown --consistency %q: use tokens or full", cfg.Consistency)
	}
	rep := &Report{Consistency: cfg.Consistency, Engine: cfg.DatastoreEngine, Accounts: cfg.Accounts, Seed: cfg.Seed, CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), DurationPerLoad: cfg.Duration.String(), LoadAvgStart: loadAvg()}
	switch cfg.DatastoreEngine {
	case engine.EngineMemory:
	case engine.EnginePostgres:
		if cfg.DatastoreURI == "" {
			return nil, errors.New("--datastore-conn-uri is required with --datastore-engine postgres")
		}
		if err := checkDatabase(ctx, cfg.DatastoreURI, cfg.Consistency); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("bench runs on memory or postgres, not %q", cfg.DatastoreEngine)
	}

	t0 := time.Now()
	p := Generate(cfg.Accounts, cfg.Seed, time.Now())
	rels := p.Relationships()
	rep.Users, rep.Relationships = p.Users, len(rels)
	for _, a := range p.Accounts {
		rep.Products += len(a.Products)
	}
	cfg.logf("generated %d accounts, %d users, %d products, %d relationships in %s", cfg.Accounts, p.Users, rep.Products, len(rels), time.Since(t0).Round(time.Millisecond))

	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// The stack as serve runs it: SpiceDB on a loopback port (the service
	// reaches it over TCP, as in serve), the directory beside it. The data
	// is loaded once the schema is written, before the watch starts.
	consistency := stack.ConsistencyTokens
	if cfg.Consistency == ConsistencyFull {
		consistency = stack.ConsistencyFull
	}
	env := &Env{Provider: p, report: rep, v: &verifier{}, cfg: cfg, grpcAddr: addr}
	srv := &stack.Server{
		Engine: engine.Config{
			DatastoreEngine: cfg.DatastoreEngine, DatastoreURI: cfg.DatastoreURI,
			GRPCAddr: addr, InsecureNoAuth: true, DisableDatastoreMetrics: true,
			RevisionQuantization: cfg.RevisionQuantization, DispatchCacheMaxCost: cfg.DispatchCacheMaxCost,
			WatchInterval: 100 * time.Millisecond,
			Tuning:        cfg.Tuning, ReadPoolMaxOpen: cfg.ReadPoolMaxOpen, WritePoolMaxOpen: cfg.WritePoolMaxOpen,
		},
		Schema:            cfg.Schema,
		Consistency:       consistency,
		FreshnessUnpinned: cfg.Unpinned,
		FollowWait:        30 * time.Second,
		RecoverInterval:   -1, // nothing is interrupted in a bench
		Prepare: func(ctx context.Context, s *stack.Server) error {
			return env.load(ctx, s, rels)
		},
	}
	env.stop = func() {
		if err := srv.Close(); err != nil {
			cfg.logf("closing the stack: %v", err)
		}
	}
	if err := srv.Start(ctx); err != nil {
		env.stop()
		return nil, err
	}
	if tracker := srv.Freshness(); tracker != nil {
		if err := tracker.WaitFollowing(ctx, 0); err != nil {
			env.stop()
			return nil, err
		}
	}
	env.Engine, env.Dir, env.Freshness, env.Service = srv.SpiceDB(), srv.Store(), srv.Freshness(), srv.Service()
	return env, nil
}

// load bulk-imports the generated relationships and directory, timing each
// step, and remembers the revision after the load.
func (e *Env) load(ctx context.Context, s *stack.Server, rels []*v1.Relationship) error {
	cfg, rep, client := e.cfg, e.report, s.Client()
	t1 := time.Now()
	// One relfile.Import per importChunk relationships: each import is one
	// transaction in one stream, and SpiceDB ends a stream after its
	// streaming API timeout (30 s by default), which a single import of
	// about a million relationships exceeds on a 2-core machine.
	var n uint64
	for start := 0; start < len(rels); start += importChunk {
		loaded, err := relfile.Import(ctx, client, relfile.File{Relationships: rels[start:min(start+importChunk, len(rels))]})
		if err != nil {
			return fmt.Errorf("relationships %d-%d: %w", start, min(start+importChunk, len(rels)), err)
		}
		n += loaded
		rep.ImportCalls++
	}
	rep.LoadSeconds = time.Since(t1).Seconds()
	rep.LoadPerSecond = float64(n) / rep.LoadSeconds
	if int(n) != len(rels) {
		return fmt.Errorf("bulk import loaded %d of %d relationships", n, len(rels))
	}
	cfg.logf("bulk-imported %d relationships in %.1fs (%.0f/s)", n, rep.LoadSeconds, rep.LoadPerSecond)
	t2 := time.Now()
	if err := s.Store().ImportAll(ctx, e.Provider.Directory()); err != nil {
		return fmt.Errorf("loading the directory: %w", err)
	}
	rep.DirectorySeconds = time.Since(t2).Seconds()
	if cfg.DatastoreEngine == engine.EnginePostgres {
		// As the offline import does: without it, Postgres plans on
		// empty-table statistics until autovacuum gets to the tables.
		t3 := time.Now()
		if err := engine.Analyze(ctx, cfg.DatastoreEngine, cfg.DatastoreURI); err != nil {
			return err
		}
		rep.AnalyzeSeconds = time.Since(t3).Seconds()
		cfg.logf("analyzed the loaded tables in %.1fs", rep.AnalyzeSeconds)
	}

	head, err := client.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
		Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: "bench-load-token"},
		Permission:  "view",
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "bench"}},
	})
	if err != nil {
		return fmt.Errorf("reading the revision after the load: %w", err)
	}
	e.loadToken = head.GetCheckedAt()
	return nil
}

// Close stops the engine.
func (e *Env) Close() { e.stop() }

// importChunk is how many relationships one bulk import carries.
const importChunk = 250_000
