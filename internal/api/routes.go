package api

import (
	"net/http"

	"github.com/hostaccess/hostaccess/internal/wire"
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
	wire.Endpoint
	access access
	scope  Scope // the key's scope it needs; none for public routes
	serve  func(s *server, r *http.Request, actor hostaccess.Actor) (status int, body any, err error)
}

// routes is every route served, in the order of docs/http-api.md, with
// the access it needs: read for the GET routes and the checks, write for
// every change. The conformance test checks it against openapi.json both
// ways.
var routes = []route{
	{wire.CreateAccount, withActor, ScopeWrite, (*server).createAccount},
	{wire.CloseAccount, withActor, ScopeWrite, (*server).closeAccount},
	{wire.SetAdminCap, withActor, ScopeWrite, (*server).setAdminCap},
	{wire.SetDelegation, withActor, ScopeWrite, (*server).setDelegation},
	{wire.AddOwner, withActor, ScopeWrite, (*server).addOwner},
	{wire.TransferOwnership, withActor, ScopeWrite, (*server).transferOwnership},
	{wire.ListProducts, withActor, ScopeRead, (*server).listProducts},
	{wire.AddProduct, withActor, ScopeWrite, (*server).addProduct},
	{wire.RemoveProduct, withActor, ScopeWrite, (*server).removeProduct},
	{wire.AddProductToGroup, withActor, ScopeWrite, (*server).setProductGroup},
	{wire.RemoveProductFromGroup, withActor, ScopeWrite, (*server).setProductGroup},
	{wire.TagProduct, withActor, ScopeWrite, (*server).setProductTag},
	{wire.UntagProduct, withActor, ScopeWrite, (*server).setProductTag},
	{wire.ListInvitations, withActor, ScopeRead, (*server).listInvitations},
	{wire.Invite, withActor, ScopeWrite, (*server).invite},
	{wire.RevokeInvitation, withActor, ScopeWrite, (*server).revokeInvitation},
	{wire.RegenerateInvitation, withActor, ScopeWrite, (*server).regenerateInvitation},
	{wire.AcceptInvitation, keyOnly, ScopeWrite, (*server).acceptInvitation},
	{wire.ListMembers, withActor, ScopeRead, (*server).listMembers},
	{wire.SetAccess, withActor, ScopeWrite, (*server).setAccess},
	{wire.RemoveMember, withActor, ScopeWrite, (*server).removeMember},
	{wire.ListContacts, withActor, ScopeRead, (*server).listContacts},
	{wire.AddContact, withActor, ScopeWrite, (*server).addContact},
	{wire.UpdateContact, withActor, ScopeWrite, (*server).updateContact},
	{wire.RemoveContact, withActor, ScopeWrite, (*server).removeContact},
	{wire.Recipients, withActor, ScopeRead, (*server).recipients},
	{wire.AuditLog, withActor, ScopeRead, (*server).auditLog},
	{wire.SwitchAccounts, withActor, ScopeRead, (*server).switchAccounts},
	{wire.ReachOf, withActor, ScopeRead, (*server).reachOf},
	{wire.WhoCan, withActor, ScopeRead, (*server).whoCan},
	{wire.Check, keyOnly, ScopeRead, (*server).check},
	{wire.CheckBulk, keyOnly, ScopeRead, (*server).checkBulk},
	{wire.OpenAPI, public, "", (*server).openAPI},
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
