package hostaccess

import (
	"context"
	"errors"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/hostaccess/hostaccess/pkg/freshness"
)

// consistency is what a request about these resources asks SpiceDB for:
// at least as fresh as the accounts' last changes and the caller's token,
// so unchanged accounts are answered from cache. Without a freshness
// tracker, fully consistent (which satisfies every token).
func (s *Service) consistency(ctx context.Context, resources []*v1.ObjectReference, opts CheckOptions) (*v1.Consistency, error) {
	if s.fresh == nil {
		return fullyConsistent(), nil
	}
	c, err := s.fresh.Consistency(ctx, freshness.ScopesOfResources(resources), opts.AtLeastAsFresh)
	return c, callerTokenError(err)
}

// callerTokenError names a caller's unusable at_least_as_fresh token as bad
// input.
func callerTokenError(err error) error {
	if errors.Is(err, freshness.ErrInvalidToken) {
		return invalidf("at_least_as_fresh: %v", err)
	}
	return err
}

// ask runs check, a request about resources that returns its answer's
// revision, at the consistency of consistency; a node's first question
// about an account does not wait for the account's stored token (see
// freshness.Tracker.Ask).
func (s *Service) ask(ctx context.Context, resources []*v1.ObjectReference, opts CheckOptions, check func(context.Context, *v1.Consistency) (*v1.ZedToken, error)) error {
	if opts.snapshot != nil {
		_, err := check(ctx, atSnapshot(opts.snapshot))
		return err
	}
	if s.fresh == nil {
		_, err := check(ctx, fullyConsistent())
		return err
	}
	return callerTokenError(s.fresh.Ask(ctx, freshness.ScopesOfResources(resources), opts.AtLeastAsFresh, func(ctx context.Context, c *v1.Consistency) (string, error) {
		at, err := check(ctx, c)
		return at.GetToken(), err
	}))
}
