package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
	"github.com/hostaccess/hostaccess/schema"
)

// OnlyFlows, as Config.Only, runs only the write flows after the up-front
// verification: the one-client flows, then the 16 clients (parallel.go).
const OnlyFlows = "flows"

// flowWorkloads are the write flows alone, for measuring them without the
// read workloads' minutes before them.
func (e *Env) flowWorkloads(ctx context.Context) error {
	if err := e.flows(ctx); err != nil {
		return err
	}
	return e.flowsParallel(ctx)
}

// flows runs invite+accept, set access and remove member on accounts in
// turn, for the workload duration, checking each step's effect and, after,
// that every touched account keeps its owners.
func (e *Env) flows(ctx context.Context) error {
	p, d := e.Provider, e.cfg.Duration
	var inviteLat, setLat, removeLat []time.Duration
	touched := map[string]bool{}
	errs := 0
	var firstErr error
	start := time.Now()
	iter := 0
	for ; ctx.Err() == nil && time.Since(start) < d; iter++ {
		a := p.Accounts[(iter*7919)%len(p.Accounts)]
		owner := a.Owners[0]
		user := fmt.Sprintf("bench%d", iter)
		touched[a.ID] = true
		step := func(lats *[]time.Duration, f func() error) bool {
			t := time.Now()
			err := f()
			*lats = append(*lats, time.Since(t))
			if err != nil {
				errs++
				if firstErr == nil {
					firstErr = err
				}
				return false
			}
			return true
		}
		if !step(&inviteLat, func() error { return e.inviteBilling(ctx, owner, a.ID, user) }) {
			continue
		}
		e.expectCan(ctx, "account:"+a.ID, schema.PermPayInvoices, user, true)
		prod := "product:" + a.ID + "/" + a.Products[0].Name
		if !step(&setLat, func() error {
			_, err := e.Service.SetAccess(ctx, hostaccess.Person(owner), a.ID, user, hostaccess.Access{
				Rights: []hostaccess.Right{hostaccess.RightSupport}, Technical: hostaccess.ProductScope{Products: []string{a.Products[0].Name}},
			})
			return err
		}) {
			continue
		}
		e.expectCan(ctx, prod, schema.PermManage, user, true)
		e.expectCan(ctx, "account:"+a.ID, schema.PermPayInvoices, user, false)
		if !step(&removeLat, func() error {
			_, err := e.Service.RemoveMember(ctx, hostaccess.Person(owner), a.ID, user)
			return err
		}) {
			continue
		}
		e.expectCan(ctx, "account:"+a.ID, schema.PermView, user, false)
		e.expectCan(ctx, prod, schema.PermManage, user, false)
	}
	elapsed := time.Since(start)
	for _, x := range []struct {
		name string
		lats []time.Duration
	}{{"flow invite+accept", inviteLat}, {"flow set access", setLat}, {"flow remove member", removeLat}} {
		s := summarize(x.name, "service", 1, x.lats, elapsed)
		if x.name == "flow invite+accept" {
			s.Errors = errs
			if firstErr != nil {
				s.Note = "first error: " + firstErr.Error()
			} else {
				s.Note = fmt.Sprintf("%d full iterations, answers checked after each step", iter)
			}
		}
		e.add(s)
	}
	// Invariants: every touched account keeps every one of its owners (and
	// so an owner), and the bench users are gone.
	for id := range touched {
		a := p.Account(id)
		for _, o := range a.Owners {
			e.expectCan(ctx, "account:"+id, schema.PermClose, o, true)
		}
	}
	e.report.Invariants = append(e.report.Invariants, fmt.Sprintf("%d accounts touched by flows keep all their owners; every bench user lost access on removal", len(touched)))
	if errs > 0 {
		return fmt.Errorf("flows: %d errors, first: %w", errs, firstErr)
	}
	return nil
}
