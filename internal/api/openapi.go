package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// The OpenAPI document is generated, not written: the paths from the route
// table (routes.go), the schemas from the Go types the routes decode and
// answer (pkg/hostaccess, internal/wire) by reflection, the error responses
// from the problem table (errors.go), and the prose and limits from
// schemaDocs (openapi_schemas.go). docs/openapi.json is a copy for readers
// and linters; a test fails when it differs (make openapi rewrites it).

// operation is what the document says of one route.
type operation struct {
	id, summary, description string
	body                     any // the request body's Go type (a zero value); nil: none
	status                   int // the success status
	answer                   any // the success body's Go type; nil: none
	answerDoc                string
	// media is the success answer's media type when it is not JSON (a
	// streamed answer), each line or event being an answer (the Go type).
	media  string
	also   []string // media types the success answer may take besides JSON (a text schema)
	errors []int    // beyond those every /v1 route may answer (problemStatuses)
	query  []param
}

// param is a query parameter.
type param struct {
	name        string
	required    bool
	description string
	schema      obj
}

// pageParams are the query parameters of a paged listing of what.
func pageParams(what string) []param {
	return []param{
		{name: "limit", description: "Page the answer: at most this many " + what + ", in id order (100 when only cursor is given). Without limit and cursor, all of them.", schema: obj{"type": "integer", "minimum": 1, "maximum": hostaccess.MaxPageSize}},
		{name: "cursor", description: "The next page of a paged listing: the previous page's next. Every page is read at the first page's revision (at).", schema: obj{"type": "string"}},
	}
}

// schemaDoc is what a schema says beyond its Go type's shape.
type schemaDoc struct {
	description string
	fields      map[string]prop
	// optional lists fields always answered but never needed in a request
	// (a missing one reads as its zero value).
	optional []string
}

// prop is what a field's schema says beyond its Go type: prose and limits.
type prop struct {
	description, format, pattern   string
	minLength, maxLength, maxItems int
	minimum, maximum               *int
	enum                           []string
	items                          *prop // the limits of an array's items
}

type obj = map[string]any

func ptr(n int) *int { return &n }

func ref(schema string) obj { return obj{"$ref": "#/components/schemas/" + schema} }

// enums are the named string types listed as an enum, from the Go lists.
var enums = map[reflect.Type][]string{
	reflect.TypeFor[hostaccess.Right]():    stringsOf(hostaccess.Rights),
	reflect.TypeFor[hostaccess.Category](): stringsOf(hostaccess.Categories),
}

func stringsOf[T ~string](list []T) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = string(v)
	}
	return out
}

// pathParams describes each {name} a route pattern may hold.
var pathParams = map[string]struct {
	description string
	schema      obj
}{
	"account":    {"The account id.", nameSchema()},
	"product":    {"The product's short name (site for product:acme/site).", nameSchema()},
	"group":      {"The product group's short name.", nameSchema()},
	"tag":        {"The tag's short name.", nameSchema()},
	"user":       {"A user id.", nameSchema()},
	"contact":    {"The contact's short name: its id after the account and slash (for acme/0f3c9a1b2d4e5f60, 0f3c9a1b2d4e5f60).", shortIDSchema()},
	"invitation": {"The invitation's short name: its id after the account and slash.", shortIDSchema()},
	"request":    {"The access request's short name: its id after the account and slash.", shortIDSchema()},
	"token":      {"The token's short name: its id after the account and slash.", shortIDSchema()},
}

func nameSchema() obj {
	return obj{"type": "string", "minLength": 1, "maxLength": hostaccess.MaxIDLen, "pattern": hostaccess.NamePattern}
}

func shortIDSchema() obj {
	return obj{"type": "string", "minLength": 16, "maxLength": 16, "pattern": hostaccess.ShortIDPattern}
}

// problemResponses names the response of each error status, and says what
// the codes answered with it mean beyond their names.
var problemResponses = map[int]struct{ name, note string }{
	http.StatusBadRequest:           {"BadRequest", "malformed JSON; a body that is not an object (null included); a duplicate key, or a key that is not exactly a declared field name (names are case-sensitive); null for a field that is not nullable; unknown field; wrong type; body over 1 MiB; text that is not valid UTF-8, holds a control character or exceeds its maxLength; an id that does not match its pattern; an expires_at not in the future or more than 10 years away; a path with empty, . or .. segments (never a redirect); missing or malformed actor; invalid value"},
	http.StatusUnauthorized:         {"Unauthenticated", "missing or unknown API key"},
	http.StatusForbidden:            {"Forbidden", "insufficient_scope when the API key lacks the operation's scope"},
	http.StatusNotFound:             {"NotFound", ""},
	http.StatusConflict:             {"Conflict", ""},
	http.StatusGone:                 {"Gone", ""},
	http.StatusUnsupportedMediaType: {"UnsupportedMediaType", "the body is not sent as Content-Type application/json (charset=utf-8 is the only parameter allowed)"},
	http.StatusInternalServerError:  {"Internal", "the cause is logged, never sent"},
	http.StatusServiceUnavailable:   {"Unavailable", "the access engine cannot be reached; retry"},
}

