package hostaccess

import (
	"context"
	"slices"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/schema"
)

// additions is what desired holds that current does not.
func additions(current, desired Access) Access {
	add := Access{Administrator: desired.Administrator && !current.Administrator}
	for _, r := range desired.Rights {
		if !slices.Contains(current.Rights, r) {
			add.Rights = append(add.Rights, r)
		}
	}
	add.Technical = scopeAdditions(current.Technical, desired.Technical)
	add.View = scopeAdditions(current.View, desired.View)
	return add
}

func scopeAdditions(current, desired ProductScope) ProductScope {
	if current.All {
		return ProductScope{}
	}
	if desired.All {
		return ProductScope{All: true}
	}
	var add ProductScope
	for _, p := range desired.Products {
		if !slices.Contains(current.Products, p) {
			add.Products = append(add.Products, p)
		}
	}
	for _, g := range desired.Groups {
		if !slices.Contains(current.Groups, g) {
			add.Groups = append(add.Groups, g)
		}
	}
	for _, t := range desired.Tags {
		if !slices.Contains(current.Tags, t) {
			add.Tags = append(add.Tags, t)
		}
	}
	return add
}

func (a Access) grantsAnything() bool {
	return a.Administrator || len(a.Rights) > 0 || !a.Technical.Empty() || !a.View.Empty()
}

// lengthens reports whether moving a membership's end from current to
// desired makes it last longer (nil is never).
func lengthens(current, desired *time.Time) bool {
	return current != nil && (desired == nil || desired.After(*current))
}

// earlier is the earlier of two ends (nil is never).
func earlier(a, b *time.Time) *time.Time {
	switch {
	case a == nil:
		return b
	case b == nil || a.Before(*b):
		return a
	default:
		return b
	}
}

// checkGrant enforces the grant rules for changing target's access from
// current to desired (joining: target becomes a member by it): the actor
// manages users, grants nothing it does not hold, grants nothing lasting
// beyond its own access, and does not raise or lengthen its own. It returns
// the preconditions keeping newly granted products, groups and tags in
// existence.
func (s *Service) checkGrant(ctx context.Context, actor Actor, st *accountState, target string, current, desired Access, joining bool) ([]*v1.Precondition, error) {
	add := additions(current, desired)
	longer := lengthens(current.ExpiresAt, desired.ExpiresAt)
	wider := widens(current.AllowedCIDRs, desired.AllowedCIDRs)
	if actor.UserID != "" && actor.UserID == target && (add.grantsAnything() || longer || wider || joining) {
		return nil, errorf(ErrEscalation, "%s cannot raise, lengthen or widen their own access", actor)
	}
	// Nor is it used from more places: a member restricted to networks
	// grants only within them.
	if nets := st.cidrsOf(actor.UserID); len(nets) > 0 && (joining || wider || add.grantsAnything()) && !within(desired.AllowedCIDRs, nets) {
		return nil, errorf(ErrEscalation, "%s's own access holds only from %s: what they grant must be restricted within them (set allowed_cidrs)", actor, strings.Join(nets, ", "))
	}
	// A reach never outlives the granter's own: what a time-bound member
	// grants (membership itself included) ends when their access does.
	if end := st.memberEnd(actor.UserID); end != nil && (joining || longer || add.grantsAnything()) &&
		(desired.ExpiresAt == nil || desired.ExpiresAt.After(*end)) {
		return nil, errorf(ErrEscalation, "%s's own access ends at %s: what they grant must end by then (set expires_at)", actor, end.Format(time.RFC3339))
	}
	scopePre, err := st.scopeExists(add.Technical)
	if err != nil {
		return nil, err
	}
	viewPre, err := st.scopeExists(add.View)
	if err != nil {
		return nil, err
	}
	acct := accountRef(st.id)
	needs := []need{{resource: acct, permission: schema.PermManageUsers, what: "manage the users of " + st.id}}
	if add.Administrator {
		needs = append(needs, need{resource: acct, permission: schema.PermActAsAdmin, escalation: true, what: "the administrator role"})
	}
	for _, r := range add.Rights {
		needs = append(needs, need{resource: acct, permission: grantPermission[r], escalation: true, what: "the " + string(r) + " right"})
	}
	needs = append(needs, scopeNeeds(st.id, add.Technical, schema.PermManage, schema.PermManageAllProducts, "technical")...)
	needs = append(needs, scopeNeeds(st.id, add.View, schema.PermView, schema.PermViewAllProducts, "view")...)
	if err := s.authorize(ctx, actor, needs); err != nil {
		return nil, err
	}
	return append(scopePre, viewPre...), nil
}

