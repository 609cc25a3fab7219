package directory

import (
	"context"
	"encoding/json"
	"time"
)

// AccessRequestStatus is where an access request is in its life.
type AccessRequestStatus string

// Access request statuses. A request is decided once: pending moves to
// approved or refused and never back. Lapsing is read from ExpiresAt, not
// stored as a status (as for invitations).
const (
	AccessRequestPending  AccessRequestStatus = "pending"
	AccessRequestApproved AccessRequestStatus = "approved"
	AccessRequestRefused  AccessRequestStatus = "refused"
)

// AccessRequest is a member's request for access they lack: what they
// asked, why, and how it was decided.
type AccessRequest struct {
	ID        string // ACCOUNT/16 hex digits
	AccountID string
	UserID    string // the requester
	// Requested is the access asked for, as the domain layer encodes it.
	Requested json.RawMessage
	Reason    string
	Status    AccessRequestStatus
	CreatedAt time.Time
	ExpiresAt time.Time
	DecidedBy string    // who approved or refused it ("user:bob", "service:panel")
	DecidedAt time.Time // zero while pending
	Note      string    // the decider's note, if any
}

// AccessRequestFilter selects an account's access requests. Every field set
// must match.
type AccessRequestFilter struct {
	UserID   string                // one requester's; "" for everyone's
	Statuses []AccessRequestStatus // one of these; all when empty
}

// AccessRequests stores access requests.
type AccessRequests interface {
	// CreateAccessRequest stores a new request; ErrConflict if the id exists.
	CreateAccessRequest(ctx context.Context, r AccessRequest) error
	GetAccessRequest(ctx context.Context, id string) (AccessRequest, error)
	// ListAccessRequests lists an account's requests matching f, oldest
	// first (then by id).
	ListAccessRequests(ctx context.Context, accountID string, f AccessRequestFilter) ([]AccessRequest, error)
	// SetAccessRequestStatus moves a request from one status to another
	// (compare-and-set), recording who decided, when, and their note:
	// ErrConflict if it is not in status from, ErrNotFound if absent. Of
	// concurrent callers moving it from the same status, exactly one wins.
	SetAccessRequestStatus(ctx context.Context, id string, from, to AccessRequestStatus, by string, at time.Time, note string) error
}
