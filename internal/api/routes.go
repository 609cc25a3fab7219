package api

import (
	"net/http"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// access is what a route asks of its caller.
type access int

const (
	withActor access = iota // a bearer key and the X-Hostaccess-Actor header
	keyOnly                 // a bearer key; no actor (the body or the check names who)
	public                  // nothing
)

// route is one (method, path) the handler serves.
type route struct {
	method  string
	pattern string // net/http.ServeMux path pattern
	access  access
	scope   Scope // the key's scope it needs; none for public routes
	serve   func(s *server, r *http.Request, actor hostaccess.Actor) (status int, body any, err error)
}

// routes is every route served, in the order of docs/http-api.md, with
// the access it needs: read for the GET routes and the checks, write for
// every change. The conformance test checks it against openapi.json both
// ways.
var routes = []route{
	{"POST", "/v1/accounts", withActor, ScopeWrite, (*server).createAccount},
	{"DELETE", "/v1/accounts/{account}", withActor, ScopeWrite, (*server).closeAccount},
	{"PUT", "/v1/accounts/{account}/admin-cap", withActor, ScopeWrite, (*server).setAdminCap},
	{"PUT", "/v1/accounts/{account}/delegation", withActor, ScopeWrite, (*server).setDelegation},
	{"POST", "/v1/accounts/{account}/owners", withActor, ScopeWrite, (*server).addOwner},
	{"POST", "/v1/accounts/{account}/transfer", withActor, ScopeWrite, (*server).transferOwnership},
	{"GET", "/v1/accounts/{account}/products", withActor, ScopeRead, (*server).listProducts},
	{"POST", "/v1/accounts/{account}/products", withActor, ScopeWrite, (*server).addProduct},
	{"DELETE", "/v1/accounts/{account}/products/{product}", withActor, ScopeWrite, (*server).removeProduct},
	{"PUT", "/v1/accounts/{account}/products/{product}/groups/{group}", withActor, ScopeWrite, (*server).setProductGroup},
	{"DELETE", "/v1/accounts/{account}/products/{product}/groups/{group}", withActor, ScopeWrite, (*server).setProductGroup},
	{"PUT", "/v1/accounts/{account}/products/{product}/tags/{tag}", withActor, ScopeWrite, (*server).setProductTag},
	{"DELETE", "/v1/accounts/{account}/products/{product}/tags/{tag}", withActor, ScopeWrite, (*server).setProductTag},
	{"GET", "/v1/accounts/{account}/invitations", withActor, ScopeRead, (*server).listInvitations},
	{"POST", "/v1/accounts/{account}/invitations", withActor, ScopeWrite, (*server).invite},
	{"POST", "/v1/invitations/revoke", withActor, ScopeWrite, (*server).revokeInvitation},
	{"POST", "/v1/invitations/regenerate", withActor, ScopeWrite, (*server).regenerateInvitation},
	{"POST", "/v1/invitations/accept", keyOnly, ScopeWrite, (*server).acceptInvitation},
	{"GET", "/v1/accounts/{account}/members", withActor, ScopeRead, (*server).listMembers},
	{"PUT", "/v1/accounts/{account}/members/{user}/access", withActor, ScopeWrite, (*server).setAccess},
	{"DELETE", "/v1/accounts/{account}/members/{user}", withActor, ScopeWrite, (*server).removeMember},
	{"GET", "/v1/accounts/{account}/contacts", withActor, ScopeRead, (*server).listContacts},
	{"POST", "/v1/accounts/{account}/contacts", withActor, ScopeWrite, (*server).addContact},
	{"PUT", "/v1/accounts/{account}/contacts/{contact...}", withActor, ScopeWrite, (*server).updateContact},
	{"DELETE", "/v1/accounts/{account}/contacts/{contact...}", withActor, ScopeWrite, (*server).removeContact},
	{"GET", "/v1/accounts/{account}/recipients", withActor, ScopeRead, (*server).recipients},
	{"GET", "/v1/accounts/{account}/audit", withActor, ScopeRead, (*server).auditLog},
	{"GET", "/v1/users/{user}/accounts", withActor, ScopeRead, (*server).switchAccounts},
	{"GET", "/v1/users/{user}/reach", withActor, ScopeRead, (*server).reachOf},
	{"GET", "/v1/who-can", withActor, ScopeRead, (*server).whoCan},
	{"POST", "/v1/check", keyOnly, ScopeRead, (*server).check},
	{"POST", "/v1/check-bulk", keyOnly, ScopeRead, (*server).checkBulk},
	{"GET", "/openapi.json", public, "", (*server).openAPI},
}

// reply turns a service call's outcome into a handler's answer.
func reply(status int, body any, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return status, body, nil
}

// orEmpty makes an empty list encode as [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
