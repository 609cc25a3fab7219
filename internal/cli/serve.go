package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/hostaccess/hostaccess/internal/api"
	"github.com/hostaccess/hostaccess/internal/httpserver"
	"github.com/hostaccess/hostaccess/internal/logging"
	"github.com/hostaccess/hostaccess/internal/mail"
	"github.com/hostaccess/hostaccess/internal/relfile"
	"github.com/hostaccess/hostaccess/internal/tlsconf"
	"github.com/hostaccess/hostaccess/pkg/directory/postgres"
	"github.com/hostaccess/hostaccess/pkg/engine"
	"github.com/hostaccess/hostaccess/pkg/freshness"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
	"github.com/hostaccess/hostaccess/pkg/stack"
)

// serveConfig is everything `serve` is configured with.
type serveConfig struct {
	Engine        engine.Config
	HTTPAddr      string
	LogLevel      string
	LogFormat     string
	Bootstrap     string
	ShutdownGrace time.Duration

	// TLS of the listeners: HTTPTLSCert/Key for the HTTP port, TLSCert/Key
	// for both ports unless the listener's own flag is set (the gRPC
	// port's are Engine.TLSCertPath/TLSKeyPath).
	HTTPTLSCert, HTTPTLSKey string
	TLSCert, TLSKey         string

	// The HTTP/JSON API and invitations.
	APIKeys           []string // NAME=KEY or NAME:SCOPE[+SCOPE]=KEY
	APIKeysFile       string   // more keys, one a line, reloaded on SIGHUP and change
	InviteURLTemplate string
	InvitationTTL     time.Duration
	SMTPURL           string
	SMTPFrom          string

	// DirectoryURI overrides where the directory lives (default: the
	// datastore's database); required with --spicedb-endpoint for durability.
	DirectoryURI      string
	DirectoryMaxConns int32

	// RecoverAfter: how old an interrupted flow must be before it is settled.
	RecoverAfter time.Duration
	// RecoverInterval: how often this node looks for interrupted flows (in
	// a cluster, those of a node that died are settled by the others).
	RecoverInterval time.Duration
	// AuditRetention: how long audit entries are kept (0: for ever).
	AuditRetention time.Duration
	// MFARights: rights needing a two-factor session ("" none).
	MFARights []string
	// MaxTokenLifetime: the longest a personal access token may live.
	MaxTokenLifetime time.Duration

	// Consistency of the service's checks: tokens (per-account freshness
	// tokens, pkg/freshness) or full. FreshnessCacheSize bounds the tokens
	// kept in memory; SpiceDBDatastoreEngine tells how an external
	// cluster's tokens compare.
	Consistency            string
	FreshnessCacheSize     int
	FreshnessRepinEvery    time.Duration
	SpiceDBDatastoreEngine string
}

// grpcTLS and httpTLS are each listener's certificate and key: its own
// flags, else --tls-cert-path / --tls-key-path.
func (c serveConfig) grpcTLS() tlsconf.Pair {
	return listenerTLS("grpc", c.Engine.TLSCertPath, c.Engine.TLSKeyPath, c.TLSCert, c.TLSKey)
}

func (c serveConfig) httpTLS() tlsconf.Pair {
	return listenerTLS("http", c.HTTPTLSCert, c.HTTPTLSKey, c.TLSCert, c.TLSKey)
}

func listenerTLS(listener, cert, key, anyCert, anyKey string) tlsconf.Pair {
	own := "--" + listener + "-tls-"
	p := tlsconf.Pair{Cert: cert, Key: key, CertFlag: own + "cert-path", KeyFlag: own + "key-path"}
	switch {
	case p.Cert == "" && anyCert != "":
		p.Cert, p.CertFlag = anyCert, "--tls-cert-path"
	case p.Cert == "":
		p.CertFlag += " (or --tls-cert-path)"
	}
	switch {
	case p.Key == "" && anyKey != "":
		p.Key, p.KeyFlag = anyKey, "--tls-key-path"
	case p.Key == "":
		p.KeyFlag += " (or --tls-key-path)"
	}
	return p
}

