package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
	"github.com/hostaccess/hostaccess/schema"
)

// The conditions workload set: the cost of a token check and of a caveated
// check next to a plain one, on the generated data. Tokens are created
// through CreateToken and members restricted to networks through SetAccess
// (one write each, a bounded number of them); the two-factor gate is put on
// by a second service built with MFARights, as stack.Server starts one
// (hostaccess.New, then ApplyConditions), and taken off again at the end by
// the bench's own service. Every answer is judged against the model: allowed,
// denied or conditional.

// OnlyConditions, as Config.Only, runs only this set after the up-front
// verification.
const OnlyConditions = "conditions"

// conditionsMembers bounds the tokens created and the members restricted
// (each): a few hundred writes of setup.
const conditionsMembers = 300

// The networks of the restricted members, and addresses in and out of them.
const (
	restrictedCIDR = "10.0.0.0/8"
	insideIP       = "10.20.30.40"
	outsideIP      = "192.0.2.7"
)

// outcome is an answer as the model predicts it.
type outcome int

const (
	denied outcome = iota
	allowed
	conditional
)

func (o outcome) String() string {
	switch o {
	case allowed:
		return "allowed"
	case conditional:
		return "conditional"
	case denied:
		return "denied"
	}
	return "allowed and conditional at once"
}

func expectOutcome(allowedByModel bool) outcome {
	if allowedByModel {
		return allowed
	}
	return denied
}

func outcomeOf(a hostaccess.Answer) outcome {
	switch {
	case a.Allowed && a.Conditional:
		return -1 // never valid: judged wrong whatever was expected
	case a.Allowed:
		return allowed
	case a.Conditional:
		return conditional
	}
	return denied
}

// condQuestion is a check, maybe with caveat context, and the outcome the
// model predicts for it. With secret set it is asked with CheckToken.
type condQuestion struct {
	hostaccess.Check
	secret string
	want   outcome
}

func (q condQuestion) String() string {
	how := ""
	if q.secret != "" {
		how = " (CheckToken with its secret)"
	}
	return fmt.Sprintf("%s %s %s context %v%s (expected %s)", q.Subject, q.Permission, q.Resource, q.Context, how, q.want)
}

// judge records an answer against the model; a CheckToken answer must
// also name the token the secret belongs to.
func (e *Env) judge(q condQuestion, a hostaccess.Answer) {
	got := outcomeOf(a)
	switch {
	case q.secret != "" && a.Subject != q.Subject:
		e.v.fail(fmt.Sprintf("%s: answered for %s", q, a.Subject))
	case got != q.want:
		e.v.fail(fmt.Sprintf("%s: got %s (allowed %t, conditional %t, missing %v)", q, got, a.Allowed, a.Conditional, a.MissingContext))
	default:
		e.v.ok()
	}
}

type asker func(ctx context.Context, q condQuestion) (hostaccess.Answer, error)

func viaCan(svc *hostaccess.Service) asker {
	return func(ctx context.Context, q condQuestion) (hostaccess.Answer, error) {
		return svc.Can(ctx, q.Check, hostaccess.CheckOptions{})
	}
}

func viaCheckToken(svc *hostaccess.Service) asker {
	return func(ctx context.Context, q condQuestion) (hostaccess.Answer, error) {
		ta, err := svc.CheckToken(ctx, hostaccess.TokenCheck{Secret: q.secret, Resource: q.Resource, Permission: q.Permission, Context: q.Context}, hostaccess.CheckOptions{})
		return ta.Answer, err
	}
}

// condKind is one row family: a pool of questions and how they are asked.
type condKind struct {
	name string
	pool []condQuestion
	ask  asker
	note string
}

func (e *Env) condOp(k condKind) func(context.Context, int) error {
	return func(ctx context.Context, i int) error {
		q := k.pool[i%len(k.pool)]
		a, err := k.ask(ctx, q)
		if err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		e.judge(q, a)
		return nil
	}
}

// cold measures the first ask of each question of each kind, one client,
// the kinds one after another; it returns the fewest questions a row
// reached, the size of the kinds' warm sets.
func (e *Env) cold(ctx context.Context, kinds ...condKind) int {
	reached := len(kinds[0].pool)
	for _, k := range kinds {
		s := measure(ctx, "conditions: "+k.name+", cold (first ask)", "service", 1, e.cfg.Duration, len(k.pool), e.condOp(k))
		s.Note = k.note
		e.add(s)
		reached = min(reached, s.Count)
	}
	return reached
}

// maxWarmSet bounds a warm set: each is asked once unmeasured right before
// each warm row, which must end within SpiceDB's revision window (5 s by
// default) for the row to find it cached.
const maxWarmSet = 300

