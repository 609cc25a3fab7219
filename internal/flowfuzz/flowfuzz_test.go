package flowfuzz_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"pgregory.net/rapid"

	"github.com/hostaccess/hostaccess/internal/flowfuzz"
	"github.com/hostaccess/hostaccess/internal/teststack"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// The fuzzer's budget: runs (rapid's checks) of up to steps flows each.
// make test keeps it small, smaller on Postgres where a flow takes
// milliseconds; make fuzz raises both (-rapid.checks and -rapid.steps on the
// command line win over these defaults).
const (
	defaultChecks           = 12
	defaultChecksOnPostgres = 4
	defaultSteps            = 40
)

// givenFlags holds the flags set on the command line.
var givenFlags = map[string]bool{}

func TestMain(m *testing.M) {
	flag.Parse()
	flag.Visit(func(f *flag.Flag) { givenFlags[f.Name] = true })
	os.Exit(m.Run())
}

// budget sets rapid's flags to the defaults for this store unless the
// command line gave them; rapid reads them when each Check starts.
func budget(t *testing.T, onPostgres bool) {
	checks := defaultChecks
	if onPostgres {
		checks = defaultChecksOnPostgres
	}
	for name, value := range map[string]int{"rapid.checks": checks, "rapid.steps": defaultSteps} {
		if !givenFlags[name] {
			if err := flag.Set(name, fmt.Sprint(value)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestFlowsKeepTheRulesInMemory(t *testing.T) { fuzzFlows(t, false) }

// TestFlowsKeepTheRulesOnPostgres runs on Postgres (HOSTACCESS_TEST_POSTGRES_URI),
// where a write takes milliseconds: races interleave differently.
func TestFlowsKeepTheRulesOnPostgres(t *testing.T) { fuzzFlows(t, true) }

// fuzzFlows runs random flow sequences on one stack; each run has its own
// host, accounts and people, so runs never see each other's state.
func fuzzFlows(t *testing.T, onPostgres bool) {
	stack := teststack.NewStackOn(t, nil, onPostgres)
	budget(t, onPostgres)
	var runs atomic.Int64
	tally := newTally()
	rapid.Check(t, func(rt *rapid.T) {
		w := newWorld(rt, stack, runs.Add(1))
		w.tally = tally
		rt.Repeat(w.actions())
	})
	// What was exercised: a fuzzer whose flows are all refused proves little.
	t.Logf("%d runs; outcomes by flow:\n%s", runs.Load(), tally)
}

// tally counts outcomes by flow kind and answer.
type tally struct {
	mu     sync.Mutex
	counts map[string]int
}

func newTally() *tally { return &tally{counts: map[string]int{}} }

func (t *tally) add(o op, err error) {
	if t == nil {
		return
	}
	kind := strings.TrimPrefix(fmt.Sprintf("%T", o), "*flowfuzz_test.")
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts[kind+" "+outcome(err)]++
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var lines []string
	for k, n := range t.counts {
		lines = append(lines, fmt.Sprintf("  %-40s %d", k, n))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

var ctx = context.Background()

// world is one run: the real stack, the model, and the cast.
type world struct {
	t      *rapid.T
	stack  *teststack.Stack
	svc    *hostaccess.Service
	m      *flowfuzz.Model
	run    int64
	host   string
	acct   string
	people []string          // every person of the run
	email  map[string]string // each person's own, verified address
	// invs lists every invitation ever made, by account.
	invs     []invitationRef
	tally    *tally
	products int
	accounts int
}

// invitationRef is an invitation as made; its Pending is read from the
// current model (a race replaces the model by a clone).
type invitationRef struct {
	acct string
	inv  *flowfuzz.Invitation
}

// The cast, as DOMAIN.md's actors: alice owns the account, carol is a
// plain member, dave a user manager scoped to tag t1, frank a time-bound
// user manager, hannah an admin and sam staff of the host the account
// delegates to, bob and mallory have nothing yet.
var cast = []string{"alice", "bob", "carol", "dave", "frank", "hannah", "sam", "mallory"}

func newWorld(rt *rapid.T, stack *teststack.Stack, run int64) *world {
	w := &world{t: rt, stack: stack, svc: stack.Service, m: flowfuzz.NewModel(), run: run, email: map[string]string{}}
	w.host = fmt.Sprintf("h%d", run)
	w.acct = fmt.Sprintf("a%d", run)
	for _, c := range cast {
		id := fmt.Sprintf("%s-%d", c, run)
		w.people = append(w.people, id)
		w.email[id] = id + "@example.com"
	}
	alice, carol, dave, frank, hannah, sam := w.people[0], w.people[2], w.people[3], w.people[4], w.people[5], w.people[6]
	w.hostRole(hannah, "admin")
	w.hostRole(sam, "staff")
	w.step(&createAccountOp{actor: flowfuzz.System, id: w.acct, owner: alice, ownerEmail: w.email[alice], host: w.host})
	w.step(&addProductOp{actor: flowfuzz.System, acct: w.acct, name: "site", tags: []string{"t1"}})
	w.step(&addProductOp{actor: flowfuzz.System, acct: w.acct, name: "shop"})
	w.step(&organizeOp{actor: flowfuzz.System, acct: w.acct, product: "shop", group: true, label: "g1", in: true})
	end := w.stack.Clock.Now().Truncate(time.Second).Add(48 * time.Hour)
	for user, g := range map[string]flowfuzz.Grant{
		carol: {Rights: []string{"billing"}},
		dave:  {Rights: []string{"user_management"}, Technical: flowfuzz.Scope{Tags: []string{"t1"}}},
		frank: {Rights: []string{"billing", "domains", "user_management"}, Technical: flowfuzz.Scope{Products: []string{"site"}}, End: &end},
	} {
		invite := &inviteOp{actor: alice, acct: w.acct, email: w.email[user], offer: g}
		w.step(invite)
		w.step(&acceptOp{acct: w.acct, inv: invitationIn(w.m, w.acct, invite.link.Invitation.ID), user: user, email: w.email[user]})
	}
	w.check()
	return w
}

// hostRole writes host staff as the provider does, through SpiceDB's API.
func (w *world) hostRole(user, relation string) {
	_, err := w.stack.Engine.Client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
		Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
		Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "host", ObjectId: w.host}, Relation: relation,
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
		},
	}}})
	if err != nil {
		w.t.Fatal(err)
	}
	roles := w.m.HostAdmins
	if relation == "staff" {
		roles = w.m.HostStaff
	}
	if roles[w.host] == nil {
		roles[w.host] = map[string]bool{}
	}
	roles[w.host][user] = true
}