// problemStatuses are answered by every /v1 route: a bad actor or path, a
// missing key, a key without the scope, and the server's own failures.
var problemStatuses = []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusInternalServerError, http.StatusServiceUnavailable}

// OpenAPIDocument is the document GET /openapi.json serves.
func OpenAPIDocument() []byte { return openAPIOnce() }

// openAPIOnce builds the document on first use. (It is not built by a
// package variable's initializer: the route table it reads names the
// handler that serves it.)
var openAPIOnce = sync.OnceValue(func() []byte { return mustMarshal(buildOpenAPI()) })

func (s *server) openAPI(*http.Request, hostaccess.Actor) (int, any, error) {
	return http.StatusOK, json.RawMessage(s.openAPIDoc), nil
}

func mustMarshal(doc obj) []byte {
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("the OpenAPI document does not encode: %v", err))
	}
	return append(b, '\n')
}

// generator collects the component schemas the routes reach.
type generator struct {
	schemas obj
	closed  map[reflect.Type]bool // reached from a request body: no other field is accepted
}

func buildOpenAPI() obj {
	g := &generator{schemas: obj{}, closed: map[reflect.Type]bool{}}
	for _, rt := range routes {
		if rt.doc.body != nil {
			g.markClosed(reflect.TypeOf(rt.doc.body))
		}
	}
	paths := obj{}
	for _, rt := range routes {
		item, _ := paths[rt.Pattern].(obj)
		if item == nil {
			item = obj{}
			paths[rt.Pattern] = item
		}
		item[strings.ToLower(rt.Method)] = g.operation(rt)
	}
	g.schemas["Problem"] = g.problemSchema()
	return obj{
		"openapi": "3.1.0",
		"info": obj{
			"title":       "hostaccess API",
			"version":     "1",
			"description": "Delegated access to hosting customers' accounts, over SpiceDB. Errors are RFC 9457 problem+json with a stable code. Ids of products, groups, tags, contacts and invitations start with the account id and a slash; in paths below an account, each is named by its short name, the part after the slash.",
		},
		"servers":  []obj{{"url": "/", "description": "The server that serves this document."}},
		"security": []obj{{"bearerAuth": []string{}}},
		"tags":     tagList(),
		"paths":    paths,
		"components": obj{
			"securitySchemes": obj{"bearerAuth": obj{
				"type": "http", "scheme": "bearer",
				"description": "A key configured with --api-keys NAME=KEY (every scope) or NAME:SCOPE[+SCOPE]=KEY; NAME is the calling service. Each operation's security lists the scope it needs: read (GET routes and the checks) or write (every change).",
			}},
			"parameters": g.parameters(),
			"responses":  g.responses(),
			"schemas":    g.schemas,
		},
	}
}

func (g *generator) operation(rt route) obj {
	d := rt.doc
	op := obj{"operationId": d.id, "summary": d.summary}
	if d.description != "" {
		op["description"] = d.description
	}
	if rt.access == public {
		op["security"] = []obj{}
	} else {
		op["security"] = []obj{{"bearerAuth": []string{string(rt.scope)}}}
		op["tags"] = []string{tagOf(rt.Pattern)}
	}
	var params []obj
	if rt.access == withActor {
		params = append(params, obj{"$ref": "#/components/parameters/Actor"}, obj{"$ref": "#/components/parameters/MFA"}, obj{"$ref": "#/components/parameters/ClientIP"})
	}
	for _, name := range rt.Params() {
		params = append(params, obj{"$ref": "#/components/parameters/" + paramRef(name)})
	}
	for _, q := range d.query {
		params = append(params, obj{"name": q.name, "in": "query", "required": q.required, "description": q.description, "schema": q.schema})
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if d.body != nil {
		op["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": g.schemaOf(reflect.TypeOf(d.body))}}}
	}
	success := obj{"description": d.answerDoc}
	switch {
	case d.media != "":
		success["content"] = obj{d.media: obj{"schema": obj{"type": "string"}, "x-item": g.schemaOf(reflect.TypeOf(d.answer))}}
	case d.answer != nil:
		success["content"] = obj{"application/json": obj{"schema": g.schemaOf(reflect.TypeOf(d.answer))}}
	case rt.Endpoint == wire.OpenAPI:
		success["content"] = obj{"application/json": obj{"schema": obj{"type": "object"}}}
	}
	for _, mediaType := range d.also {
		success["content"].(obj)[mediaType] = obj{"schema": obj{"type": "string"}}
	}
	responses := obj{fmt.Sprint(d.status): success}
	if rt.access != public {
		statuses := append(slices.Clone(problemStatuses), d.errors...)
		if d.body != nil {
			statuses = append(statuses, http.StatusUnsupportedMediaType)
		}
		for _, st := range statuses {
			responses[fmt.Sprint(st)] = obj{"$ref": "#/components/responses/" + problemResponses[st].name}
		}
	}
	op["responses"] = responses
	return op
}

