// Package flowfuzz is a model-checked fuzzer of hostaccess's flows: random
// sequences of every flow, by random actors, some pairs run at the same
// time, each checked against Model, an independent statement of
// DOMAIN.md's rules in plain Go (maps and sets, no SpiceDB).
//
// The model decides whether each flow is allowed and what access follows;
// the fuzzer (flowfuzz_test.go) runs the same flow on a real stack and
// compares outcome and effective permissions after every step. The model
// never asks SpiceDB: a rule the engine gets wrong shows as a disagreement.
package flowfuzz

import (
	"maps"
	"slices"
	"time"
)

// Rights and products the fuzzer draws from. They mirror the product's
// vocabulary by value on purpose: the model states the rules, it does not
// import them.
var (
	Rights   = []string{"billing", "support", "domains", "security", "user_management", "profile", "read_only"}
	Products = []string{"site", "shop"}
	Tags     = []string{"t1", "t2"}
	Groups   = []string{"g1"}
)

// Scope is where technical management applies.
type Scope struct {
	All      bool
	Products []string
	Groups   []string
	Tags     []string
}

func (s Scope) empty() bool {
	return !s.All && len(s.Products) == 0 && len(s.Groups) == 0 && len(s.Tags) == 0
}

// Grant is what a member holds, or an invitation offers.
type Grant struct {
	Admin     bool
	Rights    []string
	Technical Scope
	End       *time.Time // nil: permanent
}

// Invitation is a pending or settled offer.
type Invitation struct {
	ID, Token string
	Email     string
	Offer     Grant
	Inviter   string // user id; "" for a service identity
	Pending   bool
}

// Product is a product with its groups and tags.
type Product struct {
	Groups map[string]bool
	Tags   map[string]bool
}

// Account is one account's access state.
type Account struct {
	Host        string
	Delegated   bool
	AdminCap    int
	Owners      map[string]bool
	Members     map[string]Grant
	Products    map[string]Product
	TagsMade    map[string]bool // tags and groups exist once used, and stay
	GroupsMade  map[string]bool
	Invitations []*Invitation
	Contacts    []string
	Tokens      []*Token
	Requests    []*Request
}

// Request is a member's access request: what they asked, pending until
// approved or refused.
type Request struct {
	ID      string
	User    string
	Asked   Grant
	Pending bool
}

// Token is a personal access token: what it was given, by whom; Live
// until revoked or dropped with its creator's membership.
type Token struct {
	ID      string
	Creator string
	Given   Grant
	Live    bool
}

// Model is the whole world of one fuzz run.
type Model struct {
	Accounts   map[string]*Account
	HostAdmins map[string]map[string]bool // host -> admins
	HostStaff  map[string]map[string]bool
	// Emails is what the directory must know of each person: set by the
	// first account creation naming them, then only by a verified login.
	Emails map[string]string
}

// NewModel is an empty world.
func NewModel() *Model {
	return &Model{Accounts: map[string]*Account{}, HostAdmins: map[string]map[string]bool{}, HostStaff: map[string]map[string]bool{}, Emails: map[string]string{}}
}

// Clone copies the model, so that both orders of a concurrent pair can be
// tried.
func (m *Model) Clone() *Model {
	out := NewModel()
	for h, s := range m.HostAdmins {
		out.HostAdmins[h] = maps.Clone(s)
	}
	for h, s := range m.HostStaff {
		out.HostStaff[h] = maps.Clone(s)
	}
	out.Emails = maps.Clone(m.Emails)
	for id, a := range m.Accounts {
		c := *a
		c.Owners = maps.Clone(a.Owners)
		c.Members = maps.Clone(a.Members)
		c.Products = map[string]Product{}
		for n, p := range a.Products {
			c.Products[n] = Product{Groups: maps.Clone(p.Groups), Tags: maps.Clone(p.Tags)}
		}
		c.TagsMade = maps.Clone(a.TagsMade)
		c.GroupsMade = maps.Clone(a.GroupsMade)
		c.Invitations = nil
		for _, inv := range a.Invitations {
			cp := *inv
			c.Invitations = append(c.Invitations, &cp)
		}
		c.Contacts = slices.Clone(a.Contacts)
		c.Requests = nil
		for _, r := range a.Requests {
			cp := *r
			c.Requests = append(c.Requests, &cp)
		}
		c.Tokens = nil
		for _, t := range a.Tokens {
			cp := *t
			c.Tokens = append(c.Tokens, &cp)
		}
		out.Accounts[id] = &c
	}
	return out
}

