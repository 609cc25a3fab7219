package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/authzed-go/v1"
	"github.com/authzed/grpcutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/hostaccess/hostaccess/internal/testengine"
	"github.com/hostaccess/hostaccess/internal/testutil"
)

// binary is the hostaccess binary built once for these tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hostaccess-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "hostaccess")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building hostaccess:", err)
		os.Exit(2)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

const testKey = "e2e-key"

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// server is a running `hostaccess serve` child process.
type server struct {
	grpcAddr string
	httpAddr string
	cmd      *exec.Cmd
	logs     *syncBuffer
}

// syncBuffer collects a child's output while tests read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer runs serve on the memory datastore with extra flags and waits
// until /readyz says ready.
//
// With HOSTACCESS_TEST_POSTGRES_URI set, a server given no datastore flags
// runs on a fresh migrated Postgres database, so the end-to-end tests cover
// the durable deployment too.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	if testutil.UsePostgres() && !slices.Contains(extra, "--datastore-engine") {
		extra = append(extra, "--datastore-engine", "postgres", "--datastore-conn-uri", testengine.MigratedDatabase(t))
	}
	extra = withSmallPools(extra)
	s := &server{grpcAddr: freePort(t), httpAddr: freePort(t), logs: &syncBuffer{}}
	args := append([]string{"serve", "--grpc-addr", s.grpcAddr, "--http-addr", s.httpAddr, "--log-format", "json"}, extra...)
	s.cmd = exec.Command(binary, args...)
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	s.cmd.Env = cleanEnv()
	require.NoError(t, s.cmd.Start())
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill()
			_ = s.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("server logs:\n%s", s.logs)
		}
	})

	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + s.httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("server not ready in time; logs:\n%s", s.logs)
	return nil
}

// stop sends SIGTERM and returns the exit code.
func (s *server) stop(t *testing.T) int {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	err := s.cmd.Wait()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode()
	}
	require.NoError(t, err)
	return 0
}

// cleanEnv drops HOSTACCESS_* variables of the developer's shell.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOSTACCESS_") {
			env = append(env, kv)
		}
	}
	return env
}

type result struct {
	code   int
	stdout string
	stderr string
}

// cli runs the binary as a client of s.
func (s *server) cli(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return run(t, stdin, append(args, "--endpoint", s.grpcAddr, "--insecure", "--token", testKey)...)
}

func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func (s *server) client(t *testing.T) *authzed.Client {
	t.Helper()
	c, err := authzed.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpcutil.WithInsecureBearerToken(testKey))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func parseObject(s string) *v1.ObjectReference {
	typ, id, _ := strings.Cut(s, ":")
	return &v1.ObjectReference{ObjectType: typ, ObjectId: id}
}

func check(t *testing.T, c *authzed.Client, resource, permission, subject string) bool {
	t.Helper()
	resp, err := c.CheckPermission(context.Background(), &v1.CheckPermissionRequest{
		Resource:    parseObject(resource),
		Permission:  permission,
		Subject:     &v1.SubjectReference{Object: parseObject(subject)},
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
	})
	require.NoError(t, err)
	return resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
}

// demoQuestions are asked through the CLI and through authzed-go; the
// answers must agree with each other and with the demo's story.
var demoQuestions = []struct {
	resource, permission, subject string
	allowed                       bool
}{
	{"account:acme", "pay_invoices", "user:carol", true},
	{"product:acme/site", "manage", "user:carol", false},
	{"product:acme/site", "manage", "user:dave", true},
	{"account:acme", "pay_invoices", "user:dave", false},
	{"product:acme/shop", "manage", "user:agency", true},
	{"product:acme/mail", "manage", "user:agency", false},
	{"account:resellio", "manage_users", "user:hannah", true},
	{"account:acme", "manage_users", "user:hannah", false},
	{"account:acme", "receive_renewal_notices", "contact:acme-renewals", true},
	{"account:acme", "access", "contact:acme-renewals", false},
}

