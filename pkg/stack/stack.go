// Package stack builds and runs the whole of hostaccess in one process:
// the directory, SpiceDB (in-process, or a remote cluster), the hosting
// schema, the freshness tracker and its watch, the domain service, recovery
// of interrupted flows, and the HTTP/JSON API handler.
//
// It is the one way the stack is put together: `hostaccess serve`, the
// bench command, backups and restores, the tests and embedders all start it
// through a Server. Like tailscale's tsnet.Server, the zero value is ready
// to use:
//
//	s := &stack.Server{}            // memory datastore, hosting schema, tokens
//	if err := s.Start(ctx); err != nil { ... }
//	defer s.Close()
//	svc := s.Service()              // flows and checks
//	http.Handle("/v1/", s.Handler()) // the JSON API, given APIKeys
package stack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authzed/authzed-go/v1"
	"go.uber.org/zap"

	"github.com/hostaccess/hostaccess/internal/api"
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/directory/memory"
	"github.com/hostaccess/hostaccess/pkg/directory/postgres"
	"github.com/hostaccess/hostaccess/pkg/engine"
	"github.com/hostaccess/hostaccess/pkg/freshness"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
	"github.com/hostaccess/hostaccess/schema"
)

// Consistency of the service's checks.
const (
	// ConsistencyTokens (the default) answers each check at least as fresh
	// as the account's last change, from SpiceDB's cache otherwise.
	ConsistencyTokens = "tokens"
	// ConsistencyFull answers every check at SpiceDB's newest revision.
	ConsistencyFull = "full"
)

// Defaults of a zero Server.
const (
	// MinAuditRetention is the shortest AuditRetention: the log must
	// outlive what recovery and a day's review need.
	MinAuditRetention = 24 * time.Hour
	// auditPruneInterval is how often retention runs.
	auditPruneInterval = time.Hour

	// DefaultRecoverInterval is how often interrupted flows are settled.
	DefaultRecoverInterval = 30 * time.Second
	// DefaultFollowWait bounds how long Start waits for the freshness
	// watch to go live; checks are fully consistent until it is.
	DefaultFollowWait = 10 * time.Second
	// DefaultStartTimeout bounds writing the schema (SpiceDB starting).
	DefaultStartTimeout = time.Minute
	// keyFilePoll is how often APIKeysFile is looked at for changes.
	keyFilePoll = 2 * time.Second
)