// warm measures the kinds at 1 then 16 clients on the first n questions of
// their pools (at least 50, at most maxWarmSet: what the cold rows reached,
// as the existing warm checks), each set asked once unmeasured right
// before its row (SpiceDB's revision window moves every quantization
// interval).
func (e *Env) warm(ctx context.Context, n int, kinds ...condKind) error {
	for _, conc := range []int{1, 16} {
		for _, k := range kinds {
			k.pool = k.pool[:min(len(k.pool), max(n, 50), maxWarmSet)]
			pre := measure(ctx, "warm-up", "service", 16, time.Hour, len(k.pool), e.condOp(k))
			if pre.Errors > 0 {
				return fmt.Errorf("conditions: %s: %d errors, %s", k.name, pre.Errors, pre.Note)
			}
			s := measure(ctx, fmt.Sprintf("conditions: %s, warm (%d repeated)", k.name, len(k.pool)), "service", conc, e.cfg.Duration, 0, e.condOp(k))
			s.Note = k.note
			e.add(s)
		}
	}
	return nil
}

// pick is one member of one generated account, and the questions asked
// about them (pay_invoices and product#manage).
type pick struct {
	a    *Account
	user string
	qs   []Question
}

// conditionsPicks draws two disjoint sets of at most n members (each person
// in one set, once), whose grants give something: the token creators and
// the members to restrict.
func (p *Provider) conditionsPicks(r *rand.Rand, n int) (creators, restricted []pick) {
	used := map[string]bool{}
	for _, idx := range r.Perm(len(p.Accounts)) {
		a := p.Accounts[idx]
		for _, u := range sortedKeys(a.Members) {
			g := a.Members[u]
			if used[u] || (!g.TechAll && len(g.TechProducts)+len(g.TechGroups)+len(g.TechTags)+len(g.Rights) == 0) || a.active(u, p.Now) == nil {
				continue
			}
			used[u] = true
			pk := pick{a: a, user: u, qs: p.memberQuestions(r, a, u)}
			if len(creators) <= len(restricted) && len(creators) < n {
				creators = append(creators, pk)
			} else if len(restricted) < n {
				restricted = append(restricted, pk)
			}
		}
		if len(creators) >= n && len(restricted) >= n {
			break
		}
	}
	return creators, restricted
}

// memberQuestions are the existing single-check questions about one member:
// account#pay_invoices and product#manage on up to four of its products.
func (p *Provider) memberQuestions(r *rand.Rand, a *Account, u string) []Question {
	qs := []Question{p.question("account:"+a.ID, schema.PermPayInvoices, u)}
	for _, j := range r.Perm(len(a.Products))[:min(4, len(a.Products))] {
		qs = append(qs, p.question("product:"+a.ID+"/"+a.Products[j].Name, schema.PermManage, u))
	}
	return qs
}

var noticeCategory = map[string]hostaccess.Category{
	schema.RelBillingNotices: hostaccess.CategoryBilling, schema.RelRenewalNotices: hostaccess.CategoryRenewals,
	schema.RelDomainNotices: hostaccess.CategoryDomains, schema.RelTechnicalNotices: hostaccess.CategoryTechnical,
	schema.RelSupportNotices: hostaccess.CategorySupport,
}

// grantAccess is a generated grant as the flows' Access.
func grantAccess(g *Grant) hostaccess.Access {
	a := hostaccess.Access{
		Technical: hostaccess.ProductScope{All: g.TechAll, Products: slices.Clone(g.TechProducts), Groups: slices.Clone(g.TechGroups), Tags: slices.Clone(g.TechTags)},
		ExpiresAt: g.Expires,
	}
	for _, rt := range g.Rights {
		a.Rights = append(a.Rights, hostaccess.Right(rt))
	}
	for _, n := range g.Notifications {
		a.Notifications = append(a.Notifications, noticeCategory[n])
	}
	return a
}

func plainKind(name string, picks []pick) condKind {
	var pool []condQuestion
	allowedN := 0
	for _, pk := range picks {
		for _, q := range pk.qs {
			pool = append(pool, condQuestion{Check: q.Check, want: expectOutcome(q.Expected)})
			if q.Expected {
				allowedN++
			}
		}
	}
	return condKind{name: name, pool: pool, note: fmt.Sprintf("%d members, %d questions (%d allowed)", len(picks), len(pool), allowedN)}
}

// conditionsWorkloads runs the set: tokens, then restricted members, then
// the two-factor gate.
func (e *Env) conditionsWorkloads(ctx context.Context) error {
	p := e.Provider
	r := rand.New(rand.NewPCG(e.cfg.Seed+3, 11)) //nolint:gosec // reproducible draws, not a secret
	creators, restricted := p.conditionsPicks(r, conditionsMembers)
	if len(creators) == 0 || len(restricted) == 0 {
		e.cfg.logf("conditions: too few members with grants (%d, %d): not run", len(creators), len(restricted))
		return nil
	}
	if err := e.tokenWorkloads(ctx, creators); err != nil {
		return err
	}
	if err := e.restrictedWorkloads(ctx, restricted); err != nil {
		return err
	}
	skip := map[string]bool{}
	for _, pk := range restricted {
		skip[pk.a.ID] = true // their checks need client_ip
	}
	return e.mfaWorkloads(ctx, r, skip)
}