// tags group the operations, in the order of docs/http-api.md.
var tags = []struct{ name, description string }{
	{"accounts", "Accounts, their owners, administrator cap and delegation."},
	{"products", "Products, their groups and tags."},
	{"invitations", "Invitations: create, list, revoke, regenerate, accept."},
	{"members", "Members and their access."},
	{"requests", "Access requests: a member asks, those who manage users approve or refuse."},
	{"contacts", "Contacts and who receives each notification category."},
	{"tokens", "Personal access tokens: create, list, revoke, check with the secret."},
	{"audit", "What changed, when, and who did it; the access review."},
	{"users", "A person's accounts and reach."},
	{"checks", "Permission checks and who-can."},
}

// tagOf is the tag of a route: the collection below /v1 (or below an
// account) its path names.
func tagOf(pattern string) string {
	parts := strings.Split(strings.TrimPrefix(pattern, "/v1/"), "/")
	switch {
	case parts[0] == "accounts" && len(parts) >= 3:
		switch parts[2] {
		case "products", "invitations", "members", "requests", "contacts", "audit", "tokens":
			return parts[2]
		case "recipients":
			return "contacts"
		case "review":
			return "audit"
		}
		return "accounts"
	case parts[0] == "who-can" || strings.HasPrefix(parts[0], "check"):
		return "checks"
	}
	return parts[0]
}

func tagList() []obj {
	out := make([]obj, len(tags))
	for i, t := range tags {
		out[i] = obj{"name": t.name, "description": t.description}
	}
	return out
}

func paramRef(name string) string { return strings.ToUpper(name[:1]) + name[1:] }

func (g *generator) parameters() obj {
	out := obj{"Actor": obj{
		"name": "X-Hostaccess-Actor", "in": "header", "required": true,
		"description": "Who acts: user:<id> (a person, checked against their permissions) or service (the calling service, trusted, audited as service:<NAME>).",
		"schema":      obj{"type": "string", "maxLength": len("user:") + hostaccess.MaxIDLen, "pattern": "^(user:" + strings.Trim(hostaccess.NamePattern, "^$") + "|service)$"},
	}, "MFA": obj{
		"name": MFAHeader, "in": "header", "required": false,
		"description": "true when the person's session passed two-factor authentication. On a host requiring it for a right (serve --mfa-rights), flows using that right are refused without it.",
		"schema":      obj{"type": "string", "enum": []string{"true", "false"}},
	}, "ClientIP": obj{
		"name": ClientIPHeader, "in": "header", "required": false,
		"description": "The IP address the person's request comes from. A member restricted to networks (allowed_cidrs) acts only with it, and only from those networks.",
		"schema":      obj{"type": "string", "maxLength": 64},
	}}
	for _, rt := range routes {
		for _, name := range rt.Params() {
			p, ok := pathParams[name]
			if !ok {
				panic("openapi: no description of path parameter {" + name + "} of " + rt.String())
			}
			out[paramRef(name)] = obj{"name": name, "in": "path", "required": true, "description": p.description, "schema": p.schema}
		}
	}
	return out
}

// responses has one problem response per error status, listing the codes
// answered with it (problemKinds is their one declaration).
func (g *generator) responses() obj {
	out := obj{}
	for status, r := range problemResponses {
		var codes []string
		for code, kind := range problemKinds {
			if kind.status == status && code != wire.CodeInsufficientScope {
				codes = append(codes, code)
			}
		}
		sort.Strings(codes)
		desc := joinOr(codes)
		if r.note != "" {
			desc += ": " + r.note
		}
		out[r.name] = obj{
			"description": desc + ".",
			"content":     obj{"application/problem+json": obj{"schema": ref("Problem")}},
		}
	}
	return out
}

