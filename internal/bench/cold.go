package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/hostaccess/hostaccess/pkg/engine"
	"github.com/hostaccess/hostaccess/schema"
)

// The cold workload set (--only cold): product#manage checks at 16 clients,
// each question asked for the first time in the run (SpiceDB's check cache
// cannot answer it; sub-questions another question shared may be cached,
// equally on every path, see below), through
//
//   - service: hostaccess's Service.Can, as the HTTP API and flows ask;
//   - grpc:    hostaccess's SpiceDB gRPC API over loopback (CheckPermission);
//   - spicedb: a stock `spicedb serve` (--compare-spicedb, default flags)
//     on its own fresh database with the same relationships, over loopback;
//   - serve:   with --compare-serve, `hostaccess serve` as a process of its
//     own on the bench's database, over loopback: hostaccess's gRPC API
//     deployed as the stock server is, not sharing the bench's process
//     (and its CPUs' scheduling) with the clients. It is asked pool A, cold
//     for its own cache.
//
// Each round draws two fresh pools of questions, A and B, and asks A through
// the service and B through hostaccess's gRPC API, and both through the stock
// SpiceDB, so each hostaccess path is compared with the stock server on the
// same questions, and both servers see the same number of questions (the same
// chance of a sub-question already cached). The four runs of a round rotate
// their order from round to round. Every answer is compared with the model.

// OnlyCold, as Config.Only, runs only the cold comparison after the
// up-front verification.
const OnlyCold = "cold"

// Defaults of the cold comparison.
const (
	defaultColdRounds    = 3
	defaultColdQuestions = 2500
	coldConcurrency      = 16
	// coldRunCap bounds one run of a pool; a pool is meant to be answered
	// whole, so that paths compared answer the same questions.
	coldRunCap = 2 * time.Minute
)

// Cold paths.
const (
	pathService = "service"
	pathGRPC    = "grpc"
	pathStock   = "spicedb"
	pathServe   = "serve"
)

// ColdSummary is the cold comparison's outcome, over all rounds.
type ColdSummary struct {
	Rounds    int        `json:"rounds"`
	Questions int        `json:"questions_per_run"`
	Paths     []ColdPath `json:"paths"`
	// ServiceOverStock and GRPCOverStock are throughput ratios on the same
	// questions, over all rounds; the ranges are the rounds' own ratios.
	ServiceOverStock      float64    `json:"service_over_spicedb,omitempty"`
	GRPCOverStock         float64    `json:"grpc_over_spicedb,omitempty"`
	ServiceOverStockRange [2]float64 `json:"service_over_spicedb_range,omitzero"`
	GRPCOverStockRange    [2]float64 `json:"grpc_over_spicedb_range,omitzero"`
	ServeOverStock        float64    `json:"serve_over_spicedb,omitempty"`
	ServeOverStockRange   [2]float64 `json:"serve_over_spicedb_range,omitzero"`
	StockBinary           string     `json:"spicedb_binary,omitempty"`
	StockVersion          string     `json:"spicedb_version,omitempty"`
}

