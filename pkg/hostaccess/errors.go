package hostaccess

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hostaccess/hostaccess/pkg/directory"
)

// Domain errors. Flows return them with detail (errorf); test
// with errors.Is. Code gives each its stable machine code.
var (
	ErrInvalidArgument        = errors.New("invalid argument")
	ErrNotFound               = errors.New("not found")
	ErrConflict               = errors.New("conflict")
	ErrForbidden              = errors.New("forbidden")
	ErrEscalation             = errors.New("escalation")
	ErrLastOwner              = errors.New("last owner")
	ErrOwnerHoldsEveryRight   = errors.New("owner holds every right")
	ErrAdminCapReached        = errors.New("administrator cap reached")
	ErrInvitationExpired      = errors.New("invitation expired")
	ErrInvitationRevoked      = errors.New("invitation revoked")
	ErrInvitationRegenerated  = errors.New("invitation regenerated")
	ErrInvitationUsed         = errors.New("invitation already used")
	ErrInvitationNotFound     = errors.New("invitation not found")
	ErrEmailMismatch          = errors.New("e-mail mismatch")
	ErrEmailNotVerified       = errors.New("e-mail not verified")
	ErrUnavailable            = errors.New("unavailable")
	ErrRequestExpired         = errors.New("access request expired")
	ErrRequestNotPending      = errors.New("access request no longer pending")
	errInvitationNotPending   = errors.New("invitation no longer pending")
	errPreconditionFailedRace = errors.New("the state changed during the operation")
)

// Stable machine codes of the domain errors, as Code returns them and the
// HTTP API answers them (problem+json "code").
const (
	CodeInvalidArgument       = "invalid_argument"
	CodeNotFound              = "not_found"
	CodeConflict              = "conflict"
	CodeForbidden             = "forbidden"
	CodeEscalation            = "escalation"
	CodeLastOwner             = "last_owner"
	CodeOwnerHoldsEveryRight  = "owner_holds_every_right"
	CodeAdminCapReached       = "admin_cap_reached"
	CodeInvitationExpired     = "invitation_expired"
	CodeInvitationRevoked     = "invitation_revoked"
	CodeInvitationRegenerated = "invitation_regenerated"
	CodeInvitationUsed        = "invitation_used"
	CodeInvitationNotFound    = "invitation_not_found"
	CodeEmailMismatch         = "email_mismatch"
	CodeEmailNotVerified      = "email_not_verified"
	CodeInvitationNotPending  = "invitation_not_pending"
	CodeUnavailable           = "unavailable"
	CodeRequestExpired        = "request_expired"
	CodeRequestNotPending     = "request_not_pending"
	CodeInternal              = "internal"
)

// errorCodes maps each domain error to its stable machine code, in match order.
var errorCodes = []struct {
	err  error
	code string
}{
	{ErrInvalidArgument, CodeInvalidArgument},
	{ErrNotFound, CodeNotFound},
	{ErrConflict, CodeConflict},
	{ErrForbidden, CodeForbidden},
	{ErrEscalation, CodeEscalation},
	{ErrLastOwner, CodeLastOwner},
	{ErrOwnerHoldsEveryRight, CodeOwnerHoldsEveryRight},
	{ErrAdminCapReached, CodeAdminCapReached},
	{ErrInvitationExpired, CodeInvitationExpired},
	{ErrInvitationRevoked, CodeInvitationRevoked},
	{ErrInvitationRegenerated, CodeInvitationRegenerated},
	{ErrInvitationUsed, CodeInvitationUsed},
	{ErrInvitationNotFound, CodeInvitationNotFound},
	{ErrEmailMismatch, CodeEmailMismatch},
	{ErrEmailNotVerified, CodeEmailNotVerified},
	{errInvitationNotPending, CodeInvitationNotPending},
	{errPreconditionFailedRace, CodeConflict},
	{ErrUnavailable, CodeUnavailable},
	{ErrRequestExpired, CodeRequestExpired},
	{ErrRequestNotPending, CodeRequestNotPending},
}

