package hostaccess

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFlowOutcome(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, outcomeOK},
		{errorf(ErrConflict, "account acme already exists"), outcomeConflict},
		{errorf(errPreconditionFailedRace, "changed"), outcomeConflict},
		{fmt.Errorf("wrapped: %w", errorf(errInvitationNotPending, "accepted meanwhile")), outcomeConflict},
		{unavailable("the directory is unavailable", errors.New("dial tcp")), outcomeError},
		{errors.New("not a domain error"), outcomeError},
		{context.Canceled, outcomeError},
		{forbiddenf("user:bob may not invite"), outcomeRefused},
		{errorf(ErrEscalation, "cannot grant"), outcomeRefused},
		{errorf(ErrLastOwner, "last owner"), outcomeRefused},
		{errorf(ErrAdminCapReached, "cap"), outcomeRefused},
		{invalidf("bad id"), outcomeRefused},
		{notFoundf("no account"), outcomeRefused},
	} {
		require.Equal(t, tc.want, flowOutcome(tc.err), "%v", tc.err)
	}
}
