package apiclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// NewAccount is the body of POST /v1/accounts.
type NewAccount struct {
	ID         string `json:"id"`
	Name       string `json:"name,omitempty"`
	OwnerID    string `json:"owner_id"`
	OwnerEmail string `json:"owner_email,omitempty"`
	OwnerName  string `json:"owner_name,omitempty"`
	HostID     string `json:"host_id,omitempty"`
	// Delegated nil: the server's default (on for an account with a host).
	Delegated *bool `json:"delegated,omitempty"`
}

// CreatedContact is the answer of AddContact.
type CreatedContact struct {
	Contact hostaccess.Contact `json:"contact"`
	hostaccess.Result
}

// CreateAccount creates an account with its owner.
func (c *Client) CreateAccount(ctx context.Context, in NewAccount) (hostaccess.Result, error) {
	var out hostaccess.Result
	return out, c.do(ctx, call{method: http.MethodPost, path: "/v1/accounts", body: in}, &out)
}

// CloseAccount removes every access to an account.
func (c *Client) CloseAccount(ctx context.Context, accountID string) (hostaccess.Result, error) {
	var out hostaccess.Result
	return out, c.do(ctx, call{method: http.MethodDelete, path: "/v1/accounts/" + seg(accountID)}, &out)
}

// SetAdminCap sets how many administrators an account may have.
func (c *Client) SetAdminCap(ctx context.Context, accountID string, adminCap int) error {
	body := struct {
		Cap int `json:"cap"`
	}{adminCap}
	return c.do(ctx, call{method: http.MethodPut, path: "/v1/accounts/" + seg(accountID) + "/admin-cap", body: body}, nil)
}

// SetDelegation turns the host's management of the account's users on or off.
func (c *Client) SetDelegation(ctx context.Context, accountID string, enabled bool) (hostaccess.Result, error) {
	body := struct {
		Enabled bool `json:"enabled"`
	}{enabled}
	var out hostaccess.Result
	return out, c.do(ctx, call{method: http.MethodPut, path: "/v1/accounts/" + seg(accountID) + "/delegation", body: body}, &out)
}

// AddOwner makes a member an additional owner.
func (c *Client) AddOwner(ctx context.Context, accountID, userID string) (hostaccess.Result, error) {
	body := struct {
		UserID string `json:"user_id"`
	}{userID}
	var out hostaccess.Result
	return out, c.do(ctx, call{method: http.MethodPost, path: "/v1/accounts/" + seg(accountID) + "/owners", body: body}, &out)
}

// TransferOwnership makes member `to` an owner; the acting owner keeps keep
// (nil: leaves the account).
func (c *Client) TransferOwnership(ctx context.Context, accountID, to string, keep *hostaccess.Access) (hostaccess.Result, error) {
	body := struct {
		To   string             `json:"to"`
		Keep *hostaccess.Access `json:"keep,omitempty"`
	}{to, keep}
	var out hostaccess.Result
	return out, c.do(ctx, call{method: http.MethodPost, path: "/v1/accounts/" + seg(accountID) + "/transfer", body: body}, &out)
}

// ListProducts lists an account's products.
func (c *Client) ListProducts(ctx context.Context, accountID string) ([]hostaccess.Product, error) {
	var out struct {
		Products []hostaccess.Product `json:"products"`
	}
	return out.Products, c.do(ctx, call{method: http.MethodGet, path: "/v1/accounts/" + seg(accountID) + "/products"}, &out)
}

// AddProduct adds a product, optionally in groups and with tags.
func (c *Client) AddProduct(ctx context.Context, accountID, name string, groups, tags []string) (hostaccess.Result, error) {
	body := struct {
		Name   string   `json:"name"`
		Groups []string `json:"groups,omitempty"`
		Tags   []string `json:"tags,omitempty"`
	}{name, groups, tags}
	var out hostaccess.Result
	return out, c.do(ctx, call{method: http.MethodPost, path: "/v1/accounts/" + seg(accountID) + "/products", body: body}, &out)
}

// RemoveProduct removes a product and every grant on it.
func (c *Client) RemoveProduct(ctx context.Context, accountID, name string) (hostaccess.Result, error) {
	var out hostaccess.Result
	return out, c.do(ctx, call{method: http.MethodDelete, path: "/v1/accounts/" + seg(accountID) + "/products/" + seg(name)}, &out)
}

// SetProductGroup puts a product in a group (in=true) or takes it out.
func (c *Client) SetProductGroup(ctx context.Context, accountID, name, group string, in bool) (hostaccess.Result, error) {
	return c.setMembership(ctx, accountID, name, "groups", group, in)
}

