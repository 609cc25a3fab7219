package hostaccess

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/freshness"
	"github.com/hostaccess/hostaccess/schema"
)

// The ordering across the two stores (docs/durability.md):
//
//  1. append the audit entry as an intent, naming an operation marker and the
//     directory steps that finish or undo the flow;
//  2. directory steps that must precede the write (an invitation's record);
//     they are invisible until the write lands;
//  3. ONE WriteRelationships: the flow's updates plus its marker;
//  4. the directory steps that finish the flow, then the intent is settled.
//
// A crash anywhere leaves an intent that Recover settles from SpiceDB: the
// marker is there, so the write applied and the finishing steps run; or it
// is not, so the undo steps run. No change is visible without its audit
// entry, and no invitation is marked accepted without its grant.

const (
	typeOperation = schema.TypeOperation
	// markerTTL outlives any recovery delay by far.
	markerTTL = 7 * 24 * time.Hour
	// writeTimeout bounds a flow's relationship write, so an intent older
	// than RecoverAfter is never still in flight.
	writeTimeout = 30 * time.Second
	// RecoverAfter is how old an unsettled intent must be before Recover
	// settles it, by default: well past writeTimeout.
	RecoverAfter = 2 * time.Minute
)

// step is one idempotent directory step of a flow.
type step struct {
	InvitationStatus *invitationStep    `json:"invitation_status,omitempty"`
	Person           *directory.Person  `json:"person,omitempty"`
	NewPerson        *directory.Person  `json:"new_person,omitempty"`
	PutContact       *directory.Contact `json:"put_contact,omitempty"`
	DeleteContact    string             `json:"delete_contact,omitempty"`
	DeleteAccount    string             `json:"delete_account,omitempty"`
	TokenStatus      *tokenStep         `json:"token_status,omitempty"`
	AccessRequest    *accessRequestStep `json:"access_request,omitempty"`
}

type invitationStep struct {
	ID           string                     `json:"id"`
	From         directory.InvitationStatus `json:"from"`
	To           directory.InvitationStatus `json:"to"`
	By           string                     `json:"by"`
	At           time.Time                  `json:"at"`
	SupersededBy string                     `json:"superseded_by,omitempty"`
}

type recoverySteps struct {
	Then []step `json:"then,omitempty"`
	Undo []step `json:"undo,omitempty"`
}

// change is one access-changing flow, ready to commit.
type change struct {
	actor             Actor
	flow              string
	accountID, target string
	before, after     any
	// prepare runs after the intent is recorded and before the write.
	prepare func(ctx context.Context) error
	updates []*v1.RelationshipUpdate
	pre     []*v1.Precondition
	// changed are the people whose footprint on the account the flow
	// changes, and decidedBy those whose rights it decided from (the
	// actor, an inviter), both as read in state: the write applies only if
	// none of their footprints changed meanwhile (accountState.footprintGuard).
	changed   []string
	decidedBy []string
	state     *accountState
	then      []step
	undo      []step
}

