package bench

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
	"github.com/hostaccess/hostaccess/schema"
)

// The expected answers below are computed from the generated grants alone,
// following the schema's rules by hand (schema/hosting.zed), never by
// asking SpiceDB: that is what makes them a check on the engine.

// Question is a check with the answer the generated data implies.
type Question struct {
	hostaccess.Check
	Expected bool
}

func (q Question) String() string {
	return fmt.Sprintf("%s %s %s (expected %t)", q.Subject, q.Permission, q.Resource, q.Expected)
}

func (a *Account) isOwner(u string) bool { return slices.Contains(a.Owners, u) }

// active is the member grant of u if the membership holds at now.
func (a *Account) active(u string, now time.Time) *Grant {
	g := a.Members[u]
	if g == nil || (g.Expires != nil && !g.Expires.After(now)) {
		return nil
	}
	return g
}

func (a *Account) product(name string) (Product, bool) {
	for _, pr := range a.Products {
		if pr.Name == name {
			return pr, true
		}
	}
	return Product{}, false
}

func (p *Provider) canManageProduct(a *Account, pr Product, u string, now time.Time) bool {
	if a.isOwner(u) {
		return true
	}
	g := a.active(u, now)
	if g == nil {
		return false
	}
	if g.TechAll || slices.Contains(g.TechProducts, pr.Name) || (pr.Group != "" && slices.Contains(g.TechGroups, pr.Group)) {
		return true
	}
	for _, t := range pr.Tags {
		if slices.Contains(g.TechTags, t) {
			return true
		}
	}
	return false
}

// Expect computes the answer to (resource, permission, user) from the
// generated grants. ok is false for a question the model does not cover.
func (p *Provider) Expect(resource, permission, subject string, now time.Time) (allowed, ok bool) {
	u, isUser := strings.CutPrefix(subject, "user:")
	if !isUser {
		return false, false
	}
	typ, id, _ := strings.Cut(resource, ":")
	acctID, prodName, _ := strings.Cut(id, "/")
	a := p.byID[acctID]
	if a == nil {
		return false, false
	}
	owner := a.isOwner(u)
	g := a.active(u, now)
	has := func(right string) bool { return g != nil && slices.Contains(g.Rights, right) }
	switch typ {
	case "account":
		switch permission {
		case schema.PermView:
			return owner || g != nil, true
		case schema.PermPayInvoices:
			return owner || has("billing"), true
		case schema.PermManageUsers:
			h := p.hosts[a.Host]
			return owner || has("user_management") || (a.Delegated && slices.Contains(h.Admins, u)), true
		case schema.PermManageAllProducts:
			return owner || (g != nil && g.TechAll), true
		case schema.PermClose:
			return owner, true
		}
	case "product":
		pr, found := a.product(prodName)
		if !found {
			return false, false
		}
		switch permission {
		case schema.PermManage:
			return p.canManageProduct(a, pr, u, now), true
		case schema.PermView:
			return p.canManageProduct(a, pr, u, now) || has("read_only"), true
		}
	}
	return false, false
}

func (p *Provider) question(resource, permission, user string) Question {
	c := hostaccess.Check{Resource: resource, Permission: permission, Subject: "user:" + user}
	exp, ok := p.Expect(c.Resource, c.Permission, c.Subject, p.Now)
	if !ok {
		panic("bench: the model does not cover " + c.Resource + "#" + c.Permission)
	}
	return Question{Check: c, Expected: exp}
}

// subjectFor picks who asks about account a: an owner (30%), one of its
// members (35%, agencies included), a host admin (10%), anyone (25%).
func (p *Provider) subjectFor(r *rand.Rand, a *Account) string {
	switch u := r.Float64(); {
	case u < 0.30:
		return a.Owners[r.IntN(len(a.Owners))]
	case u < 0.65 && len(a.Members) > 0:
		keys := sortedKeys(a.Members)
		return keys[r.IntN(len(keys))]
	case u < 0.75:
		h := p.hosts[a.Host]
		return h.Admins[r.IntN(len(h.Admins))]
	default:
		return fmt.Sprintf("u%d", 1+r.IntN(p.Users))
	}
}

// Questions draws n single-check questions: 50% product#manage, 10%
// product#view, 20% account#pay_invoices, 10% account#manage_users, 10%
// account#view. Accounts with members are drawn half of the time, so
// that grants, not only ownership, are exercised.
func (p *Provider) Questions(r *rand.Rand, n int) []Question {
	var shared []*Account
	for _, a := range p.Accounts {
		if len(a.Members) > 0 {
			shared = append(shared, a)
		}
	}
	out := make([]Question, 0, n)
	for len(out) < n {
		a := p.Accounts[r.IntN(len(p.Accounts))]
		if len(shared) > 0 && r.IntN(2) == 0 {
			a = shared[r.IntN(len(shared))]
		}
		u := p.subjectFor(r, a)
		pr := a.Products[r.IntN(len(a.Products))]
		switch x := r.Float64(); {
		case x < 0.5:
			out = append(out, p.question("product:"+a.ID+"/"+pr.Name, schema.PermManage, u))
		case x < 0.6:
			out = append(out, p.question("product:"+a.ID+"/"+pr.Name, schema.PermView, u))
		case x < 0.8:
			out = append(out, p.question("account:"+a.ID, schema.PermPayInvoices, u))
		case x < 0.9:
			out = append(out, p.question("account:"+a.ID, schema.PermManageUsers, u))
		default:
			out = append(out, p.question("account:"+a.ID, schema.PermView, u))
		}
	}
	return out
}

// pageAccountPermissions are what a client-area page asks about the account.
var pageAccountPermissions = []string{schema.PermView, schema.PermPayInvoices, schema.PermManageUsers, schema.PermManageAllProducts, schema.PermClose}

// Page draws one page load: 50 questions for one member of one account
// (the account's permissions, then manage and view on its products,
// cycling when it has few).
func (p *Provider) Page(r *rand.Rand) []Question {
	var a *Account
	for a == nil || len(a.Members) == 0 {
		a = p.Accounts[r.IntN(len(p.Accounts))]
	}
	keys := sortedKeys(a.Members)
	return p.PageFor(a, keys[r.IntN(len(keys))])
}

// PageFor is the page of 50 questions member u of account a sees.
func (p *Provider) PageFor(a *Account, u string) []Question {
	var qs []Question
	for _, perm := range pageAccountPermissions {
		qs = append(qs, p.question("account:"+a.ID, perm, u))
	}
	for i := 0; len(qs) < 50; i++ {
		pr := a.Products[i%len(a.Products)]
		perm := "manage"
		if (i/len(a.Products))%2 == 1 {
			perm = "view"
		}
		qs = append(qs, p.question("product:"+a.ID+"/"+pr.Name, perm, u))
	}
	return qs[:50]
}

// ManageableProducts is every product u can manage, as sorted ids.
func (p *Provider) ManageableProducts(u string, now time.Time) []string {
	var out []string
	for _, a := range p.accountsOf[u] {
		for _, pr := range a.Products {
			if p.canManageProduct(a, pr, u, now) {
				out = append(out, a.ID+"/"+pr.Name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Managers is who can manage a product, as sorted "user:ID".
func (p *Provider) Managers(a *Account, pr Product, now time.Time) []string {
	var out []string
	for _, o := range a.Owners {
		out = append(out, "user:"+o)
	}
	for u := range a.Members {
		if p.canManageProduct(a, pr, u, now) {
			out = append(out, "user:"+u)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