// Server is one hostaccess stack. Set its fields, then Start it; fields are
// not read after Start. The zero value runs SpiceDB in-process on the memory
// datastore (nothing survives Close) with no gRPC port, a memory directory,
// per-account freshness tokens, and no HTTP API keys.
type Server struct {
	// Engine says where SpiceDB runs: its datastore (memory by default,
	// postgres, cockroachdb), its gRPC listener (none when GRPCAddr is
	// empty: the stack talks to it in-process), or a remote cluster
	// (SpiceDBEndpoint). Its Freshness field is set by the Server. Several
	// Servers on one SQL datastore form a cluster; with DispatchAddr and
	// DispatchUpstreamAddr they also split checks between them over SpiceDB's
	// dispatch ring (call engine.RegisterClusterDispatch first in main).
	Engine engine.Config

	// Schema is the SpiceDB schema to serve (schema.Hosting when empty).
	// Start refuses one that lacks a name the code uses
	// (schema.CheckVocabulary), before writing it.
	Schema string
	// KeepStoredSchema leaves the datastore's schema as it is, written or
	// not: for backups and restores, which read or bring their own.
	KeepStoredSchema bool

	// Directory holds names, e-mails, invitations, contacts and the audit
	// log. Nil: in memory for the memory datastore, else in the datastore's
	// database (or DirectoryURI), migrated unless Engine.SkipMigrations.
	// A Directory given here is not closed by Close.
	Directory         directory.Store
	DirectoryURI      string
	DirectoryMaxConns int32

	// Consistency is ConsistencyTokens (default) or ConsistencyFull. With
	// a remote cluster, tokens need SpiceDBDatastoreEngine (how its tokens
	// compare); without it every check is fully consistent.
	Consistency            string
	SpiceDBDatastoreEngine string
	// FreshnessCacheSize bounds the accounts whose token is kept in memory
	// (freshness.DefaultCapacity when 0).
	FreshnessCacheSize int
	// FreshnessRepinEvery is how often every account's pinned snapshot
	// moves to the newest revision although nothing changed
	// (freshness.DefaultRepinEvery when 0).
	FreshnessRepinEvery time.Duration
	// FreshnessUnpinned asks SpiceDB at_least_as_fresh the accounts'
	// tokens instead of at their exact snapshots (freshness.Config.Unpinned):
	// the behaviour before 2026-12, for A/B benchmarks only.
	FreshnessUnpinned bool
	// FollowWait bounds how long Start waits for the freshness watch to go
	// live (DefaultFollowWait when 0; negative: do not wait).
	FollowWait time.Duration

	// The service's settings (hostaccess.Config).
	InvitationTTL     time.Duration
	InviteURLTemplate string
	Mailer            hostaccess.InvitationMailer
	Now               func() time.Time
	RecoverAfter      time.Duration
	// RecoverInterval is how often interrupted flows are settled in the
	// background (DefaultRecoverInterval when 0; negative: never, the
	// caller runs Service().Recover).
	RecoverInterval time.Duration
	// AuditRetention removes audit entries older than this, at start and
	// then hourly (0: keep every entry; MinAuditRetention at least). The
	// hash chain then verifies from the last entry removed.
	AuditRetention time.Duration
	// MFARights are the rights needing a two-factor session on accounts
	// with a host (hostaccess.Config.MFARights; nil: none); Start applies
	// them to every host SpiceDB knows.
	MFARights []hostaccess.Right
	// MaxTokenLifetime is the longest a personal access token may live
	// (hostaccess.DefaultMaxTokenLifetime when 0).
	MaxTokenLifetime time.Duration

	// APIKeys are the HTTP API's keys, "NAME=KEY" or "NAME:SCOPE[+SCOPE]=KEY".
	// APIKeysFile holds more, one a line, reloaded when it changes and on
	// each value of ReloadKeys (e.g. SIGHUP).
	APIKeys     []string
	APIKeysFile string
	ReloadKeys  <-chan os.Signal

	// Prepare, when set, runs once the schema is in place and before the
	// watch starts and the service is built: bootstrap data, bulk loads.
	Prepare func(ctx context.Context, s *Server) error

	// Logger receives the stack's logs (none when nil).
	Logger *zap.Logger

	eng     *engine.Engine
	dir     directory.Store
	tracker *freshness.Tracker
	svc     *hostaccess.Service
	keys    *api.Keyring
	handler http.Handler

	mu      sync.Mutex // Start and Close
	started bool
	closers []func() error // in start order; Close runs them in reverse
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	ready   atomic.Bool

	errMu sync.Mutex
	done  chan struct{}
	err   error
}

