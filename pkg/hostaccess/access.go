package hostaccess

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hostaccess/hostaccess/schema"
)

// Right is an account-wide right category. Technical management is not a
// Right: it is granted with a product scope (Access.Technical).
type Right string

// The account-wide right categories.
const (
	RightBilling        Right = schema.RelRightBilling  // view and pay invoices, quotes, orders
	RightSupport        Right = schema.RelRightSupport  // open and follow tickets
	RightDomains        Right = schema.RelRightDomains  // register, renew, manage names
	RightSecurity       Right = schema.RelRightSecurity // security settings
	RightUserManagement Right = schema.RelRightUserMgmt // invite, edit, remove users and contacts
	RightProfile        Right = schema.RelRightProfile  // edit the account's details
	RightReadOnly       Right = schema.RelRightReadOnly // see everything, change nothing
)

// Rights lists every right category, in display order.
var Rights = []Right{RightBilling, RightSupport, RightDomains, RightSecurity, RightUserManagement, RightProfile, RightReadOnly}

// grantPermission is the account permission a granter must hold to grant a
// right: nobody grants what they do not hold.
var grantPermission = map[Right]string{
	RightBilling:        schema.PermPayInvoices,
	RightSupport:        schema.PermOpenTicket,
	RightDomains:        schema.PermManageDomains,
	RightSecurity:       schema.PermManageSecurity,
	RightUserManagement: schema.PermGrantUserMgmt, // held as owner or member, not through delegation
	RightProfile:        schema.PermEditProfile,
	RightReadOnly:       schema.PermViewEverything,
}

// Category is a notification category.
type Category string

// The notification categories.
const (
	CategoryBilling   Category = "billing"
	CategoryRenewals  Category = "renewals"
	CategoryDomains   Category = "domains"
	CategoryTechnical Category = "technical"
	CategorySupport   Category = "support"
)

// Categories lists every notification category.
var Categories = []Category{CategoryBilling, CategoryRenewals, CategoryDomains, CategoryTechnical, CategorySupport}

// categoryRelation is the subscription relation of a category on account.
var categoryRelation = map[Category]string{
	CategoryBilling:   schema.RelBillingNotices,
	CategoryRenewals:  schema.RelRenewalNotices,
	CategoryDomains:   schema.RelDomainNotices,
	CategoryTechnical: schema.RelTechnicalNotices,
	CategorySupport:   schema.RelSupportNotices,
}

// recipientPermission is the permission listing a category's recipients.
func recipientPermission(c Category) string {
	return schema.PermReceivePrefix + categoryRelation[c]
}

// ProductScope is where technical or read access applies: no products (the
// zero value), all products now and later, or named products, product groups
// and tags (now and later) of the account. Names are relative to the account:
// product "site" of account "acme" is the object product:acme/site.
type ProductScope struct {
	All      bool     `json:"all,omitempty"`
	Products []string `json:"products,omitempty"`
	Groups   []string `json:"groups,omitempty"`
	Tags     []string `json:"tags,omitempty"`
}

// Empty reports whether the scope reaches no product.
func (p ProductScope) Empty() bool {
	return !p.All && len(p.Products) == 0 && len(p.Groups) == 0 && len(p.Tags) == 0
}

// Access is what a member holds on an account.
type Access struct {
	// Administrator is the Administrator role: counted against the account's
	// cap, may contact support.
	Administrator bool `json:"administrator,omitempty"`
	// Rights are account-wide right categories.
	Rights []Right `json:"rights,omitempty"`
	// Technical is the scope of technical management.
	Technical ProductScope `json:"technical"`
	// View is read-only access to products (RightReadOnly covers all of them).
	View ProductScope `json:"view"`
	// Notifications the member subscribes to.
	Notifications []Category `json:"notifications,omitempty"`
	// ExpiresAt ends the membership, and with it every grant, at that time.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// AllowedCIDRs restricts the membership, and with it every grant, to
	// requests from these networks: checks must give client_ip in their
	// context (without it they are conditional). Empty: any network.
	AllowedCIDRs []string `json:"allowed_cidrs,omitempty"`
}

// Presets of the seeds, expressed in rights.

// PresetAdministrator is an administrator with the given rights and
// technical scope (seed 001: financial, security, user rights, technical).
func PresetAdministrator(rights []Right, technical ProductScope) Access {
	return Access{Administrator: true, Rights: rights, Technical: technical}
}

// PresetUser is a user with technical management on scope only.
func PresetUser(technical ProductScope) Access { return Access{Technical: technical} }

// PresetReadOnly sees everything and changes nothing.
func PresetReadOnly() Access { return Access{Rights: []Right{RightReadOnly}} }

// NamePattern is what an id, or a name inside an object id, may be: the
// HTTP API's OpenAPI document states it as is.
const NamePattern = `^[a-zA-Z0-9_\-=+|]{1,200}$`

var namePattern = regexp.MustCompile(NamePattern)

// validName checks an id or a name used inside object ids.
func validName(kind, name string) error {
	if !namePattern.MatchString(name) {
		return invalidf("%s %s: use 1 to 200 letters, digits and _ - = + |", kind, quoteShort(name))
	}
	return nil
}

