// Package api serves the HTTP/JSON API of docs/http-api.md: /v1 over the
// domain service, and its OpenAPI description at /openapi.json. Handlers
// decode, validate, call the service and encode; the domain rules stay in
// pkg/hostaccess, and errors become problem+json in one place (errors.go).
package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// ActorHeader names who acts: "user:<id>" or "service".
const ActorHeader = "X-Hostaccess-Actor"

// MFAHeader says the person's session passed two-factor authentication
// ("true"), and ClientIPHeader where their request comes from: the
// conditions a person's own flows are checked under (docs/conditions.md).
const (
	MFAHeader      = "X-Hostaccess-MFA"
	ClientIPHeader = "X-Hostaccess-Client-IP"
)

// server holds what the handlers share.
type server struct {
	svc  *hostaccess.Service
	keys *Keyring
	log  *zap.Logger
	mux  *http.ServeMux
	// openAPIDoc is the generated document (openapi.go).
	openAPIDoc []byte
}

// NewHandler serves every route of the table in routes.go. keys maps a
// bearer key to the name of the calling service it authenticates, with
// every scope. The handler expects full paths: mount it at "/v1/" and
// "GET /openapi.json".
func NewHandler(svc *hostaccess.Service, keys map[string]string, logger *zap.Logger) http.Handler {
	if logger == nil {
		logger = zap.NewNop()
	}
	var list []Key
	for key, name := range keys {
		if key == "" || name == "" {
			// An empty key would let "Bearer " in; an empty name cannot be audited.
			logger.Warn("ignoring an API key with an empty key or name", zap.String("name", name))
			continue
		}
		list = append(list, Key{Name: name, Secret: key, Scopes: Scopes})
	}
	set, err := NewKeySet(list)
	if err != nil {
		logger.Error("no API key is accepted", zap.Error(err)) // unreachable: a map holds each key once
	}
	return NewHandlerWithKeys(svc, NewKeyring(set), logger)
}

// NewHandlerWithKeys is NewHandler authenticating with the keyring's key
// set of each moment, so keys can be rotated while it serves.
func NewHandlerWithKeys(svc *hostaccess.Service, keys *Keyring, logger *zap.Logger) http.Handler {
	if logger == nil {
		logger = zap.NewNop()
	}
	s := &server{svc: svc, keys: keys, log: logger, mux: http.NewServeMux(), openAPIDoc: OpenAPIDocument()}
	for _, rt := range routes {
		s.mux.Handle(rt.Method+" "+rt.Pattern, s.wrap(rt))
	}
	return observed(s)
}

// ServeHTTP routes the request, answering unknown routes and methods with
// problem+json rather than ServeMux's plain text, and never redirecting: a
// path with empty, "." or ".." segments is refused (ServeMux would answer
// a redirect to its cleaned form, which a client may follow with another
// method or without its body).
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; p != cleanPath(p) {
		writeProblem(w, newProblem(hostaccess.CodeInvalidArgument, problemKinds[hostaccess.CodeInvalidArgument],
			fmt.Sprintf("path %s is not canonical: no empty, . or .. segments", strconv.Quote(p))))
		return
	}
	h, _ := s.mux.Handler(r)
	if isRoute(h) {
		s.mux.ServeHTTP(w, r) // sets r.Pattern and the path values
		return
	}
	// Let the mux decide between 404 and 405 (it knows the Allow list),
	// and answer its verdict in our format. Anything else it would answer
	// (a redirect adding a trailing slash) is a route that does not exist.
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		writeProblem(w, newProblem(wire.CodeMethodNotAllowed, problemKinds[wire.CodeMethodNotAllowed], r.Method+" is not allowed on "+r.URL.Path))
		return
	}
	writeProblem(w, newProblem(hostaccess.CodeNotFound, problemKinds[hostaccess.CodeNotFound], "no route "+r.Method+" "+r.URL.Path))
}

// cleanPath is p as ServeMux cleans it: rooted, no empty, "." or ".."
// segments, a trailing slash kept.
func cleanPath(p string) string {
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean
}

// statusProbe records the status and headers a handler would write.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }

func (p *statusProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}

func (p *statusProbe) WriteHeader(status int) {
	if p.status == 0 {
		p.status = status
	}
}

// routeHandler serves one route of the table.
type routeHandler struct{ http.HandlerFunc }