// engineConfig is the engine's configuration with the gRPC listener's
// certificate resolved.
func (c serveConfig) engineConfig() engine.Config {
	e := c.Engine
	g := c.grpcTLS()
	e.TLSCertPath, e.TLSKeyPath = g.Cert, g.Key
	return e
}

func (c serveConfig) Validate() error {
	// The listeners' TLS first: its errors name the flags actually given.
	if err := c.grpcTLS().Validate(); err != nil {
		return err
	}
	if err := c.httpTLS().Validate(); err != nil {
		return err
	}
	if err := c.engineConfig().Validate(); err != nil {
		return err
	}
	if c.HTTPAddr == "" {
		return errors.New("--http-addr is required")
	}
	if c.ShutdownGrace <= 0 {
		return errors.New("--shutdown-grace-period must be positive")
	}
	if _, err := c.apiKeys(); err != nil {
		return err
	}
	if c.APIKeysFile != "" {
		if _, err := c.keyFile(nil).Load(); err != nil {
			return fmt.Errorf("--api-keys-file: %w", err)
		}
	}
	if c.AuditRetention < 0 || (c.AuditRetention > 0 && c.AuditRetention < stack.MinAuditRetention) {
		return fmt.Errorf("--audit-retention %s: give 0 (keep every entry) or %s at least", c.AuditRetention, stack.MinAuditRetention)
	}
	if c.RecoverAfter <= 0 {
		return errors.New("--recover-after must be positive")
	}
	if c.RecoverInterval <= 0 {
		return errors.New("--recover-interval must be positive")
	}
	switch c.Consistency {
	case stack.ConsistencyTokens, stack.ConsistencyFull:
	default:
		return fmt.Errorf("unknown --consistency %q: use tokens or full", c.Consistency)
	}
	if c.FreshnessCacheSize < 1 {
		return errors.New("--freshness-cache-size must be at least 1")
	}
	if c.FreshnessRepinEvery < time.Second {
		return errors.New("--freshness-repin-interval must be at least 1s (and well under the datastore's GC window)")
	}
	if c.Engine.WatchInterval < 100*time.Millisecond {
		return errors.New("--watch-interval must be at least 100ms")
	}
	switch c.SpiceDBDatastoreEngine {
	case "", engine.EngineMemory, engine.EnginePostgres, engine.EngineCockroachDB:
	default:
		return fmt.Errorf("unknown --spicedb-datastore-engine %q: use memory, postgres or cockroachdb", c.SpiceDBDatastoreEngine)
	}
	if c.InvitationTTL < time.Minute {
		return fmt.Errorf("--invitation-ttl %s is too short", c.InvitationTTL)
	}
	if c.InviteURLTemplate != "" {
		if err := mail.ValidateLinkTemplate(c.InviteURLTemplate); err != nil {
			return fmt.Errorf("--invite-url-template: %w", err)
		}
	}
	if c.SMTPURL != "" {
		if c.SMTPFrom == "" {
			return errors.New("--smtp-from is required with --smtp-url")
		}
		if c.InviteURLTemplate == "" {
			return errors.New("--invite-url-template is required with --smtp-url: the e-mail carries the link")
		}
		if _, err := mail.NewSMTPSender(c.SMTPURL, c.SMTPFrom); err != nil {
			return fmt.Errorf("--smtp-url: %w", err)
		}
	}
	return nil
}

// apiKeys parses the --api-keys values and checks them as a set.
func (c serveConfig) apiKeys() ([]api.Key, error) { return api.ParseKeys(c.APIKeys) }

// keyFile is --api-keys-file over the --api-keys keys (validated).
func (c serveConfig) keyFile(logger *zap.Logger) *api.KeyFile {
	static, _ := c.apiKeys()
	return &api.KeyFile{Path: c.APIKeysFile, Static: static, Ring: api.NewKeyring(nil), Logger: logger}
}

