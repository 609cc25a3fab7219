// Package engine runs SpiceDB for hostaccess: in-process on the memory,
// Postgres or CockroachDB datastore, or as a client of an external SpiceDB
// cluster. Either way the rest of the program sees one authzed-go client and
// the hosting schema in place.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/authzed-go/v1"
	"github.com/authzed/grpcutil"
	"github.com/authzed/spicedb/pkg/cmd/datastore"
	"github.com/authzed/spicedb/pkg/cmd/server"
	"github.com/authzed/spicedb/pkg/cmd/util"
	spicedatastore "github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/migration"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/hostaccess/hostaccess/internal/logging"
	"github.com/hostaccess/hostaccess/internal/tlsconf"
	"github.com/hostaccess/hostaccess/pkg/freshness"
)

// Datastore engines hostaccess runs SpiceDB on.
const (
	EngineMemory      = "memory"
	EnginePostgres    = "postgres"
	EngineCockroachDB = "cockroachdb"
)

// Config says where SpiceDB runs and how it is reached.
type Config struct {
	// DatastoreEngine is memory (default), postgres or cockroachdb.
	DatastoreEngine string
	// DatastoreURI is the connection string of a SQL datastore.
	DatastoreURI string
	// SkipMigrations leaves the SQL datastore's schema as it is.
	SkipMigrations bool

	// GRPCAddr is where SpiceDB's v1 API listens (host:port). Empty: it
	// listens nowhere, and the engine's client talks to it in-process.
	GRPCAddr string
	// PresharedKey authenticates API callers; required unless InsecureNoAuth
	// or GRPCAddr is empty (a random one is made then).
	PresharedKey string
	// InsecureNoAuth serves the API without authentication (development only).
	InsecureNoAuth bool
	// TLSCertPath and TLSKeyPath, both or neither, serve the gRPC API over
	// TLS (1.2 at least); SpiceDB re-reads them when they change on disk.
	TLSCertPath string
	TLSKeyPath  string

	// SpiceDBEndpoint, when set, uses an external SpiceDB cluster instead of
	// starting one; SpiceDBToken is its preshared key.
	SpiceDBEndpoint string
	SpiceDBToken    string
	// SpiceDBInsecure talks plaintext gRPC to the external cluster.
	SpiceDBInsecure bool
	// SpiceDBCAPath verifies the external cluster's certificate against
	// these authorities (PEM) instead of the system's.
	SpiceDBCAPath string

	// ReadPoolMaxOpen and WritePoolMaxOpen size SpiceDB's connection pools
	// on a SQL datastore (0: SpiceDB's defaults, 20 and 10). SpiceDB keeps
	// them open, so they count against the database's max_connections.
	ReadPoolMaxOpen  int
	WritePoolMaxOpen int

	// RevisionQuantization is how long SpiceDB may answer a
	// minimize_latency request from the same snapshot (SpiceDB's default, 5 s,
	// when zero): longer keeps its cache warm longer, and lets such answers be
	// that much older. hostaccess's own checks, and API checks while its
	// watch is live, are pinned to each account's snapshot instead
	// (pkg/freshness), so the window no longer decides how long they stay
	// cached.
	RevisionQuantization time.Duration
	// DispatchCacheMaxCost sizes SpiceDB's check cache: bytes ("256MiB") or
	// a share of available memory ("30%", SpiceDB's default, when empty).
	DispatchCacheMaxCost string

	// Freshness, when set, learns of every write made through the embedded
	// SpiceDB API before its caller does (pkg/freshness).
	Freshness *freshness.Tracker

	// WatchInterval is how often SpiceDB's Watch API looks for changes on a
	// SQL datastore (SpiceDB's 1 s default when zero; 100 ms at least): the
	// delay before a change made through another node or SpiceDB directly
	// reaches this node's freshness tokens.
	WatchInterval time.Duration

	// DispatchAddr, when set, serves SpiceDB's dispatch API there
	// (host:port): the port the other nodes of a cluster send this node the
	// sub-problems it owns on the hash ring. Nodes must share a SQL
	// datastore and one PresharedKey, which SpiceDB presents to its peers.
	DispatchAddr string
	// DispatchUpstreamAddr is where this node sends sub-problems: the
	// dispatch addresses of every node, this one included, as
	// HOST:PORT,HOST:PORT,... (resolved by StaticScheme, which drops nodes
	// that do not answer), or a gRPC target such as dns:///name:50053.
	// The program must call RegisterClusterDispatch first.
	DispatchUpstreamAddr string
	// DispatchTLSCertPath and DispatchTLSKeyPath, both or neither, serve
	// the dispatch API over TLS; DispatchUpstreamCAPath verifies the peers'
	// certificates (plaintext when empty).
	DispatchTLSCertPath    string
	DispatchTLSKeyPath     string
	DispatchUpstreamCAPath string
	// ClusterDispatchCacheMaxCost sizes the cache of the sub-problems this
	// node answers for its peers, as DispatchCacheMaxCost (SpiceDB's 70%
	// when empty).
	ClusterDispatchCacheMaxCost string

	// DisableDatastoreMetrics leaves SpiceDB's datastore metrics out of the
	// process's Prometheus registry: they are registered globally, so a
	// second engine in one process (tests) would collide.
	DisableDatastoreMetrics bool

	// Tuning holds measured SpiceDB settings (tuning.go); zero: SpiceDB's defaults.
	Tuning Tuning
}

