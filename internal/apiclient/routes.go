package apiclient

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// Every method below is one endpoint of internal/wire, with its bodies.

// CreateAccount creates an account with its owner.
func (c *Client) CreateAccount(ctx context.Context, in wire.CreateAccountRequest) (hostaccess.Result, error) {
	var out hostaccess.Result
	return out, c.do(ctx, call{endpoint: wire.CreateAccount, body: in}, &out)
}

// CloseAccount removes every access to an account.
func (c *Client) CloseAccount(ctx context.Context, accountID string) (hostaccess.Result, error) {
	var out hostaccess.Result
	return out, c.do(ctx, call{endpoint: wire.CloseAccount, args: []string{accountID}}, &out)
}

// SetAdminCap sets how many administrators an account may have.
func (c *Client) SetAdminCap(ctx context.Context, accountID string, adminCap int) error {
	return c.do(ctx, call{endpoint: wire.SetAdminCap, args: []string{accountID}, body: wire.AdminCapRequest{Cap: &adminCap}}, nil)
}

// SetDelegation turns the host's management of the account's users on or off.
func (c *Client) SetDelegation(ctx context.Context, accountID string, enabled bool) (hostaccess.Result, error) {
	var out hostaccess.Result
	return out, c.do(ctx, call{endpoint: wire.SetDelegation, args: []string{accountID}, body: wire.DelegationRequest{Enabled: &enabled}}, &out)
}

// AddOwner makes a member an additional owner.
func (c *Client) AddOwner(ctx context.Context, accountID, userID string) (hostaccess.Result, error) {
	var out hostaccess.Result
	return out, c.do(ctx, call{endpoint: wire.AddOwner, args: []string{accountID}, body: wire.AddOwnerRequest{UserID: userID}}, &out)
}

// TransferOwnership makes member `to` an owner; the acting owner keeps keep
// (nil: leaves the account).
func (c *Client) TransferOwnership(ctx context.Context, accountID, to string, keep *hostaccess.Access) (hostaccess.Result, error) {
	var out hostaccess.Result
	return out, c.do(ctx, call{endpoint: wire.TransferOwnership, args: []string{accountID}, body: wire.TransferRequest{To: to, Keep: keep}}, &out)
}

// ListProducts lists an account's products.
func (c *Client) ListProducts(ctx context.Context, accountID string) ([]hostaccess.Product, error) {
	var out wire.ProductList
	return out.Products, c.do(ctx, call{endpoint: wire.ListProducts, args: []string{accountID}}, &out)
}

// AddProduct adds a product, optionally in groups and with tags.
func (c *Client) AddProduct(ctx context.Context, accountID, name string, groups, tags []string) (hostaccess.Result, error) {
	var out hostaccess.Result
	body := wire.AddProductRequest{Name: name, Groups: groups, Tags: tags}
	return out, c.do(ctx, call{endpoint: wire.AddProduct, args: []string{accountID}, body: body}, &out)
}

// RemoveProduct removes a product and every grant on it.
func (c *Client) RemoveProduct(ctx context.Context, accountID, name string) (hostaccess.Result, error) {
	var out hostaccess.Result
	return out, c.do(ctx, call{endpoint: wire.RemoveProduct, args: []string{accountID, name}}, &out)
}

// SetProductGroup puts a product in a group (in=true) or takes it out.
func (c *Client) SetProductGroup(ctx context.Context, accountID, name, group string, in bool) (hostaccess.Result, error) {
	e := wire.AddProductToGroup
	if !in {
		e = wire.RemoveProductFromGroup
	}
	var out hostaccess.Result
	return out, c.do(ctx, call{endpoint: e, args: []string{accountID, name, group}}, &out)
}

// SetProductTag tags a product (in=true) or removes the tag.
func (c *Client) SetProductTag(ctx context.Context, accountID, name, tag string, in bool) (hostaccess.Result, error) {
	e := wire.TagProduct
	if !in {
		e = wire.UntagProduct
	}
	var out hostaccess.Result
	return out, c.do(ctx, call{endpoint: e, args: []string{accountID, name, tag}}, &out)
}

// ListInvitations lists an account's invitations with their status.
func (c *Client) ListInvitations(ctx context.Context, accountID string) ([]hostaccess.Invitation, error) {
	var out wire.InvitationList
	return out.Invitations, c.do(ctx, call{endpoint: wire.ListInvitations, args: []string{accountID}}, &out)
}

// Invite offers access to an e-mail address.
func (c *Client) Invite(ctx context.Context, accountID, email string, access hostaccess.Access) (hostaccess.InvitationLink, error) {
	var out hostaccess.InvitationLink
	return out, c.do(ctx, call{endpoint: wire.Invite, args: []string{accountID}, body: wire.InviteRequest{Email: email, Access: access}}, &out)
}

