package hostaccess

import (
	"context"
	"fmt"
	"slices"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/hostaccess/hostaccess/schema"
)

// Denial explains one check in the words of the panel: for a denial, what
// is missing and who on the account may grant it.
type Denial struct {
	Check
	Allowed bool `json:"allowed"`
	// Reason is why not, to be read to the customer ("carol is a member of
	// acme without the billing right"). Empty when allowed.
	Reason string `json:"reason,omitempty"`
	// Missing is what would grant it ("the billing right").
	Missing string `json:"missing,omitempty"`
	// Grantors are the people who may grant what is missing, without
	// giving more than they hold (user:ID). Empty when allowed.
	Grantors []string `json:"grantors"`
}

// rightOf is the right that grants each account permission WhyDenied
// explains (schema/hosting.zed: "owner + (RIGHT & access)").
var rightOf = map[string]Right{
	schema.PermPayInvoices:    RightBilling,
	schema.PermOpenTicket:     RightSupport,
	schema.PermManageDomains:  RightDomains,
	schema.PermManageSecurity: RightSecurity,
	schema.PermManageUsers:    RightUserManagement,
	schema.PermEditProfile:    RightProfile,
	schema.PermViewEverything: RightReadOnly,
}

// WhyDenied answers "why can't they?" for a person's check on an account
// (the permissions of the rights) or on one of its products (manage,
// view). The person may ask about themself; anyone else needs to see the
// account's users, as for who-can.
func (s *Service) WhyDenied(ctx context.Context, actor Actor, c Check) (Denial, error) {
	res, err := parseObject("resource", c.Resource)
	if err != nil {
		return Denial{}, err
	}
	sub, err := parseObject("subject", c.Subject)
	if err != nil {
		return Denial{}, err
	}
	if sub.GetObjectType() != typeUser {
		return Denial{}, invalidf("subject %s: why-denied explains a person's access (user:ID); contacts hold none", c.Subject)
	}
	userID := sub.GetObjectId()
	if err := validName("user id", userID); err != nil {
		return Denial{}, err
	}
	accountID, product, err := explainable(res, c.Permission)
	if err != nil {
		return Denial{}, err
	}
	if actor.UserID != userID {
		if err := s.authorize(ctx, actor, []need{{resource: accountRef(accountID), permission: schema.PermViewUsers, what: "see why users of " + accountID + " are denied"}}); err != nil {
			return Denial{}, err
		}
	}
	answer, err := s.Can(ctx, c, CheckOptions{})
	if err != nil {
		return Denial{}, err
	}
	out := Denial{Check: c, Allowed: answer.Allowed, Grantors: []string{}}
	if answer.Allowed {
		return out, nil
	}
	_, st, err := s.loadAccount(ctx, accountID)
	if err != nil {
		return Denial{}, err
	}
	var grantPerm string
	var grantOn *v1.ObjectReference
	if product == "" {
		right := rightOf[c.Permission]
		role, err := s.hostRole(ctx, st.host(), userID)
		if err != nil {
			return Denial{}, err
		}
		out.Reason, out.Missing = accountReason(st, userID, right, role)
		grantPerm, grantOn = grantPermission[right], accountRef(accountID)
	} else {
		out.Reason, out.Missing = productReason(st, userID, product, c.Permission)
		grantPerm, grantOn = c.Permission, res
	}
	if strings.HasPrefix(out.Missing, "delegation") {
		grantPerm, grantOn = schema.PermChangeDelegation, accountRef(accountID)
	}
	out.Grantors, err = s.grantors(ctx, accountID, grantOn, grantPerm, userID)
	return out, err
}

// explainable checks that WhyDenied knows the words for the question, and
// returns the account and the product (if any) it is about.
func explainable(res *v1.ObjectReference, permission string) (accountID, product string, err error) {
	switch res.GetObjectType() {
	case typeAccount:
		if _, ok := rightOf[permission]; !ok {
			return "", "", invalidf("permission %q on an account: why-denied explains %s", permission, strings.Join(explainedAccountPermissions(), ", "))
		}
		accountID = res.GetObjectId()
	case typeProduct:
		if permission != schema.PermManage && permission != schema.PermView {
			return "", "", invalidf("permission %q on a product: why-denied explains manage and view", permission)
		}
		var ok bool
		if accountID, product, ok = strings.Cut(res.GetObjectId(), "/"); !ok {
			return "", "", invalidf("resource %s: a product id is ACCOUNT/NAME", tupleObject(res))
		}
		if err := validName("product", product); err != nil {
			return "", "", err
		}
	default:
		return "", "", invalidf("resource %s: why-denied explains accounts and products", tupleObject(res))
	}
	return accountID, product, validName("account id", accountID)
}

