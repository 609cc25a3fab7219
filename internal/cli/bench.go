package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/hostaccess/hostaccess/internal/bench"
	"github.com/hostaccess/hostaccess/pkg/engine"
)

func newBenchCommand(streams Streams) *cobra.Command {
	var cfg bench.Config
	var output string
	var quiet bool
	pin := true
	var cpuProfile, heapProfile, schemaFile, stockSchemaFile string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Generate a provider, load it, measure checks, lookups and flows, verify the answers",
		Long: `bench generates a realistic hosting provider from a seed (accounts, owners,
shared users, agencies, resellers delegating to their host, long-tailed
products, groups, tags, contacts, time-bound grants; distributions in
docs/benchmarks.md), loads it through hostaccess's own paths (bulk import
of relationships, directory import) and runs bounded workloads:

  - single checks, cold (first ask) and warm (repeated), at concurrency 1
    and 16, through the Go service (Service.Can) and through SpiceDB's API
    (CheckPermission), both fully consistent, on the same questions;
  - page loads: one CanAll of 50 questions for one member;
  - product lists: LookupResources product#manage for a member and for an
    agency user with about 500 products;
  - audit: WhoCan on a product;
  - flows (alone with --only flows): invite+accept, set access, remove
    member, invariants after; invite+accept then remove at 16 clients.
  - conditions (last, or alone with --only conditions): plain, token:ID,
    CheckToken, network-restricted and two-factor-gated checks side by side.

Every check answer (a verification sample first, then every workload's
answers) is compared with the answer computed from the generated grants,
without SpiceDB; any mismatch fails the command (exit 2).

On postgres, --datastore-conn-uri must name a fresh, empty database: bench
migrates it (SpiceDB and directory) and refuses one that holds tables;
with --consistency tokens the server needs track_commit_timestamp = on.`,
		Example: `  hostaccess bench --accounts 1000 --duration 2s
  createdb hostaccess_bench && hostaccess bench --accounts 10000 \
      --datastore-engine postgres --datastore-conn-uri postgres://postgres@127.0.0.1:5432/hostaccess_bench`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if !quiet {
				cfg.Log = streams.Err
			}
			cfg.Unpinned = !pin
			// The engine runs in this process: with serve's collector
			// settings (gc.go), so the figures are serve's.
			gcPercent, memLimit := applyServeGC()
			if cfg.Log != nil {
				fmt.Fprintf(cfg.Log, "bench: GOGC=%s GOMEMLIMIT=%d (as serve)\n", gcPercent, memLimit)
			}
			if schemaFile != "" {
				text, err := os.ReadFile(schemaFile)
				if err != nil {
					return fmt.Errorf("--schema: %w", err)
				}
				cfg.Schema = string(text)
			}
			if stockSchemaFile != "" {
				text, err := os.ReadFile(stockSchemaFile)
				if err != nil {
					return fmt.Errorf("--compare-spicedb-schema: %w", err)
				}
				cfg.StockSchema = string(text)
			}
			closeProfiles, err := openProfiles(&cfg, cpuProfile, heapProfile)
			if err != nil {
				return err
			}
			rep, err := bench.Run(cmd.Context(), cfg)
			if cerr := closeProfiles(rep != nil); err == nil {
				err = cerr
			}
			if rep != nil {
				var perr error
				if output == outputJSON {
					perr = printJSON(streams.Out, rep)
				} else {
					perr = rep.WriteTable(streams.Out)
				}
				if err == nil {
					err = perr
				}
			}
			if errors.Is(err, bench.ErrMismatch) {
				return fmt.Errorf("VERIFICATION FAILED: %w", err)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Accounts, "accounts", 1000, "accounts to generate")
	f.Uint64Var(&cfg.Seed, "seed", 1, "seed of the generated provider (same seed and accounts: same data)")
	f.StringVar(&cfg.DatastoreEngine, "datastore-engine", engine.EngineMemory, "datastore: memory or postgres")
	f.StringVar(&cfg.DatastoreURI, "datastore-conn-uri", "", "a fresh, EMPTY postgres database (bench migrates it; refuses a non-empty one)")
	f.DurationVar(&cfg.Duration, "duration", 3*time.Second, "how long each workload runs at most")
	f.IntVar(&cfg.Verify, "verify", 500, "sampled questions verified up front against the generated data")
	f.BoolVar(&cfg.SkipFlows, "skip-flows", false, "leave out the write flows (and the page loads under changes)")
	f.StringVar(&cfg.Only, "only", "", "run only this workload set after the verification sample: conditions (tokens and caveated checks), warm (product checks cycling at 16 clients, service and gRPC, while other accounts change), flows (the write flows, one client then 16) or cold (first-ask product checks, with --compare-spicedb beside a stock SpiceDB)")
	f.StringVar(&cfg.CompareSpiceDB, "compare-spicedb", "", "with --only cold: a stock spicedb binary (go build -o spicedb github.com/authzed/spicedb/cmd/spicedb) to load the same data into and ask the same questions")
	f.StringVar(&cfg.CompareSpiceDBURI, "compare-spicedb-conn-uri", "", "the stock SpiceDB's fresh, EMPTY postgres database (default: the bench database's name with _spicedb, created if absent)")
	f.StringVar(&stockSchemaFile, "compare-spicedb-schema", "", "with --compare-spicedb: the stock SpiceDB's schema file (default: the one hostaccess serves)")
	f.BoolVar(&cfg.CompareServe, "compare-serve", false, "with --only cold: also ask hostaccess serve, started as a process of its own on the bench's database")
	f.IntVar(&cfg.ColdRounds, "cold-rounds", 3, "with --only cold: interleaved rounds")
	f.IntVar(&cfg.ColdQuestions, "cold-questions", 2500, "with --only cold: fresh questions per run (each path answers all of them)")
	f.StringVar(&schemaFile, "schema", "", "a schema file to serve instead of the embedded one (to compare schema shapes; answers are still judged by the model)")
	f.StringVar(&cfg.Consistency, "consistency", bench.ConsistencyTokens, "the service's checks: tokens (per-account freshness tokens, as serve) or full (every check fully consistent)")
	f.DurationVar(&cfg.RevisionQuantization, "datastore-revision-quantization-interval", 5*time.Second, "SpiceDB's revision quantization, as serve's flag")
	f.StringVar(&cfg.DispatchCacheMaxCost, "dispatch-cache-max-cost", "30%", "size of SpiceDB's check cache, as serve's flag")
	f.BoolVar(&cfg.Tuning.QueryPlanChecks, "experimental-query-plan-check", false, "answer checks with SpiceDB's experimental query plan engine")
	f.Uint16Var(&cfg.Tuning.DispatchChunkSize, "dispatch-chunk-size", 0, "SpiceDB's dispatch chunk size (0: its default, 100)")
	f.Uint16Var(&cfg.Tuning.CheckConcurrency, "dispatch-check-permission-concurrency-limit", 0, "SpiceDB's goroutines per check (0: its default, 50)")
	f.IntVar(&cfg.ReadPoolMaxOpen, "datastore-conn-pool-read-max-open", 0, "SpiceDB's read pool size (0: its default, 20)")
	f.IntVar(&cfg.WritePoolMaxOpen, "datastore-conn-pool-write-max-open", 0, "SpiceDB's write pool size (0: its default, 10)")
	f.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	f.BoolVar(&pin, "pin", true, "answer each account at the exact snapshot of its last change, as serve does; --pin=false asks at_least_as_fresh instead (the behaviour before 2026-12, for A/B runs)")
	f.StringVar(&cpuProfile, "cpu-profile", "", "write a CPU profile of the workloads to this file (go tool pprof)")
	f.StringVar(&heapProfile, "heap-profile", "", "write a heap profile taken after the workloads to this file")
	registerOutput(cmd, &output)
	return cmd
}

// openProfiles creates the profile files asked for before anything runs, so
// a bad path fails at once rather than after the load. The returned close
// reports a failed write (a truncated profile) and removes the files when
// the run never reached its workloads.
func openProfiles(cfg *bench.Config, cpuPath, heapPath string) (func(ran bool) error, error) {
	if cpuPath != "" && cpuPath == heapPath {
		return nil, errors.New("--cpu-profile and --heap-profile name the same file")
	}
	var files []*os.File
	closeAll := func(ran bool) error {
		var errs []error
		for _, f := range files {
			if err := f.Close(); err != nil {
				errs = append(errs, fmt.Errorf("profile %s: %w", f.Name(), err))
			}
			if !ran {
				_ = os.Remove(f.Name())
			}
		}
		return errors.Join(errs...)
	}
	for _, p := range []struct {
		path string
		dst  *io.Writer
	}{{cpuPath, &cfg.CPUProfile}, {heapPath, &cfg.HeapProfile}} {
		if p.path == "" {
			continue
		}
		f, err := os.Create(p.path)
		if err != nil {
			_ = closeAll(false)
			return nil, fmt.Errorf("profile file: %w", err)
		}
		files = append(files, f)
		*p.dst = f
	}
	return closeAll, nil
}
