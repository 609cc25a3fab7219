package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/testutil"
)

// A cluster: three serve processes on one Postgres database, splitting
// checks between them over SpiceDB's dispatch API (serve
// --dispatch-cluster-addr, --dispatch-upstream-addr).

type cluster struct {
	uri   string
	nodes []*server
	// dispatch[i] is node i's dispatch listener.
	dispatch []string
}

// startCluster starts n nodes on a fresh database, one after the other (the
// first migrates and writes the schema).
func startCluster(t *testing.T, n int, extra ...string) *cluster {
	t.Helper()
	c := &cluster{uri: testutil.PostgresDatabase(t)}
	for range n {
		c.dispatch = append(c.dispatch, freePort(t))
	}
	upstream := strings.Join(c.dispatch, ",")
	for i := range n {
		args := durableFlags(c.uri, append([]string{
			"--dispatch-cluster-addr", c.dispatch[i], "--dispatch-upstream-addr", upstream,
			"--recover-interval", "1s",
		}, extra...)...)
		c.nodes = append(c.nodes, startServe(t, args...))
	}
	return c
}

// checkAnswer asks POST /v1/check and returns allowed, or an error for
// anything but a 200.
func checkAnswer(c apiClient, resource, permission, subject, fresh string) (bool, apiResult) {
	body := map[string]any{"resource": resource, "permission": permission, "subject": subject}
	if fresh != "" {
		body["at_least_as_fresh"] = fresh
	}
	r := c.do("POST", "/v1/check", "", body)
	var ans struct {
		Allowed bool `json:"allowed"`
	}
	if r.ok() {
		_ = json.Unmarshal(r.body, &ans)
	}
	return ans.Allowed, r
}

func mustCheck(t *testing.T, c apiClient, resource, permission, subject, fresh string) bool {
	t.Helper()
	allowed, r := checkAnswer(c, resource, permission, subject, fresh)
	require.True(t, r.ok(), "check %s %s %s: %s", resource, permission, subject, r)
	return allowed
}

// joinAccount invites email with access on account through c and accepts
// it as user; it returns the acceptance's zed_token.
func joinAccount(t *testing.T, c apiClient, account, user string, a access) string {
	t.Helper()
	var link struct {
		Token string `json:"token"`
	}
	c.do("POST", "/v1/accounts/"+account+"/invitations", "user:owner-"+account, map[string]any{"email": user + "@cluster.test", "access": a}).must(t, http.StatusCreated, &link)
	var acc struct {
		ZedToken string `json:"zed_token"`
	}
	c.do("POST", "/v1/invitations/accept", "", map[string]any{"token": link.Token, "user_id": user, "email": user + "@cluster.test", "email_verified": true}).must(t, http.StatusOK, &acc)
	require.NotEmpty(t, acc.ZedToken, "an acceptance says at which revision it was written")
	return acc.ZedToken
}

func createAccount(t *testing.T, c apiClient, account string, products ...string) {
	t.Helper()
	c.do("POST", "/v1/accounts", "service", map[string]any{"id": account, "name": account, "owner_id": "owner-" + account, "owner_email": "owner@" + account + ".test"}).must(t, http.StatusCreated, nil)
	for _, p := range products {
		c.do("POST", "/v1/accounts/"+account+"/products", "service", map[string]any{"name": p}).must(t, http.StatusCreated, nil)
	}
}