// isRoute reports whether ServeMux found one of the routes, rather than
// one of its own answers (404, 405, a redirect).
func isRoute(h http.Handler) bool {
	_, ok := h.(routeHandler)
	return ok
}

// wrap authenticates the caller, reads the actor the route needs, runs the
// route and encodes its answer.
func (s *server) wrap(rt route) http.Handler {
	return routeHandler{func(w http.ResponseWriter, r *http.Request) {
		var actor hostaccess.Actor
		if rt.access != public {
			caller, ok := s.authenticate(r)
			noteCaller(r, caller.name, nil)
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="hostaccess"`)
				writeProblem(w, newProblem(wire.CodeUnauthenticated, problemKinds[wire.CodeUnauthenticated], "send a configured API key as Authorization: Bearer <key>"))
				return
			}
			if err := requireScope(caller, rt); err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="hostaccess", error="insufficient_scope", scope="`+string(rt.scope)+`"`)
				s.writeError(w, r, err)
				return
			}
			if rt.access == withActor {
				var err error
				if actor, err = parseActor(r.Header.Get(ActorHeader), caller.name); err == nil {
					err = parseSession(r.Header, &actor)
				}
				if err != nil {
					s.writeError(w, r, err)
					return
				}
				noteCaller(r, caller.name, &actor)
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		status, body, err := rt.serve(s, r, actor)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if stream, ok := body.(streamed); ok {
			if err := stream(w, r); err != nil && r.Context().Err() == nil {
				s.log.Warn("stream ended early", zap.String("path", r.URL.Path), zap.Error(err))
			}
			return
		}
		if doc, ok := body.(document); ok {
			writeDocument(w, status, doc)
			return
		}
		writeJSON(w, status, body)
	}}
}

// authenticate returns the configured key the request carries: its
// service's name and scopes. Every key of the current set is compared, in
// constant time, so the answer's timing says nothing about which key came
// close.
func (s *server) authenticate(r *http.Request) (apiKey, bool) {
	scheme, key, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return apiKey{}, false
	}
	presented := sha256.Sum256([]byte(strings.TrimSpace(key)))
	var caller apiKey
	found := 0
	for _, k := range s.keys.Current().keys {
		if subtle.ConstantTimeCompare(presented[:], k.hash[:]) == 1 {
			caller, found = k, 1
		}
	}
	return caller, found == 1
}

// parseActor reads the actor header: "user:<id>" is that person, "service"
// the calling service itself.
func parseActor(header, caller string) (hostaccess.Actor, error) {
	header = strings.TrimSpace(header)
	if header == "service" {
		return hostaccess.System(caller), nil
	}
	if id, ok := strings.CutPrefix(header, "user:"); ok && id != "" {
		return hostaccess.Person(id), nil
	}
	if header == "" {
		return hostaccess.Actor{}, invalidArgument("header %s is required: user:<id> or service", ActorHeader)
	}
	return hostaccess.Actor{}, invalidArgument("header %s %q: want user:<id> or service", ActorHeader, header)
}

// parseSession reads the person's session conditions, refusing a value
// that is not one.
func parseSession(h http.Header, actor *hostaccess.Actor) error {
	switch v := strings.TrimSpace(h.Get(MFAHeader)); v {
	case "", "false":
	case "true":
		actor.MFA = true
	default:
		return invalidArgument("header %s %s: want true or false", MFAHeader, strconv.Quote(shortHeader(v)))
	}
	if v := strings.TrimSpace(h.Get(ClientIPHeader)); v != "" {
		if _, err := netip.ParseAddr(v); err != nil {
			return invalidArgument("header %s %s is not an IP address", ClientIPHeader, strconv.Quote(shortHeader(v)))
		}
		actor.ClientIP = v
	}
	return nil
}

func shortHeader(v string) string {
	if len(v) > 64 {
		return v[:64] + "..."
	}
	return v
}

// writeJSON encodes a successful answer; a nil body is 204-style empty.
func writeJSON(w http.ResponseWriter, status int, body any) {
	if body == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if raw, ok := body.(json.RawMessage); ok {
		_, _ = w.Write(raw)
		return
	}
	_ = json.NewEncoder(w).Encode(body)
}

// writeDocument writes an answer that is not JSON (a review as CSV or HTML).
func writeDocument(w http.ResponseWriter, status int, doc document) {
	w.Header().Set("Content-Type", doc.contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if doc.filename != "" {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": doc.filename}))
	}
	w.WriteHeader(status)
	_, _ = w.Write(doc.body)
}
