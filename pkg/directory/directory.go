// Package directory defines where hostaccess keeps what is not access:
// account names and limits, people's e-mails and names, invitation metadata,
// contact details and the audit log. Relationships in SpiceDB stay the only
// truth for who may do what; nothing here ever decides a check.
//
// A Store is built from small role interfaces. Every implementation must
// pass the conformance suite in package directorytest.
package directory

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Errors every Store returns, wrapped or not.
var (
	// ErrNotFound: no record with that key.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a record with that key already exists, or a
	// compare-and-set found another state than expected.
	ErrConflict = errors.New("conflict")
)

// Account is an account's directory record.
type Account struct {
	ID        string
	Name      string
	HostID    string
	AdminCap  int // administrators allowed, pending invitations included
	CreatedAt time.Time
}

// Person is what the directory knows of a login: filled in when an
// invitation is accepted or an account created.
type Person struct {
	UserID      string
	Email       string // normalised: trimmed, lower case
	DisplayName string
	UpdatedAt   time.Time
}

// InvitationStatus is where an invitation is in its life.
type InvitationStatus string

// Invitation statuses. Only pending invitations can be accepted; expiry is
// read from ExpiresAt, not stored as a status.
const (
	InvitationPending    InvitationStatus = "pending"
	InvitationAccepted   InvitationStatus = "accepted"
	InvitationRevoked    InvitationStatus = "revoked"
	InvitationSuperseded InvitationStatus = "superseded" // regenerated: a newer link replaced it
)

// Invitation is an invitation's metadata. The token itself is never stored:
// only its SHA-256 hash.
type Invitation struct {
	ID        string
	AccountID string
	Email     string // normalised
	TokenHash []byte
	// Access is the offered access, as the domain layer encodes it.
	Access       json.RawMessage
	InvitedBy    string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	Status       InvitationStatus
	StatusAt     time.Time
	StatusBy     string // who accepted, revoked or regenerated it
	SupersededBy string // the invitation that replaced it, when regenerated
}

