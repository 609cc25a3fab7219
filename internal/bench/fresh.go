package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
	"github.com/hostaccess/hostaccess/schema"
)

// change is one access change the writer made: its account, when it was
// asked and when it returned, and whether the probe user holds billing
// after it.
type change struct {
	account           string
	started, returned time.Time
	allowed           bool
}

// pageAnswer is the probe question's answer in one page load.
type pageAnswer struct {
	account       string
	asked, answer time.Time
	allowed       bool
}

// pagesUnderChanges runs warm page loads at 16 clients while a writer
// invites and removes a probe member on the pages' accounts, one change
// at a time. Each page carries the generated 50 questions (verified as
// usual) plus the probe's pay_invoices: every answer asked after a change
// returned, and before the next change on that account started, must
// reflect it. Any that does not is a stale answer, and fails the run.
func (e *Env) pagesUnderChanges(ctx context.Context, pages [][]Question) error {
	type target struct {
		account, owner, probe string
		page                  []Question
	}
	var targets []target
	seen := map[string]bool{}
	for _, page := range pages {
		id := page[0].Resource[len("account:"):]
		if seen[id] || len(targets) >= 8 {
			continue
		}
		seen[id] = true
		a := e.Provider.Account(id)
		targets = append(targets, target{account: id, owner: a.Owners[0], probe: fmt.Sprintf("fresh%d", len(targets)), page: page})
	}

	var mu sync.Mutex
	var changes []change
	var answers []pageAnswer
	writerCtx, stopWriter := context.WithCancel(ctx)
	defer stopWriter()
	writerErr := make(chan error, 1)
	go func() {
		member := make([]bool, len(targets))
		for i := 0; writerCtx.Err() == nil; i++ {
			k := i % len(targets)
			tg := targets[k]
			started := time.Now()
			var err error
			if member[k] {
				_, err = e.Service.RemoveMember(writerCtx, hostaccess.Person(tg.owner), tg.account, tg.probe)
			} else {
				err = e.inviteBilling(writerCtx, tg.owner, tg.account, tg.probe)
			}
			if err != nil {
				if writerCtx.Err() != nil {
					break
				}
				writerErr <- fmt.Errorf("change %d on %s: %w", i, tg.account, err)
				return
			}
			member[k] = !member[k]
			mu.Lock()
			changes = append(changes, change{tg.account, started, time.Now(), member[k]})
			mu.Unlock()
		}
		writerErr <- nil
	}()

	s := measure(ctx, "page load CanAll(51) warm, under changes", "service", 16, e.cfg.Duration, 0, func(ctx context.Context, i int) error {
		tg := targets[i%len(targets)]
		checks := make([]hostaccess.Check, 0, len(tg.page)+1)
		for _, q := range tg.page {
			checks = append(checks, q.Check)
		}
		checks = append(checks, hostaccess.Check{Resource: "account:" + tg.account, Permission: schema.PermPayInvoices, Subject: "user:" + tg.probe})
		asked := time.Now()
		got, err := e.Service.CanAll(ctx, checks, hostaccess.CheckOptions{})
		if err != nil {
			return err
		}
		answered := time.Now()
		for j, q := range tg.page {
			e.v.record(q, got[j].Allowed)
		}
		mu.Lock()
		answers = append(answers, pageAnswer{tg.account, asked, answered, got[len(tg.page)].Allowed})
		mu.Unlock()
		return nil
	})
	stopWriter()
	if err := <-writerErr; err != nil {
		return err
	}
	judged, stale := judge(changes, answers)
	s.ChecksPerSecond = s.PerSecond * 51
	s.Note = fmt.Sprintf("%d changes on %d accounts; %d answers judged after a change, %d stale",
		len(changes), len(targets), judged, stale)
	e.add(s)
	e.report.JudgedAfterChanges += judged
	e.report.StaleAfterChanges += stale
	if stale > 0 {
		e.v.fail(fmt.Sprintf("%d answers asked after a change returned did not reflect it", stale))
	}
	return nil
}

// judge compares each answer with the last change on its account that
// returned before it was asked; answers that overlap a change in flight
// are not judged (either answer is right).
func judge(changes []change, answers []pageAnswer) (judged, stale int) {
	byAccount := map[string][]change{}
	for _, c := range changes {
		byAccount[c.account] = append(byAccount[c.account], c)
	}
	for _, a := range answers {
		want, ok := false, true
		for _, c := range byAccount[a.account] {
			switch {
			case !c.returned.After(a.asked):
				want = c.allowed // returned before the question: in force
			case c.started.Before(a.answer):
				ok = false // in flight while asked
			}
		}
		if !ok || len(byAccount[a.account]) == 0 {
			continue
		}
		judged++
		if a.allowed != want {
			stale++
		}
	}
	return judged, stale
}
