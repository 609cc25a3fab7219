package hostaccess_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hostaccess/hostaccess/internal/testengine"
	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// Fault modes of the engine's WriteRelationships.
const (
	writeOK          int32 = iota
	writeFailsBefore       // the write never reaches SpiceDB: a crash before it
	writeLosesReply        // the write applies, the reply is lost: a crash right after it
)

// faultyEngine injects failures around SpiceDB's relationship writes.
type faultyEngine struct {
	hostaccess.Engine
	mode atomic.Int32
}

func (e *faultyEngine) WriteRelationships(ctx context.Context, in *v1.WriteRelationshipsRequest, opts ...grpc.CallOption) (*v1.WriteRelationshipsResponse, error) {
	switch e.mode.Swap(writeOK) {
	case writeFailsBefore:
		return nil, status.Error(codes.Unavailable, "injected: connection lost before the write")
	case writeLosesReply:
		if _, err := e.Engine.WriteRelationships(ctx, in, opts...); err != nil {
			return nil, err
		}
		return nil, status.Error(codes.Unavailable, "injected: connection lost after the write")
	}
	return e.Engine.WriteRelationships(ctx, in, opts...)
}

// faultyDirectory fails the directory steps that follow a write: a crash
// between the relationship write and the directory.
type faultyDirectory struct {
	directory.Store
	failFollowUps atomic.Bool
}

var errInjected = errors.New("injected: directory unreachable")

func (d *faultyDirectory) SetInvitationStatus(ctx context.Context, id string, from, to directory.InvitationStatus, by string, at time.Time, supersededBy string) error {
	if d.failFollowUps.Load() {
		return errInjected
	}
	return d.Store.SetInvitationStatus(ctx, id, from, to, by, at, supersededBy)
}

func (d *faultyDirectory) SettleAudit(ctx context.Context, seq int64, from, to directory.AuditOutcome, token string) error {
	if d.failFollowUps.Load() {
		return errInjected
	}
	return d.Store.SettleAudit(ctx, seq, from, to, token)
}

type faultyFixture struct {
	*fixture
	engine *faultyEngine
	dir    *faultyDirectory
}

func newFaultyFixture(t *testing.T) *faultyFixture {
	t.Helper()
	eng, uri := testengine.StartEngineWithDatabase(t)
	clock := testutil.NewClock()
	fe := &faultyEngine{Engine: eng.Client}
	fd := &faultyDirectory{Store: testengine.NewDirectory(t, uri)}
	svc, err := hostaccess.New(hostaccess.Config{Engine: fe, Directory: fd, Now: clock.Now})
	require.NoError(t, err)
	f := &fixture{t: t, svc: svc, clock: clock, mails: &recordingMailer{}}
	_, err = svc.CreateAccount(ctx, service, hostaccess.NewAccount{ID: "acme", OwnerID: "alice"})
	require.NoError(t, err)
	return &faultyFixture{fixture: f, engine: fe, dir: fd}
}

func (f *faultyFixture) recover() int {
	f.t.Helper()
	f.clock.Advance(hostaccess.RecoverAfter + time.Second)
	n, err := f.svc.Recover(ctx)
	require.NoError(f.t, err)
	return n
}

func (f *faultyFixture) auditFlows() map[string]int {
	f.t.Helper()
	entries, err := f.svc.AuditLog(ctx, alice, hostaccess.AuditQuery{AccountID: "acme"})
	require.NoError(f.t, err)
	flows := map[string]int{}
	for _, e := range entries {
		flows[e.Flow+":"+e.Outcome]++
	}
	return flows
}

func (f *faultyFixture) invitationStatus(email string) string {
	f.t.Helper()
	invs, err := f.svc.ListInvitations(ctx, alice, "acme")
	require.NoError(f.t, err)
	for _, inv := range invs {
		if inv.Email == email {
			return inv.Status
		}
	}
	return "not listed"
}