// RevokeInvitation cancels a pending invitation, by its full id (acme/k3f9).
func (c *Client) RevokeInvitation(ctx context.Context, id string) (hostaccess.Result, error) {
	var out hostaccess.Result
	return out, c.do(ctx, call{endpoint: wire.RevokeInvitation, args: splitID(id)}, &out)
}

// RegenerateInvitation replaces an invitation's link with a new one.
func (c *Client) RegenerateInvitation(ctx context.Context, id string) (hostaccess.InvitationLink, error) {
	var out hostaccess.InvitationLink
	return out, c.do(ctx, call{endpoint: wire.RegenerateInvitation, args: splitID(id)}, &out)
}

// AcceptInvitation accepts an invitation for a login. It needs no actor: the
// token and the login's verified e-mail are the proof.
func (c *Client) AcceptInvitation(ctx context.Context, token string, login hostaccess.Login) (hostaccess.Acceptance, error) {
	body := wire.AcceptRequest{Token: token, UserID: login.UserID, Email: login.Email, EmailVerified: login.EmailVerified, DisplayName: login.DisplayName}
	var out hostaccess.Acceptance
	return out, c.do(ctx, call{endpoint: wire.AcceptInvitation, body: body, noActor: true}, &out)
}

// ListMembers lists an account's owners and members with their rights.
func (c *Client) ListMembers(ctx context.Context, accountID string) ([]hostaccess.Member, error) {
	var out wire.MemberList
	return out.Members, c.do(ctx, call{endpoint: wire.ListMembers, args: []string{accountID}}, &out)
}

// SetAccess replaces a member's rights and product scope.
func (c *Client) SetAccess(ctx context.Context, accountID, userID string, access hostaccess.Access) (hostaccess.Result, error) {
	var out hostaccess.Result
	return out, c.do(ctx, call{endpoint: wire.SetAccess, args: []string{accountID, userID}, body: access}, &out)
}

// RemoveMember removes a person's access to an account.
func (c *Client) RemoveMember(ctx context.Context, accountID, userID string) (hostaccess.Result, error) {
	var out hostaccess.Result
	return out, c.do(ctx, call{endpoint: wire.RemoveMember, args: []string{accountID, userID}}, &out)
}

// Expiring lists the memberships and pending invitations of an account
// that end within days (0: the server's default, 30).
func (c *Client) Expiring(ctx context.Context, accountID string, days int) (hostaccess.ExpiringAccess, error) {
	q := url.Values{}
	if days != 0 {
		q.Set("days", strconv.Itoa(days))
	}
	var out hostaccess.ExpiringAccess
	return out, c.do(ctx, call{endpoint: wire.Expiring, args: []string{accountID}, query: q}, &out)
}

// AccessReview is the account's access review: every holder x every right
// and product scope, how it is held, who granted it and when, when it ends.
func (c *Client) AccessReview(ctx context.Context, accountID string, f hostaccess.ReviewFilter) (hostaccess.AccessReview, error) {
	var out hostaccess.AccessReview
	return out, c.do(ctx, call{endpoint: wire.AccessReview, args: []string{accountID}, query: reviewQuery(f, "")}, &out)
}

// AccessReviewDocument is the review as the server renders it in format
// "csv" or "html", byte for byte.
func (c *Client) AccessReviewDocument(ctx context.Context, accountID string, f hostaccess.ReviewFilter, format string) ([]byte, error) {
	accept := map[string]string{"csv": "text/csv", "html": "text/html"}[format]
	if accept == "" {
		return nil, fmt.Errorf("review format %q: want csv or html", format)
	}
	var out []byte
	return out, c.do(ctx, call{endpoint: wire.AccessReview, args: []string{accountID}, query: reviewQuery(f, format), accept: accept}, &out)
}

func reviewQuery(f hostaccess.ReviewFilter, format string) url.Values {
	q := url.Values{}
	if f.ExpiringWithinDays != 0 {
		q.Set("expiring_within_days", strconv.Itoa(f.ExpiringWithinDays))
	}
	if f.GrantedBeforeDays != 0 {
		q.Set("granted_before_days", strconv.Itoa(f.GrantedBeforeDays))
	}
	if f.Delegation {
		q.Set("delegation", "true")
	}
	if format != "" {
		q.Set("format", format)
	}
	return q
}

// ListContacts lists an account's contacts with their subscriptions.
func (c *Client) ListContacts(ctx context.Context, accountID string) ([]hostaccess.Contact, error) {
	var out wire.ContactList
	return out.Contacts, c.do(ctx, call{endpoint: wire.ListContacts, args: []string{accountID}}, &out)
}

// AddContact adds a contact to an account.
func (c *Client) AddContact(ctx context.Context, accountID string, in hostaccess.ContactInput) (wire.ContactCreated, error) {
	var out wire.ContactCreated
	return out, c.do(ctx, call{endpoint: wire.AddContact, args: []string{accountID}, body: in}, &out)
}

