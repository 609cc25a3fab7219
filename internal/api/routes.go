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
	serve   func(s *server, r *http.Request, actor hostaccess.Actor) (status int, body any, err error)
}

// routes is every route served, in the order of docs/http-api.md. The
// conformance test checks it against openapi.json both ways.
var routes = []route{
	{"POST", "/v1/accounts", withActor, (*server).createAccount},
	{"DELETE", "/v1/accounts/{account}", withActor, (*server).closeAccount},
	{"PUT", "/v1/accounts/{account}/admin-cap", withActor, (*server).setAdminCap},
	{"PUT", "/v1/accounts/{account}/delegation", withActor, (*server).setDelegation},
	{"POST", "/v1/accounts/{account}/owners", withActor, (*server).addOwner},
	{"POST", "/v1/accounts/{account}/transfer", withActor, (*server).transferOwnership},
	{"GET", "/v1/accounts/{account}/products", withActor, (*server).listProducts},
	{"POST", "/v1/accounts/{account}/products", withActor, (*server).addProduct},
	{"DELETE", "/v1/accounts/{account}/products/{product}", withActor, (*server).removeProduct},
	{"PUT", "/v1/accounts/{account}/products/{product}/groups/{group}", withActor, (*server).setProductGroup},
	{"DELETE", "/v1/accounts/{account}/products/{product}/groups/{group}", withActor, (*server).setProductGroup},
	{"PUT", "/v1/accounts/{account}/products/{product}/tags/{tag}", withActor, (*server).setProductTag},
	{"DELETE", "/v1/accounts/{account}/products/{product}/tags/{tag}", withActor, (*server).setProductTag},
	{"GET", "/v1/accounts/{account}/invitations", withActor, (*server).listInvitations},
	{"POST", "/v1/accounts/{account}/invitations", withActor, (*server).invite},
	{"POST", "/v1/invitations/revoke", withActor, (*server).revokeInvitation},
	{"POST", "/v1/invitations/regenerate", withActor, (*server).regenerateInvitation},
	{"POST", "/v1/invitations/accept", keyOnly, (*server).acceptInvitation},
	{"GET", "/v1/accounts/{account}/members", withActor, (*server).listMembers},
	{"PUT", "/v1/accounts/{account}/members/{user}/access", withActor, (*server).setAccess},
	{"DELETE", "/v1/accounts/{account}/members/{user}", withActor, (*server).removeMember},
	{"GET", "/v1/accounts/{account}/contacts", withActor, (*server).listContacts},
	{"POST", "/v1/accounts/{account}/contacts", withActor, (*server).addContact},
	{"PUT", "/v1/accounts/{account}/contacts/{contact...}", withActor, (*server).updateContact},
	{"DELETE", "/v1/accounts/{account}/contacts/{contact...}", withActor, (*server).removeContact},
	{"GET", "/v1/accounts/{account}/recipients", withActor, (*server).recipients},
	{"GET", "/v1/accounts/{account}/audit", withActor, (*server).auditLog},
	{"GET", "/v1/users/{user}/accounts", withActor, (*server).switchAccounts},
	{"GET", "/v1/users/{user}/reach", withActor, (*server).reachOf},
	{"GET", "/v1/who-can", withActor, (*server).whoCan},
	{"POST", "/v1/check", keyOnly, (*server).check},
	{"POST", "/v1/check-bulk", keyOnly, (*server).checkBulk},
	{"GET", "/openapi.json", public, (*server).openAPI},
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