// step runs one flow on both sides and fails on any disagreement.
func (w *world) step(o op) {
	err := o.run(ctx, w)
	allowed := o.apply(w.m)
	w.t.Logf("%s: %s", o, outcome(err))
	w.tally.add(o, err)
	switch {
	case allowed && err != nil:
		w.t.Fatalf("the rules allow %q but hostaccess refused it: %v", o, err)
	case !allowed && err == nil:
		w.t.Fatalf("the rules forbid %q but hostaccess did it", o)
	case err != nil:
		w.requireRefusal(o, err)
	}
	if inv, ok := o.(*inviteOp); ok && err == nil {
		w.invs = append(w.invs, invitationRef{acct: inv.acct, inv: invitationIn(w.m, inv.acct, inv.link.Invitation.ID)})
	}
}

// requireRefusal: a refusal is a domain answer a program can act on, never
// an internal error or an "unavailable, try again".
func (w *world) requireRefusal(o op, err error) {
	if code := hostaccess.Code(err); code == "internal" || code == "unavailable" || code == "invalid_argument" {
		w.t.Fatalf("%q was refused with %s, not a rule's answer: %v", o, code, err)
	}
}

func outcome(err error) string {
	if err == nil {
		return "done"
	}
	return "refused (" + hostaccess.Code(err) + ")"
}

