package freshness

import (
	"context"
	"errors"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// PinInterceptor answers checks asked through SpiceDB's API the way
// hostaccess answers its own: a CheckPermission or CheckBulkPermissions
// request that asks minimize_latency (or nothing) or at_least_as_fresh a
// token is evaluated at the exact snapshot Consistency gives its accounts,
// which is at least as fresh as the token, as every change this node knows
// of those accounts, and the same snapshot until one of them changes, so
// SpiceDB's cache answers it. minimize_latency alone would move every
// account to a new revision, cold, each quantization window.
// fully_consistent and at_exact_snapshot requests are left as asked, as is
// everything while no live watch covers changes made elsewhere.
func (t *Tracker) PinInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		var at **v1.Consistency
		var resources []*v1.ObjectReference
		switch r := req.(type) {
		case *v1.CheckPermissionRequest:
			at, resources = &r.Consistency, []*v1.ObjectReference{r.GetResource()}
		case *v1.CheckBulkPermissionsRequest:
			at = &r.Consistency
			for _, item := range r.GetItems() {
				resources = append(resources, item.GetResource())
			}
		default:
			return handler(ctx, req)
		}
		caller, ok := pinnable(*at)
		if !ok || t.unpinned || !t.Following() {
			return handler(ctx, req)
		}
		c, err := t.Consistency(ctx, ScopesOfResources(resources), caller)
		switch {
		case errors.Is(err, ErrInvalidToken):
			return nil, status.Errorf(codes.InvalidArgument, "at_least_as_fresh: %v", err)
		case err != nil:
			return nil, err
		case c.GetFullyConsistent() && caller == "":
			return handler(ctx, req) // minimize_latency needs no full read
		}
		*at = c
		return handler(ctx, req)
	}
}

// pinnable reports whether a request's consistency may be answered at a
// pinned snapshot, and the caller's token to be at least as fresh as.
func pinnable(c *v1.Consistency) (callerToken string, ok bool) {
	switch {
	case c == nil || c.GetMinimizeLatency():
		return "", true
	case c.GetAtLeastAsFresh() != nil:
		return c.GetAtLeastAsFresh().GetToken(), c.GetAtLeastAsFresh().GetToken() != ""
	default:
		return "", false
	}
}
