package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
	"github.com/hostaccess/hostaccess/schema"
)

// rawConsistency is what the raw SpiceDB path asks for: what a careful
// client keeping one token would (at least as fresh as the load, cached
// otherwise), or fully consistent when the service is, so each ratio
// compares like with like. (minimize_latency alone may answer from before
// the load: up to a quantization window old.)
func (e *Env) rawConsistency() *v1.Consistency {
	if e.cfg.Consistency == ConsistencyFull || e.loadToken == nil {
		return &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
	}
	return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: e.loadToken}}
}

func (e *Env) serviceCheck(q Question) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		a, err := e.Service.Can(ctx, q.Check, hostaccess.CheckOptions{})
		if err != nil {
			return err
		}
		e.v.record(q, a.Allowed)
		return nil
	}
}

func (e *Env) rawCheck(q Question) func(ctx context.Context) error {
	return checkVia(e.Engine.Client, e.rawConsistency(), e.v, q)
}

// checkVia asks q through a SpiceDB API client at consistency and records
// the answer.
func checkVia(c v1.PermissionsServiceClient, consistency *v1.Consistency, v *verifier, q Question) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		allowed, err := askVia(ctx, c, consistency, q.Check)
		if err != nil {
			return err
		}
		v.record(q, allowed)
		return nil
	}
}

// askVia asks one question through a SpiceDB API client.
func askVia(ctx context.Context, c v1.PermissionsServiceClient, consistency *v1.Consistency, q hostaccess.Check) (bool, error) {
	typ, id, _ := strings.Cut(q.Resource, ":")
	styp, sid, _ := strings.Cut(q.Subject, ":")
	resp, err := c.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: consistency,
		Resource:    &v1.ObjectReference{ObjectType: typ, ObjectId: id},
		Permission:  q.Permission,
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: styp, ObjectId: sid}},
	})
	return resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION, err
}