func TestServeAnswersTheSameThroughCLIAndAuthzedGo(t *testing.T) {
	s := startServer(t, "--grpc-preshared-key", testKey, "--bootstrap", "../../testdata/demo.yaml")
	c := s.client(t)

	for _, q := range demoQuestions {
		name := fmt.Sprintf("%s#%s@%s", q.resource, q.permission, q.subject)
		t.Run(name, func(t *testing.T) {
			viaClient := check(t, c, q.resource, q.permission, q.subject)
			res := s.cli(t, "", "check", q.resource, q.permission, q.subject)
			viaCLI := res.code == 0
			require.Contains(t, []int{0, 1}, res.code, "check exits 0 (allowed) or 1 (denied): %s", res.stderr)
			require.Equal(t, q.allowed, viaClient, "authzed-go")
			require.Equal(t, q.allowed, viaCLI, "CLI")
		})
	}

	// Lookups agree too.
	res := s.cli(t, "", "lookup-resources", "product", "manage", "user:agency", "--output", "json")
	require.Equal(t, 0, res.code, res.stderr)
	var viaCLI []string
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &viaCLI))
	stream, err := c.LookupResources(context.Background(), &v1.LookupResourcesRequest{
		ResourceObjectType: "product", Permission: "manage",
		Subject:     &v1.SubjectReference{Object: parseObject("user:agency")},
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
	})
	require.NoError(t, err)
	var viaClient []string
	for {
		r, err := stream.Recv()
		if err != nil {
			break
		}
		viaClient = append(viaClient, "product:"+r.GetResourceObjectId())
	}
	sort.Strings(viaClient)
	require.Equal(t, []string{"product:acme/shop", "product:globex/site"}, viaCLI)
	require.Equal(t, viaCLI, viaClient)

	res = s.cli(t, "", "lookup-subjects", "product:acme/site", "manage", "user", "--output", "json")
	require.Equal(t, 0, res.code, res.stderr)
	require.JSONEq(t, `["user:alice","user:dave"]`, res.stdout)
}

func TestCheckExplainShowsThePath(t *testing.T) {
	s := startServer(t, "--grpc-preshared-key", testKey, "--bootstrap", "../../testdata/demo.yaml")

	res := s.cli(t, "", "check", "product:acme/shop", "manage", "user:agency", "--explain")
	require.Equal(t, 0, res.code, res.stderr)
	require.Contains(t, res.stdout, "allowed: user:agency manage product:acme/shop")
	require.Contains(t, res.stdout, "tag:acme/client-x#technician")

	res = s.cli(t, "", "check", "product:acme/site", "manage", "user:carol", "--explain")
	require.Equal(t, 1, res.code)
	require.Contains(t, res.stdout, "no relationship path grants it")

	// Asked again, SpiceDB may answer from its cache, which keeps no path:
	// the explanation says so instead of an empty list.
	for range 3 {
		res = s.cli(t, "", "check", "product:acme/site", "manage", "user:carol", "--explain")
		require.Equal(t, 1, res.code)
		require.Contains(t, res.stdout, "no relationship path grants it")
		require.NotRegexp(t, `tried:\n$`, res.stdout, "an explanation with nothing in it")
	}
}

