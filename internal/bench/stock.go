package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path"
	"strings"
	"syscall"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/authzed-go/v1"
	"github.com/authzed/grpcutil"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hostaccess/hostaccess/internal/relfile"
	"github.com/hostaccess/hostaccess/pkg/engine"
)

// serverProcess is a server the cold workload asks over loopback gRPC in a
// process of its own: a stock `spicedb serve` (a binary built from the
// module cache, default flags) on its own fresh Postgres database, loaded
// with the same generated relationships through its gRPC API; or
// `hostaccess serve` on the bench's database.
type serverProcess struct {
	cmd       *exec.Cmd
	exited    chan error
	client    *authzed.Client
	loadToken *v1.ZedToken
	log       *os.File
	uri       string
}

// stockServeArgs are the flags given to `spicedb serve`: where to listen
// and what to serve from, and nothing that changes how it answers. The
// metrics listener moves to a free loopback port (another SpiceDB on the
// machine may hold :9090); telemetry and the release check are off so the
// bench talks to no outside host.
func stockServeArgs(uri, key, grpcAddr, metricsAddr string) []string {
	return []string{
		"serve",
		"--grpc-preshared-key", key,
		"--grpc-addr", grpcAddr,
		"--datastore-engine", engine.EnginePostgres,
		"--datastore-conn-uri", uri,
		"--metrics-addr", metricsAddr,
		"--telemetry-endpoint=",
		"--skip-release-check",
	}
}

// stockDatabaseURI is the database the stock SpiceDB gets when none is
// named: hostaccess's database name with a _spicedb suffix, same server.
func stockDatabaseURI(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || strings.Trim(u.Path, "/") == "" {
		return "", fmt.Errorf("cannot derive a database for the stock SpiceDB from %s: give --compare-spicedb-conn-uri", redact(uri))
	}
	u.Path = "/" + strings.Trim(u.Path, "/") + "_spicedb"
	return u.String(), nil
}

// createDatabase creates the database uri names when it does not exist
// (connecting to the server's postgres database to do so).
func createDatabase(ctx context.Context, uri string) error {
	u, err := url.Parse(uri)
	if err != nil {
		return err
	}
	name := path.Base(u.Path)
	admin := *u
	admin.Path = "/postgres"
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return fmt.Errorf("connecting to create %s: %w", name, err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil // checkDatabase refuses it unless it is empty
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

// startStockSpiceDB migrates uri with the binary, starts it serving, writes
// the schema and bulk-imports rels (in the same chunks as hostaccess's
// load), then ANALYZEs its tables, as hostaccess's load does, so that both
// plan on fresh statistics.
func startStockSpiceDB(ctx context.Context, cfg Config, schemaText string, rels []*v1.Relationship) (*serverProcess, error) {
	uri := cfg.CompareSpiceDBURI
	if uri == "" {
		derived, err := stockDatabaseURI(cfg.DatastoreURI)
		if err != nil {
			return nil, err
		}
		if err := createDatabase(ctx, derived); err != nil {
			return nil, err
		}
		uri = derived
	}
	if err := checkDatabase(ctx, uri, ConsistencyFull); err != nil {
		return nil, fmt.Errorf("the stock SpiceDB's database: %w", err)
	}
	logFile, err := os.CreateTemp("", "bench-stock-spicedb-*.log")
	if err != nil {
		return nil, err
	}
	cfg.logf("stock SpiceDB %s: log %s, database %s", cfg.CompareSpiceDB, logFile.Name(), redact(uri))
	migrate := exec.CommandContext(ctx, cfg.CompareSpiceDB, "datastore", "migrate", "head", "--datastore-engine", engine.EnginePostgres, "--datastore-conn-uri", uri, "--skip-release-check") //nolint:gosec // the operator's binary
	migrate.Stdout, migrate.Stderr = logFile, logFile
	if err := migrate.Run(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("spicedb datastore migrate head (log %s): %w", logFile.Name(), err)
	}
	grpcAddr, metricsAddr, key, err := listenArgs()
	if err != nil {
		_ = logFile.Close()
		return nil, err
	}
	s, err := launch(ctx, logFile, cfg.CompareSpiceDB, stockServeArgs(uri, key, grpcAddr, metricsAddr), key, grpcAddr)
	if err != nil {
		return nil, err
	}
	s.uri = uri
	if _, err := s.client.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: schemaText}); err != nil {
		s.close()
		return nil, fmt.Errorf("writing the schema to the stock SpiceDB: %w", err)
	}
	t0 := time.Now()
	var n uint64
	for start := 0; start < len(rels); start += importChunk {
		loaded, err := relfile.Import(ctx, s.client, relfile.File{Relationships: rels[start:min(start+importChunk, len(rels))]})
		if err != nil {
			s.close()
			return nil, fmt.Errorf("bulk import into the stock SpiceDB: %w", err)
		}
		n += loaded
	}
	if int(n) != len(rels) {
		s.close()
		return nil, fmt.Errorf("the stock SpiceDB loaded %d of %d relationships", n, len(rels))
	}
	cfg.logf("stock SpiceDB: bulk-imported %d relationships in %.1fs", n, time.Since(t0).Seconds())
	if err := engine.Analyze(ctx, engine.EnginePostgres, uri); err != nil {
		s.close()
		return nil, err
	}
	head, err := s.client.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
		Resource:    &v1.ObjectReference{ObjectType: "account", ObjectId: "bench-load-token"},
		Permission:  "view",
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "bench"}},
	})
	if err != nil {
		s.close()
		return nil, fmt.Errorf("reading the stock SpiceDB's revision after the load: %w", err)
	}
	s.loadToken = head.GetCheckedAt()
	return s, nil
}