func scopeNeeds(accountID string, p ProductScope, permission, allPermission, label string) []need {
	var needs []need
	if p.All {
		needs = append(needs, need{resource: accountRef(accountID), permission: allPermission, escalation: true, what: label + " access to all products"})
	}
	for _, n := range p.Products {
		needs = append(needs, need{resource: ref(typeProduct, objectID(accountID, n)), permission: permission, escalation: true, what: label + " access to product " + n})
	}
	for _, n := range p.Groups {
		needs = append(needs, need{resource: ref(typeGroup, objectID(accountID, n)), permission: permission, escalation: true, what: label + " access to group " + n})
	}
	for _, n := range p.Tags {
		needs = append(needs, need{resource: ref(typeTag, objectID(accountID, n)), permission: permission, escalation: true, what: label + " access to tag " + n})
	}
	return needs
}

// Member is a person with access to an account, with their effective rights.
type Member struct {
	UserID      string `json:"user_id"`
	Email       string `json:"email,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	Owner       bool   `json:"owner"`
	// Access is what a member holds; owners hold every right.
	Access  Access `json:"access"`
	Summary string `json:"summary"`
}

// ListMembers lists an account's owners and members with their rights.
func (s *Service) ListMembers(ctx context.Context, actor Actor, accountID string) ([]Member, error) {
	_, st, err := s.loadAccountAs(ctx, actor, accountID, schema.PermViewUsers, "see the users of "+accountID)
	if err != nil {
		return nil, err
	}
	owners, members := st.owners(), st.members()
	people, err := s.dir.GetPeople(ctx, append(slices.Clone(owners), members...))
	if err != nil {
		return nil, fromDirectory(err, "people of "+accountID)
	}
	out := make([]Member, 0, len(owners)+len(members))
	for _, id := range owners {
		p := people[id]
		out = append(out, Member{UserID: id, Email: p.Email, DisplayName: p.DisplayName, Owner: true, Summary: "owner: every right"})
	}
	for _, id := range members {
		if st.isOwner(id) {
			continue
		}
		p := people[id]
		a := st.accessOf(id)
		out = append(out, Member{UserID: id, Email: p.Email, DisplayName: p.DisplayName, Access: a, Summary: a.Summary()})
	}
	return out, nil
}

// seatAttempts bounds how often a flow taking an administrator seat tries
// again after another flow took the seat it chose: each lost race means
// someone else's grant went through, so the seats run out long before.
const seatAttempts = 20

// SetAccess replaces a member's rights and product scope; the change takes
// effect at once. Only holders of user management change rights, only
// within what they hold themselves, and never raising their own.
func (s *Service) SetAccess(ctx context.Context, actor Actor, accountID, userID string, access Access) (_ Result, err error) {
	defer countFlow("set_access", &err)
	if err := s.checkGrantee("user id", userID, &access); err != nil {
		return Result{}, err
	}
	access, err = access.normalize()
	if err != nil {
		return Result{}, err
	}
	for attempt := 1; ; attempt++ {
		res, seatLost, err := s.setAccessOnce(ctx, actor, accountID, userID, access)
		if !seatLost || attempt == seatAttempts {
			return res, err
		}
	}
}

// setAccessOnce is one try of SetAccess; seatLost reports that it lost the
// race for the administrator seat it chose, and only that (the member's
// own footprint was unchanged), so trying again with a fresh read is safe.
func (s *Service) setAccessOnce(ctx context.Context, actor Actor, accountID, userID string, access Access) (Result, bool, error) {
	acct, st, err := s.loadAccountAs(ctx, actor, accountID, schema.PermManageUsers, "manage the users of "+accountID)
	if err != nil {
		return Result{}, false, err
	}
	c, takesSeat, err := s.accessChange(ctx, actor, acct, st, userID, access)
	if err != nil {
		return Result{}, false, err
	}
	c.flow, c.target = "set_access", "user:"+userID
	token, err := s.commit(ctx, c)
	if err != nil {
		seatLost, err := s.grantFailed(ctx, err, takesSeat, st, userID)
		return Result{}, seatLost, err
	}
	return result(token), false, nil
}

// accessChange is the change replacing a member's access with access
// under the grant rules (checkGrant), the administrator cap included:
// SetAccess and ApproveAccessRequest grant through it, and name the flow.
// takesSeat reports that it takes a free administrator seat, which a
// racing grant may take first.
func (s *Service) accessChange(ctx context.Context, actor Actor, acct directory.Account, st *accountState, userID string, access Access) (change, bool, error) {
	accountID := st.id
	if st.isOwner(userID) {
		if len(st.owners()) == 1 {
			return change{}, false, errorf(ErrLastOwner, "%s is the last owner of %s and holds every right: transfer the ownership first", userID, accountID)
		}
		return change{}, false, errorf(ErrOwnerHoldsEveryRight, "%s owns %s and holds every right: remove them as owner or transfer the ownership first", userID, accountID)
	}
	memberTuple := st.memberTuple(userID)
	if memberTuple == nil {
		return change{}, false, notFoundf("%s is not a member of %s", userID, accountID)
	}
	current := st.accessOf(userID)
	pre, err := s.checkGrant(ctx, actor, st, userID, current, access, false)
	if err != nil {
		return change{}, false, err
	}
	pre = append(pre, mustExist(memberTuple))
	updates := diff(withoutSeats(st.userTuples(userID)), accessTuples(accountID, userID, access))

	seat := st.seatOf(typeUser, userID)
	takesSeat := access.Administrator && seat == nil
	switch {
	case takesSeat:
		free, ok := st.freeSeat(acct.AdminCap)
		if !ok {
			return change{}, false, errorf(ErrAdminCapReached, "%s has %d of %d administrator seats taken (pending invitations count)", accountID, st.seatsHeld(), acct.AdminCap)
		}
		updates = append(updates, touch(relationship(typeSeat, free, schema.RelHolder, typeUser, userID)))
		pre = append(pre, mustBeFree(typeSeat, free, schema.RelHolder))
	case !access.Administrator && seat != nil:
		updates = append(updates, remove(seat))
	}
	return change{actor: actor, accountID: accountID, before: current, after: access, updates: updates, pre: pre,
		state: st, changed: []string{userID}, decidedBy: personal(actor)}, takesSeat, nil
}

// grantFailed says what a failed grant's error means. seatLost reports
// that it lost only the race for the administrator seat it chose (the
// member's own footprint was unchanged), which another try may win.
func (s *Service) grantFailed(ctx context.Context, err error, takesSeat bool, st *accountState, userID string) (seatLost bool, _ error) {
	if !isConflict(err) {
		return false, err
	}
	if takesSeat && s.onlySeatChanged(ctx, st, userID) {
		return true, errorf(ErrAdminCapReached, "other administrators took every free seat of %s meanwhile", st.id)
	}
	return false, errorf(ErrConflict, "the access of %s on %s (or of the person granting it) changed meanwhile; read it again and retry", userID, st.id)
}

// onlySeatChanged reports, after a lost race, whether the person's
// footprint (and the actor's) is as it was read: then the race lost was for
// the administrator seat, which another try may win.
func (s *Service) onlySeatChanged(ctx context.Context, before *accountState, userID string) bool {
	now, err := s.readAccount(ctx, before.id)
	if err != nil {
		return false
	}
	was, is := before.versionOf(userID), now.versionOf(userID)
	return (was == nil && is == nil) || (was != nil && is != nil && key(was) == key(is))
}

// personal lists a person actor's id, for the footprints a flow decided
// from; a service identity has none.
func personal(actor Actor) []string {
	if actor.isSystem() || actor.UserID == "" {
		return nil
	}
	return []string{actor.UserID}
}

// RemoveMember removes a person's access to one account at once: every
// grant of theirs on it goes in one write; other members and the person's
// other accounts are untouched. A member may always leave; removing someone
// else needs user management, and removing an owner needs an owner. The
// last owner can never be removed.
func (s *Service) RemoveMember(ctx context.Context, actor Actor, accountID, userID string) (_ Result, err error) {
	defer countFlow("remove_member", &err)
	if err := validName("user id", userID); err != nil {
		return Result{}, err
	}
	leaving := actor.UserID == userID
	permission, what := schema.PermManageUsers, "manage the users of "+accountID
	if leaving {
		permission, what = schema.PermAccess, "leave "+accountID
	}
	_, st, err := s.loadAccountAs(ctx, actor, accountID, permission, what)
	if err != nil {
		return Result{}, err
	}
	isOwner := st.isOwner(userID)
	if isOwner && !leaving {
		if err := s.authorize(ctx, actor, []need{{resource: accountRef(accountID), permission: schema.PermTransferOwnership, what: "remove an owner of " + accountID}}); err != nil {
			return Result{}, err
		}
	}
	tuples := st.userTuples(userID)
	if len(tuples) == 0 || (!isOwner && st.memberTuple(userID) == nil) {
		return Result{}, notFoundf("%s is not a member of %s", userID, accountID)
	}
	var pre []*v1.Precondition
	if isOwner {
		// Another owner must remain: the write requires one of them still
		// there, so two owners removing each other cannot both succeed.
		var other string
		for _, o := range st.owners() {
			if o != userID {
				other = o
				break
			}
		}
		if other == "" {
			return Result{}, errorf(ErrLastOwner, "%s is the last owner of %s; transfer the ownership first", userID, accountID)
		}
		pre = append(pre, mustExist(relationship(typeAccount, accountID, schema.RelOwner, typeUser, other)))
	}
	updates := make([]*v1.RelationshipUpdate, 0, len(tuples))
	for _, r := range tuples {
		updates = append(updates, remove(r))
	}
	// The invitations they sent stand on the access now removed: they go
	// in the same write, as nobody could accept them any more.
	withdrawn, then := st.withdraw(st.sentBy(userID), actor.String()+" (inviter removed)", s.now().UTC())
	updates = append(updates, withdrawn...)
	// Their tokens go too: they would reach nothing (their twins go with
	// their grants), and a token outliving its creator's membership would
	// come back to life were they invited again.
	updates, revoked := st.dropTokens(updates, userID, actor.String()+" (creator removed)", s.now().UTC())
	then = append(then, revoked...)
	before := "owner"
	if !isOwner {
		before = st.accessOf(userID).Summary()
	}
	token, err := s.commit(ctx, change{actor: actor, flow: "remove_member", accountID: accountID, target: "user:" + userID, before: before, after: nil, updates: updates, pre: pre, then: then,
		state: st, changed: []string{userID}, decidedBy: personal(actor)})
	if err != nil {
		if isConflict(err) {
			if isOwner {
				if now, rerr := s.readAccount(ctx, accountID); rerr == nil && len(now.owners()) <= 1 {
					return Result{}, errorf(ErrLastOwner, "%s would be left without an owner (the other owner left meanwhile)", accountID)
				}
				return Result{}, errorf(ErrConflict, "the owners of %s changed meanwhile; read them again and retry", accountID)
			}
			return Result{}, errorf(ErrConflict, "the access of %s on %s changed meanwhile (an invitation accepted, rights edited); read it again and retry", userID, accountID)
		}
		return Result{}, err
	}
	return result(token), nil
}
