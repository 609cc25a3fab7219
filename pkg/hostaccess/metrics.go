package hostaccess

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Outcomes of a flow, as hostaccess_flows_total counts them.
const (
	outcomeOK       = "ok"       // applied
	outcomeRefused  = "refused"  // a permission, a rule or the input said no; nothing changed
	outcomeConflict = "conflict" // lost a race, or the state changed meanwhile; nothing changed
	outcomeError    = "error"    // a store failed, or the write's outcome is unknown (recovery settles it)
)

// flowsTotal counts every access-changing flow once, when it returns: each
// public flow method defers countFlow with the name its audit entries
// carry. Refusals happen before commit (authorize, the flow's own rules),
// so the count is taken where the flow returns, not in commit.
var flowsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
	Namespace: "hostaccess", Name: "flows_total",
	Help: "Access-changing flows run, by flow (as the audit log names it) and outcome: ok, refused, conflict or error.",
}, []string{"flow", "outcome"})

// countFlow counts a flow's outcome; defer it with the flow's named error.
func countFlow(flow string, err *error) {
	flowsTotal.WithLabelValues(flow, flowOutcome(*err)).Inc()
}

// flowOutcome classifies a flow's error: outcomeOK for nil,
// outcomeConflict for a lost race (something already exists, a
// precondition failed, the invitation moved on), outcomeError for an
// infrastructure failure or an error that is not a domain error,
// outcomeRefused for the rest. It tests the kinds with errors.Is, as the
// flows do, not Code's strings.
func flowOutcome(err error) string {
	switch {
	case err == nil:
		return outcomeOK
	case errors.Is(err, ErrConflict), errors.Is(err, errPreconditionFailedRace), errors.Is(err, errInvitationNotPending), errors.Is(err, ErrRequestNotPending):
		return outcomeConflict
	case errors.Is(err, ErrUnavailable), Code(err) == "internal":
		return outcomeError
	}
	return outcomeRefused
}
