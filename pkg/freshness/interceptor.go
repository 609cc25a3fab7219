package freshness

import (
	"context"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// UnaryInterceptor advances tokens for writes made through this node's
// SpiceDB API, before the caller hears back: a check that follows a raw
// write or delete on this node is fresh without waiting for the watch.
func (t *Tracker) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		scopes := writeScopes(req)
		if len(scopes) == 0 {
			return resp, err
		}
		if err != nil {
			if !surelyNotWritten(err) {
				// It may have applied: the next answer about its scopes
				// reads the newest revision.
				for _, scope := range scopes {
					t.Forget(scope)
				}
			}
			return resp, err
		}
		var token string
		switch r := resp.(type) {
		case *v1.WriteRelationshipsResponse:
			t.NoteExpirations(ctx, req.(*v1.WriteRelationshipsRequest).GetUpdates())
			token = r.GetWrittenAt().GetToken()
		case *v1.DeleteRelationshipsResponse:
			token = r.GetDeletedAt().GetToken()
		case *v1.WriteSchemaResponse:
			token = r.GetWrittenAt().GetToken()
		}
		if err := t.Observe(scopes, token); err != nil {
			// The write applied; forgetting the scopes keeps answers safe.
			t.log.Warn("freshness: write token not readable", zap.Error(err))
			for _, scope := range scopes {
				t.Forget(scope)
			}
		}
		return resp, nil
	}
}

// writeScopes lists the scopes a write or delete request may change.
func writeScopes(req any) []string {
	switch r := req.(type) {
	case *v1.WriteRelationshipsRequest:
		return ScopesOfUpdates(r.GetUpdates())
	case *v1.DeleteRelationshipsRequest:
		return ScopesOfFilter(r.GetRelationshipFilter())
	case *v1.WriteSchemaRequest:
		return []string{Global} // every answer may change
	}
	return nil
}

// surelyNotWritten reports errors after which SpiceDB wrote nothing: the
// request was refused before its transaction committed.
func surelyNotWritten(err error) bool {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.AlreadyExists, codes.NotFound,
		codes.PermissionDenied, codes.Unauthenticated, codes.Unimplemented, codes.OutOfRange:
		return true
	}
	return false
}

// StreamInterceptor covers bulk imports, which return no token: once one
// ends, the next answer reads SpiceDB's newest revision.
func (t *Tracker) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		err := handler(srv, ss)
		if strings.HasSuffix(info.FullMethod, "ImportBulkRelationships") || strings.HasSuffix(info.FullMethod, "BulkImportRelationships") {
			t.Forget(Global) // even after an error: some batches may have landed
		}
		return err
	}
}