// ColdPath is one path's figures over all rounds.
type ColdPath struct {
	Path      string  `json:"path"`
	Count     int     `json:"count"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	// P50 and P99 are the lowest and highest of the runs' percentiles.
	P50ms [2]float64 `json:"p50_ms_range"`
	P99ms [2]float64 `json:"p99_ms_range"`
	// ServerCPUms is the answering server's CPU per check: the stock
	// process's own for spicedb; for hostaccess's paths, the bench process's
	// less what its client side cost in the stock runs (same client code).
	// Postgres's share is not in it.
	ServerCPUms float64 `json:"server_cpu_ms_per_check,omitempty"`
	// PostgresCPUms is the CPU per check of the Postgres backends of the
	// path's database (Postgres on this machine only).
	PostgresCPUms float64 `json:"postgres_cpu_ms_per_check,omitempty"`
	clientCPU     float64
	selfCPU       float64
	pgCPU         float64
	pgTx          int64
	// PostgresTxPerCheck is the transactions (queries) committed in the
	// path's database per check.
	PostgresTxPerCheck float64 `json:"postgres_transactions_per_check,omitempty"`
}

// productQuestions draws n product#manage questions not in seen (and adds
// them to it): accounts with members half of the time, subjects as
// subjectFor draws them.
func (p *Provider) productQuestions(r *rand.Rand, n int, seen map[string]bool) []Question {
	var shared []*Account
	for _, a := range p.Accounts {
		if len(a.Members) > 0 {
			shared = append(shared, a)
		}
	}
	out := make([]Question, 0, n)
	for misses := 0; len(out) < n && misses < 100*n; {
		a := p.Accounts[r.IntN(len(p.Accounts))]
		if len(shared) > 0 && r.IntN(2) == 0 {
			a = shared[r.IntN(len(shared))]
		}
		u := p.subjectFor(r, a)
		pr := a.Products[r.IntN(len(a.Products))]
		q := p.question("product:"+a.ID+"/"+pr.Name, schema.PermManage, u)
		key := q.Resource + "#" + q.Subject
		if seen[key] {
			misses++
			continue
		}
		seen[key] = true
		out = append(out, q)
	}
	return out
}

// coldStep is one run of a round: a pool through a path.
type coldStep struct {
	path string
	pool int // 0: A, 1: B
}

// coldOrder is round r's order of runs: A through the service and the
// stock server, B through hostaccess's gRPC API and the stock server,
// rotated by r. Without a stock server only the hostaccess runs remain.
func coldOrder(r int, withStock, withServe bool) []coldStep {
	steps := []coldStep{{pathService, 0}, {pathStock, 0}, {pathGRPC, 1}, {pathStock, 1}}
	if !withStock {
		steps = []coldStep{{pathService, 0}, {pathGRPC, 1}}
	}
	if withServe {
		steps = append(steps, coldStep{pathServe, 0})
	}
	k := r % len(steps)
	return append(steps[k:len(steps):len(steps)], steps[:k]...)
}

// checkOn asks q through path; remote is the process the stock or serve
// path asks.
func (e *Env) checkOn(path string, remote *serverProcess, q Question) func(context.Context) error {
	switch path {
	case pathService:
		return e.serviceCheck(q)
	case pathGRPC:
		return e.rawCheck(q)
	}
	consistency := &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: remote.loadToken}}
	if e.cfg.Consistency == ConsistencyFull {
		consistency = &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
	}
	return checkVia(remote.client, consistency, e.v, q)
}

// coldWorkloads runs the cold comparison; sample holds the questions the
// up-front verification asked (never drawn again).
func (e *Env) coldWorkloads(ctx context.Context, sample []Question) error {
	rounds, n := e.cfg.ColdRounds, e.cfg.ColdQuestions
	if rounds <= 0 {
		rounds = defaultColdRounds
	}
	if n <= 0 {
		n = defaultColdQuestions
	}
	var stock *serverProcess
	sum := &ColdSummary{Rounds: rounds, Questions: n}
	if e.cfg.CompareSpiceDB != "" {
		if e.cfg.DatastoreEngine != engine.EnginePostgres {
			return fmt.Errorf("--compare-spicedb runs the stock SpiceDB on postgres: use --datastore-engine postgres")
		}
		schemaText := cmp.Or(e.cfg.StockSchema, e.cfg.Schema, schema.Hosting)
		var err error
		stock, err = startStockSpiceDB(ctx, e.cfg, schemaText, e.Provider.Relationships())
		if err != nil {
			return err
		}
		defer stock.close()
		sum.StockBinary = e.cfg.CompareSpiceDB
		sum.StockVersion = binaryVersion(ctx, e.cfg.CompareSpiceDB)
	}
	var serveProc *serverProcess
	if e.cfg.CompareServe {
		if e.cfg.DatastoreEngine != engine.EnginePostgres || e.cfg.Schema != "" {
			return fmt.Errorf("--compare-serve runs hostaccess serve on the bench's postgres database with the embedded schema (not with --schema)")
		}
		var err error
		serveProc, err = startServeProcess(ctx, e.cfg, e.loadToken)
		if err != nil {
			return err
		}
		defer serveProc.close()
	}
	e.report.Cold = sum

	seen := map[string]bool{}
	for _, q := range sample {
		seen[q.Resource+"#"+q.Subject] = true
	}
	r := rand.New(rand.NewPCG(e.cfg.Seed+2, 11)) //nolint:gosec // reproducible question draws
	byPath := map[string]*ColdPath{}
	var svcRatios, grpcRatios, serveRatios []float64
	for round := range rounds {
		pools := [][]Question{e.Provider.productQuestions(r, n, seen), e.Provider.productQuestions(r, n, seen)}
		rates := map[coldStep]float64{}
		for _, st := range coldOrder(round, stock != nil, serveProc != nil) {
			qs := pools[st.pool]
			pgURI, remote := e.cfg.DatastoreURI, (*serverProcess)(nil)
			switch st.path {
			case pathStock:
				pgURI, remote = stock.uri, stock
			case pathServe:
				remote = serveProc
			}
			pg0, tx0 := postgresUsage(ctx, pgURI)
			self0, stock0 := processCPUSeconds(os.Getpid()), remote.cpuSecondsOrZero()
			s := measure(ctx, fmt.Sprintf("cold product#manage, round %d, pool %c", round+1, 'A'+st.pool), st.path, coldConcurrency, coldRunCap, len(qs),
				func(ctx context.Context, i int) error { return e.checkOn(st.path, remote, qs[i])(ctx) })
			self1, stock1 := processCPUSeconds(os.Getpid()), remote.cpuSecondsOrZero()
			time.Sleep(1100 * time.Millisecond) // backends flush their statistics at most once a second
			pg1, tx1 := postgresUsage(ctx, pgURI)
			if s.Errors > 0 {
				e.add(s)
				return fmt.Errorf("cold checks through %s: %d errors, %s", st.path, s.Errors, s.Note)
			}
			s.Note = fmt.Sprintf("bench process CPU %.2f ms/check, postgres %.2f ms and %.1f transactions a check", 1000*(self1-self0)/float64(max(1, s.Count)), 1000*(pg1-pg0)/float64(max(1, s.Count)), float64(tx1-tx0)/float64(max(1, s.Count)))
			if remote != nil {
				s.Note += fmt.Sprintf(", server process CPU %.2f ms/check", 1000*(stock1-stock0)/float64(max(1, s.Count)))
			}
			e.add(s)
			rates[st] = s.PerSecond
			cp := byPath[st.path]
			if cp == nil {
				cp = &ColdPath{Path: st.path, P50ms: [2]float64{s.P50ms, s.P50ms}, P99ms: [2]float64{s.P99ms, s.P99ms}}
				byPath[st.path] = cp
			}
			cp.Count += s.Count
			cp.Seconds += s.Seconds
			cp.P50ms = [2]float64{min(cp.P50ms[0], s.P50ms), max(cp.P50ms[1], s.P50ms)}
			cp.P99ms = [2]float64{min(cp.P99ms[0], s.P99ms), max(cp.P99ms[1], s.P99ms)}
			cp.selfCPU += self1 - self0
			cp.pgCPU += pg1 - pg0
			cp.pgTx += tx1 - tx0
			if remote != nil {
				cp.clientCPU += self1 - self0
				cp.ServerCPUms += stock1 - stock0 // seconds until finished below
			}
		}
		if stock != nil {
			svcRatios = append(svcRatios, rates[coldStep{pathService, 0}]/rates[coldStep{pathStock, 0}])
			grpcRatios = append(grpcRatios, rates[coldStep{pathGRPC, 1}]/rates[coldStep{pathStock, 1}])
			if serveProc != nil {
				serveRatios = append(serveRatios, rates[coldStep{pathServe, 0}]/rates[coldStep{pathStock, 0}])
			}
		}
	}
	sum.Paths = finishColdPaths(byPath)
	perSecond := func(path string) float64 {
		for _, p := range sum.Paths {
			if p.Path == path {
				return p.PerSecond
			}
		}
		return 0
	}
	if stock != nil {
		sum.ServiceOverStock = perSecond(pathService) / perSecond(pathStock)
		sum.GRPCOverStock = perSecond(pathGRPC) / perSecond(pathStock)
		sum.ServiceOverStockRange = [2]float64{slices.Min(svcRatios), slices.Max(svcRatios)}
		sum.GRPCOverStockRange = [2]float64{slices.Min(grpcRatios), slices.Max(grpcRatios)}
		if len(serveRatios) > 0 {
			sum.ServeOverStock = perSecond(pathServe) / perSecond(pathStock)
			sum.ServeOverStockRange = [2]float64{slices.Min(serveRatios), slices.Max(serveRatios)}
		}
	}
	return nil
}

// finishColdPaths computes rates and CPU per check, in the order service,
// grpc, spicedb.
func finishColdPaths(byPath map[string]*ColdPath) []ColdPath {
	var clientPerCheck float64
	if st := byPath[pathStock]; st != nil && st.Count > 0 {
		clientPerCheck = st.clientCPU / float64(st.Count)
		st.ServerCPUms = 1000 * st.ServerCPUms / float64(st.Count)
	}
	var out []ColdPath
	for _, path := range []string{pathService, pathGRPC, pathServe, pathStock} {
		cp := byPath[path]
		if cp == nil {
			continue
		}
		if path == pathServe && cp.Count > 0 {
			cp.ServerCPUms = 1000 * cp.ServerCPUms / float64(cp.Count)
		}
		if cp.Seconds > 0 {
			cp.PerSecond = float64(cp.Count) / cp.Seconds
		}
		if cp.Count > 0 {
			cp.PostgresCPUms = 1000 * cp.pgCPU / float64(cp.Count)
			cp.PostgresTxPerCheck = float64(cp.pgTx) / float64(cp.Count)
		}
		if (path == pathService || path == pathGRPC) && clientPerCheck > 0 && cp.Count > 0 {
			cp.ServerCPUms = 1000 * (cp.selfCPU/float64(cp.Count) - clientPerCheck)
		}
		out = append(out, *cp)
	}
	return out
}

func (s *serverProcess) cpuSecondsOrZero() float64 {
	if s == nil {
		return 0
	}
	return s.cpuSeconds()
}

// binaryVersion is what `BINARY version` prints first, for the report.
func binaryVersion(ctx context.Context, bin string) string {
	out, err := execOutput(ctx, bin, "version", "--include-deps=false")
	if err != nil {
		out, err = execOutput(ctx, bin, "version")
	}
	if err != nil {
		return ""
	}
	first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	return first
}

// write prints the cold comparison.
func (c *ColdSummary) write(w io.Writer) error {
	fmt.Fprintf(w, "cold product#manage at %d clients: %d rounds, %d fresh questions a run", coldConcurrency, c.Rounds, c.Questions)
	if c.StockBinary != "" {
		fmt.Fprintf(w, "; stock SpiceDB %s (%s)", c.StockBinary, c.StockVersion)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PATH\tCOUNT\tCHECKS_PER_S\tP50_MS\tP99_MS\tSERVER_CPU_MS_PER_CHECK\tPOSTGRES_CPU_MS_PER_CHECK\tPOSTGRES_TX_PER_CHECK")
	for _, p := range c.Paths {
		cpu := "-"
		if p.ServerCPUms > 0 {
			cpu = fmt.Sprintf("%.2f", p.ServerCPUms)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.2f-%.2f\t%.2f-%.2f\t%s\t%.2f\t%.1f\n", p.Path, p.Count, p.PerSecond, p.P50ms[0], p.P50ms[1], p.P99ms[0], p.P99ms[1], cpu, p.PostgresCPUms, p.PostgresTxPerCheck)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if c.StockBinary != "" {
		fmt.Fprintf(w, "same questions: service / spicedb %.2f (rounds %.2f-%.2f), grpc / spicedb %.2f (rounds %.2f-%.2f)",
			c.ServiceOverStock, c.ServiceOverStockRange[0], c.ServiceOverStockRange[1], c.GRPCOverStock, c.GRPCOverStockRange[0], c.GRPCOverStockRange[1])
		if c.ServeOverStock > 0 {
			fmt.Fprintf(w, ", serve / spicedb %.2f (rounds %.2f-%.2f)", c.ServeOverStock, c.ServeOverStockRange[0], c.ServeOverStockRange[1])
		}
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintln(w)
	return err
}
