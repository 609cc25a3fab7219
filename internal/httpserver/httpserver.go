// Package httpserver serves hostaccess's HTTP port: liveness, readiness and
// Prometheus metrics, plus whatever API handlers are mounted on it.
package httpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// ReadinessFunc returns nil when the server can answer requests, or why not.
type ReadinessFunc func(ctx context.Context) error

// Server is the HTTP server.
type Server struct {
	mux      *http.ServeMux
	srv      *http.Server
	listener net.Listener
	logger   *zap.Logger
}

// readyTimeout bounds a readiness probe so a hung datastore reads as not ready.
const readyTimeout = 2 * time.Second

// New binds addr and mounts /healthz, /readyz and /metrics.
func New(addr string, ready ReadinessFunc, gatherer prometheus.Gatherer, logger *zap.Logger) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on --http-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))

	stopping := make(chan struct{})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          zap.NewStdLog(logger.Named("http")),
		BaseContext: func(net.Listener) context.Context {
			return context.WithValue(context.Background(), stoppingKey{}, stopping)
		},
	}
	srv.RegisterOnShutdown(func() { close(stopping) })
	return &Server{mux: mux, listener: l, logger: logger, srv: srv}, nil
}

// Handle mounts an extra handler (the JSON API) on the server.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// UseTLS serves HTTPS with cfg (tlsconf.Pair.ServerConfig) instead of
// plaintext HTTP; call it before Run.
func (s *Server) UseTLS(cfg *tls.Config) { s.srv.TLSConfig = cfg }

// Addr is the address actually bound (useful with port 0).
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Run serves until ctx is cancelled, then shuts down, letting in-flight
// requests finish within grace.
func (s *Server) Run(ctx context.Context, grace time.Duration) error {
	errc := make(chan error, 1)
	useTLS := s.srv.TLSConfig != nil // read before Serve starts using the server
	if useTLS {
		// The certificate is in TLSConfig already; ServeTLS adds HTTP/2.
		go func() { errc <- s.srv.ServeTLS(s.listener, "", "") }()
	} else {
		go func() { errc <- s.srv.Serve(s.listener) }()
	}
	s.logger.Info("serving HTTP", zap.String("addr", s.Addr()), zap.Bool("tls", useTLS))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := s.srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down HTTP: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type stoppingKey struct{}

// Stopping is closed when the server that took the request begins to shut
// down: long-lived answers (the audit feed) end then, so the shutdown does
// not wait on them. A request from elsewhere (a test's server) gets nil,
// which never closes.
func Stopping(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(stoppingKey{}).(chan struct{})
	return ch
}