// Actor is "" for the provider's service identity, else a user id.
type Actor = string

// System is the provider's service identity: trusted for every flow.
const System Actor = ""

// --- what a person holds (DOMAIN.md: rights, roles, scopes, delegation) ---

func (a *Account) isMember(u string) bool  { _, ok := a.Members[u]; return ok }
func (a *Account) hasAccess(u string) bool { return a.Owners[u] || a.isMember(u) }

func (a *Account) holds(u, right string) bool {
	return a.Owners[u] || (a.isMember(u) && slices.Contains(a.Members[u].Rights, right))
}

func (m *Model) delegateAdmin(a *Account, u string) bool {
	return a.Delegated && m.HostAdmins[a.Host][u]
}

// ManagesUsers: owners, members with user management, and host admins of
// a delegated account.
func (m *Model) ManagesUsers(a *Account, u string) bool {
	return a.holds(u, "user_management") || m.delegateAdmin(a, u)
}

func (a *Account) isAdmin(u string) bool { return a.Owners[u] || (a.isMember(u) && a.Members[u].Admin) }

func (a *Account) managesAll(u string) bool {
	return a.Owners[u] || (a.isMember(u) && a.Members[u].Technical.All)
}

func (a *Account) managesTag(u, t string) bool {
	return a.managesAll(u) || (a.isMember(u) && slices.Contains(a.Members[u].Technical.Tags, t))
}

func (a *Account) managesGroup(u, g string) bool {
	return a.managesAll(u) || (a.isMember(u) && slices.Contains(a.Members[u].Technical.Groups, g))
}

// ManagesProduct: all products, the product itself, or one of its groups
// or tags.
func (a *Account) ManagesProduct(u, p string) bool {
	if a.managesAll(u) {
		return true
	}
	if !a.isMember(u) {
		return false
	}
	prod, ok := a.Products[p]
	if !ok {
		return false
	}
	sc := a.Members[u].Technical
	if slices.Contains(sc.Products, p) {
		return true
	}
	for g := range prod.Groups {
		if slices.Contains(sc.Groups, g) {
			return true
		}
	}
	for t := range prod.Tags {
		if slices.Contains(sc.Tags, t) {
			return true
		}
	}
	return false
}

// Permissions is what the fuzzer compares on each account, by the
// schema's permission names, with the model's rule for each.
func (m *Model) Permissions(a *Account, u string) map[string]bool {
	return map[string]bool{
		"access":                a.hasAccess(u),
		"manage_users":          m.ManagesUsers(a, u),
		"grant_user_management": a.holds(u, "user_management"),
		"pay_invoices":          a.holds(u, "billing"),
		"manage_domains":        a.holds(u, "domains"),
		"manage_security":       a.holds(u, "security"),
		"act_as_administrator":  a.isAdmin(u),
		"manage_all_products":   a.managesAll(u),
		"organize_products":     a.holds(u, "user_management"),
		"change_delegation":     a.holds(u, "user_management"),
		"close":                 a.Owners[u],
	}
}

// seatsTaken counts administrators and pending administrator invitations:
// both hold a seat.
func (a *Account) seatsTaken() int {
	n := 0
	for _, g := range a.Members {
		if g.Admin {
			n++
		}
	}
	for _, inv := range a.Invitations {
		if inv.Pending && inv.Offer.Admin {
			n++
		}
	}
	return n
}

// --- the grant rules ---

// added is what desired holds that current does not.
func added(current, desired Grant) Grant {
	out := Grant{Admin: desired.Admin && !current.Admin}
	for _, r := range desired.Rights {
		if !slices.Contains(current.Rights, r) {
			out.Rights = append(out.Rights, r)
		}
	}
	if current.Technical.All {
		return out
	}
	if desired.Technical.All {
		out.Technical.All = true
		return out
	}
	for _, p := range desired.Technical.Products {
		if !slices.Contains(current.Technical.Products, p) {
			out.Technical.Products = append(out.Technical.Products, p)
		}
	}
	for _, g := range desired.Technical.Groups {
		if !slices.Contains(current.Technical.Groups, g) {
			out.Technical.Groups = append(out.Technical.Groups, g)
		}
	}
	for _, t := range desired.Technical.Tags {
		if !slices.Contains(current.Technical.Tags, t) {
			out.Technical.Tags = append(out.Technical.Tags, t)
		}
	}
	return out
}