// normalize sorts and de-duplicates, and checks the access is well-formed.
func (a Access) normalize() (Access, error) {
	out := a
	out.Rights = uniqueSorted(a.Rights)
	for _, r := range out.Rights {
		if _, ok := grantPermission[r]; !ok {
			return Access{}, invalidf("unknown right %q (known: %s)", r, joinRights(Rights))
		}
	}
	out.Notifications = uniqueSorted(a.Notifications)
	for _, c := range out.Notifications {
		if _, ok := categoryRelation[c]; !ok {
			return Access{}, invalidf("unknown notification category %q", c)
		}
	}
	var err error
	if out.Technical, err = a.Technical.normalize("technical"); err != nil {
		return Access{}, err
	}
	if out.View, err = a.View.normalize("view"); err != nil {
		return Access{}, err
	}
	if out.View.All {
		return Access{}, invalidf("view scope \"all\": grant the read_only right to see every product")
	}
	if a.ExpiresAt != nil {
		t := a.ExpiresAt.UTC().Truncate(time.Second)
		out.ExpiresAt = &t
	}
	if out.AllowedCIDRs, err = normalizeCIDRs(a.AllowedCIDRs); err != nil {
		return Access{}, err
	}
	return out, nil
}

func (p ProductScope) normalize(kind string) (ProductScope, error) {
	out := ProductScope{All: p.All, Products: uniqueSorted(p.Products), Groups: uniqueSorted(p.Groups), Tags: uniqueSorted(p.Tags)}
	for _, lists := range []struct {
		kind  string
		names []string
	}{{kind + " product", out.Products}, {kind + " group", out.Groups}, {kind + " tag", out.Tags}} {
		for _, n := range lists.names {
			if err := validName(lists.kind, n); err != nil {
				return ProductScope{}, err
			}
		}
	}
	if out.All {
		// "All products" already covers every product, group and tag.
		out.Products, out.Groups, out.Tags = nil, nil, nil
	}
	return out, nil
}

// union is the access holding both a and b: accepting an invitation when
// already a member never lowers existing rights. It ends at the earlier of
// the two ends: merging never lengthens a time-bound membership.
func union(a, b Access) Access {
	out := Access{
		Administrator: a.Administrator || b.Administrator,
		Rights:        uniqueSorted(append(slices.Clone(a.Rights), b.Rights...)),
		Technical:     unionScope(a.Technical, b.Technical),
		View:          unionScope(a.View, b.View),
		Notifications: uniqueSorted(append(slices.Clone(a.Notifications), b.Notifications...)),
	}
	out.ExpiresAt = earlier(a.ExpiresAt, b.ExpiresAt)
	// Merging never restricts: unrestricted wins, two allowlists add up.
	if len(a.AllowedCIDRs) > 0 && len(b.AllowedCIDRs) > 0 {
		out.AllowedCIDRs = uniqueSorted(append(slices.Clone(a.AllowedCIDRs), b.AllowedCIDRs...))
	}
	return out
}

func unionScope(a, b ProductScope) ProductScope {
	if a.All || b.All {
		return ProductScope{All: true}
	}
	return ProductScope{
		Products: uniqueSorted(append(slices.Clone(a.Products), b.Products...)),
		Groups:   uniqueSorted(append(slices.Clone(a.Groups), b.Groups...)),
		Tags:     uniqueSorted(append(slices.Clone(a.Tags), b.Tags...)),
	}
}

// Summary is a one-line description of the access, for lists.
func (a Access) Summary() string {
	var parts []string
	if a.Administrator {
		parts = append(parts, "administrator")
	}
	for _, r := range a.Rights {
		parts = append(parts, string(r))
	}
	if s := a.Technical.describe(); s != "" {
		parts = append(parts, "technical: "+s)
	}
	if s := a.View.describe(); s != "" {
		parts = append(parts, "view: "+s)
	}
	if len(parts) == 0 {
		parts = append(parts, "no rights")
	}
	out := strings.Join(parts, ", ")
	if a.ExpiresAt != nil {
		out += " (until " + a.ExpiresAt.UTC().Format(time.RFC3339) + ")"
	}
	if len(a.AllowedCIDRs) > 0 {
		out += " (from " + strings.Join(a.AllowedCIDRs, ", ") + " only)"
	}
	return out
}

func (p ProductScope) describe() string {
	if p.All {
		return "all products"
	}
	var parts []string
	for _, n := range p.Products {
		parts = append(parts, "product "+n)
	}
	for _, n := range p.Groups {
		parts = append(parts, "group "+n)
	}
	for _, n := range p.Tags {
		parts = append(parts, "tag "+n)
	}
	return strings.Join(parts, " ")
}

func uniqueSorted[T ~string](in []T) []T {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return slices.Compact(out)
}

func joinRights(rs []Right) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

func objectID(accountID, name string) string { return accountID + "/" + name }

// nameIn strips the account prefix of an object id; ok is false when the id
// belongs to another account.
func nameIn(accountID, id string) (string, bool) {
	name, ok := strings.CutPrefix(id, accountID+"/")
	return name, ok
}