// SetProductTag tags a product (in=true) or removes the tag.
func (c *Client) SetProductTag(ctx context.Context, accountID, name, tag string, in bool) (hostaccess.Result, error) {
	return c.setMembership(ctx, accountID, name, "tags", tag, in)
}

func (c *Client) setMembership(ctx context.Context, accountID, name, kind, label string, in bool) (hostaccess.Result, error) {
	method := http.MethodPut
	if !in {
		method = http.MethodDelete
	}
	path := "/v1/accounts/" + seg(accountID) + "/products/" + seg(name) + "/" + kind + "/" + seg(label)
	var out hostaccess.Result
	return out, c.do(ctx, call{method: method, path: path}, &out)
}

// ListInvitations lists an account's invitations with their status.
func (c *Client) ListInvitations(ctx context.Context, accountID string) ([]hostaccess.Invitation, error) {
	var out struct {
		Invitations []hostaccess.Invitation `json:"invitations"`
	}
	return out.Invitations, c.do(ctx, call{method: http.MethodGet, path: "/v1/accounts/" + seg(accountID) + "/invitations"}, &out)
}

// Invite offers access to an e-mail address.
func (c *Client) Invite(ctx context.Context, accountID, email string, access hostaccess.Access) (hostaccess.InvitationLink, error) {
	body := struct {
		Email  string            `json:"email"`
		Access hostaccess.Access `json:"access"`
	}{email, access}
	var out hostaccess.InvitationLink
	return out, c.do(ctx, call{method: http.MethodPost, path: "/v1/accounts/" + seg(accountID) + "/invitations", body: body}, &out)
}

type invitationID struct {
	ID string `json:"id"`
}

// RevokeInvitation cancels a pending invitation.
func (c *Client) RevokeInvitation(ctx context.Context, id string) (hostaccess.Result, error) {
	var out hostaccess.Result
	return out, c.do(ctx, call{method: http.MethodPost, path: "/v1/invitations/revoke", body: invitationID{id}}, &out)
}

// RegenerateInvitation replaces an invitation's link with a new one.
func (c *Client) RegenerateInvitation(ctx context.Context, id string) (hostaccess.InvitationLink, error) {
	var out hostaccess.InvitationLink
	return out, c.do(ctx, call{method: http.MethodPost, path: "/v1/invitations/regenerate", body: invitationID{id}}, &out)
}

// AcceptInvitation accepts an invitation for a login. It needs no actor: the
// token and the login's verified e-mail are the proof.
func (c *Client) AcceptInvitation(ctx context.Context, token string, login hostaccess.Login) (hostaccess.Acceptance, error) {
	body := struct {
		Token         string `json:"token"`
		UserID        string `json:"user_id"`
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		DisplayName   string `json:"display_name,omitempty"`
	}{token, login.UserID, login.Email, login.EmailVerified, login.DisplayName}
	var out hostaccess.Acceptance
	return out, c.do(ctx, call{method: http.MethodPost, path: "/v1/invitations/accept", body: body, noActor: true}, &out)
}

// ListMembers lists an account's owners and members with their rights.
func (c *Client) ListMembers(ctx context.Context, accountID string) ([]hostaccess.Member, error) {
	var out struct {
		Members []hostaccess.Member `json:"members"`
	}
	return out.Members, c.do(ctx, call{method: http.MethodGet, path: "/v1/accounts/" + seg(accountID) + "/members"}, &out)
}

// SetAccess replaces a member's rights and product scope.
func (c *Client) SetAccess(ctx context.Context, accountID, userID string, access hostaccess.Access) (hostaccess.Result, error) {
	var out hostaccess.Result
	path := "/v1/accounts/" + seg(accountID) + "/members/" + seg(userID) + "/access"
	return out, c.do(ctx, call{method: http.MethodPut, path: path, body: access}, &out)
}

// RemoveMember removes a person's access to an account.
func (c *Client) RemoveMember(ctx context.Context, accountID, userID string) (hostaccess.Result, error) {
	var out hostaccess.Result
	return out, c.do(ctx, call{method: http.MethodDelete, path: "/v1/accounts/" + seg(accountID) + "/members/" + seg(userID)}, &out)
}

// ListContacts lists an account's contacts with their subscriptions.
func (c *Client) ListContacts(ctx context.Context, accountID string) ([]hostaccess.Contact, error) {
	var out struct {
		Contacts []hostaccess.Contact `json:"contacts"`
	}
	return out.Contacts, c.do(ctx, call{method: http.MethodGet, path: "/v1/accounts/" + seg(accountID) + "/contacts"}, &out)
}

