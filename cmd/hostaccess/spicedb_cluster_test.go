package main_test

import (
	"context"
	be "encoding/binary"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/hostaccess/hostaccess/internal/testutil"
)

// Remote mode (--spicedb-endpoint) against a real SpiceDB cluster: the
// spicedb binary of the version we embed (built from the module cache once,
// then kept), three `spicedb serve` nodes on one Postgres database
// dispatching to each other, and two hostaccess fronts on them sharing a
// directory database.

const spicedbKey = "spicedb-cluster-key"

// spicedbBinary builds SpiceDB's own command at the version go.mod requires
// (a tool of this module, so go.sum has what it needs), once: the binary is
// kept under the user's cache directory, keyed by SpiceDB's and Go's
// versions. The first build takes minutes.
func spicedbBinary(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/authzed/spicedb").Output()
	require.NoError(t, err, "go list -m github.com/authzed/spicedb")
	version := strings.TrimSpace(string(out))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "hostaccess-test", "spicedb-"+version+"-"+runtime.Version())
	bin := filepath.Join(dir, "spicedb")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	tmp := bin + ".build-" + testutil.RandomSuffix(t)
	t.Logf("building spicedb %s into %s (once; takes minutes)", version, dir)
	build := exec.Command("go", "build", "-o", tmp, "github.com/authzed/spicedb/cmd/spicedb")
	build.Env = cleanEnv()
	msg, err := build.CombinedOutput()
	require.NoError(t, err, "building spicedb: %s", msg)
	require.NoError(t, os.Rename(tmp, bin)) // atomic: a parallel run sees all or nothing
	return bin
}

// startDNS answers A queries for name with addrs, and every other query
// with no record: gRPC's DNS resolver (dns://this-server/name:port) then
// hands SpiceDB one address per node, which is how its ring finds the
// nodes without Kubernetes. Nodes on one machine differ by loopback
// address (127.0.0.1, .2, .3), sharing the dispatch port.
func startDNS(t *testing.T, name string, addrs []net.IP) string {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := dnsAnswer(buf[:n], name, addrs); resp != nil {
				_, _ = conn.WriteTo(resp, from)
			}
		}
	}()
	return conn.LocalAddr().String()
}

// dnsAnswer builds the response to one query (RFC 1035, section 4).
func dnsAnswer(q []byte, name string, addrs []net.IP) []byte {
	if len(q) < 12 {
		return nil
	}
	// The question: labels up to a zero byte, then type and class.
	i, labels := 12, []string{}
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > len(q) {
		return nil
	}
	qtype := be.BigEndian.Uint16(q[i+1:])
	question := q[12 : i+5]
	asked := strings.ToLower(strings.Join(labels, "."))

	var answers []byte
	count := 0
	rcode := uint16(0)
	switch {
	case asked != name:
		rcode = 3 // NXDOMAIN
	case qtype == 1: // A
		for _, ip := range addrs {
			rr := []byte{0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4} // name at offset 12, A, IN, TTL 5 s
			answers = append(append(answers, rr...), ip.To4()...)
			count++
		}
	}
	resp := make([]byte, 12, 12+len(question)+len(answers))
	copy(resp, q[:2])                              // id
	be.BigEndian.PutUint16(resp[2:], 0x8180|rcode) // a response, recursion desired and available
	be.BigEndian.PutUint16(resp[4:], 1)
	be.BigEndian.PutUint16(resp[6:], uint16(count))
	return append(append(resp, question...), answers...)
}

// spicedbNode is one `spicedb serve` child.
type spicedbNode struct {
	grpcAddr, metricsAddr string
	logs                  *syncBuffer
}

func startSpiceDBCluster(t *testing.T, bin, uri string, n int) []*spicedbNode {
	t.Helper()
	migrate := exec.Command(bin, "datastore", "migrate", "head", "--datastore-engine", "postgres", "--datastore-conn-uri", uri)
	migrate.Env = cleanEnv()
	out, err := migrate.CombinedOutput()
	require.NoError(t, err, "spicedb datastore migrate head: %s", out)

	_, dispatchPort, _ := net.SplitHostPort(freePort(t))
	var ips []net.IP
	for i := range n {
		ips = append(ips, net.IPv4(127, 0, 0, byte(i+1)))
	}
	dns := startDNS(t, "spicedb.cluster.test", ips)
	upstream := "dns://" + dns + "/spicedb.cluster.test:" + dispatchPort

	var nodes []*spicedbNode
	for i := range n {
		node := &spicedbNode{grpcAddr: freePort(t), metricsAddr: freePort(t), logs: &syncBuffer{}}
		cmd := exec.Command(bin, "serve",
			"--grpc-preshared-key", spicedbKey,
			"--grpc-addr", node.grpcAddr,
			"--metrics-addr", node.metricsAddr,
			"--datastore-engine", "postgres", "--datastore-conn-uri", uri,
			"--datastore-conn-pool-read-max-open", "4", "--datastore-conn-pool-read-min-open", "1",
			"--datastore-conn-pool-write-max-open", "2", "--datastore-conn-pool-write-min-open", "1",
			"--dispatch-cluster-enabled",
			"--dispatch-cluster-addr", net.JoinHostPort(ips[i].String(), dispatchPort),
			"--dispatch-upstream-addr", upstream,
			"--watch-api-heartbeat", "100ms",
			"--telemetry-endpoint", "",
			"--log-format", "json")
		cmd.Env = cleanEnv()
		cmd.Stdout, cmd.Stderr = node.logs, node.logs
		require.NoError(t, cmd.Start())
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("spicedb node %d logs:\n%s", i+1, node.logs)
			}
		})
		nodes = append(nodes, node)
	}
	for i, node := range nodes {
		waitServing(t, node.grpcAddr, node.logs, i+1)
	}
	return nodes
}

