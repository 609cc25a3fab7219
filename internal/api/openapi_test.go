package api

import (
	"encoding/json"
	"flag"
	"net/http"
	"os"
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
	require.NoError(t, json.Unmarshal(OpenAPIDocument(), &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	return doc
}

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
		key := rt.Method + " " + rt.Pattern
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
		"{request}": "0123456789abcdef", "{token}": "0123456789abcdef",
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

var updateOpenAPI = flag.Bool("update", false, "rewrite docs/openapi.json from the Go types and the route table")

// TestCommittedOpenAPIIsGenerated keeps docs/openapi.json, the copy readers
// and linters see, equal to the document the server generates and serves.
func TestCommittedOpenAPIIsGenerated(t *testing.T) {
	const path = "../../docs/openapi.json"
	if *updateOpenAPI {
		require.NoError(t, os.WriteFile(path, OpenAPIDocument(), 0o644))
	}
	committed, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(OpenAPIDocument()), string(committed), "docs/openapi.json is stale: run make openapi")
}

// TestSchemaDocsNameRealFields refuses prose or limits for a schema or a
// field the Go types do not have: a renamed field would silently lose them.
func TestSchemaDocsNameRealFields(t *testing.T) {
	doc := loadOpenAPI(t)
	for name, sd := range schemaDocs {
		schema, ok := doc.Components.Schemas[name]
		require.True(t, ok, "schemaDocs describes %s, which no route reaches", name)
		for field := range sd.fields {
			require.Contains(t, schema.Properties, field, "schemaDocs describes %s.%s, which the Go type lacks", name, field)
		}
		for _, field := range sd.optional {
			require.Contains(t, schema.Properties, field, "schemaDocs makes %s.%s optional, which the Go type lacks", name, field)
		}
	}
}

// TestOpenAPIEnumsAreTheGoLists holds the documented rights, categories and
// problem codes to the Go lists the code uses.
func TestOpenAPIEnumsAreTheGoLists(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum       []string `json:"enum"`
				Properties map[string]struct {
					Enum []string `json:"enum"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(OpenAPIDocument(), &doc))
	require.Equal(t, stringsOf(hostaccess.Rights), doc.Components.Schemas["Right"].Enum)
	require.Equal(t, stringsOf(hostaccess.Categories), doc.Components.Schemas["Category"].Enum)
	var codes []string
	for code := range problemKinds {
		codes = append(codes, code)
	}
	require.ElementsMatch(t, codes, doc.Components.Schemas["Problem"].Properties["code"].Enum)
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