// Validate reports the first problem with the configuration.
func (c Config) Validate() error {
	if c.SpiceDBEndpoint != "" {
		if c.dispatchEnabled() {
			return c.validateDispatch()
		}
		if c.SpiceDBToken == "" {
			return errors.New("--spicedb-token is required with --spicedb-endpoint")
		}
		if c.SpiceDBInsecure && c.SpiceDBCAPath != "" {
			return errors.New("--spicedb-tls-ca-path and --spicedb-insecure contradict each other: the CA verifies a TLS connection")
		}
		if c.SpiceDBCAPath != "" {
			if _, err := tlsconf.ClientConfig(c.SpiceDBCAPath, "--spicedb-tls-ca-path"); err != nil {
				return err
			}
		}
		return nil
	}
	switch c.DatastoreEngine {
	case EngineMemory:
		if c.DatastoreURI != "" {
			return errors.New("--datastore-conn-uri is not used by the memory datastore; set --datastore-engine postgres or cockroachdb")
		}
	case EnginePostgres, EngineCockroachDB:
		if c.DatastoreURI == "" {
			return fmt.Errorf("--datastore-conn-uri is required with --datastore-engine %s", c.DatastoreEngine)
		}
	default:
		return fmt.Errorf("unknown --datastore-engine %q: use memory, postgres or cockroachdb", c.DatastoreEngine)
	}
	if c.GRPCAddr != "" {
		if _, _, err := net.SplitHostPort(c.GRPCAddr); err != nil {
			return fmt.Errorf("invalid --grpc-addr %q: %w", c.GRPCAddr, err)
		}
	}
	if c.RevisionQuantization < 0 {
		return errors.New("--datastore-revision-quantization-interval must not be negative")
	}
	if c.ReadPoolMaxOpen < 0 || c.WritePoolMaxOpen < 0 {
		return errors.New("datastore pool sizes must not be negative")
	}
	if c.PresharedKey == "" && !c.InsecureNoAuth && c.GRPCAddr != "" {
		return errors.New("--grpc-preshared-key is required (or --insecure-no-auth for local development)")
	}
	if err := c.validateDispatch(); err != nil {
		return err
	}
	if c.GRPCAddr == "" && c.tlsPair().Enabled() {
		return errors.New("--grpc-tls-cert-path needs --grpc-addr: an engine without a listener has nothing to serve over TLS")
	}
	return c.tlsPair().Validate()
}

