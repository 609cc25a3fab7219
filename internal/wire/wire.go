// Package wire is the HTTP/JSON API's contract, declared once: each
// endpoint's method and path, the request and response bodies that are not
// domain types (those are pkg/hostaccess's), and the problem document with
// the codes the HTTP layer adds to the domain's. The server (internal/api)
// routes and decodes with it, the Go client (internal/apiclient) builds its
// calls with it, and the OpenAPI document is generated from it.
package wire

import (
	"net/url"
	"strings"
)

// Endpoint is one operation of the API.
type Endpoint struct {
	Method string
	// Pattern is a net/http.ServeMux pattern path: {name} is one segment.
	Pattern string
}

// Path fills the pattern's {name} segments with args, in order, each
// escaped as one path segment. It panics when the count differs: that is a
// programming error, caught by the client's tests.
func (e Endpoint) Path(args ...string) string {
	parts := strings.Split(e.Pattern, "/")
	n := 0
	for i, p := range parts {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if n >= len(args) {
				panic("wire: too few arguments for " + e.Pattern)
			}
			parts[i] = url.PathEscape(args[n])
			n++
		}
	}
	if n != len(args) {
		panic("wire: too many arguments for " + e.Pattern)
	}
	return strings.Join(parts, "/")
}

// Params lists the pattern's {name} segments, in order.
func (e Endpoint) Params() []string {
	var out []string
	for _, p := range strings.Split(e.Pattern, "/") {
		if name, ok := strings.CutPrefix(p, "{"); ok {
			out = append(out, strings.TrimSuffix(name, "}"))
		}
	}
	return out
}

// String is "METHOD /pattern".
func (e Endpoint) String() string { return e.Method + " " + e.Pattern }
