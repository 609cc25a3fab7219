// Package bench generates a realistic hosting provider from a seed, loads it
// into hostaccess through the product's own paths (bulk relationship import,
// directory import), runs timed workloads and checks a sample of answers
// against an independent computation from the generated grants.
package bench

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/schema"
)

// Grant is what one non-owner member holds on one account.
type Grant struct {
	Rights        []string // account relations: billing, user_management, read_only, ...
	TechAll       bool     // account#technical
	TechProducts  []string // product names (technician)
	TechGroups    []string // group names (technician)
	TechTags      []string // tag names (technician)
	Notifications []string // account notice relations
	Expires       *time.Time
}

// Product is one product of an account.
type Product struct {
	Name  string
	Group string // "" when in no group
	Tags  []string
}

// Contact is a contact (no login) of an account.
type Contact struct {
	ID      string // ACCOUNT/NAME
	Notices []string
	Support bool
}

// Account is one generated account.
type Account struct {
	ID        string
	Host      string
	Delegated bool
	Owners    []string
	Members   map[string]*Grant
	Products  []Product
	Groups    []string
	Tags      []string
	Contacts  []Contact
}

// Host is the provider or a reseller.
type Host struct {
	ID     string
	Admins []string
	Staff  []string
}

// Provider is the whole generated data set: the truth the expected answers
// are computed from, independently of SpiceDB.
type Provider struct {
	Seed     uint64
	Now      time.Time
	Hosts    []*Host
	Accounts []*Account
	byID     map[string]*Account
	hosts    map[string]*Host
	// Agencies are the agency users, each a member of many accounts.
	Agencies []string
	// Users counts distinct user ids.
	Users int
	// accountsOf indexes the accounts each user owns or is a member of.
	accountsOf map[string][]*Account
}

// Account returns the account with that id.
func (p *Provider) Account(id string) *Account { return p.byID[id] }

// Distributions, documented in docs/benchmarks.md.
const (
	secondOwnerShare  = 0.05 // accounts with two owners
	sharedShare       = 0.30 // accounts with 1-3 extra users (accountant, developer, admin-like)
	timeBoundShare    = 0.10 // of those extra users, membership time-bound (expires in 30-365 days)
	groupShare        = 0.20 // accounts with 1-3 product groups
	tagShare          = 0.20 // accounts with 1-4 tags of their own
	contactShare      = 0.20 // accounts with 1-2 contacts
	resellerShare     = 0.10 // accounts under a reseller host (delegated to it)
	delegatedDirect   = 0.30 // accounts of the main host delegated to it
	accountsPerAgency = 100  // one agency per this many accounts
)

// productCount draws a long-tailed number of products: 70% 1-5, 20% 6-20,
// 8% 21-100, 2% 101-500.
func productCount(r *rand.Rand) int {
	switch u := r.Float64(); {
	case u < 0.70:
		return 1 + r.IntN(5)
	case u < 0.90:
		return 6 + r.IntN(15)
	case u < 0.98:
		return 21 + r.IntN(80)
	default:
		return 101 + r.IntN(400)
	}
}

// agencyReach draws how many accounts an agency works for: 10-30 (60%),
// 31-100 (30%), 101-300 (10%), capped by the number of accounts.
func agencyReach(r *rand.Rand, accounts int) int {
	var n int
	switch u := r.Float64(); {
	case u < 0.6:
		n = 10 + r.IntN(21)
	case u < 0.9:
		n = 31 + r.IntN(70)
	default:
		n = 101 + r.IntN(200)
	}
	return min(n, accounts)
}

var productKinds = []string{"site", "mail", "dns", "vps", "db", "domain", "shop", "backup"}