// mailerAdapter lets the SMTP sender deliver the domain's invitation mails.
type mailerAdapter struct{ sender *mail.SMTPSender }

func (m mailerAdapter) SendInvitation(ctx context.Context, inv hostaccess.InvitationMail) error {
	return m.sender.SendInvitation(ctx, mail.Invitation{
		To: inv.To, AccountName: inv.AccountName, InviterName: inv.InviterName, Link: inv.Link, ExpiresAt: inv.ExpiresAt,
	})
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
  HTTP  --http-addr   /healthz, /readyz, /metrics, and the flows' API /v1

A cluster: several serve nodes on one postgres or cockroachdb datastore
(--datastore-conn-uri) answer the same; with --dispatch-cluster-addr and
--dispatch-upstream-addr they also split each check over a consistent-hash
ring, so that each node caches its share of the graph. Every node lists the
dispatch addresses of all of them and has the same --grpc-preshared-key
(SpiceDB presents it to its peers). On one machine:

  hostaccess serve --datastore-engine postgres --datastore-conn-uri URI \
    --grpc-preshared-key KEY --api-keys panel=APIKEY \
    --grpc-addr :50051 --http-addr :8080 --dispatch-cluster-addr :50053 \
    --dispatch-upstream-addr 127.0.0.1:50053,127.0.0.1:50063,127.0.0.1:50073
  (the second node: :50061, :8081, :50063; the third: :50071, :8082, :50073)

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
			gcPercent, memLimit := applyServeGC() // gc.go: GOGC / GOMEMLIMIT unless set
			logger.Info("garbage collector", zap.String("gogc", gcPercent), zap.Int64("gomemlimit_bytes", memLimit))
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return serve(ctx, cfg, logger)
		},
	}
	f := cmd.Flags()
	registerDatastoreFlags(cmd, &cfg.Engine)
	f.BoolVar(&cfg.Engine.SkipMigrations, "skip-migrations", false, "do not run the SQL datastore's migrations at start")
	f.IntVar(&cfg.Engine.ReadPoolMaxOpen, "datastore-conn-pool-read-max-open", 20, "connections SpiceDB's read pool keeps open at most")
	f.IntVar(&cfg.Engine.WritePoolMaxOpen, "datastore-conn-pool-write-max-open", 10, "connections SpiceDB's write pool keeps open at most")
	f.DurationVar(&cfg.Engine.RevisionQuantization, "datastore-revision-quantization-interval", 5*time.Second, "how long SpiceDB may serve minimize_latency requests from one snapshot (longer: warmer cache, older answers for such requests)")
	f.StringVar(&cfg.Engine.DispatchCacheMaxCost, "dispatch-cache-max-cost", "30%", "size of SpiceDB's check cache: bytes (256MiB) or a share of available memory (30%)")
	f.StringVar(&cfg.Engine.GRPCAddr, "grpc-addr", ":50051", "address of SpiceDB's gRPC API")
	f.StringVar(&cfg.Engine.PresharedKey, "grpc-preshared-key", "", "preshared key gRPC callers present as bearer token (required unless --insecure-no-auth)")
	f.BoolVar(&cfg.Engine.InsecureNoAuth, "insecure-no-auth", false, "serve the gRPC API without authentication (local development only)")
	f.StringVar(&cfg.Engine.TLSCertPath, "grpc-tls-cert-path", "", "PEM certificate (chain) serving the gRPC API over TLS; re-read when it changes")
	f.StringVar(&cfg.Engine.TLSKeyPath, "grpc-tls-key-path", "", "PEM private key of --grpc-tls-cert-path")
	f.StringVar(&cfg.HTTPTLSCert, "http-tls-cert-path", "", "PEM certificate (chain) serving the HTTP port over TLS (HTTPS)")
	f.StringVar(&cfg.HTTPTLSKey, "http-tls-key-path", "", "PEM private key of --http-tls-cert-path")
	f.StringVar(&cfg.TLSCert, "tls-cert-path", "", "PEM certificate (chain) for both the gRPC and the HTTP port, unless --grpc-/--http-tls-cert-path is set")
	f.StringVar(&cfg.TLSKey, "tls-key-path", "", "PEM private key of --tls-cert-path")
	f.StringVar(&cfg.Engine.SpiceDBEndpoint, "spicedb-endpoint", "", "HOST:PORT of an external SpiceDB cluster to use instead of the embedded engine")
	f.StringVar(&cfg.Engine.SpiceDBToken, "spicedb-token", "", "preshared key of the external SpiceDB cluster")
	f.BoolVar(&cfg.Engine.SpiceDBInsecure, "spicedb-insecure", false, "plaintext gRPC to the external SpiceDB cluster")
	f.StringVar(&cfg.Engine.SpiceDBCAPath, "spicedb-tls-ca-path", "", "PEM authorities verifying the external SpiceDB cluster's certificate (default: the system's)")
	f.StringVar(&cfg.HTTPAddr, "http-addr", ":8080", "address of the HTTP server (/healthz, /readyz, /metrics)")
	f.StringVar(&cfg.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&cfg.LogFormat, "log-format", logging.FormatConsole, "log format: json or console")
	f.StringVar(&cfg.Bootstrap, "bootstrap", "", "validation-format YAML file whose relationships are loaded (touched) at start")
	f.DurationVar(&cfg.ShutdownGrace, "shutdown-grace-period", 10*time.Second, "how long in-flight requests may take to finish at shutdown")
	f.StringSliceVar(&cfg.APIKeys, "api-keys", nil, "NAME=KEY (every scope) or NAME:SCOPE[+SCOPE]=KEY (scopes read, write): a calling service's bearer key for the HTTP API /v1 (repeatable; no key: the API is off)")
	f.StringVar(&cfg.APIKeysFile, "api-keys-file", "", "file of more API keys, one a line as in --api-keys, # comments; reloaded on SIGHUP and when it changes")
	f.StringVar(&cfg.InviteURLTemplate, "invite-url-template", "", "invitation link, {token} replaced by the token, e.g. https://panel.example.com/invite/{token}")
	f.DurationVar(&cfg.InvitationTTL, "invitation-ttl", hostaccess.DefaultInvitationTTL, "how long an invitation stays valid (1m at least)")
	f.StringVar(&cfg.SMTPURL, "smtp-url", "", "SMTP server for invitation e-mails: smtp://user:pass@host:587 (STARTTLS), smtps://host:465")
	f.StringVar(&cfg.SMTPFrom, "smtp-from", "", "From address of invitation e-mails")
	f.StringVar(&cfg.DirectoryURI, "directory-conn-uri", "", "database of the directory (default: the datastore's; needed for durability with --spicedb-endpoint)")
	f.StringSliceVar(&cfg.MFARights, "mfa-rights", nil, "rights that need a two-factor session on accounts with a host (checks then need mfa in their context; e.g. security,user_management; default none)")
	f.DurationVar(&cfg.MaxTokenLifetime, "token-max-lifetime", hostaccess.DefaultMaxTokenLifetime, "the longest a personal access token may live (1h to 10 years)")
	f.DurationVar(&cfg.AuditRetention, "audit-retention", 0, "remove audit entries older than this, hourly (e.g. 8760h; 0: keep every entry); the chain verifies from the last one removed")
	f.DurationVar(&cfg.RecoverAfter, "recover-after", hostaccess.RecoverAfter, "settle flows interrupted by a crash once they are this old (must exceed the 30s write timeout of every node)")
	f.DurationVar(&cfg.RecoverInterval, "recover-interval", stack.DefaultRecoverInterval, "how often to settle interrupted flows, this node's or (in a cluster) a dead node's")
	f.Int32Var(&cfg.DirectoryMaxConns, "directory-conn-pool-max-open", postgres.DefaultMaxConns, "connections the directory's pool opens at most")
	f.StringVar(&cfg.Consistency, "consistency", stack.ConsistencyTokens, "checks: tokens (as fresh as each account's last change, cached otherwise) or full (every check fully consistent)")
	f.IntVar(&cfg.FreshnessCacheSize, "freshness-cache-size", freshness.DefaultCapacity, "accounts whose freshness token is kept in memory")
	f.DurationVar(&cfg.FreshnessRepinEvery, "freshness-repin-interval", freshness.DefaultRepinEvery, "how often every account's pinned snapshot moves to the newest revision although nothing changed (each cached answer goes cold once); keep it well under the datastore's GC window")
	f.DurationVar(&cfg.Engine.WatchInterval, "watch-interval", 100*time.Millisecond, "how often SpiceDB's watch polls a SQL datastore: the delay before changes made through other nodes reach this one's tokens (at least 100ms)")
	f.StringVar(&cfg.Engine.DispatchAddr, "dispatch-cluster-addr", "", "serve SpiceDB's dispatch API here (HOST:PORT), for the other nodes of a cluster on the same SQL datastore; needs --dispatch-upstream-addr and the same --grpc-preshared-key on every node")
	f.StringVar(&cfg.Engine.DispatchUpstreamAddr, "dispatch-upstream-addr", "", "dispatch addresses of every node of the cluster, this one included: HOST:PORT,HOST:PORT,... (a node that does not answer is left off the hash ring until it does), or a gRPC target such as dns:///spicedb-dispatch.internal:50053")
	f.StringVar(&cfg.Engine.DispatchTLSCertPath, "dispatch-cluster-tls-cert-path", "", "PEM certificate (chain) serving the dispatch API over TLS")
	f.StringVar(&cfg.Engine.DispatchTLSKeyPath, "dispatch-cluster-tls-key-path", "", "PEM private key of --dispatch-cluster-tls-cert-path")
	f.StringVar(&cfg.Engine.DispatchUpstreamCAPath, "dispatch-upstream-ca-path", "", "PEM authorities verifying the peers' dispatch certificates (without it dispatch is plaintext)")
	f.StringVar(&cfg.Engine.ClusterDispatchCacheMaxCost, "dispatch-cluster-cache-max-cost", "70%", "size of SpiceDB's cache of the sub-problems this node answers for its peers: bytes (256MiB) or a share of available memory")
	f.StringVar(&cfg.SpiceDBDatastoreEngine, "spicedb-datastore-engine", "", "datastore engine of the external SpiceDB cluster (postgres, cockroachdb, memory): needed for tokens with --spicedb-endpoint; without it checks are fully consistent")
	return cmd
}

