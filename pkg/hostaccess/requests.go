package hostaccess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/schema"
)

// Access requests (docs/access-requests.md): a member asks for a right or a
// product scope they lack, with a reason; the people who manage the
// account's users see the pending requests and approve or refuse them.
// Approving grants what was asked through the same rules as SetAccess
// (checkGrant: nobody grants what they do not hold, the administrator cap,
// nobody raises their own access); refusing, or letting a request lapse,
// changes no access.
//
// Whether a request still stands is decided in SpiceDB, as for an
// invitation: creating it writes its pending marker (an operation
// relationship expiring with the request), and approving or refusing
// removes that marker under a precondition that it is still there, so of
// racing decisions exactly one applies, and none after the request lapsed.
// The directory record (text, status, decision) follows through the
// journal's steps: it is created, and marked approved or refused, only once
// the write applied; Recover finishes the job after a crash.

// Limits of access requests.
const (
	// RequestTTL is how long a request waits for a decision.
	RequestTTL = 7 * 24 * time.Hour
	// MaxReasonLen bounds a request's reason, in characters once trimmed.
	MaxReasonLen = 500
	// MaxNoteLen bounds the note of an approval or a refusal.
	MaxNoteLen = 500
	// MaxPendingRequests is how many requests one person may have
	// pending on one account at once.
	MaxPendingRequests = 20
)

// Request statuses as listed: the stored ones, and expired for a request
// still pending past its ExpiresAt.
const (
	RequestPending  = string(directory.AccessRequestPending)
	RequestApproved = string(directory.AccessRequestApproved)
	RequestRefused  = string(directory.AccessRequestRefused)
	RequestExpired  = "expired"
)

// RequestStatuses lists the statuses a request can be listed with.
var RequestStatuses = []string{RequestPending, RequestApproved, RequestRefused, RequestExpired}

// AccessRequestInput is what a member asks for, and why.
type AccessRequestInput struct {
	// Access is what they want added to what they hold: rights, the
	// administrator role, technical or view product scopes. Not an
	// expiry nor notifications, which are not rights.
	Access Access `json:"access"`
	// Reason says why, for those who decide: 1 to MaxReasonLen characters.
	Reason string `json:"reason"`
}

