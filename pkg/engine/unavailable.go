package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/authzed/spicedb/pkg/cmd/server"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// SpiceDB answers INTERNAL or UNKNOWN when its datastore connection fails
// ("unable to find revision: failed to connect ..."). A client should read
// that as UNAVAILABLE (retry later), and should not read the database's
// address and user. These interceptors translate such errors.

// connectionFailures are the driver messages of a lost or refused database
// connection.
var connectionFailures = []string{
	"failed to connect", "connection refused", "connection reset", "conn closed",
	"broken pipe", "unable to find revision", "no such host", "i/o timeout",
	"server closed the connection", "the database system is shutting down",
}

func asUnavailable(ctx context.Context, err error, logger *zap.Logger) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	// A plain Go error reaches the client as UNKNOWN.
	st, ok := status.FromError(err)
	if !ok {
		st = status.New(codes.Unknown, err.Error())
	}
	switch st.Code() {
	case codes.Internal, codes.Unknown, codes.Canceled:
	default:
		return err
	}
	msg := strings.ToLower(st.Message())
	for _, m := range connectionFailures {
		if strings.Contains(msg, m) {
			logger.Warn("datastore unavailable", zap.String("cause", st.Message()))
			return status.Error(codes.Unavailable, "the datastore is unavailable; try again shortly")
		}
	}
	return err
}

// middleware puts the unavailable translation, then the given interceptors,
// after SpiceDB's request id (and before authentication and the handler).
func middleware(logger *zap.Logger, unaries []grpc.UnaryServerInterceptor, streams []grpc.StreamServerInterceptor) (server.MiddlewareModification[grpc.UnaryServerInterceptor], server.MiddlewareModification[grpc.StreamServerInterceptor]) {
	unary := server.MiddlewareModification[grpc.UnaryServerInterceptor]{
		DependencyMiddlewareName: server.DefaultMiddlewareRequestID,
		Operation:                server.OperationAppend,
		Middlewares: []server.ReferenceableMiddleware[grpc.UnaryServerInterceptor]{
			server.NewUnaryMiddleware().WithName("hostaccess-unavailable").WithInterceptor(
				func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
					resp, err := handler(ctx, req)
					return resp, asUnavailable(ctx, err, logger)
				}).Done(),
		},
	}
	for i, in := range unaries {
		unary.Middlewares = append(unary.Middlewares,
			server.NewUnaryMiddleware().WithName(fmt.Sprintf("hostaccess-unary-%d", i)).WithInterceptor(in).Done())
	}
	stream := server.MiddlewareModification[grpc.StreamServerInterceptor]{
		DependencyMiddlewareName: server.DefaultMiddlewareRequestID,
		Operation:                server.OperationAppend,
		Middlewares: []server.ReferenceableMiddleware[grpc.StreamServerInterceptor]{
			server.NewStreamMiddleware().WithName("hostaccess-unavailable").WithInterceptor(
				func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
					return asUnavailable(ss.Context(), handler(srv, ss), logger)
				}).Done(),
		},
	}
	for i, in := range streams {
		stream.Middlewares = append(stream.Middlewares,
			server.NewStreamMiddleware().WithName(fmt.Sprintf("hostaccess-stream-%d", i)).WithInterceptor(in).Done())
	}
	return unary, stream
}