// tlsPair is the gRPC listener's certificate and key.
func (c Config) tlsPair() tlsconf.Pair {
	return tlsconf.Pair{
		Cert: c.TLSCertPath, Key: c.TLSKeyPath,
		CertFlag: "--grpc-tls-cert-path", KeyFlag: "--grpc-tls-key-path",
	}
}

// Engine is a running (or reachable) SpiceDB and a client to it.
type Engine struct {
	// Client talks to SpiceDB's v1 API.
	Client *authzed.Client

	logger *zap.Logger
	server server.RunnableServer // nil for an external cluster
	conn   *grpc.ClientConn      // the in-process connection, when there is no listener
	remote bool
	// datastore is the datastore built here (memory), closed after Run.
	datastore spicedatastore.Datastore
}

// Open prepares SpiceDB: for an embedded engine it runs migrations (SQL
// engines), opens the datastore and binds the gRPC listener; Run then serves.
// For an external cluster it only builds the client.
func Open(ctx context.Context, cfg Config, logger *zap.Logger) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.SpiceDBEndpoint != "" {
		return openRemote(cfg, logger)
	}
	ctx = logging.SpiceDB(logger).WithContext(ctx)

	if cfg.DatastoreEngine != EngineMemory && !cfg.SkipMigrations {
		if err := Migrate(ctx, cfg.DatastoreEngine, cfg.DatastoreURI, logger); err != nil {
			return nil, err
		}
	}
	if cfg.GRPCAddr == "" && cfg.PresharedKey == "" && !cfg.InsecureNoAuth {
		// Nobody outside the process can reach the API; the key only
		// keeps SpiceDB's authentication on.
		key, err := randomKey()
		if err != nil {
			return nil, err
		}
		cfg.PresharedKey = key
	}
	if cfg.DatastoreEngine == EngineMemory {
		logger.Warn("using the memory datastore: nothing survives a restart; use it to try hostaccess and in tests, and postgres or cockroachdb in production")
	}

	dsConfig := datastore.DefaultDatastoreConfig()
	dsConfig.Engine = cfg.DatastoreEngine
	dsConfig.URI = withPreparedStatements(cfg.DatastoreEngine, cfg.DatastoreURI)
	dsConfig.EnableDatastoreMetrics = !cfg.DisableDatastoreMetrics
	if cfg.RevisionQuantization > 0 {
		dsConfig.RevisionQuantization = cfg.RevisionQuantization
	}
	sizePool(&dsConfig.ReadConnPool, cfg.ReadPoolMaxOpen)
	sizePool(&dsConfig.WriteConnPool, cfg.WritePoolMaxOpen)

	srvConfig := server.NewConfigWithOptionsAndDefaults()
	srvConfig.DatastoreConfig = *dsConfig
	cfg.Tuning.apply(srvConfig)
	// The datastore is built here rather than by SpiceDB, to wrap it: the
	// memory datastore's optimized revision is capped at the committed
	// head (committed.go), and a SQL datastore's revision checks are
	// remembered for a moment (checked.go). The server does not close a
	// datastore it was given: Run does, once the server has stopped.
	ds, err := datastore.NewDatastore(ctx, srvConfig.DatastoreConfig.ToOption(),
		datastore.WithFilterMaximumIDCount(srvConfig.DispatchChunkSize),
		datastore.WithEnableRevisionHeartbeat(srvConfig.EnableRevisionHeartbeat))
	if err != nil {
		return nil, fmt.Errorf("opening the %s datastore: %w", cfg.DatastoreEngine, err)
	}
	ownDatastore := ds
	if cfg.DatastoreEngine == EngineMemory {
		srvConfig.Datastore = capAtCommitted(ds)
	} else {
		srvConfig.Datastore = rememberChecks(ds)
	}
	network := "tcp"
	if cfg.GRPCAddr == "" {
		network = util.BufferedNetwork // in-process only: no port
	}
	srvConfig.GRPCServer = util.GRPCServerConfig{
		Address:    cfg.GRPCAddr,
		Network:    network,
		Enabled:    true,
		MaxConnAge: 30 * time.Second,
		// SpiceDB serves these with TLS 1.2 at least, and reloads them.
		TLSCertPath: cfg.TLSCertPath,
		TLSKeyPath:  cfg.TLSKeyPath,
	}
	srvConfig.HTTPGateway.HTTPEnabled = false
	srvConfig.MetricsAPI.HTTPEnabled = false // hostaccess serves /metrics on its own HTTP port
	cfg.applyDispatch(srvConfig)
	if cfg.dispatchEnabled() {
		logger.Info("cluster dispatch between nodes", zap.String("listen", cfg.DispatchAddr), zap.String("upstream", srvConfig.DispatchUpstreamAddr))
	}
	srvConfig.SilentlyDisableTelemetry = true
	setSpiceDBVersion() // answered to clients that ask (zed), after authentication
	if cfg.DispatchCacheMaxCost != "" {
		srvConfig.DispatchCacheConfig.MaxCost = cfg.DispatchCacheMaxCost
	}
	if cfg.ClusterDispatchCacheMaxCost != "" {
		srvConfig.ClusterDispatchCacheConfig.MaxCost = cfg.ClusterDispatchCacheMaxCost
	}
	// Bulk import and export stream for as long as a backup takes; SpiceDB's
	// 30 s default cuts off an import of about a million relationships.
	srvConfig.StreamingAPITimeout = 30 * time.Minute
	if cfg.WatchInterval > 0 {
		srvConfig.WatchHeartbeat = cfg.WatchInterval
	}
	var unaries []grpc.UnaryServerInterceptor
	var streams []grpc.StreamServerInterceptor
	if cfg.Freshness != nil {
		unaries = append(unaries, cfg.Freshness.UnaryInterceptor())
		streams = append(streams, cfg.Freshness.StreamInterceptor())
		srvConfig.UnaryMiddlewareModification = append(srvConfig.UnaryMiddlewareModification, pinChecks(cfg.Freshness))
	}
	unary, stream := middleware(logger, unaries, streams)
	srvConfig.UnaryMiddlewareModification = append(srvConfig.UnaryMiddlewareModification, unary)
	srvConfig.StreamingMiddlewareModification = append(srvConfig.StreamingMiddlewareModification, stream)
	if cfg.InsecureNoAuth {
		logger.Warn("--insecure-no-auth: the SpiceDB gRPC API accepts every caller without a key")
		srvConfig.GRPCAuthFunc = func(ctx context.Context) (context.Context, error) { return ctx, nil }
	} else {
		srvConfig.PresharedSecureKey = []string{cfg.PresharedKey}
	}

	srv, err := srvConfig.Complete(ctx)
	if err != nil {
		if ownDatastore != nil {
			_ = ownDatastore.Close()
		}
		return nil, fmt.Errorf("starting SpiceDB (datastore %s): %w", cfg.DatastoreEngine, err)
	}

	token := cfg.PresharedKey
	if token == "" {
		token = "unused" // the server ignores it under --insecure-no-auth
	}
	if cfg.GRPCAddr == "" {
		conn, err := srv.NewClient(grpcutil.WithInsecureBearerToken(token))
		if err != nil {
			return nil, fmt.Errorf("connecting to the embedded SpiceDB: %w", err)
		}
		client := &authzed.Client{
			SchemaServiceClient:      v1.NewSchemaServiceClient(conn),
			PermissionsServiceClient: v1.NewPermissionsServiceClient(conn),
			WatchServiceClient:       v1.NewWatchServiceClient(conn),
		}
		return &Engine{Client: client, logger: logger, server: srv, conn: conn, datastore: ownDatastore}, nil
	}
	// The engine's own client dials the listener over loopback: with TLS
	// it trusts exactly the certificate served, whose names are the
	// public host's rather than the address dialled.
	creds := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()), grpcutil.WithInsecureBearerToken(token)}
	if cfg.tlsPair().Enabled() {
		creds = []grpc.DialOption{
			grpc.WithTransportCredentials(credentials.NewTLS(tlsconf.PinnedClientConfig(cfg.TLSCertPath))),
			grpcutil.WithBearerToken(token),
		}
		logger.Info("the gRPC API is served over TLS", zap.String("cert", cfg.TLSCertPath))
	}
	client, err := authzed.NewClient(dialAddress(cfg.GRPCAddr), creds...)
	if err != nil {
		return nil, fmt.Errorf("connecting to the embedded SpiceDB: %w", err)
	}
	return &Engine{Client: client, logger: logger, server: srv, datastore: ownDatastore}, nil
}