func TestRelWriteReadDeleteAndExpiration(t *testing.T) {
	s := startServer(t, "--grpc-preshared-key", testKey)

	res := s.cli(t, "", "rel", "touch", "account:shop#owner@user:olga", "account:shop#member@user:tom[expiration:2099-01-01T00:00:00Z]", "account:shop#billing@user:tom")
	require.Equal(t, 0, res.code, res.stderr)
	require.Contains(t, res.stdout, "touch: 3 relationships")

	res = s.cli(t, "", "check", "account:shop", "pay_invoices", "user:tom")
	require.Equal(t, 0, res.code)

	// An expired membership cuts the grant.
	res = s.cli(t, "account:shop#member@user:tom[expiration:2020-01-01T00:00:00Z]\n", "rel", "touch", "-")
	require.Equal(t, 0, res.code, res.stderr)
	res = s.cli(t, "", "check", "account:shop", "pay_invoices", "user:tom")
	require.Equal(t, 1, res.code)

	res = s.cli(t, "", "rel", "read", "account:shop#owner", "--output", "json")
	require.Equal(t, 0, res.code, res.stderr)
	require.JSONEq(t, `[{"resource":"account:shop","relation":"owner","subject":"user:olga","tuple":"account:shop#owner@user:olga"}]`, res.stdout)

	res = s.cli(t, "", "rel", "delete", "account:shop#owner@user:olga", "account:shop#owner@user:nobody")
	require.Equal(t, 0, res.code, res.stderr)
	require.Contains(t, res.stdout, "delete: 1 relationships", "counts what was deleted, not what was asked")
	require.Contains(t, res.stdout, "not present, nothing deleted: account:shop#owner@user:nobody")
	res = s.cli(t, "", "check", "account:shop", "close", "user:olga")
	require.Equal(t, 1, res.code, "removed at once")

	res = s.cli(t, "", "rel", "delete", "account:shop#owner@user:olga", "--output", "json")
	require.Equal(t, 0, res.code, res.stderr)
	require.JSONEq(t, `{"operation":"delete","relationships":0,"deleted":[],"absent":["account:shop#owner@user:olga"]}`, res.stdout)
}

// TestBadInputChangesNothing: each bad input gets a one-line error naming the
// problem, exit code 2, and no relationship is written.
func TestBadInputChangesNothing(t *testing.T) {
	s := startServer(t, "--grpc-preshared-key", testKey)
	res := s.cli(t, "", "rel", "touch", "account:base#owner@user:olga")
	require.Equal(t, 0, res.code, res.stderr)
	before := s.cli(t, "", "export").stdout

	for name, tc := range map[string]struct {
		stdin string
		args  []string
		want  string
	}{
		"malformed tuple":         {"", []string{"rel", "touch", "account:base#owner"}, `malformed relationship "account:base#owner"`},
		"unknown relation":        {"", []string{"rel", "touch", "account:base#boss@user:x"}, "`boss` not found"},
		"unknown type":            {"", []string{"rel", "touch", "widget:w#owner@user:x"}, "`widget` not found"},
		"contact given a right":   {"", []string{"rel", "touch", "account:base#billing@contact:c"}, "subjects of type `contact` are not allowed"},
		"one bad line in a batch": {"account:base#member@user:new\nnot a tuple\n", []string{"rel", "touch", "-"}, "line 2: malformed relationship"},
		"one refused in a batch":  {"", []string{"rel", "create", "account:base#member@user:new", "account:base#owner@user:olga"}, "already existed"},
		"unknown permission":      {"", []string{"check", "account:base", "fly", "user:olga"}, "`fly` not found"},
		"bad filter":              {"", []string{"rel", "read", "account:base#"}, "malformed filter"},
	} {
		t.Run(name, func(t *testing.T) {
			res := s.cli(t, tc.stdin, tc.args...)
			require.Equal(t, 2, res.code, res.stdout)
			require.Contains(t, res.stderr, tc.want)
			require.Equal(t, 1, strings.Count(strings.TrimSpace(res.stderr), "\n")+1, "one line: %q", res.stderr)
		})
	}

	after := s.cli(t, "", "export").stdout
	require.Equal(t, stripHeader(before), stripHeader(after), "nothing was written")

	// Wrong key and unreachable server.
	res = run(t, "", "check", "account:base", "close", "user:olga", "--endpoint", s.grpcAddr, "--insecure", "--token", "wrong")
	require.Equal(t, 2, res.code)
	require.Contains(t, res.stderr, "the server refused the token")
	res = run(t, "", "check", "account:base", "close", "user:olga", "--endpoint", freePort(t), "--insecure", "--token", testKey)
	require.Equal(t, 2, res.code)
	require.Contains(t, res.stderr, "cannot reach a server")
}