// dispatchesReceived sums SpiceDB's count of dispatch calls a node answered
// for the cluster (its dispatch API's gRPC server metric).
func dispatchesReceived(t *testing.T, s *server) float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.httpAddr + "/metrics")
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	var total float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "grpc_server_handled_total{") || !strings.Contains(line, `grpc_service="dispatch.v1.DispatchService"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		require.NoError(t, err, line)
		total += v
	}
	require.NoError(t, sc.Err())
	return total
}

// question is one check and its expected answer.
type question struct {
	resource, permission, subject string
	allowed                       bool
}

// TestClusterNodesAnswerAlikeAndDispatchToEachOther: every node of a
// three-node cluster gives the same answers, over HTTP and gRPC, and the
// checks sent to one node are partly answered by the others.
func TestClusterNodesAnswerAlikeAndDispatchToEachOther(t *testing.T) {
	cl := startCluster(t, 3)
	first := newAPIClient(cl.nodes[0], 20*time.Second)

	var questions []question
	for i := range 8 {
		a := fmt.Sprintf("alike%d", i)
		createAccount(t, first, a, "site", "shop")
		joinAccount(t, first, a, "bill-"+a, access{Rights: []string{"billing"}})
		joinAccount(t, first, a, "dev-"+a, access{Rights: []string{"support"}, Technical: scope{Products: []string{"site"}}})
		questions = append(questions,
			question{"account:" + a, "close", "user:owner-" + a, true},
			question{"account:" + a, "pay_invoices", "user:bill-" + a, true},
			question{"account:" + a, "manage_domains", "user:bill-" + a, false},
			question{"product:" + a + "/site", "manage", "user:bill-" + a, false},
			question{"product:" + a + "/site", "manage", "user:dev-" + a, true},
			question{"product:" + a + "/shop", "manage", "user:dev-" + a, false},
			question{"account:" + a, "open_ticket", "user:dev-" + a, true},
			question{"account:" + a, "pay_invoices", "user:dev-" + a, false},
			question{"product:" + a + "/shop", "manage", "user:owner-" + a, true},
			question{"account:" + a, "access", "user:stranger", false},
		)
	}

	// Checks through the first node only: the others' dispatch APIs answer
	// part of them, so dispatch does go between the processes.
	before := []float64{dispatchesReceived(t, cl.nodes[1]), dispatchesReceived(t, cl.nodes[2])}
	for _, q := range questions {
		require.Equal(t, q.allowed, mustCheck(t, first, q.resource, q.permission, q.subject, ""), "node 1: %s %s %s", q.resource, q.permission, q.subject)
	}
	for i, n := range []*server{cl.nodes[1], cl.nodes[2]} {
		got := dispatchesReceived(t, n) - before[i]
		require.Positive(t, got, "node %d answered none of node 1's sub-problems: no dispatch between the nodes", i+2)
		t.Logf("node %d answered %.0f dispatch calls for node 1's %d checks", i+2, got, len(questions))
	}

	for i, n := range cl.nodes {
		c := newAPIClient(n, 20*time.Second)
		zed := n.client(t)
		// Without a token a node reflects node 1's writes once its watch
		// reports them, in order: once it shows the last, it shows them all.
		require.Eventually(t, func() bool {
			allowed, r := checkAnswer(c, "product:alike7/site", "manage", "user:dev-alike7", "")
			return r.ok() && allowed
		}, 5*time.Second, 20*time.Millisecond, "node %d never saw node 1's last change", i+1)
		for _, q := range questions {
			require.Equal(t, q.allowed, mustCheck(t, c, q.resource, q.permission, q.subject, ""), "node %d over HTTP: %s %s %s", i+1, q.resource, q.permission, q.subject)
			require.Equal(t, q.allowed, check(t, zed, q.resource, q.permission, q.subject), "node %d over gRPC: %s %s %s", i+1, q.resource, q.permission, q.subject)
		}
	}
}

// TestClusterChangeOnOneNodeIsFreshOnTheOthers: a member who joins, then is
// removed, through node 1 is answered accordingly by nodes 2 and 3 right
// away when the caller passes the write's zed_token, and on the plain check
// path (no token) within the watch delay, never going back once there.
func TestClusterChangeOnOneNodeIsFreshOnTheOthers(t *testing.T) {
	cl := startCluster(t, 3)
	one := newAPIClient(cl.nodes[0], 20*time.Second)
	others := []apiClient{newAPIClient(cl.nodes[1], 20*time.Second), newAPIClient(cl.nodes[2], 20*time.Second)}
	createAccount(t, one, "fresh", "site")
	for _, c := range others {
		require.False(t, mustCheck(t, c, "account:fresh", "pay_invoices", "user:carol", ""))
	}

	token := joinAccount(t, one, "fresh", "carol", access{Rights: []string{"billing"}})
	joined := time.Now()
	for i, c := range others {
		require.True(t, mustCheck(t, c, "account:fresh", "pay_invoices", "user:carol", token), "node %d, at least as fresh as the acceptance on node 1", i+2)
		require.False(t, mustCheck(t, c, "account:fresh", "manage_domains", "user:carol", token), "node %d: billing only", i+2)
	}
	for i, c := range others {
		t.Logf("node %d (plain path) allowed the new member %s after the acceptance answered on node 1", i+2, settlesTo(t, c, "carol", true, joined))
	}

	var removed struct {
		ZedToken string `json:"zed_token"`
	}
	one.do("DELETE", "/v1/accounts/fresh/members/carol", "user:owner-fresh", nil).must(t, http.StatusOK, &removed)
	require.NotEmpty(t, removed.ZedToken)
	gone := time.Now()
	for i, c := range others {
		require.False(t, mustCheck(t, c, "account:fresh", "pay_invoices", "user:carol", removed.ZedToken), "node %d, at least as fresh as the removal on node 1", i+2)
	}
	for i, c := range others {
		t.Logf("node %d (plain path) denied the removed member %s after the removal answered on node 1", i+2, settlesTo(t, c, "carol", false, gone))
	}
}

// settlesTo polls carol's pay_invoices on account fresh through c, without
// a token, until it answers want (within 5 s: the watch polls every
// 100 ms), then checks that it keeps answering want; it returns how long
// after since that took.
func settlesTo(t *testing.T, c apiClient, user string, want bool, since time.Time) time.Duration {
	t.Helper()
	for mustCheck(t, c, "account:fresh", "pay_invoices", "user:"+user, "") != want {
		require.Less(t, time.Since(since), 5*time.Second, "a node still answers %v, 5 s after the change on node 1", !want)
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(since)
	for range 20 {
		require.Equal(t, want, mustCheck(t, c, "account:fresh", "pay_invoices", "user:"+user, ""), "once it has said %v", want)
	}
	return took.Round(time.Millisecond)
}

// TestClusterNodeKilledMidLoad SIGKILLs one node of three while clients run
// flows and checks spread over all of them. Checks that fail are retried on
// another node and never answer wrongly; afterwards, read from a surviving
// node, every flow acknowledged before or after the kill holds, and each
// one whose answer was lost is wholly applied or not at all (the survivors
// settle the dead node's interrupted flows).
func TestClusterNodeKilledMidLoad(t *testing.T) {
	cl := startCluster(t, 3)
	db := pgConnect(t, cl.uri)
	first := newAPIClient(cl.nodes[0], 20*time.Second)
	clients := make([]apiClient, len(cl.nodes))
	for i, n := range cl.nodes {
		clients[i] = newAPIClient(n, 10*time.Second)
	}

	accounts := []string{"kill0", "kill1", "kill2"}
	for _, a := range accounts {
		createAccount(t, first, a, "site", "shop")
		joinAccount(t, first, a, "steady-"+a, access{Rights: []string{"billing"}})
	}
	// Facts no flow touches: any node, at any time, answers them right.
	var facts []question
	for _, a := range accounts {
		facts = append(facts,
			question{"account:" + a, "close", "user:owner-" + a, true},
			question{"account:" + a, "pay_invoices", "user:steady-" + a, true},
			question{"account:" + a, "manage_domains", "user:steady-" + a, false},
			question{"product:" + a + "/site", "manage", "user:steady-" + a, false},
			question{"account:" + a, "access", "user:stranger", false},
		)
	}

	// Without a token, a node sees changes made through another within its
	// watch delay (TestClusterChangeOnOneNodeIsFreshOnTheOthers): wait for
	// every node to know the facts before holding them to them.
	for i, c := range clients {
		for _, q := range facts {
			require.Eventually(t, func() bool {
				allowed, r := checkAnswer(c, q.resource, q.permission, q.subject, "")
				return r.ok() && allowed == q.allowed
			}, 5*time.Second, 20*time.Millisecond, "node %d: %s %s %s", i+1, q.resource, q.permission, q.subject)
		}
	}

	const workers = 4
	people := make([][]*person, workers)
	var all []*person
	for w := range people {
		for u := range 3 {
			id := fmt.Sprintf("k%du%d", w, u)
			p := &person{account: accounts[w%len(accounts)], user: id, email: id + "@crash.test"}
			people[w] = append(people[w], p)
			all = append(all, p)
		}
	}

	const victim = 2
	var killed, stop atomic.Bool
	stats := &crashStats{}
	var checks, retried, wrong, afterKill atomic.Int64
	var wrongMu sync.Mutex
	var wrongs []string
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() { // flows, each through a random node
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for !stop.Load() {
				var free []*person
				for _, p := range people[w] {
					if p.unknown == nil && !p.retired {
						free = append(free, p)
					}
				}
				if len(free) == 0 {
					return
				}
				runFlow(clients[rng.IntN(len(clients))], rng, free[rng.IntN(len(free))], stats, &killed)
			}
		}()
		wg.Add(1)
		go func() { // checks of the facts, retried on another node on failure
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w)+100, uint64(time.Now().UnixNano())))
			for !stop.Load() {
				q := facts[rng.IntN(len(facts))]
				node := rng.IntN(len(clients))
				for try := 0; ; try++ {
					allowed, r := checkAnswer(clients[node], q.resource, q.permission, q.subject, "")
					if r.ok() {
						checks.Add(1)
						if killed.Load() {
							afterKill.Add(1)
						}
						if allowed != q.allowed {
							wrong.Add(1)
							wrongMu.Lock()
							wrongs = append(wrongs, fmt.Sprintf("node %d: %s %s %s = %v", node+1, q.resource, q.permission, q.subject, allowed))
							wrongMu.Unlock()
						}
						break
					}
					retried.Add(1)
					if try > 20 || stop.Load() {
						break
					}
					node = (node + 1) % len(clients)
				}
			}
		}()
	}

	time.Sleep(1500 * time.Millisecond)
	killed.Store(true)
	cl.nodes[victim].kill(t)
	killedAt := time.Now()
	time.Sleep(3 * time.Second) // the load goes on against the survivors
	stop.Store(true)
	wg.Wait()

	stats.mu.Lock()
	t.Logf("flows acknowledged %v; refused %v; %d answers lost (in flight at the kill, or through the dead node)", stats.acked, stats.refused, len(stats.unknown))
	for _, p := range stats.problems {
		t.Errorf("during the load: %s", p)
	}
	stats.mu.Unlock()
	t.Logf("checks: %d answered (%d after the kill), %d tries retried on another node", checks.Load(), afterKill.Load(), retried.Load())
	require.Zero(t, wrong.Load(), "wrong answers: %v", wrongs)
	require.NotEmpty(t, stats.acked, "the load acknowledged no flow")
	require.Positive(t, afterKill.Load(), "no check was answered after the kill: the survivors stopped answering")

	// The survivors settle the dead node's interrupted flows (--recover-after
	// 1s, --recover-interval 1s).
	var left []string
	for deadline := killedAt.Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if left = listIntents(t, db); len(left) == 0 {
			break
		}
	}
	require.Empty(t, left, "interrupted flows the survivors did not settle")

	zed := cl.nodes[0].client(t)
	for _, a := range accounts {
		verifyAccount(t, first, db, zed, a, all)
	}
	// And the other survivor reads the same.
	second := newAPIClient(cl.nodes[1], 20*time.Second)
	for _, p := range all {
		isMember := p.settled.phase == member
		require.Equal(t, isMember, mustCheck(t, second, "account:"+p.account, "access", "user:"+p.user, ""), "node 2: %s/%s settled %s", p.account, p.user, p.settled)
	}
}

// BenchmarkClusterChecks measures checks per second from 16 concurrent
// HTTP clients against one node without dispatch, one node of a
// three-node dispatch ring, then spread over the three, all on the same
// Postgres database (every process on this one machine, sharing its CPU):
//
//	HOSTACCESS_TEST_POSTGRES_URI=... go test ./cmd/hostaccess -run '^$' -bench ClusterChecks -benchtime 10s
//
// Checks cycle through 400 distinct questions over 20 accounts, so both
// the caches and dispatch see a spread of keys.
func BenchmarkClusterChecks(b *testing.B) {
	uri := testutil.PostgresDatabase(b)
	dispatch := []string{testutil.FreeAddr(b), testutil.FreeAddr(b), testutil.FreeAddr(b)}
	var nodes []string // HTTP addresses
	for i := range dispatch {
		nodes = append(nodes, startBenchNode(b, durableFlags(uri,
			"--dispatch-cluster-addr", dispatch[i], "--dispatch-upstream-addr", strings.Join(dispatch, ","))...))
	}
	// And a node of the same database outside the ring: SpiceDB without
	// cluster dispatch, for what dispatch costs on one machine.
	alone := startBenchNode(b, durableFlags(uri)...)
	setup := apiClient{addr: nodes[0], hc: &http.Client{Timeout: 20 * time.Second}}
	var questions []question
	for i := range 20 {
		a := fmt.Sprintf("bench%d", i)
		r := setup.do("POST", "/v1/accounts", "service", map[string]any{"id": a, "name": a, "owner_id": "owner-" + a, "owner_email": "owner@" + a + ".test"})
		require.True(b, r.ok(), "%s", r)
		for j := range 20 {
			questions = append(questions, question{resource: "account:" + a, permission: []string{"pay_invoices", "close", "manage_domains", "view"}[j%4], subject: fmt.Sprintf("user:u%d", j)})
		}
		questions[len(questions)-1].subject = "user:owner-" + a
	}
	for _, run := range []struct {
		name  string
		nodes []string
	}{{"nodes=1,no-dispatch", []string{alone}}, {"nodes=1,dispatch", nodes[:1]}, {"nodes=3,dispatch", nodes}} {
		b.Run(run.name, func(b *testing.B) {
			spread := len(run.nodes)
			clients := make([]apiClient, spread)
			for i := range clients {
				clients[i] = apiClient{addr: run.nodes[i], hc: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
			}
			var next atomic.Int64
			b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)) // 16 clients
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := next.Add(1)
					q := questions[int(n)%len(questions)]
					if _, r := checkAnswer(clients[int(n)%spread], q.resource, q.permission, q.subject, ""); !r.ok() {
						b.Errorf("check: %s", r)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "checks/s")
		})
	}
}

// startBenchNode starts serve for a benchmark and returns its HTTP address.
func startBenchNode(b testing.TB, extra ...string) string {
	b.Helper()
	httpAddr := testutil.FreeAddr(b)
	// Pools sized so that four nodes stay well within Postgres's 100
	// connections (refused connections would show as unavailable checks).
	args := append([]string{"serve", "--grpc-addr", testutil.FreeAddr(b), "--http-addr", httpAddr, "--log-level", "warn",
		"--datastore-conn-pool-read-max-open", "8", "--datastore-conn-pool-write-max-open", "2", "--directory-conn-pool-max-open", "3"}, extra...)
	cmd := exec.Command(binary, args...)
	cmd.Env = cleanEnv()
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(b, cmd.Start())
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + httpAddr + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return httpAddr
			}
		}
	}
	b.Fatalf("serve not ready; logs:\n%s", logs)
	return ""
}

// TestServeRefusesClusterFlagsThatCannotWork: the refusal comes before
// anything starts, exit code 2, naming what to change.
func TestServeRefusesClusterFlagsThatCannotWork(t *testing.T) {
	base := []string{"serve", "--grpc-addr", freePort(t), "--http-addr", freePort(t), "--grpc-preshared-key", testKey}
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"memory datastore": {[]string{"--dispatch-cluster-addr", "127.0.0.1:50053", "--dispatch-upstream-addr", "127.0.0.1:50053"}, "the memory datastore lives in one process"},
		"no upstream": {[]string{"--datastore-engine", "postgres", "--datastore-conn-uri", "postgres://127.0.0.1:1/x", "--dispatch-cluster-addr", "127.0.0.1:50053"},
			"--dispatch-cluster-addr needs --dispatch-upstream-addr"},
		"bad peer": {[]string{"--datastore-engine", "postgres", "--datastore-conn-uri", "postgres://127.0.0.1:1/x", "--dispatch-cluster-addr", "127.0.0.1:50053", "--dispatch-upstream-addr", "127.0.0.1:50053,node2"},
			`invalid --dispatch-upstream-addr`},
		"external cluster": {[]string{"--spicedb-endpoint", "127.0.0.1:1", "--spicedb-token", "t", "--dispatch-upstream-addr", "127.0.0.1:50053"}, "dispatches between its own nodes"},
	} {
		t.Run(name, func(t *testing.T) {
			res := run(t, "", append(base, tc.args...)...)
			require.Equal(t, 2, res.code, "stdout %s\nstderr %s", res.stdout, res.stderr)
			require.Contains(t, res.stderr, tc.want)
		})
	}
}
