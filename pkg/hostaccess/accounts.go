package hostaccess

import (
	"context"
	"errors"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/schema"
)

// NewAccount describes an account to create.
type NewAccount struct {
	ID         string
	Name       string
	OwnerID    string
	OwnerEmail string
	OwnerName  string
	// HostID is the provider or reseller the account belongs to (optional).
	HostID string
	// Delegated lets the host's staff manage the account's users. Nil is
	// the default of DOMAIN.md and seed 003: on for an account created as
	// managed (with a host), off otherwise.
	Delegated *bool
}

// delegated is whether the account starts delegated to its host.
func (in NewAccount) delegated() bool {
	if in.Delegated == nil {
		return in.HostID != ""
	}
	return *in.Delegated
}

// Delegation is a NewAccount.Delegated value: Delegation(false) creates a
// managed account with delegation off.
func Delegation(on bool) *bool { return &on }

// CreateAccount creates an account with its owner. Service identities and
// the host's staff may create accounts.
func (s *Service) CreateAccount(ctx context.Context, actor Actor, in NewAccount) (_ Result, err error) {
	defer countFlow("create_account", &err)
	if err := in.validate(); err != nil {
		return Result{}, err
	}
	if err := validName("account id", in.ID); err != nil {
		return Result{}, err
	}
	if err := validName("owner id", in.OwnerID); err != nil {
		return Result{}, err
	}
	if in.delegated() && in.HostID == "" {
		return Result{}, invalidf("delegation needs a host (HostID)")
	}
	var needs []need
	if in.HostID != "" {
		if err := validName("host id", in.HostID); err != nil {
			return Result{}, err
		}
		needs = append(needs, need{resource: ref(typeHost, in.HostID), permission: schema.PermManageAccounts, what: "create accounts for host " + in.HostID})
	} else if !actor.isSystem() {
		return Result{}, forbiddenf("only a service identity creates an account without a host")
	}
	if err := s.authorize(ctx, actor, needs); err != nil {
		return Result{}, err
	}
	if in.OwnerEmail != "" {
		email, err := NormalizeEmail(in.OwnerEmail)
		if err != nil {
			return Result{}, err
		}
		in.OwnerEmail = email
	}

	record := directory.Account{ID: in.ID, Name: in.Name, HostID: in.HostID, AdminCap: DefaultAdminCap, CreatedAt: s.now().UTC()}
	updates := []*v1.RelationshipUpdate{touch(relationship(typeAccount, in.ID, schema.RelOwner, typeUser, in.OwnerID))}
	if in.HostID != "" {
		updates = append(updates, touch(relationship(typeAccount, in.ID, schema.RelAccountHost, typeHost, in.HostID)))
		// The host's conditions, as configured, hold for its new account.
		updates = append(updates, s.hostConditions(in.HostID, false)...)
	}
	if in.delegated() {
		updates = append(updates, touch(relationship(typeAccount, in.ID, schema.RelDelegatedTo, typeHost, in.HostID)))
	}
	// The owner's e-mail and name are a caller's word: they introduce a
	// person hostaccess does not know yet, and never replace what it knows
	// (a verified e-mail from an acceptance, or UpdatePerson).
	var then []step
	if in.OwnerEmail != "" || in.OwnerName != "" {
		then = append(then, step{NewPerson: &directory.Person{UserID: in.OwnerID, Email: in.OwnerEmail, DisplayName: in.OwnerName}})
	}
	after := map[string]any{"owner": in.OwnerID, "name": in.Name, "host": in.HostID, "delegated": in.delegated(), "owner_email": in.OwnerEmail, "owner_name": in.OwnerName}
	token, err := s.commit(ctx, change{
		actor: actor, flow: "create_account", accountID: in.ID, target: "account:" + in.ID, after: after,
		prepare: func(ctx context.Context) error {
			err := s.dir.CreateAccount(ctx, record)
			if errors.Is(err, directory.ErrConflict) {
				return errorf(ErrConflict, "account %s already exists", in.ID)
			}
			return fromDirectory(err, "account "+in.ID)
		},
		updates: updates,
		// An account id is never reused while its relationships exist.
		pre:  []*v1.Precondition{mustBeFree(typeAccount, in.ID, schema.RelOwner)},
		then: then,
		undo: []step{{DeleteAccount: in.ID}},
	})
	if err != nil {
		if isConflict(err) {
			return Result{}, errorf(ErrConflict, "account %s already exists", in.ID)
		}
		return Result{}, err
	}
	return result(token), nil
}