func stripHeader(export string) string {
	var kept []string
	for _, line := range strings.Split(export, "\n") {
		if !strings.HasPrefix(line, "#") {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "\n")
}

func TestSchemaCommands(t *testing.T) {
	s := startServer(t, "--grpc-preshared-key", testKey)

	res := run(t, "", "schema", "validate", "../../testdata/demo.yaml", "../../schema/hosting.zed")
	require.Equal(t, 0, res.code, res.stdout+res.stderr)
	require.Contains(t, res.stdout, "demo.yaml: ok")

	broken := filepath.Join(t.TempDir(), "broken.yaml")
	require.NoError(t, os.WriteFile(broken, []byte("schemaFile: "+mustAbs(t, "../../schema/hosting.zed")+"\nrelationships: |-\n  account:a#owner@user:x\nassertions:\n  assertTrue:\n    - account:a#pay_invoices@user:nobody\n"), 0o600))
	res = run(t, "", "schema", "validate", broken)
	require.Equal(t, 2, res.code)
	require.Contains(t, res.stdout, "account:a#pay_invoices@user:nobody")

	res = s.cli(t, "", "schema", "read")
	require.Equal(t, 0, res.code, res.stderr)
	require.Contains(t, res.stdout, "definition account")

	notCompiling := filepath.Join(t.TempDir(), "bad.zed")
	require.NoError(t, os.WriteFile(notCompiling, []byte("definition account { permission x = nobody }"), 0o600))
	res = s.cli(t, "", "schema", "write", notCompiling)
	require.Equal(t, 2, res.code)
	require.Contains(t, res.stderr, "does not compile")

	// A schema that would orphan relationships is refused; the schema stays.
	res = s.cli(t, "", "rel", "touch", "account:x#billing@user:y")
	require.Equal(t, 0, res.code, res.stderr)
	schemaText, err := os.ReadFile("../../schema/hosting.zed")
	require.NoError(t, err)
	orphaning := strings.Replace(string(schemaText), "\trelation billing: user | user with expiration\n", "", 1)
	orphaning = strings.Replace(orphaning, "(billing & access)", "(support & access)", 1)
	orphaningFile := filepath.Join(t.TempDir(), "orphaning.zed")
	require.NoError(t, os.WriteFile(orphaningFile, []byte(orphaning), 0o600))
	res = s.cli(t, "", "schema", "write", orphaningFile)
	require.Equal(t, 2, res.code)
	require.Contains(t, res.stderr, "cannot delete relation `billing`")
	res = s.cli(t, "", "check", "account:x", "pay_invoices", "user:y")
	require.Equal(t, 1, res.code, "y is not a member, but the relation still exists")
	require.Contains(t, s.cli(t, "", "schema", "read").stdout, "relation billing")
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	require.NoError(t, err)
	return abs
}

// TestExportImportRoundTrip exports the demo from one server and imports it
// into a fresh one: same relationships, same answers.
func TestExportImportRoundTrip(t *testing.T) {
	src := startServer(t, "--grpc-preshared-key", testKey, "--bootstrap", "../../testdata/demo.yaml")
	dst := startServer(t, "--grpc-preshared-key", testKey)

	file := filepath.Join(t.TempDir(), "backup.yaml")
	res := src.cli(t, "", "export", "--file", file)
	require.Equal(t, 0, res.code, res.stderr)
	require.Contains(t, res.stderr, "exported the schema and 45 relationships")

	res = dst.cli(t, "", "import", file)
	require.Equal(t, 0, res.code, res.stderr)
	require.Contains(t, res.stdout, "imported 45 relationships")

	require.Equal(t, stripHeader(src.cli(t, "", "export").stdout), stripHeader(dst.cli(t, "", "export").stdout))
	srcClient, dstClient := src.client(t), dst.client(t)
	for _, q := range demoQuestions {
		require.Equal(t, check(t, srcClient, q.resource, q.permission, q.subject), check(t, dstClient, q.resource, q.permission, q.subject), "%+v", q)
	}
	res = dst.cli(t, "", "rel", "read", "account:resellio#member")
	require.Contains(t, res.stdout, "2099-12-31T00:00:00Z", "expirations survive the round trip")

	// Importing again conflicts and writes nothing.
	res = dst.cli(t, "", "import", file)
	require.Equal(t, 2, res.code)
	require.Contains(t, res.stderr, "nothing was imported")
}

func TestServeAuthAndConfiguration(t *testing.T) {
	// No key and no --insecure-no-auth: refused before anything starts.
	res := run(t, "", "serve", "--grpc-addr", freePort(t), "--http-addr", freePort(t))
	require.Equal(t, 2, res.code)
	require.Contains(t, res.stderr, "--grpc-preshared-key is required")

	res = run(t, "", "serve", "--grpc-preshared-key", testKey, "--grpc-addr", freePort(t), "--http-addr", freePort(t), "--dispatch-cache-max-cost", "lots")
	require.Equal(t, 2, res.code)
	require.Contains(t, res.stderr, "dispatch")

	res = run(t, "", "serve", "--datastore-engine", "oracle")
	require.Equal(t, 2, res.code)
	require.Contains(t, res.stderr, `unknown --datastore-engine "oracle"`)

	// Environment variables configure flags.
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(cleanEnv(), "HOSTACCESS_DATASTORE_ENGINE=oracle")
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), `unknown --datastore-engine "oracle"`)

	// --insecure-no-auth warns, and serves callers without a key.
	s := startServer(t, "--insecure-no-auth")
	require.Contains(t, s.logs.String(), "--insecure-no-auth")
	if !testutil.UsePostgres() {
		require.Contains(t, s.logs.String(), "nothing survives a restart")
	}
	c, err := authzed.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer c.Close()
	_, err = c.ReadSchema(context.Background(), &v1.ReadSchemaRequest{})
	require.NoError(t, err)

	// With a key, a caller without it is refused.
	keyed := startServer(t, "--grpc-preshared-key", testKey)
	c2, err := authzed.NewClient(keyed.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer c2.Close()
	_, err = c2.ReadSchema(context.Background(), &v1.ReadSchemaRequest{})
	require.Contains(t, []codes.Code{codes.Unauthenticated, codes.PermissionDenied}, status.Code(err))

	// Health, readiness and metrics; graceful stop on SIGTERM.
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get("http://" + keyed.httpAddr + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
	}
	require.Equal(t, 0, keyed.stop(t))
	require.Contains(t, keyed.logs.String(), `"stopped"`)
}

