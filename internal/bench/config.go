package bench

import (
	"fmt"
	"io"
	"time"
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