// serve runs the stack (pkg/stack) and the HTTP server until ctx ends.
// The HTTP server starts first, so that /healthz answers and /readyz says
// "starting" while migrations and the schema take their time.
func serve(ctx context.Context, cfg serveConfig, logger *zap.Logger) error {
	cfg.Engine = cfg.engineConfig()
	httpTLS, err := cfg.httpTLS().ServerConfig()
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	srv := &stack.Server{
		Engine:                 cfg.Engine,
		DirectoryURI:           cfg.DirectoryURI,
		DirectoryMaxConns:      cfg.DirectoryMaxConns,
		Consistency:            cfg.Consistency,
		SpiceDBDatastoreEngine: cfg.SpiceDBDatastoreEngine,
		FreshnessCacheSize:     cfg.FreshnessCacheSize,
		FreshnessRepinEvery:    cfg.FreshnessRepinEvery,
		InvitationTTL:          cfg.InvitationTTL,
		InviteURLTemplate:      cfg.InviteURLTemplate,
		RecoverAfter:           cfg.RecoverAfter,
		RecoverInterval:        cfg.RecoverInterval,
		AuditRetention:         cfg.AuditRetention,
		MFARights:              rightsOf(cfg.MFARights),
		MaxTokenLifetime:       cfg.MaxTokenLifetime,
		APIKeys:                cfg.APIKeys,
		APIKeysFile:            cfg.APIKeysFile,
		ReloadKeys:             hup,
		Prepare:                bootstrap(cfg.Bootstrap, logger),
		Logger:                 logger,
	}
	if cfg.SMTPURL != "" {
		sender, err := mail.NewSMTPSender(cfg.SMTPURL, cfg.SMTPFrom)
		if err != nil {
			return fmt.Errorf("--smtp-url: %w", err)
		}
		srv.Mailer = mailerAdapter{sender: sender}
		logger.Info("invitations are e-mailed", zap.Stringer("smtp", sender))
	}
	defer func() { _ = srv.Close() }()

	// /readyz is unauthenticated: it says which part is not ready, and the
	// log says why (addresses and credentials stay out of the answer).
	httpSrv, err := httpserver.New(cfg.HTTPAddr, srv.Ready, prometheus.DefaultGatherer, logger)
	if err != nil {
		return err
	}
	if httpTLS != nil {
		httpSrv.UseTLS(httpTLS)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return httpSrv.Run(gctx, cfg.ShutdownGrace) })
	g.Go(func() error {
		if err := srv.Start(gctx); err != nil {
			return err
		}
		if len(srv.APIKeyNames()) == 0 && cfg.APIKeysFile == "" {
			logger.Warn("no --api-keys or --api-keys-file: the HTTP API /v1 is off (health, readiness and metrics still serve)")
		} else {
			httpSrv.Handle("/v1/", srv.Handler())
			httpSrv.Handle("GET /openapi.json", srv.Handler())
		}
		logger.Info("hostaccess is ready",
			zap.String("grpc", cfg.Engine.GRPCAddr),
			zap.Bool("grpc_tls", cfg.Engine.TLSCertPath != ""),
			zap.String("http", httpSrv.Addr()),
			zap.Bool("http_tls", httpTLS != nil),
			zap.String("datastore", cfg.Engine.DatastoreEngine))
		select {
		case <-gctx.Done():
			return nil
		case <-srv.Done():
			return srv.Err()
		}
	})
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	logger.Info("stopped")
	return nil
}