// tokenWorkloads creates a token for each creator, given what they hold on
// the account, and asks their questions as themselves, as token:ID and with
// the token's secret.
func (e *Env) tokenWorkloads(ctx context.Context, creators []pick) error {
	expires := time.Now().Add(29 * 24 * time.Hour) // within 90 days, before any generated membership ends (30 days at least)
	var lats []time.Duration
	start := time.Now()
	tokenPool, secretPool := make([]condQuestion, 0), make([]condQuestion, 0)
	for _, pk := range creators {
		g := grantAccess(pk.a.Members[pk.user])
		t := time.Now()
		nt, err := e.Service.CreateToken(ctx, hostaccess.Person(pk.user), pk.a.ID, hostaccess.TokenInput{
			Name: "bench " + pk.user, Rights: g.Rights, Technical: g.Technical, View: g.View, ExpiresAt: &expires,
		})
		lats = append(lats, time.Since(t))
		if err != nil {
			return fmt.Errorf("conditions: token of %s on %s: %w", pk.user, pk.a.ID, err)
		}
		for _, q := range pk.qs {
			c := q.Check
			c.Subject = "token:" + nt.Token.ID
			tokenPool = append(tokenPool, condQuestion{Check: c, want: expectOutcome(q.Expected)})
			secretPool = append(secretPool, condQuestion{Check: c, secret: nt.Secret, want: expectOutcome(q.Expected)})
		}
	}
	s := summarize("conditions setup: CreateToken (given what the creator holds)", "service", 1, lats, time.Since(start))
	s.Note = fmt.Sprintf("%d tokens, one per member, one write each", len(lats))
	e.add(s)

	plain := plainKind("plain, member (user:ID)", creators)
	plain.ask = viaCan(e.Service)
	tok := condKind{name: "token (token:ID)", pool: tokenPool, ask: viaCan(e.Service), note: "the same questions, each member's token: " + plain.note}
	sec := condKind{name: "CheckToken (secret)", pool: secretPool, ask: viaCheckToken(e.Service), note: "token:ID's questions with the secret: the directory's hash lookup, then the same check (warm only: its cold row would find token:ID's answers cached)"}
	n := e.cold(ctx, plain, tok)
	return e.warm(ctx, n, plain, tok, sec)
}

// restrictedWorkloads asks the members' questions plainly, restricts them
// to restrictedCIDR (SetAccess with what they hold and AllowedCIDRs), and
// asks them again: from inside the network (the model's answer), without
// client_ip (conditional where the model allows) and from outside (denied).
func (e *Env) restrictedWorkloads(ctx context.Context, members []pick) error {
	plain := plainKind("plain, member before restriction", members)
	plain.ask = viaCan(e.Service)
	n := e.cold(ctx, plain)
	if err := e.warm(ctx, n, plain); err != nil {
		return err
	}

	var lats []time.Duration
	start := time.Now()
	for _, pk := range members {
		a := grantAccess(pk.a.Members[pk.user])
		a.AllowedCIDRs = []string{restrictedCIDR}
		t := time.Now()
		_, err := e.Service.SetAccess(ctx, hostaccess.Person(pk.a.Owners[0]), pk.a.ID, pk.user, a)
		lats = append(lats, time.Since(t))
		if err != nil {
			return fmt.Errorf("conditions: restricting %s on %s: %w", pk.user, pk.a.ID, err)
		}
	}
	s := summarize("conditions setup: SetAccess (restrict to "+restrictedCIDR+")", "service", 1, lats, time.Since(start))
	s.Note = fmt.Sprintf("%d members, what they hold plus allowed_cidrs, one write each", len(lats))
	e.add(s)

	var pool []condQuestion
	shares := [3]int{}
	for i, q := range plain.pool {
		c := q.Check
		switch i % 20 {
		case 0, 1, 2, 3, 4: // a quarter without context: conditional where allowed
			w := q.want
			if w == allowed {
				w = conditional
			}
			pool = append(pool, condQuestion{Check: c, want: w})
			shares[1]++
		case 5, 6: // a tenth from outside the network: denied
			c.Context = map[string]any{"client_ip": outsideIP}
			pool = append(pool, condQuestion{Check: c, want: denied})
			shares[2]++
		default:
			c.Context = map[string]any{"client_ip": insideIP}
			pool = append(pool, condQuestion{Check: c, want: q.want})
			shares[0]++
		}
	}
	cav := condKind{name: "caveated, member restricted to networks", pool: pool, ask: viaCan(e.Service),
		note: fmt.Sprintf("the same questions: %d with client_ip inside, %d without context (conditional where allowed), %d from outside (denied)", shares[0], shares[1], shares[2])}
	return e.warm(ctx, min(n, e.cold(ctx, cav)), cav)
}

