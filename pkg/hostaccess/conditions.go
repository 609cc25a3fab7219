package hostaccess

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/hostaccess/hostaccess/schema"
)

// Conditions on rights (docs/conditions.md): a host may require a
// two-factor session for some rights (the check's context gives mfa), and
// a membership may be restricted to networks (client_ip). Both are SpiceDB
// caveats: a check that lacks what a condition needs is conditional, never
// allowed.

// RecommendedMFARights are the rights a provider should put behind a
// second factor first: they change who may do what.
var RecommendedMFARights = []Right{RightSecurity, RightUserManagement}

// mfaRights are the rights that can require a two-factor session: each
// using permission is holds_R minus host->mfa_R in the schema. Seeing
// (read_only) never needs one.
var mfaRights = []Right{RightBilling, RightSupport, RightDomains, RightSecurity, RightUserManagement, RightProfile}

const caveatMFAMissing = "mfa_missing"

func mfaRelation(r Right) string { return "mfa_required_" + string(r) }

// checkMFARights validates a provider's choice.
func checkMFARights(rights []Right) ([]Right, error) {
	out := uniqueSorted(rights)
	for _, r := range out {
		if !slices.Contains(mfaRights, r) {
			return nil, fmt.Errorf("hostaccess: MFARights: %q cannot require a second factor (choose among %s)", r, joinRights(mfaRights))
		}
	}
	return out, nil
}

// hostConditions are the updates making a host's accounts require a
// two-factor session for the configured rights; with clear, for exactly
// them (the others' conditions deleted: ApplyConditions, at start). A new
// account only adds what is configured: its host was cleared at start.
func (s *Service) hostConditions(hostID string, clear bool) []*v1.RelationshipUpdate {
	var updates []*v1.RelationshipUpdate
	for _, r := range mfaRights {
		gate := &v1.Relationship{
			Resource: ref(typeHost, hostID), Relation: mfaRelation(r),
			Subject:        &v1.SubjectReference{Object: ref(typeUser, "*")},
			OptionalCaveat: &v1.ContextualizedCaveat{CaveatName: caveatMFAMissing},
		}
		switch {
		case slices.Contains(s.mfaRights, r):
			updates = append(updates, touch(gate))
		case clear:
			updates = append(updates, remove(gate))
		}
	}
	return updates
}

// ApplyConditions writes the configured two-factor rights on every host
// SpiceDB knows (one with staff, or conditions from an earlier start), so
// a changed configuration applies to their accounts at once. A host with
// neither gets them with its next account (CreateAccount). It returns the
// number of hosts updated.
func (s *Service) ApplyConditions(ctx context.Context) (int, error) {
	rels, _, err := s.readAll(ctx, &v1.RelationshipFilter{ResourceType: typeHost}, fullyConsistent())
	if err != nil {
		if strings.Contains(err.Error(), "definition `host` not found") {
			return 0, nil // no schema yet (an import to come): no host either
		}
		return 0, err
	}
	var hosts []string
	for _, r := range rels {
		hosts = append(hosts, r.GetResource().GetObjectId())
	}
	hosts = uniqueSorted(hosts)
	for _, h := range hosts {
		if _, err := s.write(ctx, s.hostConditions(h, true), nil); err != nil {
			return 0, fmt.Errorf("conditions of host %s: %w", h, err)
		}
	}
	s.log.Info("two-factor conditions applied", zap.Int("hosts", len(hosts)), zap.String("rights", joinRights(s.mfaRights)))
	return len(hosts), nil
}

// restricted puts a network allowlist on a membership relationship.
func restricted(r *v1.Relationship, cidrs []string) *v1.Relationship {
	if len(cidrs) == 0 {
		return r
	}
	r.OptionalCaveat = &v1.ContextualizedCaveat{CaveatName: schema.CaveatClientIP, Context: cidrContext(cidrs)}
	return r
}

func cidrContext(cidrs []string) *structpb.Struct {
	list := make([]*structpb.Value, len(cidrs))
	for i, c := range cidrs {
		list[i] = structpb.NewStringValue(c)
	}
	return &structpb.Struct{Fields: map[string]*structpb.Value{
		"allowed_cidrs": structpb.NewListValue(&structpb.ListValue{Values: list}),
	}}
}

// allowedCIDRs reads a relationship's network allowlist back.
func allowedCIDRs(r *v1.Relationship) []string {
	c := r.GetOptionalCaveat()
	if c.GetCaveatName() != schema.CaveatClientIP {
		return nil
	}
	var out []string
	for _, v := range c.GetContext().GetFields()["allowed_cidrs"].GetListValue().GetValues() {
		out = append(out, v.GetStringValue())
	}
	return out
}

func sameCaveat(a, b *v1.Relationship) bool {
	return proto.Equal(a.GetOptionalCaveat(), b.GetOptionalCaveat())
}

// widens reports whether moving a membership's allowlist from current to
// desired lets it be used from more places.
func widens(current, desired []string) bool {
	return len(current) > 0 && !within(desired, current)
}

// within reports whether every network of inner lies in one of outer (an
// empty inner is everywhere, so never within a restriction).
func within(inner, outer []string) bool {
	if len(outer) == 0 {
		return true
	}
	if len(inner) == 0 {
		return false
	}
	for _, in := range inner {
		p, err := netip.ParsePrefix(in)
		if err != nil {
			return false
		}
		if !slices.ContainsFunc(outer, func(out string) bool {
			o, err := netip.ParsePrefix(out)
			return err == nil && o.Bits() <= p.Bits() && o.Contains(p.Addr())
		}) {
			return false
		}
	}
	return true
}

// cidrsOf is the network allowlist of userID's membership (nil for an
// owner or an unrestricted member).
func (st *accountState) cidrsOf(userID string) []string {
	if m := st.memberTuple(userID); m != nil && !st.isOwner(userID) {
		return allowedCIDRs(m)
	}
	return nil
}

// session is the caveat context of an actor's own calls: whether their
// session passed a second factor, and where it comes from.
func (a Actor) session() *structpb.Struct {
	fields := map[string]*structpb.Value{"mfa": structpb.NewBoolValue(a.MFA)}
	if a.ClientIP != "" {
		fields["client_ip"] = structpb.NewStringValue(a.ClientIP)
	}
	return &structpb.Struct{Fields: fields}
}

// conditionalRefusal says why an actor's own permission was only
// conditional: what their call must give.
func conditionalRefusal(actor Actor, what string, missing []string) error {
	return errorf(ErrForbidden, "%s may %s only under a condition the call did not meet: give %s (the session's client IP: the access is restricted to networks)",
		actor, what, strings.Join(missing, ", "))
}