// Contact is a contact's details (a person without a login).
type Contact struct {
	ID        string
	AccountID string
	Name      string
	Email     string
	Phone     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AuditOutcome is whether the change an audit entry records took place.
//
// Audit entries double as the write-ahead journal of the flows: a flow
// appends its entry as an intent BEFORE its relationship write, then marks
// it applied (or abandoned). After a crash, recovery finds the intents left
// behind and settles each from what SpiceDB holds, so no change is ever
// visible without its audit entry.
type AuditOutcome string

// Audit outcomes.
const (
	AuditIntent    AuditOutcome = "intent"    // recorded before the write; not settled yet
	AuditApplied   AuditOutcome = "applied"   // the change took place
	AuditAbandoned AuditOutcome = "abandoned" // the write never applied
)

// AuditEntry records one change: who made it, when, through which flow.
type AuditEntry struct {
	Seq       int64 // assigned by the store, increasing
	Time      time.Time
	Actor     string // "user:alice" or "service:billing"
	Flow      string // "invite", "accept_invitation", "set_access", ...
	AccountID string
	Target    string // what the change was about: "user:carol", "invitation:acme/x1"
	Before    json.RawMessage
	After     json.RawMessage
	ZedToken  string // the revision of the relationship write, if any
	// Outcome is AuditApplied when empty on append (a change with no
	// relationship write to wait for).
	Outcome AuditOutcome
	// Operation is the id of the flow's marker relationship, which tells
	// recovery whether the write applied.
	Operation string
	// Recovery holds the directory steps that finish (or undo) the flow,
	// as the domain layer encodes them.
	Recovery json.RawMessage
	// Chain is the entry's position in the evidence chain (chain.go), and
	// PrevHash and Hash its links: set by the store when the entry is
	// sealed, that is when its outcome is final; zero for an intent.
	Chain    int64
	PrevHash []byte
	Hash     []byte
}

// AuditFilter selects audit entries, newest first. Every field set must
// match.
type AuditFilter struct {
	AccountID string    // one account's entries; "" for every account
	Actor     string    // who made the change: "user:alice"
	Flow      string    // through which flow: "set_access"
	Target    string    // what it was about: "user:carol"
	Since     time.Time // only entries at or after this time
	Until     time.Time // only entries before this time
	BeforeSeq int64     // only entries with Seq < BeforeSeq; 0 for the newest
	Limit     int       // at most this many; 0 means 100
}

// ChainFilter selects sealed entries in chain order, for the feed and the
// export.
type ChainFilter struct {
	After     int64  // only positions above this one; 0 from the start
	AccountID string // one account's entries; "" for all
	Limit     int    // at most this many; 0 means 100
}

// Accounts stores account records.
type Accounts interface {
	// CreateAccount stores a new account; ErrConflict if the id exists.
	CreateAccount(ctx context.Context, a Account) error
	// UpdateAccount replaces an existing account; ErrNotFound if absent.
	UpdateAccount(ctx context.Context, a Account) error
	GetAccount(ctx context.Context, id string) (Account, error)
	// GetAccounts returns the accounts found among ids (absent ones are left out).
	GetAccounts(ctx context.Context, ids []string) (map[string]Account, error)
	DeleteAccount(ctx context.Context, id string) error
}

// People stores people's e-mails and names.
type People interface {
	// PutPerson creates or replaces a person.
	PutPerson(ctx context.Context, p Person) error
	GetPerson(ctx context.Context, userID string) (Person, error)
	// GetPeople returns the people found among userIDs.
	GetPeople(ctx context.Context, userIDs []string) (map[string]Person, error)
}

// Invitations stores invitation metadata.
type Invitations interface {
	// CreateInvitation stores a new invitation; ErrConflict if the id or
	// the token hash exists.
	CreateInvitation(ctx context.Context, inv Invitation) error
	GetInvitation(ctx context.Context, id string) (Invitation, error)
	GetInvitationByTokenHash(ctx context.Context, hash []byte) (Invitation, error)
	// ListInvitations lists an account's invitations with one of the given
	// statuses (all when none), oldest first.
	ListInvitations(ctx context.Context, accountID string, statuses ...InvitationStatus) ([]Invitation, error)
	// SetInvitationStatus moves an invitation from one status to another
	// (compare-and-set): ErrConflict if it is not in status from.
	SetInvitationStatus(ctx context.Context, id string, from, to InvitationStatus, by string, at time.Time, supersededBy string) error
}

// Contacts stores contact details.
type Contacts interface {
	// PutContact creates or replaces a contact.
	PutContact(ctx context.Context, c Contact) error
	GetContact(ctx context.Context, id string) (Contact, error)
	// GetContacts returns the contacts found among ids.
	GetContacts(ctx context.Context, ids []string) (map[string]Contact, error)
	ListContacts(ctx context.Context, accountID string) ([]Contact, error)
	DeleteContact(ctx context.Context, id string) error
}

// Audit stores the audit log, append-only but for settling intents.
type Audit interface {
	// AppendAudit stores an entry and returns it with its Seq (and
	// Outcome AuditApplied when it was empty).
	AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
	// SettleAudit moves an entry from one outcome to another
	// (compare-and-set: ErrConflict if it is not in outcome from,
	// ErrNotFound if absent), recording the write's ZedToken when given.
	SettleAudit(ctx context.Context, seq int64, from, to AuditOutcome, zedToken string) error
	// ListAuditIntents lists unsettled intents recorded before the given
	// time, across all accounts, oldest first, at most limit (0: 100).
	ListAuditIntents(ctx context.Context, before time.Time, limit int) ([]AuditEntry, error)

	// AppendAudit and SettleAudit seal every entry whose outcome becomes
	// final into the chain (chain.go), in the same write.

	// ListChain lists sealed entries in chain order.
	ListChain(ctx context.Context, f ChainFilter) ([]AuditEntry, error)
	// Chain returns where the stored chain starts and ends.
	Chain(ctx context.Context) (ChainState, error)
	// PruneAudit removes sealed entries older than before, oldest first in
	// chain order, stopping at the first that is not older, and makes the
	// last one removed the chain's anchor. Intents are never removed. It
	// returns how many entries it removed.
	PruneAudit(ctx context.Context, before time.Time) (int, error)
}

// Freshness stores each account's freshness token: the ZedToken of the
// newest relationship write known to have changed it, so every node and
// every restart asks SpiceDB for answers at least that fresh. Which of two
// tokens is newer is decided by pkg/freshness; the store only keeps one
// token per scope (an account id) with compare-and-set.
type Freshness interface {
	// GetFreshness returns the scope's token; ErrNotFound if none.
	GetFreshness(ctx context.Context, scope string) (string, error)
	// SetFreshness replaces the scope's token with next if it still is old
	// ("" when there is none yet): ErrConflict otherwise.
	SetFreshness(ctx context.Context, scope, old, next string) error
	// AddExpiry remembers that a time-bound relationship of scope lapses
	// at at, so that every node, including one started later, refreshes
	// the scope's answers then (adding one twice is no error).
	AddExpiry(ctx context.Context, scope string, at time.Time) error
	// PendingExpiries lists the expiries after now, earliest first, and
	// forgets those at or before it.
	PendingExpiries(ctx context.Context, now time.Time) ([]Expiry, error)
}

// Expiry is a time a scope's answers change by themselves: a time-bound
// relationship of it lapses.
type Expiry struct {
	Scope string
	At    time.Time
}

// Snapshot is the whole directory, for backups. Freshness tokens are left
// out: they are revisions of one datastore, meaningless in another.
type Snapshot struct {
	Accounts    []Account
	People      []Person
	Invitations []Invitation
	Contacts    []Contact
	Tokens      []Token
	Audit       []AuditEntry
	// AccessRequests are kept whatever their status: decided ones are
	// the history an approver's note belongs to.
	AccessRequests []AccessRequest
	// Chain is the audit chain's anchor and head, kept so that the copy
	// verifies as the original did.
	Chain ChainState
}

// Backup exports and imports the whole directory.
type Backup interface {
	// ExportAll reads everything at one point in time (one transaction).
	ExportAll(ctx context.Context) (Snapshot, error)
	// ImportAll loads a snapshot into an EMPTY store, keeping every field
	// (audit Seq included), in one transaction: ErrConflict, and nothing
	// written, if the store holds anything.
	ImportAll(ctx context.Context, s Snapshot) error
}

// Store is everything the directory holds.
type Store interface {
	Accounts
	People
	Invitations
	Contacts
	Tokens
	AccessRequests
	Audit
	Freshness
	Backup
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
	Close() error
}