// CloseAccount removes every access to an account at once (owners, members,
// delegation, pending invitations) in one write, then clears what is left.
// Only an owner or a service identity closes an account.
func (s *Service) CloseAccount(ctx context.Context, actor Actor, accountID string) (_ Result, err error) {
	defer countFlow("close_account", &err)
	_, st, err := s.loadAccountAs(ctx, actor, accountID, schema.PermClose, "close account "+accountID)
	if err != nil {
		return Result{}, err
	}
	// Every footprint version read must still be the current one: a grant
	// applied after this read would otherwise outlive the account.
	var updates []*v1.RelationshipUpdate
	var pre []*v1.Precondition
	for _, r := range st.rels {
		switch r.GetResource().GetObjectType() {
		case typeAccount, typeInvitation, typeSeat:
			updates = append(updates, remove(r))
		case typeMembership:
			updates = append(updates, remove(r))
			pre = append(pre, mustExist(r))
		}
	}
	for _, userID := range append(st.owners(), st.members()...) {
		if st.versionOf(userID) == nil {
			pre = append(pre, mustBeFree(typeMembership, objectID(accountID, userID), schema.RelVersion))
		}
	}
	token, err := s.commit(ctx, change{actor: actor, flow: "close_account", accountID: accountID, target: "account:" + accountID,
		updates: updates, pre: pre, then: []step{{DeleteAccount: accountID}}})
	if err != nil {
		if isConflict(err) {
			return Result{}, errorf(ErrConflict, "the members of %s changed while it was being closed; try again", accountID)
		}
		return Result{}, err
	}
	// Products, groups and tags are now unreachable (every grant is gated by
	// account access); remove them too, but their removal changes no answer.
	for _, typ := range []string{typeProduct, typeGroup, typeTag} {
		if _, err := s.client.DeleteRelationships(ctx, &v1.DeleteRelationshipsRequest{RelationshipFilter: &v1.RelationshipFilter{ResourceType: typ, OptionalResourceIdPrefix: accountID + "/"}}); err != nil {
			return result(token), fromSpiceDB(err)
		}
	}
	return result(token), nil
}

// SetAdminCap sets how many administrators an account may have (3 by
// default). Only the host's staff (or a service identity) may change it.
func (s *Service) SetAdminCap(ctx context.Context, actor Actor, accountID string, adminCap int) (err error) {
	defer countFlow("set_admin_cap", &err)
	if adminCap < 1 || adminCap > 100 {
		return invalidf("administrator cap %d: use 1 to 100", adminCap)
	}
	acct, _, err := s.loadAccountAs(ctx, actor, accountID, schema.PermSetAdminCap, "change the administrator cap of "+accountID)
	if err != nil {
		return err
	}
	before := acct.AdminCap
	acct.AdminCap = adminCap
	err = s.dir.UpdateAccount(ctx, acct)
	if errors.Is(err, directory.ErrNotFound) { // an account written as raw relationships
		acct.CreatedAt = s.now().UTC()
		err = s.dir.CreateAccount(ctx, acct)
	}
	if err != nil {
		return fromDirectory(err, "account "+accountID)
	}
	return s.audit(ctx, actor, "set_admin_cap", accountID, "account:"+accountID, before, adminCap, nil)
}

// SetDelegation turns the host's management of the account's users on or
// off. Switching it off removes the host staff's reach at once.
func (s *Service) SetDelegation(ctx context.Context, actor Actor, accountID string, on bool) (_ Result, err error) {
	defer countFlow("set_delegation", &err)
	_, st, err := s.loadAccountAs(ctx, actor, accountID, schema.PermChangeDelegation, "change the delegation of "+accountID)
	if err != nil {
		return Result{}, err
	}
	host := st.host()
	if host == "" {
		return Result{}, invalidf("account %s has no host to delegate to", accountID)
	}
	rel := relationship(typeAccount, accountID, schema.RelDelegatedTo, typeHost, host)
	updates := []*v1.RelationshipUpdate{touch(rel)}
	var then []step
	if !on {
		// Switching delegation off removes every reach that came from it at
		// once: the pending invitations host staff sent go in the same write.
		withdrawn, steps := st.withdraw(st.delegateInvitations(), actor.String()+" (delegation switched off)", s.now().UTC())
		updates = append([]*v1.RelationshipUpdate{remove(rel)}, withdrawn...)
		then = steps
	}
	before := st.has(typeAccount, accountID, schema.RelDelegatedTo, typeHost, host)
	token, err := s.commit(ctx, change{actor: actor, flow: "set_delegation", accountID: accountID, target: "host:" + host, before: before, after: on, updates: updates, then: then,
		state: st, decidedBy: personal(actor)})
	if err != nil {
		if isConflict(err) {
			return Result{}, errorf(ErrConflict, "the access of %s on %s changed meanwhile; try again", actor, accountID)
		}
		return Result{}, err
	}
	return result(token), nil
}