// AccessRequest is a request as listed.
type AccessRequest struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	// UserID is the member who asked.
	UserID string `json:"user_id"`
	// Access is what approving adds: what was asked, less what the member
	// already held when asking.
	Access    Access    `json:"access"`
	Reason    string    `json:"reason"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// DecidedBy and DecidedAt say who approved or refused it, and when.
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	Note      string     `json:"note,omitempty"`
}

// requestGrant is what an approval's audit entry records after: the
// requester and the access they then hold (the access review reads it).
type requestGrant struct {
	User   string `json:"user"`
	Access Access `json:"access"`
	Note   string `json:"note,omitempty"`
}

// accessRequestStep is the journal step creating a request's record
// (Create) or moving its status (ID, From, To...).
type accessRequestStep struct {
	Create *directory.AccessRequest      `json:"create,omitempty"`
	ID     string                        `json:"id,omitempty"`
	From   directory.AccessRequestStatus `json:"from,omitempty"`
	To     directory.AccessRequestStatus `json:"to,omitempty"`
	By     string                        `json:"by,omitempty"`
	At     time.Time                     `json:"at,omitzero"`
	Note   string                        `json:"note,omitempty"`
}

// applyAccessRequestStep runs a request step; running it twice changes
// nothing.
func (s *Service) applyAccessRequestStep(ctx context.Context, st accessRequestStep) error {
	if st.Create != nil {
		err := s.dir.CreateAccessRequest(ctx, *st.Create)
		if errors.Is(err, directory.ErrConflict) {
			return nil // created before
		}
		return err
	}
	err := s.dir.SetAccessRequestStatus(ctx, st.ID, st.From, st.To, st.By, st.At, st.Note)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return nil // never recorded: nothing to decide
	case errors.Is(err, directory.ErrConflict):
		if r, gerr := s.dir.GetAccessRequest(ctx, st.ID); gerr == nil && r.Status == st.To {
			return nil // done before
		}
	}
	return err
}

// requestMarker is the relationship standing while a request is pending.
func requestMarker(r directory.AccessRequest) *v1.Relationship {
	return relationship(typeOperation, "request_"+r.ID, schema.RelApplied, typeAccount, r.AccountID)
}

// askable checks what a request asks and normalizes it.
func (a Access) askable() (Access, error) {
	if a.ExpiresAt != nil {
		return Access{}, invalidf("access.expires_at: a request asks for rights, not for an end to the membership")
	}
	if len(a.Notifications) > 0 {
		return Access{}, invalidf("access.notifications: notifications are not rights; ask for rights or product scopes")
	}
	if len(a.AllowedCIDRs) > 0 {
		return Access{}, invalidf("access.allowed_cidrs: a request asks for rights, not for where they hold; the membership's networks stay as they are")
	}
	a, err := a.normalize()
	if err != nil {
		return Access{}, err
	}
	if !a.grantsAnything() {
		return Access{}, invalidf("the request asks for nothing: name a right, the administrator role or a product scope")
	}
	return a, nil
}

// checkRequestText checks a reason or a note and returns it trimmed.
func checkRequestText(field, value string, limit int, required bool) (string, error) {
	if err := checkText(field, value, limit); err != nil {
		return "", err
	}
	value = strings.TrimSpace(value)
	if required && value == "" {
		return "", invalidf("%s is required: say why the access is needed", field)
	}
	return value, nil
}

// RequestAccess records a member's request for access they lack. Only a
// member may ask, and only for themself (an owner holds every right
// already); what they ask must name existing products, groups and tags,
// and not be held already. The request lapses after RequestTTL.
func (s *Service) RequestAccess(ctx context.Context, actor Actor, accountID string, in AccessRequestInput) (_ AccessRequest, _ Result, err error) {
	defer countFlow("request_access", &err)
	if err := actor.validate(); err != nil {
		return AccessRequest{}, Result{}, err
	}
	if actor.isSystem() {
		return AccessRequest{}, Result{}, invalidf("an access request is a member's own: act as the person who asks")
	}
	reason, err := checkRequestText("reason", in.Reason, MaxReasonLen, true)
	if err != nil {
		return AccessRequest{}, Result{}, err
	}
	asked, err := in.Access.askable()
	if err != nil {
		return AccessRequest{}, Result{}, err
	}
	_, st, err := s.loadAccountAs(ctx, actor, accountID, schema.PermAccess, "ask for access on "+accountID)
	if err != nil {
		return AccessRequest{}, Result{}, err
	}
	me := actor.UserID
	if st.isOwner(me) {
		return AccessRequest{}, Result{}, errorf(ErrOwnerHoldsEveryRight, "%s owns %s and holds every right: there is nothing to ask for", me, accountID)
	}
	member := st.memberTuple(me)
	if member == nil {
		return AccessRequest{}, Result{}, forbiddenf("%s may not ask for access on %s: only its members may", actor, accountID)
	}
	add := additions(st.accessOf(me), asked)
	if !add.grantsAnything() {
		return AccessRequest{}, Result{}, invalidf("%s already holds everything asked for on %s", me, accountID)
	}
	scopePre, err := st.scopeExists(add.Technical)
	if err != nil {
		return AccessRequest{}, Result{}, err
	}
	viewPre, err := st.scopeExists(add.View)
	if err != nil {
		return AccessRequest{}, Result{}, err
	}
	now := s.now().UTC()
	pending, err := s.dir.ListAccessRequests(ctx, accountID, directory.AccessRequestFilter{UserID: me, Statuses: []directory.AccessRequestStatus{directory.AccessRequestPending}})
	if err != nil {
		return AccessRequest{}, Result{}, fromDirectory(err, "access requests of "+accountID)
	}
	waiting := 0
	for _, r := range pending {
		if now.Before(r.ExpiresAt) {
			waiting++
		}
	}
	if waiting >= MaxPendingRequests {
		return AccessRequest{}, Result{}, errorf(ErrConflict, "%s has %d requests pending on %s, the most allowed: wait for a decision", me, waiting, accountID)
	}

	id, err := newID(accountID)
	if err != nil {
		return AccessRequest{}, Result{}, err
	}
	expires := now.Add(RequestTTL).Truncate(time.Second)
	rec := directory.AccessRequest{
		ID: id, AccountID: accountID, UserID: me, Requested: mustJSON(add), Reason: reason,
		Status: directory.AccessRequestPending, CreatedAt: now, ExpiresAt: expires,
	}
	// The record is written once the marker is: a request is never listed
	// before the write that makes it decidable, nor without its audit entry.
	token, err := s.commit(ctx, change{
		actor: actor, flow: "request_access", accountID: accountID, target: "request:" + id,
		after:   map[string]any{"user": me, "access": add, "reason": reason, "expires_at": expires},
		updates: []*v1.RelationshipUpdate{touch(expiring(requestMarker(rec), &expires))},
		pre:     append(append(scopePre, viewPre...), mustExist(member)),
		then:    []step{{AccessRequest: &accessRequestStep{Create: &rec}}},
	})
	if err != nil {
		if isConflict(err) {
			return AccessRequest{}, Result{}, errorf(ErrConflict, "the membership of %s on %s, or a product asked for, changed meanwhile; try again", me, accountID)
		}
		return AccessRequest{}, Result{}, err
	}
	return toAccessRequest(rec, now), result(token), nil
}

// ListAccessRequests lists an account's access requests, oldest first:
// every request for those who manage the account's users, their own for
// its other members. status filters them (pending, approved, refused or
// expired; "" for all).
func (s *Service) ListAccessRequests(ctx context.Context, actor Actor, accountID, status string) ([]AccessRequest, error) {
	if err := validName("account id", accountID); err != nil {
		return nil, err
	}
	var stored []directory.AccessRequestStatus
	switch status {
	case "":
	case RequestPending, RequestExpired:
		stored = []directory.AccessRequestStatus{directory.AccessRequestPending}
	case RequestApproved, RequestRefused:
		stored = []directory.AccessRequestStatus{directory.AccessRequestStatus(status)}
	default:
		return nil, invalidf("status %s: want %s", quoteShort(status), strings.Join(RequestStatuses, ", "))
	}
	filter := directory.AccessRequestFilter{Statuses: stored}
	err := s.authorize(ctx, actor, []need{{resource: accountRef(accountID), permission: schema.PermManageUsers, what: "see the access requests of " + accountID}})
	if errors.Is(err, ErrForbidden) {
		// A member sees their own requests.
		if err = s.authorize(ctx, actor, []need{{resource: accountRef(accountID), permission: schema.PermAccess, what: "see the access requests of " + accountID}}); err == nil {
			filter.UserID = actor.UserID
		}
	}
	if err != nil {
		return nil, err
	}
	recs, err := s.dir.ListAccessRequests(ctx, accountID, filter)
	if err != nil {
		return nil, fromDirectory(err, "access requests of "+accountID)
	}
	now := s.now()
	out := make([]AccessRequest, 0, len(recs))
	for _, r := range recs {
		if live := toAccessRequest(r, now); status == "" || live.Status == status {
			out = append(out, live)
		}
	}
	return out, nil
}

func toAccessRequest(r directory.AccessRequest, now time.Time) AccessRequest {
	var asked Access
	_ = json.Unmarshal(r.Requested, &asked)
	out := AccessRequest{
		ID: r.ID, AccountID: r.AccountID, UserID: r.UserID, Access: asked, Reason: r.Reason, Status: string(r.Status),
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, DecidedBy: r.DecidedBy, Note: r.Note,
	}
	if r.Status == directory.AccessRequestPending && !now.Before(r.ExpiresAt) {
		out.Status = RequestExpired
	}
	if !r.DecidedAt.IsZero() {
		at := r.DecidedAt.UTC()
		out.DecidedAt = &at
	}
	return out
}

// requestNotPending says why a request can no longer be decided.
func requestNotPending(r directory.AccessRequest, now time.Time) error {
	switch {
	case r.Status != directory.AccessRequestPending:
		return errorf(ErrRequestNotPending, "access request %s was %s by %s", r.ID, r.Status, r.DecidedBy)
	case !now.Before(r.ExpiresAt):
		return errorf(ErrRequestExpired, "access request %s lapsed at %s: the member may ask again", r.ID, r.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// pendingRequest loads a request of accountID to decide, after checking
// that the actor manages the account's users: one who does not learns
// nothing of it, not even whether it exists.
func (s *Service) pendingRequest(ctx context.Context, actor Actor, accountID, id string) (directory.AccessRequest, error) {
	if err := validObjectID("access request id", id); err != nil {
		return directory.AccessRequest{}, err
	}
	if err := validName("account id", accountID); err != nil {
		return directory.AccessRequest{}, err
	}
	if err := s.authorize(ctx, actor, []need{{resource: accountRef(accountID), permission: schema.PermManageUsers, what: "decide the access requests of " + accountID}}); err != nil {
		return directory.AccessRequest{}, err
	}
	r, err := s.dir.GetAccessRequest(ctx, id)
	if errors.Is(err, directory.ErrNotFound) || (err == nil && r.AccountID != accountID) {
		return directory.AccessRequest{}, notFoundf("access request %s in account %s", id, accountID)
	}
	if err != nil {
		return directory.AccessRequest{}, fromDirectory(err, "access request "+id)
	}
	return r, requestNotPending(r, s.now())
}

// lostDecision interprets a decision whose write found the request's
// marker gone: another decision applied, or the request lapsed, meanwhile.
func (s *Service) lostDecision(ctx context.Context, r directory.AccessRequest) error {
	if now, err := s.dir.GetAccessRequest(ctx, r.ID); err == nil {
		if e := requestNotPending(now, s.now()); e != nil {
			return e
		}
	}
	return errorf(ErrRequestNotPending, "access request %s was decided meanwhile (or lapsed)", r.ID)
}

// markerGone reports whether a request's pending marker is no longer there.
func (s *Service) markerGone(ctx context.Context, r directory.AccessRequest) bool {
	rels, _, err := s.readAll(ctx, exactFilter(requestMarker(r)), fullyConsistent())
	return err == nil && len(rels) == 0
}

// ApproveAccessRequest grants a pending request: the requester then holds
// what they held and what they asked, through SetAccess's rules, in one
// write that also removes the request's marker. The approver must hold
// everything granted and may not approve their own request. A requester
// who is no longer a member (or became an owner) cannot be granted: the
// approval fails and the request stays pending, to be refused or to lapse.
func (s *Service) ApproveAccessRequest(ctx context.Context, actor Actor, accountID, id, note string) (_ AccessRequest, _ Result, err error) {
	defer countFlow("approve_request", &err)
	if note, err = checkRequestText("note", note, MaxNoteLen, false); err != nil {
		return AccessRequest{}, Result{}, err
	}
	for attempt := 1; ; attempt++ {
		out, res, seatLost, err := s.approveOnce(ctx, actor, accountID, id, note)
		if !seatLost || attempt == seatAttempts {
			return out, res, err
		}
	}
}

// approveOnce is one try of ApproveAccessRequest; seatLost as for SetAccess.
func (s *Service) approveOnce(ctx context.Context, actor Actor, accountID, id, note string) (AccessRequest, Result, bool, error) {
	r, err := s.pendingRequest(ctx, actor, accountID, id)
	if err != nil {
		return AccessRequest{}, Result{}, false, err
	}
	if actor.UserID == r.UserID {
		return AccessRequest{}, Result{}, false, errorf(ErrEscalation, "%s cannot approve their own request: another person who manages the users of %s must", actor, accountID)
	}
	var asked Access
	if err := json.Unmarshal(r.Requested, &asked); err != nil {
		return AccessRequest{}, Result{}, false, fmt.Errorf("access request %s: stored access unreadable: %w", id, err)
	}
	acct, st, err := s.loadAccount(ctx, accountID)
	if err != nil {
		return AccessRequest{}, Result{}, false, err
	}
	if !st.isOwner(r.UserID) && st.memberTuple(r.UserID) == nil {
		return AccessRequest{}, Result{}, false, notFoundf("%s is no longer a member of %s: nothing can be granted; the request stays pending until it is refused or lapses", r.UserID, accountID)
	}
	current := st.accessOf(r.UserID)
	granted := union(current, asked)
	// Approving adds what was asked, nothing else: the membership's end and
	// networks stay as they are (union would lift a restriction).
	granted.ExpiresAt, granted.AllowedCIDRs = current.ExpiresAt, current.AllowedCIDRs
	c, takesSeat, err := s.accessChange(ctx, actor, acct, st, r.UserID, granted)
	if err != nil {
		return AccessRequest{}, Result{}, false, err
	}
	at := s.now().UTC()
	marker := requestMarker(r)
	c.flow, c.target = "approve_request", "request:"+id
	c.before = requestGrant{User: r.UserID, Access: current}
	c.after = requestGrant{User: r.UserID, Access: granted, Note: note}
	c.updates = append(c.updates, remove(marker))
	c.pre = append(c.pre, mustExist(marker))
	c.then = []step{{AccessRequest: &accessRequestStep{ID: id, From: directory.AccessRequestPending, To: directory.AccessRequestApproved, By: actor.String(), At: at, Note: note}}}
	token, err := s.commit(ctx, c)
	if err != nil {
		if isConflict(err) && s.markerGone(ctx, r) {
			return AccessRequest{}, Result{}, false, s.lostDecision(ctx, r)
		}
		seatLost, err := s.grantFailed(ctx, err, takesSeat, st, r.UserID)
		return AccessRequest{}, Result{}, seatLost, err
	}
	r.Status, r.DecidedBy, r.DecidedAt, r.Note = directory.AccessRequestApproved, actor.String(), at, note
	return toAccessRequest(r, at), result(token), false, nil
}

// RefuseAccessRequest turns a pending request down: no access changes, and
// the request can no longer be approved. Those who manage the account's
// users refuse.
func (s *Service) RefuseAccessRequest(ctx context.Context, actor Actor, accountID, id, note string) (_ AccessRequest, _ Result, err error) {
	defer countFlow("refuse_request", &err)
	if note, err = checkRequestText("note", note, MaxNoteLen, false); err != nil {
		return AccessRequest{}, Result{}, err
	}
	r, err := s.pendingRequest(ctx, actor, accountID, id)
	if err != nil {
		return AccessRequest{}, Result{}, err
	}
	at := s.now().UTC()
	marker := requestMarker(r)
	token, err := s.commit(ctx, change{
		actor: actor, flow: "refuse_request", accountID: accountID, target: "request:" + id,
		before:  map[string]string{"user": r.UserID, "status": RequestPending},
		after:   map[string]string{"user": r.UserID, "status": RequestRefused, "note": note},
		updates: []*v1.RelationshipUpdate{remove(marker)},
		pre:     []*v1.Precondition{mustExist(marker)},
		then:    []step{{AccessRequest: &accessRequestStep{ID: id, From: directory.AccessRequestPending, To: directory.AccessRequestRefused, By: actor.String(), At: at, Note: note}}},
	})
	if err != nil {
		if isConflict(err) {
			return AccessRequest{}, Result{}, s.lostDecision(ctx, r)
		}
		return AccessRequest{}, Result{}, err
	}
	r.Status, r.DecidedBy, r.DecidedAt, r.Note = directory.AccessRequestRefused, actor.String(), at, note
	return toAccessRequest(r, at), result(token), nil
}
