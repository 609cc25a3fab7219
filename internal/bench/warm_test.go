package bench

import (
	"strings"
	"testing"
	"time"
)

// TestWarmWorkloadsVerifyAndJudgeFresh: the warm set runs both paths, every
// cycling answer matches the generated data, and the background writer's
// changes were judged fresh on both paths (none stale).
func TestWarmWorkloadsVerifyAndJudgeFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an engine")
	}
	_, rep := runWorkloads(t, Config{Accounts: 80, Seed: 5, DatastoreEngine: "memory", Duration: 400 * time.Millisecond, Verify: 50,
		Only: OnlyWarm, WarmQuestions: 300, Log: testWriter{t}})
	paths := map[string]bool{}
	for _, w := range rep.Workloads {
		if w.Errors > 0 {
			t.Errorf("%s %s: %d errors: %s", w.Workload, w.Path, w.Errors, w.Note)
		}
		if w.Count == 0 {
			t.Errorf("%s %s: nothing measured", w.Workload, w.Path)
		}
		if strings.HasPrefix(w.Workload, "warm product checks, both rounds") {
			paths[w.Path] = true
			if !strings.Contains(w.Note, ", 0 stale") || strings.Contains(w.Note, " 0 fresh-after-write answers judged") {
				t.Errorf("%s: %s", w.Path, w.Note)
			}
		}
	}
	if !paths["service"] || !paths["grpc"] {
		t.Fatalf("paths measured: %v", paths)
	}
}

// testWriter sends progress lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
