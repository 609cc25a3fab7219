package hostaccess

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"time"

	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/schema"
)

// ExpiringAccess is what ends on an account within a window: the
// memberships that lapse (and every grant with them) and the pending
// invitations whose link stops working, for a panel to warn the owner.
type ExpiringAccess struct {
	AccountID string `json:"account_id"`
	// Until is the end of the window: now plus the days asked.
	Until time.Time `json:"until"`
	// Members whose membership ends by Until, soonest first.
	Members []ExpiringMember `json:"members"`
	// Invitations still pending whose link lapses by Until, soonest first.
	Invitations []Invitation `json:"invitations"`
}

// ExpiringMember is one membership that ends within the window.
type ExpiringMember struct {
	UserID      string    `json:"user_id"`
	Email       string    `json:"email,omitempty"`
	DisplayName string    `json:"display_name,omitempty"`
	ExpiresAt   time.Time `json:"expires_at"`
	// Summary says what goes with it.
	Summary string `json:"summary"`
}

// MaxExpiringDays bounds the window of Expiring: the longest an expiry may
// be set ahead (MaxExpiry).
const MaxExpiringDays = int(MaxExpiry / (24 * time.Hour))

// Expiring lists what ends on the account within the next days days
// (1 to MaxExpiringDays). It needs the right to manage the account's users,
// as listing its invitations does. Owners never expire; contacts hold no
// access and never appear.
func (s *Service) Expiring(ctx context.Context, actor Actor, accountID string, days int) (ExpiringAccess, error) {
	if days < 1 || days > MaxExpiringDays {
		return ExpiringAccess{}, invalidf("days %d: give 1 to %d", days, MaxExpiringDays)
	}
	_, st, err := s.loadAccountAs(ctx, actor, accountID, schema.PermManageUsers, "see what expires on "+accountID)
	if err != nil {
		return ExpiringAccess{}, err
	}
	now := s.now().UTC()
	until := now.Add(time.Duration(days) * 24 * time.Hour)
	out := ExpiringAccess{AccountID: accountID, Until: until, Members: []ExpiringMember{}, Invitations: []Invitation{}}

	ending := map[string]Access{}
	for _, id := range st.members() {
		if a := st.accessOf(id); !st.isOwner(id) && a.ExpiresAt != nil && !a.ExpiresAt.After(until) {
			ending[id] = a
		}
	}
	people, err := s.dir.GetPeople(ctx, slices.Collect(maps.Keys(ending)))
	if err != nil {
		return ExpiringAccess{}, fromDirectory(err, "people of "+accountID)
	}
	for id, a := range ending {
		p := people[id]
		out.Members = append(out.Members, ExpiringMember{
			UserID: id, Email: p.Email, DisplayName: p.DisplayName, ExpiresAt: *a.ExpiresAt, Summary: a.Summary(),
		})
	}
	slices.SortFunc(out.Members, func(a, b ExpiringMember) int {
		return cmp.Or(a.ExpiresAt.Compare(b.ExpiresAt), cmp.Compare(a.UserID, b.UserID))
	})

	invs, err := s.listedInvitations(ctx, st, now)
	if err != nil {
		return ExpiringAccess{}, err
	}
	for _, inv := range invs {
		if inv.Status == string(directory.InvitationPending) && !inv.ExpiresAt.After(until) {
			out.Invitations = append(out.Invitations, inv)
		}
	}
	slices.SortStableFunc(out.Invitations, func(a, b Invitation) int { return a.ExpiresAt.Compare(b.ExpiresAt) })
	return out, nil
}