// canManageSecurity is account#manage_security in the model: owners and
// members holding the security right (no delegation reaches it).
func (p *Provider) canManageSecurity(a *Account, u string) bool {
	g := a.active(u, p.Now)
	return a.isOwner(u) || (g != nil && slices.Contains(g.Rights, schema.RelRightSecurity))
}

// mfaQuestions draws manage_users and manage_security questions as
// Questions does (half on accounts with extra users; owners, members, host
// admins, anyone), leaving out the accounts in skip.
func (p *Provider) mfaQuestions(r *rand.Rand, n int, skip map[string]bool) []Question {
	var all, shared []*Account
	for _, a := range p.Accounts {
		if skip[a.ID] {
			continue
		}
		all = append(all, a)
		if len(a.Members) > 0 {
			shared = append(shared, a)
		}
	}
	out := make([]Question, 0, n)
	for len(all) > 0 && len(out) < n {
		a := all[r.IntN(len(all))]
		if len(shared) > 0 && r.IntN(2) == 0 {
			a = shared[r.IntN(len(shared))]
		}
		u := p.subjectFor(r, a)
		if r.IntN(2) == 0 {
			out = append(out, p.question("account:"+a.ID, schema.PermManageUsers, u))
			continue
		}
		c := hostaccess.Check{Resource: "account:" + a.ID, Permission: schema.PermManageSecurity, Subject: "user:" + u}
		out = append(out, Question{Check: c, Expected: p.canManageSecurity(a, u)})
	}
	return out
}

// mfaWorkloads asks manage_users and manage_security plainly, then puts the
// two-factor gate on every host through a service built with
// RecommendedMFARights (what starting one does), asks them with
// {"mfa": true} (the model's answer) and without context (conditional
// where allowed), and takes the gate off again.
func (e *Env) mfaWorkloads(ctx context.Context, r *rand.Rand, skip map[string]bool) error {
	qs := e.Provider.mfaQuestions(r, 4*conditionsMembers, skip)
	var pool []condQuestion
	allowedN := 0
	for _, q := range qs {
		pool = append(pool, condQuestion{Check: q.Check, want: expectOutcome(q.Expected)})
		if q.Expected {
			allowedN++
		}
	}
	plain := condKind{name: "plain, manage_users/manage_security (no gate)", pool: pool, ask: viaCan(e.Service),
		note: fmt.Sprintf("%d questions (%d allowed), subjects as the existing questions", len(pool), allowedN)}
	n := e.cold(ctx, plain)
	if err := e.warm(ctx, n, plain); err != nil {
		return err
	}

	mfaSvc, err := hostaccess.New(hostaccess.Config{
		Engine: e.Engine.Client, Directory: e.Dir, Freshness: e.Freshness, EngineReportsWrites: true,
		MFARights: hostaccess.RecommendedMFARights,
	})
	if err != nil {
		return err
	}
	t := time.Now()
	hosts, err := mfaSvc.ApplyConditions(ctx)
	if err != nil {
		return fmt.Errorf("conditions: the two-factor gate: %w", err)
	}
	e.cfg.logf("conditions: two-factor gate on %s for %d hosts in %s", hostaccess.RecommendedMFARights, hosts, time.Since(t).Round(time.Millisecond))
	defer func() {
		// Off again, as the bench's own service (no MFARights) would start.
		if _, err := e.Service.ApplyConditions(context.WithoutCancel(ctx)); err != nil {
			e.cfg.logf("conditions: removing the two-factor gate: %v", err)
		}
	}()

	var gated []condQuestion
	without := 0
	for i, q := range pool {
		c := q.Check
		if i%4 == 0 {
			w := q.want
			if w == allowed {
				w = conditional
			}
			gated = append(gated, condQuestion{Check: c, want: w})
			without++
			continue
		}
		c.Context = map[string]any{"mfa": true}
		gated = append(gated, condQuestion{Check: c, want: q.want})
	}
	mfa := condKind{name: "mfa-gated, manage_users/manage_security", pool: gated, ask: viaCan(mfaSvc),
		note: fmt.Sprintf("the same questions on a service with MFARights %v: %d with {mfa: true}, %d without context (conditional where allowed)", hostaccess.RecommendedMFARights, len(gated)-without, without)}
	return e.warm(ctx, min(n, e.cold(ctx, mfa)), mfa)
}