func joinOr(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

func (g *generator) problemSchema() obj {
	s := g.structSchema(reflect.TypeFor[wire.Problem]())
	codes := make([]string, 0, len(problemKinds))
	for code := range problemKinds {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	s["properties"].(obj)["code"].(obj)["enum"] = codes
	return s
}

// markClosed marks t and every struct it holds as a request type.
func (g *generator) markClosed(t reflect.Type) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[time.Time]() || g.closed[t] {
		return
	}
	g.closed[t] = true
	for _, f := range fieldsOf(t) {
		g.markClosed(f.Type)
	}
}

// schemaOf is the schema of a Go type: a reference for named structs and
// enums (added to the components), inline otherwise.
func (g *generator) schemaOf(t reflect.Type) obj {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		return obj{"type": "string", "format": "date-time"}
	case t == reflect.TypeFor[json.RawMessage]():
		return obj{}
	}
	if values, ok := enums[t]; ok {
		if _, done := g.schemas[t.Name()]; !done {
			s := obj{"type": "string", "enum": values}
			if d := schemaDocs[t.Name()].description; d != "" {
				s["description"] = d
			}
			g.schemas[t.Name()] = s
		}
		return ref(t.Name())
	}
	switch t.Kind() {
	case reflect.Struct:
		if _, done := g.schemas[t.Name()]; !done {
			g.schemas[t.Name()] = obj{} // a placeholder against cycles
			g.schemas[t.Name()] = g.structSchema(t)
		}
		return ref(t.Name())
	case reflect.Slice:
		return obj{"type": "array", "items": g.schemaOf(t.Elem())}
	case reflect.Map:
		return obj{"type": "object", "additionalProperties": g.schemaOf(t.Elem())}
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int64:
		return obj{"type": "integer", "format": "int64"}
	case reflect.Int, reflect.Int32, reflect.Uint16, reflect.Uint32:
		return obj{"type": "integer"}
	case reflect.Float64:
		return obj{"type": "number"}
	case reflect.Interface:
		return obj{}
	}
	panic("openapi: no schema for Go type " + t.String())
}

func (g *generator) structSchema(t reflect.Type) obj {
	doc := schemaDocs[t.Name()]
	props := obj{}
	var required []string
	for _, f := range fieldsOf(t) {
		name, omitEmpty := jsonName(f)
		p := g.schemaOf(f.Type)
		if fd, ok := doc.fields[name]; ok {
			p = annotate(p, fd)
		}
		props[name] = p
		if !omitEmpty && !slices.Contains(doc.optional, name) {
			required = append(required, name)
		}
	}
	s := obj{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	if doc.description != "" {
		s["description"] = doc.description
	}
	if g.closed[t] {
		s["additionalProperties"] = false
	}
	return s
}

// annotate adds a field's prose and limits to its schema; an array's item
// limits go to its items.
func annotate(s obj, p prop) obj {
	out := obj{}
	for k, v := range s {
		out[k] = v
	}
	if p.description != "" {
		out["description"] = p.description
	}
	if p.items != nil {
		out["items"] = annotate(out["items"].(obj), *p.items)
	}
	if p.format != "" {
		out["format"] = p.format
	}
	if p.pattern != "" {
		out["pattern"] = p.pattern
	}
	if p.minLength > 0 {
		out["minLength"] = p.minLength
	}
	if p.maxLength > 0 {
		out["maxLength"] = p.maxLength
	}
	if p.maxItems > 0 {
		out["maxItems"] = p.maxItems
	}
	if p.minimum != nil {
		out["minimum"] = *p.minimum
	}
	if p.maximum != nil {
		out["maximum"] = *p.maximum
	}
	if p.enum != nil {
		out["enum"] = p.enum
	}
	return out
}

// fieldsOf lists the fields encoding/json writes, embedded structs' fields
// in their place.
func fieldsOf(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && strings.Split(tag, ",")[0] == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, fieldsOf(f.Type)...)
			continue
		}
		out = append(out, f)
	}
	return out
}

func jsonName(f reflect.StructField) (name string, omitEmpty bool) {
	parts := strings.Split(f.Tag.Get("json"), ",")
	name = parts[0]
	if name == "" {
		name = f.Name
	}
	return name, slices.Contains(parts[1:], "omitempty") || slices.Contains(parts[1:], "omitzero")
}