// Start builds the stack and returns once it serves: schema written and
// checked, Prepare done, the watch live (or FollowWait passed), the service
// built. ctx bounds the start only; the stack runs until Close. On any
// failure what was started is closed, in reverse order.
func (s *Server) Start(ctx context.Context) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("stack: Start called twice")
	}
	s.started = true
	s.done = make(chan struct{})
	if s.Logger == nil {
		s.Logger = zap.NewNop()
	}
	if err := s.validate(); err != nil {
		return err
	}
	if s.Schema == "" {
		s.Schema = schema.Hosting
	}
	if !s.KeepStoredSchema {
		if err := schema.CheckVocabulary(s.Schema); err != nil {
			return fmt.Errorf("refusing to start: %w", err)
		}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	defer func() {
		if err != nil {
			_ = s.closeLocked()
		}
	}()

	// The directory first: the tracker keeps its tokens there, and the
	// engine reports the writes made through its API to the tracker.
	if err := s.openDirectory(ctx); err != nil {
		return err
	}
	if err := s.openTracker(); err != nil {
		return err
	}
	cfg := s.Engine
	cfg.Freshness = s.tracker
	eng, err := engine.Open(runCtx, cfg, s.Logger)
	if err != nil {
		return err
	}
	s.eng = eng
	s.closers = append(s.closers, eng.Close)
	s.background(func(ctx context.Context) {
		if err := eng.Run(ctx); err != nil && ctx.Err() == nil {
			s.fail(fmt.Errorf("SpiceDB stopped: %w", err))
		}
	}, runCtx)

	schemaCtx, schemaCancel := context.WithTimeout(ctx, DefaultStartTimeout)
	defer schemaCancel()
	if err := s.ensureSchema(schemaCtx); err != nil {
		return err
	}
	if s.Prepare != nil {
		// Bounded by ctx only: a bulk load may take many minutes.
		if err := s.Prepare(ctx, s); err != nil {
			return err
		}
	}
	if s.tracker != nil {
		tracker := s.tracker
		s.background(func(ctx context.Context) { tracker.Follow(ctx, eng.Client) }, runCtx)
		if err := s.waitFollowing(ctx); err != nil {
			return err
		}
	}
	s.svc, err = hostaccess.New(hostaccess.Config{
		Engine:            eng.Client,
		Directory:         s.dir,
		Logger:            s.Logger.Named("service"),
		InvitationTTL:     s.InvitationTTL,
		InviteURLTemplate: s.InviteURLTemplate,
		Mailer:            s.Mailer,
		Now:               s.Now,
		RecoverAfter:      s.RecoverAfter,
		Freshness:         s.tracker,
		// The embedded engine's interceptor reports every write to the
		// tracker (engine.Config.Freshness, set above); a remote cluster has none.
		EngineReportsWrites: s.Engine.SpiceDBEndpoint == "",
		Schema:              s.Schema,
		MFARights:           s.MFARights,
		MaxTokenLifetime:    s.MaxTokenLifetime,
	})
	if err != nil {
		return err
	}
	if _, err := s.svc.ApplyConditions(ctx); err != nil {
		return fmt.Errorf("applying the two-factor conditions: %w", err)
	}
	if s.RecoverInterval >= 0 {
		svc, every := s.svc, s.RecoverInterval
		if every == 0 {
			every = DefaultRecoverInterval
		}
		s.background(func(ctx context.Context) { recoverLoop(ctx, svc, every, s.Logger) }, runCtx)
	}
	if s.AuditRetention > 0 {
		if s.AuditRetention < MinAuditRetention {
			return fmt.Errorf("audit retention %s: give %s at least", s.AuditRetention, MinAuditRetention)
		}
		svc, keep := s.svc, s.AuditRetention
		s.background(func(ctx context.Context) { pruneLoop(ctx, svc, keep, s.Logger) }, runCtx)
	}
	if err := s.openKeys(runCtx); err != nil {
		return err
	}
	s.handler = api.NewHandlerWithKeys(s.svc, s.keys, s.Logger.Named("api"))
	s.ready.Store(true)
	return nil
}