// TransferOwnership makes member `to` an owner and the acting owner a
// member holding keep (nothing: the previous owner leaves), in one write.
func (s *Service) TransferOwnership(ctx context.Context, actor Actor, accountID, to string, keep *Access) (_ Result, err error) {
	defer countFlow("transfer_ownership", &err)
	if err := s.checkGrantee("new owner id", to, keep); err != nil {
		return Result{}, err
	}
	if actor.isSystem() {
		return Result{}, invalidf("ownership is transferred by the owner; a service identity uses AddOwner and RemoveMember")
	}
	_, st, err := s.loadAccountAs(ctx, actor, accountID, schema.PermTransferOwnership, "transfer the ownership of "+accountID)
	if err != nil {
		return Result{}, err
	}
	if !st.isOwner(actor.UserID) {
		return Result{}, forbiddenf("%s is not an owner of %s", actor, accountID)
	}
	memberTuple := st.memberTuple(to)
	if memberTuple == nil {
		return Result{}, notFoundf("%s is not a member of %s: invite them first", to, accountID)
	}
	var keepAccess Access
	if keep != nil {
		if keepAccess, err = keep.normalize(); err != nil {
			return Result{}, err
		}
	}
	// The new owner's member grants go (an owner holds every right); the
	// previous owner's footprint is replaced by keep.
	var updates []*v1.RelationshipUpdate
	for _, r := range st.userTuples(to) {
		updates = append(updates, remove(r))
	}
	updates = append(updates, touch(relationship(typeAccount, accountID, schema.RelOwner, typeUser, to)))
	var desired []*v1.Relationship
	if keep != nil {
		desired = accessTuples(accountID, actor.UserID, keepAccess)
	}
	updates = append(updates, diff(st.userTuples(actor.UserID), desired)...)
	var then []step
	if keep == nil {
		// Leaving the account, the previous owner's tokens go with them.
		updates, then = st.dropTokens(updates, actor.UserID, actor.String()+" (creator left)", s.now().UTC())
	}
	pre := []*v1.Precondition{
		mustExist(relationship(typeAccount, accountID, schema.RelOwner, typeUser, actor.UserID)),
		mustExist(memberTuple),
	}
	if keepAccess.Administrator {
		return Result{}, invalidf("keep the previous owner as administrator with SetAccess after the transfer")
	}
	token, err := s.commit(ctx, change{actor: actor, flow: "transfer_ownership", accountID: accountID, target: "user:" + to, before: map[string]string{"owner": actor.UserID}, after: map[string]any{"owner": to, "previous_owner_keeps": keep}, updates: updates, pre: pre,
		state: st, changed: []string{actor.UserID, to}, then: then})
	if err != nil {
		if isConflict(err) {
			return Result{}, errorf(ErrConflict, "the owners or members of %s changed meanwhile; try again", accountID)
		}
		return Result{}, err
	}
	return result(token), nil
}

// AddOwner makes a member an additional owner. Only owners (or a service
// identity) add owners.
func (s *Service) AddOwner(ctx context.Context, actor Actor, accountID, userID string) (_ Result, err error) {
	defer countFlow("add_owner", &err)
	if err := validName("user id", userID); err != nil {
		return Result{}, err
	}
	_, st, err := s.loadAccountAs(ctx, actor, accountID, schema.PermTransferOwnership, "add an owner to "+accountID)
	if err != nil {
		return Result{}, err
	}
	memberTuple := st.memberTuple(userID)
	if memberTuple == nil {
		return Result{}, notFoundf("%s is not a member of %s: invite them first", userID, accountID)
	}
	var updates []*v1.RelationshipUpdate
	for _, r := range st.userTuples(userID) {
		updates = append(updates, remove(r))
	}
	updates = append(updates, touch(relationship(typeAccount, accountID, schema.RelOwner, typeUser, userID)))
	token, err := s.commit(ctx, change{actor: actor, flow: "add_owner", accountID: accountID, target: "user:" + userID, before: st.accessOf(userID), after: "owner", updates: updates, pre: []*v1.Precondition{mustExist(memberTuple)},
		state: st, changed: []string{userID}, decidedBy: personal(actor)})
	if err != nil {
		if isConflict(err) {
			return Result{}, errorf(ErrConflict, "the access of %s on %s changed meanwhile; read it again and retry", userID, accountID)
		}
		return Result{}, err
	}
	return result(token), nil
}
