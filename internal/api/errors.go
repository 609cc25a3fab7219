package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"go.uber.org/zap"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// problemTypeBase prefixes a problem's code to form its RFC 9457 type URI.
const problemTypeBase = "https://hostaccess.dev/problems/"

// Codes this package produces itself, next to the domain's (hostaccess.Code).
const (
	codeInvalidArgument  = "invalid_argument"
	codeNotFound         = "not_found"
	codeForbidden        = "forbidden"
	codeInternal         = "internal"
	codeUnavailable      = "unavailable"
	codeUnauthenticated  = "unauthenticated"
	codeMethodNotAllowed = "method_not_allowed"
	codeUnsupportedMedia = "unsupported_media_type"
)

// codeInsufficientScope: a valid key that lacks the route's scope (keys.go).
const codeInsufficientScope = "insufficient_scope"

// problemKind is how one stable code is answered.
type problemKind struct {
	status int
	title  string
}

// problemKinds is THE mapping of stable codes to HTTP (docs/http-api.md).
// A code missing here is answered as internal.
var problemKinds = map[string]problemKind{
	codeInvalidArgument:       {http.StatusBadRequest, "Invalid argument"},
	codeNotFound:              {http.StatusNotFound, "Not found"},
	codeForbidden:             {http.StatusForbidden, "Forbidden"},
	"escalation":              {http.StatusForbidden, "Escalation refused"},
	"last_owner":              {http.StatusConflict, "Last owner"},
	"owner_holds_every_right": {http.StatusConflict, "Owner holds every right"},
	"admin_cap_reached":       {http.StatusConflict, "Administrator cap reached"},
	"conflict":                {http.StatusConflict, "Conflict"},
	"invitation_expired":      {http.StatusGone, "Invitation expired"},
	"invitation_revoked":      {http.StatusGone, "Invitation revoked"},
	"invitation_regenerated":  {http.StatusGone, "Invitation regenerated"},
	"invitation_used":         {http.StatusGone, "Invitation already used"},
	"invitation_not_pending":  {http.StatusConflict, "Invitation no longer pending"},
	"invitation_not_found":    {http.StatusNotFound, "Invitation not found"},
	"email_mismatch":          {http.StatusForbidden, "E-mail mismatch"},
	"email_not_verified":      {http.StatusForbidden, "E-mail not verified"},
	codeUnavailable:           {http.StatusServiceUnavailable, "Service unavailable"},
	codeInternal:              {http.StatusInternalServerError, "Internal error"},
	codeUnauthenticated:       {http.StatusUnauthorized, "Unauthenticated"},
	codeMethodNotAllowed:      {http.StatusMethodNotAllowed, "Method not allowed"},
	codeUnsupportedMedia:      {http.StatusUnsupportedMediaType, "Unsupported media type"},
	codeInsufficientScope:     {http.StatusForbidden, "Insufficient scope"},
}

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

// apiError is an error this package raises itself, with its stable code.
type apiError struct {
	code   string
	detail string
}

func (e *apiError) Error() string { return e.code + ": " + e.detail }

func invalidArgument(format string, args ...any) error {
	return &apiError{code: codeInvalidArgument, detail: fmt.Sprintf(format, args...)}
}

func unsupportedMediaType(format string, args ...any) error {
	return &apiError{code: codeUnsupportedMedia, detail: fmt.Sprintf(format, args...)}
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
	code := codeOf(err)
	kind, ok := problemKinds[code]
	if !ok {
		code, kind = codeInternal, problemKinds[codeInternal]
	}
	detail := err.Error()
	if ae, ok := errors.AsType[*apiError](err); ok {
		detail = ae.detail
	}
	switch code {
	case codeInternal:
		detail = "the request failed on the server; the cause was logged"
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			// The caller went away; nobody reads this answer.
			s.log.Debug("request cancelled by the client", zap.String("method", r.Method), zap.String("path", r.URL.Path))
		} else {
			s.log.Error("request failed", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
		}
	case codeUnavailable:
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
	writeProblem(w, code, kind, detail)
}

func writeProblem(w http.ResponseWriter, code string, kind problemKind, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(kind.status)
	_ = json.NewEncoder(w).Encode(Problem{
		Type: problemTypeBase + code, Title: kind.title, Status: kind.status, Detail: detail, Code: code,
	})
}
