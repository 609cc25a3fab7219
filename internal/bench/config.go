package bench

import (
	"fmt"
	"io"
	"time"

	"github.com/hostaccess/hostaccess/pkg/engine"
)

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
	// Only, when OnlyConditions, runs only the token and conditions set
	// (tokens.go) after the up-front verification, when OnlyFlows only the
	// write flows (flows.go); empty: every workload.
	Only string
	// Consistency is how the service's checks are made: "tokens" (the
	// default: per-account freshness tokens, pkg/freshness) or "full"
	// (every check fully consistent).
	Consistency string
	// RevisionQuantization and DispatchCacheMaxCost tune SpiceDB as serve's
	// flags do (SpiceDB's defaults when zero or empty).
	RevisionQuantization time.Duration
	DispatchCacheMaxCost string
	// Unpinned answers at_least_as_fresh each account's token rather than at
	// its exact snapshot (the behaviour before 2026-12), for A/B runs.
	Unpinned bool
	// WarmQuestions is how many distinct questions the warm set cycles
	// (OnlyWarm; 4,000 when 0).
	WarmQuestions int
	// CompareSpiceDB, with Only OnlyCold, is a stock spicedb binary to
	// compare with (cold.go); CompareSpiceDBURI its fresh, empty database
	// (empty: hostaccess's database name with _spicedb, created if absent).
	CompareSpiceDB    string
	CompareSpiceDBURI string
	// StockSchema, when set, is the stock SpiceDB's schema instead of the
	// one hostaccess serves (to compare with a schema as it was).
	StockSchema string
	// CompareServe adds `hostaccess serve` as a process of its own on the
	// bench's database to the cold comparison.
	CompareServe bool
	// ColdRounds and ColdQuestions shape the cold comparison: rounds, and
	// fresh questions per run (defaults 3 and 2,500).
	ColdRounds, ColdQuestions int
	// Tuning and the pool sizes set the embedded SpiceDB as engine.Config
	// does (SpiceDB's defaults when zero), to A/B them.
	Tuning                            engine.Tuning
	ReadPoolMaxOpen, WritePoolMaxOpen int
	// Schema replaces the embedded schema for both hostaccess and the stock
	// SpiceDB (to A/B a schema shape; the model judges the answers as usual).
	Schema string
	// Log receives progress lines (nil: none).
	Log io.Writer
	// CPUProfile, when set, receives a CPU profile of the workloads (not of
	// generating and loading the data); HeapProfile a heap profile taken
	// when they end. Both in pprof's format (go tool pprof).
	CPUProfile, HeapProfile io.Writer
}

// Check consistencies of the service path.
const (
	ConsistencyTokens = "tokens"
	ConsistencyFull   = "full"
)

func (c Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, "bench: "+format+"\n", args...)
	}
}
