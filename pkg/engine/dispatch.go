package engine

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authzed/consistent"
	"github.com/authzed/spicedb/pkg/cmd/server"
	"github.com/authzed/spicedb/pkg/cmd/util"
	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/resolver"

	"github.com/hostaccess/hostaccess/internal/tlsconf"
)

// Cluster dispatch: nodes sharing one datastore split each check into
// sub-problems and send each to the node that owns it on a consistent-hash
// ring (SpiceDB's dispatch API), so every node's cache holds a share of the
// graph instead of all of it.

var registerOnce sync.Once

// RegisterClusterDispatch registers, in gRPC's process-wide registries,
// SpiceDB's consistent-hash ring balancer and the static resolver of
// StaticScheme. A program that enables cluster dispatch (Config.DispatchAddr
// or DispatchUpstreamAddr) calls it first thing in main, before any gRPC
// client exists: gRPC's registries are not safe to change once in use, which
// is why Open only checks that it was done. Calling it again does nothing.
func RegisterClusterDispatch() {
	registerOnce.Do(func() {
		if balancer.Get(consistent.BalancerName) == nil {
			balancer.Register(server.ConsistentHashringBuilder)
		}
		resolver.Register(staticBuilder{})
	})
}

// clusterDispatchRegistered reports whether RegisterClusterDispatch ran.
func clusterDispatchRegistered() bool {
	return balancer.Get(consistent.BalancerName) != nil && resolver.Get(StaticScheme) != nil
}

// dispatchEnabled reports whether the engine takes part in cluster dispatch.
func (c Config) dispatchEnabled() bool {
	return c.DispatchAddr != "" || c.DispatchUpstreamAddr != ""
}

// dispatchTLS is the dispatch listener's certificate and key.
func (c Config) dispatchTLS() tlsconf.Pair {
	return tlsconf.Pair{
		Cert: c.DispatchTLSCertPath, Key: c.DispatchTLSKeyPath,
		CertFlag: "--dispatch-cluster-tls-cert-path", KeyFlag: "--dispatch-cluster-tls-key-path",
	}
}

// validateDispatch reports the first problem with the cluster settings.
func (c Config) validateDispatch() error {
	if !c.dispatchEnabled() {
		if c.dispatchTLS().Enabled() || c.DispatchUpstreamCAPath != "" {
			return errors.New("--dispatch-cluster-tls-* and --dispatch-upstream-ca-path need --dispatch-cluster-addr or --dispatch-upstream-addr")
		}
		return nil
	}
	switch {
	case c.SpiceDBEndpoint != "":
		return errors.New("--dispatch-cluster-addr and --dispatch-upstream-addr are for the embedded engine; an external SpiceDB cluster (--spicedb-endpoint) dispatches between its own nodes")
	case c.DatastoreEngine == EngineMemory:
		return errors.New("cluster dispatch needs a datastore the nodes share: the memory datastore lives in one process; use --datastore-engine postgres or cockroachdb")
	case c.InsecureNoAuth:
		return errors.New("cluster dispatch with --insecure-no-auth would let anyone who reaches the dispatch port read the graph; give every node the same --grpc-preshared-key")
	case c.PresharedKey == "":
		return errors.New("cluster dispatch needs --grpc-preshared-key, the same on every node: SpiceDB presents it to its peers' dispatch ports")
	case c.DispatchAddr != "" && c.DispatchUpstreamAddr == "":
		return errors.New("--dispatch-cluster-addr needs --dispatch-upstream-addr: the dispatch addresses of every node, this one included (HOST:PORT,HOST:PORT,...)")
	}
	if c.DispatchAddr != "" {
		if _, _, err := net.SplitHostPort(c.DispatchAddr); err != nil {
			return fmt.Errorf("invalid --dispatch-cluster-addr %q: %w", c.DispatchAddr, err)
		}
		if c.GRPCAddr != "" && sameListen(c.DispatchAddr, c.GRPCAddr) {
			return fmt.Errorf("--dispatch-cluster-addr %s is also --grpc-addr: give the dispatch listener its own port", c.DispatchAddr)
		}
	}
	if _, err := dispatchTarget(c.DispatchUpstreamAddr); err != nil {
		return err
	}
	if err := c.dispatchTLS().Validate(); err != nil {
		return err
	}
	// SpiceDB dials every peer alike: TLS with the CA, plaintext without.
	// A ring whose nodes differ would fail at its first dispatch.
	if c.DispatchAddr != "" && c.dispatchTLS().Enabled() != (c.DispatchUpstreamCAPath != "") {
		return errors.New("--dispatch-cluster-tls-cert-path and --dispatch-upstream-ca-path go together: a node serving dispatch over TLS dials its peers over TLS, verified by that CA")
	}
	if !clusterDispatchRegistered() {
		return errors.New("cluster dispatch is not registered in this program: call engine.RegisterClusterDispatch() at the start of main")
	}
	return nil
}

// sameListen reports whether two listen addresses share a port on an
// overlapping host (":50051" and "127.0.0.1:50051" do).
func sameListen(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wild(ha) || wild(hb)
}

// dispatchTarget turns --dispatch-upstream-addr into the gRPC target SpiceDB
// dials: a gRPC target with a scheme ("dns:///spicedb.internal:50053") is
// used as is; a comma-separated list of HOST:PORT becomes a StaticScheme
// target, so a static set of nodes (one machine, or hosts without service
// discovery) needs nothing else.
func dispatchTarget(upstream string) (string, error) {
	if upstream == "" {
		return "", nil
	}
	if strings.Contains(upstream, "://") {
		return upstream, nil
	}
	addrs, err := parseStaticAddrs(upstream)
	if err != nil {
		return "", fmt.Errorf("invalid --dispatch-upstream-addr %q: %w", upstream, err)
	}
	return StaticScheme + ":///" + strings.Join(addrs, ","), nil
}

// parseStaticAddrs splits a comma-separated list of HOST:PORT.
func parseStaticAddrs(list string) ([]string, error) {
	var addrs []string
	for a := range strings.SplitSeq(list, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			return nil, errors.New("an empty address in the list")
		}
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", a, err)
		}
		if host == "" || port == "" {
			return nil, fmt.Errorf("%q: give HOST:PORT, a host peers can dial", a)
		}
		if slices.Contains(addrs, a) {
			return nil, fmt.Errorf("%q is listed twice", a)
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}

// applyDispatch configures SpiceDB's dispatch listener and upstream.
func (c Config) applyDispatch(srv *server.Config) {
	if c.DispatchAddr != "" {
		srv.DispatchServer = util.GRPCServerConfig{
			Address:     c.DispatchAddr,
			Network:     "tcp",
			Enabled:     true,
			MaxConnAge:  30 * time.Second,
			TLSCertPath: c.DispatchTLSCertPath,
			TLSKeyPath:  c.DispatchTLSKeyPath,
		}
	} else {
		srv.DispatchServer.Enabled = false
	}
	target, _ := dispatchTarget(c.DispatchUpstreamAddr) // validated
	srv.DispatchUpstreamAddr = target
	srv.DispatchUpstreamCAPath = c.DispatchUpstreamCAPath
}
