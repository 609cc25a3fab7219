package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// reviewProducts is the size of the generator's largest accounts.
const reviewProducts = 500

// reviewWorkload measures AccessReview on an account of reviewProducts
// products with members of every kind, built through the flows (the
// generated accounts are imported, with no audit trail to replay), and
// checks every answer against the lines those flows granted.
func (e *Env) reviewWorkload(ctx context.Context) error {
	id, want, entries, err := e.reviewAccount(ctx)
	if err != nil {
		return fmt.Errorf("building the review account: %w", err)
	}
	s := measure(ctx, "audit AccessReview(account)", "service", 1, e.cfg.Duration, 0, func(ctx context.Context, i int) error {
		rv, err := e.Service.AccessReview(ctx, hostaccess.System("bench"), id, hostaccess.ReviewFilter{})
		if err != nil {
			return err
		}
		got := make([]string, len(rv.Lines))
		for j, l := range rv.Lines {
			got[j] = l.UserID + " " + l.Right + " " + l.Scope
			if l.Held != hostaccess.HeldDelegation && l.GrantedBy == "" {
				got[j] += " (undated)"
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			e.v.fail(fmt.Sprintf("AccessReview %s: got %d lines %v, expected %d %v", id, len(got), got, len(want), want))
		} else {
			e.v.ok()
		}
		return nil
	})
	s.Note = fmt.Sprintf("account %s: %d products, %d lines, %d audit entries replayed", id, reviewProducts, len(want), entries)
	e.add(s)
	e.pagedPeopleWorkload(ctx, id, want)
	return nil
}

// pagedPeopleWorkload pages who-can view the review account (its owner and
// members), a few a page, each listing checked whole against the people the
// flows let in: paged who-can on the largest accounts.
func (e *Env) pagedPeopleWorkload(ctx context.Context, id string, lines []string) {
	staff := map[string]bool{} // host main's people: delegated reach, not in the account
	for _, h := range e.Provider.Hosts {
		if h.ID == "main" {
			for _, u := range append(slices.Clone(h.Admins), h.Staff...) {
				staff[u] = true
			}
		}
	}
	var want []string
	for _, l := range lines {
		user, _, _ := strings.Cut(l, " ")
		if staff[user] {
			continue
		}
		if s := "user:" + user; !slices.Contains(want, s) {
			want = append(want, s)
		}
	}
	slices.Sort(want)
	const perPage = 5
	resource := "account:" + id
	var got []string
	cursor := ""
	s := measure(ctx, "audit WhoCanPage(account, view)", "service", 1, e.cfg.Duration, 0, func(ctx context.Context, i int) error {
		page, err := e.Service.WhoCanPage(ctx, hostaccess.System("bench"), resource, "view", cursor, perPage)
		if err != nil {
			return err
		}
		for _, h := range page.Holders {
			got = append(got, h.Subject)
		}
		if cursor = page.Next; cursor == "" {
			if slices.Equal(got, want) {
				e.v.ok()
			} else {
				e.v.fail(fmt.Sprintf("WhoCanPage %s view, %d a page: got %v, expected %v", resource, perPage, got, want))
			}
			got = nil
		}
		return nil
	})
	s.Note = fmt.Sprintf("%s (%d products): %d people, %d a page", resource, reviewProducts, len(want), perPage)
	e.add(s)
}

// reviewAccount creates the review account, delegated to host main, and
// returns the lines its review must list ("USER RIGHT SCOPE", sorted) and
// how many audit entries the flows recorded.
func (e *Env) reviewAccount(ctx context.Context) (string, []string, int, error) {
	const id, owner = "review500", "review-owner"
	bench := hostaccess.System("bench")
	if _, err := e.Service.CreateAccount(ctx, bench, hostaccess.NewAccount{ID: id, Name: "Review", OwnerID: owner, HostID: "main", Delegated: hostaccess.Delegation(true)}); err != nil {
		return "", nil, 0, err
	}
	entries := 1
	groups, tags := []string{"group0", "group1", "group2"}, []string{"client0", "client1", "client2", "client3"}
	for j := range reviewProducts {
		var g, t []string
		if j%10 < 7 {
			g = []string{groups[j%len(groups)]}
		}
		if j%2 == 0 {
			t = []string{tags[(j/2)%len(tags)]}
		}
		if _, err := e.Service.AddProduct(ctx, bench, id, fmt.Sprintf("site%d", j), g, t); err != nil {
			return "", nil, 0, err
		}
		entries++
	}
	var want []string
	for _, r := range hostaccess.Rights {
		want = append(want, owner+" "+string(r)+" account")
	}
	want = append(want, owner+" technical all products")
	ends := time.Now().Add(90 * 24 * time.Hour)
	join := func(user string, a hostaccess.Access, lines ...string) error {
		email := user + "@example.com"
		link, err := e.Service.Invite(ctx, hostaccess.Person(owner), id, email, a)
		if err != nil {
			return err
		}
		if _, err := e.Service.AcceptInvitation(ctx, link.Token, hostaccess.Login{UserID: user, Email: email, EmailVerified: true}); err != nil {
			return err
		}
		entries += 2
		for _, l := range lines {
			want = append(want, user+" "+l)
		}
		return nil
	}
	billing := []hostaccess.Right{hostaccess.RightBilling}
	var err error
	for k := range 3 {
		err = cmpErr(err, join(fmt.Sprintf("rv-accountant%d", k), hostaccess.Access{Rights: billing}, "billing account"))
	}
	for k := range 2 {
		err = cmpErr(err, join(fmt.Sprintf("rv-contractor%d", k), hostaccess.Access{Rights: billing, ExpiresAt: &ends}, "billing account"))
	}
	for k := range 10 {
		p := fmt.Sprintf("site%d", k*37)
		err = cmpErr(err, join(fmt.Sprintf("rv-dev%d", k), hostaccess.PresetUser(hostaccess.ProductScope{Products: []string{p}}), "technical product "+p))
	}
	for k, g := range groups {
		err = cmpErr(err, join(fmt.Sprintf("rv-team%d", k), hostaccess.PresetUser(hostaccess.ProductScope{Groups: []string{g}}), "technical group "+g))
	}
	for k, t := range tags {
		err = cmpErr(err, join(fmt.Sprintf("rv-agency%d", k), hostaccess.PresetUser(hostaccess.ProductScope{Tags: []string{t}}), "technical tag "+t))
	}
	for k := range 2 {
		a := hostaccess.PresetAdministrator([]hostaccess.Right{hostaccess.RightSecurity, hostaccess.RightUserManagement}, hostaccess.ProductScope{All: true})
		err = cmpErr(err, join(fmt.Sprintf("rv-admin%d", k), a, "administrator account", "security account", "user_management account", "technical all products"))
	}
	if err != nil {
		return "", nil, 0, err
	}
	for _, h := range e.Provider.Hosts {
		if h.ID != "main" {
			continue
		}
		for _, u := range h.Admins {
			want = append(want, u+" user_management account")
		}
		for _, u := range h.Staff {
			if !slices.Contains(h.Admins, u) {
				want = append(want, u+" view_users account")
			}
		}
	}
	slices.Sort(want)
	return id, want, entries, nil
}

// cmpErr keeps the first error.
func cmpErr(first, next error) error {
	if first != nil {
		return first
	}
	return next
}
