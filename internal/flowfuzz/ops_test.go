package flowfuzz_test

import (
	"context"
	"fmt"
	"time"

	"github.com/hostaccess/hostaccess/internal/flowfuzz"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// An op is one flow call: run performs it on the real stack, apply on the
// model (reporting whether the rules allow it). run goes first so that an
// invitation's id and token can reach the model.
type op interface {
	String() string
	run(ctx context.Context, w *world) error
	apply(m *flowfuzz.Model) bool
}

func actorOf(a flowfuzz.Actor) hostaccess.Actor {
	if a == flowfuzz.System {
		return hostaccess.System("provider")
	}
	return hostaccess.Person(a)
}

func name(a flowfuzz.Actor) string {
	if a == flowfuzz.System {
		return "service"
	}
	return a
}

func toAccess(g flowfuzz.Grant) hostaccess.Access {
	out := hostaccess.Access{Administrator: g.Admin, ExpiresAt: g.End}
	for _, r := range g.Rights {
		out.Rights = append(out.Rights, hostaccess.Right(r))
	}
	out.Technical = hostaccess.ProductScope{All: g.Technical.All, Products: g.Technical.Products, Groups: g.Technical.Groups, Tags: g.Technical.Tags}
	return out
}

func grantString(g flowfuzz.Grant) string {
	s := fmt.Sprintf("%v", g.Rights)
	if g.Admin {
		s = "admin " + s
	}
	if !g.Technical.All && len(g.Technical.Products)+len(g.Technical.Groups)+len(g.Technical.Tags) == 0 {
		s += " tech:none"
	} else {
		s += fmt.Sprintf(" tech:%+v", g.Technical)
	}
	if g.End != nil {
		s += " until " + g.End.Format(time.RFC3339)
	}
	return s
}

type inviteOp struct {
	actor flowfuzz.Actor
	acct  string
	email string
	offer flowfuzz.Grant
	link  hostaccess.InvitationLink
}

func (o *inviteOp) String() string {
	return fmt.Sprintf("%s invites %s to %s with %s", name(o.actor), o.email, o.acct, grantString(o.offer))
}
func (o *inviteOp) run(ctx context.Context, w *world) error {
	var err error
	o.link, err = w.svc.Invite(ctx, actorOf(o.actor), o.acct, o.email, toAccess(o.offer))
	return err
}
func (o *inviteOp) apply(m *flowfuzz.Model) bool {
	inv, ok := m.Invite(o.actor, o.acct, o.email, o.offer)
	if ok {
		inv.ID, inv.Token = o.link.Invitation.ID, o.link.Token
	}
	return ok
}

type acceptOp struct {
	acct  string
	inv   *flowfuzz.Invitation // the model's; found again by id in a clone
	user  string
	email string
}

func (o *acceptOp) String() string {
	return fmt.Sprintf("%s (%s) accepts the invitation to %s sent by %s for %s", o.user, o.email, o.inv.Email, name(o.inv.Inviter), grantString(o.inv.Offer))
}
func (o *acceptOp) run(ctx context.Context, w *world) error {
	_, err := w.svc.AcceptInvitation(ctx, o.inv.Token, hostaccess.Login{UserID: o.user, Email: o.email, EmailVerified: true})
	return err
}
func (o *acceptOp) apply(m *flowfuzz.Model) bool {
	return m.Accept(o.acct, invitationIn(m, o.acct, o.inv.ID), o.user, o.email)
}

type revokeOp struct {
	actor flowfuzz.Actor
	acct  string
	inv   *flowfuzz.Invitation
}

func (o *revokeOp) String() string {
	return fmt.Sprintf("%s revokes the invitation to %s", name(o.actor), o.inv.Email)
}
func (o *revokeOp) run(ctx context.Context, w *world) error {
	_, err := w.svc.RevokeInvitation(ctx, actorOf(o.actor), o.inv.ID)
	return err
}
func (o *revokeOp) apply(m *flowfuzz.Model) bool {
	return m.Revoke(o.actor, o.acct, invitationIn(m, o.acct, o.inv.ID))
}

// invitationIn finds an invitation again in a (cloned) model.
func invitationIn(m *flowfuzz.Model, acct, id string) *flowfuzz.Invitation {
	for _, inv := range m.Accounts[acct].Invitations {
		if inv.ID == id {
			return inv
		}
	}
	panic("invitation " + id + " is not in the model")
}

type setAccessOp struct {
	actor  flowfuzz.Actor
	acct   string
	target string
	grant  flowfuzz.Grant
}

func (o *setAccessOp) String() string {
	return fmt.Sprintf("%s sets the access of %s on %s to %s", name(o.actor), o.target, o.acct, grantString(o.grant))
}
func (o *setAccessOp) run(ctx context.Context, w *world) error {
	_, err := w.svc.SetAccess(ctx, actorOf(o.actor), o.acct, o.target, toAccess(o.grant))
	return err
}
func (o *setAccessOp) apply(m *flowfuzz.Model) bool {
	return m.SetAccess(o.actor, o.acct, o.target, o.grant)
}

type removeOp struct {
	actor  flowfuzz.Actor
	acct   string
	target string
}

func (o *removeOp) String() string {
	return fmt.Sprintf("%s removes %s from %s", name(o.actor), o.target, o.acct)
}
func (o *removeOp) run(ctx context.Context, w *world) error {
	_, err := w.svc.RemoveMember(ctx, actorOf(o.actor), o.acct, o.target)
	return err
}
func (o *removeOp) apply(m *flowfuzz.Model) bool { return m.Remove(o.actor, o.acct, o.target) }

type addOwnerOp struct {
	actor  flowfuzz.Actor
	acct   string
	target string
}

func (o *addOwnerOp) String() string {
	return fmt.Sprintf("%s makes %s an owner of %s", name(o.actor), o.target, o.acct)
}
func (o *addOwnerOp) run(ctx context.Context, w *world) error {
	_, err := w.svc.AddOwner(ctx, actorOf(o.actor), o.acct, o.target)
	return err
}
func (o *addOwnerOp) apply(m *flowfuzz.Model) bool { return m.AddOwner(o.actor, o.acct, o.target) }

type addProductOp struct {
	actor flowfuzz.Actor
	acct  string
	name  string
	tags  []string
}

func (o *addProductOp) String() string {
	return fmt.Sprintf("%s adds product %s tagged %v to %s", name(o.actor), o.name, o.tags, o.acct)
}
func (o *addProductOp) run(ctx context.Context, w *world) error {
	_, err := w.svc.AddProduct(ctx, actorOf(o.actor), o.acct, o.name, nil, o.tags)
	return err
}
func (o *addProductOp) apply(m *flowfuzz.Model) bool {
	return m.AddProduct(o.actor, o.acct, o.name, o.tags)
}

type organizeOp struct {
	actor   flowfuzz.Actor
	acct    string
	product string
	group   bool
	label   string
	in      bool
}

func (o *organizeOp) String() string {
	what, verb := "tag", "adds"
	if o.group {
		what = "group"
	}
	if !o.in {
		verb = "takes away"
	}
	return fmt.Sprintf("%s %s %s %s on product %s of %s", name(o.actor), verb, what, o.label, o.product, o.acct)
}
func (o *organizeOp) run(ctx context.Context, w *world) error {
	var err error
	if o.group {
		_, err = w.svc.SetProductGroup(ctx, actorOf(o.actor), o.acct, o.product, o.label, o.in)
	} else {
		_, err = w.svc.SetProductTag(ctx, actorOf(o.actor), o.acct, o.product, o.label, o.in)
	}
	return err
}
func (o *organizeOp) apply(m *flowfuzz.Model) bool {
	return m.Organize(o.actor, o.acct, o.product, o.group, o.label, o.in)
}

type delegationOp struct {
	actor flowfuzz.Actor
	acct  string
	on    bool
}

func (o *delegationOp) String() string {
	return fmt.Sprintf("%s switches the delegation of %s to %v", name(o.actor), o.acct, o.on)
}
func (o *delegationOp) run(ctx context.Context, w *world) error {
	_, err := w.svc.SetDelegation(ctx, actorOf(o.actor), o.acct, o.on)
	return err
}
func (o *delegationOp) apply(m *flowfuzz.Model) bool { return m.SetDelegation(o.actor, o.acct, o.on) }

type createAccountOp struct {
	actor      flowfuzz.Actor
	id         string
	owner      string
	ownerEmail string
	host       string
}

func (o *createAccountOp) String() string {
	return fmt.Sprintf("%s creates account %s on host %s for owner %s <%s>", name(o.actor), o.id, o.host, o.owner, o.ownerEmail)
}
func (o *createAccountOp) run(ctx context.Context, w *world) error {
	_, err := w.svc.CreateAccount(ctx, actorOf(o.actor), hostaccess.NewAccount{ID: o.id, Name: o.id, OwnerID: o.owner, OwnerEmail: o.ownerEmail, HostID: o.host})
	return err
}
func (o *createAccountOp) apply(m *flowfuzz.Model) bool {
	return m.CreateAccount(o.actor, o.id, o.owner, o.ownerEmail, o.host)
}

type addContactOp struct {
	actor flowfuzz.Actor
	acct  string
	id    string
}

func (o *addContactOp) String() string {
	return fmt.Sprintf("%s adds a contact to %s", name(o.actor), o.acct)
}
func (o *addContactOp) run(ctx context.Context, w *world) error {
	c, _, err := w.svc.AddContact(ctx, actorOf(o.actor), o.acct, hostaccess.ContactInput{
		Name: "Renewals desk", Email: "renewals@example.com",
		Notifications: []hostaccess.Category{hostaccess.CategoryRenewals, hostaccess.CategoryBilling}, SupportAccess: true,
	})
	o.id = c.ID
	return err
}
func (o *addContactOp) apply(m *flowfuzz.Model) bool {
	if !m.AddContact(o.actor, o.acct) {
		return false
	}
	a := m.Accounts[o.acct]
	a.Contacts = append(a.Contacts, o.id)
	return true
}

type createTokenOp struct {
	actor flowfuzz.Actor
	acct  string
	given flowfuzz.Grant
	id    string // set once created
}

func (o *createTokenOp) String() string {
	return fmt.Sprintf("%s creates a token on %s with %s", name(o.actor), o.acct, grantString(o.given))
}
func (o *createTokenOp) run(ctx context.Context, w *world) error {
	in := toAccess(o.given)
	end := w.stack.Clock.Now().Add(24 * time.Hour)
	// Within the creator's own end, as the rule asks (refusing a longer
	// token is tested in pkg/hostaccess).
	if a := w.m.Accounts[o.acct]; a != nil {
		if g, ok := a.Members[o.actor]; ok && g.End != nil && g.End.Before(end) {
			end = *g.End
		}
	}
	nt, err := w.svc.CreateToken(ctx, actorOf(o.actor), o.acct, hostaccess.TokenInput{
		Name: "fuzz", Rights: in.Rights, Technical: in.Technical, ExpiresAt: &end,
	})
	o.id = nt.Token.ID
	return err
}
func (o *createTokenOp) apply(m *flowfuzz.Model) bool {
	return m.CreateToken(o.actor, o.acct, o.id, o.given)
}

type revokeTokenOp struct {
	actor flowfuzz.Actor
	acct  string
	id    string
}

func (o *revokeTokenOp) String() string {
	return fmt.Sprintf("%s revokes token %s", name(o.actor), o.id)
}
func (o *revokeTokenOp) run(ctx context.Context, w *world) error {
	_, err := w.svc.RevokeToken(ctx, actorOf(o.actor), o.acct, o.id)
	return err
}
func (o *revokeTokenOp) apply(m *flowfuzz.Model) bool {
	return m.RevokeToken(o.actor, o.acct, m.TokenIn(o.acct, o.id))
}

type requestOp struct {
	actor flowfuzz.Actor
	acct  string
	asked flowfuzz.Grant
	id    string // set once filed
}

func (o *requestOp) String() string {
	return fmt.Sprintf("%s asks for %s on %s", name(o.actor), grantString(o.asked), o.acct)
}
func (o *requestOp) run(ctx context.Context, w *world) error {
	r, _, err := w.svc.RequestAccess(ctx, actorOf(o.actor), o.acct, hostaccess.AccessRequestInput{Access: toAccess(o.asked), Reason: "fuzz"})
	o.id = r.ID
	return err
}
func (o *requestOp) apply(m *flowfuzz.Model) bool {
	return m.RequestAccess(o.actor, o.acct, o.id, o.asked)
}

type decideOp struct {
	actor   flowfuzz.Actor
	acct    string
	id      string
	approve bool
}

func (o *decideOp) String() string {
	verb := "refuses"
	if o.approve {
		verb = "approves"
	}
	return fmt.Sprintf("%s %s request %s", name(o.actor), verb, o.id)
}
func (o *decideOp) run(ctx context.Context, w *world) error {
	var err error
	if o.approve {
		_, _, err = w.svc.ApproveAccessRequest(ctx, actorOf(o.actor), o.acct, o.id, "")
	} else {
		_, _, err = w.svc.RefuseAccessRequest(ctx, actorOf(o.actor), o.acct, o.id, "")
	}
	return err
}
func (o *decideOp) apply(m *flowfuzz.Model) bool {
	r := m.RequestIn(o.acct, o.id)
	if o.approve {
		return m.ApproveRequest(o.actor, o.acct, r)
	}
	return m.RefuseRequest(o.actor, o.acct, r)
}
