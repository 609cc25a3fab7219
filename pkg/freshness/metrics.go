package freshness

import (
	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// The tracker's metrics, on Prometheus's default registry (served at
// /metrics). Stats holds the same counts per tracker, for tests and bench.
var (
	// requestsTotal counts the consistency handed to each SpiceDB request
	// (a check, a lookup): at_least_as_fresh a known token, which SpiceDB
	// may answer from its cache, or fully_consistent, which it may not (no
	// live watch, a token not readable, nothing known).
	requestsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hostaccess", Subsystem: "freshness", Name: "requests_total",
		Help: "SpiceDB requests by the consistency the freshness tracker gave them: at_least_as_fresh (cacheable) or fully_consistent.",
	}, []string{"consistency"})
	requestsAtToken = requestsTotal.WithLabelValues("at_least_as_fresh")
	requestsFull    = requestsTotal.WithLabelValues("fully_consistent")

	// tokenLookups counts the accounts whose token a request needed: hit
	// when this node's memory held it, miss when it was read from the
	// directory (a first question about the account, or one evicted past
	// --freshness-cache-size).
	tokenLookups = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hostaccess", Subsystem: "freshness", Name: "token_lookups_total",
		Help: "Account freshness tokens looked up: hit (in this node's memory) or miss (read from the directory).",
	}, []string{"result"})
	tokenHits   = tokenLookups.WithLabelValues("hit")
	tokenMisses = tokenLookups.WithLabelValues("miss")
)

// counted counts c in requestsTotal and returns it.
func counted(c *v1.Consistency) *v1.Consistency {
	if c.GetFullyConsistent() {
		requestsFull.Inc()
	} else {
		requestsAtToken.Inc()
	}
	return c
}