// Code returns the stable machine code of err ("last_owner", "forbidden",
// ...), or "internal" for an error that is not a domain error.
func Code(err error) string {
	for _, ec := range errorCodes {
		if errors.Is(err, ec.err) {
			return ec.code
		}
	}
	return CodeInternal
}

// isConflict reports whether err is one of the errors Code answers as
// "conflict": ErrConflict (something already exists, or the directory
// refused a write) or errPreconditionFailedRace (a SpiceDB precondition
// failed: the state changed meanwhile). Flows test it, not the code string,
// to answer with what changed.
func isConflict(err error) bool {
	return errors.Is(err, ErrConflict) || errors.Is(err, errPreconditionFailedRace)
}

// domainError is a domain error with its detail: errors.Is matches its
// kind (ErrLastOwner...), and its message is the detail alone, readable as is.
type domainError struct {
	kind  error
	msg   string
	cause error // for logs: never part of msg, which clients read
}

func (e *domainError) Error() string { return e.msg }

func (e *domainError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}

// Detail is the message meant for clients; the cause, if any, is for logs.
func (e *domainError) Detail() string { return e.msg }

// Cause returns the infrastructure error behind an ErrUnavailable, for logs.
func Cause(err error) error {
	if de, ok := errors.AsType[*domainError](err); ok && de.cause != nil {
		return de.cause
	}
	return nil
}

// unavailable is an infrastructure failure: the client learns which store
// failed, the logs learn why.
func unavailable(what string, cause error) error {
	return &domainError{kind: ErrUnavailable, msg: what, cause: cause}
}

// errorf builds a domain error of the given kind.
func errorf(kind error, format string, args ...any) error {
	return &domainError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) error  { return errorf(ErrInvalidArgument, format, args...) }
func notFoundf(format string, args ...any) error { return errorf(ErrNotFound, format, args...) }
func forbiddenf(format string, args ...any) error {
	return errorf(ErrForbidden, format, args...)
}

// fromSpiceDB turns an engine error into a domain error. Precondition
// failures are the flows' business (they know what the precondition meant),
// so they come back as errPreconditionFailedRace for the flow to interpret.
func fromSpiceDB(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return unavailable("the access engine did not answer in time", err)
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.FailedPrecondition:
		if isPreconditionFailure(st) {
			return errorf(errPreconditionFailedRace, "%s", st.Message())
		}
		return errorf(ErrInvalidArgument, "%s", st.Message())
	case codes.InvalidArgument:
		return errorf(ErrInvalidArgument, "%s", st.Message())
	case codes.AlreadyExists:
		return errorf(ErrConflict, "%s", st.Message())
	case codes.NotFound:
		return errorf(ErrNotFound, "%s", st.Message())
	case codes.DeadlineExceeded:
		return unavailable("the access engine did not answer in time", err)
	case codes.Unavailable, codes.ResourceExhausted, codes.Aborted:
		return unavailable("the access engine is unavailable", err)
	default:
		// Internal, Unknown, Canceled (by the server): SpiceDB answers so
		// when its datastore fails (a lost connection, "unable to find
		// revision"). To the caller it is the engine being unavailable.
		return unavailable("the access engine failed to answer", err)
	}
}

func isPreconditionFailure(st *status.Status) bool {
	for _, d := range st.Details() {
		if info, ok := d.(interface{ GetReason() string }); ok && info.GetReason() == v1.ErrorReason_ERROR_REASON_WRITE_OR_DELETE_PRECONDITION_FAILURE.String() {
			return true
		}
	}
	return false
}

// fromDirectory turns a directory error into a domain error.
func fromDirectory(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, directory.ErrNotFound):
		return errorf(ErrNotFound, "%s", what)
	case errors.Is(err, directory.ErrConflict):
		return errorf(ErrConflict, "%s", what)
	default:
		return unavailable("the directory is unavailable", fmt.Errorf("%s: %w", what, err))
	}
}