func (g Grant) grantsSomething() bool {
	return g.Admin || len(g.Rights) > 0 || !g.Technical.empty()
}

// lengthens: moving an end from current to desired makes it later.
func lengthens(current, desired *time.Time) bool {
	return current != nil && (desired == nil || desired.After(*current))
}

// mayGrant is DOMAIN.md's "nobody grants what they do not hold", for
// changing target's grant from current to desired (joining: it makes
// target a member). target is "" when unknown (an invitation).
func (m *Model) mayGrant(a *Account, actor Actor, target string, current, desired Grant, joining bool) bool {
	add := added(current, desired)
	// Scopes name what exists.
	for _, p := range add.Technical.Products {
		if _, ok := a.Products[p]; !ok {
			return false
		}
	}
	for _, t := range add.Technical.Tags {
		if !a.TagsMade[t] {
			return false
		}
	}
	for _, g := range add.Technical.Groups {
		if !a.GroupsMade[g] {
			return false
		}
	}
	if actor == System {
		return true
	}
	if !m.ManagesUsers(a, actor) {
		return false
	}
	// Nobody raises or lengthens their own access, or makes themself a member.
	longer := lengthens(current.End, desired.End)
	if actor == target && (add.grantsSomething() || longer || joining) {
		return false
	}
	// What a time-bound member grants ends by their own end.
	if g, ok := a.Members[actor]; ok && g.End != nil && (joining || longer || add.grantsSomething()) {
		if desired.End == nil || desired.End.After(*g.End) {
			return false
		}
	}
	if add.Admin && !a.isAdmin(actor) {
		return false
	}
	return a.holdsAll(actor, add)
}

// holdsAll: actor holds every right and scope of g themselves.
func (a *Account) holdsAll(actor string, g Grant) bool {
	for _, r := range g.Rights {
		// Held as owner or member: delegation gives no right to hand on.
		// An administrator may contact support (open_ticket), so hands it on.
		if !a.holds(actor, r) && (r != "support" || !a.isAdmin(actor) || !a.isMember(actor)) {
			return false
		}
	}
	sc := g.Technical
	if sc.All && !a.managesAll(actor) {
		return false
	}
	for _, p := range sc.Products {
		if !a.ManagesProduct(actor, p) {
			return false
		}
	}
	for _, t := range sc.Tags {
		if !a.managesTag(actor, t) {
			return false
		}
	}
	for _, g := range sc.Groups {
		if !a.managesGroup(actor, g) {
			return false
		}
	}
	return true
}

// union is accepting an invitation as a member: nothing is lowered, and
// the earlier end wins.
func union(a, b Grant) Grant {
	out := Grant{Admin: a.Admin || b.Admin}
	out.Rights = sortedUnion(a.Rights, b.Rights)
	if a.Technical.All || b.Technical.All {
		out.Technical.All = true
	} else {
		out.Technical.Products = sortedUnion(a.Technical.Products, b.Technical.Products)
		out.Technical.Groups = sortedUnion(a.Technical.Groups, b.Technical.Groups)
		out.Technical.Tags = sortedUnion(a.Technical.Tags, b.Technical.Tags)
	}
	switch {
	case a.End == nil:
		out.End = b.End
	case b.End == nil || a.End.Before(*b.End):
		out.End = a.End
	default:
		out.End = b.End
	}
	return out
}

