package wire

import (
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// Request bodies. A field that must be given and has a meaningful zero
// (Cap, Enabled) is a pointer, so that a forgotten field is refused rather
// than read as 0 or false.
type (
	// CreateAccountRequest is the body of CreateAccount.
	CreateAccountRequest struct {
		ID         string `json:"id"`
		Name       string `json:"name,omitempty"`
		OwnerID    string `json:"owner_id"`
		OwnerEmail string `json:"owner_email,omitempty"`
		OwnerName  string `json:"owner_name,omitempty"`
		HostID     string `json:"host_id,omitempty"`
		// Delegated nil: on for an account with a host.
		Delegated *bool `json:"delegated,omitempty"`
	}
	// AdminCapRequest is the body of SetAdminCap.
	AdminCapRequest struct {
		Cap *int `json:"cap"`
	}
	// DelegationRequest is the body of SetDelegation.
	DelegationRequest struct {
		Enabled *bool `json:"enabled"`
	}
	// AddOwnerRequest is the body of AddOwner.
	AddOwnerRequest struct {
		UserID string `json:"user_id"`
	}
	// TransferRequest is the body of TransferOwnership.
	TransferRequest struct {
		To   string             `json:"to"`
		Keep *hostaccess.Access `json:"keep,omitempty"`
	}
	// AddProductRequest is the body of AddProduct.
	AddProductRequest struct {
		Name   string   `json:"name"`
		Groups []string `json:"groups,omitempty"`
		Tags   []string `json:"tags,omitempty"`
	}
	// InviteRequest is the body of Invite.
	InviteRequest struct {
		Email  string            `json:"email"`
		Access hostaccess.Access `json:"access"`
	}
	// AcceptRequest is the body of AcceptInvitation: the login accepting,
	// as the provider's login system vouches for it.
	AcceptRequest struct {
		Token         string `json:"token"`
		UserID        string `json:"user_id"`
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		DisplayName   string `json:"display_name,omitempty"`
	}
	// CheckRequest is the body of Check.
	CheckRequest struct {
		hostaccess.Check
		AtLeastAsFresh string `json:"at_least_as_fresh,omitempty"`
	}
	// CheckBulkRequest is the body of CheckBulk.
	CheckBulkRequest struct {
		Checks         []hostaccess.Check `json:"checks"`
		AtLeastAsFresh string             `json:"at_least_as_fresh,omitempty"`
	}
)

// Response bodies that wrap the domain's answers. A list is never null.
type (
	ProductList struct {
		Products []hostaccess.Product `json:"products"`
	}
	InvitationList struct {
		Invitations []hostaccess.Invitation `json:"invitations"`
	}
	MemberList struct {
		Members []hostaccess.Member `json:"members"`
	}
	ContactList struct {
		Contacts []hostaccess.Contact `json:"contacts"`
	}
	// ContactCreated answers AddContact.
	ContactCreated struct {
		Contact hostaccess.Contact `json:"contact"`
		hostaccess.Result
	}
	RecipientList struct {
		Recipients []hostaccess.Recipient `json:"recipients"`
	}
	AuditEntries struct {
		Entries []hostaccess.AuditEntry `json:"entries"`
	}
	// AuditReport answers AuditVerify: what checking the stored chain found.
	AuditReport = directory.ChainReport
	// HolderList answers WhoCan; paged (limit or cursor given), it also
	// carries the next page's cursor and the listing's revision.
	HolderList struct {
		Holders []hostaccess.Holder `json:"holders"`
		Next    string              `json:"next,omitempty"`
		At      string              `json:"at,omitempty"`
	}
	AnswerList struct {
		Answers []hostaccess.Answer `json:"answers"`
	}
)