// UpdateContact replaces a contact's details and subscriptions; contactID is
// the full id (acme/x1).
func (c *Client) UpdateContact(ctx context.Context, accountID, contactID string, in hostaccess.ContactInput) (hostaccess.Result, error) {
	var out hostaccess.Result
	return out, c.do(ctx, call{endpoint: wire.UpdateContact, args: []string{accountID, shortName(accountID, contactID)}, body: in}, &out)
}

// RemoveContact removes a contact and its subscriptions.
func (c *Client) RemoveContact(ctx context.Context, accountID, contactID string) (hostaccess.Result, error) {
	var out hostaccess.Result
	return out, c.do(ctx, call{endpoint: wire.RemoveContact, args: []string{accountID, shortName(accountID, contactID)}}, &out)
}

// Recipients lists who must receive a notification category for an account,
// or for one of its products when product is set.
func (c *Client) Recipients(ctx context.Context, accountID string, category hostaccess.Category, product string) ([]hostaccess.Recipient, error) {
	q := url.Values{"category": {string(category)}}
	if product != "" {
		q.Set("product", product)
	}
	var out wire.RecipientList
	return out.Recipients, c.do(ctx, call{endpoint: wire.Recipients, args: []string{accountID}, query: q}, &out)
}

// SwitchAccounts lists the accounts a person can switch to.
func (c *Client) SwitchAccounts(ctx context.Context, userID string) (hostaccess.SwitchList, error) {
	var out hostaccess.SwitchList
	return out, c.do(ctx, call{endpoint: wire.SwitchAccounts, args: []string{userID}}, &out)
}

// ReachOf reports what a person can reach.
func (c *Client) ReachOf(ctx context.Context, userID string) (hostaccess.AccessReport, error) {
	var out hostaccess.AccessReport
	return out, c.do(ctx, call{endpoint: wire.ReachOf, args: []string{userID}}, &out)
}

// WhoCan lists who holds permission on resource (account:acme,
// product:acme/site, ...), and through which grant.
func (c *Client) WhoCan(ctx context.Context, resource, permission string) ([]hostaccess.Holder, error) {
	q := url.Values{"resource": {resource}, "permission": {permission}}
	var out wire.HolderList
	return out.Holders, c.do(ctx, call{endpoint: wire.WhoCan, query: q}, &out)
}

// WhyDenied explains a person's check: for a denial, what is missing and
// who may grant it.
func (c *Client) WhyDenied(ctx context.Context, check hostaccess.Check) (hostaccess.Denial, error) {
	var out hostaccess.Denial
	return out, c.do(ctx, call{endpoint: wire.WhyDenied, body: check}, &out)
}

// ReachPage is one page of ReachOf: at most limit accounts after cursor
// (empty: the first page); the answer's Next is the following page's.
func (c *Client) ReachPage(ctx context.Context, userID, cursor string, limit int) (hostaccess.AccessReport, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var out hostaccess.AccessReport
	return out, c.do(ctx, call{endpoint: wire.ReachOf, args: []string{userID}, query: q}, &out)
}

// WhoCanPage is one page of WhoCan: at most limit holders after cursor
// (empty: the first page); the answer's Next is the following page's.
func (c *Client) WhoCanPage(ctx context.Context, resource, permission, cursor string, limit int) (wire.HolderList, error) {
	q := url.Values{"resource": {resource}, "permission": {permission}, "limit": {strconv.Itoa(limit)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var out wire.HolderList
	return out, c.do(ctx, call{endpoint: wire.WhoCan, query: q}, &out)
}

// Can answers one question, at least as fresh as atLeastAsFresh when set.
func (c *Client) Can(ctx context.Context, check hostaccess.Check, atLeastAsFresh string) (hostaccess.Answer, error) {
	var out hostaccess.Answer
	body := wire.CheckRequest{Check: check, AtLeastAsFresh: atLeastAsFresh}
	return out, c.do(ctx, call{endpoint: wire.Check, body: body, noActor: true}, &out)
}

// CanAll answers many questions in one round trip.
func (c *Client) CanAll(ctx context.Context, checks []hostaccess.Check, atLeastAsFresh string) ([]hostaccess.Answer, error) {
	var out wire.AnswerList
	body := wire.CheckBulkRequest{Checks: checks, AtLeastAsFresh: atLeastAsFresh}
	return out.Answers, c.do(ctx, call{endpoint: wire.CheckBulk, body: body, noActor: true}, &out)
}

// splitID turns a full id (ACCOUNT/NAME) into the path's account and short
// name. An id without a slash is sent as the name of an empty account,
// which the server refuses with a message naming the path.
func splitID(id string) []string {
	account, name, _ := strings.Cut(id, "/")
	return []string{account, name}
}

// shortName is id's part after "ACCOUNT/", or id when it has no such prefix
// (the server then answers not found).
func shortName(accountID, id string) string {
	return strings.TrimPrefix(id, accountID+"/")
}