func explainedAccountPermissions() []string {
	out := make([]string, 0, len(rightOf))
	for p := range rightOf {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func tupleObject(o *v1.ObjectReference) string { return o.GetObjectType() + ":" + o.GetObjectId() }

// accountReason says why the person lacks right's permission on the account.
func accountReason(st *accountState, userID string, right Right, hostRole string) (reason, missing string) {
	missing = "the " + string(right) + " right"
	if right == RightSupport {
		missing += " (or the administrator role)"
	}
	if st.memberTuple(userID) == nil {
		host := st.host()
		delegated := st.has(typeAccount, st.id, schema.RelDelegatedTo, typeHost, host)
		switch {
		case right == RightUserManagement && hostRole == schema.RelHostAdmin && !delegated:
			return fmt.Sprintf("%s is an admin of host %s, whose management of %s's users is switched off", userID, host, st.id),
				"delegation of " + st.id + " to " + host + ", switched on by an owner"
		case right == RightUserManagement && hostRole == schema.RelHostStaff:
			return fmt.Sprintf("%s is staff of host %s: of its people, only admins manage the users of accounts delegated to it", userID, host),
				"admin of host " + host + ", or membership of " + st.id + " with " + missing
		}
		return fmt.Sprintf("%s is not a member of %s", userID, st.id), "membership of " + st.id + " with " + missing
	}
	return fmt.Sprintf("%s is a member of %s without %s", userID, st.id, missing), missing
}

// hostRole is userID's relation to host: admin, staff or "" (also for an
// account without a host).
func (s *Service) hostRole(ctx context.Context, host, userID string) (string, error) {
	if host == "" {
		return "", nil
	}
	for _, rel := range []string{schema.RelHostAdmin, schema.RelHostStaff} {
		rels, _, err := s.readAll(ctx, exactFilter(relationship(typeHost, host, rel, typeUser, userID)), fullyConsistent())
		if err != nil {
			return "", err
		}
		if len(rels) > 0 {
			return rel, nil
		}
	}
	return "", nil
}

// productReason says why the person cannot manage or view the product.
func productReason(st *accountState, userID, product, permission string) (reason, missing string) {
	kind := "technical access"
	if permission == schema.PermView {
		kind = "read access"
	}
	missing = kind + " to product " + product + " (or to a group or tag it is in, or to all products)"
	if st.memberTuple(userID) == nil {
		return fmt.Sprintf("%s is not a member of %s", userID, st.id), "membership of " + st.id + " with " + missing
	}
	a := st.accessOf(userID)
	scope := a.Technical
	if permission == schema.PermView {
		scope = a.View
	}
	where := "no product"
	if !scope.Empty() {
		where = scope.describe()
	}
	var in []string
	for _, r := range st.find(typeProduct, objectID(st.id, product), schema.RelGroup, typeGroup, "") {
		in = append(in, "group "+strings.TrimPrefix(r.GetSubject().GetObject().GetObjectId(), st.id+"/"))
	}
	for _, r := range st.find(typeProduct, objectID(st.id, product), schema.RelTagged, typeTag, "") {
		in = append(in, "tag "+strings.TrimPrefix(r.GetSubject().GetObject().GetObjectId(), st.id+"/"))
	}
	reason = fmt.Sprintf("%s's %s covers %s, not product %s", userID, kind, where, product)
	if len(in) > 0 {
		reason += " (in " + strings.Join(in, ", ") + ")"
	}
	return reason, missing
}

// grantors are the people who can manage the account's users and hold
// permission on resource (so granting it escalates nothing), but for the
// person asked about.
func (s *Service) grantors(ctx context.Context, accountID string, resource *v1.ObjectReference, permission, userID string) ([]string, error) {
	managers, err := s.lookupSubjects(ctx, accountRef(accountID), schema.PermManageUsers, typeUser)
	if err != nil {
		return nil, err
	}
	holders, err := s.lookupSubjects(ctx, resource, permission, typeUser)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, id := range holders {
		if id != userID && (permission == schema.PermChangeDelegation || slices.Contains(managers, id)) {
			out = append(out, typeUser+":"+id)
		}
	}
	slices.Sort(out)
	return out, nil
}