// commit journals and applies a change. It returns the write's ZedToken once
// the write applied, even if finishing directory steps failed (recovery
// completes them): an acknowledged change is never lost.
func (s *Service) commit(ctx context.Context, c change) (*v1.ZedToken, error) {
	opID, err := randomHex(8)
	if err != nil {
		return nil, err
	}
	entry, err := s.dir.AppendAudit(ctx, directory.AuditEntry{
		Time: s.now().UTC(), Actor: c.actor.String(), Flow: c.flow, AccountID: c.accountID, Target: c.target,
		Before: mustJSON(c.before), After: mustJSON(c.after),
		Outcome: directory.AuditIntent, Operation: opID, Recovery: mustJSON(recoverySteps{Then: c.then, Undo: c.undo}),
	})
	if err != nil {
		return nil, fromDirectory(err, "audit")
	}
	if c.prepare != nil {
		if err := c.prepare(ctx); err != nil {
			s.settle(ctx, entry, directory.AuditAbandoned, nil, c.undo)
			return nil, err
		}
	}
	expires := s.now().Add(markerTTL)
	marker := expiring(relationship(typeOperation, opID, schema.RelApplied, typeAccount, c.accountID), &expires)
	writeCtx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	updates := c.updates
	if c.state != nil {
		updates = c.state.withTwins(updates)
	}
	updates = append(dedupe(updates), touch(marker))
	pre := c.pre
	if c.state != nil {
		guard, guardPre := c.state.footprintGuard(c.changed, c.decidedBy, opID)
		updates = append(updates, guard...)
		pre = append(slices.Clone(pre), guardPre...)
	}
	token, err := s.write(writeCtx, updates, pre)
	if err != nil {
		if writeNotApplied(err) {
			s.settle(ctx, entry, directory.AuditAbandoned, nil, c.undo)
			return nil, err
		}
		s.log.Warn("relationship write outcome unknown; recovery will settle it", zap.String("flow", c.flow), zap.Int64("audit_seq", entry.Seq), zap.Error(err))
		return nil, &domainError{kind: ErrUnavailable, cause: err,
			msg: "the change may or may not have been applied (the access engine did not confirm it); the recovery pass settles and audits it within minutes: check before retrying"}
	}
	s.recordFreshness(ctx, freshness.ScopesOfUpdates(updates), token)
	if s.fresh != nil && !s.engineTells {
		s.fresh.NoteExpirations(ctx, updates)
	}
	s.settle(ctx, entry, directory.AuditApplied, token, c.then)
	return token, nil
}

// recordFreshness makes the accounts a write changed answer at least as
// fresh as the write, on every node, before the flow returns. A failure to
// store the token is logged: this node already answers fresh, and others
// see the change through their watch.
func (s *Service) recordFreshness(ctx context.Context, scopes []string, token *v1.ZedToken) {
	if s.fresh == nil || token == nil {
		return
	}
	record := s.fresh.Record
	if s.engineTells {
		record = s.fresh.Persist // this node already knows: the engine told it
	}
	if err := record(context.WithoutCancel(ctx), scopes, token.GetToken()); err != nil {
		s.log.Warn("freshness token not stored", zap.Strings("accounts", scopes), zap.Error(err))
	}
}

// writeNotApplied reports errors after which SpiceDB surely wrote nothing.
func writeNotApplied(err error) bool {
	for _, kind := range []error{errPreconditionFailedRace, ErrInvalidArgument, ErrConflict, ErrNotFound} {
		if errors.Is(err, kind) {
			return true
		}
	}
	return false
}

// settle runs a flow's final directory steps and settles its intent. A
// failure is logged: the intent stays, and Recover finishes the job.
func (s *Service) settle(ctx context.Context, entry directory.AuditEntry, outcome directory.AuditOutcome, token *v1.ZedToken, steps []step) bool {
	ctx = context.WithoutCancel(ctx) // the write happened (or surely did not): finish even if the caller left
	for _, st := range steps {
		if err := s.applyStep(ctx, st); err != nil {
			s.log.Error("directory step failed; recovery will retry it", zap.String("flow", entry.Flow), zap.Int64("audit_seq", entry.Seq), zap.Error(err))
			return false
		}
	}
	if err := s.dir.SettleAudit(ctx, entry.Seq, directory.AuditIntent, outcome, token.GetToken()); err != nil && !errors.Is(err, directory.ErrConflict) {
		s.log.Error("audit intent not settled; recovery will retry it", zap.String("flow", entry.Flow), zap.Int64("audit_seq", entry.Seq), zap.Error(err))
		return false
	}
	return true
}

