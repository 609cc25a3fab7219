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
	doc    operation // what the OpenAPI document says of it (openapi.go)
}

// auditParams are the change log's filters.
var auditParams = []param{
	{name: "actor", description: "Only changes made by this actor: user:ID or service:NAME.", schema: obj{"type": "string"}},
	{name: "flow", description: "Only changes made through this flow, e.g. set_access.", schema: obj{"type": "string", "pattern": "^[a-z_]{1,64}$"}},
	{name: "target", description: "Only changes about this, e.g. user:carol or invitation:acme/x1.", schema: obj{"type": "string", "maxLength": 512}},
	{name: "since", description: "Only changes at or after this time (RFC 3339).", schema: obj{"type": "string", "format": "date-time"}},
	{name: "until", description: "Only changes before this time (RFC 3339).", schema: obj{"type": "string", "format": "date-time"}},
	{name: "before", description: "Only entries with seq below this: the next page.", schema: obj{"type": "integer", "format": "int64", "minimum": 0}},
	{name: "limit", description: "At most this many entries (100 by default).", schema: obj{"type": "integer", "minimum": 1, "maximum": hostaccess.MaxAuditLimit}},
}

// chainParams say where the export and the feed start, and whose entries.
var chainParams = []param{
	{name: "after", description: "Start after this chain position (0, the default: from the first stored entry).", schema: obj{"type": "integer", "format": "int64", "minimum": 0}},
	{name: "account", description: "Only this account's entries (a person needs to see its users); all accounts without it (service actors only).", schema: obj{"type": "string"}},
}

