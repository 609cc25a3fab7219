package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// ErrMismatch is returned when an answer differs from the one the
// generated data implies.
var ErrMismatch = errors.New("bench: answers differ from the generated data")

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

func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(raw))
	return strings.Join(f[:min(3, len(f))], " ")
}
