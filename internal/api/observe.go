package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// unmatchedRoute labels a request that matched no route (404, 405, a path
// that is not canonical): never its raw path, which holds ids and whatever
// else a client put there.
const unmatchedRoute = "unmatched"

// Actor kinds of the request log: who the X-Hostaccess-Actor header names.
const (
	actorUser    = "user"    // user:<id>
	actorService = "service" // the calling service itself
	actorNone    = "none"    // a route without an actor, or no valid header
)

// The API's metrics, on Prometheus's default registry (served at /metrics).
// Routes are labelled by their pattern, so ids never reach a label.
var (
	apiRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hostaccess", Name: "api_requests_total",
		Help: "HTTP API requests answered, by method, route pattern and status code.",
	}, []string{"method", "route", "code"})
	apiDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "hostaccess", Name: "api_request_duration_seconds",
		Help:    "Time to answer an HTTP API request, by method and route pattern.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route"})
)

// observed serves through s and, for every request, logs one line at Info
// (method, route pattern, status, duration, actor kind, API key name) and
// counts it in the metrics. Never logged: the key itself, the actor's id,
// the path's ids, the query, headers and bodies (which carry invitation
// tokens and e-mail addresses).
func observed(s *server) http.Handler {
	byPattern := make(map[string]route, len(routes))
	for _, rt := range routes {
		byPattern[rt.Method+" "+rt.Pattern] = rt
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		// The route's handler (wrap) notes the key name and the actor kind
		// as it authenticates: they are not worked out a second time here.
		note := &callerNote{actor: actorNone}
		r = r.WithContext(context.WithValue(r.Context(), callerNoteKey{}, note))
		// The routes' mux sets the pattern of the route it serves; clear
		// the one a mux in front of this handler set ("/v1/").
		r.Pattern = ""
		s.ServeHTTP(rec, r)
		elapsed := time.Since(start)

		rt, matched := byPattern[r.Pattern]
		routeLabel := unmatchedRoute
		if matched {
			routeLabel = rt.Pattern
		}
		method := methodLabel(r.Method)
		status := rec.statusCode()
		key, actor := note.key, note.actor
		if !matched { // no route ran to authenticate: name the key for the log
			if caller, ok := s.authenticate(r); ok {
				key = caller.name
			}
		}

		apiRequests.WithLabelValues(method, routeLabel, strconv.Itoa(status)).Inc()
		apiDuration.WithLabelValues(method, routeLabel).Observe(elapsed.Seconds())
		s.log.Info("request",
			zap.String("method", method),
			zap.String("route", routeLabel),
			zap.Int("status", status),
			zap.Duration("duration", elapsed),
			zap.String("actor", actor),
			zap.String("key", key))
	})
}

// callerNote is what the request log says of the caller: the name of the
// API key ("" for none or an unknown one) and the kind of actor named.
type callerNote struct{ key, actor string }

type callerNoteKey struct{}

// noteCaller records, for the request log, what wrap learnt of the caller.
func noteCaller(r *http.Request, key string, actor *hostaccess.Actor) {
	note, ok := r.Context().Value(callerNoteKey{}).(*callerNote)
	if !ok {
		return
	}
	note.key = key
	switch {
	case actor == nil:
	case actor.Service != "":
		note.actor = actorService
	default:
		note.actor = actorUser
	}
}

// methodLabel keeps the method label to the methods HTTP defines: a client
// may send any token.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// statusRecorder remembers the status a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusCode is the status answered: 200 when the handler wrote nothing.
func (w *statusRecorder) statusCode() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
