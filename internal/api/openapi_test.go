package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// openAPIDoc is the part of an OpenAPI document the tests read.
type openAPIDoc struct {
	OpenAPI    string                          `json:"openapi"`
	Paths      map[string]map[string]openAPIOp `json:"paths"`
	Components struct {
		Schemas    map[string]openAPISchema   `json:"schemas"`
		Parameters map[string]openAPIParam    `json:"parameters"`
		Responses  map[string]json.RawMessage `json:"responses"`
		Security   map[string]json.RawMessage `json:"securitySchemes"`
	} `json:"components"`
}

type openAPIOp struct {
	OperationID string            `json:"operationId"`
	Parameters  []openAPIParam    `json:"parameters"`
	Security    *[]map[string]any `json:"security"`
	Responses   map[string]any    `json:"responses"`
}

type openAPIParam struct {
	Ref      string `json:"$ref"`
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
}

type openAPISchema struct {
	Type       string                     `json:"type"`
	Properties map[string]json.RawMessage `json:"properties"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	require.NoError(t, json.Unmarshal(openAPIDocument, &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	return doc
}

// docPath turns a ServeMux pattern into an OpenAPI path: {x...} -> {x}.
func docPath(pattern string) string { return strings.ReplaceAll(pattern, "...}", "}") }

// resolve follows a components parameter reference.
func (d openAPIDoc) resolve(t *testing.T, p openAPIParam) openAPIParam {
	t.Helper()
	if p.Ref == "" {
		return p
	}
	name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/")
	require.True(t, ok, "parameter ref %s", p.Ref)
	got, ok := d.Components.Parameters[name]
	require.True(t, ok, "parameter ref %s does not resolve", p.Ref)
	return got
}

// TestRouteConformance holds openapi.json and the route table to each
// other: same (method, path) set, same actor and auth rules, every path
// parameter declared.
func TestRouteConformance(t *testing.T) {
	doc := loadOpenAPI(t)

	var documented, served []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	byKey := map[string]route{}
	for _, rt := range routes {
		key := rt.Method + " " + docPath(rt.Pattern)
		require.NotContains(t, byKey, key, "route listed twice")
		byKey[key] = rt
		served = append(served, key)
	}
	slices.Sort(documented)
	slices.Sort(served)
	require.Equal(t, served, documented, "openapi.json and the route table differ")

	for path, ops := range doc.Paths {
		for method, op := range ops {
			key := strings.ToUpper(method) + " " + path
			t.Run(key, func(t *testing.T) {
				rt := byKey[key]
				require.NotEmpty(t, op.OperationID)
				require.NotEmpty(t, op.Responses)
				hasActor, declared := false, map[string]bool{}
				for _, p := range op.Parameters {
					p = doc.resolve(t, p)
					if p.In == "header" && p.Name == ActorHeader {
						hasActor = p.Required
					}
					if p.In == "path" {
						require.True(t, p.Required, "path parameter %s", p.Name)
						declared[p.Name] = true
					}
				}
				require.Equal(t, rt.access == withActor, hasActor, "the actor header is documented iff the route reads it")
				require.Equal(t, rt.access == public, op.Security != nil && len(*op.Security) == 0, "only public routes drop the bearer key")
				var inPath []string
				for _, seg := range strings.Split(path, "/") {
					if name, ok := strings.CutPrefix(seg, "{"); ok {
						inPath = append(inPath, strings.TrimSuffix(name, "}"))
					}
				}
				require.Len(t, declared, len(inPath))
				for _, name := range inPath {
					require.True(t, declared[name], "path parameter {%s} is not declared", name)
				}
				if rt.access != public {
					for _, status := range []string{"400", "401", "403", "500"} {
						require.Contains(t, op.Responses, status)
					}
					require.NotNil(t, op.Security, "the operation documents its scope")
					require.Equal(t, []map[string]any{{"bearerAuth": []any{string(rt.scope)}}}, *op.Security, "the documented scope is the route's")
				}
			})
		}
	}
}

// TestEveryDocumentedRouteIsServed calls every documented route, against an
// account where every named object exists, as a stranger: each answers
// (mostly 403 or 400), none with 404 or 405.
func TestEveryDocumentedRouteIsServed(t *testing.T) {
	c, _ := newTestAPI(t)
	doc := loadOpenAPI(t)

	c.createAccount("acme", "alice")
	c.addProduct("user:alice", "acme", "site", []string{"web"}, []string{"client-x"})
	c.join("user:alice", "acme", "bob", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightSupport}})
	contact := ok[wire.ContactCreated](t, c.call("POST", "/v1/accounts/acme/contacts", "user:alice",
		hostaccess.ContactInput{Name: "Dana", Email: "dana@example.com"}), http.StatusCreated).Contact
	inv := c.invite("user:alice", "acme", "erin@example.com", hostaccess.Access{})

	values := map[string]string{
		"{account}": "acme", "{product}": "site", "{group}": "web", "{tag}": "client-x",
		"{user}": "bob", "{contact}": strings.TrimPrefix(contact.ID, "acme/"), "{invitation}": strings.TrimPrefix(inv.Invitation.ID, "acme/"),
	}
	bodies := map[string]any{}
	for path, ops := range doc.Paths {
		for method := range ops {
			method := strings.ToUpper(method)
			t.Run(method+" "+path, func(t *testing.T) {
				target := path
				for k, v := range values {
					target = strings.ReplaceAll(target, k, v)
				}
				require.NotContains(t, target, "{", "no test value for a path parameter")
				var body any
				if method == "POST" || method == "PUT" {
					body = "{}"
				}
				if b, ok := bodies[method+" "+path]; ok {
					body = b
				}
				r := c.call(method, target, "user:mallory", body)
				require.NotContains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, r.status, "body: %s", r.body)
				require.NotEqual(t, http.StatusUnauthorized, r.status, "body: %s", r.body)
				if r.status >= 400 {
					require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
				}
			})
		}
	}
}

// TestOpenAPISchemasMatchGoTypes keeps the documented JSON fields equal to
// the json tags of the types the handlers decode and encode.
func TestOpenAPISchemasMatchGoTypes(t *testing.T) {
	doc := loadOpenAPI(t)
	types := map[string]any{
		"Problem":              wire.Problem{},
		"Result":               hostaccess.Result{},
		"ProductScope":         hostaccess.ProductScope{},
		"Access":               hostaccess.Access{},
		"CreateAccountRequest": wire.CreateAccountRequest{},
		"AdminCapRequest":      wire.AdminCapRequest{},
		"DelegationRequest":    wire.DelegationRequest{},
		"AddOwnerRequest":      wire.AddOwnerRequest{},
		"TransferRequest":      wire.TransferRequest{},
		"AddProductRequest":    wire.AddProductRequest{},
		"InviteRequest":        wire.InviteRequest{},
		"AcceptRequest":        wire.AcceptRequest{},
		"ContactInput":         hostaccess.ContactInput{},
		"Check":                hostaccess.Check{},
		"CheckRequest":         wire.CheckRequest{},
		"CheckBulkRequest":     wire.CheckBulkRequest{},
		"Product":              hostaccess.Product{},
		"ProductList":          wire.ProductList{},
		"Invitation":           hostaccess.Invitation{},
		"InvitationList":       wire.InvitationList{},
		"InvitationLink":       hostaccess.InvitationLink{},
		"Acceptance":           hostaccess.Acceptance{},
		"Member":               hostaccess.Member{},
		"MemberList":           wire.MemberList{},
		"Contact":              hostaccess.Contact{},
		"ContactList":          wire.ContactList{},
		"ContactCreated":       wire.ContactCreated{},
		"Recipient":            hostaccess.Recipient{},
		"RecipientList":        wire.RecipientList{},
		"AuditEntry":           hostaccess.AuditEntry{},
		"AuditLog":             wire.AuditEntries{},
		"AccountSummary":       hostaccess.AccountSummary{},
		"SwitchList":           hostaccess.SwitchList{},
		"AccessReport":         hostaccess.AccessReport{},
		"Holder":               hostaccess.Holder{},
		"HolderList":           wire.HolderList{},
		"Answer":               hostaccess.Answer{},
		"AnswerList":           wire.AnswerList{},
	}
	for name, schema := range doc.Components.Schemas {
		if schema.Type != "object" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			v, ok := types[name]
			require.True(t, ok, "schema %s is not tied to a Go type in this test", name)
			var props []string
			for p := range schema.Properties {
				props = append(props, p)
			}
			require.ElementsMatch(t, jsonFields(reflect.TypeOf(v)), props)
		})
	}
	for name := range types {
		require.Contains(t, doc.Components.Schemas, name)
	}
	require.Contains(t, doc.Components.Security, "bearerAuth")
	for _, ref := range refs(t, openAPIDocument) {
		kind, name, ok := strings.Cut(strings.TrimPrefix(ref, "#/components/"), "/")
		require.True(t, ok, "ref %s", ref)
		switch kind {
		case "schemas":
			require.Contains(t, doc.Components.Schemas, name, "ref %s", ref)
		case "parameters":
			require.Contains(t, doc.Components.Parameters, name, "ref %s", ref)
		case "responses":
			require.Contains(t, doc.Components.Responses, name, "ref %s", ref)
		default:
			t.Fatalf("unexpected ref %s", ref)
		}
	}
}

// jsonFields lists the JSON field names encoding/json uses for t.
func jsonFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case name == "-" || !f.IsExported():
			continue
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			out = append(out, jsonFields(f.Type)...)
		case name == "":
			out = append(out, f.Name)
		default:
			out = append(out, name)
		}
	}
	return out
}

// refs collects every $ref of a JSON document.
func refs(t *testing.T, raw []byte) []string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(raw, &v))
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "$ref" {
					out = append(out, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}