// Generate builds a provider of n accounts from seed. The same seed and n
// always give the same data.
func Generate(n int, seed uint64, now time.Time) *Provider {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) //nolint:gosec // reproducible test data from a seed, not a secret
	p := &Provider{Seed: seed, Now: now.UTC().Truncate(time.Second), byID: map[string]*Account{}, hosts: map[string]*Host{}}
	nextUser := 0
	newUser := func() string { nextUser++; return fmt.Sprintf("u%d", nextUser) }

	main := &Host{ID: "main"}
	p.Hosts = append(p.Hosts, main)
	resellers := max(1, n/500)
	for i := 1; i <= resellers; i++ {
		p.Hosts = append(p.Hosts, &Host{ID: fmt.Sprintf("reseller%d", i)})
	}
	for _, h := range p.Hosts {
		h.Admins = []string{newUser(), newUser()}
		h.Staff = []string{newUser(), newUser(), newUser()}
		p.hosts[h.ID] = h
	}

	rights := []string{schema.RelRightBilling, schema.RelRightSupport, schema.RelRightDomains, schema.RelRightSecurity, schema.RelRightUserMgmt, schema.RelRightProfile, schema.RelRightReadOnly}
	notices := []string{schema.RelBillingNotices, schema.RelRenewalNotices, schema.RelDomainNotices, schema.RelTechnicalNotices, schema.RelSupportNotices}
	expiry := func() *time.Time {
		t := p.Now.Add(time.Duration(30+r.IntN(336)) * 24 * time.Hour)
		return &t
	}

	for i := 0; i < n; i++ {
		a := &Account{ID: fmt.Sprintf("a%d", i), Members: map[string]*Grant{}}
		a.Host = "main"
		if r.Float64() < resellerShare {
			a.Host = p.Hosts[1+r.IntN(resellers)].ID
			a.Delegated = true // resellers delegate user management to their host
		} else {
			a.Delegated = r.Float64() < delegatedDirect
		}
		a.Owners = []string{newUser()}
		if r.Float64() < secondOwnerShare {
			a.Owners = append(a.Owners, newUser())
		}
		if r.Float64() < groupShare {
			for g := range 1 + r.IntN(3) {
				a.Groups = append(a.Groups, fmt.Sprintf("group%d", g))
			}
		}
		if r.Float64() < tagShare {
			for t := range 1 + r.IntN(4) {
				a.Tags = append(a.Tags, fmt.Sprintf("client%d", t))
			}
		}
		// Each count is drawn once (a range over a call evaluates it once; a
		// loop condition would draw again at every iteration).
		for j := range productCount(r) {
			pr := Product{Name: fmt.Sprintf("%s%d", productKinds[r.IntN(len(productKinds))], j)}
			if len(a.Groups) > 0 && r.Float64() < 0.7 {
				pr.Group = a.Groups[r.IntN(len(a.Groups))]
			}
			if len(a.Tags) > 0 && r.Float64() < 0.5 {
				pr.Tags = []string{a.Tags[r.IntN(len(a.Tags))]}
			}
			a.Products = append(a.Products, pr)
		}
		if r.Float64() < sharedShare {
			for k := range 1 + r.IntN(3) {
				g := &Grant{}
				switch k {
				case 0: // the accountant: invoices and their notices
					g.Rights = []string{schema.RelRightBilling}
					g.Notifications = []string{schema.RelBillingNotices}
				case 1: // the developer: one product (or a group when there are groups)
					if len(a.Groups) > 0 && r.Float64() < 0.5 {
						g.TechGroups = []string{a.Groups[r.IntN(len(a.Groups))]}
					} else {
						g.TechProducts = []string{a.Products[r.IntN(len(a.Products))].Name}
					}
					g.Notifications = []string{"technical_notices"}
				default: // an admin-like user: a few rights, sometimes all products
					for _, rt := range rights {
						if r.Float64() < 0.4 {
							g.Rights = append(g.Rights, rt)
						}
					}
					g.TechAll = r.Float64() < 0.5
				}
				if r.Float64() < timeBoundShare {
					g.Expires = expiry()
				}
				a.Members[newUser()] = g
			}
		}
		if r.Float64() < contactShare {
			for c := range 1 + r.IntN(2) {
				ct := Contact{ID: fmt.Sprintf("%s/contact%d", a.ID, c), Support: r.Float64() < 0.5}
				for _, nt := range notices {
					if r.Float64() < 0.4 {
						ct.Notices = append(ct.Notices, nt)
					}
				}
				a.Contacts = append(a.Contacts, ct)
			}
		}
		p.Accounts = append(p.Accounts, a)
		p.byID[a.ID] = a
	}

	// Agencies: members of tens to hundreds of accounts, mostly through a tag
	// of their own on part of each client's products.
	agencies := max(1, n/accountsPerAgency)
	for i := 0; i < agencies; i++ {
		ag := newUser()
		p.Agencies = append(p.Agencies, ag)
		for _, idx := range r.Perm(n)[:agencyReach(r, n)] {
			a := p.Accounts[idx]
			if _, taken := a.Members[ag]; taken {
				continue
			}
			g := &Grant{}
			if r.Float64() < 0.8 {
				tag := "agency-" + ag
				a.Tags = append(a.Tags, tag)
				for j := range a.Products {
					if r.Float64() < 0.6 {
						a.Products[j].Tags = append(a.Products[j].Tags, tag)
					}
				}
				g.TechTags = []string{tag}
			} else {
				g.TechAll = true
			}
			if r.Float64() < timeBoundShare {
				g.Expires = expiry()
			}
			a.Members[ag] = g
		}
	}
	p.Users = nextUser
	p.accountsOf = map[string][]*Account{}
	for _, a := range p.Accounts {
		for _, o := range a.Owners {
			p.accountsOf[o] = append(p.accountsOf[o], a)
		}
		for u := range a.Members {
			p.accountsOf[u] = append(p.accountsOf[u], a)
		}
	}
	return p
}

func rel(resType, resID, relation, subType, subID string) *v1.Relationship {
	return &v1.Relationship{
		Resource: &v1.ObjectReference{ObjectType: resType, ObjectId: resID},
		Relation: relation,
		Subject:  &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: subType, ObjectId: subID}},
	}
}

