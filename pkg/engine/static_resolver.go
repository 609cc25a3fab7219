package engine

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/resolver"
)

// StaticScheme is the gRPC resolver scheme of a fixed list of nodes:
// "hostaccess-static:///10.0.0.1:50053,10.0.0.2:50053". SpiceDB ships only a
// Kubernetes resolver; gRPC's DNS one yields one port per name, so nodes on
// one machine, or hosts without service discovery, need this.
const StaticScheme = "hostaccess-static"

// Probing: SpiceDB's ring balancer has no fallback (a sub-problem hashed to
// a dead node waits for it), and relies on the resolver dropping nodes that
// are observably down, as Kubernetes endpoints do. The static resolver
// therefore offers only the nodes that accept a TCP connection, looked at
// every probeInterval; when none does, it offers them all (so that gRPC
// reports the failure instead of waiting for an address).
const (
	probeInterval = time.Second
	probeTimeout  = 500 * time.Millisecond
)

type staticBuilder struct{}

func (staticBuilder) Scheme() string { return StaticScheme }

func (staticBuilder) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	addrs, err := parseStaticAddrs(target.Endpoint())
	if err != nil {
		return nil, errors.New(StaticScheme + " target: " + err.Error())
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &staticResolver{cc: cc, addrs: addrs, cancel: cancel, now: make(chan struct{}, 1)}
	// Every node first: at a cluster's start the others may not listen yet,
	// and a ring without them would send everything to the first one up.
	r.publish(addrs)
	r.wg.Add(1)
	go r.probeLoop(ctx)
	return r, nil
}

type staticResolver struct {
	cc     resolver.ClientConn
	addrs  []string
	cancel context.CancelFunc
	now    chan struct{} // ResolveNow: probe at once
	wg     sync.WaitGroup

	mu   sync.Mutex
	last []string // the addresses last offered
}

func (r *staticResolver) probeLoop(ctx context.Context) {
	defer r.wg.Done()
	ticker := time.NewTicker(probeInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-r.now:
		}
		live := r.probe(ctx)
		if ctx.Err() != nil {
			return
		}
		if len(live) == 0 {
			live = r.addrs
		}
		r.publish(live)
	}
}

// probe returns the addresses that accept a connection, in list order.
func (r *staticResolver) probe(ctx context.Context) []string {
	up := make([]bool, len(r.addrs))
	var wg sync.WaitGroup
	for i, a := range r.addrs {
		wg.Go(func() {
			d := net.Dialer{Timeout: probeTimeout}
			conn, err := d.DialContext(ctx, "tcp", a)
			if err == nil {
				_ = conn.Close()
				up[i] = true
			}
		})
	}
	wg.Wait()
	var live []string
	for i, a := range r.addrs {
		if up[i] {
			live = append(live, a)
		}
	}
	return live
}

// publish offers addrs to gRPC when they differ from the last offer (an
// unchanged offer would rebuild nothing but cost the balancer work).
func (r *staticResolver) publish(addrs []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last != nil && slices.Equal(r.last, addrs) {
		return
	}
	r.last = slices.Clone(addrs)
	state := resolver.State{}
	for _, a := range addrs {
		state.Addresses = append(state.Addresses, resolver.Address{Addr: a})
		state.Endpoints = append(state.Endpoints, resolver.Endpoint{Addresses: []resolver.Address{{Addr: a}}})
	}
	_ = r.cc.UpdateState(state) // an error asks for ResolveNow, which probes again
}

func (r *staticResolver) ResolveNow(resolver.ResolveNowOptions) {
	select {
	case r.now <- struct{}{}:
	default:
	}
}

func (r *staticResolver) Close() {
	r.cancel()
	r.wg.Wait()
}