// routes is every route served, in the order of docs/http-api.md, with
// the access it needs: read for the GET routes and the checks, write for
// every change, and what the OpenAPI document says of each: the document
// is generated from this table and the Go types it names (openapi.go).
var routes = []route{
	{wire.CreateAccount, withActor, ScopeWrite, (*server).createAccount, operation{
		id:          "createAccount",
		summary:     "Create an account with its owner",
		description: "Service actors, and the host's staff for an account with host_id, create accounts.",
		body:        wire.CreateAccountRequest{},
		status:      http.StatusCreated,
		answer:      hostaccess.Result{},
		answerDoc:   "Created.",
		errors:      []int{http.StatusConflict},
	}},
	{wire.CloseAccount, withActor, ScopeWrite, (*server).closeAccount, operation{
		id:        "closeAccount",
		summary:   "Close an account: every access to it goes at once",
		status:    http.StatusOK,
		answer:    hostaccess.Result{},
		answerDoc: "Closed.",
		errors:    []int{http.StatusNotFound},
	}},
	{wire.SetAdminCap, withActor, ScopeWrite, (*server).setAdminCap, operation{
		id:        "setAdminCap",
		summary:   "Set how many administrators the account may have",
		body:      wire.AdminCapRequest{},
		status:    http.StatusNoContent,
		answerDoc: "Set.",
		errors:    []int{http.StatusNotFound},
	}},
	{wire.SetDelegation, withActor, ScopeWrite, (*server).setDelegation, operation{
		id:        "setDelegation",
		summary:   "Turn the host's management of the account's users on or off",
		body:      wire.DelegationRequest{},
		status:    http.StatusOK,
		answer:    hostaccess.Result{},
		answerDoc: "Set.",
		errors:    []int{http.StatusNotFound},
	}},
	{wire.AddOwner, withActor, ScopeWrite, (*server).addOwner, operation{
		id:        "addOwner",
		summary:   "Make a member an additional owner",
		body:      wire.AddOwnerRequest{},
		status:    http.StatusOK,
		answer:    hostaccess.Result{},
		answerDoc: "Added.",
		errors:    []int{http.StatusNotFound, http.StatusConflict},
	}},
	{wire.TransferOwnership, withActor, ScopeWrite, (*server).transferOwnership, operation{
		id:          "transferOwnership",
		summary:     "Transfer the ownership to a member",
		description: "Done by an owner (a person); a service actor uses the owners route and removes the previous owner.",
		body:        wire.TransferRequest{},
		status:      http.StatusOK,
		answer:      hostaccess.Result{},
		answerDoc:   "Transferred.",
		errors:      []int{http.StatusNotFound, http.StatusConflict},
	}},
	{wire.ListProducts, withActor, ScopeRead, (*server).listProducts, operation{
		id:        "listProducts",
		summary:   "List the account's products",
		status:    http.StatusOK,
		answer:    wire.ProductList{},
		answerDoc: "The products.",
		errors:    []int{http.StatusNotFound},
	}},
	{wire.AddProduct, withActor, ScopeWrite, (*server).addProduct, operation{
		id:        "addProduct",
		summary:   "Add a product, optionally in groups and with tags",
		body:      wire.AddProductRequest{},
		status:    http.StatusCreated,
		answer:    hostaccess.Result{},
		answerDoc: "Added.",
		errors:    []int{http.StatusNotFound, http.StatusConflict},
	}},
	{wire.RemoveProduct, withActor, ScopeWrite, (*server).removeProduct, operation{
		id:        "removeProduct",
		summary:   "Remove a product and every grant on it",
		status:    http.StatusOK,
		answer:    hostaccess.Result{},
		answerDoc: "Removed.",
		errors:    []int{http.StatusNotFound},
	}},
	{wire.AddProductToGroup, withActor, ScopeWrite, (*server).setProductGroup, operation{
		id:        "addProductToGroup",
		summary:   "Put a product in a group",
		status:    http.StatusOK,
		answer:    hostaccess.Result{},
		answerDoc: "Done.",
		errors:    []int{http.StatusNotFound},
	}},
	{wire.RemoveProductFromGroup, withActor, ScopeWrite, (*server).setProductGroup, operation{
		id:        "removeProductFromGroup",
		summary:   "Take a product out of a group",
		status:    http.StatusOK,
		answer:    hostaccess.Result{},
		answerDoc: "Done.",
		errors:    []int{http.StatusNotFound},
	}},
	{wire.TagProduct, withActor, ScopeWrite, (*server).setProductTag, operation{
		id:        "tagProduct",
		summary:   "Tag a product",
		status:    http.StatusOK,
		answer:    hostaccess.Result{},
		answerDoc: "Done.",
		errors:    []int{http.StatusNotFound},
	}},
	{wire.UntagProduct, withActor, ScopeWrite, (*server).setProductTag, operation{
		id:        "untagProduct",
		summary:   "Remove a tag from a product: that tag's grants stop reaching it",
		status:    http.StatusOK,
		answer:    hostaccess.Result{},
		answerDoc: "Done.",
		errors:    []int{http.StatusNotFound},
	}},
	{wire.ListInvitations, withActor, ScopeRead, (*server).listInvitations, operation{
		id:        "listInvitations",
		summary:   "List the account's invitations with their status",
		status:    http.StatusOK,
		answer:    wire.InvitationList{},
		answerDoc: "The invitations, oldest first.",
		errors:    []int{http.StatusNotFound},
	}},
	{wire.Invite, withActor, ScopeWrite, (*server).invite, operation{
		id:        "invite",
		summary:   "Invite an e-mail address with chosen access",
		body:      wire.InviteRequest{},
		status:    http.StatusCreated,
		answer:    hostaccess.InvitationLink{},
		answerDoc: "Invited.",
		errors:    []int{http.StatusNotFound, http.StatusConflict},
	}},
	{wire.RevokeInvitation, withActor, ScopeWrite, (*server).revokeInvitation, operation{
		id:        "revokeInvitation",
		summary:   "Revoke a pending invitation",
		status:    http.StatusOK,
		answer:    hostaccess.Result{},
		answerDoc: "Revoked.",
		errors:    []int{http.StatusNotFound, http.StatusConflict, http.StatusGone},
	}},
	{wire.RegenerateInvitation, withActor, ScopeWrite, (*server).regenerateInvitation, operation{
		id:        "regenerateInvitation",
		summary:   "Replace an invitation's link (the old one stops working)",
		status:    http.StatusCreated,
		answer:    hostaccess.InvitationLink{},
		answerDoc: "A new link.",
		errors:    []int{http.StatusNotFound, http.StatusConflict, http.StatusGone},
	}},
	{wire.AcceptInvitation, keyOnly, ScopeWrite, (*server).acceptInvitation, operation{
		id:          "acceptInvitation",
		summary:     "Accept an invitation for a login",
		description: "No actor: the login in the body accepts, as vouched for by the calling service.",
		body:        wire.AcceptRequest{},
		status:      http.StatusOK,
		answer:      hostaccess.Acceptance{},
		answerDoc:   "Accepted.",
		errors:      []int{http.StatusNotFound, http.StatusConflict, http.StatusGone},
	}},
	{wire.ListMembers, withActor, ScopeRead, (*server).listMembers, operation{
		id:        "listMembers",
		summary:   "List owners and members with their access",
		status:    http.StatusOK,
		answer:    wire.MemberList{},
		answerDoc: "The members.",
		errors:    []int{http.StatusNotFound},
	}},
	{wire.SetAccess, withActor, ScopeWrite, (*server).setAccess, operation{
		id:        "setAccess",
		summary:   "Replace a member's access",
		body:      hostaccess.Access{},
		status:    http.StatusOK,
		answer:    hostaccess.Result{},
		answerDoc: "Set; effective at once.",
		errors:    []int{http.StatusNotFound, http.StatusConflict},
	}},
	{wire.RemoveMember, withActor, ScopeWrite, (*server).removeMember, operation{
		id:        "removeMember",
		summary:   "Remove a person's access to the account",
		status:    http.StatusOK,
		answer:    hostaccess.Result{},
		answerDoc: "Removed; effective at once.",
		errors:    []int{http.StatusNotFound, http.StatusConflict},
	}},
	{wire.ListAccessRequests, withActor, ScopeRead, (*server).listAccessRequests, operation{
		id:          "listAccessRequests",
		summary:     "List access requests with their status",
		description: "Those who manage the account's users see every request; its other members see their own; anyone else is refused.",
		status:      http.StatusOK,
		answer:      wire.AccessRequestList{},
		answerDoc:   "The requests, oldest first.",
		query: []param{
			{name: "status", description: "Only the requests in this status (all by default).", schema: obj{"type": "string", "enum": hostaccess.RequestStatuses}},
		},
	}},
	{wire.RequestAccess, withActor, ScopeWrite, (*server).requestAccess, operation{
		id:      "requestAccess",
		summary: "Ask for a right or a product scope one lacks, with a reason",
		description: "The actor asks for themself and must be a member (not an owner, who holds every right). What they already hold is left out of the request; " +
			"what remains must name existing products, groups and tags. The request lapses after 7 days; at most 20 may be pending per person and account (409 conflict beyond).",
		body:      hostaccess.AccessRequestInput{},
		status:    http.StatusCreated,
		answer:    wire.AccessRequestChange{},
		answerDoc: "Recorded, pending.",
		errors:    []int{http.StatusNotFound, http.StatusConflict},
	}},
	{wire.ApproveAccessRequest, withActor, ScopeWrite, (*server).approveAccessRequest, operation{
		id:      "approveAccessRequest",
		summary: "Approve a pending request: grant what was asked",
		description: "The requester then holds what they held and what they asked, granted as PUT .../members/{user}/access grants: the approver needs the right to manage users, " +
			"must hold everything granted (403 escalation), may not approve their own request, and the administrator cap holds. " +
			"A decided request is 409 request_not_pending, a lapsed one 410 request_expired; a requester no longer a member is 404 and the request stays pending.",
		body:      wire.DecisionRequest{},
		status:    http.StatusOK,
		answer:    wire.AccessRequestChange{},
		answerDoc: "Approved; effective at once.",
		errors:    []int{http.StatusNotFound, http.StatusConflict, http.StatusGone},
	}},
	{wire.RefuseAccessRequest, withActor, ScopeWrite, (*server).refuseAccessRequest, operation{
		id:          "refuseAccessRequest",
		summary:     "Refuse a pending request: no access changes",
		description: "Needs the right to manage the account's users. A decided request is 409 request_not_pending, a lapsed one 410 request_expired.",
		body:        wire.DecisionRequest{},
		status:      http.StatusOK,
		answer:      wire.AccessRequestChange{},
		answerDoc:   "Refused.",
		errors:      []int{http.StatusNotFound, http.StatusConflict, http.StatusGone},
	}},
	{wire.Expiring, withActor, ScopeRead, (*server).expiring, operation{
		id:          "expiring",
		summary:     "What ends within a window: memberships and pending invitations",
		description: "For a panel to warn the owner. Needs the right to manage the account's users. Owners never expire; contacts hold no access and never appear.",
		status:      http.StatusOK,
		answer:      hostaccess.ExpiringAccess{},
		answerDoc:   "What ends by until, soonest first.",
		errors:      []int{http.StatusNotFound},
		query: []param{
			{name: "days", description: "The window, in days from now (30 by default).", schema: obj{"type": "integer", "minimum": 1, "maximum": hostaccess.MaxExpiringDays}},
		},
	}},
	{wire.AccessReview, withActor, ScopeRead, (*server).accessReview, operation{
		id:      "accessReview",
		summary: "The account's access review: every holder x every right and product scope",
		description: "One line per person and right or product scope: owners (held by ownership), members and administrators (direct, group, tag or all_products), " +
			"and the host's admins and staff while delegation is on (delegation). Each line says who granted it and when, from the audit trail " +
			"(the inviter, for an accepted invitation; absent when the trail does not record it), and when it ends (a time-bound membership). " +
			"Every line is read at one revision (at). Contacts hold no access and never appear. Needs what the member list and the audit log need (view_users). " +
			"The filters combine: all the conditions given must hold. format=csv answers text/csv (a header row, then one row per line; a cell starting with = + - or @ is prefixed with ') " +
			"and format=html a self-contained page, printable as the review's record.",
		status:    http.StatusOK,
		answer:    hostaccess.AccessReview{},
		answerDoc: "The review: owners first, then members by user id, then host staff.",
		also:      []string{reviewMediaTypes[reviewCSV], reviewMediaTypes[reviewHTML]},
		errors:    []int{http.StatusNotFound},
		query: []param{
			{name: "expiring_within_days", description: "Only the lines that end within this many days.", schema: obj{"type": "integer", "minimum": 1, "maximum": hostaccess.MaxExpiringDays}},
			{name: "granted_before_days", description: "Only the lines granted more than this many days ago (a line the audit trail does not date is left out).", schema: obj{"type": "integer", "minimum": 1, "maximum": hostaccess.MaxGrantedBeforeDays}},
			{name: "delegation", description: "true: only the lines held through delegation.", schema: obj{"type": "boolean"}},
			{name: "format", description: "json (the default), csv or html.", schema: obj{"type": "string", "enum": []string{reviewJSON, reviewCSV, reviewHTML}}},
		},
	}},
	{wire.ListTokens, withActor, ScopeRead, (*server).listTokens, operation{
		id:          "listTokens",
		summary:     "List the account's personal access tokens (never their secrets)",
		description: "Every token to an owner (or a service actor), one's own to a member. Status is active, expired or revoked.",
		status:      http.StatusOK,
		answer:      wire.TokenList{},
		answerDoc:   "The tokens, oldest first.",
		errors:      []int{http.StatusNotFound},
	}},
	{wire.CreateToken, withActor, ScopeWrite, (*server).createToken, operation{
		id:      "createToken",
		summary: "Create a personal access token with a subset of what its creator holds",
		description: "Created by a person (an owner or member), never a service actor. At every check the token reaches what it was given AND what its creator still holds. " +
			"expires_at is required; allowed_cidrs restricts it to networks (a check must then give client_ip in its context). The secret is answered once: only its hash is stored.",
		body:      hostaccess.TokenInput{},
		status:    http.StatusCreated,
		answer:    hostaccess.NewToken{},
		answerDoc: "Created: the token and its secret, shown once.",
		errors:    []int{http.StatusNotFound, http.StatusConflict},
	}},
	{wire.RevokeToken, withActor, ScopeWrite, (*server).revokeToken, operation{
		id:          "revokeToken",
		summary:     "Revoke a token at once",
		description: "By its creator or an owner of the account. A token that is already revoked or expired is 404.",
		status:      http.StatusOK,
		answer:      hostaccess.Result{},
		answerDoc:   "Revoked; effective at once.",
		errors:      []int{http.StatusNotFound, http.StatusConflict},
	}},
	{wire.CheckToken, keyOnly, ScopeRead, (*server).checkToken, operation{
		id:      "checkToken",
		summary: "May the token with this secret do a permission on a resource?",
		description: "What a panel asks for a request made with a token. Allowed only while the token is active, reaches it and its creator still does; " +
			"with an IP allowlist, context.client_ip must be given (without it the answer is conditional, never allowed). An unknown secret is 404.",
		body:      wire.TokenCheckRequest{},
		status:    http.StatusOK,
		answer:    hostaccess.TokenAnswer{},
		answerDoc: "The answer, with the token it names (never the secret).",
		errors:    []int{http.StatusNotFound},
	}},
	{wire.ListContacts, withActor, ScopeRead, (*server).listContacts, operation{
		id:        "listContacts",
		summary:   "List the account's contacts",
		status:    http.StatusOK,
		answer:    wire.ContactList{},
		answerDoc: "The contacts.",
		errors:    []int{http.StatusNotFound},
	}},
	{wire.AddContact, withActor, ScopeWrite, (*server).addContact, operation{
		id:        "addContact",
		summary:   "Add a contact",
		body:      hostaccess.ContactInput{},
		status:    http.StatusCreated,
		answer:    wire.ContactCreated{},
		answerDoc: "Added.",
		errors:    []int{http.StatusNotFound},
	}},
	{wire.UpdateContact, withActor, ScopeWrite, (*server).updateContact, operation{
		id:        "updateContact",
		summary:   "Replace a contact's details and subscriptions",
		body:      hostaccess.ContactInput{},
		status:    http.StatusOK,
		answer:    hostaccess.Result{},
		answerDoc: "Updated.",
		errors:    []int{http.StatusNotFound},
	}},
	{wire.RemoveContact, withActor, ScopeWrite, (*server).removeContact, operation{
		id:        "removeContact",
		summary:   "Remove a contact",
		status:    http.StatusOK,
		answer:    hostaccess.Result{},
		answerDoc: "Removed.",
		errors:    []int{http.StatusNotFound},
	}},
	{wire.Recipients, withActor, ScopeRead, (*server).recipients, operation{
		id:        "recipients",
		summary:   "Who must receive a notification category",
		status:    http.StatusOK,
		answer:    wire.RecipientList{},
		answerDoc: "The recipients.",
		errors:    []int{http.StatusNotFound},
		query: []param{
			{name: "category", required: true, description: "The notification category.", schema: ref("Category")},
			{name: "product", description: "A product's short name: its renewal or technical recipients.", schema: obj{"type": "string"}},
		},
	}},
	{wire.AuditLog, withActor, ScopeRead, (*server).auditLog, operation{
		id:        "auditLog",
		summary:   "What changed, when, and who did it",
		status:    http.StatusOK,
		answer:    wire.AuditEntries{},
		answerDoc: "The entries, newest first.",
		query:     auditParams,
	}},
	{wire.AuditSearch, withActor, ScopeRead, (*server).auditSearch, operation{
		id:          "auditSearch",
		summary:     "The change log across accounts",
		description: "Every account's entries, filtered; only a service actor may ask (a person reads an account's log).",
		status:      http.StatusOK,
		answer:      wire.AuditEntries{},
		answerDoc:   "The entries, newest first.",
		query:       auditParams,
	}},
	{wire.AuditExport, withActor, ScopeRead, (*server).auditExport, operation{
		id:      "auditExport",
		summary: "Export the hash-chained log as JSON lines",
		description: "One sealed entry a line, in chain order, from after on: the whole chain for a service actor, " +
			"with the head it runs to in the X-Hostaccess-Chain-Head header (POSITION:HASH), or one account's entries (account). " +
			"`hostaccess audit verify --file` checks it offline.",
		status:    http.StatusOK,
		answer:    hostaccess.AuditEntry{},
		media:     mediaJSONLines,
		answerDoc: "The entries, one JSON object a line.",
		query:     chainParams,
	}},
	{wire.AuditFeed, withActor, ScopeRead, (*server).auditFeed, operation{
		id:      "auditFeed",
		summary: "The live change feed, as server-sent events",
		description: "Each sealed entry is an event \"audit\" whose id is its chain position: first those after after " +
			"(or the Last-Event-ID a reconnecting client sends), then each as it is sealed. Resuming from the last id received " +
			"loses nothing and repeats nothing, across server restarts. A refusal once the stream is open is its last event, \"error\".",
		status:    http.StatusOK,
		answer:    hostaccess.AuditEntry{},
		media:     mediaEventStream,
		answerDoc: "The event stream.",
		query:     chainParams,
	}},
	{wire.AuditVerify, withActor, ScopeRead, (*server).auditVerify, operation{
		id:          "auditVerify",
		summary:     "Verify the hash chain of the stored log",
		description: "Every entry from the chain's anchor (the last one retention removed) to its head matches its hash and links to the one before; a gap is a deleted entry. Only a service actor may ask.",
		status:      http.StatusOK,
		answer:      wire.AuditReport{},
		answerDoc:   "What the check found: no problems when the chain holds.",
	}},
	{wire.SwitchAccounts, withActor, ScopeRead, (*server).switchAccounts, operation{
		id:          "switchAccounts",
		summary:     "The accounts a person can switch to",
		description: "The actor must be that user, or service.",
		status:      http.StatusOK,
		answer:      hostaccess.SwitchList{},
		answerDoc:   "The accounts.",
	}},
	{wire.ReachOf, withActor, ScopeRead, (*server).reachOf, operation{
		id:          "reachOf",
		summary:     "What a person can reach",
		description: "The actor must be that user, or service. With limit or cursor, a page of accounts (by id) with the products of those accounts; every page at the first page's revision (at).",
		status:      http.StatusOK,
		answer:      hostaccess.AccessReport{},
		answerDoc:   "The report.",
		query:       pageParams("accounts"),
	}},
	{wire.WhoCan, withActor, ScopeRead, (*server).whoCan, operation{
		id:        "whoCan",
		summary:   "Who can do a permission on a resource, and through which grant",
		status:    http.StatusOK,
		answer:    wire.HolderList{},
		answerDoc: "The holders.",
		query: append([]param{
			{name: "resource", required: true, description: "TYPE:ID of an account or one of its products, groups or tags, e.g. product:acme/site.", schema: obj{"type": "string"}},
			{name: "permission", required: true, description: "The permission, e.g. manage.", schema: obj{"type": "string"}},
		}, pageParams("holders")...),
	}},
	{wire.WhyDenied, withActor, ScopeRead, (*server).whyDenied, operation{
		id:          "whyDenied",
		summary:     "Why a person is denied, what is missing, and who may grant it",
		description: "For an account permission of a right (pay_invoices, manage_domains, ...) or manage/view on a product. The person may ask about themself; anyone else needs to see the account's users.",
		body:        hostaccess.Check{},
		status:      http.StatusOK,
		answer:      hostaccess.Denial{},
		answerDoc:   "The verdict, and for a denial the reason, what is missing and the grantors.",
		errors:      []int{http.StatusNotFound},
	}},
	{wire.Check, keyOnly, ScopeRead, (*server).check, operation{
		id:        "check",
		summary:   "May a subject do a permission on a resource?",
		body:      wire.CheckRequest{},
		status:    http.StatusOK,
		answer:    hostaccess.Answer{},
		answerDoc: "The answer.",
	}},
	{wire.CheckBulk, keyOnly, ScopeRead, (*server).checkBulk, operation{
		id:        "checkBulk",
		summary:   "Answer up to 1,000 questions in one call",
		body:      wire.CheckBulkRequest{},
		status:    http.StatusOK,
		answer:    wire.AnswerList{},
		answerDoc: "The answers, in order.",
	}},
	{wire.OpenAPI, public, "", (*server).openAPI, operation{
		id:        "openAPI",
		summary:   "This document",
		status:    http.StatusOK,
		answerDoc: "The OpenAPI document.",
	}},
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