// withSmallPools keeps a test server on Postgres to a few connections: many
// servers share one Postgres (100 connections by default) in a test run.
func withSmallPools(args []string) []string {
	if !slices.Contains(args, "postgres") || slices.Contains(args, "--datastore-conn-pool-read-max-open") {
		return args
	}
	return append(args, "--datastore-conn-pool-read-max-open", "4", "--datastore-conn-pool-write-max-open", "2", "--directory-conn-pool-max-open", "2")
}

// TestServeOnAnExternalSpiceDB runs serve as a client of another SpiceDB
// (here: a second hostaccess serve standing in for a cluster): the schema
// is written there and the flows work through it.
func TestServeOnAnExternalSpiceDB(t *testing.T) {
	cluster := startServer(t, "--grpc-preshared-key", "cluster-key-0123456789")
	front := startServer(t, "--spicedb-endpoint", cluster.grpcAddr, "--spicedb-token", "cluster-key-0123456789", "--spicedb-insecure",
		"--api-keys", "panel="+apiKey, "--datastore-engine", "memory")
	require.Contains(t, front.logs.String(), "external SpiceDB cluster")

	status, out := front.call(t, "POST", "/v1/accounts", "service", map[string]any{"id": "acme", "owner_id": "alice"})
	require.Equal(t, http.StatusCreated, status, "%v", out)
	require.True(t, front.allowed(t, "account:acme", "close", "user:alice"))

	// The relationship lives in the cluster.
	res := run(t, "", "rel", "read", "account:acme#owner", "--endpoint", cluster.grpcAddr, "--insecure", "--token", "cluster-key-0123456789")
	require.Equal(t, 0, res.code, res.stderr)
	require.Contains(t, res.stdout, "user:alice")

	// A wrong token for the cluster is refused at start.
	bad := run(t, "", "serve", "--spicedb-endpoint", cluster.grpcAddr, "--spicedb-token", "wrong", "--spicedb-insecure",
		"--grpc-addr", freePort(t), "--http-addr", freePort(t))
	require.Equal(t, 2, bad.code)
	require.Contains(t, bad.stderr, "schema")
}