func (e *Env) workloads(ctx context.Context) error {
	p, d := e.Provider, e.cfg.Duration
	r := rand.New(rand.NewPCG(e.cfg.Seed+1, 7)) //nolint:gosec // reproducible question draws, not a secret

	// Up-front verification of a sample, in bulk.
	sample := p.Questions(r, max(e.cfg.Verify, 0))
	t := time.Now()
	mm, err := e.Verify(ctx, sample)
	if err != nil {
		return err
	}
	for _, m := range mm {
		e.v.record(m.Question, m.Got)
	}
	for range len(sample) - len(mm) {
		e.v.ok()
	}
	allowed := 0
	for _, q := range sample {
		if q.Expected {
			allowed++
		}
	}
	e.cfg.logf("verified %d sampled answers (%d allowed, %d denied) in %s: %d mismatches", len(sample), allowed, len(sample)-allowed, time.Since(t).Round(time.Millisecond), len(mm))
	switch e.cfg.Only {
	case OnlyConditions:
		return e.conditionsWorkloads(ctx)
	case OnlyWarm:
		return e.warmWorkloads(ctx)
	case OnlyFlows:
		return e.flowWorkloads(ctx)
	case OnlyCold:
		return e.coldWorkloads(ctx, sample)
	}

	// Single checks. Cold: each question asked for the first time, from four
	// disjoint pools drawn the same way. Warm: the questions the first cold
	// pass answered, asked again (no write in between) by both paths.
	const pool = 20000
	pools := make([][]Question, 4)
	for i := range pools {
		pools[i] = p.Questions(r, pool)
	}
	type variant struct {
		path string
		conc int
	}
	variants := []variant{{"service", 1}, {"raw", 1}, {"service", 16}, {"raw", 16}}
	check := func(path string, q Question) func(context.Context) error {
		if path == "raw" {
			return e.rawCheck(q)
		}
		return e.serviceCheck(q)
	}
	cold := map[variant]Stats{}
	for i, v := range variants {
		qs := pools[i]
		cold[v] = e.add(measure(ctx, "check cold (first ask)", v.path, v.conc, d, len(qs), func(ctx context.Context, i int) error { return check(v.path, qs[i])(ctx) }))
	}
	warmSet := pools[0][:max(1, min(cold[variants[0]].Count, 2000))]
	// Warm: two rounds, the second in the opposite order (raw before
	// service), so neither path always runs on a cache the other filled or
	// just after a window change; each path's rate is over both rounds.
	warm := map[variant]Stats{}
	order := append(slices.Clone(variants), []variant{{"raw", 1}, {"service", 1}, {"raw", 16}, {"service", 16}}...)
	for round, v := range order {
		// Warm-up: each question once through this path, unmeasured, so
		// "warm" means asked before within SpiceDB's current revision
		// window (it moves every quantization interval, 5 s by default).
		for _, q := range warmSet {
			if err := check(v.path, q)(ctx); err != nil {
				return err
			}
		}
		s := measure(ctx, fmt.Sprintf("check warm (%d repeated), round %d", len(warmSet), round/len(variants)+1), v.path, v.conc, d, 0, func(ctx context.Context, i int) error {
			return check(v.path, warmSet[i%len(warmSet)])(ctx)
		})
		e.add(s)
		w := warm[v]
		w.Count += s.Count
		w.Seconds += s.Seconds
		w.PerSecond = float64(w.Count) / w.Seconds
		warm[v] = w
	}
	for _, c := range []int{1, 16} {
		for _, x := range []struct {
			name string
			m    map[variant]Stats
		}{{"check cold", cold}, {"check warm", warm}} {
			s, raw := x.m[variant{"service", c}], x.m[variant{"raw", c}]
			ratio := Ratio{Workload: fmt.Sprintf("%s c=%d", x.name, c), Service: s.PerSecond, Raw: raw.PerSecond}
			if raw.PerSecond > 0 {
				ratio.ServiceOverRaw = s.PerSecond / raw.PerSecond
			}
			e.report.Ratios = append(e.report.Ratios, ratio)
		}
	}

	// Page loads: one CanAll of 50 questions for one member.
	pages := make([][]Question, 1000)
	for i := range pages {
		pages[i] = p.Page(r)
	}
	pageOp := func(list [][]Question) func(context.Context, int) error {
		return func(ctx context.Context, i int) error {
			page := list[i%len(list)]
			checks := make([]hostaccess.Check, len(page))
			for j, q := range page {
				checks[j] = q.Check
			}
			answers, err := e.Service.CanAll(ctx, checks, hostaccess.CheckOptions{})
			if err != nil {
				return err
			}
			for j, a := range answers {
				e.v.record(page[j], a.Allowed)
			}
			return nil
		}
	}
	withChecks := func(s Stats) Stats { s.ChecksPerSecond = s.PerSecond * 50; return s }
	pc := e.add(withChecks(measure(ctx, "page load CanAll(50) cold", "service", 1, d, len(pages), pageOp(pages))))
	warmPages := pages[:max(1, min(pc.Count, 50))]
	for _, conc := range []int{1, 16} {
		// Warm-up, as for single checks: each page once, unmeasured, right
		// before, so the cache holds them at SpiceDB's current revision
		// window (on memory the window moves every 5 s even without writes).
		for i := range warmPages {
			if err := pageOp(warmPages)(ctx, i); err != nil {
				return err
			}
		}
		e.add(withChecks(measure(ctx, "page load CanAll(50) warm", "service", conc, d, 0, pageOp(warmPages))))
	}

	// Product lists: LookupResources product#manage.
	var ordinary []string
	for _, a := range p.Accounts {
		for _, u := range sortedKeys(a.Members) {
			g := a.Members[u]
			if len(g.TechProducts) > 0 && len(p.accountsOf[u]) == 1 {
				ordinary = append(ordinary, u)
			}
		}
		if len(ordinary) >= 200 {
			break
		}
	}
	agency, agencyProducts := "", 0
	for _, ag := range p.Agencies {
		n := len(p.ManageableProducts(ag, p.Now))
		if agency == "" || abs(n-500) < abs(agencyProducts-500) {
			agency, agencyProducts = ag, n
		}
	}
	lookupOp := func(users []string) func(context.Context, int) error {
		return func(ctx context.Context, i int) error {
			u := users[i%len(users)]
			got, err := e.lookupProducts(ctx, u)
			if err != nil {
				return err
			}
			if want := p.ManageableProducts(u, p.Now); !slices.Equal(got, want) {
				e.v.fail(fmt.Sprintf("lookup product#manage for user:%s: got %d products, expected %d", u, len(got), len(want)))
			} else {
				e.v.ok()
			}
			return nil
		}
	}
	if len(ordinary) > 0 {
		s := measure(ctx, "product list (member)", "raw", 1, d, 0, lookupOp(ordinary))
		s.Note = fmt.Sprintf("%d distinct members, 1 account each", len(ordinary))
		e.add(s)
	}
	if agency != "" {
		s := measure(ctx, "product list (agency)", "raw", 1, d, 0, lookupOp([]string{agency}))
		s.Note = fmt.Sprintf("user:%s: %d products in %d accounts (first call cold)", agency, agencyProducts, len(p.accountsOf[agency]))
		e.add(s)
	}

	// Audit: WhoCan on products of shared accounts.
	type target struct {
		a  *Account
		pr Product
	}
	var targets []target
	for _, a := range p.Accounts {
		if len(a.Members) > 0 {
			targets = append(targets, target{a, a.Products[0]})
		}
		if len(targets) >= 200 {
			break
		}
	}
	if len(targets) > 0 {
		s := measure(ctx, "audit WhoCan(product, manage)", "service", 1, d, 0, func(ctx context.Context, i int) error {
			tg := targets[i%len(targets)]
			holders, err := e.Service.WhoCan(ctx, hostaccess.System("bench"), "product:"+tg.a.ID+"/"+tg.pr.Name, "manage")
			if err != nil {
				return err
			}
			got := make([]string, len(holders))
			for j, h := range holders {
				got[j] = h.Subject
			}
			sort.Strings(got)
			if want := p.Managers(tg.a, tg.pr, p.Now); !slices.Equal(got, want) {
				e.v.fail(fmt.Sprintf("WhoCan product:%s/%s manage: got %v, expected %v", tg.a.ID, tg.pr.Name, got, want))
			} else {
				e.v.ok()
			}
			return nil
		})
		s.Note = fmt.Sprintf("%d products, holders and reasons", len(targets))
		e.add(s)
	}

	// Audit, paged: WhoCanPage through the product with the most managers,
	// a few holders a page, each page at the first page's revision.
	if big := mostManaged(p); big.a != nil {
		want := p.Managers(big.a, big.pr, p.Now)
		slices.Sort(want) // pages come in user id order
		const perPage = 2
		resource := "product:" + big.a.ID + "/" + big.pr.Name
		var got []string
		cursor := ""
		s := measure(ctx, "audit WhoCanPage(product, manage)", "service", 1, d, 0, func(ctx context.Context, i int) error {
			page, err := e.Service.WhoCanPage(ctx, hostaccess.System("bench"), resource, "manage", cursor, perPage)
			if err != nil {
				return err
			}
			for _, h := range page.Holders {
				got = append(got, h.Subject)
			}
			if cursor = page.Next; cursor == "" { // a listing ends: check it, start again
				if slices.Equal(got, want) {
					e.v.ok()
				} else {
					e.v.fail(fmt.Sprintf("WhoCanPage %s manage, %d a page: got %v, expected %v", resource, perPage, got, want))
				}
				got = nil
			}
			return nil
		})
		s.Note = fmt.Sprintf("%s: %d holders, %d a page", resource, len(want), perPage)
		e.add(s)
	}

	// Audit: the access review of an account the size of the generator's
	// largest, built through the flows so its audit trail is replayed.
	if err := e.reviewWorkload(ctx); err != nil {
		return err
	}

	if !e.cfg.SkipFlows {
		if err := e.pagesUnderChanges(ctx, pages[:max(1, min(pc.Count, 50))]); err != nil {
			return err
		}
		if err := e.flows(ctx); err != nil {
			return err
		}
		if err := e.flowsParallel(ctx); err != nil {
			return err
		}
	}
	// Last: it restricts members and gates hosts (taken off at its end).
	return e.conditionsWorkloads(ctx)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func (e *Env) lookupProducts(ctx context.Context, u string) ([]string, error) {
	stream, err := e.Engine.Client.LookupResources(ctx, &v1.LookupResourcesRequest{
		ResourceObjectType: "product", Permission: schema.PermManage,
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: u}},
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
	})
	if err != nil {
		return nil, err
	}
	var ids []string
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if resp.GetPermissionship() == v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION {
			ids = append(ids, resp.GetResourceObjectId())
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// mostManaged is the product with the most managers (holders of manage).
func mostManaged(p *Provider) (best struct {
	a  *Account
	pr Product
}) {
	n := -1
	for _, a := range p.Accounts {
		for _, pr := range a.Products {
			if m := len(p.Managers(a, pr, p.Now)); m > n {
				n, best.a, best.pr = m, a, pr
			}
		}
	}
	return best
}
