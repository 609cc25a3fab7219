package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// ErrMismatch is returned when an answer differs from the one the
// generated data implies.
var ErrMismatch = errors.New("bench: answers differ from the generated data")

// Config configures a run.
type Config struct {
	Accounts        int
	Seed            uint64
	DatastoreEngine string
	DatastoreURI    string
	// Duration bounds each workload.
	Duration time.Duration
	// Verify is how many sampled questions are verified up front (CanAll).
	Verify int
	// SkipFlows leaves out the write flows.
	SkipFlows bool
	// Consistency is how the service's checks are made: "tokens" (the
	// default: per-account freshness tokens, pkg/freshness) or "full"
	// (every check fully consistent).
	Consistency string
	// RevisionQuantization and DispatchCacheMaxCost tune SpiceDB as serve's
	// flags do (SpiceDB's defaults when zero or empty).
	RevisionQuantization time.Duration
	DispatchCacheMaxCost string
	// Log receives progress lines (nil: none).
	Log io.Writer
	// CPUProfile, when set, receives a CPU profile of the workloads (not of
	// generating and loading the data); HeapProfile a heap profile taken
	// when they end. Both in pprof's format (go tool pprof).
	CPUProfile, HeapProfile io.Writer
}

// Stats is one workload's outcome.
type Stats struct {
	Workload    string  `json:"workload"`
	Path        string  `json:"path"`
	Concurrency int     `json:"concurrency"`
	Count       int     `json:"count"`
	Errors      int     `json:"errors"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	// ChecksPerSecond counts questions, for page loads (50 or 51 a page).
	ChecksPerSecond float64 `json:"checks_per_second,omitempty"`
	P50ms           float64 `json:"p50_ms"`
	P90ms           float64 `json:"p90_ms"`
	P99ms           float64 `json:"p99_ms"`
	Note            string  `json:"note,omitempty"`
}

// Ratio compares the service path with the raw SpiceDB API on the same questions.
type Ratio struct {
	Workload string  `json:"workload"`
	Service  float64 `json:"service_per_second"`
	Raw      float64 `json:"raw_per_second"`
	// ServiceOverRaw is service throughput / raw throughput (1.0: no overhead).
	ServiceOverRaw float64 `json:"service_over_raw"`
}

// Report is a run's outcome.
type Report struct {
	Engine            string   `json:"datastore_engine"`
	Accounts          int      `json:"accounts"`
	Seed              uint64   `json:"seed"`
	Users             int      `json:"users"`
	Relationships     int      `json:"relationships"`
	Products          int      `json:"products"`
	LoadSeconds       float64  `json:"load_seconds"`
	LoadPerSecond     float64  `json:"load_relationships_per_second"`
	ImportCalls       int      `json:"import_calls"`
	DirectorySeconds  float64  `json:"directory_load_seconds"`
	AnalyzeSeconds    float64  `json:"analyze_seconds,omitempty"`
	Workloads         []Stats  `json:"workloads"`
	Ratios            []Ratio  `json:"ratios"`
	Verified          int      `json:"answers_verified"`
	Mismatches        int      `json:"mismatches"`
	MismatchSamples   []string `json:"mismatch_samples,omitempty"`
	Invariants        []string `json:"invariants,omitempty"`
	PeakRSSMiB        float64  `json:"peak_rss_mib"`
	PeakRSSPerMillion float64  `json:"peak_rss_mib_per_million_relationships"`
	CPUs              int      `json:"cpus"`
	GoVersion         string   `json:"go_version"`
	DurationPerLoad   string   `json:"duration_per_workload"`
	// LoadAvg is /proc/loadavg at the start and at the end of the run:
	// other processes on the machine skew every figure.
	LoadAvgStart string `json:"loadavg_start"`
	LoadAvgEnd   string `json:"loadavg_end"`
	// Consistency is the service's check consistency (tokens or full), and
	// Freshness the token tracker's counters at the end.
	Consistency string           `json:"consistency"`
	Freshness   *freshness.Stats `json:"freshness,omitempty"`
	// StaleAfterChanges counts answers, asked after a change returned,
	// that did not reflect it (page loads under changes): must be 0.
	StaleAfterChanges  int `json:"stale_answers_after_changes"`
	JudgedAfterChanges int `json:"answers_judged_after_changes"`
}

func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(raw))
	return strings.Join(f[:min(3, len(f))], " ")
}

// verifier records answers compared with expected ones.
type verifier struct {
	mu         sync.Mutex
	checked    int
	mismatches []string
}

func (v *verifier) record(q Question, got bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.checked++
	if got != q.Expected {
		v.mismatches = append(v.mismatches, fmt.Sprintf("%s: got %t", q, got))
	}
}

func (v *verifier) ok() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.checked++
}

func (v *verifier) fail(what string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.checked++
	v.mismatches = append(v.mismatches, what)
}

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
	report    *Report
	v         *verifier
	cfg       Config
	stop      func()
}

// Check consistencies of the service path.
const (
	ConsistencyTokens = "tokens"
	ConsistencyFull   = "full"
)

// rawConsistency is what the raw SpiceDB path asks for: what a careful
// client keeping one token would (at least as fresh as the load, cached
// otherwise), or fully consistent when the service is, so each ratio
// compares like with like. (minimize_latency alone may answer from before
// the load: up to a quantization window old.)
func (e *Env) rawConsistency() *v1.Consistency {
	if e.cfg.Consistency == ConsistencyFull || e.loadToken == nil {
		return &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
	}
	return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: e.loadToken}}
}

func (c Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, "bench: "+format+"\n", args...)
	}
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
	env := &Env{Provider: p, report: rep, v: &verifier{}, cfg: cfg}
	srv := &stack.Server{
		Engine: engine.Config{
			DatastoreEngine: cfg.DatastoreEngine, DatastoreURI: cfg.DatastoreURI,
			GRPCAddr: addr, InsecureNoAuth: true, DisableDatastoreMetrics: true,
			RevisionQuantization: cfg.RevisionQuantization, DispatchCacheMaxCost: cfg.DispatchCacheMaxCost,
			WatchInterval: 100 * time.Millisecond,
		},
		Consistency:     consistency,
		FollowWait:      30 * time.Second,
		RecoverInterval: -1, // nothing is interrupted in a bench
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

// Mismatch is one answer that differs from the generated data's.
type Mismatch struct {
	Question Question
	Got      bool
}

// Verify asks qs through the service (CanAll, 100 at a time) and returns
// the answers that differ from the expected ones.
func (e *Env) Verify(ctx context.Context, qs []Question) ([]Mismatch, error) {
	var out []Mismatch
	for start := 0; start < len(qs); start += 100 {
		batch := qs[start:min(start+100, len(qs))]
		checks := make([]hostaccess.Check, len(batch))
		for i, q := range batch {
			checks[i] = q.Check
		}
		answers, err := e.Service.CanAll(ctx, checks, hostaccess.CheckOptions{})
		if err != nil {
			return out, err
		}
		for i, a := range answers {
			if a.Error != "" {
				return out, fmt.Errorf("%s: %s", batch[i], a.Error)
			}
			if a.Allowed != batch[i].Expected {
				out = append(out, Mismatch{Question: batch[i], Got: a.Allowed})
			}
		}
	}
	return out, nil
}

// Run generates, loads and measures; it returns ErrMismatch (with the
// report) when any verified answer differs from the generated data.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Duration <= 0 {
		cfg.Duration = 3 * time.Second
	}
	env, err := Setup(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer env.Close()
	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return nil, fmt.Errorf("starting the CPU profile: %w", err)
		}
	}
	err = env.workloads(ctx)
	if cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	if cfg.HeapProfile != nil {
		if perr := pprof.WriteHeapProfile(cfg.HeapProfile); perr != nil && err == nil {
			err = fmt.Errorf("writing the heap profile: %w", perr)
		}
	}
	if err != nil {
		return env.report, err
	}
	return env.finish()
}

// finish fills in the verification and memory figures; ErrMismatch when
// any answer differed from the generated data.
func (e *Env) finish() (*Report, error) {
	rep := e.report
	rep.Verified = e.v.checked
	rep.Mismatches = len(e.v.mismatches)
	rep.MismatchSamples = e.v.mismatches[:min(10, len(e.v.mismatches))]
	rep.PeakRSSMiB = peakRSSMiB()
	if e.Freshness != nil {
		st := e.Freshness.Stats()
		rep.Freshness = &st
	}
	rep.LoadAvgEnd = loadAvg()
	if rep.Relationships > 0 {
		rep.PeakRSSPerMillion = rep.PeakRSSMiB / (float64(rep.Relationships) / 1e6)
	}
	if rep.Mismatches > 0 {
		return rep, fmt.Errorf("%w: %d of %d answers wrong, e.g. %s", ErrMismatch, rep.Mismatches, rep.Verified, rep.MismatchSamples[0])
	}
	return rep, nil
}

// peakRSSMiB reads the process's peak resident set (VmHWM).
func peakRSSMiB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// measure runs op from conc workers until d has passed or limit ops ran
// (limit 0: no limit).
func measure(ctx context.Context, workload, path string, conc int, d time.Duration, limit int, op func(ctx context.Context, i int) error) Stats {
	var next atomic.Int64
	var mu sync.Mutex
	var lats []time.Duration
	var errs int
	var firstErr string
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			var myErrs int
			var myFirst string
			for ctx.Err() == nil && time.Since(start) < d {
				i := int(next.Add(1) - 1)
				if limit > 0 && i >= limit {
					break
				}
				t := time.Now()
				err := op(ctx, i)
				mine = append(mine, time.Since(t))
				if err != nil {
					myErrs++
					if myFirst == "" {
						myFirst = err.Error()
					}
				}
			}
			mu.Lock()
			lats = append(lats, mine...)
			errs += myErrs
			if firstErr == "" {
				firstErr = myFirst
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	s := summarize(workload, path, conc, lats, time.Since(start))
	s.Errors = errs
	if firstErr != "" {
		s.Note = "first error: " + firstErr
	}
	return s
}

func summarize(workload, path string, conc int, lats []time.Duration, elapsed time.Duration) Stats {
	s := Stats{Workload: workload, Path: path, Concurrency: conc, Count: len(lats), Seconds: elapsed.Seconds()}
	if len(lats) == 0 {
		return s
	}
	slices.Sort(lats)
	pct := func(p float64) float64 {
		i := int(float64(len(lats)-1) * p)
		return float64(lats[i].Microseconds()) / 1000
	}
	s.PerSecond = float64(len(lats)) / elapsed.Seconds()
	s.P50ms, s.P90ms, s.P99ms = pct(0.50), pct(0.90), pct(0.99)
	return s
}

func (e *Env) add(s Stats) Stats {
	e.report.Workloads = append(e.report.Workloads, s)
	e.cfg.logf("%-34s %-7s c=%-2d n=%-6d %8.1f/s p50 %.2fms p99 %.2fms errors %d", s.Workload, s.Path, s.Concurrency, s.Count, s.PerSecond, s.P50ms, s.P99ms, s.Errors)
	return s
}

func (e *Env) serviceCheck(q Question) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		a, err := e.Service.Can(ctx, q.Check, hostaccess.CheckOptions{})
		if err != nil {
			return err
		}
		e.v.record(q, a.Allowed)
		return nil
	}
}

func (e *Env) rawCheck(q Question) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		typ, id, _ := strings.Cut(q.Resource, ":")
		styp, sid, _ := strings.Cut(q.Subject, ":")
		resp, err := e.Engine.Client.CheckPermission(ctx, &v1.CheckPermissionRequest{
			Consistency: e.rawConsistency(),
			Resource:    &v1.ObjectReference{ObjectType: typ, ObjectId: id},
			Permission:  q.Permission,
			Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: styp, ObjectId: sid}},
		})
		if err != nil {
			return err
		}
		e.v.record(q, resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION)
		return nil
	}
}

func (e *Env) workloads(ctx context.Context) error {
	p, d := e.Provider, e.cfg.Duration
	r := rand.New(rand.NewPCG(e.cfg.Seed+1, 7)) //nolint:gosec // reproducible question draws, not a secret

	// Up-front verification of a sample, in bulk.
	sample := p.Questions(r, max(e.cfg.Verify, 0))
	t := time.Now()
	mm, err := e.Verify(ctx, sample)
	if err != nil {
		return err
	}
	for _, m := range mm {
		e.v.record(m.Question, m.Got)
	}
	for range len(sample) - len(mm) {
		e.v.ok()
	}
	allowed := 0
	for _, q := range sample {
		if q.Expected {
			allowed++
		}
	}
	e.cfg.logf("verified %d sampled answers (%d allowed, %d denied) in %s: %d mismatches", len(sample), allowed, len(sample)-allowed, time.Since(t).Round(time.Millisecond), len(mm))

	// Single checks. Cold: each question asked for the first time, from four
	// disjoint pools drawn the same way. Warm: the questions the first cold
	// pass answered, asked again (no write in between) by both paths.
	const pool = 20000
	pools := make([][]Question, 4)
	for i := range pools {
		pools[i] = p.Questions(r, pool)
	}
	type variant struct {
		path string
		conc int
	}
	variants := []variant{{"service", 1}, {"raw", 1}, {"service", 16}, {"raw", 16}}
	check := func(path string, q Question) func(context.Context) error {
		if path == "raw" {
			return e.rawCheck(q)
		}
		return e.serviceCheck(q)
	}
	cold := map[variant]Stats{}
	for i, v := range variants {
		qs := pools[i]
		cold[v] = e.add(measure(ctx, "check cold (first ask)", v.path, v.conc, d, len(qs), func(ctx context.Context, i int) error { return check(v.path, qs[i])(ctx) }))
	}
	warmSet := pools[0][:max(1, min(cold[variants[0]].Count, 2000))]
	// Warm: two rounds, the second in the opposite order (raw before
	// service), so neither path always runs on a cache the other filled or
	// just after a window change; each path's rate is over both rounds.
	warm := map[variant]Stats{}
	order := append(slices.Clone(variants), []variant{{"raw", 1}, {"service", 1}, {"raw", 16}, {"service", 16}}...)
	for round, v := range order {
		// Warm-up: each question once through this path, unmeasured, so
		// "warm" means asked before within SpiceDB's current revision
		// window (it moves every quantization interval, 5 s by default).
		for _, q := range warmSet {
			if err := check(v.path, q)(ctx); err != nil {
				return err
			}
		}
		s := measure(ctx, fmt.Sprintf("check warm (%d repeated), round %d", len(warmSet), round/len(variants)+1), v.path, v.conc, d, 0, func(ctx context.Context, i int) error {
			return check(v.path, warmSet[i%len(warmSet)])(ctx)
		})
		e.add(s)
		w := warm[v]
		w.Count += s.Count
		w.Seconds += s.Seconds
		w.PerSecond = float64(w.Count) / w.Seconds
		warm[v] = w
	}
	for _, c := range []int{1, 16} {
		for _, x := range []struct {
			name string
			m    map[variant]Stats
		}{{"check cold", cold}, {"check warm", warm}} {
			s, raw := x.m[variant{"service", c}], x.m[variant{"raw", c}]
			ratio := Ratio{Workload: fmt.Sprintf("%s c=%d", x.name, c), Service: s.PerSecond, Raw: raw.PerSecond}
			if raw.PerSecond > 0 {
				ratio.ServiceOverRaw = s.PerSecond / raw.PerSecond
			}
			e.report.Ratios = append(e.report.Ratios, ratio)
		}
	}

	// Page loads: one CanAll of 50 questions for one member.
	pages := make([][]Question, 1000)
	for i := range pages {
		pages[i] = p.Page(r)
	}
	pageOp := func(list [][]Question) func(context.Context, int) error {
		return func(ctx context.Context, i int) error {
			page := list[i%len(list)]
			checks := make([]hostaccess.Check, len(page))
			for j, q := range page {
				checks[j] = q.Check
			}
			answers, err := e.Service.CanAll(ctx, checks, hostaccess.CheckOptions{})
			if err != nil {
				return err
			}
			for j, a := range answers {
				e.v.record(page[j], a.Allowed)
			}
			return nil
		}
	}
	withChecks := func(s Stats) Stats { s.ChecksPerSecond = s.PerSecond * 50; return s }
	pc := e.add(withChecks(measure(ctx, "page load CanAll(50) cold", "service", 1, d, len(pages), pageOp(pages))))
	warmPages := pages[:max(1, min(pc.Count, 50))]
	for _, conc := range []int{1, 16} {
		// Warm-up, as for single checks: each page once, unmeasured, right
		// before, so the cache holds them at SpiceDB's current revision
		// window (on memory the window moves every 5 s even without writes).
		for i := range warmPages {
			if err := pageOp(warmPages)(ctx, i); err != nil {
				return err
			}
		}
		e.add(withChecks(measure(ctx, "page load CanAll(50) warm", "service", conc, d, 0, pageOp(warmPages))))
	}

	// Product lists: LookupResources product#manage.
	var ordinary []string
	for _, a := range p.Accounts {
		for _, u := range sortedKeys(a.Members) {
			g := a.Members[u]
			if len(g.TechProducts) > 0 && len(p.accountsOf[u]) == 1 {
				ordinary = append(ordinary, u)
			}
		}
		if len(ordinary) >= 200 {
			break
		}
	}
	agency, agencyProducts := "", 0
	for _, ag := range p.Agencies {
		n := len(p.ManageableProducts(ag, p.Now))
		if agency == "" || abs(n-500) < abs(agencyProducts-500) {
			agency, agencyProducts = ag, n
		}
	}
	lookupOp := func(users []string) func(context.Context, int) error {
		return func(ctx context.Context, i int) error {
			u := users[i%len(users)]
			got, err := e.lookupProducts(ctx, u)
			if err != nil {
				return err
			}
			if want := p.ManageableProducts(u, p.Now); !slices.Equal(got, want) {
				e.v.fail(fmt.Sprintf("lookup product#manage for user:%s: got %d products, expected %d", u, len(got), len(want)))
			} else {
				e.v.ok()
			}
			return nil
		}
	}
	if len(ordinary) > 0 {
		s := measure(ctx, "product list (member)", "raw", 1, d, 0, lookupOp(ordinary))
		s.Note = fmt.Sprintf("%d distinct members, 1 account each", len(ordinary))
		e.add(s)
	}
	if agency != "" {
		s := measure(ctx, "product list (agency)", "raw", 1, d, 0, lookupOp([]string{agency}))
		s.Note = fmt.Sprintf("user:%s: %d products in %d accounts (first call cold)", agency, agencyProducts, len(p.accountsOf[agency]))
		e.add(s)
	}

	// Audit: WhoCan on products of shared accounts.
	type target struct {
		a  *Account
		pr Product
	}
	var targets []target
	for _, a := range p.Accounts {
		if len(a.Members) > 0 {
			targets = append(targets, target{a, a.Products[0]})
		}
		if len(targets) >= 200 {
			break
		}
	}
	if len(targets) > 0 {
		s := measure(ctx, "audit WhoCan(product, manage)", "service", 1, d, 0, func(ctx context.Context, i int) error {
			tg := targets[i%len(targets)]
			holders, err := e.Service.WhoCan(ctx, hostaccess.System("bench"), "product:"+tg.a.ID+"/"+tg.pr.Name, "manage")
			if err != nil {
				return err
			}
			got := make([]string, len(holders))
			for j, h := range holders {
				got[j] = h.Subject
			}
			sort.Strings(got)
			if want := p.Managers(tg.a, tg.pr, p.Now); !slices.Equal(got, want) {
				e.v.fail(fmt.Sprintf("WhoCan product:%s/%s manage: got %v, expected %v", tg.a.ID, tg.pr.Name, got, want))
			} else {
				e.v.ok()
			}
			return nil
		})
		s.Note = fmt.Sprintf("%d products, holders and reasons", len(targets))
		e.add(s)
	}

	if !e.cfg.SkipFlows {
		if err := e.pagesUnderChanges(ctx, pages[:max(1, min(pc.Count, 50))]); err != nil {
			return err
		}
		if err := e.flows(ctx); err != nil {
			return err
		}
		if err := e.flowsParallel(ctx); err != nil {
			return err
		}
	}
	return nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func (e *Env) lookupProducts(ctx context.Context, u string) ([]string, error) {
	stream, err := e.Engine.Client.LookupResources(ctx, &v1.LookupResourcesRequest{
		ResourceObjectType: "product", Permission: "manage",
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: u}},
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
	})
	if err != nil {
		return nil, err
	}
	var ids []string
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if resp.GetPermissionship() == v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION {
			ids = append(ids, resp.GetResourceObjectId())
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// flows runs invite+accept, set access and remove member on accounts in
// turn, for the workload duration, checking each step's effect and, after,
// that every touched account keeps its owners.
func (e *Env) flows(ctx context.Context) error {
	p, d := e.Provider, e.cfg.Duration
	var inviteLat, setLat, removeLat []time.Duration
	touched := map[string]bool{}
	errs := 0
	var firstErr error
	start := time.Now()
	iter := 0
	for ; ctx.Err() == nil && time.Since(start) < d; iter++ {
		a := p.Accounts[(iter*7919)%len(p.Accounts)]
		owner := a.Owners[0]
		user := fmt.Sprintf("bench%d", iter)
		touched[a.ID] = true
		step := func(lats *[]time.Duration, f func() error) bool {
			t := time.Now()
			err := f()
			*lats = append(*lats, time.Since(t))
			if err != nil {
				errs++
				if firstErr == nil {
					firstErr = err
				}
				return false
			}
			return true
		}
		if !step(&inviteLat, func() error { return e.inviteBilling(ctx, owner, a.ID, user) }) {
			continue
		}
		e.expectCan(ctx, "account:"+a.ID, "pay_invoices", user, true)
		prod := "product:" + a.ID + "/" + a.Products[0].Name
		if !step(&setLat, func() error {
			_, err := e.Service.SetAccess(ctx, hostaccess.Person(owner), a.ID, user, hostaccess.Access{
				Rights: []hostaccess.Right{hostaccess.RightSupport}, Technical: hostaccess.ProductScope{Products: []string{a.Products[0].Name}},
			})
			return err
		}) {
			continue
		}
		e.expectCan(ctx, prod, "manage", user, true)
		e.expectCan(ctx, "account:"+a.ID, "pay_invoices", user, false)
		if !step(&removeLat, func() error {
			_, err := e.Service.RemoveMember(ctx, hostaccess.Person(owner), a.ID, user)
			return err
		}) {
			continue
		}
		e.expectCan(ctx, "account:"+a.ID, "view", user, false)
		e.expectCan(ctx, prod, "manage", user, false)
	}
	elapsed := time.Since(start)
	for _, x := range []struct {
		name string
		lats []time.Duration
	}{{"flow invite+accept", inviteLat}, {"flow set access", setLat}, {"flow remove member", removeLat}} {
		s := summarize(x.name, "service", 1, x.lats, elapsed)
		if x.name == "flow invite+accept" {
			s.Errors = errs
			if firstErr != nil {
				s.Note = "first error: " + firstErr.Error()
			} else {
				s.Note = fmt.Sprintf("%d full iterations, answers checked after each step", iter)
			}
		}
		e.add(s)
	}
	// Invariants: every touched account keeps every one of its owners (and
	// so an owner), and the bench users are gone.
	for id := range touched {
		a := p.Account(id)
		for _, o := range a.Owners {
			e.expectCan(ctx, "account:"+id, "close", o, true)
		}
	}
	e.report.Invariants = append(e.report.Invariants, fmt.Sprintf("%d accounts touched by flows keep all their owners; every bench user lost access on removal", len(touched)))
	if errs > 0 {
		return fmt.Errorf("flows: %d errors, first: %w", errs, firstErr)
	}
	return nil
}

func (e *Env) expectCan(ctx context.Context, resource, permission, user string, want bool) {
	q := Question{Check: hostaccess.Check{Resource: resource, Permission: permission, Subject: "user:" + user}, Expected: want}
	a, err := e.Service.Can(ctx, q.Check, hostaccess.CheckOptions{})
	if err != nil {
		e.v.fail(fmt.Sprintf("%s: %v", q, err))
		return
	}
	e.v.record(q, a.Allowed)
}
