package engine

import (
	"github.com/authzed/spicedb/pkg/cmd/server"
	"google.golang.org/grpc"

	"github.com/hostaccess/hostaccess/pkg/freshness"
)

// pinChecks answers checks asked through SpiceDB's API at the account's
// pinned snapshot (freshness.Tracker.PinInterceptor). It runs right after
// authentication: an unauthenticated caller makes the tracker read nothing.
func pinChecks(tracker *freshness.Tracker) server.MiddlewareModification[grpc.UnaryServerInterceptor] {
	return server.MiddlewareModification[grpc.UnaryServerInterceptor]{
		DependencyMiddlewareName: server.DefaultMiddlewareGRPCAuth,
		Operation:                server.OperationAppend,
		Middlewares: []server.ReferenceableMiddleware[grpc.UnaryServerInterceptor]{
			server.NewUnaryMiddleware().WithName("hostaccess-pin-checks").WithInterceptor(tracker.PinInterceptor()).Done(),
		},
	}
}
