package engine

import (
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/serviceconfig"

	"github.com/hostaccess/hostaccess/internal/testutil"
)

// TestMain registers cluster dispatch before any test dials, as main does.
func TestMain(m *testing.M) {
	RegisterClusterDispatch()
	os.Exit(m.Run())
}

func TestDispatchConfigValidate(t *testing.T) {
	node := Config{
		DatastoreEngine: EnginePostgres, DatastoreURI: "postgres://db/x",
		GRPCAddr: ":50051", PresharedKey: "k",
		DispatchAddr: ":50053", DispatchUpstreamAddr: "127.0.0.1:50053,127.0.0.1:50063",
	}
	require.NoError(t, node.Validate())
	client := node
	client.DispatchAddr = "" // sends sub-problems, answers none: SpiceDB allows it
	require.NoError(t, client.Validate())
	dns := node
	dns.DispatchUpstreamAddr = "dns:///spicedb-dispatch.internal:50053"
	require.NoError(t, dns.Validate())

	tlsFiles := testutil.NewTLSFiles(t)
	for name, tc := range map[string]struct {
		mutate func(*Config)
		want   string
	}{
		"memory datastore":   {func(c *Config) { c.DatastoreEngine, c.DatastoreURI = EngineMemory, "" }, "the memory datastore lives in one process"},
		"external cluster":   {func(c *Config) { c.SpiceDBEndpoint, c.SpiceDBToken = "spicedb:50051", "t" }, "an external SpiceDB cluster (--spicedb-endpoint) dispatches between its own nodes"},
		"no auth":            {func(c *Config) { c.PresharedKey, c.InsecureNoAuth = "", true }, "give every node the same --grpc-preshared-key"},
		"in-process, no key": {func(c *Config) { c.PresharedKey, c.GRPCAddr = "", "" }, "cluster dispatch needs --grpc-preshared-key"},
		"listener alone":     {func(c *Config) { c.DispatchUpstreamAddr = "" }, "--dispatch-cluster-addr needs --dispatch-upstream-addr"},
		"bad listen":         {func(c *Config) { c.DispatchAddr = "50053" }, `invalid --dispatch-cluster-addr "50053"`},
		"same port as api":   {func(c *Config) { c.DispatchAddr = "127.0.0.1:50051" }, "is also --grpc-addr"},
		"no port":            {func(c *Config) { c.DispatchUpstreamAddr = "127.0.0.1:50053,node2" }, `"node2"`},
		"no host":            {func(c *Config) { c.DispatchUpstreamAddr = ":50053" }, "a host peers can dial"},
		"empty entry":        {func(c *Config) { c.DispatchUpstreamAddr = "127.0.0.1:50053,,127.0.0.1:50063" }, "an empty address"},
		"listed twice":       {func(c *Config) { c.DispatchUpstreamAddr = "127.0.0.1:50053,127.0.0.1:50053" }, "listed twice"},
		"cert alone":         {func(c *Config) { c.DispatchTLSCertPath, c.DispatchUpstreamCAPath = "/x.pem", "/ca.pem" }, "--dispatch-cluster-tls-key-path"},
		"tls, no ca":         {func(c *Config) { c.DispatchTLSCertPath, c.DispatchTLSKeyPath = tlsFiles.Cert, tlsFiles.Key }, "go together"},
		"ca, no tls":         {func(c *Config) { c.DispatchUpstreamCAPath = "/ca.pem" }, "go together"},
		"tls, no dispatch":   {func(c *Config) { c.DispatchAddr, c.DispatchUpstreamAddr, c.DispatchUpstreamCAPath = "", "", "/ca.pem" }, "need --dispatch-cluster-addr or --dispatch-upstream-addr"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := node
			tc.mutate(&cfg)
			require.ErrorContains(t, cfg.Validate(), tc.want)
		})
	}
}

func TestDispatchTarget(t *testing.T) {
	got, err := dispatchTarget("127.0.0.1:50053, 127.0.0.1:50063")
	require.NoError(t, err)
	require.Equal(t, "hostaccess-static:///127.0.0.1:50053,127.0.0.1:50063", got)
	got, err = dispatchTarget("dns:///spicedb:50053")
	require.NoError(t, err)
	require.Equal(t, "dns:///spicedb:50053", got, "a gRPC target is SpiceDB's to resolve")
}

// fakeConn records what a resolver offers.
type fakeConn struct {
	mu     sync.Mutex
	offers [][]string
}

func (c *fakeConn) UpdateState(s resolver.State) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var addrs []string
	for _, a := range s.Addresses {
		addrs = append(addrs, a.Addr)
	}
	c.offers = append(c.offers, addrs)
	return nil
}

func (c *fakeConn) last() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.offers) == 0 {
		return nil
	}
	return c.offers[len(c.offers)-1]
}

func (c *fakeConn) ReportError(error)                                    {}
func (c *fakeConn) NewAddress([]resolver.Address)                        {}
func (c *fakeConn) ParseServiceConfig(string) *serviceconfig.ParseResult { return nil }

// TestStaticResolverLeavesDeadNodesOffTheRing: SpiceDB's ring has no
// fallback, so a node that stopped must leave the offer (its sub-problems
// go to the others) and come back when it listens again.
func TestStaticResolverLeavesDeadNodesOffTheRing(t *testing.T) {
	listen := func(addr string) net.Listener {
		l, err := net.Listen("tcp", addr)
		require.NoError(t, err)
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				_ = c.Close()
			}
		}()
		return l
	}
	a, b := listen("127.0.0.1:0"), listen("127.0.0.1:0")
	defer a.Close()
	addrA, addrB := a.Addr().String(), b.Addr().String()

	cc := &fakeConn{}
	target := resolver.Target{}
	target.URL.Scheme, target.URL.Path = StaticScheme, "/"+addrA+","+addrB
	r, err := staticBuilder{}.Build(target, cc, resolver.BuildOptions{})
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, []string{addrA, addrB}, cc.last(), "every node is offered at once")

	require.NoError(t, b.Close())
	r.ResolveNow(resolver.ResolveNowOptions{}) // as gRPC does when a connection fails
	require.Eventually(t, func() bool { return slices.Equal(cc.last(), []string{addrA}) }, 3*time.Second, 20*time.Millisecond,
		"the stopped node leaves the offer: %v", cc.last())

	b = listen(addrB)
	defer b.Close()
	require.Eventually(t, func() bool { return slices.Equal(cc.last(), []string{addrA, addrB}) }, 3*time.Second, 20*time.Millisecond,
		"the node is offered again once it listens: %v", cc.last())
}
