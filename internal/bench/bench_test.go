package bench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/jackc/pgx/v5"

	"github.com/hostaccess/hostaccess/internal/testutil"
)

func TestGenerateIsDeterministicAndWellFormed(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b := Generate(300, 7, now), Generate(300, 7, now)
	ra, rb := a.Relationships(), b.Relationships()
	if len(ra) != len(rb) || len(ra) == 0 {
		t.Fatalf("same seed, different data: %d vs %d relationships", len(ra), len(rb))
	}
	for i := range ra {
		if ra[i].String() != rb[i].String() {
			t.Fatalf("relationship %d differs: %s vs %s", i, ra[i], rb[i])
		}
	}
	for _, r := range ra {
		switch r.GetResource().GetObjectType() {
		case "product", "product_group", "tag":
			acct, name, ok := cutSlash(r.GetResource().GetObjectId())
			if !ok || a.Account(acct) == nil || name == "" {
				t.Fatalf("%s: id is not ACCOUNT/NAME", r)
			}
		}
	}
}

func cutSlash(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

func TestRunVerifiesAndDetectsWrongAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an engine")
	}
	ctx := context.Background()
	var cpu, heap bytes.Buffer
	cfg := Config{Accounts: 40, Seed: 3, DatastoreEngine: "memory", Duration: 150 * time.Millisecond, Verify: 200,
		CPUProfile: &cpu, HeapProfile: &heap}
	profiles := map[string]*bytes.Buffer{"cpu": &cpu, "heap": &heap}
	if cpuProfiling() {
		cfg.CPUProfile = nil // go test -cpuprofile holds the one CPU profiler
		delete(profiles, "cpu")
	}
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	// --cpu-profile / --heap-profile: both readable by pprof, the CPU one
	// with samples of the workloads.
	for name, buf := range profiles {
		prof, err := profile.Parse(buf)
		if err != nil {
			t.Fatalf("%s profile unreadable: %v", name, err)
		}
		if name == "cpu" && len(prof.Sample) == 0 {
			t.Fatal("the CPU profile holds no samples of the workloads")
		}
	}
	cfg.CPUProfile, cfg.HeapProfile = nil, nil
	if rep.Mismatches != 0 || rep.Verified < 200 {
		t.Fatalf("verified %d answers, %d mismatches", rep.Verified, rep.Mismatches)
	}
	if len(rep.Workloads) == 0 || rep.LoadPerSecond <= 0 {
		t.Fatalf("report is missing workloads or the load: %+v", rep)
	}

	// A deliberately wrong expected answer must be caught.
	env, err := Setup(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	qs := env.Provider.Questions(rand.New(rand.NewPCG(1, 2)), 50)
	if mm, err := env.Verify(ctx, qs); err != nil || len(mm) != 0 {
		t.Fatalf("honest expectations: %v mismatches, err %v", mm, err)
	}
	qs[7].Expected = !qs[7].Expected
	mm, err := env.Verify(ctx, qs)
	if err != nil {
		t.Fatal(err)
	}
	if len(mm) != 1 || !reflect.DeepEqual(mm[0].Question, qs[7]) { // Check holds a map (its context): not comparable
		t.Fatalf("the flipped answer was not detected: %+v", mm)
	}
	// And Run's verifier turns a mismatch into ErrMismatch.
	env.v.record(qs[7], mm[0].Got)
	if rep, err := env.finish(); !errors.Is(err, ErrMismatch) || rep.Mismatches != 1 {
		t.Fatalf("a wrong answer must fail the run: err %v", err)
	}
}

// On Postgres bench verifies its answers like on memory, and refuses a
// database that holds anything, before touching it.
func TestRunOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an engine")
	}
	ctx := context.Background()
	uri := testutil.PostgresDatabase(t)
	rep, err := Run(ctx, Config{Accounts: 30, Seed: 5, DatastoreEngine: "postgres", DatastoreURI: uri, Duration: 100 * time.Millisecond, Verify: 100})
	if err != nil {
		t.Fatalf("run on postgres: %v", err)
	}
	if rep.Mismatches != 0 || rep.Verified < 100 {
		t.Fatalf("verified %d answers, %d mismatches", rep.Verified, rep.Mismatches)
	}
	flows := 0
	for _, w := range rep.Workloads {
		if w.Errors > 0 {
			t.Errorf("%s (%s, c=%d): %d errors: %s", w.Workload, w.Path, w.Concurrency, w.Errors, w.Note)
		}
		if strings.HasPrefix(w.Workload, "flow ") {
			flows += w.Count
		}
	}
	if flows == 0 {
		t.Fatal("no flow ran on postgres")
	}

	used := testutil.PostgresDatabase(t)
	conn, err := pgx.Connect(ctx, used)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "CREATE TABLE customers (id int)"); err != nil {
		t.Fatal(err)
	}
	_, err = Run(ctx, Config{Accounts: 30, Seed: 5, DatastoreEngine: "postgres", DatastoreURI: used, Duration: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("a database holding a table must be refused, got %v", err)
	}
	var tables int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 1 {
		t.Fatalf("the refused database now holds %d tables, want its 1", tables)
	}
}

// cpuProfiling reports whether a CPU profile is already being taken (go
// test -cpuprofile): the runtime allows only one.
func cpuProfiling() bool {
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		return true
	}
	pprof.StopCPUProfile()
	return false
}