func openRemote(cfg Config, logger *zap.Logger) (*Engine, error) {
	opts := []grpc.DialOption{}
	if cfg.SpiceDBInsecure {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()), grpcutil.WithInsecureBearerToken(cfg.SpiceDBToken))
	} else {
		tlsCfg, err := tlsconf.ClientConfig(cfg.SpiceDBCAPath, "--spicedb-tls-ca-path")
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)), grpcutil.WithBearerToken(cfg.SpiceDBToken))
	}
	client, err := authzed.NewClient(cfg.SpiceDBEndpoint, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to SpiceDB at %s: %w", cfg.SpiceDBEndpoint, err)
	}
	logger.Info("using an external SpiceDB cluster", zap.String("endpoint", cfg.SpiceDBEndpoint))
	return &Engine{Client: client, logger: logger, remote: true}, nil
}

// Remote reports whether the engine is an external SpiceDB cluster.
func (e *Engine) Remote() bool { return e.remote }

// Run serves SpiceDB's gRPC API until ctx is cancelled, then shuts it down
// gracefully. For an external cluster it just waits for ctx.
func (e *Engine) Run(ctx context.Context) error {
	if e.server == nil {
		<-ctx.Done()
		return nil
	}
	err := e.server.Run(logging.SpiceDB(e.logger).WithContext(ctx))
	if e.datastore != nil {
		_ = e.datastore.Close()
	}
	return err
}

