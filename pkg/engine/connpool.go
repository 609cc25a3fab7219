package engine

import (
	"context"
	"errors"
	"sync/atomic"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/authzed-go/v1"
	"google.golang.org/grpc"
)

// loopbackConns is how many connections the engine's own client opens to
// its listener. One HTTP/2 connection serializes every request's frames
// through one writer goroutine and one socket: with a warm cache that, not
// SpiceDB, limits a busy node's checks (benchmarks.md).
const loopbackConns = 4

// connPool spreads calls over several connections, round robin.
type connPool struct {
	conns []*grpc.ClientConn
	next  atomic.Uint64
}

func dialPool(n int, target string, opts ...grpc.DialOption) (*connPool, error) {
	p := &connPool{}
	for range n {
		c, err := grpc.NewClient(target, opts...)
		if err != nil {
			_ = p.Close()
			return nil, err
		}
		p.conns = append(p.conns, c)
	}
	return p, nil
}

func (p *connPool) pick() *grpc.ClientConn {
	return p.conns[p.next.Add(1)%uint64(len(p.conns))]
}

func (p *connPool) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return p.pick().Invoke(ctx, method, args, reply, opts...)
}

func (p *connPool) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return p.pick().NewStream(ctx, desc, method, opts...)
}

func (p *connPool) Close() error {
	var errs []error
	for _, c := range p.conns {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// poolClient is an authzed client over a pool.
func poolClient(p *connPool) *authzed.Client {
	return &authzed.Client{
		SchemaServiceClient:      v1.NewSchemaServiceClient(p),
		PermissionsServiceClient: v1.NewPermissionsServiceClient(p),
		WatchServiceClient:       v1.NewWatchServiceClient(p),
	}
}
