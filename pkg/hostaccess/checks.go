package hostaccess

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/hostaccess/hostaccess/schema"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"golang.org/x/sync/errgroup"

	"github.com/hostaccess/hostaccess/internal/streams"
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/freshness"
)

// Check is one question: may Subject (TYPE:ID, e.g. "user:carol") do
// Permission on Resource (TYPE:ID, e.g. "account:acme")?
type Check struct {
	Resource   string `json:"resource"`
	Permission string `json:"permission"`
	Subject    string `json:"subject"`
}

// Answer is the answer to a Check.
type Answer struct {
	Check
	Allowed bool `json:"allowed"`
	// Conditional is true when the answer depends on missing caveat context.
	Conditional bool `json:"conditional,omitempty"`
	// Error is set when this question could not be answered (bulk only).
	Error string `json:"error,omitempty"`
}

// CheckOptions tune a check.
type CheckOptions struct {
	// AtLeastAsFresh is a ZedToken from a write; the answer reflects at
	// least that write. Changes made through hostaccess, this node's SpiceDB
	// API or seen by its watch are reflected without it (see
	// pkg/freshness); pass it when the write went through another node.
	AtLeastAsFresh string
}

func parseObject(kind, s string) (*v1.ObjectReference, error) {
	typ, id, ok := strings.Cut(s, ":")
	if !ok || typ == "" || id == "" {
		return nil, invalidf("%s %q: want TYPE:ID, e.g. account:acme", kind, s)
	}
	return ref(typ, id), nil
}

// consistency is what a request about these resources asks SpiceDB for:
// at least as fresh as the accounts' last changes and the caller's token,
// so unchanged accounts are answered from cache. Without a freshness
// tracker, fully consistent (which satisfies every token).
func (s *Service) consistency(ctx context.Context, resources []*v1.ObjectReference, opts CheckOptions) (*v1.Consistency, error) {
	if s.fresh == nil {
		return fullyConsistent(), nil
	}
	c, err := s.fresh.Consistency(ctx, freshness.ScopesOfResources(resources), opts.AtLeastAsFresh)
	return c, callerTokenError(err)
}

// callerTokenError names a caller's unusable at_least_as_fresh token as bad
// input.
func callerTokenError(err error) error {
	if errors.Is(err, freshness.ErrInvalidToken) {
		return invalidf("at_least_as_fresh: %v", err)
	}
	return err
}

// ask runs check, a request about resources that returns its answer's
// revision, at the consistency of consistency; a node's first question
// about an account does not wait for the account's stored token (see
// freshness.Tracker.Ask).
func (s *Service) ask(ctx context.Context, resources []*v1.ObjectReference, opts CheckOptions, check func(context.Context, *v1.Consistency) (*v1.ZedToken, error)) error {
	if s.fresh == nil {
		_, err := check(ctx, fullyConsistent())
		return err
	}
	return callerTokenError(s.fresh.Ask(ctx, freshness.ScopesOfResources(resources), opts.AtLeastAsFresh, func(ctx context.Context, c *v1.Consistency) (string, error) {
		at, err := check(ctx, c)
		return at.GetToken(), err
	}))
}

// Can answers one question. It asks SpiceDB's CheckPermission directly:
// a one-item bulk check costs more (measured with hostaccess bench).
func (s *Service) Can(ctx context.Context, c Check, opts CheckOptions) (Answer, error) {
	res, err := parseObject("resource", c.Resource)
	if err != nil {
		return Answer{}, err
	}
	sub, err := parseObject("subject", c.Subject)
	if err != nil {
		return Answer{}, err
	}
	if c.Permission == "" {
		return Answer{}, invalidf("the question has no permission")
	}
	var resp *v1.CheckPermissionResponse
	err = s.ask(ctx, []*v1.ObjectReference{res}, opts, func(ctx context.Context, cons *v1.Consistency) (*v1.ZedToken, error) {
		r, err := s.client.CheckPermission(ctx, &v1.CheckPermissionRequest{
			Resource: res, Permission: c.Permission, Subject: &v1.SubjectReference{Object: sub}, Consistency: cons,
		})
		if err != nil {
			return nil, fromSpiceDB(err)
		}
		resp = r
		return r.GetCheckedAt(), nil
	})
	if err != nil {
		return Answer{}, err
	}
	a := Answer{Check: c}
	switch resp.GetPermissionship() {
	case v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION:
		a.Allowed = true
	case v1.CheckPermissionResponse_PERMISSIONSHIP_CONDITIONAL_PERMISSION:
		a.Conditional = true
	}
	return a, nil
}

// maxBulk bounds one CanAll call (SpiceDB's own bulk limit is 1,000).
const maxBulk = 1000

