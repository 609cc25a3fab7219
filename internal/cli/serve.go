package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/hostaccess/hostaccess/internal/api"
	"github.com/hostaccess/hostaccess/internal/engine"
	"github.com/hostaccess/hostaccess/internal/httpserver"
	"github.com/hostaccess/hostaccess/internal/logging"
	"github.com/hostaccess/hostaccess/internal/mail"
	"github.com/hostaccess/hostaccess/internal/relfile"
	"github.com/hostaccess/hostaccess/internal/tlsconf"
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/directory/memory"
	"github.com/hostaccess/hostaccess/pkg/directory/postgres"
	"github.com/hostaccess/hostaccess/pkg/freshness"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
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

	// Consistency of the service's checks: tokens (per-account freshness
	// tokens, pkg/freshness) or full. FreshnessCacheSize bounds the tokens
	// kept in memory; SpiceDBDatastoreEngine tells how an external
	// cluster's tokens compare.
	Consistency            string
	FreshnessCacheSize     int
	SpiceDBDatastoreEngine string
}

// Check consistencies of serve.
const (
	consistencyTokens = "tokens"
	consistencyFull   = "full"
)

// tokenEngine is the datastore engine whose tokens the freshness tracker
// compares, or "" when tokens are off.
func (c serveConfig) tokenEngine() string {
	if c.Consistency != consistencyTokens {
		return ""
	}
	if c.Engine.SpiceDBEndpoint != "" {
		return c.SpiceDBDatastoreEngine
	}
	return c.Engine.DatastoreEngine
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
	if c.RecoverAfter <= 0 {
		return errors.New("--recover-after must be positive")
	}
	switch c.Consistency {
	case consistencyTokens, consistencyFull:
	default:
		return fmt.Errorf("unknown --consistency %q: use tokens or full", c.Consistency)
	}
	if c.FreshnessCacheSize < 1 {
		return errors.New("--freshness-cache-size must be at least 1")
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

// apiKeys parses the --api-keys values (api.ParseKey) and checks them as
// a set.
func (c serveConfig) apiKeys() ([]api.Key, error) {
	var keys []api.Key
	for _, spec := range c.APIKeys {
		k, err := api.ParseKey(spec)
		if err != nil {
			return nil, fmt.Errorf("--api-keys %w", err)
		}
		keys = append(keys, k)
	}
	if _, err := api.NewKeySet(keys); err != nil {
		return nil, fmt.Errorf("--api-keys %w", err)
	}
	return keys, nil
}

// keyFile is --api-keys-file over the --api-keys keys (validated).
func (c serveConfig) keyFile(logger *zap.Logger) *api.KeyFile {
	static, _ := c.apiKeys()
	return &api.KeyFile{Path: c.APIKeysFile, Static: static, Ring: api.NewKeyring(nil), Logger: logger}
}

// keyFilePoll is how often --api-keys-file is looked at for changes.
const keyFilePoll = 2 * time.Second

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
	f.DurationVar(&cfg.InvitationTTL, "invitation-ttl", hostaccess.DefaultInvitationTTL, "how long an invitation stays valid")
	f.StringVar(&cfg.SMTPURL, "smtp-url", "", "SMTP server for invitation e-mails: smtp://user:pass@host:587 (STARTTLS), smtps://host:465")
	f.StringVar(&cfg.SMTPFrom, "smtp-from", "", "From address of invitation e-mails")
	f.StringVar(&cfg.DirectoryURI, "directory-conn-uri", "", "database of the directory (default: the datastore's; needed for durability with --spicedb-endpoint)")
	f.DurationVar(&cfg.RecoverAfter, "recover-after", hostaccess.RecoverAfter, "settle flows interrupted by a crash once they are this old (must exceed the 30s write timeout of every node)")
	f.Int32Var(&cfg.DirectoryMaxConns, "directory-conn-pool-max-open", postgres.DefaultMaxConns, "connections the directory's pool opens at most")
	f.StringVar(&cfg.Consistency, "consistency", consistencyTokens, "checks: tokens (as fresh as each account's last change, cached otherwise) or full (every check fully consistent)")
	f.IntVar(&cfg.FreshnessCacheSize, "freshness-cache-size", freshness.DefaultCapacity, "accounts whose freshness token is kept in memory")
	f.DurationVar(&cfg.Engine.WatchInterval, "watch-interval", 100*time.Millisecond, "how often SpiceDB's watch polls a SQL datastore: the delay before changes made through other nodes reach this one's tokens (at least 100ms)")
	f.StringVar(&cfg.SpiceDBDatastoreEngine, "spicedb-datastore-engine", "", "datastore engine of the external SpiceDB cluster (postgres, cockroachdb, memory): needed for tokens with --spicedb-endpoint; without it checks are fully consistent")
	return cmd
}

// serve runs the engine and the HTTP server until ctx ends.
func serve(ctx context.Context, cfg serveConfig, logger *zap.Logger) error {
	cfg.Engine = cfg.engineConfig()
	httpTLS, err := cfg.httpTLS().ServerConfig()
	if err != nil {
		return err
	}
	// The directory first: the freshness tracker keeps its tokens there,
	// and the engine reports the writes made through its API to the tracker.
	dir, err := openDirectory(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer func() { _ = dir.Close() }()
	tracker, err := newTracker(cfg, dir, logger)
	if err != nil {
		return err
	}
	cfg.Engine.Freshness = tracker
	eng, err := engine.Open(ctx, cfg.Engine, logger)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()

	var schemaReady atomic.Bool
	var dirRef atomic.Pointer[directory.Store]
	// /readyz is unauthenticated: it says which part is not ready, and the
	// log says why (addresses and credentials stay out of the answer).
	ready := func(ctx context.Context) error {
		if !schemaReady.Load() {
			return errors.New("starting: schema not written yet")
		}
		if err := eng.Ready(ctx); err != nil {
			logger.Debug("not ready: datastore", zap.Error(err))
			return errors.New("the datastore is unreachable")
		}
		if d := dirRef.Load(); d != nil {
			if err := (*d).Ping(ctx); err != nil {
				logger.Debug("not ready: directory", zap.Error(err))
				return errors.New("the directory is unreachable")
			}
		}
		return nil
	}
	httpSrv, err := httpserver.New(cfg.HTTPAddr, ready, prometheus.DefaultGatherer, logger)
	if err != nil {
		return err
	}
	if httpTLS != nil {
		httpSrv.UseTLS(httpTLS)
	}
	dirRef.Store(&dir)
	svc, err := newService(cfg, eng, dir, tracker, logger)
	if err != nil {
		return err
	}
	keys, keyFile, err := openKeys(cfg, logger)
	if err != nil {
		return err
	}
	if keys.Current().Len() == 0 {
		logger.Warn("no --api-keys or --api-keys-file: the HTTP API /v1 is off (health, readiness and metrics still serve)")
	} else {
		apiHandler := api.NewHandlerWithKeys(svc, keys, logger)
		httpSrv.Handle("/v1/", apiHandler)
		httpSrv.Handle("GET /openapi.json", apiHandler)
	}

	g, gctx := errgroup.WithContext(ctx)
	if keyFile != nil {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		g.Go(func() error { keyFile.Watch(gctx, keyFilePoll, hup); return nil })
	}
	g.Go(func() error { return eng.Run(gctx) })
	g.Go(func() error { return httpSrv.Run(gctx, cfg.ShutdownGrace) })
	g.Go(func() error {
		if err := prepare(gctx, eng, cfg, logger); err != nil {
			return err
		}
		g.Go(func() error { recoverLoop(gctx, svc, logger); return nil })
		if tracker != nil {
			g.Go(func() error { tracker.Follow(gctx, eng.Client); return nil })
			// Ready means answering from cache where safe; after followWait
			// serve goes on, fully consistent until the watch is live.
			if err := tracker.WaitFollowing(gctx, followWait); errors.Is(err, freshness.ErrNotFollowing) {
				logger.Warn(err.Error())
			}
		}
		schemaReady.Store(true)
		logger.Info("hostaccess is ready",
			zap.String("grpc", cfg.Engine.GRPCAddr),
			zap.Bool("grpc_tls", cfg.Engine.TLSCertPath != ""),
			zap.String("http", httpSrv.Addr()),
			zap.Bool("http_tls", httpTLS != nil),
			zap.String("datastore", cfg.Engine.DatastoreEngine))
		return nil
	})
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	logger.Info("stopped")
	return nil
}

// openKeys builds the keyring of the HTTP API: the --api-keys keys, and
// those of --api-keys-file, which is then watched (nil without a file).
func openKeys(cfg serveConfig, logger *zap.Logger) (*api.Keyring, *api.KeyFile, error) {
	if cfg.APIKeysFile == "" {
		static, _ := cfg.apiKeys() // validated
		set, err := api.NewKeySet(static)
		if err != nil {
			return nil, nil, err
		}
		return api.NewKeyring(set), nil, nil
	}
	kf := cfg.keyFile(logger.Named("api-keys"))
	if err := kf.Reload(); err != nil {
		return nil, nil, fmt.Errorf("--api-keys-file: %w", err)
	}
	logger.Info("API keys loaded; SIGHUP or a change of the file reloads them", zap.String("file", cfg.APIKeysFile),
		zap.Strings("keys", kf.Ring.Current().Names()))
	return kf.Ring, kf, nil
}

// recoverInterval is how often serve settles flows interrupted by a crash
// or a lost connection (hostaccess.Service.Recover).
const recoverInterval = 30 * time.Second

// recoverLoop settles interrupted flows at start and then periodically,
// until ctx ends.
func recoverLoop(ctx context.Context, svc *hostaccess.Service, logger *zap.Logger) {
	ticker := time.NewTicker(recoverInterval)
	defer ticker.Stop()
	for {
		n, err := svc.Recover(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("recovery of interrupted flows failed; retrying", zap.Error(err))
		case n > 0:
			logger.Info("settled interrupted flows", zap.Int("count", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// openDirectory opens the directory store beside SpiceDB's data: in memory
// for the memory datastore, in the same database (its own SQL schema) for
// postgres and cockroachdb, migrated first unless --skip-migrations.
func openDirectory(ctx context.Context, cfg serveConfig, logger *zap.Logger) (directory.Store, error) {
	e := cfg.Engine
	switch {
	case e.SpiceDBEndpoint != "" && cfg.DirectoryURI == "":
		logger.Warn("an external SpiceDB cluster with an in-memory directory: names, invitations, contacts and the audit log do not survive a restart; set --directory-conn-uri")
		return memory.New(), nil
	case e.SpiceDBEndpoint == "" && e.DatastoreEngine == engine.EngineMemory:
		return memory.New(), nil
	}
	uri, dialect := cfg.DirectoryURI, postgres.Postgres
	if uri == "" {
		uri = e.DatastoreURI
	}
	if e.DatastoreEngine == engine.EngineCockroachDB {
		dialect = postgres.CockroachDB
	}
	if !e.SkipMigrations {
		if err := postgres.Migrate(ctx, uri, dialect); err != nil {
			return nil, fmt.Errorf("migrating the directory: %w", err)
		}
	}
	store, err := postgres.Open(ctx, uri, postgres.PoolConfig{MaxConns: cfg.DirectoryMaxConns})
	if err != nil {
		return nil, err
	}
	logger.Info("directory on SQL", zap.String("dialect", dialect.String()))
	return store, nil
}

// newService builds the domain service over the engine and a directory.
func newService(cfg serveConfig, eng *engine.Engine, dir directory.Store, tracker *freshness.Tracker, logger *zap.Logger) (*hostaccess.Service, error) {
	svcCfg := hostaccess.Config{
		Freshness:         tracker,
		Engine:            eng.Client,
		Directory:         dir,
		Logger:            logger.Named("service"),
		InvitationTTL:     cfg.InvitationTTL,
		InviteURLTemplate: cfg.InviteURLTemplate,
		RecoverAfter:      cfg.RecoverAfter,
	}
	if cfg.SMTPURL != "" {
		sender, err := mail.NewSMTPSender(cfg.SMTPURL, cfg.SMTPFrom)
		if err != nil {
			return nil, fmt.Errorf("--smtp-url: %w", err)
		}
		svcCfg.Mailer = mailerAdapter{sender: sender}
		logger.Info("invitations are e-mailed", zap.Stringer("smtp", sender))
	}
	return hostaccess.New(svcCfg)
}

// followWait bounds how long serve waits at start for its watch to go live
// before it reports ready anyway (answers are then fully consistent).
const followWait = 10 * time.Second

// newTracker builds the freshness tracker, or nil when checks are fully
// consistent.
func newTracker(cfg serveConfig, dir directory.Store, logger *zap.Logger) (*freshness.Tracker, error) {
	kind := cfg.tokenEngine()
	if kind == "" {
		if cfg.Consistency == consistencyTokens {
			logger.Warn("--spicedb-endpoint without --spicedb-datastore-engine: tokens of the external cluster cannot be compared, so every check is fully consistent")
		} else {
			logger.Info("--consistency full: every check is fully consistent")
		}
		return nil, nil
	}
	return freshness.New(freshness.Config{
		DatastoreEngine: kind, Store: dir, Logger: logger.Named("freshness"), Capacity: cfg.FreshnessCacheSize,
	})
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
