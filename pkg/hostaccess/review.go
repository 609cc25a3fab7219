package hostaccess

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/schema"
)

// AccessReview is the periodic review of an account: every person with
// access (owners, members, administrators, host staff through delegation),
// one line per right or product scope they hold, with how it is held, who
// granted it and when (from the audit trail), and when it ends. Contacts
// hold no access and never appear.
type AccessReview struct {
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name,omitempty"`
	// Host is the account's host; Delegated whether its staff manage the
	// account's users (the lines held through delegation).
	Host      string `json:"host,omitempty"`
	Delegated bool   `json:"delegated"`
	// Filter is what the lines were selected by.
	Filter      ReviewFilter `json:"filter"`
	GeneratedAt time.Time    `json:"generated_at"`
	// At is the revision (a ZedToken) every line is read at.
	At string `json:"at"`
	// People is how many distinct people the lines name.
	People int          `json:"people"`
	Lines  []ReviewLine `json:"lines"`
}

// ReviewLine is one right or product scope one person holds.
type ReviewLine struct {
	UserID      string `json:"user_id"`
	Email       string `json:"email,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	// Role is owner, administrator, member, host_admin or host_staff.
	Role string `json:"role"`
	// Right is a right category (billing, ... read_only), technical or view
	// (with a product scope), administrator (the role itself), access (a
	// member with no right: may log in, nothing more), or for host staff
	// user_management (host admins) or view_users (host staff).
	Right string `json:"right"`
	// Scope is what the line applies to: account, all products, product
	// NAME, group NAME or tag NAME.
	Scope string `json:"scope"`
	// Held is how: ownership, direct, group, tag, all_products or delegation.
	Held string `json:"held"`
	// Through names the group, tag or host (host:ID) the line is held through.
	Through string `json:"through,omitempty"`
	// GrantedBy and GrantedAt are the audit entry that granted it (the
	// inviter's, for an accepted invitation); empty when the audit trail
	// does not say (relationships written by hand, an import).
	GrantedBy string     `json:"granted_by,omitempty"`
	GrantedAt *time.Time `json:"granted_at,omitempty"`
	// Ends is when it ends: the membership's end; nil for no end.
	Ends *time.Time `json:"ends,omitempty"`
	// Networks, when set, are the only networks the line holds from (the
	// membership's allowed_cidrs).
	Networks []string `json:"networks,omitempty"`
	// NeedsMFA says the line's right is used only in a two-factor session
	// (the provider's MFARights, on an account with a host).
	NeedsMFA bool `json:"needs_mfa,omitempty"`
}

// ReviewFilter selects the lines of a review; the zero value keeps them
// all, and the conditions set must all hold.
type ReviewFilter struct {
	// ExpiringWithinDays keeps the lines ending within that many days
	// (1 to MaxExpiringDays); 0: no condition.
	ExpiringWithinDays int `json:"expiring_within_days,omitempty"`
	// GrantedBeforeDays keeps the lines granted more than that many days
	// ago, as the audit trail shows (a line it does not date is left out);
	// 0: no condition.
	GrantedBeforeDays int `json:"granted_before_days,omitempty"`
	// Delegation keeps only the lines held through delegation.
	Delegation bool `json:"delegation,omitempty"`
}

// MaxGrantedBeforeDays bounds ReviewFilter.GrantedBeforeDays (a century).
const MaxGrantedBeforeDays = 36500

// The ways a review line is held.
const (
	HeldOwnership   = "ownership"
	HeldDirect      = "direct"
	HeldGroup       = "group"
	HeldTag         = "tag"
	HeldAllProducts = "all_products"
	HeldDelegation  = "delegation"
)

// Roles of a review line.
const (
	RoleOwner         = "owner"
	RoleAdministrator = "administrator"
	RoleMember        = "member"
	RoleHostAdmin     = "host_admin"
	RoleHostStaff     = "host_staff"
)

// reviewAuditPage is how many audit entries one directory read brings.
const reviewAuditPage = 1000

// AccessReview builds the review of an account. It needs what reading its
// users and audit log needs (view_users). Every line is read at one
// revision; the audit trail is read once, after it, and entries recorded
// after the read are left out.
func (s *Service) AccessReview(ctx context.Context, actor Actor, accountID string, f ReviewFilter) (AccessReview, error) {
	if f.ExpiringWithinDays < 0 || f.ExpiringWithinDays > MaxExpiringDays {
		return AccessReview{}, invalidf("expiring within %d days: give 1 to %d (0: no condition)", f.ExpiringWithinDays, MaxExpiringDays)
	}
	if f.GrantedBeforeDays < 0 || f.GrantedBeforeDays > MaxGrantedBeforeDays {
		return AccessReview{}, invalidf("granted before %d days: give 1 to %d (0: no condition)", f.GrantedBeforeDays, MaxGrantedBeforeDays)
	}
	acct, st, err := s.loadAccountAs(ctx, actor, accountID, schema.PermViewUsers, "review the access to "+accountID)
	if err != nil {
		return AccessReview{}, err
	}
	now := s.now().UTC()
	host := st.host()
	out := AccessReview{
		AccountID: accountID, AccountName: acct.Name, Host: host, Filter: f, GeneratedAt: now,
		At: st.at.GetToken(), Lines: []ReviewLine{},
		Delegated: host != "" && st.has(typeAccount, accountID, schema.RelDelegatedTo, typeHost, host),
	}
	staff, err := s.delegatedStaff(ctx, st, out.Delegated)
	if err != nil {
		return AccessReview{}, err
	}
	history, err := s.grantHistory(ctx, accountID, now)
	if err != nil {
		return AccessReview{}, err
	}

	var lines []ReviewLine
	owners := st.owners()
	for _, id := range owners {
		lines = append(lines, history.date(id, RoleOwner, ownerLines(), nil)...)
	}
	byUser := st.tuplesByUser()
	for _, id := range st.members() {
		if slices.Contains(owners, id) {
			continue
		}
		a := st.accessFrom(byUser[id])
		role := RoleMember
		if a.Administrator {
			role = RoleAdministrator
		}
		member := memberLines(a)
		for i := range member {
			member[i].Networks = a.AllowedCIDRs
		}
		lines = append(lines, history.date(id, role, member, a.ExpiresAt)...)
	}
	for _, h := range staff {
		lines = append(lines, history.dateDelegation(h))
	}
	if st.host() != "" {
		for i := range lines {
			lines[i].NeedsMFA = slices.Contains(s.mfaRights, Right(lines[i].Right))
		}
	}

	ids := make([]string, 0, len(lines))
	for _, l := range lines {
		if f.keeps(l, now) {
			out.Lines = append(out.Lines, l)
			ids = append(ids, l.UserID)
		}
	}
	ids = uniqueSorted(ids)
	out.People = len(ids)
	people, err := s.dir.GetPeople(ctx, ids)
	if err != nil {
		return AccessReview{}, fromDirectory(err, "people of "+accountID)
	}
	for i := range out.Lines {
		p := people[out.Lines[i].UserID]
		out.Lines[i].Email, out.Lines[i].DisplayName = p.Email, p.DisplayName
	}
	return out, nil
}

func (f ReviewFilter) keeps(l ReviewLine, now time.Time) bool {
	if f.Delegation && l.Held != HeldDelegation {
		return false
	}
	if f.ExpiringWithinDays > 0 && (l.Ends == nil || l.Ends.After(now.Add(days(f.ExpiringWithinDays)))) {
		return false
	}
	if f.GrantedBeforeDays > 0 && (l.GrantedAt == nil || !l.GrantedAt.Before(now.Add(-days(f.GrantedBeforeDays)))) {
		return false
	}
	return true
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// Describe says what the filter keeps, for a report's heading.
func (f ReviewFilter) Describe() string {
	var parts []string
	if f.ExpiringWithinDays > 0 {
		parts = append(parts, "ending within "+strconv.Itoa(f.ExpiringWithinDays)+" days")
	}
	if f.GrantedBeforeDays > 0 {
		parts = append(parts, "granted more than "+strconv.Itoa(f.GrantedBeforeDays)+" days ago")
	}
	if f.Delegation {
		parts = append(parts, "held through delegation")
	}
	if len(parts) == 0 {
		return "every line"
	}
	return "lines " + strings.Join(parts, ", ")
}

// staffMember is one of the host's people reaching the account through
// delegation.
type staffMember struct {
	userID, role, host string
}

// delegatedStaff lists the host's admins and staff while delegation is on,
// read at the state's revision; none when it is off.
func (s *Service) delegatedStaff(ctx context.Context, st *accountState, delegated bool) ([]staffMember, error) {
	if !delegated {
		return nil, nil
	}
	host := st.host()
	cons := fullyConsistent()
	if st.at != nil {
		cons = atSnapshot(st.at)
	}
	rels, _, err := s.readAll(ctx, &v1.RelationshipFilter{ResourceType: typeHost, OptionalResourceId: host}, cons)
	if err != nil {
		return nil, err
	}
	admins := map[string]bool{}
	var staff []string
	for _, r := range rels {
		sub := r.GetSubject().GetObject()
		if sub.GetObjectType() != typeUser {
			continue
		}
		switch r.GetRelation() {
		case schema.RelHostAdmin:
			admins[sub.GetObjectId()] = true
			staff = append(staff, sub.GetObjectId())
		case schema.RelHostStaff:
			staff = append(staff, sub.GetObjectId())
		}
	}
	var out []staffMember
	for _, id := range uniqueSorted(staff) {
		role := RoleHostStaff
		if admins[id] {
			role = RoleHostAdmin // an admin's reach covers a staff member's
		}
		out = append(out, staffMember{userID: id, role: role, host: host})
	}
	return out, nil
}

// ownerLines are what an owner holds: every right, technical management of
// all products.
func ownerLines() []ReviewLine {
	lines := make([]ReviewLine, 0, len(Rights)+1)
	for _, r := range Rights {
		lines = append(lines, ReviewLine{Right: string(r), Scope: "account", Held: HeldOwnership})
	}
	return append(lines, ReviewLine{Right: "technical", Scope: "all products", Held: HeldOwnership})
}

// memberLines are the lines of a member's access: one per right and per
// product, group or tag of each scope.
func memberLines(a Access) []ReviewLine {
	var lines []ReviewLine
	if a.Administrator {
		lines = append(lines, ReviewLine{Right: RoleAdministrator, Scope: "account", Held: HeldDirect})
	}
	for _, r := range a.Rights {
		lines = append(lines, ReviewLine{Right: string(r), Scope: "account", Held: HeldDirect})
	}
	for _, sc := range []struct {
		right string
		scope ProductScope
	}{{"technical", a.Technical}, {"view", a.View}} {
		if sc.scope.All {
			lines = append(lines, ReviewLine{Right: sc.right, Scope: "all products", Held: HeldAllProducts})
		}
		for _, n := range sc.scope.Products {
			lines = append(lines, ReviewLine{Right: sc.right, Scope: "product " + n, Held: HeldDirect})
		}
		for _, n := range sc.scope.Groups {
			lines = append(lines, ReviewLine{Right: sc.right, Scope: "group " + n, Held: HeldGroup, Through: n})
		}
		for _, n := range sc.scope.Tags {
			lines = append(lines, ReviewLine{Right: sc.right, Scope: "tag " + n, Held: HeldTag, Through: n})
		}
	}
	if len(lines) == 0 {
		lines = append(lines, ReviewLine{Right: "access", Scope: "account", Held: HeldDirect})
	}
	return lines
}

// grant is who granted a line and when.
type grant struct {
	by string
	at time.Time
}

// grants is the audit trail replayed: for each person, the entry that
// granted each line they hold (lineKey), and for the account, the entry
// that switched delegation on.
type grants struct {
	lines      map[string]map[string]grant
	delegation *grant
}

func lineKey(l ReviewLine) string { return l.Held + "|" + l.Right + "|" + l.Scope }

// set replaces userID's lines with those given: a line held before keeps
// its grant, a new one takes g.
func (h *grants) set(userID string, lines []ReviewLine, g grant) {
	old := h.lines[userID]
	next := make(map[string]grant, len(lines))
	for _, l := range lines {
		k := lineKey(l)
		if prev, ok := old[k]; ok {
			next[k] = prev
		} else {
			next[k] = g
		}
	}
	h.lines[userID] = next
}

// date fills in the person, role, grant and end of lines.
func (h *grants) date(userID, role string, lines []ReviewLine, ends *time.Time) []ReviewLine {
	for i := range lines {
		lines[i].UserID, lines[i].Role, lines[i].Ends = userID, role, ends
		if g, ok := h.lines[userID][lineKey(lines[i])]; ok {
			lines[i].GrantedBy = g.by
			at := g.at
			lines[i].GrantedAt = &at
		}
	}
	return lines
}

func (h *grants) dateDelegation(m staffMember) ReviewLine {
	right := string(RightUserManagement)
	if m.role == RoleHostStaff {
		right = "view_users"
	}
	l := ReviewLine{UserID: m.userID, Role: m.role, Right: right, Scope: "account", Held: HeldDelegation, Through: "host:" + m.host}
	if g := h.delegation; g != nil {
		l.GrantedBy = g.by
		at := g.at
		l.GrantedAt = &at
	}
	return l
}

// grantHistory reads the account's whole audit trail once, oldest first,
// and replays the flows that grant or take away access. Only applied
// entries count, and none recorded after cutoff (the state's read).
func (s *Service) grantHistory(ctx context.Context, accountID string, cutoff time.Time) (*grants, error) {
	var entries []directory.AuditEntry
	for before := int64(0); ; {
		page, err := s.dir.ListAudit(ctx, directory.AuditFilter{AccountID: accountID, BeforeSeq: before, Limit: reviewAuditPage})
		if err != nil {
			return nil, fromDirectory(err, "audit of "+accountID)
		}
		if len(page) == 0 {
			break
		}
		entries = append(entries, page...)
		before = page[len(page)-1].Seq
	}
	h := &grants{lines: map[string]map[string]grant{}}
	inviter := map[string]string{} // invitation:ID -> who offered it
	for _, e := range slices.Backward(entries) {
		if e.Outcome != directory.AuditApplied || e.Time.After(cutoff) {
			continue
		}
		g := grant{by: e.Actor, at: e.Time.UTC()}
		target, _ := strings.CutPrefix(e.Target, "user:")
		switch e.Flow {
		case "create_account":
			var after struct {
				Owner     string `json:"owner"`
				Delegated bool   `json:"delegated"`
			}
			if json.Unmarshal(e.After, &after) == nil {
				h.set(after.Owner, ownerLines(), g)
				if after.Delegated {
					h.delegation = &g
				}
			}
		case "add_owner":
			h.set(target, ownerLines(), g)
		case "transfer_ownership":
			var after struct {
				Keeps *Access `json:"previous_owner_keeps"`
			}
			h.set(target, ownerLines(), g)
			if prev, ok := strings.CutPrefix(e.Actor, "user:"); ok && json.Unmarshal(e.After, &after) == nil {
				var kept []ReviewLine
				if after.Keeps != nil {
					kept = memberLines(*after.Keeps)
				}
				h.set(prev, kept, g)
			}
		case "set_access":
			var after Access
			if json.Unmarshal(e.After, &after) == nil {
				h.set(target, memberLines(after), g)
			}
		case "approve_request":
			// The approver granted what the requester now holds.
			var after requestGrant
			if json.Unmarshal(e.After, &after) == nil && after.User != "" {
				h.set(after.User, memberLines(after.Access), g)
			}
		case "invite":
			inviter[e.Target] = e.Actor
		case "regenerate_invitation":
			var fresh string
			if json.Unmarshal(e.After, &fresh) == nil {
				inviter["invitation:"+fresh] = e.Actor
			}
		case "accept_invitation":
			var after Acceptance
			userID, ok := strings.CutPrefix(e.Actor, "user:")
			if ok && json.Unmarshal(e.After, &after) == nil && !after.Owner {
				if by := inviter[e.Target]; by != "" {
					g.by = by // the acceptor takes what the inviter granted
				}
				h.set(userID, memberLines(after.Access), g)
			}
		case "remove_member":
			delete(h.lines, target)
		case "set_delegation":
			var on bool
			if json.Unmarshal(e.After, &on) == nil {
				if on && h.delegation == nil {
					h.delegation = &g
				} else if !on {
					h.delegation = nil
				}
			}
		}
	}
	return h, nil
}