func expiring(r *v1.Relationship, at *time.Time) *v1.Relationship {
	if at != nil {
		r.OptionalExpiresAt = timestamppb.New(*at)
	}
	return r
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Relationships is the provider as SpiceDB relationships, in a fixed order.
func (p *Provider) Relationships() []*v1.Relationship {
	var out []*v1.Relationship
	for _, h := range p.Hosts {
		for _, u := range h.Admins {
			out = append(out, rel(schema.TypeHost, h.ID, schema.RelHostAdmin, schema.TypeUser, u))
		}
		for _, u := range h.Staff {
			out = append(out, rel(schema.TypeHost, h.ID, schema.RelHostStaff, schema.TypeUser, u))
		}
	}
	for _, a := range p.Accounts {
		out = append(out, rel(schema.TypeAccount, a.ID, schema.RelAccountHost, schema.TypeHost, a.Host))
		if a.Delegated {
			out = append(out, rel(schema.TypeAccount, a.ID, schema.RelDelegatedTo, schema.TypeHost, a.Host))
		}
		for _, o := range a.Owners {
			out = append(out, rel(schema.TypeAccount, a.ID, schema.RelOwner, schema.TypeUser, o))
		}
		for _, g := range a.Groups {
			out = append(out, rel(schema.TypeProductGroup, a.ID+"/"+g, schema.RelAccount, schema.TypeAccount, a.ID))
		}
		for _, t := range a.Tags {
			out = append(out, rel(schema.TypeTag, a.ID+"/"+t, schema.RelAccount, schema.TypeAccount, a.ID))
		}
		for _, pr := range a.Products {
			id := a.ID + "/" + pr.Name
			out = append(out, rel(schema.TypeProduct, id, schema.RelAccount, schema.TypeAccount, a.ID))
			if pr.Group != "" {
				out = append(out, rel(schema.TypeProduct, id, schema.RelGroup, schema.TypeProductGroup, a.ID+"/"+pr.Group))
			}
			for _, t := range pr.Tags {
				out = append(out, rel(schema.TypeProduct, id, schema.RelTagged, schema.TypeTag, a.ID+"/"+t))
			}
		}
		for _, u := range sortedKeys(a.Members) {
			g := a.Members[u]
			out = append(out, expiring(rel(schema.TypeAccount, a.ID, schema.RelMember, schema.TypeUser, u), g.Expires))
			for _, rt := range g.Rights {
				out = append(out, rel(schema.TypeAccount, a.ID, rt, schema.TypeUser, u))
			}
			for _, nt := range g.Notifications {
				out = append(out, rel(schema.TypeAccount, a.ID, nt, schema.TypeUser, u))
			}
			if g.TechAll {
				out = append(out, rel(schema.TypeAccount, a.ID, schema.RelTechnical, schema.TypeUser, u))
			}
			for _, n := range g.TechProducts {
				out = append(out, rel(schema.TypeProduct, a.ID+"/"+n, schema.RelTechnician, schema.TypeUser, u))
			}
			for _, n := range g.TechGroups {
				out = append(out, rel(schema.TypeProductGroup, a.ID+"/"+n, schema.RelTechnician, schema.TypeUser, u))
			}
			for _, n := range g.TechTags {
				out = append(out, rel(schema.TypeTag, a.ID+"/"+n, schema.RelTechnician, schema.TypeUser, u))
			}
		}
		for _, c := range a.Contacts {
			out = append(out, rel(schema.TypeAccount, a.ID, schema.RelContact, schema.TypeContact, c.ID))
			if c.Support {
				out = append(out, rel(schema.TypeAccount, a.ID, schema.RelSupportContact, schema.TypeContact, c.ID))
			}
			for _, nt := range c.Notices {
				out = append(out, rel(schema.TypeAccount, a.ID, nt, schema.TypeContact, c.ID))
			}
		}
	}
	return out
}

// Directory is the provider's directory data: account records, owners'
// e-mails, contacts.
func (p *Provider) Directory() directory.Snapshot {
	var s directory.Snapshot
	for _, a := range p.Accounts {
		s.Accounts = append(s.Accounts, directory.Account{ID: a.ID, Name: "Account " + a.ID, HostID: a.Host, AdminCap: 3, CreatedAt: p.Now})
		for _, o := range a.Owners {
			s.People = append(s.People, directory.Person{UserID: o, Email: o + "@example.com", DisplayName: "Owner " + o, UpdatedAt: p.Now})
		}
		for _, c := range a.Contacts {
			s.Contacts = append(s.Contacts, directory.Contact{ID: c.ID, AccountID: a.ID, Name: "Contact " + c.ID, Email: "c-" + a.ID + "@example.com", CreatedAt: p.Now, UpdatedAt: p.Now})
		}
	}
	return s
}
