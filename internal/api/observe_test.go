package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hostaccess/hostaccess/internal/testengine"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// TestRequestLogAndMetrics: every request is one Info line naming its
// route pattern, status, duration, actor kind and key name, and moves the
// metrics; no line holds a key, an invitation token, an id of the path or
// anything of a body.
func TestRequestLogAndMetrics(t *testing.T) {
	svc, _ := testengine.NewService(t, nil)
	core, logs := observer.New(zapcore.InfoLevel)
	h := NewHandler(svc, map[string]string{testKey: testCaller, "k-billing-abcdef": "billing"}, zap.New(core))
	// Mounted as serve mounts it, behind a mux of its own.
	mux := http.NewServeMux()
	mux.Handle("/v1/", h)
	mux.Handle("GET /openapi.json", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := &apiClient{t: t, base: srv.URL, key: testKey}

	created := counter("POST", "/v1/accounts", "201")
	timed := histogramCount(t, "POST", "/v1/accounts")
	c.createAccount("acme", "alice")
	require.Equal(t, created+1, counter("POST", "/v1/accounts", "201"))
	require.Equal(t, timed+1, histogramCount(t, "POST", "/v1/accounts"))

	link := c.invite("user:alice", "acme", "carol@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	c.accept(link.Token, "carol", "carol@example.com")
	billing := &apiClient{t: t, base: srv.URL, key: "k-billing-abcdef"}
	require.True(t, billing.can("account:acme", "pay_invoices", "user:carol", ""))

	refused := counter("GET", "/v1/accounts/{account}/members", "401")
	nobody := &apiClient{t: t, base: srv.URL}
	nobody.call("GET", "/v1/accounts/acme/members", "user:alice", nil)
	require.Equal(t, refused+1, counter("GET", "/v1/accounts/{account}/members", "401"))

	unmatched := counter("GET", unmatchedRoute, "404")
	c.call("GET", "/v1/invitations/"+link.Token, "service", nil)
	require.Equal(t, unmatched+1, counter("GET", unmatchedRoute, "404"))
	c.call("GET", "/openapi.json", "", nil)

	type line struct {
		method, route string
		status        int
		actor, key    string
	}
	want := []line{
		{"POST", "/v1/accounts", 201, "service", "panel"},
		{"POST", "/v1/accounts/{account}/invitations", 201, "user", "panel"},
		{"POST", "/v1/invitations/accept", 200, "none", "panel"},
		{"POST", "/v1/check", 200, "none", "billing"},
		{"GET", "/v1/accounts/{account}/members", 401, "none", ""},
		{"GET", unmatchedRoute, 404, "none", "panel"},
		{"GET", "/openapi.json", 200, "none", ""},
	}
	entries := logs.FilterMessage("request").AllUntimed()
	require.Len(t, entries, len(want))
	secrets := []string{testKey, "k-billing-abcdef", link.Token, "carol@example.com", "acme", "alice", "Bearer"}
	for i, e := range entries {
		require.Equal(t, zapcore.InfoLevel, e.Level)
		f := e.ContextMap()
		require.Equal(t, want[i], line{f["method"].(string), f["route"].(string), int(f["status"].(int64)), f["actor"].(string), f["key"].(string)}, "line %d: %v", i, f)
		d, ok := f["duration"].(time.Duration)
		require.True(t, ok, "line %d: duration %v", i, f["duration"])
		require.Positive(t, d)
		require.Len(t, f, 6, "line %d: no other field: %v", i, f)
		text := fmt.Sprint(e.Message, f)
		for _, s := range secrets {
			require.NotContains(t, text, s, "line %d", i)
		}
	}
	// Nothing else the handler logged holds a key or a token either.
	for _, e := range logs.All() {
		text := fmt.Sprint(e.Message, e.ContextMap())
		for _, s := range []string{testKey, "k-billing-abcdef", link.Token} {
			require.NotContains(t, text, s)
		}
	}
}

func counter(method, route, code string) float64 {
	return testutil.ToFloat64(apiRequests.WithLabelValues(method, route, code))
}

// histogramCount is the number of durations observed for the route, as
// /metrics serves them.
func histogramCount(t *testing.T, method, route string) uint64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	require.NoError(t, err)
	for _, mf := range families {
		if mf.GetName() != "hostaccess_api_request_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["method"] == method && labels["route"] == route {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

func TestMethodLabel(t *testing.T) {
	require.Equal(t, "DELETE", methodLabel("DELETE"))
	require.Equal(t, "OTHER", methodLabel("BREW"))
	require.Equal(t, "OTHER", methodLabel(strings.Repeat("X", 100)))
}
