package wire

import (
	"fmt"
	"net/http"
)

// Problem is an RFC 9457 problem detail: every error the API answers.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

// Error reads as the detail and the code, so that a client can return a
// Problem as the error of a call.
func (p *Problem) Error() string {
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	if msg == "" {
		msg = http.StatusText(p.Status)
	}
	if p.Code == "" {
		return fmt.Sprintf("%s (HTTP %d)", msg, p.Status)
	}
	return fmt.Sprintf("%s (%s)", msg, p.Code)
}

// ProblemTypeBase prefixes a problem's code to form its type URI.
const ProblemTypeBase = "https://hostaccess.dev/problems/"

// Codes the HTTP layer answers itself, beside the domain's (hostaccess.Code).
const (
	CodeUnauthenticated   = "unauthenticated"
	CodeInsufficientScope = "insufficient_scope"
	CodeMethodNotAllowed  = "method_not_allowed"
	CodeUnsupportedMedia  = "unsupported_media_type"
)