// AddContact adds a contact to an account.
func (c *Client) AddContact(ctx context.Context, accountID string, in hostaccess.ContactInput) (CreatedContact, error) {
	var out CreatedContact
	return out, c.do(ctx, call{method: http.MethodPost, path: "/v1/accounts/" + seg(accountID) + "/contacts", body: in}, &out)
}

// UpdateContact replaces a contact's details and subscriptions; contactID is
// the full id (acme/x1).
func (c *Client) UpdateContact(ctx context.Context, accountID, contactID string, in hostaccess.ContactInput) (hostaccess.Result, error) {
	var out hostaccess.Result
	path := "/v1/accounts/" + seg(accountID) + "/contacts/" + idPath(contactID)
	return out, c.do(ctx, call{method: http.MethodPut, path: path, body: in}, &out)
}

// RemoveContact removes a contact and its subscriptions.
func (c *Client) RemoveContact(ctx context.Context, accountID, contactID string) (hostaccess.Result, error) {
	var out hostaccess.Result
	path := "/v1/accounts/" + seg(accountID) + "/contacts/" + idPath(contactID)
	return out, c.do(ctx, call{method: http.MethodDelete, path: path}, &out)
}

// Recipients lists who must receive a notification category for an account,
// or for one of its products when product is set.
func (c *Client) Recipients(ctx context.Context, accountID string, category hostaccess.Category, product string) ([]hostaccess.Recipient, error) {
	q := url.Values{"category": {string(category)}}
	if product != "" {
		q.Set("product", product)
	}
	var out struct {
		Recipients []hostaccess.Recipient `json:"recipients"`
	}
	return out.Recipients, c.do(ctx, call{method: http.MethodGet, path: "/v1/accounts/" + seg(accountID) + "/recipients", query: q}, &out)
}

// AuditLog lists an account's changes, newest first: at most limit (0: the
// server's default), before sequence number before (0: the newest).
func (c *Client) AuditLog(ctx context.Context, accountID string, before int64, limit int) ([]hostaccess.AuditEntry, error) {
	q := url.Values{}
	if before > 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Entries []hostaccess.AuditEntry `json:"entries"`
	}
	return out.Entries, c.do(ctx, call{method: http.MethodGet, path: "/v1/accounts/" + seg(accountID) + "/audit", query: q}, &out)
}

// SwitchAccounts lists the accounts a person can switch to.
func (c *Client) SwitchAccounts(ctx context.Context, userID string) (hostaccess.SwitchList, error) {
	var out hostaccess.SwitchList
	return out, c.do(ctx, call{method: http.MethodGet, path: "/v1/users/" + seg(userID) + "/accounts"}, &out)
}

// ReachOf reports what a person can reach.
func (c *Client) ReachOf(ctx context.Context, userID string) (hostaccess.AccessReport, error) {
	var out hostaccess.AccessReport
	return out, c.do(ctx, call{method: http.MethodGet, path: "/v1/users/" + seg(userID) + "/reach"}, &out)
}

// WhoCan lists who holds permission on resource (account:acme,
// product:acme/site, ...), and through which grant.
func (c *Client) WhoCan(ctx context.Context, resource, permission string) ([]hostaccess.Holder, error) {
	q := url.Values{"resource": {resource}, "permission": {permission}}
	var out struct {
		Holders []hostaccess.Holder `json:"holders"`
	}
	return out.Holders, c.do(ctx, call{method: http.MethodGet, path: "/v1/who-can", query: q}, &out)
}

// Can answers one question, at least as fresh as atLeastAsFresh when set.
func (c *Client) Can(ctx context.Context, check hostaccess.Check, atLeastAsFresh string) (hostaccess.Answer, error) {
	body := struct {
		hostaccess.Check
		AtLeastAsFresh string `json:"at_least_as_fresh,omitempty"`
	}{check, atLeastAsFresh}
	var out hostaccess.Answer
	return out, c.do(ctx, call{method: http.MethodPost, path: "/v1/check", body: body, noActor: true}, &out)
}

// CanAll answers many questions in one round trip.
func (c *Client) CanAll(ctx context.Context, checks []hostaccess.Check, atLeastAsFresh string) ([]hostaccess.Answer, error) {
	body := struct {
		Checks         []hostaccess.Check `json:"checks"`
		AtLeastAsFresh string             `json:"at_least_as_fresh,omitempty"`
	}{checks, atLeastAsFresh}
	var out struct {
		Answers []hostaccess.Answer `json:"answers"`
	}
	return out.Answers, c.do(ctx, call{method: http.MethodPost, path: "/v1/check-bulk", body: body, noActor: true}, &out)
}