// waitServing waits for a SpiceDB node's gRPC health service to say SERVING.
func waitServing(t *testing.T, addr string, logs *syncBuffer, node int) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	health := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("spicedb node %d not serving in time; logs:\n%s", node, logs)
}

// spicedbDispatches sums the dispatch calls a SpiceDB node answered.
func spicedbDispatches(t *testing.T, node *spicedbNode) float64 {
	t.Helper()
	return dispatchesReceived(t, &server{httpAddr: node.metricsAddr})
}

// TestRemoteModeOnARealSpiceDBCluster runs hostaccess serve
// --spicedb-endpoint against three spicedb serve nodes: flows, checks and
// freshness work across two fronts on different nodes, and the nodes
// dispatch to each other.
func TestRemoteModeOnARealSpiceDBCluster(t *testing.T) {
	datastore := testutil.PostgresDatabase(t)
	directory := testutil.PostgresDatabase(t)
	bin := spicedbBinary(t)
	nodes := startSpiceDBCluster(t, bin, datastore, 3)

	front := func(node *spicedbNode) apiClient {
		s := startServe(t, "--spicedb-endpoint", node.grpcAddr, "--spicedb-token", spicedbKey, "--spicedb-insecure",
			"--spicedb-datastore-engine", "postgres", "--directory-conn-uri", directory,
			"--grpc-preshared-key", testKey, "--api-keys", "panel="+apiKey, "--recover-after", "1s")
		require.Contains(t, s.logs.String(), "external SpiceDB cluster")
		return newAPIClient(s, 20*time.Second)
	}
	a, b := front(nodes[0]), front(nodes[1])

	createAccount(t, a, "remote", "site", "shop")
	createAccount(t, a, "unasked", "site")
	require.False(t, mustCheck(t, b, "account:remote", "pay_invoices", "user:carol", ""), "front b knows the account and carol is no member")

	before := spicedbDispatches(t, nodes[2])
	token := joinAccount(t, a, "remote", "carol", access{Rights: []string{"billing"}, Technical: scope{Products: []string{"site"}}})
	for name, c := range map[string]apiClient{"a": a, "b": b} {
		require.True(t, mustCheck(t, c, "account:remote", "pay_invoices", "user:carol", token), "front %s, at least as fresh as the acceptance", name)
		require.True(t, mustCheck(t, c, "product:remote/site", "manage", "user:carol", token), "front %s", name)
		require.False(t, mustCheck(t, c, "product:remote/shop", "manage", "user:carol", token), "front %s: the site only", name)
		require.False(t, mustCheck(t, c, "account:remote", "manage_domains", "user:carol", token), "front %s: billing, not domains", name)
		require.True(t, mustCheck(t, c, "account:remote", "close", "user:owner-remote", ""), "front %s: the owner", name)
		require.False(t, mustCheck(t, c, "account:remote", "access", "user:stranger", ""), "front %s: a stranger", name)
	}
	joinAccount(t, a, "unasked", "dave", access{Rights: []string{"support"}})
	require.Eventually(t, func() bool {
		allowed, r := checkAnswer(b, "account:unasked", "open_ticket", "user:dave", "")
		return r.ok() && allowed
	}, 5*time.Second, 20*time.Millisecond, "front b, plain path, allows the new member within the watch delay")

	// A change on front a reaches front b's plain check path through b's
	// watch on its own SpiceDB node.
	var removed struct {
		ZedToken string `json:"zed_token"`
	}
	a.do("DELETE", "/v1/accounts/remote/members/carol", "user:owner-remote", nil).must(t, http.StatusOK, &removed)
	require.False(t, mustCheck(t, b, "account:remote", "pay_invoices", "user:carol", removed.ZedToken), "front b, at least as fresh as the removal")
	require.Eventually(t, func() bool {
		allowed, r := checkAnswer(b, "account:remote", "pay_invoices", "user:carol", "")
		return r.ok() && !allowed
	}, 5*time.Second, 20*time.Millisecond, "front b, plain path, denies the removed member within the watch delay")

	var members struct {
		Members []memberView `json:"members"`
	}
	b.do("GET", "/v1/accounts/remote/members", "user:owner-remote", nil).must(t, http.StatusOK, &members)
	require.Len(t, members.Members, 1, "front b lists the owner alone: %+v", members.Members)

	// Node 3 served no API call: what it answered came from its peers.
	require.Positive(t, spicedbDispatches(t, nodes[2])-before, "spicedb node 3 answered no dispatch from nodes 1 and 2")
}
