package hostaccess_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/teststack"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// Retention removes what is older than it, on either store; the log that is
// left still verifies, and only a service may read or verify it all.
func TestAuditRetentionAndVerification(t *testing.T) {
	for name, onPostgres := range map[string]bool{"memory": false, "postgres": true} {
		t.Run(name, func(t *testing.T) {
			st := teststack.NewStackOn(t, nil, onPostgres)
			svc := st.Service
			_, err := svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "old", OwnerID: "olga"})
			require.NoError(t, err)
			st.Clock.Advance(48 * time.Hour)
			_, err = svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "new", OwnerID: "nina"})
			require.NoError(t, err)

			_, err = svc.PruneAudit(ctx, 0)
			require.ErrorIs(t, err, hostaccess.ErrInvalidArgument)
			n, err := svc.PruneAudit(ctx, 24*time.Hour)
			require.NoError(t, err)
			require.Equal(t, 1, n)

			left, err := svc.AuditLog(ctx, service, hostaccess.AuditQuery{})
			require.NoError(t, err)
			require.Len(t, left, 1)
			require.Equal(t, "new", left[0].AccountID)
			require.Equal(t, int64(2), left[0].Chain)

			report, err := svc.VerifyAudit(ctx, service)
			require.NoError(t, err)
			require.True(t, report.OK(), "%+v", report.Problems)
			require.Equal(t, int64(1), report.From, "the chain now starts after the removed entry")
			require.Equal(t, 1, report.Entries)

			// A person: one account's log when they may see its users, never all.
			nina := hostaccess.Person("nina")
			_, err = svc.AuditLog(ctx, nina, hostaccess.AuditQuery{AccountID: "new"})
			require.NoError(t, err)
			_, err = svc.AuditLog(ctx, nina, hostaccess.AuditQuery{})
			require.ErrorIs(t, err, hostaccess.ErrForbidden)
			_, err = svc.AuditLog(ctx, nina, hostaccess.AuditQuery{AccountID: "old"})
			require.ErrorIs(t, err, hostaccess.ErrForbidden)
			_, err = svc.VerifyAudit(ctx, nina)
			require.ErrorIs(t, err, hostaccess.ErrForbidden)
			_, err = svc.AuditHead(ctx, nina)
			require.ErrorIs(t, err, hostaccess.ErrForbidden)
			_, err = svc.AuditChain(ctx, nina, "", 0, 10)
			require.ErrorIs(t, err, hostaccess.ErrForbidden)
			chain, err := svc.AuditChain(ctx, nina, "new", 0, 10)
			require.NoError(t, err)
			require.Len(t, chain, 1)
		})
	}
}
