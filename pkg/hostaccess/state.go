package hostaccess

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"golang.org/x/sync/errgroup"

	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/schema"
)

// accountState is every relationship of one account, read at one revision:
// the account object itself and every object whose id starts with the
// account's id (products, groups, tags, seats, invitations, contacts).
type accountState struct {
	id   string
	rels []*v1.Relationship
	// at is the revision the relationships were read at (nil when the
	// account has none).
	at *v1.ZedToken
}

// prefixedTypes are the object types whose ids start with "ACCOUNT/".
var prefixedTypes = []string{typeProduct, typeGroup, typeTag, typeSeat, typeInvitation, typeMembership, typeToken}

// readAccount reads an account's relationships, fully consistent: the flows
// that follow decide from this state and guard their writes with
// preconditions on it.
func (s *Service) readAccount(ctx context.Context, accountID string) (*accountState, error) {
	st := &accountState{id: accountID}
	rels, at, err := s.readAll(ctx, &v1.RelationshipFilter{ResourceType: typeAccount, OptionalResourceId: accountID}, fullyConsistent())
	if err != nil {
		return nil, err
	}
	st.rels = append(st.rels, rels...)
	st.at = at
	consistency := fullyConsistent()
	if at != nil {
		consistency = atSnapshot(at) // the rest at the same revision
	}
	// The prefixed reads are independent: run them at once (a flow's
	// latency is mostly these round trips).
	parts := make([][]*v1.Relationship, len(prefixedTypes))
	g, gctx := errgroup.WithContext(ctx)
	for i, typ := range prefixedTypes {
		g.Go(func() error {
			rels, _, err := s.readAll(gctx, &v1.RelationshipFilter{ResourceType: typ, OptionalResourceIdPrefix: accountID + "/"}, consistency)
			parts[i] = rels
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, rels := range parts {
		st.rels = append(st.rels, rels...)
	}
	return st, nil
}

// find returns the relationships matching the non-empty fields.
func (st *accountState) find(resType, resID, relation, subType, subID string) []*v1.Relationship {
	var out []*v1.Relationship
	for _, r := range st.rels {
		if (resType == "" || r.GetResource().GetObjectType() == resType) &&
			(resID == "" || r.GetResource().GetObjectId() == resID) &&
			(relation == "" || r.GetRelation() == relation) &&
			(subType == "" || r.GetSubject().GetObject().GetObjectType() == subType) &&
			(subID == "" || r.GetSubject().GetObject().GetObjectId() == subID) {
			out = append(out, r)
		}
	}
	return out
}

func (st *accountState) has(resType, resID, relation, subType, subID string) bool {
	return len(st.find(resType, resID, relation, subType, subID)) > 0
}

func (st *accountState) exists() bool { return st.has(typeAccount, st.id, schema.RelOwner, "", "") }

func (st *accountState) owners() []string {
	var ids []string
	for _, r := range st.find(typeAccount, st.id, schema.RelOwner, typeUser, "") {
		ids = append(ids, r.GetSubject().GetObject().GetObjectId())
	}
	slices.Sort(ids)
	return ids
}

func (st *accountState) isOwner(userID string) bool {
	return st.has(typeAccount, st.id, schema.RelOwner, typeUser, userID)
}

func (st *accountState) memberTuple(userID string) *v1.Relationship {
	if rels := st.find(typeAccount, st.id, schema.RelMember, typeUser, userID); len(rels) > 0 {
		return rels[0]
	}
	return nil
}

func (st *accountState) members() []string {
	var ids []string
	for _, r := range st.find(typeAccount, st.id, schema.RelMember, typeUser, "") {
		ids = append(ids, r.GetSubject().GetObject().GetObjectId())
	}
	slices.Sort(ids)
	return ids
}

func (st *accountState) host() string {
	if rels := st.find(typeAccount, st.id, schema.RelAccountHost, typeHost, ""); len(rels) > 0 {
		return rels[0].GetSubject().GetObject().GetObjectId()
	}
	return ""
}

// userTuples are every relationship of the account naming the user as
// subject: the person's whole footprint on this account. The invitations
// they sent are not part of it (see withdraw), nor the twins their tokens
// reach through (see withTwins), nor the tokens they created.
func (st *accountState) userTuples(userID string) []*v1.Relationship {
	var out []*v1.Relationship
	for _, r := range st.find("", "", "", typeUser, userID) {
		if ownFootprint(r) {
			out = append(out, r)
		}
	}
	return out
}

// ownFootprint reports whether a relationship naming a person is part of
// their footprint (userTuples).
func ownFootprint(r *v1.Relationship) bool {
	typ := r.GetResource().GetObjectType()
	return typ != typeInvitation && typ != typeToken && r.GetSubject().GetOptionalRelation() == ""
}

// sentBy lists the pending invitations userID sent.
func (st *accountState) sentBy(userID string) []string {
	var ids []string
	for _, r := range st.find(typeInvitation, "", schema.RelInviter, typeUser, userID) {
		ids = append(ids, r.GetResource().GetObjectId())
	}
	return ids
}

// withdraw removes pending invitations in the flow's write, seats
// included, and marks them revoked in the directory afterwards: an offer
// made on a reach that ends goes with it.
func (st *accountState) withdraw(ids []string, by string, at time.Time) ([]*v1.RelationshipUpdate, []step) {
	var updates []*v1.RelationshipUpdate
	var then []step
	for _, inv := range ids {
		for _, r := range st.find(typeInvitation, inv, "", "", "") {
			updates = append(updates, remove(r))
		}
		for _, r := range st.find(typeSeat, "", schema.RelHolder, typeInvitation, inv) {
			updates = append(updates, remove(r))
		}
		then = append(then, step{InvitationStatus: &invitationStep{ID: inv, From: directory.InvitationPending, To: directory.InvitationRevoked, By: by, At: at}})
	}
	return updates, then
}

// accessOf rebuilds a member's Access from relationships.
func (st *accountState) accessOf(userID string) Access { return st.accessFrom(st.userTuples(userID)) }

// tuplesByUser is userTuples for every person at once, in one pass.
func (st *accountState) tuplesByUser() map[string][]*v1.Relationship {
	out := map[string][]*v1.Relationship{}
	for _, r := range st.rels {
		if sub := r.GetSubject().GetObject(); sub.GetObjectType() == typeUser && ownFootprint(r) {
			out[sub.GetObjectId()] = append(out[sub.GetObjectId()], r)
		}
	}
	return out
}

// accessFrom rebuilds an Access from one person's relationships on the
// account (userTuples).
func (st *accountState) accessFrom(tuples []*v1.Relationship) Access {
	var a Access
	for _, r := range tuples {
		id := r.GetResource().GetObjectId()
		switch r.GetResource().GetObjectType() {
		case typeAccount:
			switch rel := r.GetRelation(); rel {
			case schema.RelMember:
				if exp := r.GetOptionalExpiresAt(); exp != nil {
					t := exp.AsTime().UTC()
					a.ExpiresAt = &t
				}
				a.AllowedCIDRs = allowedCIDRs(r)
			case schema.RelAdministrator:
				a.Administrator = true
			case schema.RelTechnical:
				a.Technical.All = true
			default:
				if _, ok := grantPermission[Right(rel)]; ok {
					a.Rights = append(a.Rights, Right(rel))
				}
				for c, crel := range categoryRelation {
					if crel == rel {
						a.Notifications = append(a.Notifications, c)
					}
				}
			}
		case typeProduct, typeGroup, typeTag:
			name, ok := nameIn(st.id, id)
			if !ok {
				continue
			}
			scope := &a.Technical
			if r.GetRelation() == schema.RelViewer {
				scope = &a.View
			} else if r.GetRelation() != schema.RelTechnician {
				continue
			}
			switch r.GetResource().GetObjectType() {
			case typeProduct:
				scope.Products = append(scope.Products, name)
			case typeGroup:
				scope.Groups = append(scope.Groups, name)
			case typeTag:
				scope.Tags = append(scope.Tags, name)
			}
		}
	}
	a, _ = a.normalize()
	return a
}

// accessTuples are the relationships that give userID access a on the
// account (administrator seat apart).
func accessTuples(accountID, userID string, a Access) []*v1.Relationship {
	rels := []*v1.Relationship{restricted(expiring(relationship(typeAccount, accountID, schema.RelMember, typeUser, userID), a.ExpiresAt), a.AllowedCIDRs)}
	if a.Administrator {
		rels = append(rels, relationship(typeAccount, accountID, schema.RelAdministrator, typeUser, userID))
	}
	for _, r := range a.Rights {
		rels = append(rels, relationship(typeAccount, accountID, string(r), typeUser, userID))
	}
	for _, c := range a.Notifications {
		rels = append(rels, relationship(typeAccount, accountID, categoryRelation[c], typeUser, userID))
	}
	if a.Technical.All {
		rels = append(rels, relationship(typeAccount, accountID, schema.RelTechnical, typeUser, userID))
	}
	rels = append(rels, scopeTuples(accountID, userID, schema.RelTechnician, a.Technical)...)
	rels = append(rels, scopeTuples(accountID, userID, schema.RelViewer, a.View)...)
	return rels
}

func scopeTuples(accountID, userID, relation string, p ProductScope) []*v1.Relationship {
	var rels []*v1.Relationship
	for _, n := range p.Products {
		rels = append(rels, relationship(typeProduct, objectID(accountID, n), relation, typeUser, userID))
	}
	for _, n := range p.Groups {
		rels = append(rels, relationship(typeGroup, objectID(accountID, n), relation, typeUser, userID))
	}
	for _, n := range p.Tags {
		rels = append(rels, relationship(typeTag, objectID(accountID, n), relation, typeUser, userID))
	}
	return rels
}

// scopeExists checks that every product, group and tag named exists in the
// account, returning the preconditions that keep it so until the write.
func (st *accountState) scopeExists(p ProductScope) ([]*v1.Precondition, error) {
	var pre []*v1.Precondition
	check := func(typ, kind string, names []string) error {
		for _, n := range names {
			owned := relationship(typ, objectID(st.id, n), schema.RelAccount, typeAccount, st.id)
			if !st.has(typ, objectID(st.id, n), schema.RelAccount, typeAccount, st.id) {
				return notFoundf("%s %q in account %s", kind, n, st.id)
			}
			pre = append(pre, mustExist(owned))
		}
		return nil
	}
	if err := check(typeProduct, "product", p.Products); err != nil {
		return nil, err
	}
	if err := check(typeGroup, "product group", p.Groups); err != nil {
		return nil, err
	}
	if err := check(typeTag, "tag", p.Tags); err != nil {
		return nil, err
	}
	return pre, nil
}

// versionOf returns the version of userID's footprint on the account, nil
// when the person never had one (see the schema's membership definition).
func (st *accountState) versionOf(userID string) *v1.Relationship {
	if rels := st.find(typeMembership, objectID(st.id, userID), schema.RelVersion, "", ""); len(rels) > 0 {
		return rels[0]
	}
	return nil
}

// footprintGuard makes a flow apply only if the footprints it decided from
// are unchanged since they were read: the version of each person in changed
// and in decidedBy must still be the one read (or still be absent). The
// footprints in changed get a new version naming this operation, so any
// other flow that decided from them fails its own guard; those in decidedBy
// are only checked, so one actor's flows on different people do not
// conflict. A person in decidedBy who is neither owner nor member acts
// through delegation, which must still be on.
func (st *accountState) footprintGuard(changed, decidedBy []string, opID string) ([]*v1.RelationshipUpdate, []*v1.Precondition) {
	var updates []*v1.RelationshipUpdate
	var pre []*v1.Precondition
	same := func(userID string) *v1.Relationship {
		old := st.versionOf(userID)
		if old != nil {
			pre = append(pre, mustExist(old))
		} else {
			pre = append(pre, mustBeFree(typeMembership, objectID(st.id, userID), schema.RelVersion))
		}
		return old
	}
	for _, userID := range uniqueSorted(changed) {
		if old := same(userID); old != nil {
			updates = append(updates, remove(old))
		}
		updates = append(updates, touch(relationship(typeMembership, objectID(st.id, userID), schema.RelVersion, typeOperation, opID)))
	}
	for _, userID := range uniqueSorted(decidedBy) {
		if slices.Contains(changed, userID) {
			continue
		}
		same(userID)
		if !st.isOwner(userID) && st.memberTuple(userID) == nil {
			for _, d := range st.find(typeAccount, st.id, schema.RelDelegatedTo, typeHost, "") {
				pre = append(pre, mustExist(d))
			}
		}
	}
	return updates, pre
}

// delegateInvitations are the pending invitations sent by someone who is
// neither owner nor member: host staff acting through delegation.
func (st *accountState) delegateInvitations() []string {
	var ids []string
	for _, r := range st.find(typeInvitation, "", schema.RelInviter, typeUser, "") {
		inviter := r.GetSubject().GetObject().GetObjectId()
		if !st.isOwner(inviter) && st.memberTuple(inviter) == nil {
			ids = append(ids, r.GetResource().GetObjectId())
		}
	}
	return ids
}

// memberEnd is when userID's membership ends: nil for an owner, a
// permanent member or someone who is not a member.
func (st *accountState) memberEnd(userID string) *time.Time {
	if st.isOwner(userID) {
		return nil
	}
	if m := st.memberTuple(userID); m != nil && m.GetOptionalExpiresAt() != nil {
		t := m.GetOptionalExpiresAt().AsTime().UTC()
		return &t
	}
	return nil
}

// seatOf returns the seat a subject holds, if any.
func (st *accountState) seatOf(subType, subID string) *v1.Relationship {
	if rels := st.find(typeSeat, "", schema.RelHolder, subType, subID); len(rels) > 0 {
		return rels[0]
	}
	return nil
}

// freeSeat returns the id of a free administrator seat within cap, chosen
// at random among the free ones: racing grants then rarely contend for the
// same seat (a loser tries again, see seatAttempts).
func (st *accountState) freeSeat(adminCap int) (string, bool) {
	// A cap lowered below the seats held leaves them held, and no new one.
	if st.seatsHeld() >= adminCap {
		return "", false
	}
	var free []string
	for n := 1; n <= adminCap; n++ {
		id := seatID(st.id, n)
		if !st.has(typeSeat, id, schema.RelHolder, "", "") {
			free = append(free, id)
		}
	}
	if len(free) == 0 {
		return "", false
	}
	return free[rand.IntN(len(free))], true //nolint:gosec // spreading contention, not a secret
}

func (st *accountState) seatsHeld() int { return len(st.find(typeSeat, "", schema.RelHolder, "", "")) }

func seatID(accountID string, n int) string { return objectID(accountID, "seat-"+strconv.Itoa(n)) }

// diff returns the updates turning current into desired: deletes for what
// is no longer wanted, touches for what is new or changed (expiration).
func diff(current, desired []*v1.Relationship) []*v1.RelationshipUpdate {
	want := map[string]*v1.Relationship{}
	for _, r := range desired {
		want[key(r)] = r
	}
	have := map[string]*v1.Relationship{}
	var updates []*v1.RelationshipUpdate
	for _, r := range current {
		have[key(r)] = r
		if _, ok := want[key(r)]; !ok {
			updates = append(updates, remove(r))
		}
	}
	for _, r := range desired {
		old, ok := have[key(r)]
		if !ok || !sameExpiration(old, r) || !sameCaveat(old, r) {
			updates = append(updates, touch(r))
		}
	}
	return updates
}

func sameExpiration(a, b *v1.Relationship) bool {
	ea, eb := a.GetOptionalExpiresAt(), b.GetOptionalExpiresAt()
	if ea == nil || eb == nil {
		return ea == nil && eb == nil
	}
	return ea.AsTime().Equal(eb.AsTime())
}

func (st *accountState) String() string {
	return fmt.Sprintf("account %s (%d relationships)", st.id, len(st.rels))
}
