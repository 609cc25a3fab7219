package freshness_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/testengine"
)

// TestMetricsCountHitsAndMisses: a request without a live watch is fully
// consistent; with one, an account's first token is read from the
// directory (a miss), the next from memory (a hit), both at least as fresh.
func TestMetricsCountHitsAndMisses(t *testing.T) {
	r := newRig(t, 0)
	ctx := t.Context()
	before := freshnessMetrics(t)
	moved := func() map[string]float64 {
		out := map[string]float64{}
		for k, v := range freshnessMetrics(t) {
			if d := v - before[k]; d != 0 {
				out[k] = d
			}
		}
		before = freshnessMetrics(t)
		return out
	}

	c, err := r.tracker.Consistency(ctx, []string{"acme"}, "")
	require.NoError(t, err)
	require.True(t, c.GetFullyConsistent())
	require.Equal(t, map[string]float64{"requests/fully_consistent": 1}, moved())

	testengine.Follow(t, r.tracker, r.eng)
	before = freshnessMetrics(t)
	_, err = r.tracker.Consistency(ctx, []string{"acme"}, "")
	require.NoError(t, err)
	require.Equal(t, map[string]float64{"requests/at_least_as_fresh": 1, "token_lookups/miss": 1}, moved())

	_, err = r.tracker.Consistency(ctx, []string{"acme", "globex"}, "")
	require.NoError(t, err)
	require.Equal(t, map[string]float64{"requests/at_least_as_fresh": 1, "token_lookups/hit": 1, "token_lookups/miss": 1}, moved())
}

// freshnessMetrics reads the tracker's counters as /metrics serves them:
// "requests/CONSISTENCY" and "token_lookups/RESULT" -> count.
func freshnessMetrics(t *testing.T) map[string]float64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, fam := range families {
		var prefix, label string
		switch fam.GetName() {
		case "hostaccess_freshness_requests_total":
			prefix, label = "requests/", "consistency"
		case "hostaccess_freshness_token_lookups_total":
			prefix, label = "token_lookups/", "result"
		default:
			continue
		}
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					out[prefix+l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}
