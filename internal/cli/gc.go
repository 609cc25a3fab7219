package cli

import (
	"os"
	"runtime/debug"
	"strconv"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// serveGCPercent is the garbage collector's target serve runs with when GOGC
// is not in its environment. A cold check allocates about 100 KB across
// SpiceDB's dispatch, its SQL building and gRPC, and at Go's default (100)
// collection and the stack growth of the goroutines it interrupts took 15-20%
// of the process: GOGC=400 lowered the server's CPU per cold product check
// by 12-20% and raised cold checks per second over the same questions as a
// stock SpiceDB (docs/bench-cold.md). It lets the heap grow to five times
// what is live; the memory limit below bounds that.
const serveGCPercent = 400

// serveMemLimitRatio is the share of the container's (cgroup) or machine's
// memory serve sets as GOMEMLIMIT when it is not in its environment, as
// `spicedb serve` does: the collector works harder as the heap nears it
// instead of letting GOGC's headroom run the process out of memory.
const serveMemLimitRatio = 0.9

// gcSettings decides serve's collector settings: GOGC and GOMEMLIMIT from
// the environment win; otherwise serveGCPercent, and serveMemLimitRatio of
// total memory (no limit when total is unknown). Zero means "leave as is".
func gcSettings(getenv func(string) string, totalMemory uint64) (gcPercent int, memLimit int64) {
	if getenv("GOGC") == "" {
		gcPercent = serveGCPercent
	}
	if getenv("GOMEMLIMIT") == "" && totalMemory > 0 {
		memLimit = int64(float64(totalMemory) * serveMemLimitRatio)
	}
	return gcPercent, memLimit
}

// applyServeGC sets the collector as gcSettings decides and returns what
// is in force, for the start-up log.
func applyServeGC() (gcPercent string, memLimit int64) {
	total, err := memlimit.ApplyFallback(memlimit.FromCgroup, memlimit.FromSystem)()
	if err != nil {
		total = 0
	}
	percent, limit := gcSettings(os.Getenv, total)
	if percent > 0 {
		debug.SetGCPercent(percent)
	}
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	gcPercent = os.Getenv("GOGC")
	if percent > 0 {
		gcPercent = strconv.Itoa(percent)
	}
	return gcPercent, debug.SetMemoryLimit(-1)
}