// CanAll answers a page of questions in one round trip.
func (s *Service) CanAll(ctx context.Context, checks []Check, opts CheckOptions) ([]Answer, error) {
	if len(checks) == 0 {
		return nil, nil
	}
	if len(checks) > maxBulk {
		return nil, invalidf("%d questions: at most %d per call", len(checks), maxBulk)
	}
	items := make([]*v1.CheckBulkPermissionsRequestItem, len(checks))
	resources := make([]*v1.ObjectReference, len(checks))
	for i, c := range checks {
		res, err := parseObject("resource", c.Resource)
		if err != nil {
			return nil, err
		}
		sub, err := parseObject("subject", c.Subject)
		if err != nil {
			return nil, err
		}
		if c.Permission == "" {
			return nil, invalidf("question %d has no permission", i+1)
		}
		items[i] = &v1.CheckBulkPermissionsRequestItem{Resource: res, Permission: c.Permission, Subject: &v1.SubjectReference{Object: sub}}
		resources[i] = res
	}
	var resp *v1.CheckBulkPermissionsResponse
	err := s.ask(ctx, resources, opts, func(ctx context.Context, cons *v1.Consistency) (*v1.ZedToken, error) {
		r, err := s.client.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Consistency: cons, Items: items})
		if err != nil {
			return nil, fromSpiceDB(err)
		}
		resp = r
		return r.GetCheckedAt(), nil
	})
	if err != nil {
		return nil, err
	}
	pairs := resp.GetPairs()
	if len(pairs) != len(checks) {
		return nil, fmt.Errorf("access engine answered %d of %d questions", len(pairs), len(checks))
	}
	out := make([]Answer, len(checks))
	for i, pair := range pairs {
		out[i] = Answer{Check: checks[i]} //nolint:gosec // len(pairs) == len(requests) is checked above
		if e := pair.GetError(); e != nil {
			out[i].Error = e.GetMessage()
			continue
		}
		switch pair.GetItem().GetPermissionship() {
		case v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION:
			out[i].Allowed = true
		case v1.CheckPermissionResponse_PERMISSIONSHIP_CONDITIONAL_PERMISSION:
			out[i].Conditional = true
		}
	}
	return out, nil
}

// lookupSubjects lists who holds a permission on one resource, as fresh as
// its account's last change.
func (s *Service) lookupSubjects(ctx context.Context, resource *v1.ObjectReference, permission, subjectType string) ([]string, error) {
	cons, err := s.consistency(ctx, []*v1.ObjectReference{resource}, CheckOptions{})
	if err != nil {
		return nil, err
	}
	stream, err := s.client.LookupSubjects(ctx, &v1.LookupSubjectsRequest{
		Resource: resource, Permission: permission, SubjectObjectType: subjectType, Consistency: cons,
	})
	if err != nil {
		return nil, fromSpiceDB(err)
	}
	var ids []string
	err = streams.Each(stream, func(resp *v1.LookupSubjectsResponse) {
		if resp.GetSubject().GetPermissionship() == v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION {
			ids = append(ids, resp.GetSubject().GetSubjectObjectId())
		}
	})
	if err != nil {
		return nil, fromSpiceDB(err)
	}
	slices.Sort(ids)
	return ids, nil
}

// lookupResources lists resources across accounts: no account's token
// covers the others, so it stays fully consistent.
func (s *Service) lookupResources(ctx context.Context, resourceType, permission string, sub *v1.SubjectReference) ([]string, error) {
	stream, err := s.client.LookupResources(ctx, &v1.LookupResourcesRequest{
		ResourceObjectType: resourceType, Permission: permission, Subject: sub, Consistency: fullyConsistent(),
	})
	if err != nil {
		return nil, fromSpiceDB(err)
	}
	var ids []string
	err = streams.Each(stream, func(resp *v1.LookupResourcesResponse) {
		if resp.GetPermissionship() == v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION {
			ids = append(ids, resp.GetResourceObjectId())
		}
	})
	if err != nil {
		return nil, fromSpiceDB(err)
	}
	slices.Sort(ids)
	return ids, nil
}

// AccountSummary is one line of the switch-account list.
type AccountSummary struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Owner   bool   `json:"owner"`
	Summary string `json:"summary"`
}

// SwitchList is what the switch-account page shows.
type SwitchList struct {
	Accounts []AccountSummary `json:"accounts"`
	// Single is set when the person has exactly one account: their session
	// goes straight to it.
	Single *AccountSummary `json:"single,omitempty"`
}

// summaryPermissions are the capabilities a switch-list line mentions,
// each by the name the API grants it under (a Right, "owner", or
// "technical" for technical access to all products).
var summaryPermissions = []struct{ permission, label string }{
	{schema.PermClose, schema.RelOwner},
	{schema.PermPayInvoices, string(RightBilling)},
	{schema.PermOpenTicket, string(RightSupport)},
	{schema.PermManageDomains, string(RightDomains)},
	{schema.PermManageSecurity, string(RightSecurity)},
	{schema.PermManageUsers, string(RightUserManagement)},
	{schema.PermManageAllProducts, schema.RelTechnical},
	{schema.PermViewEverything, string(RightReadOnly)},
}