// Close releases the client connection.
func (e *Engine) Close() error {
	if e.conn != nil {
		return e.conn.Close()
	}
	return e.Client.Close()
}

// randomKey is a throwaway preshared key for an engine nobody outside the
// process can reach.
func randomKey() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Ready reports whether SpiceDB answers and holds a schema: the datastore is
// reachable and the schema has been written.
func (e *Engine) Ready(ctx context.Context) error {
	_, err := e.Client.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	if status.Code(err) == codes.NotFound {
		return ErrNoSchema
	}
	return err
}

// ErrNoSchema is Ready's answer from a SpiceDB that holds no schema yet.
var ErrNoSchema = errors.New("no schema written yet")

// Migrate brings a SQL datastore's SpiceDB tables to the latest version.
func Migrate(ctx context.Context, engine, uri string, logger *zap.Logger) error {
	logger.Info("running SpiceDB datastore migrations", zap.String("engine", engine))
	err := migration.Run(ctx, &migration.Config{
		DatastoreEngine: engine,
		DatastoreURI:    uri,
		Timeout:         time.Hour,
		BatchSize:       1000,
	}, "head")
	if err != nil {
		return fmt.Errorf("migrating the %s datastore: %w", engine, err)
	}
	return tuneDatastore(ctx, engine, uri)
}

// sizePool caps a pool, keeping its idle minimum within the cap.
func sizePool(pool *datastore.ConnPoolConfig, maxOpen int) {
	if maxOpen <= 0 {
		return
	}
	pool.MaxOpenConns = maxOpen
	pool.MinOpenConns = min(pool.MinOpenConns, maxOpen)
}

// MigrationHead is the latest SpiceDB migration of a SQL engine.
func MigrationHead(engine string) (string, error) {
	return migration.HeadRevision(engine)
}

// dialAddress turns a listen address into one a local client can dial.
func dialAddress(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" || strings.EqualFold(host, "[::]") {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
