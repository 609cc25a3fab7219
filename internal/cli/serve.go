package cli

import (
	"context"
	"errors"
	"fmt"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/hostaccess/hostaccess/internal/engine"
	"github.com/hostaccess/hostaccess/internal/httpserver"
	"github.com/hostaccess/hostaccess/internal/logging"
	"github.com/hostaccess/hostaccess/internal/relfile"
	"github.com/hostaccess/hostaccess/schema"
)

// serveConfig is everything `serve` is configured with.
type serveConfig struct {
	Engine        engine.Config
	HTTPAddr      string
	LogLevel      string
	LogFormat     string
	Bootstrap     string
	ShutdownGrace time.Duration
}

func (c serveConfig) Validate() error {
	if err := c.Engine.Validate(); err != nil {
		return err
	}
	if c.HTTPAddr == "" {
		return errors.New("--http-addr is required")
	}
	if c.ShutdownGrace <= 0 {
		return errors.New("--shutdown-grace-period must be positive")
	}
	return nil
}

func registerDatastoreFlags(cmd *cobra.Command, cfg *engine.Config) {
	cmd.Flags().StringVar(&cfg.DatastoreEngine, "datastore-engine", engine.EngineMemory, "datastore: memory (trying and tests; nothing survives a restart), postgres or cockroachdb")
	cmd.Flags().StringVar(&cfg.DatastoreURI, "datastore-conn-uri", "", "connection string of the postgres or cockroachdb datastore")
}

func newServeCommand() *cobra.Command {
	cfg := serveConfig{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run SpiceDB with the hosting schema: gRPC API, health, readiness and metrics",
		Long: `Run SpiceDB in-process (or use an external cluster with --spicedb-endpoint),
write the embedded hosting schema when it is absent or changed, and serve:

  gRPC  --grpc-addr   SpiceDB's standard v1 API (authzed-go, authzed-node, zed)
  HTTP  --http-addr   /healthz, /readyz, /metrics

Stops gracefully on SIGINT or SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			logger, err := logging.New(cfg.LogLevel, cfg.LogFormat)
			if err != nil {
				return err
			}
			defer func() { _ = logger.Sync() }()
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return serve(ctx, cfg, logger)
		},
	}
	f := cmd.Flags()
	registerDatastoreFlags(cmd, &cfg.Engine)
	f.BoolVar(&cfg.Engine.SkipMigrations, "skip-migrations", false, "do not run the SQL datastore's migrations at start")
	f.StringVar(&cfg.Engine.GRPCAddr, "grpc-addr", ":50051", "address of SpiceDB's gRPC API")
	f.StringVar(&cfg.Engine.PresharedKey, "grpc-preshared-key", "", "preshared key gRPC callers present as bearer token (required unless --insecure-no-auth)")
	f.BoolVar(&cfg.Engine.InsecureNoAuth, "insecure-no-auth", false, "serve the gRPC API without authentication (local development only)")
	f.StringVar(&cfg.Engine.SpiceDBEndpoint, "spicedb-endpoint", "", "HOST:PORT of an external SpiceDB cluster to use instead of the embedded engine")
	f.StringVar(&cfg.Engine.SpiceDBToken, "spicedb-token", "", "preshared key of the external SpiceDB cluster")
	f.BoolVar(&cfg.Engine.SpiceDBInsecure, "spicedb-insecure", false, "plaintext gRPC to the external SpiceDB cluster")
	f.StringVar(&cfg.HTTPAddr, "http-addr", ":8080", "address of the HTTP server (/healthz, /readyz, /metrics)")
	f.StringVar(&cfg.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&cfg.LogFormat, "log-format", logging.FormatConsole, "log format: json or console")
	f.StringVar(&cfg.Bootstrap, "bootstrap", "", "validation-format YAML file whose relationships are loaded (touched) at start")
	f.DurationVar(&cfg.ShutdownGrace, "shutdown-grace-period", 10*time.Second, "how long in-flight requests may take to finish at shutdown")
	return cmd
}

// serve runs the engine and the HTTP server until ctx ends.
func serve(ctx context.Context, cfg serveConfig, logger *zap.Logger) error {
	eng, err := engine.Open(ctx, cfg.Engine, logger)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()

	var schemaReady atomic.Bool
	ready := func(ctx context.Context) error {
		if !schemaReady.Load() {
			return errors.New("starting: schema not written yet")
		}
		return eng.Ready(ctx)
	}
	httpSrv, err := httpserver.New(cfg.HTTPAddr, ready, prometheus.DefaultGatherer, logger)
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return eng.Run(gctx) })
	g.Go(func() error { return httpSrv.Run(gctx, cfg.ShutdownGrace) })
	g.Go(func() error {
		if err := prepare(gctx, eng, cfg, logger); err != nil {
			return err
		}
		schemaReady.Store(true)
		logger.Info("hostaccess is ready",
			zap.String("grpc", cfg.Engine.GRPCAddr),
			zap.String("http", httpSrv.Addr()),
			zap.String("datastore", cfg.Engine.DatastoreEngine))
		return nil
	})
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	logger.Info("stopped")
	return nil
}

// prepare writes the schema and loads the bootstrap file.
func prepare(ctx context.Context, eng *engine.Engine, cfg serveConfig, logger *zap.Logger) error {
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	change, err := eng.EnsureSchema(startCtx, schema.Hosting)
	for _, line := range change.Changes {
		logger.Info("schema change", zap.String("change", line))
	}
	if err != nil {
		return err
	}
	if cfg.Bootstrap == "" {
		return nil
	}
	f, err := relfile.Read(cfg.Bootstrap)
	if err != nil {
		return fmt.Errorf("--bootstrap: %w", err)
	}
	if _, err := relfile.Touch(startCtx, eng.Client, f.Relationships, 1000); err != nil {
		return fmt.Errorf("--bootstrap %s: %w", cfg.Bootstrap, err)
	}
	logger.Info("loaded bootstrap relationships", zap.String("file", cfg.Bootstrap), zap.Int("relationships", len(f.Relationships)))
	return nil
}

func newMigrateCommand() *cobra.Command {
	cfg := engine.Config{}
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Run the SQL datastore's migrations and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.DatastoreEngine == engine.EngineMemory {
				return errors.New("the memory datastore has nothing to migrate; set --datastore-engine postgres or cockroachdb")
			}
			cfg.GRPCAddr = ":0"
			cfg.InsecureNoAuth = true
			if err := cfg.Validate(); err != nil {
				return err
			}
			logger, err := logging.New("info", logging.FormatConsole)
			if err != nil {
				return err
			}
			return engine.Migrate(cmd.Context(), cfg.DatastoreEngine, cfg.DatastoreURI, logger)
		},
	}
	registerDatastoreFlags(cmd, &cfg)
	return cmd
}