// ensureSchema writes the schema, or with KeepStoredSchema waits until
// SpiceDB answers.
func (s *Server) ensureSchema(ctx context.Context) error {
	if s.KeepStoredSchema {
		for {
			err := s.eng.Ready(ctx)
			if err == nil || errors.Is(err, engine.ErrNoSchema) {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("SpiceDB did not start: %w", err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	change, err := s.eng.EnsureSchema(ctx, s.Schema)
	for _, line := range change.Changes {
		s.Logger.Info("schema change", zap.String("change", line))
	}
	return err
}

// validate reports a configuration problem before anything starts.
func (s *Server) validate() error {
	if s.Engine.DatastoreEngine == "" && s.Engine.SpiceDBEndpoint == "" {
		s.Engine.DatastoreEngine = engine.EngineMemory
	}
	switch s.Consistency {
	case "":
		s.Consistency = ConsistencyTokens
	case ConsistencyTokens, ConsistencyFull:
	default:
		return fmt.Errorf("unknown consistency %q: use %s or %s", s.Consistency, ConsistencyTokens, ConsistencyFull)
	}
	if s.Engine.SpiceDBEndpoint == "" && s.Engine.DatastoreEngine == engine.EngineMemory && s.DirectoryURI != "" && s.Directory == nil {
		return errors.New("--directory-conn-uri is for a SQL datastore or an external SpiceDB cluster; the memory datastore keeps the directory in memory")
	}
	if _, err := s.apiKeys(); err != nil {
		return err
	}
	return s.Engine.Validate()
}

// openDirectory opens the directory beside SpiceDB's data: in memory for
// the memory datastore, in the same database (its own SQL schema) for
// postgres and cockroachdb.
func (s *Server) openDirectory(ctx context.Context) error {
	if s.Directory != nil {
		s.dir = s.Directory
		return nil
	}
	e := s.Engine
	switch {
	case e.SpiceDBEndpoint != "" && s.DirectoryURI == "":
		s.Logger.Warn("an external SpiceDB cluster with an in-memory directory: names, invitations, contacts and the audit log do not survive a restart; set --directory-conn-uri")
		s.dir = memory.New()
		return nil
	case e.SpiceDBEndpoint == "" && e.DatastoreEngine == engine.EngineMemory:
		s.dir = memory.New()
		return nil
	}
	uri, dialect := s.DirectoryURI, postgres.Postgres
	if uri == "" {
		uri = e.DatastoreURI
	}
	if e.DatastoreEngine == engine.EngineCockroachDB {
		dialect = postgres.CockroachDB
	}
	if !e.SkipMigrations {
		if err := postgres.Migrate(ctx, uri, dialect); err != nil {
			return fmt.Errorf("migrating the directory: %w", err)
		}
	}
	store, err := postgres.Open(ctx, uri, postgres.PoolConfig{MaxConns: s.DirectoryMaxConns})
	if err != nil {
		return err
	}
	s.Logger.Info("directory on SQL", zap.String("dialect", dialect.String()))
	s.dir = store
	s.closers = append(s.closers, store.Close)
	return nil
}

// tokenEngine is the datastore engine whose tokens the tracker compares, or
// "" when checks are fully consistent.
func (s *Server) tokenEngine() string {
	if s.Consistency == ConsistencyFull {
		return ""
	}
	if s.Engine.SpiceDBEndpoint != "" {
		return s.SpiceDBDatastoreEngine
	}
	return s.Engine.DatastoreEngine
}

func (s *Server) openTracker() error {
	kind := s.tokenEngine()
	if kind == "" {
		if s.Consistency == ConsistencyTokens {
			s.Logger.Warn("--spicedb-endpoint without --spicedb-datastore-engine: tokens of the external cluster cannot be compared, so every check is fully consistent")
		} else {
			s.Logger.Info("--consistency full: every check is fully consistent")
		}
		return nil
	}
	tracker, err := freshness.New(freshness.Config{
		DatastoreEngine: kind, Store: s.dir, Logger: s.Logger.Named("freshness"), Capacity: s.FreshnessCacheSize, RepinEvery: s.FreshnessRepinEvery, Unpinned: s.FreshnessUnpinned,
	})
	if err != nil {
		return err
	}
	s.tracker = tracker
	return nil
}

// waitFollowing waits for the watch to go live; past FollowWait the stack
// serves anyway, fully consistent until it is.
func (s *Server) waitFollowing(ctx context.Context) error {
	wait := s.FollowWait
	if wait == 0 {
		wait = DefaultFollowWait
	}
	if wait < 0 {
		return nil
	}
	err := s.tracker.WaitFollowing(ctx, wait)
	if errors.Is(err, freshness.ErrNotFollowing) {
		s.Logger.Warn(err.Error())
		return nil
	}
	return err
}

func (s *Server) apiKeys() ([]api.Key, error) { return api.ParseKeys(s.APIKeys) }

// openKeys builds the HTTP API's keyring, and watches APIKeysFile.
func (s *Server) openKeys(runCtx context.Context) error {
	static, err := s.apiKeys()
	if err != nil {
		return err
	}
	if s.APIKeysFile == "" {
		set, err := api.NewKeySet(static)
		if err != nil {
			return err
		}
		s.keys = api.NewKeyring(set)
		return nil
	}
	kf := &api.KeyFile{Path: s.APIKeysFile, Static: static, Ring: api.NewKeyring(nil), Logger: s.Logger.Named("api-keys")}
	if err := kf.Reload(); err != nil {
		return fmt.Errorf("--api-keys-file: %w", err)
	}
	s.Logger.Info("API keys loaded; a change of the file reloads them", zap.String("file", s.APIKeysFile),
		zap.Strings("keys", kf.Ring.Current().Names()))
	s.keys = kf.Ring
	reload := s.ReloadKeys
	s.background(func(ctx context.Context) { kf.Watch(ctx, keyFilePoll, reload) }, runCtx)
	return nil
}

// background runs fn until the stack closes.
func (s *Server) background(fn func(ctx context.Context), ctx context.Context) {
	s.wg.Add(1)
	go func() { defer s.wg.Done(); fn(ctx) }()
}

// fail records the first error that stops the stack after Start.
func (s *Server) fail(err error) {
	s.Logger.Error("the stack stopped", zap.Error(err))
	s.errMu.Lock()
	defer s.errMu.Unlock()
	if s.err == nil {
		s.err = err
		close(s.done)
	}
}

// Done is closed when a part of the stack stops on its own (SpiceDB's
// listener failed); Err says why. Close does not close it.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err is why the stack stopped on its own, or nil.
func (s *Server) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

// Close stops the background work and closes what Start opened, in reverse
// order. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeLocked()
}

func (s *Server) closeLocked() error {
	s.ready.Store(false)
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	var errs []error
	for _, c := range slices.Backward(s.closers) {
		errs = append(errs, c())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// Service is the domain service: flows, checks, audit. Nil before Start.
func (s *Server) Service() *hostaccess.Service { return s.svc }

// Client is the SpiceDB API client (the engine's, in-process or remote).
func (s *Server) Client() *authzed.Client {
	if s.eng == nil {
		return nil
	}
	return s.eng.Client
}

// SpiceDB is the running (or remote) SpiceDB: readiness, migrations.
func (s *Server) SpiceDB() *engine.Engine { return s.eng }

// Store is the directory in use.
func (s *Server) Store() directory.Store { return s.dir }

// Freshness is the freshness tracker, nil when checks are fully consistent.
func (s *Server) Freshness() *freshness.Tracker { return s.tracker }

// Handler serves the HTTP/JSON API: /v1/... and GET /openapi.json. Every
// /v1 call needs one of APIKeys (none: every call is refused).
func (s *Server) Handler() http.Handler { return s.handler }

// APIKeyNames lists the names of the keys in force.
func (s *Server) APIKeyNames() []string {
	if s.keys == nil {
		return nil
	}
	return s.keys.Current().Names()
}

// Ready reports whether the stack answers: SpiceDB reachable with a schema,
// the directory reachable.
func (s *Server) Ready(ctx context.Context) error {
	if !s.ready.Load() {
		return errors.New("starting: schema not written yet")
	}
	if err := s.eng.Ready(ctx); err != nil {
		s.Logger.Debug("not ready: datastore", zap.Error(err))
		return errors.New("the datastore is unreachable")
	}
	if err := s.dir.Ping(ctx); err != nil {
		s.Logger.Debug("not ready: directory", zap.Error(err))
		return errors.New("the directory is unreachable")
	}
	return nil
}

// pruneLoop applies the audit retention at start and then hourly.
func pruneLoop(ctx context.Context, svc *hostaccess.Service, keep time.Duration, logger *zap.Logger) {
	ticker := time.NewTicker(auditPruneInterval)
	defer ticker.Stop()
	for {
		n, err := svc.PruneAudit(ctx, keep)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("audit retention failed; retrying in an hour", zap.Error(err))
		case n > 0:
			logger.Info("audit entries past retention removed", zap.Int("count", n), zap.Duration("retention", keep))
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// recoverLoop settles interrupted flows at start and then every interval.
func recoverLoop(ctx context.Context, svc *hostaccess.Service, every time.Duration, logger *zap.Logger) {
	ticker := time.NewTicker(every)
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