// bootstrap loads a relationship file once the schema is written (nothing
// when path is empty).
func bootstrap(path string, logger *zap.Logger) func(context.Context, *stack.Server) error {
	if path == "" {
		return nil
	}
	return func(ctx context.Context, s *stack.Server) error {
		f, err := relfile.Read(path)
		if err != nil {
			return fmt.Errorf("--bootstrap: %w", err)
		}
		if _, err := relfile.Touch(ctx, s.Client(), f.Relationships, 1000); err != nil {
			return fmt.Errorf("--bootstrap %s: %w", path, err)
		}
		logger.Info("loaded bootstrap relationships", zap.String("file", path), zap.Int("relationships", len(f.Relationships)))
		return nil
	}
}

func newMigrateCommand() *cobra.Command {
	cfg := engine.Config{}
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Run the SQL datastore's migrations (SpiceDB's and the directory's) and exit",
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
			if err := engine.Migrate(cmd.Context(), cfg.DatastoreEngine, cfg.DatastoreURI, logger); err != nil {
				return err
			}
			dialect := postgres.Postgres
			if cfg.DatastoreEngine == engine.EngineCockroachDB {
				dialect = postgres.CockroachDB
			}
			if err := postgres.Migrate(cmd.Context(), cfg.DatastoreURI, dialect); err != nil {
				return fmt.Errorf("migrating the directory: %w", err)
			}
			logger.Info("migrated", zap.String("directory", postgres.HeadRevision()))
			return nil
		},
	}
	registerDatastoreFlags(cmd, &cfg)
	return cmd
}

// rightsOf turns --mfa-rights into rights ("none" or nothing: none).
func rightsOf(names []string) []hostaccess.Right {
	var out []hostaccess.Right
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" && n != "none" {
			out = append(out, hostaccess.Right(n))
		}
	}
	return out
}