// race runs two flows at the same time. hostaccess must end as if they ran
// one after the other, in some order, the loser of a race answering
// conflict (or the refusal the winner's change makes right).
func (w *world) race(a, b op) {
	var errA, errB error
	var wg sync.WaitGroup
	start := make(chan struct{})
	wg.Go(func() { <-start; errA = a.run(ctx, w) })
	wg.Go(func() { <-start; errB = b.run(ctx, w) })
	close(start)
	wg.Wait()
	w.t.Logf("at once: %s: %s || %s: %s", a, outcome(errA), b, outcome(errB))
	w.tally.add(a, errA)
	w.tally.add(b, errB)
	w.tally.add(raceOp{}, nil)
	if errA != nil && errB != nil && hostaccess.Code(errA) == "conflict" && hostaccess.Code(errB) == "conflict" {
		w.t.Fatalf("both %q and %q lost: one of two racing flows wins", a, b)
	}
	var reasons []string
	for _, order := range [][2]int{{0, 1}, {1, 0}} {
		ops, errs := [2]op{a, b}, [2]error{errA, errB}
		m := w.m.Clone()
		fits := true
		for _, i := range order {
			if !fitsOutcome(m, ops[i], errs[i]) {
				fits = false
				reasons = append(reasons, fmt.Sprintf("%q then the other: %s does not follow the rules", ops[order[0]], ops[i]))
				break
			}
		}
		if !fits {
			continue
		}
		if problems := w.observe(m); len(problems) == 0 {
			w.m = m
			w.recordInvitations(a, errA)
			w.recordInvitations(b, errB)
			return
		} else {
			reasons = append(reasons, fmt.Sprintf("%q first: %s", ops[order[0]], strings.Join(problems, "; ")))
		}
	}
	w.t.Fatalf("no order of %q and %q explains the outcome:\n%s", a, b, strings.Join(reasons, "\n"))
}

// fitsOutcome applies o to m as the outcome says: done means the rules
// allow it; conflict means it lost the race and changed nothing; any other
// refusal means the rules forbid it.
func fitsOutcome(m *flowfuzz.Model, o op, err error) bool {
	switch {
	case err == nil:
		return o.apply(m)
	case hostaccess.Code(err) == "conflict":
		return true
	default:
		return !o.apply(m.Clone())
	}
}

func (w *world) recordInvitations(o op, err error) {
	if inv, ok := o.(*inviteOp); ok && err == nil {
		w.invs = append(w.invs, invitationRef{acct: inv.acct, inv: invitationIn(w.m, inv.acct, inv.link.Invitation.ID)})
	}
}

// check fails the run when the stack disagrees with the model.
func (w *world) check() {
	if problems := w.observe(w.m); len(problems) > 0 {
		w.t.Fatalf("hostaccess and the rules disagree:\n%s", strings.Join(problems, "\n"))
	}
}

// --- drawing flows ---

// actor draws who acts, weighted towards those who hold something (the
// owner, the managers, the host admin) so that flows get past the door.
func (w *world) actor(label string) flowfuzz.Actor {
	alice, dave, frank, hannah := w.people[0], w.people[3], w.people[4], w.people[5]
	weighted := append([]string{flowfuzz.System, alice, alice, dave, dave, frank, frank, hannah, hannah}, w.people...)
	return rapid.SampledFrom(weighted).Draw(w.t, label)
}

func (w *world) person(label string) string { return rapid.SampledFrom(w.people).Draw(w.t, label) }

func (w *world) account(label string) string {
	accts := []string{w.acct}
	if rapid.IntRange(0, 3).Draw(w.t, label+" elsewhere") != 0 {
		return w.acct
	}
	for id := range w.m.Accounts {
		if id != w.acct {
			accts = append(accts, id)
		}
	}
	slices.Sort(accts[1:])
	return rapid.SampledFrom(accts).Draw(w.t, label)
}

func (w *world) grant(label string) flowfuzz.Grant {
	var g flowfuzz.Grant
	g.Admin = rapid.IntRange(0, 4).Draw(w.t, label+" admin") == 0
	if rapid.Bool().Draw(w.t, label+" one right") {
		// A modest grant, the kind a scoped manager may give.
		if r := rapid.IntRange(-1, len(flowfuzz.Rights)-1).Draw(w.t, label+" right"); r >= 0 {
			g.Rights = []string{flowfuzz.Rights[r]}
		}
	} else {
		for _, r := range flowfuzz.Rights {
			if rapid.IntRange(0, 3).Draw(w.t, label+" "+r) == 0 {
				g.Rights = append(g.Rights, r)
			}
		}
	}
	switch rapid.IntRange(0, 5).Draw(w.t, label+" technical") {
	case 1:
		g.Technical.All = true
	case 2:
		g.Technical.Products = []string{rapid.SampledFrom(append(flowfuzz.Products, w.extraProducts()...)).Draw(w.t, label+" product")}
	case 3:
		g.Technical.Tags = []string{rapid.SampledFrom(flowfuzz.Tags).Draw(w.t, label+" tag")}
	case 4:
		g.Technical.Groups = []string{rapid.SampledFrom(flowfuzz.Groups).Draw(w.t, label+" group")}
	}
	if hours := rapid.SampledFrom([]int{0, 0, 24, 48, 96}).Draw(w.t, label+" end"); hours > 0 {
		end := w.stack.Clock.Now().Truncate(time.Second).Add(time.Duration(hours) * time.Hour)
		g.End = &end
	}
	return g
}