// SwitchAccounts lists the accounts a person can switch to, each with a
// one-line summary of their rights there. A person asks for themselves; a
// service identity for anyone.
func (s *Service) SwitchAccounts(ctx context.Context, actor Actor, userID string) (SwitchList, error) {
	if err := validName("user id", userID); err != nil {
		return SwitchList{}, err
	}
	if err := selfOrSystem(actor, userID); err != nil {
		return SwitchList{}, err
	}
	ids, err := s.lookupResources(ctx, typeAccount, schema.PermSwitchTo, subject(typeUser, userID))
	if err != nil {
		return SwitchList{}, err
	}
	out := SwitchList{Accounts: []AccountSummary{}}
	if len(ids) == 0 {
		return out, nil
	}
	var checks []Check
	for _, id := range ids {
		for _, p := range summaryPermissions {
			checks = append(checks, Check{Resource: "account:" + id, Permission: p.permission, Subject: "user:" + userID})
		}
	}
	var answers []Answer
	for start := 0; start < len(checks); start += maxBulk {
		part, err := s.CanAll(ctx, checks[start:min(start+maxBulk, len(checks))], CheckOptions{})
		if err != nil {
			return SwitchList{}, err
		}
		answers = append(answers, part...)
	}
	accounts, err := s.dir.GetAccounts(ctx, ids)
	if err != nil {
		return SwitchList{}, fromDirectory(err, "accounts")
	}
	for i, id := range ids {
		line := AccountSummary{ID: id, Name: accounts[id].Name}
		var labels []string
		for j, p := range summaryPermissions {
			if !answers[i*len(summaryPermissions)+j].Allowed {
				continue
			}
			if p.permission == schema.PermClose {
				line.Owner = true
				break
			}
			labels = append(labels, p.label)
		}
		switch {
		case line.Owner:
			line.Summary = "owner: every right"
		case len(labels) == 0:
			line.Summary = "scoped product access"
		default:
			line.Summary = strings.Join(labels, ", ")
		}
		out.Accounts = append(out.Accounts, line)
	}
	if len(out.Accounts) == 1 {
		out.Single = &out.Accounts[0]
	}
	return out, nil
}

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
	res, err := parseObject("resource", resource)
	if err != nil {
		return nil, err
	}
	accountID := res.GetObjectId()
	if res.GetObjectType() != typeAccount {
		var ok bool
		if accountID, _, ok = strings.Cut(res.GetObjectId(), "/"); !ok {
			return nil, invalidf("resource %s belongs to no account", resource)
		}
	}
	if err := validName("account id", accountID); err != nil {
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

// selfOrSystem lets a person ask about themselves, a service about anyone.
func selfOrSystem(actor Actor, userID string) error {
	if err := actor.validate(); err != nil {
		return err
	}
	if !actor.isSystem() && actor.UserID != userID {
		return forbiddenf("%s may only ask about themselves", actor)
	}
	return nil
}

// AccessReport is what one person can reach: the auditor's other question.
type AccessReport struct {
	UserID   string           `json:"user_id"`
	Accounts []AccountSummary `json:"accounts"`
	// Products the person can manage, by id (ACCOUNT/NAME).
	Products []string `json:"products"`
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

// AuditEntry is one change in an account's audit log.
type AuditEntry struct {
	Seq       int64           `json:"seq"` // increasing; page with beforeSeq
	Time      time.Time       `json:"time"`
	Actor     string          `json:"actor"` // user:ID or service:NAME
	Flow      string          `json:"flow"`  // invite, accept_invitation, set_access, ...
	AccountID string          `json:"account_id"`
	Target    string          `json:"target"`
	Before    json.RawMessage `json:"before,omitempty"`
	After     json.RawMessage `json:"after,omitempty"`
	ZedToken  string          `json:"zed_token,omitempty"`
	// Outcome is "applied", or "intent" while a change interrupted by a
	// crash awaits recovery (docs/durability.md).
	Outcome string `json:"outcome"`
}

// AuditLog lists an account's changes, newest first: applied ones, and
// intents of changes interrupted by a crash that recovery has not settled
// yet. A page may hold fewer than limit entries (refused changes are left
// out); page on with the last Seq.
func (s *Service) AuditLog(ctx context.Context, actor Actor, accountID string, beforeSeq int64, limit int) ([]AuditEntry, error) {
	if _, _, err := s.loadAccountAs(ctx, actor, accountID, schema.PermViewUsers, "read the audit log of "+accountID); err != nil {
		return nil, err
	}
	entries, err := s.dir.ListAudit(ctx, directory.AuditFilter{AccountID: accountID, BeforeSeq: beforeSeq, Limit: limit})
	if err != nil {
		return nil, fromDirectory(err, "audit of "+accountID)
	}
	out := make([]AuditEntry, 0, len(entries))
	for _, e := range entries {
		// Abandoned intents are changes that never happened (a refused
		// write): not part of what changed.
		if e.Outcome == directory.AuditAbandoned {
			continue
		}
		out = append(out, AuditEntry{
			Seq: e.Seq, Time: e.Time, Actor: e.Actor, Flow: e.Flow, AccountID: e.AccountID, Target: e.Target,
			Before: e.Before, After: e.After, ZedToken: e.ZedToken, Outcome: string(e.Outcome),
		})
	}
	return out, nil
}
