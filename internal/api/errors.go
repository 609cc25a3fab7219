package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"go.uber.org/zap"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// problemKind is how one stable code is answered.
type problemKind struct {
	status int
	title  string
}

// problemKinds is THE mapping of stable codes to HTTP (docs/http-api.md).
// A code missing here is answered as internal.
var problemKinds = map[string]problemKind{
	hostaccess.CodeInvalidArgument:       {http.StatusBadRequest, "Invalid argument"},
	hostaccess.CodeNotFound:              {http.StatusNotFound, "Not found"},
	hostaccess.CodeForbidden:             {http.StatusForbidden, "Forbidden"},
	hostaccess.CodeEscalation:            {http.StatusForbidden, "Escalation refused"},
	hostaccess.CodeLastOwner:             {http.StatusConflict, "Last owner"},
	hostaccess.CodeOwnerHoldsEveryRight:  {http.StatusConflict, "Owner holds every right"},
	hostaccess.CodeAdminCapReached:       {http.StatusConflict, "Administrator cap reached"},
	hostaccess.CodeConflict:              {http.StatusConflict, "Conflict"},
	hostaccess.CodeInvitationExpired:     {http.StatusGone, "Invitation expired"},
	hostaccess.CodeInvitationRevoked:     {http.StatusGone, "Invitation revoked"},
	hostaccess.CodeInvitationRegenerated: {http.StatusGone, "Invitation regenerated"},
	hostaccess.CodeInvitationUsed:        {http.StatusGone, "Invitation already used"},
	hostaccess.CodeInvitationNotPending:  {http.StatusConflict, "Invitation no longer pending"},
	hostaccess.CodeInvitationNotFound:    {http.StatusNotFound, "Invitation not found"},
	hostaccess.CodeEmailMismatch:         {http.StatusForbidden, "E-mail mismatch"},
	hostaccess.CodeEmailNotVerified:      {http.StatusForbidden, "E-mail not verified"},
	hostaccess.CodeUnavailable:           {http.StatusServiceUnavailable, "Service unavailable"},
	hostaccess.CodeRequestExpired:        {http.StatusGone, "Access request expired"},
	hostaccess.CodeRequestNotPending:     {http.StatusConflict, "Access request no longer pending"},
	hostaccess.CodeInternal:              {http.StatusInternalServerError, "Internal error"},
	wire.CodeUnauthenticated:             {http.StatusUnauthorized, "Unauthenticated"},
	wire.CodeMethodNotAllowed:            {http.StatusMethodNotAllowed, "Method not allowed"},
	wire.CodeUnsupportedMedia:            {http.StatusUnsupportedMediaType, "Unsupported media type"},
	wire.CodeInsufficientScope:           {http.StatusForbidden, "Insufficient scope"},
}

// apiError is an error this package raises itself, with its stable code.
type apiError struct {
	code   string
	detail string
}

func (e *apiError) Error() string { return e.code + ": " + e.detail }

func invalidArgument(format string, args ...any) error {
	return &apiError{code: hostaccess.CodeInvalidArgument, detail: fmt.Sprintf(format, args...)}
}

func unsupportedMediaType(format string, args ...any) error {
	return &apiError{code: wire.CodeUnsupportedMedia, detail: fmt.Sprintf(format, args...)}
}

// codeOf gives err's stable code: ours first, then the domain's.
func codeOf(err error) string {
	if ae, ok := errors.AsType[*apiError](err); ok {
		return ae.code
	}
	return hostaccess.Code(err)
}

// writeError answers err as problem+json. Internal and unavailable errors
// are logged with their cause and answered with a generic detail: a client
// never sees the inside of the engine or the directory.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	writeProblem(w, s.problemFor(r, err))
}

// problemFor is the problem answering err, logged as its kind needs.
func (s *server) problemFor(r *http.Request, err error) wire.Problem {
	code := codeOf(err)
	kind, ok := problemKinds[code]
	if !ok {
		code, kind = hostaccess.CodeInternal, problemKinds[hostaccess.CodeInternal]
	}
	detail := err.Error()
	if ae, ok := errors.AsType[*apiError](err); ok {
		detail = ae.detail
	}
	switch code {
	case hostaccess.CodeInternal:
		detail = "the request failed on the server; the cause was logged"
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			// The caller went away; nobody reads this answer.
			s.log.Debug("request cancelled by the client", zap.String("method", r.Method), zap.String("path", r.URL.Path))
		} else {
			s.log.Error("request failed", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
		}
	case hostaccess.CodeUnavailable:
		// The service's message says which store failed and, for a write
		// whose outcome is unknown, that it may have applied; the cause
		// (addresses, driver errors) goes to the log only.
		if cause := hostaccess.Cause(err); cause != nil {
			detail += "; try again shortly"
			s.log.Warn("unavailable", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.String("detail", err.Error()), zap.NamedError("cause", cause))
		} else {
			detail = "the access engine is unavailable; try again shortly"
			s.log.Warn("unavailable", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
		}
	}
	return newProblem(code, kind, detail)
}

func newProblem(code string, kind problemKind, detail string) wire.Problem {
	return wire.Problem{Type: wire.ProblemTypeBase + code, Title: kind.title, Status: kind.status, Detail: detail, Code: code}
}

func writeProblem(w http.ResponseWriter, p wire.Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