// listenArgs picks two free loopback addresses and a random key.
func listenArgs() (grpcAddr, otherAddr, key string, err error) {
	if grpcAddr, err = freeAddr(); err != nil {
		return "", "", "", err
	}
	if otherAddr, err = freeAddr(); err != nil {
		return "", "", "", err
	}
	key, err = stockKey()
	return grpcAddr, otherAddr, key, err
}

// launch starts bin with args, logging to logFile, and waits until its
// gRPC API at grpcAddr answers.
func launch(ctx context.Context, logFile *os.File, bin string, args []string, key, grpcAddr string) (*serverProcess, error) {
	s := &serverProcess{log: logFile}
	s.cmd = exec.Command(bin, args...) //nolint:gosec // the operator's binary, or this one
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	// Stopped with the bench even when the bench is killed.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := s.cmd.Start(); err != nil {
		s.close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	s.exited = make(chan error, 1)
	go func() { s.exited <- s.cmd.Wait() }()
	var err error
	s.client, err = authzed.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpcutil.WithInsecureBearerToken(key))
	if err != nil {
		s.close()
		return nil, err
	}
	if err := s.waitReady(ctx); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// startServeProcess starts `hostaccess serve` (this binary) as a separate
// process on the bench's loaded database, as a deployment runs it, so that
// its gRPC API is measured with a process of its own, as the stock
// SpiceDB's is, rather than sharing this one's CPUs with the bench's
// clients.
func startServeProcess(ctx context.Context, cfg Config, loadToken *v1.ZedToken) (*serverProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logFile, err := os.CreateTemp("", "bench-hostaccess-serve-*.log")
	if err != nil {
		return nil, err
	}
	grpcAddr, httpAddr, key, err := listenArgs()
	if err != nil {
		_ = logFile.Close()
		return nil, err
	}
	args := []string{"serve", "--skip-migrations", "--log-format", "json", "--log-level", "warn",
		"--datastore-engine", cfg.DatastoreEngine, "--datastore-conn-uri", cfg.DatastoreURI,
		"--grpc-addr", grpcAddr, "--grpc-preshared-key", key, "--http-addr", httpAddr}
	cfg.logf("hostaccess serve (a process of its own): log %s", logFile.Name())
	s, err := launch(ctx, logFile, self, args, key, grpcAddr)
	if err != nil {
		return nil, err
	}
	s.uri, s.loadToken = cfg.DatastoreURI, loadToken
	return s, nil
}

// waitReady waits until the server answers (it has no schema yet: a
// NotFound from ReadSchema is an answer).
func (s *serverProcess) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := s.client.ReadSchema(cctx, &v1.ReadSchemaRequest{})
		cancel()
		if err == nil || strings.Contains(err.Error(), "No schema has been defined") || strings.Contains(err.Error(), "NotFound") {
			return nil
		}
		select {
		case exitErr := <-s.exited:
			s.exited <- exitErr
			return fmt.Errorf("the stock SpiceDB exited before answering (log %s): %v", s.log.Name(), exitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the stock SpiceDB did not answer within a minute (log %s): %w", s.log.Name(), err)
		}
	}
}

// cpuSeconds is the server process's user+system CPU time so far.
func (s *serverProcess) cpuSeconds() float64 {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return processCPUSeconds(s.cmd.Process.Pid)
}

// close stops the server (SIGTERM, then SIGKILL after 10 s).
func (s *serverProcess) close() {
	if s.client != nil {
		_ = s.client.Close()
	}
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	if s.log != nil {
		_ = s.log.Close()
	}
}

func stockKey() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// processCPUSeconds reads utime+stime of a process from /proc (0 when it
// cannot). Clock ticks are 100 a second on Linux.
func processCPUSeconds(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	return parseStatCPU(string(raw))
}

// parseStatCPU takes utime and stime (fields 14 and 15) from a
// /proc/PID/stat line; the command name (field 2) may hold spaces, so
// fields are counted after its closing parenthesis.
func parseStatCPU(stat string) float64 {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state): utime is field 14, f[11].
	if len(f) < 13 {
		return 0
	}
	var ut, st float64
	if _, err := fmt.Sscan(f[11], &ut); err != nil {
		return 0
	}
	if _, err := fmt.Sscan(f[12], &st); err != nil {
		return 0
	}
	return (ut + st) / 100
}

// postgresUsage is the CPU time so far of the Postgres backends connected
// to uri's database, read from /proc (meaningful only with Postgres on this
// machine; 0 otherwise; pools keep their connections open, so the same
// backends serve a whole run), and the transactions committed in it
// (pg_stat_database: SpiceDB's reads each run as one, so their count is the
// queries a check costs).
func postgresUsage(ctx context.Context, uri string) (cpuSeconds float64, commits int64) {
	conn, err := pgx.Connect(ctx, uri)
	if err != nil {
		return 0, 0
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	// Statistics are flushed at most once a second by each backend.
	_, _ = conn.Exec(ctx, `SELECT pg_stat_clear_snapshot()`)
	_ = conn.QueryRow(ctx, `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&commits)
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		return 0, commits
	}
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			cpuSeconds += processCPUSeconds(pid)
		}
	}
	rows.Close()
	return cpuSeconds, commits
}

// execOutput runs bin with args and returns what it printed.
func execOutput(ctx context.Context, bin string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput() //nolint:gosec // the operator's binary
	return string(out), err
}
