package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestColdOrderPairsEveryPoolWithTheStockServer(t *testing.T) {
	for r := range 8 {
		order := coldOrder(r, true, false)
		require.Len(t, order, 4)
		// Each hostaccess path once, the stock server once on each pool.
		require.ElementsMatch(t, []coldStep{{pathService, 0}, {pathStock, 0}, {pathGRPC, 1}, {pathStock, 1}}, order)
	}
	require.NotEqual(t, coldOrder(0, true, false)[0], coldOrder(1, true, false)[0], "rounds rotate their order")
	require.Equal(t, []coldStep{{pathService, 0}, {pathGRPC, 1}}, coldOrder(0, false, false))
	require.Equal(t, []coldStep{{pathGRPC, 1}, {pathService, 0}}, coldOrder(1, false, false))
	require.Contains(t, coldOrder(2, true, true), coldStep{pathServe, 0})
	require.Len(t, coldOrder(2, true, true), 5)
	// The base slice is not shared between calls.
	a := coldOrder(1, true, false)
	a[0] = coldStep{"x", 9}
	require.NotContains(t, coldOrder(1, true, false), coldStep{"x", 9})
}

func TestProductQuestionsAreFreshAndJudged(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	p := Generate(200, 5, now)
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	a := p.productQuestions(r, 300, seen)
	b := p.productQuestions(r, 300, seen)
	require.Len(t, a, 300)
	require.Len(t, b, 300)
	keys := map[string]bool{}
	allowed := 0
	for _, q := range slices.Concat(a, b) {
		require.Equal(t, "manage", q.Permission)
		k := q.Resource + "#" + q.Subject
		require.False(t, keys[k], "asked twice: %s", k)
		keys[k] = true
		want, ok := p.Expect(q.Resource, q.Permission, q.Subject, p.Now)
		require.True(t, ok)
		require.Equal(t, want, q.Expected)
		if q.Expected {
			allowed++
		}
	}
	require.Positive(t, allowed, "some questions are allowed")
	require.Less(t, allowed, 600, "some questions are denied")
}

func TestStockDatabaseURI(t *testing.T) {
	got, err := stockDatabaseURI("postgres://postgres@127.0.0.1:5432/bench?sslmode=disable")
	require.NoError(t, err)
	require.Equal(t, "postgres://postgres@127.0.0.1:5432/bench_spicedb?sslmode=disable", got)
	for _, bad := range []string{"host=x dbname=y", "postgres://127.0.0.1:5432", "mysql://x/y"} {
		_, err := stockDatabaseURI(bad)
		require.Error(t, err, bad)
	}
}

func TestStockServeArgsKeepSpiceDBDefaults(t *testing.T) {
	args := stockServeArgs("postgres://db", "k", "127.0.0.1:1", "127.0.0.1:2")
	require.Equal(t, "serve", args[0])
	// Only where it listens, what it serves and no outside calls: nothing
	// that changes how it answers.
	allowed := map[string]bool{"--grpc-preshared-key": true, "--grpc-addr": true, "--datastore-engine": true, "--datastore-conn-uri": true, "--metrics-addr": true, "--telemetry-endpoint=": true, "--skip-release-check": true}
	for i := 1; i < len(args); i++ {
		require.True(t, allowed[args[i]], "unexpected flag %s", args[i])
		if args[i] != "--telemetry-endpoint=" && args[i] != "--skip-release-check" {
			i++
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and a parenthesis; utime 250, stime 50 ticks.
	stat := "1234 (spice db) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 100 1000 100"
	require.InDelta(t, 3.0, parseStatCPU(stat), 1e-9)
	require.Zero(t, parseStatCPU("garbage"))
}

func TestFinishColdPathsSubtractsTheClient(t *testing.T) {
	paths := finishColdPaths(map[string]*ColdPath{
		pathStock:   {Path: pathStock, Count: 100, Seconds: 1, clientCPU: 0.05, ServerCPUms: 0.2},
		pathService: {Path: pathService, Count: 100, Seconds: 2, selfCPU: 0.35},
	})
	require.Len(t, paths, 2)
	require.Equal(t, pathService, paths[0].Path)
	require.InDelta(t, 50, paths[0].PerSecond, 1e-9)
	require.InDelta(t, 3.0, paths[0].ServerCPUms, 1e-9) // 3.5 ms a check, less the client's 0.5
	require.InDelta(t, 2.0, paths[1].ServerCPUms, 1e-9)
	require.InDelta(t, 100, paths[1].PerSecond, 1e-9)
}