func (w *world) extraProducts() []string {
	var out []string
	for i := range w.products {
		out = append(out, fmt.Sprintf("p%d", i))
	}
	return out
}

// email is mostly the person's own address, sometimes the actor's own.
func (w *world) inviteEmail(actor flowfuzz.Actor) string {
	if actor != flowfuzz.System && rapid.IntRange(0, 3).Draw(w.t, "invites themself") == 0 {
		return w.email[actor]
	}
	return w.email[w.person("invitee")]
}

func (w *world) invitation(label string) (invitationRef, bool) {
	if len(w.invs) == 0 {
		return invitationRef{}, false
	}
	// Mostly a pending one: settled ones are refused for a plain reason.
	var pending []invitationRef
	for _, ref := range w.invs {
		if invitationIn(w.m, ref.acct, ref.inv.ID).Pending {
			pending = append(pending, ref)
		}
	}
	if rapid.IntRange(0, 4).Draw(w.t, label+" settled") == 0 {
		return w.invs[rapid.IntRange(0, len(w.invs)-1).Draw(w.t, label)], true
	}
	if len(pending) == 0 {
		return invitationRef{}, false
	}
	return pending[rapid.IntRange(0, len(pending)-1).Draw(w.t, label)], true
}

func (w *world) drawInvite() op {
	actor := w.actor("inviter")
	return &inviteOp{actor: actor, acct: w.account("account"), email: w.inviteEmail(actor), offer: w.grant("offer")}
}

func (w *world) drawAccept() op {
	ref, ok := w.invitation("invitation")
	if !ok {
		return nil
	}
	user := w.personOf(ref.inv.Email)
	if rapid.IntRange(0, 5).Draw(w.t, "someone else accepts") == 0 {
		user = w.person("other acceptor")
	}
	return &acceptOp{acct: ref.acct, inv: ref.inv, user: user, email: w.email[user]}
}

func (w *world) personOf(email string) string {
	for p, e := range w.email {
		if e == email {
			return p
		}
	}
	panic("nobody has " + email)
}

func (w *world) drawSetAccess() op {
	return &setAccessOp{actor: w.actor("actor"), acct: w.account("account"), target: w.person("target"), grant: w.grant("access")}
}

func (w *world) drawRemove() op {
	actor := w.actor("actor")
	target := w.person("target")
	if actor != flowfuzz.System && rapid.IntRange(0, 3).Draw(w.t, "leaves") == 0 {
		target = actor
	}
	return &removeOp{actor: actor, acct: w.account("account"), target: target}
}

func (w *world) drawOrganize() op {
	group := rapid.Bool().Draw(w.t, "group")
	labels := append(slices.Clone(flowfuzz.Tags), "t-new")
	if group {
		labels = append(slices.Clone(flowfuzz.Groups), "g-new")
	}
	return &organizeOp{
		actor: w.actor("actor"), acct: w.acct, group: group,
		product: rapid.SampledFrom(append(flowfuzz.Products, w.extraProducts()...)).Draw(w.t, "product"),
		label:   rapid.SampledFrom(labels).Draw(w.t, "label"), in: rapid.IntRange(0, 3).Draw(w.t, "untag") != 0,
	}
}