// applyStep runs one directory step; running it twice changes nothing.
func (s *Service) applyStep(ctx context.Context, st step) error {
	switch {
	case st.InvitationStatus != nil:
		is := st.InvitationStatus
		err := s.dir.SetInvitationStatus(ctx, is.ID, is.From, is.To, is.By, is.At, is.SupersededBy)
		switch {
		case errors.Is(err, directory.ErrNotFound):
			// Never recorded (the flow stopped before its record): nothing
			// to finish or undo.
			return nil
		case errors.Is(err, directory.ErrConflict):
			if inv, gerr := s.dir.GetInvitation(ctx, is.ID); gerr == nil && inv.Status == is.To {
				return nil // done before
			}
		}
		return err
	case st.TokenStatus != nil:
		return s.applyTokenStep(ctx, st.TokenStatus)
	case st.Person != nil:
		return s.rememberPerson(ctx, st.Person.UserID, st.Person.Email, st.Person.DisplayName)
	case st.NewPerson != nil:
		return s.introducePerson(ctx, *st.NewPerson)
	case st.PutContact != nil:
		return s.dir.PutContact(ctx, *st.PutContact)
	case st.DeleteContact != "":
		if err := s.dir.DeleteContact(ctx, st.DeleteContact); err != nil && !errors.Is(err, directory.ErrNotFound) {
			return err
		}
		return nil
	case st.AccessRequest != nil:
		return s.applyAccessRequestStep(ctx, *st.AccessRequest)
	case st.DeleteAccount != "":
		if err := s.dir.DeleteAccount(ctx, st.DeleteAccount); err != nil && !errors.Is(err, directory.ErrNotFound) {
			return err
		}
		return nil
	}
	return nil
}

// Recover settles the intents left by flows interrupted by a crash or a
// lost connection, older than RecoverAfter: where SpiceDB holds the flow's
// marker the write applied and the flow's finishing steps run; where it
// does not, the flow's undo steps run. Run it at start and periodically.
func (s *Service) Recover(ctx context.Context) (int, error) {
	intents, err := s.dir.ListAuditIntents(ctx, s.now().Add(-s.recoverAfter), 100)
	if err != nil {
		return 0, fromDirectory(err, "audit intents")
	}
	settled := 0
	// Every intent listed is older than the recovery delay: one still
	// unsettled after this pass is an error worth an alert, not a retry.
	defer func() { unsettledIntents.Set(float64(len(intents) - settled)) }()
	for _, entry := range intents {
		var steps recoverySteps
		if err := json.Unmarshal(entry.Recovery, &steps); err != nil && len(entry.Recovery) > 0 {
			// One unreadable entry must not hold up the others.
			s.log.Error("audit intent with unreadable recovery steps; settle it by hand", zap.Int64("audit_seq", entry.Seq), zap.Error(err))
			recoveryFailures.Inc()
			continue
		}
		rels, at, err := s.readAll(ctx, &v1.RelationshipFilter{ResourceType: typeOperation, OptionalResourceId: entry.Operation}, fullyConsistent())
		if err != nil {
			return settled, err
		}
		outcome, token, todo := directory.AuditAbandoned, (*v1.ZedToken)(nil), steps.Undo
		if len(rels) > 0 {
			outcome, token, todo = directory.AuditApplied, at, steps.Then
		}
		if token != nil {
			s.recordFreshness(ctx, []string{entry.AccountID}, token)
		}
		if s.settle(ctx, entry, outcome, token, todo) {
			s.log.Info("recovered an interrupted change", zap.String("flow", entry.Flow), zap.Int64("audit_seq", entry.Seq), zap.String("outcome", string(outcome)))
			settled++
			continue
		}
		recoveryFailures.Inc()
		s.log.Error("an interrupted change is still unsettled past the recovery delay", zap.String("flow", entry.Flow), zap.Int64("audit_seq", entry.Seq),
			zap.Time("since", entry.Time), zap.String("outcome", string(outcome)))
	}
	return settled, nil
}

// Recovery metrics, on Prometheus's default registry (served at /metrics).
var (
	unsettledIntents = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: "hostaccess", Name: "unsettled_intents",
		Help: "Audit intents older than the recovery delay that the last recovery pass could not settle (at most 100 per pass).",
	})
	recoveryFailures = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "hostaccess", Name: "recovery_failures_total",
		Help: "Interrupted changes a recovery pass failed to settle (each failed try counts).",
	})
)

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