// TestCrashBeforeTheWriteLeavesNothingVisible: the invitation's record was
// written, its relationships were not. It is never listed nor usable, and
// recovery revokes it and marks its audit intent abandoned.
func TestCrashBeforeTheWriteLeavesNothingVisible(t *testing.T) {
	f := newFaultyFixture(t)
	f.engine.mode.Store(writeFailsBefore)
	_, err := f.svc.Invite(ctx, alice, "acme", "carol@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	requireCode(t, err, "unavailable")

	require.Equal(t, "not listed", f.invitationStatus("carol@example.com"))
	require.Equal(t, 1, f.recover())
	require.Equal(t, "revoked", f.invitationStatus("carol@example.com"))
	flows := f.auditFlows()
	require.Zero(t, flows["invite:intent"], "settled")
	require.Zero(t, flows["invite:abandoned"], "a change that never happened is not in the audit log")
}

// TestReplyLostAfterTheWriteIsAuditedAndFinished: the acceptance applied in
// SpiceDB but its reply was lost. The grant has its audit entry from the
// start (an intent), and recovery marks the invitation accepted.
func TestReplyLostAfterTheWriteIsAuditedAndFinished(t *testing.T) {
	f := newFaultyFixture(t)
	link, err := f.svc.Invite(ctx, alice, "acme", "carol@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	require.NoError(t, err)

	f.engine.mode.Store(writeLosesReply)
	_, err = f.svc.AcceptInvitation(ctx, link.Token, login("carol"))
	requireCode(t, err, "unavailable")
	require.True(t, f.can("user:carol", "account:acme", "pay_invoices"), "the write applied")
	require.Equal(t, 1, f.auditFlows()["accept_invitation:intent"], "a grant is never without its audit entry")

	require.Equal(t, 1, f.recover())
	require.Equal(t, "accepted", f.invitationStatus("carol@example.com"))
	flows := f.auditFlows()
	require.Equal(t, 1, flows["accept_invitation:applied"])
	require.Zero(t, flows["accept_invitation:intent"])

	// A retry by the user is refused cleanly: the invitation was used.
	_, err = f.svc.AcceptInvitation(ctx, link.Token, login("carol"))
	requireCode(t, err, "invitation_used")
}

// TestCrashBetweenTheWriteAndTheDirectory: the write applied and was
// acknowledged; the directory steps after it failed. The acknowledged change
// stays, and recovery finishes the directory side.
func TestCrashBetweenTheWriteAndTheDirectory(t *testing.T) {
	f := newFaultyFixture(t)
	link, err := f.svc.Invite(ctx, alice, "acme", "carol@example.com", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	require.NoError(t, err)

	f.dir.failFollowUps.Store(true)
	_, err = f.svc.AcceptInvitation(ctx, link.Token, login("carol"))
	require.NoError(t, err, "acknowledged: the grant is in SpiceDB")
	require.True(t, f.can("user:carol", "account:acme", "pay_invoices"))
	require.Equal(t, 1, f.auditFlows()["accept_invitation:intent"])

	// Recovery cannot finish while the directory is down, and says so.
	f.clock.Advance(hostaccess.RecoverAfter + time.Second)
	_, err = f.svc.Recover(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, f.auditFlows()["accept_invitation:intent"], "still pending while the directory fails")
	require.Equal(t, 1.0, metricValue(t, "hostaccess_unsettled_intents"), "an intent past the recovery delay is on the metrics")
	failures := metricValue(t, "hostaccess_recovery_failures_total")
	require.Positive(t, failures)

	f.dir.failFollowUps.Store(false)
	require.Equal(t, 1, f.recover())
	require.Zero(t, metricValue(t, "hostaccess_unsettled_intents"))
	require.Equal(t, failures, metricValue(t, "hostaccess_recovery_failures_total"))
	require.Equal(t, "accepted", f.invitationStatus("carol@example.com"))
	require.Equal(t, 1, f.auditFlows()["accept_invitation:applied"])
}

// metricValue reads a gauge or counter of the default Prometheus registry.
func metricValue(t *testing.T, name string) float64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	require.NoError(t, err)
	for _, fam := range families {
		if fam.GetName() == name {
			m := fam.GetMetric()[0]
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s is not registered", name)
	return 0
}

// TestInFlightIntentsAreLeftAlone: recovery only settles intents older than
// the longest a write may take.
func TestInFlightIntentsAreLeftAlone(t *testing.T) {
	f := newFaultyFixture(t)
	f.engine.mode.Store(writeFailsBefore)
	_, err := f.svc.Invite(ctx, alice, "acme", "carol@example.com", hostaccess.Access{})
	requireCode(t, err, "unavailable")
	n, err := f.svc.Recover(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}