func (w *world) actions() map[string]func(*rapid.T) {
	do := func(draw func() op) func(*rapid.T) {
		return func(rt *rapid.T) {
			w.t = rt
			if o := draw(); o != nil {
				w.step(o)
			}
		}
	}
	return map[string]func(*rapid.T){
		"invite":     do(w.drawInvite),
		"accept":     do(w.drawAccept),
		"set access": do(w.drawSetAccess),
		"remove":     do(w.drawRemove),
		"organize":   do(w.drawOrganize),
		"revoke": do(func() op {
			ref, ok := w.invitation("invitation")
			if !ok {
				return nil
			}
			return &revokeOp{actor: w.actor("actor"), acct: ref.acct, inv: ref.inv}
		}),
		"add owner": do(func() op {
			return &addOwnerOp{actor: w.actor("actor"), acct: w.account("account"), target: w.person("target")}
		}),
		"add product": do(func() op {
			o := &addProductOp{actor: w.actor("actor"), acct: w.acct, name: fmt.Sprintf("p%d", w.products)}
			if rapid.Bool().Draw(w.t, "tagged") {
				o.tags = []string{rapid.SampledFrom(append(slices.Clone(flowfuzz.Tags), "t-new")).Draw(w.t, "tag")}
			}
			w.products++
			return o
		}),
		"delegation": do(func() op {
			return &delegationOp{actor: w.actor("actor"), acct: w.acct, on: rapid.Bool().Draw(w.t, "on")}
		}),
		"create account": do(func() op {
			// Host staff and outsiders naming someone known, with an
			// address that is not theirs: identity is not a caller's word.
			w.accounts++
			owner := w.person("owner")
			email := rapid.SampledFrom([]string{w.email[owner], "attacker@evil.example"}).Draw(w.t, "owner email")
			host := rapid.SampledFrom([]string{w.host, "elsewhere"}).Draw(w.t, "host")
			return &createAccountOp{actor: w.actor("creator"), id: fmt.Sprintf("%s-b%d", w.acct, w.accounts), owner: owner, ownerEmail: email, host: host}
		}),
		"add contact":  do(func() op { return &addContactOp{actor: w.actor("actor"), acct: w.account("account")} }),
		"create token": do(w.drawCreateToken),
		"request":      do(w.drawRequest),
		"decide":       do(w.drawDecide),
		"revoke token": do(func() op {
			a := w.m.Accounts[w.acct]
			if len(a.Tokens) == 0 {
				return nil
			}
			t := rapid.SampledFrom(a.Tokens).Draw(w.t, "token")
			actor := rapid.SampledFrom([]string{t.Creator, w.people[0], w.actor("actor")}).Draw(w.t, "revoker")
			return &revokeTokenOp{actor: actor, acct: w.acct, id: t.ID}
		}),
		"race": func(rt *rapid.T) {
			w.t = rt
			a, b := w.drawRacer("first"), w.drawRacer("second")
			if a != nil && b != nil {
				w.race(a, b)
			}
		},
		"": func(rt *rapid.T) { w.t = rt; w.check() },
	}
}

// drawRacer draws a flow for a race; races on the same person are the
// interesting ones, so the targets come from a small set.
func (w *world) drawRacer(label string) op {
	switch rapid.IntRange(0, 7).Draw(w.t, label) {
	case 5:
		return w.drawCreateToken()
	case 6:
		return w.drawRequest()
	case 7:
		return w.drawDecide()
	case 0:
		return w.drawAccept()
	case 1:
		return w.drawRemove()
	case 2:
		return w.drawSetAccess()
	case 3:
		return w.drawInvite()
	default:
		return w.drawOrganize()
	}
}

// drawCreateToken: someone of the account, mostly, gives a token part of
// what they hold, or more (refused).
func (w *world) drawCreateToken() op {
	g := w.grant("given")
	g.Admin, g.End = false, nil
	if !g.GrantsSomething() {
		g.Rights = []string{"billing"}
	}
	carol, dave, frank := w.people[2], w.people[3], w.people[4]
	actor := rapid.SampledFrom([]string{w.people[0], carol, dave, frank, w.actor("actor")}).Draw(w.t, "creator")
	if actor == flowfuzz.System {
		actor = carol
	}
	return &createTokenOp{actor: actor, acct: w.acct, given: g}
}

// drawRequest: a member asks for something they lack (asking for what
// one holds is bad input, refused before anything is decided).
func (w *world) drawRequest() op {
	a := w.m.Accounts[w.acct]
	var members []string
	for u := range a.Members {
		members = append(members, u)
	}
	if len(members) == 0 {
		return nil
	}
	slices.Sort(members)
	user := rapid.SampledFrom(members).Draw(w.t, "asker")
	g := w.grant("asked")
	g.End = nil
	if !flowfuzz.Added(a.Members[user], g).GrantsSomething() {
		return nil
	}
	return &requestOp{actor: user, acct: w.acct, asked: g}
}

// drawDecide: someone, often a manager, approves or refuses a request,
// mostly a pending one.
func (w *world) drawDecide() op {
	a := w.m.Accounts[w.acct]
	if len(a.Requests) == 0 {
		return nil
	}
	r := rapid.SampledFrom(a.Requests).Draw(w.t, "request")
	return &decideOp{actor: w.actor("decider"), acct: w.acct, id: r.ID, approve: rapid.Bool().Draw(w.t, "approve")}
}

// raceOp only names races in the tally.
type raceOp struct{ op }
