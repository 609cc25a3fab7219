package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/authzed-go/v1"
	"github.com/authzed/grpcutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
	"github.com/hostaccess/hostaccess/schema"
)

// OnlyWarm, as Config.Only, runs only the warm set after the up-front
// verification: the same product#manage questions cycling at 16 clients
// through the Go service and through the gRPC API, while other accounts
// change several times a second, and every answer about a changed account
// is judged fresh.
const OnlyWarm = "warm"

// warmQuestions is how many distinct product#manage questions cycle by
// default (Config.WarmQuestions).
const warmQuestions = 4000

// changeEvery is how often the background writer changes an account no
// cycling question is about (invite+accept, then remove: two flows).
const changeEvery = 100 * time.Millisecond

func (e *Env) warmWorkloads(ctx context.Context) error {
	r := rand.New(rand.NewPCG(e.cfg.Seed+3, 11)) //nolint:gosec // reproducible draws
	// One account in ten is the background writer's; no question is about
	// them.
	writers := map[string]bool{}
	for i, a := range e.Provider.Accounts {
		if i%10 == 9 && len(a.Owners) > 0 {
			writers[a.ID] = true
		}
	}
	n := e.cfg.WarmQuestions
	if n <= 0 {
		n = warmQuestions
	}
	qs := productQuestions(e.Provider, r, n, writers)
	if len(qs) == 0 {
		return fmt.Errorf("no product questions in %d accounts", len(e.Provider.Accounts))
	}
	grpcClient, closeClient, err := e.separateClient()
	if err != nil {
		return err
	}
	defer closeClient()

	paths := map[string]func(q Question) func(context.Context) error{
		"service": e.serviceCheck,
		"grpc":    func(q Question) func(context.Context) error { return checkVia(grpcClient, minimizeLatency, e.v, q) },
	}
	// The background writer runs through every round: it changes accounts
	// the questions are not about, and judges its own changes fresh on both
	// paths right after each write.
	wctx, stopWriter := context.WithCancel(ctx)
	var changes atomic.Int64
	var judged, stale [2]atomic.Int64 // service, grpc
	var wg sync.WaitGroup
	wg.Go(func() { e.changeOthers(wctx, grpcClient, writers, &changes, &judged, &stale) })
	defer func() { stopWriter(); wg.Wait() }()

	start := time.Now()
	totals := map[string]Stats{}
	for round, order := range [][]string{{"service", "grpc"}, {"grpc", "service"}} {
		for _, path := range order {
			check := paths[path]
			for _, q := range qs { // warm-up: each question once, unmeasured
				if err := check(q)(ctx); err != nil {
					return err
				}
			}
			s := e.add(measure(ctx, fmt.Sprintf("warm product checks (%d cycling), round %d", len(qs), round+1), path, 16, e.cfg.Duration, 0,
				func(ctx context.Context, i int) error { return check(qs[i%len(qs)])(ctx) }))
			t := totals[path]
			t.Count += s.Count
			t.Seconds += s.Seconds
			t.PerSecond = float64(t.Count) / t.Seconds
			totals[path] = t
		}
	}
	stopWriter()
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	for i, path := range []string{"service", "grpc"} {
		t := totals[path]
		e.add(Stats{Workload: "warm product checks, both rounds", Path: path, Concurrency: 16, Count: t.Count, Seconds: t.Seconds, PerSecond: t.PerSecond,
			Note: fmt.Sprintf("%.1f changes/s to other accounts meanwhile; %d fresh-after-write answers judged, %d stale", float64(changes.Load())/elapsed, judged[i].Load(), stale[i].Load())})
		if n := stale[i].Load(); n > 0 {
			e.v.fail(fmt.Sprintf("%s: %d answers right after a change did not show it", path, n))
		}
	}
	return nil
}

// productQuestions draws up to n distinct product#manage questions about
// accounts not in skip.
func productQuestions(p *Provider, r *rand.Rand, n int, skip map[string]bool) []Question {
	seen := map[string]bool{}
	var out []Question
	for len(out) < n {
		before := len(out)
		for _, q := range p.Questions(r, 4*n) {
			if len(out) == n {
				break
			}
			account, _, _ := strings.Cut(strings.TrimPrefix(q.Resource, "product:"), "/")
			if q.Permission != schema.PermManage || !strings.HasPrefix(q.Resource, "product:") || seen[q.String()] || skip[account] {
				continue
			}
			seen[q.String()] = true
			out = append(out, q)
		}
		if len(out)-before < n/100+1 {
			break // a small provider: it has no more distinct ones
		}
	}
	return out
}

// separateClient is a gRPC client of its own over loopback, as an
// embedder's other process would hold: it asks minimize_latency, SpiceDB's
// default.
func (e *Env) separateClient() (*authzed.Client, func(), error) {
	c, err := authzed.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpcutil.WithInsecureBearerToken("bench"))
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to %s: %w", e.grpcAddr, err)
	}
	return c, func() { _ = c.Close() }, nil
}

// minimizeLatency is what a client asks that keeps no token.
var minimizeLatency = &v1.Consistency{Requirement: &v1.Consistency_MinimizeLatency{MinimizeLatency: true}}

// changeOthers changes, every changeEvery, one of the writers' accounts:
// invites and accepts a billing member, then removes them. Right after each
// write it asks both paths about the change (the gRPC one with no token,
// minimize_latency): an answer that does not show it is stale.
func (e *Env) changeOthers(ctx context.Context, c *authzed.Client, writers map[string]bool, changes *atomic.Int64, judged, stale *[2]atomic.Int64) {
	var others []*Account
	for _, a := range e.Provider.Accounts {
		if writers[a.ID] {
			others = append(others, a)
		}
	}
	if len(others) == 0 {
		return
	}
	ticker := time.NewTicker(changeEvery)
	defer ticker.Stop()
	judge := func(account, user string, want bool) {
		check := hostaccess.Check{Resource: "account:" + account, Permission: schema.PermPayInvoices, Subject: "user:" + user}
		a, err := e.Service.Can(ctx, check, hostaccess.CheckOptions{})
		viaAPI, apiErr := askVia(ctx, c, minimizeLatency, check)
		if err != nil || apiErr != nil {
			return // the bench is ending
		}
		for i, got := range []bool{a.Allowed, viaAPI} {
			judged[i].Add(1)
			if got != want {
				stale[i].Add(1)
			}
		}
	}
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		a := others[(i*7919)%len(others)]
		user := fmt.Sprintf("warm%d", i)
		if err := e.inviteBilling(ctx, a.Owners[0], a.ID, user); err != nil {
			continue
		}
		changes.Add(1)
		judge(a.ID, user, true)
		if _, err := e.Service.RemoveMember(ctx, hostaccess.Person(a.Owners[0]), a.ID, user); err != nil {
			continue
		}
		changes.Add(1)
		judge(a.ID, user, false)
	}
}
