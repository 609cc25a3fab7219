package bench

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

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
