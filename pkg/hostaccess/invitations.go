package hostaccess

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"go.uber.org/zap"

	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/schema"
)

// NormalizeEmail trims and lower-cases an address after checking it is one:
// invitations are bound to the normalised address.
func NormalizeEmail(s string) (string, error) {
	if err := checkEmailText("e-mail address", s); err != nil {
		return "", err
	}
	addr, err := mail.ParseAddress(strings.TrimSpace(s))
	if err != nil || addr.Name != "" || !strings.Contains(addr.Address, "@") {
		return "", invalidf("%s is not an e-mail address", quoteShort(s))
	}
	return strings.ToLower(addr.Address), nil
}

// tokenBytes is the invitation token's entropy: 256 random bits.
const tokenBytes = 32

func newToken() (token string, hash []byte, err error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	// Hex, not base64url: a token never starts with "-", which a command
	// line would take for a flag.
	token = hex.EncodeToString(b)
	return token, hashToken(token), nil
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// newID makes an id under the account: 64 random bits in hex, which never
// starts with "-" (a command line would take it for a flag).
func newID(accountID string) (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return objectID(accountID, hex.EncodeToString(b)), nil
}

// Invitation is an invitation as listed to those who manage users.
type Invitation struct {
	ID        string    `json:"id"`
	AccountID string    `json:"account_id"`
	Email     string    `json:"email"`
	Access    Access    `json:"access"`
	InvitedBy string    `json:"invited_by"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// Status is pending, accepted, revoked, superseded or expired.
	Status string `json:"status"`
}

// InvitationLink is what the inviter gets: the link to copy (or the bare
// token when no URL template is configured), and whether it was e-mailed.
type InvitationLink struct {
	Invitation Invitation `json:"invitation"`
	Token      string     `json:"token"`
	URL        string     `json:"url,omitempty"`
	Emailed    bool       `json:"emailed"`
	// EmailError says why the e-mail was not sent (the link still works).
	EmailError string `json:"email_error,omitempty"`
	Result
}

// Invite offers access to an e-mail address. Only holders of user
// management invite, and only with rights and scope they hold themselves.
// An administrator invitation takes a seat under the account's cap until it
// is accepted, revoked or expires.
func (s *Service) Invite(ctx context.Context, actor Actor, accountID, email string, access Access) (_ InvitationLink, err error) {
	defer countFlow("invite", &err)
	if err := s.checkAccess(&access); err != nil {
		return InvitationLink{}, err
	}
	email, err = NormalizeEmail(email)
	if err != nil {
		return InvitationLink{}, err
	}
	if access, err = access.normalize(); err != nil {
		return InvitationLink{}, err
	}
	for attempt := 1; ; attempt++ {
		link, seatLost, err := s.inviteOnce(ctx, actor, accountID, email, access)
		if !seatLost || attempt == seatAttempts {
			return link, err
		}
	}
}

// inviteOnce is one try of Invite; seatLost reports a lost race for the
// administrator seat it chose (and nothing else), safe to try again.
func (s *Service) inviteOnce(ctx context.Context, actor Actor, accountID, email string, access Access) (InvitationLink, bool, error) {
	link, err := s.invite(ctx, actor, accountID, email, access)
	if err != nil && access.Administrator && errors.Is(err, errSeatLost) {
		return link, true, errorf(ErrAdminCapReached, "other administrators took every free seat of %s meanwhile", accountID)
	}
	return link, false, err
}

// errSeatLost marks an invitation that lost the race for its seat.
var errSeatLost = errors.New("administrator seat taken meanwhile")

func (s *Service) invite(ctx context.Context, actor Actor, accountID, email string, access Access) (InvitationLink, error) {
	acct, st, err := s.loadAccountAs(ctx, actor, accountID, schema.PermManageUsers, "manage the users of "+accountID)
	if err != nil {
		return InvitationLink{}, err
	}
	scopePre, err := s.checkGrant(ctx, actor, st, "", Access{}, access, true)
	if err != nil {
		return InvitationLink{}, err
	}

	id, err := newID(accountID)
	if err != nil {
		return InvitationLink{}, err
	}
	token, hash, err := newToken()
	if err != nil {
		return InvitationLink{}, err
	}
	now := s.now().UTC()
	expires := now.Add(s.ttl).Truncate(time.Second)
	updates, pre, err := invitationTuples(st, acct, id, actor, access, expires, nil)
	if err != nil {
		return InvitationLink{}, err
	}
	pre = append(pre, scopePre...)

	inv := directory.Invitation{
		ID: id, AccountID: accountID, Email: email, TokenHash: hash, Access: mustJSON(access),
		InvitedBy: actor.String(), CreatedAt: now, ExpiresAt: expires, Status: directory.InvitationPending, StatusAt: now,
	}
	// The directory record comes first (after the intent): an invitation
	// never exists in SpiceDB without the metadata to accept or revoke it.
	token2, err := s.commit(ctx, change{
		actor: actor, flow: "invite", accountID: accountID, target: "invitation:" + id,
		after: map[string]any{"email": email, "access": access, "expires_at": expires},
		prepare: func(ctx context.Context) error {
			return fromDirectory(s.dir.CreateInvitation(ctx, inv), "invitation "+id)
		},
		updates: updates, pre: pre, state: st, decidedBy: personal(actor),
		undo: []step{{InvitationStatus: &invitationStep{ID: id, From: directory.InvitationPending, To: directory.InvitationRevoked, By: "hostaccess: write failed", At: now}}},
	})
	if err != nil {
		if isConflict(err) {
			if access.Administrator && s.onlySeatChanged(ctx, st, actor.UserID) {
				return InvitationLink{}, errSeatLost
			}
			return InvitationLink{}, errorf(ErrConflict, "the access of %s on %s, or a product offered, changed meanwhile; try again", actor, accountID)
		}
		return InvitationLink{}, err
	}
	link := s.deliver(ctx, actor, acct, inv, token)
	link.Result = result(token2)
	return link, nil
}

// invitationTuples are the relationships of a pending invitation, and the
// preconditions that keep an administrator seat race-free. reuseSeat is the
// seat a regenerated invitation inherits.
func invitationTuples(st *accountState, acct directory.Account, id string, actor Actor, access Access, expires time.Time, reuseSeat *string) ([]*v1.RelationshipUpdate, []*v1.Precondition, error) {
	updates := []*v1.RelationshipUpdate{touch(expiring(relationship(typeInvitation, id, schema.RelAccount, typeAccount, acct.ID), &expires))}
	if !actor.isSystem() {
		updates = append(updates, touch(relationship(typeInvitation, id, schema.RelInviter, typeUser, actor.UserID)))
	}
	var pre []*v1.Precondition
	if access.Administrator {
		seat := ""
		if reuseSeat != nil {
			seat = *reuseSeat
		} else {
			free, ok := st.freeSeat(acct.AdminCap)
			if !ok {
				return nil, nil, errorf(ErrAdminCapReached, "%s has %d of %d administrator seats taken (pending invitations count)", acct.ID, st.seatsHeld(), acct.AdminCap)
			}
			seat = free
			pre = append(pre, mustBeFree(typeSeat, seat, schema.RelHolder))
		}
		updates = append(updates, touch(expiring(relationship(typeSeat, seat, schema.RelHolder, typeInvitation, id), &expires)))
	}
	return updates, pre, nil
}

// deliver builds the link and e-mails it when a mailer is configured. A
// delivery failure does not fail the invitation: the inviter gets the link.
func (s *Service) deliver(ctx context.Context, actor Actor, acct directory.Account, inv directory.Invitation, token string) InvitationLink {
	link := InvitationLink{Invitation: toInvitation(inv, s.now()), Token: token}
	if s.urlTmpl != "" {
		link.URL = strings.ReplaceAll(s.urlTmpl, "{token}", url.PathEscape(token))
	}
	if s.mailer == nil {
		return link
	}
	if link.URL == "" {
		link.EmailError = "no invitation URL template is configured"
		return link
	}
	inviter := actor.String()
	if actor.UserID != "" {
		if p, err := s.dir.GetPerson(ctx, actor.UserID); err == nil && p.DisplayName != "" {
			inviter = p.DisplayName
		}
	}
	name := acct.Name
	if name == "" {
		name = acct.ID
	}
	err := s.mailer.SendInvitation(ctx, InvitationMail{To: inv.Email, AccountName: name, InviterName: inviter, Link: link.URL, ExpiresAt: inv.ExpiresAt})
	if err != nil {
		s.log.Warn("invitation e-mail not sent; the inviter has the link", zap.String("invitation", inv.ID), zap.Error(err))
		link.EmailError = err.Error()
		return link
	}
	link.Emailed = true
	return link
}

func toInvitation(inv directory.Invitation, now time.Time) Invitation {
	var access Access
	_ = json.Unmarshal(inv.Access, &access)
	status := string(inv.Status)
	if inv.Status == directory.InvitationPending && !now.Before(inv.ExpiresAt) {
		status = "expired"
	}
	return Invitation{
		ID: inv.ID, AccountID: inv.AccountID, Email: inv.Email, Access: access, InvitedBy: inv.InvitedBy,
		CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt, Status: status,
	}
}

// ListInvitations lists an account's invitations, newest last, with their
// status (expired ones included, so a panel can offer to regenerate them).
func (s *Service) ListInvitations(ctx context.Context, actor Actor, accountID string) ([]Invitation, error) {
	_, st, err := s.loadAccountAs(ctx, actor, accountID, schema.PermManageUsers, "see the invitations of "+accountID)
	if err != nil {
		return nil, err
	}
	return s.listedInvitations(ctx, st, s.now())
}

// listedInvitations is every invitation of the account anyone could see in
// a list, with its status at now.
func (s *Service) listedInvitations(ctx context.Context, st *accountState, now time.Time) ([]Invitation, error) {
	invs, err := s.dir.ListInvitations(ctx, st.id)
	if err != nil {
		return nil, fromDirectory(err, "invitations of "+st.id)
	}
	out := make([]Invitation, 0, len(invs))
	for _, inv := range invs {
		live := toInvitation(inv, now)
		// A pending record whose relationships are not (yet) written is a
		// flow still in flight or interrupted: not an invitation anyone can
		// use, so not listed until recovery settles it.
		if live.Status == string(directory.InvitationPending) && !st.has(typeInvitation, inv.ID, schema.RelAccount, typeAccount, st.id) {
			continue
		}
		out = append(out, live)
	}
	return out, nil
}

// pendingInvitation loads an invitation an actor wants to revoke or
// regenerate, checking the actor manages the account's users.
func (s *Service) pendingInvitation(ctx context.Context, actor Actor, id string) (directory.Invitation, *accountState, directory.Account, error) {
	inv, acct, st, err := s.invitationAs(ctx, actor, id)
	if err != nil {
		return directory.Invitation{}, nil, directory.Account{}, err
	}
	if err := notPendingError(inv, s.now()); err != nil {
		return directory.Invitation{}, nil, directory.Account{}, err
	}
	return inv, st, acct, nil
}

// invitationAs loads an invitation and its account for an actor who
// manages the account's users. The account is the id's prefix, so the actor
// is authorized before anything is read: one without the right learns
// nothing about the invitation, not even whether it exists.
func (s *Service) invitationAs(ctx context.Context, actor Actor, id string) (directory.Invitation, directory.Account, *accountState, error) {
	if err := validObjectID("invitation id", id); err != nil {
		return directory.Invitation{}, directory.Account{}, nil, err
	}
	accountID, _, _ := strings.Cut(id, "/")
	if err := s.authorize(ctx, actor, []need{{resource: accountRef(accountID), permission: schema.PermManageUsers, what: "manage the invitations of " + accountID}}); err != nil {
		return directory.Invitation{}, directory.Account{}, nil, err
	}
	inv, err := s.dir.GetInvitation(ctx, id)
	if err != nil {
		return directory.Invitation{}, directory.Account{}, nil, fromDirectory(err, "invitation "+id)
	}
	if inv.AccountID != accountID {
		return directory.Invitation{}, directory.Account{}, nil, notFoundf("invitation %s", id)
	}
	acct, st, err := s.loadAccount(ctx, inv.AccountID)
	if err != nil {
		return directory.Invitation{}, directory.Account{}, nil, err
	}
	return inv, acct, st, nil
}

// notPendingError says why an invitation can no longer be used.
func notPendingError(inv directory.Invitation, now time.Time) error {
	switch inv.Status {
	case directory.InvitationAccepted:
		return errorf(ErrInvitationUsed, "invitation %s was accepted", inv.ID)
	case directory.InvitationRevoked:
		return errorf(ErrInvitationRevoked, "invitation %s was revoked", inv.ID)
	case directory.InvitationSuperseded:
		return errorf(ErrInvitationRegenerated, "invitation %s was replaced by a new link", inv.ID)
	}
	if !now.Before(inv.ExpiresAt) {
		return errorf(ErrInvitationExpired, "invitation %s expired at %s", inv.ID, inv.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// consumeInvitation are the updates removing a pending invitation's
// relationships, and the precondition that it is still pending: accept,
// revoke and regenerate all carry it, so exactly one of them wins.
func consumeInvitation(st *accountState, inv directory.Invitation) ([]*v1.RelationshipUpdate, *v1.Precondition) {
	var updates []*v1.RelationshipUpdate
	for _, r := range st.find(typeInvitation, inv.ID, "", "", "") {
		updates = append(updates, remove(r))
	}
	for _, r := range st.find(typeSeat, "", schema.RelHolder, typeInvitation, inv.ID) {
		updates = append(updates, remove(r))
	}
	return updates, mustExist(relationship(typeInvitation, inv.ID, schema.RelAccount, typeAccount, inv.AccountID))
}

// lostRace interprets a failed consume precondition: the invitation was
// used, revoked, regenerated or expired meanwhile.
func (s *Service) lostRace(ctx context.Context, id string) error {
	return s.lostRaceOr(ctx, id, errorf(errInvitationNotPending, "invitation %s is no longer pending (accepted, revoked, regenerated or expired meanwhile)", id))
}

// lostRaceOr is lostRace where the invitation's record still says pending
// and its relationships are still there: then another precondition failed,
// and fallback says which.
func (s *Service) lostRaceOr(ctx context.Context, id string, fallback error) error {
	inv, err := s.dir.GetInvitation(ctx, id)
	if err == nil {
		if e := notPendingError(inv, s.now()); e != nil {
			return e
		}
		if rels, _, rerr := s.readAll(ctx, exactFilter(relationship(typeInvitation, id, schema.RelAccount, typeAccount, inv.AccountID)), fullyConsistent()); rerr == nil && len(rels) > 0 {
			return fallback
		}
	}
	return errorf(errInvitationNotPending, "invitation %s is no longer pending (accepted, revoked, regenerated or expired meanwhile)", id)
}

// RevokeInvitation cancels a pending invitation: its link stops working at once.
func (s *Service) RevokeInvitation(ctx context.Context, actor Actor, id string) (_ Result, err error) {
	defer countFlow("revoke_invitation", &err)
	inv, st, _, err := s.pendingInvitation(ctx, actor, id)
	if err != nil {
		return Result{}, err
	}
	updates, pre := consumeInvitation(st, inv)
	if len(updates) == 0 {
		return Result{}, s.lostRace(ctx, id)
	}
	token, err := s.commit(ctx, change{
		actor: actor, flow: "revoke_invitation", accountID: inv.AccountID, target: "invitation:" + id, before: "pending", after: "revoked",
		updates: updates, pre: []*v1.Precondition{pre},
		then: []step{{InvitationStatus: &invitationStep{ID: id, From: directory.InvitationPending, To: directory.InvitationRevoked, By: actor.String(), At: s.now().UTC()}}},
	})
	if err != nil {
		if isConflict(err) {
			return Result{}, s.lostRace(ctx, id)
		}
		return Result{}, err
	}
	return result(token), nil
}

// RegenerateInvitation replaces an invitation's link with a new one (and a
// new expiry): the old link stops working at once.
func (s *Service) RegenerateInvitation(ctx context.Context, actor Actor, id string) (_ InvitationLink, err error) {
	defer countFlow("regenerate_invitation", &err)
	inv, acct, st, err := s.invitationAs(ctx, actor, id)
	if err != nil {
		return InvitationLink{}, err
	}
	// An expired invitation can be regenerated: that is what the link is for.
	if inv.Status != directory.InvitationPending {
		return InvitationLink{}, notPendingError(inv, s.now())
	}
	var access Access
	if err := json.Unmarshal(inv.Access, &access); err != nil {
		return InvitationLink{}, fmt.Errorf("invitation %s: stored access unreadable: %w", id, err)
	}
	// The new link is the regenerating actor's offer: they must hold what
	// it offers, as if they had sent it.
	scopePre, err := s.checkGrant(ctx, actor, st, "", Access{}, access, true)
	if err != nil {
		return InvitationLink{}, err
	}
	newInvID, err := newID(inv.AccountID)
	if err != nil {
		return InvitationLink{}, err
	}
	token, hash, err := newToken()
	if err != nil {
		return InvitationLink{}, err
	}
	now := s.now().UTC()
	expires := now.Add(s.ttl).Truncate(time.Second)

	consume, consumePre := consumeInvitation(st, inv)
	var pre []*v1.Precondition
	if len(consume) > 0 && now.Before(inv.ExpiresAt) {
		pre = append(pre, consumePre)
	}
	var seat *string
	if held := st.seatOf(typeInvitation, inv.ID); held != nil {
		id := held.GetResource().GetObjectId()
		seat = &id
	}
	updates, seatPre, err := invitationTuples(st, acct, newInvID, actor, access, expires, seat)
	if err != nil {
		return InvitationLink{}, err
	}
	pre = append(pre, seatPre...)
	pre = append(pre, scopePre...)
	fresh := directory.Invitation{
		ID: newInvID, AccountID: inv.AccountID, Email: inv.Email, TokenHash: hash, Access: inv.Access,
		InvitedBy: actor.String(), CreatedAt: now, ExpiresAt: expires, Status: directory.InvitationPending, StatusAt: now,
	}
	written, err := s.commit(ctx, change{
		actor: actor, flow: "regenerate_invitation", accountID: inv.AccountID, target: "invitation:" + id, before: id, after: newInvID,
		prepare: func(ctx context.Context) error {
			return fromDirectory(s.dir.CreateInvitation(ctx, fresh), "invitation "+newInvID)
		},
		updates: append(consume, updates...), pre: pre, state: st, decidedBy: personal(actor),
		then: []step{{InvitationStatus: &invitationStep{ID: id, From: directory.InvitationPending, To: directory.InvitationSuperseded, By: actor.String(), At: now, SupersededBy: newInvID}}},
		undo: []step{{InvitationStatus: &invitationStep{ID: newInvID, From: directory.InvitationPending, To: directory.InvitationRevoked, By: "hostaccess: write failed", At: now}}},
	})
	if err != nil {
		if isConflict(err) {
			return InvitationLink{}, s.lostRace(ctx, id)
		}
		return InvitationLink{}, err
	}
	link := s.deliver(ctx, actor, acct, fresh, token)
	link.Result = result(written)
	return link, nil
}

// Login is the accepting person, as the provider's login system knows them.
type Login struct {
	UserID        string
	Email         string
	EmailVerified bool
	DisplayName   string
}

// Acceptance is the outcome of accepting an invitation.
type Acceptance struct {
	AccountID string `json:"account_id"`
	// Access is what the person now holds on the account.
	Access Access `json:"access"`
	// Merged is true when the person already had access: the invitation
	// added to it without lowering anything.
	Merged bool `json:"merged"`
	// Owner is true when the person owns the account (nothing to add).
	Owner bool `json:"owner,omitempty"`
	Result
}

// AcceptInvitation grants exactly the invited access to the login presenting
// the token, if the login's verified e-mail is the invited one. The
// invitation is consumed in the same write: it works once.
func (s *Service) AcceptInvitation(ctx context.Context, token string, login Login) (_ Acceptance, err error) {
	defer countFlow("accept_invitation", &err)
	if err := login.validate(token); err != nil {
		return Acceptance{}, err
	}
	if strings.TrimSpace(token) == "" {
		return Acceptance{}, invalidf("the invitation token is empty")
	}
	inv, err := s.dir.GetInvitationByTokenHash(ctx, hashToken(strings.TrimSpace(token)))
	if errors.Is(err, directory.ErrNotFound) {
		return Acceptance{}, errorf(ErrInvitationNotFound, "no invitation has this token (a regenerated link replaces the old one)")
	}
	if err != nil {
		return Acceptance{}, fromDirectory(err, "invitation")
	}
	if err := notPendingError(inv, s.now()); err != nil {
		return Acceptance{}, err
	}
	email, err := NormalizeEmail(login.Email)
	if err != nil {
		return Acceptance{}, err
	}
	if !login.EmailVerified {
		return Acceptance{}, errorf(ErrEmailNotVerified, "%s must verify %s before accepting", login.UserID, email)
	}
	if email != inv.Email {
		return Acceptance{}, errorf(ErrEmailMismatch, "the invitation was sent to another address than the login's")
	}
	var invited Access
	if err := json.Unmarshal(inv.Access, &invited); err != nil {
		return Acceptance{}, fmt.Errorf("invitation %s: stored access unreadable: %w", inv.ID, err)
	}
	_, st, err := s.loadAccount(ctx, inv.AccountID)
	if err != nil {
		return Acceptance{}, err
	}

	consume, consumePre := consumeInvitation(st, inv)
	if len(consume) == 0 {
		return Acceptance{}, s.lostRace(ctx, inv.ID)
	}
	// Nobody grants what they do not hold: the inviter must still hold
	// everything the invitation offers (and the products it names must still
	// exist), or an inviter who lost a right would keep granting it.
	pre := []*v1.Precondition{consumePre}
	var decidedBy []string
	if inviter, ok := strings.CutPrefix(inv.InvitedBy, "user:"); ok {
		// Accepting one's own offer is a change to oneself: it may add
		// nothing, or it would turn what the person holds through
		// delegation, a tag or a time-bound grant into a membership of
		// their own that outlives it.
		if inviter == login.UserID && !st.isOwner(inviter) &&
			(st.memberTuple(inviter) == nil || additions(st.accessOf(inviter), invited).grantsAnything()) {
			return Acceptance{}, errorf(ErrEscalation, "%s sent this invitation and cannot accept it themselves: it would raise their own access; another person who manages users must invite them", login.UserID)
		}
		scopePre, err := s.checkGrant(ctx, Actor{UserID: inviter, MFA: true, standing: true}, st, "", Access{}, invited, true)
		if errors.Is(err, ErrUnavailable) {
			return Acceptance{}, err // the inviter could not be re-checked: try again
		}
		if err != nil {
			return Acceptance{}, errorf(ErrForbidden, "this invitation can no longer be accepted: %s", err)
		}
		pre = append(pre, scopePre...)
		decidedBy = append(decidedBy, inviter)
	}
	out := Acceptance{AccountID: inv.AccountID}
	updates := consume
	var revoked []step
	switch {
	case st.isOwner(login.UserID):
		out.Owner, out.Merged = true, true
		pre = append(pre, mustExist(relationship(typeAccount, inv.AccountID, schema.RelOwner, typeUser, login.UserID)))
	default:
		current := st.userTuples(login.UserID)
		granted := invited
		if member := st.memberTuple(login.UserID); member != nil {
			granted = union(st.accessOf(login.UserID), invited)
			out.Merged = true
			pre = append(pre, mustExist(member))
		} else {
			// Leftovers of an earlier membership (if any) do not come back.
			for _, r := range current {
				if r.GetResource().GetObjectType() != typeSeat {
					updates = append(updates, remove(r))
				}
			}
			current = nil
			// Nor do tokens made during it: the new membership's twins
			// would bring them back to life.
			updates, revoked = st.dropTokens(updates, login.UserID, "hostaccess (the creator's earlier membership ended)", s.now().UTC())
		}
		out.Access = granted
		updates = append(updates, diff(withoutSeats(current), accessTuples(inv.AccountID, login.UserID, granted))...)
		if granted.Administrator && st.seatOf(typeUser, login.UserID) == nil {
			held := st.seatOf(typeInvitation, inv.ID)
			if held == nil {
				return Acceptance{}, errorf(errInvitationNotPending, "invitation %s lost its administrator seat", inv.ID)
			}
			updates = append(updates, touch(relationship(typeSeat, held.GetResource().GetObjectId(), schema.RelHolder, typeUser, login.UserID)))
		}
	}
	written, err := s.commit(ctx, change{
		actor: Person(login.UserID), flow: "accept_invitation", accountID: inv.AccountID, target: "invitation:" + inv.ID, after: out,
		updates: updates, pre: pre, state: st, changed: []string{login.UserID}, decidedBy: decidedBy,
		then: append([]step{
			{InvitationStatus: &invitationStep{ID: inv.ID, From: directory.InvitationPending, To: directory.InvitationAccepted, By: "user:" + login.UserID, At: s.now().UTC()}},
			{Person: &directory.Person{UserID: login.UserID, Email: email, DisplayName: login.DisplayName}},
		}, revoked...),
	})
	if err != nil {
		if isConflict(err) {
			return Acceptance{}, s.lostRaceOr(ctx, inv.ID, errorf(ErrConflict, "the access of %s on %s, or of the person who invited them, changed meanwhile (removed, edited); the invitation still stands: try again", login.UserID, inv.AccountID))
		}
		return Acceptance{}, err
	}
	out.Result = result(written)
	return out, nil
}

func withoutSeats(rels []*v1.Relationship) []*v1.Relationship {
	var out []*v1.Relationship
	for _, r := range rels {
		isOwner := r.GetResource().GetObjectType() == typeAccount && r.GetRelation() == schema.RelOwner
		if r.GetResource().GetObjectType() != typeSeat && !isOwner {
			out = append(out, r)
		}
	}
	return out
}

// dedupe keeps the last update per relationship: a write may not name the
// same relationship twice.
func dedupe(updates []*v1.RelationshipUpdate) []*v1.RelationshipUpdate {
	last := map[string]int{}
	for i, u := range updates {
		last[key(u.GetRelationship())] = i
	}
	out := make([]*v1.RelationshipUpdate, 0, len(last))
	for i, u := range updates {
		if last[key(u.GetRelationship())] == i {
			out = append(out, u)
		}
	}
	return out
}

// introducePerson records a person hostaccess does not know yet; a known
// person's e-mail and name are left as they are, whatever the caller says.
func (s *Service) introducePerson(ctx context.Context, p directory.Person) error {
	_, err := s.dir.GetPerson(ctx, p.UserID)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, directory.ErrNotFound):
		return fromDirectory(err, "person "+p.UserID)
	}
	p.UpdatedAt = s.now().UTC()
	return fromDirectory(s.dir.PutPerson(ctx, p), "person "+p.UserID)
}

// rememberPerson records a person's e-mail and name, keeping what is known
// when a field is not given.
func (s *Service) rememberPerson(ctx context.Context, userID, email, name string) error {
	p, err := s.dir.GetPerson(ctx, userID)
	if err != nil && !errors.Is(err, directory.ErrNotFound) {
		return fromDirectory(err, "person "+userID)
	}
	p.UserID = userID
	if email != "" {
		p.Email = email
	}
	if name != "" {
		p.DisplayName = name
	}
	p.UpdatedAt = s.now().UTC()
	return fromDirectory(s.dir.PutPerson(ctx, p), "person "+userID)
}
