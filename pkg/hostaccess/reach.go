package hostaccess

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"golang.org/x/sync/errgroup"

	"github.com/hostaccess/hostaccess/schema"
)

// Holder is someone who holds a permission, and why.
type Holder struct {
	Subject string `json:"subject"`
	// Reasons are the grants that give it: "account:acme#owner",
	// "tag:acme/client-x#technician", "host:nordhost#admin (delegation)".
	Reasons []string `json:"reasons"`
}

// WhoCan answers the auditor's question: who can do permission on resource
// (an account or one of its products, groups or tags), and through which
// grant. Anyone who sees the account's users may ask.
//
// The holders come from SpiceDB (LookupSubjects, as fresh as the account's
// last change). The reasons come from SpiceDB's own check engine too, run
// with full tracing over the relationships the resource reaches, read
// fully consistent at one revision (a traced check against the server may
// be answered from its cache, which hides the path below). A change landing
// between the two can leave a holder without reasons.
func (s *Service) WhoCan(ctx context.Context, actor Actor, resource, permission string) ([]Holder, error) {
	res, accountID, err := accountObject(resource)
	if err != nil {
		return nil, err
	}
	// The authorization, the holders and the relationships that explain
	// them are independent reads: ask them at once (an audit page waits for
	// the slowest, not the sum). A refusal cancels the other two and is the
	// answer: an unauthorized caller learns nothing else.
	var (
		rels                        []*v1.Relationship
		ids                         []string
		readErr, authErr, lookupErr error
		wg                          sync.WaitGroup
	)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { rels, readErr = s.readReachable(rctx, accountID, res) })
	wg.Go(func() {
		authErr = s.authorize(ctx, actor, []need{{resource: accountRef(accountID), permission: schema.PermViewUsers, what: "audit account " + accountID}})
		if authErr != nil {
			cancel()
		}
	})
	wg.Go(func() { ids, lookupErr = s.lookupSubjects(rctx, res, permission, typeUser) })
	wg.Wait()
	if err := cmp.Or(authErr, readErr, lookupErr); err != nil {
		return nil, err
	}
	return s.explainHolders(ctx, rels, res, permission, ids)
}

// accountObject parses an account or one of its objects (TYPE:ACCOUNT/NAME)
// and returns its account.
func accountObject(resource string) (*v1.ObjectReference, string, error) {
	res, err := parseObject("resource", resource)
	if err != nil {
		return nil, "", err
	}
	accountID := res.GetObjectId()
	if res.GetObjectType() != typeAccount {
		var ok bool
		if accountID, _, ok = strings.Cut(res.GetObjectId(), "/"); !ok {
			return nil, "", invalidf("resource %s belongs to no account", resource)
		}
	}
	return res, accountID, validName("account id", accountID)
}

// explainHolders gives each holder of permission on res the grants that
// give it, from a traced check over rels (read at one revision).
func (s *Service) explainHolders(ctx context.Context, rels []*v1.Relationship, res *v1.ObjectReference, permission string, ids []string) ([]Holder, error) {
	if len(ids) == 0 {
		return []Holder{}, nil
	}
	explain, err := s.explain.explainer(ctx, rels)
	if err != nil {
		return nil, err
	}
	defer explain.close()
	// One traced check per holder, independent of each other: on all cores.
	out := make([]Holder, len(ids))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, id := range ids {
		g.Go(func() error {
			trace, err := explain.check(res, permission, id)
			if err != nil {
				return err
			}
			out[i] = Holder{Subject: "user:" + id, Reasons: reasons(trace)}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// reasons extracts the granting relations from a check trace: the leaves
// that found the subject, leaving out the access gate every grant passes.
func reasons(t *v1.CheckDebugTrace) []string {
	var out []string
	var walk func(t *v1.CheckDebugTrace)
	walk = func(t *v1.CheckDebugTrace) {
		if t == nil || t.GetResult() != v1.CheckDebugTrace_PERMISSIONSHIP_HAS_PERMISSION {
			return
		}
		subs := t.GetSubProblems().GetTraces()
		granting := 0
		for _, sub := range subs {
			if sub.GetResult() == v1.CheckDebugTrace_PERMISSIONSHIP_HAS_PERMISSION {
				granting++
				walk(sub)
			}
		}
		// A leaf: a relation that holds the subject, or a permission answered
		// from cache (its own path is not in the trace).
		if granting == 0 {
			label := fmt.Sprintf("%s:%s#%s", t.GetResource().GetObjectType(), t.GetResource().GetObjectId(), t.GetPermission())
			if t.GetResource().GetObjectType() == typeHost {
				label += " (delegation)"
			}
			gate := t.GetPermission() == schema.RelMember || t.GetPermission() == schema.PermAccess || t.GetPermission() == schema.PermAttached
			if !gate && !slices.Contains(out, label) {
				out = append(out, label)
			}
		}
	}
	walk(t)
	return out
}

// AccessReport is what one person can reach: the auditor's other question.
type AccessReport struct {
	UserID   string           `json:"user_id"`
	Accounts []AccountSummary `json:"accounts"`
	// Products the person can manage, by id (ACCOUNT/NAME).
	Products []string `json:"products"`
	// Next is the cursor of the next page of a paged report (ReachPage);
	// empty on the last page and when not paged.
	Next string `json:"next,omitempty"`
	// At is the revision every page of a paged report is read at.
	At string `json:"at,omitempty"`
}

// ReachOf reports what a person can reach. Service identities may ask about
// anyone; a person may ask about themselves.
func (s *Service) ReachOf(ctx context.Context, actor Actor, userID string) (AccessReport, error) {
	list, err := s.SwitchAccounts(ctx, actor, userID)
	if err != nil {
		return AccessReport{}, err
	}
	products, err := s.lookupResources(ctx, typeProduct, schema.PermManage, subject(typeUser, userID))
	if err != nil {
		return AccessReport{}, err
	}
	if products == nil {
		products = []string{} // "no products" is [], never null
	}
	return AccessReport{UserID: userID, Accounts: list.Accounts, Products: products}, nil
}