func sortedUnion(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// --- the flows: each says whether it is allowed and, if so, applies it ---

// CreateAccount: a service identity, or the staff of the account's host.
// The owner's e-mail is recorded only for a person not known yet.
func (m *Model) CreateAccount(actor Actor, id, owner, ownerEmail, host string) bool {
	if _, exists := m.Accounts[id]; exists {
		return false
	}
	if actor != System && !(m.HostAdmins[host][actor] || m.HostStaff[host][actor]) {
		return false
	}
	m.Accounts[id] = &Account{
		Host: host, Delegated: host != "", AdminCap: 3,
		Owners: map[string]bool{owner: true}, Members: map[string]Grant{},
		Products: map[string]Product{}, TagsMade: map[string]bool{}, GroupsMade: map[string]bool{},
	}
	if _, known := m.Emails[owner]; !known && ownerEmail != "" {
		m.Emails[owner] = ownerEmail
	}
	return true
}

// Invite offers a grant to an e-mail address.
func (m *Model) Invite(actor Actor, acct string, email string, offer Grant) (*Invitation, bool) {
	a := m.Accounts[acct]
	if a == nil || !m.mayGrant(a, actor, "", Grant{}, offer, true) {
		return nil, false
	}
	if offer.Admin && a.seatsTaken() >= a.AdminCap {
		return nil, false
	}
	inv := &Invitation{Email: email, Offer: offer, Inviter: actor, Pending: true}
	a.Invitations = append(a.Invitations, inv)
	return inv, true
}

// Accept is the invitee logging in with a verified e-mail. The inviter
// must still hold everything offered; one's own invitation adds nothing.
func (m *Model) Accept(acct string, inv *Invitation, user, email string) bool {
	a := m.Accounts[acct]
	if !inv.Pending || email != inv.Email {
		return false
	}
	if inv.Inviter != System {
		if inv.Inviter == user && !a.Owners[user] && (!a.isMember(user) || added(a.Members[user], inv.Offer).grantsSomething()) {
			return false
		}
		if !m.mayGrant(a, inv.Inviter, "", Grant{}, inv.Offer, true) {
			return false
		}
	}
	inv.Pending = false
	m.Emails[user] = email
	switch {
	case a.Owners[user]:
	case a.isMember(user):
		a.Members[user] = union(a.Members[user], inv.Offer)
	default:
		// Tokens of an earlier membership do not come back with this one.
		a.dropTokens(user)
		a.Members[user] = inv.Offer
	}
	return true
}

// Revoke withdraws a pending invitation.
func (m *Model) Revoke(actor Actor, acct string, inv *Invitation) bool {
	a := m.Accounts[acct]
	if !inv.Pending || (actor != System && !m.ManagesUsers(a, actor)) {
		return false
	}
	inv.Pending = false
	return true
}

// SetAccess replaces a member's grant.
func (m *Model) SetAccess(actor Actor, acct, target string, g Grant) bool {
	a := m.Accounts[acct]
	if a == nil || a.Owners[target] || !a.isMember(target) {
		return false
	}
	current := a.Members[target]
	if !m.mayGrant(a, actor, target, current, g, false) {
		return false
	}
	if g.Admin && !current.Admin && a.seatsTaken() >= a.AdminCap {
		return false
	}
	a.Members[target] = g
	return true
}

// Remove takes every grant of a person away; one may always leave; an
// owner is removed only by an owner, never the last.
func (m *Model) Remove(actor Actor, acct, target string) bool {
	a := m.Accounts[acct]
	if a == nil || !a.hasAccess(target) {
		return false
	}
	leaving := actor == target
	if actor != System && !leaving && !m.ManagesUsers(a, actor) {
		return false
	}
	if a.Owners[target] {
		if actor != System && !leaving && !a.Owners[actor] {
			return false
		}
		if len(a.Owners) == 1 {
			return false
		}
		delete(a.Owners, target)
		a.withdrawSentBy(target)
		a.dropTokens(target)
		return true
	}
	a.withdrawSentBy(target)
	a.dropTokens(target)
	delete(a.Members, target)
	return true
}

// withdrawSentBy ends the pending invitations a removed person sent: they
// stood on the access that is gone.
func (a *Account) withdrawSentBy(user string) {
	for _, inv := range a.Invitations {
		if inv.Pending && inv.Inviter == user {
			inv.Pending = false
		}
	}
}

// AddOwner makes a member an owner (owners only).
func (m *Model) AddOwner(actor Actor, acct, target string) bool {
	a := m.Accounts[acct]
	if (actor != System && !a.Owners[actor]) || !a.isMember(target) {
		return false
	}
	delete(a.Members, target)
	a.Owners[target] = true
	return true
}

// AddProduct: managing all products; tagging or grouping it needs to
// organize products too.
func (m *Model) AddProduct(actor Actor, acct, name string, tags []string) bool {
	a := m.Accounts[acct]
	if _, exists := a.Products[name]; exists {
		return false
	}
	if actor != System && (!a.managesAll(actor) || (len(tags) > 0 && !a.holds(actor, "user_management"))) {
		return false
	}
	p := Product{Groups: map[string]bool{}, Tags: map[string]bool{}}
	for _, t := range tags {
		p.Tags[t] = true
		a.TagsMade[t] = true
	}
	a.Products[name] = p
	return true
}

// Organize tags or groups a product (or undoes it): it widens scoped
// grants, so it needs user management, managing the product, and managing
// the tag or group (all products, for a tag or group not made yet).
func (m *Model) Organize(actor Actor, acct, product string, group bool, label string, in bool) bool {
	a := m.Accounts[acct]
	p, ok := a.Products[product]
	if !ok {
		return false
	}
	made, manages := a.TagsMade, a.managesTag
	if group {
		made, manages = a.GroupsMade, a.managesGroup
	}
	if actor != System {
		if !a.holds(actor, "user_management") || !a.ManagesProduct(actor, product) {
			return false
		}
		if made[label] && !manages(actor, label) || !made[label] && !a.managesAll(actor) {
			return false
		}
	}
	set := p.Tags
	if group {
		set = p.Groups
	}
	if in {
		set[label] = true
		made[label] = true
	} else {
		delete(set, label)
	}
	return true
}

// SetDelegation: the account itself (owners, user managers), never its
// host. Switching it off ends every reach that came from it, pending
// invitations sent by host staff included.
func (m *Model) SetDelegation(actor Actor, acct string, on bool) bool {
	a := m.Accounts[acct]
	if a.Host == "" || (actor != System && !a.holds(actor, "user_management")) {
		return false
	}
	a.Delegated = on
	if !on {
		for _, inv := range a.Invitations {
			if inv.Pending && inv.Inviter != System && !a.hasAccess(inv.Inviter) {
				inv.Pending = false
			}
		}
	}
	return true
}

// AddContact: contacts are managed by owners and user managers (not by
// delegation); a contact holds no access.
func (m *Model) AddContact(actor Actor, acct string) bool {
	a := m.Accounts[acct]
	return actor == System || a.holds(actor, "user_management")
}

// --- personal access tokens: never more than their creator holds ---

// CreateToken: an owner or member gives a token part of what they hold.
func (m *Model) CreateToken(actor Actor, acct, id string, given Grant) bool {
	a := m.Accounts[acct]
	if a == nil || actor == System || !a.hasAccess(actor) || given.Admin || !given.grantsSomething() {
		return false
	}
	for _, p := range given.Technical.Products {
		if _, ok := a.Products[p]; !ok {
			return false
		}
	}
	for _, t := range given.Technical.Tags {
		if !a.TagsMade[t] {
			return false
		}
	}
	for _, g := range given.Technical.Groups {
		if !a.GroupsMade[g] {
			return false
		}
	}
	if !a.holdsAll(actor, given) {
		return false
	}
	a.Tokens = append(a.Tokens, &Token{ID: id, Creator: actor, Given: given, Live: true})
	return true
}

// RevokeToken: its creator or an owner, while it is live.
func (m *Model) RevokeToken(actor Actor, acct string, t *Token) bool {
	a := m.Accounts[acct]
	if a == nil || t == nil || !t.Live {
		return false
	}
	if actor != System && (!a.hasAccess(actor) || (actor != t.Creator && !a.Owners[actor])) {
		return false
	}
	t.Live = false
	return true
}

func (a *Account) dropTokens(user string) {
	for _, t := range a.Tokens {
		if t.Creator == user {
			t.Live = false
		}
	}
}

// TokenIn finds a token of the account by id.
func (m *Model) TokenIn(acct, id string) *Token {
	if a := m.Accounts[acct]; a != nil {
		for _, t := range a.Tokens {
			if t.ID == id {
				return t
			}
		}
	}
	return nil
}

// TokenPermissions is what a token may do on its account: what it was
// given AND what its creator holds now, as owner or member (never through
// delegation), while it is live.
func (m *Model) TokenPermissions(a *Account, t *Token) map[string]bool {
	c, g := t.Creator, t.Given
	both := func(right string) bool { return t.Live && a.holds(c, right) && slices.Contains(g.Rights, right) }
	return map[string]bool{
		"pay_invoices":        both("billing"),
		"manage_domains":      both("domains"),
		"manage_security":     both("security"),
		"manage_users":        both("user_management"),
		"manage_all_products": t.Live && a.managesAll(c) && g.Technical.All,
		// No permission outside the token's ever holds for it.
		"access": false,
		"close":  false,
	}
}

// TokenManagesProduct: the token was given the product (itself, a group,
// a tag or all) and its creator manages it now.
func (m *Model) TokenManagesProduct(a *Account, t *Token, p string) bool {
	if !t.Live || !a.ManagesProduct(t.Creator, p) {
		return false
	}
	given := &Account{Owners: map[string]bool{}, Members: map[string]Grant{"": t.Given}, Products: a.Products}
	return given.ManagesProduct("", p)
}

// GrantsSomething: g holds a role, a right or a product scope.
func (g Grant) GrantsSomething() bool { return g.grantsSomething() }

// --- access requests: approving is granting, under the grant rules ---

// MaxPendingRequests mirrors hostaccess.MaxPendingRequests.
const MaxPendingRequests = 20

// RequestAccess: a member (not an owner) asks for what they do not hold.
func (m *Model) RequestAccess(actor Actor, acct, id string, asked Grant) bool {
	a := m.Accounts[acct]
	if a == nil || actor == System || a.Owners[actor] || !a.isMember(actor) {
		return false
	}
	// Only what they lack is asked (and must exist): a product under
	// "all products" is already held.
	asked = added(a.Members[actor], asked)
	if !asked.grantsSomething() {
		return false
	}
	for _, p := range asked.Technical.Products {
		if _, ok := a.Products[p]; !ok {
			return false
		}
	}
	for _, t := range asked.Technical.Tags {
		if !a.TagsMade[t] {
			return false
		}
	}
	for _, g := range asked.Technical.Groups {
		if !a.GroupsMade[g] {
			return false
		}
	}
	pending := 0
	for _, r := range a.Requests {
		if r.Pending && r.User == actor {
			pending++
		}
	}
	if pending >= MaxPendingRequests {
		return false
	}
	// What is recorded, and approved, is what they lacked when they asked.
	a.Requests = append(a.Requests, &Request{ID: id, User: actor, Asked: asked, Pending: true})
	return true
}

// RequestIn finds a request of the account by id.
func (m *Model) RequestIn(acct, id string) *Request {
	if a := m.Accounts[acct]; a != nil {
		for _, r := range a.Requests {
			if r.ID == id {
				return r
			}
		}
	}
	return nil
}

// ApproveRequest grants what was asked on top of what the member holds,
// as SetAccess would: the approver must be allowed to grant it.
func (m *Model) ApproveRequest(actor Actor, acct string, r *Request) bool {
	a := m.Accounts[acct]
	if a == nil || r == nil || !r.Pending || (actor != System && !m.ManagesUsers(a, actor)) {
		return false
	}
	if a.Owners[r.User] || !a.isMember(r.User) {
		return false
	}
	current := a.Members[r.User]
	granted := union(current, r.Asked)
	granted.End = current.End
	if !m.mayGrant(a, actor, r.User, current, granted, false) {
		return false
	}
	if granted.Admin && !current.Admin && a.seatsTaken() >= a.AdminCap {
		return false
	}
	a.Members[r.User] = granted
	r.Pending = false
	return true
}

// RefuseRequest: someone who manages users says no; nothing changes.
func (m *Model) RefuseRequest(actor Actor, acct string, r *Request) bool {
	a := m.Accounts[acct]
	if a == nil || r == nil || !r.Pending || (actor != System && !m.ManagesUsers(a, actor)) {
		return false
	}
	r.Pending = false
	return true
}

// Added is what desired holds that current does not.
func Added(current, desired Grant) Grant { return added(current, desired) }
