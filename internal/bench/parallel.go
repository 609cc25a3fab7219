package bench

import (
	"context"
	"fmt"

	"github.com/hostaccess/hostaccess/pkg/engine"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
	"github.com/hostaccess/hostaccess/schema"
)

// flowClients is how many panel clients run flows at once in
// flowsParallel: a provider's client area serves many customers at a time.
const flowClients = 16

// inviteBilling is the invite + accept flow the bench measures: owner
// invites user to the account with the billing right, user accepts.
func (e *Env) inviteBilling(ctx context.Context, owner, accountID, user string) error {
	email := user + "@example.com"
	link, err := e.Service.Invite(ctx, hostaccess.Person(owner), accountID, email, hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	if err != nil {
		return err
	}
	_, err = e.Service.AcceptInvitation(ctx, link.Token, hostaccess.Login{UserID: user, Email: email, EmailVerified: true})
	return err
}

// flowsParallel runs invite+accept then remove member from flowClients
// clients at once, each on its own accounts (flows on one account
// serialise on its preconditions by design), checking each step's effect.
// It reports the invite+accept rate, the benchmark issue's flows/s.
func (e *Env) flowsParallel(ctx context.Context) error {
	if e.cfg.DatastoreEngine == engine.EngineMemory {
		// SpiceDB's memory datastore (v1.56.2) occasionally hides an
		// acknowledged write from the next fully consistent read when
		// writers run concurrently (authzed/spicedb#3212; 2 of 800 reads
		// here): flows then fail their own checks. Memory is for trying.
		e.cfg.logf("flows in parallel: not run on the memory datastore (SpiceDB loses read-after-write under concurrent writers there)")
		return nil
	}
	p := e.Provider
	s := measure(ctx, "flow invite+accept (then remove)", "service", flowClients, e.cfg.Duration, 0, func(ctx context.Context, i int) error {
		a := p.Accounts[(i*7919+13)%len(p.Accounts)]
		owner := a.Owners[0]
		user := fmt.Sprintf("par%d", i)
		if err := e.inviteBilling(ctx, owner, a.ID, user); err != nil {
			return err
		}
		e.expectCan(ctx, "account:"+a.ID, schema.PermPayInvoices, user, true)
		if _, err := e.Service.RemoveMember(ctx, hostaccess.Person(owner), a.ID, user); err != nil {
			return err
		}
		e.expectCan(ctx, "account:"+a.ID, schema.PermView, user, false)
		return nil
	})
	firstErr := s.Note
	s.Note = fmt.Sprintf("%d clients on distinct accounts; per_second counts invite+accept, each followed by a removal", flowClients)
	e.add(s)
	if s.Errors > 0 {
		return fmt.Errorf("parallel flows: %d errors, %s", s.Errors, firstErr)
	}
	return nil
}
