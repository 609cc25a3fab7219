package flowfuzz_test

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/hostaccess/hostaccess/internal/flowfuzz"
	"github.com/hostaccess/hostaccess/internal/streams"
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

var fullyConsistent = &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}

// observe lists every way the stack differs from model m: effective
// permissions, the relationships behind them, the directory, and the
// invariants DOMAIN.md states whatever the history.
func (w *world) observe(m *flowfuzz.Model) []string {
	var problems []string
	problems = append(problems, w.comparePermissions(m)...)
	problems = append(problems, w.compareTokens(m)...)
	for _, id := range sortedAccounts(m) {
		problems = append(problems, w.relationshipInvariants(m, id)...)
		problems = append(problems, w.compareDirectory(m, id)...)
	}
	problems = append(problems, w.compareIdentities(m)...)
	intents, err := w.stack.Directory.ListAuditIntents(ctx, w.stack.Clock.Now().Add(time.Hour), 10)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, e := range intents {
		problems = append(problems, fmt.Sprintf("audit entry %d (%s on %s) is still an intent after its flow answered", e.Seq, e.Flow, e.AccountID))
	}
	return problems
}

func sortedAccounts(m *flowfuzz.Model) []string {
	var ids []string
	for id := range m.Accounts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

type expectation struct {
	item *v1.CheckBulkPermissionsRequestItem
	want bool
}

func obj(typ, id string) *v1.ObjectReference {
	return &v1.ObjectReference{ObjectType: typ, ObjectId: id}
}

// comparePermissions asks SpiceDB, in one bulk call, every permission the
// model has an answer for, and reports each different answer.
func (w *world) comparePermissions(m *flowfuzz.Model) []string {
	var exp []expectation
	for _, id := range sortedAccounts(m) {
		a := m.Accounts[id]
		for _, p := range w.people {
			subject := &v1.SubjectReference{Object: obj("user", p)}
			perms := m.Permissions(a, p)
			for _, perm := range slices.Sorted(mapKeys(perms)) {
				exp = append(exp, expectation{&v1.CheckBulkPermissionsRequestItem{Resource: obj("account", id), Permission: perm, Subject: subject}, perms[perm]})
			}
			for _, prod := range slices.Sorted(mapKeys(a.Products)) {
				exp = append(exp, expectation{&v1.CheckBulkPermissionsRequestItem{Resource: obj("product", id+"/"+prod), Permission: "manage", Subject: subject}, a.ManagesProduct(p, prod)})
			}
		}
		// A contact holds no access, whatever it is subscribed to.
		for _, c := range a.Contacts {
			subject := &v1.SubjectReference{Object: obj("contact", c)}
			for _, perm := range []string{"access", "view", "pay_invoices", "manage_users", "switch_to"} {
				exp = append(exp, expectation{&v1.CheckBulkPermissionsRequestItem{Resource: obj("account", id), Permission: perm, Subject: subject}, false})
			}
		}
	}
	items := make([]*v1.CheckBulkPermissionsRequestItem, len(exp))
	for i, e := range exp {
		items[i] = e.item
	}
	var problems []string
	for chunk := 0; chunk < len(items); chunk += 500 {
		end := min(chunk+500, len(items))
		resp, err := w.stack.Engine.Client.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Consistency: fullyConsistent, Items: items[chunk:end]})
		if err != nil {
			w.t.Fatal(err)
		}
		for i, pair := range resp.GetPairs() {
			e := exp[chunk+i]
			if pair.GetError() != nil {
				w.t.Fatalf("checking %s: %s", describe(e.item), pair.GetError().GetMessage())
			}
			got := pair.GetItem().GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
			if got != e.want {
				problems = append(problems, fmt.Sprintf("%s: hostaccess says %v, the rules say %v", describe(e.item), got, e.want))
			}
		}
	}
	return problems
}

func describe(item *v1.CheckBulkPermissionsRequestItem) string {
	return fmt.Sprintf("%s:%s can %s %s:%s", item.GetSubject().GetObject().GetObjectType(), item.GetSubject().GetObject().GetObjectId(),
		item.GetPermission(), item.GetResource().GetObjectType(), item.GetResource().GetObjectId())
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// The relations that are a person's grants (the rest are structure).
var grantRelations = map[string]bool{
	"administrator": true, "billing": true, "support": true, "domains": true, "security": true,
	"user_management": true, "profile": true, "technical": true, "read_only": true,
	"technician": true, "viewer": true,
}

// relationshipInvariants reads account id's relationships and checks what
// must hold whatever happened: a right only with a membership, no right
// outliving the membership it came with, at least one owner, no more
// administrators or seats than the cap.
func (w *world) relationshipInvariants(m *flowfuzz.Model, id string) []string {
	rels := w.read(&v1.RelationshipFilter{ResourceType: "account", OptionalResourceId: id})
	for _, typ := range []string{"product", "product_group", "tag", "admin_seat"} {
		rels = append(rels, w.read(&v1.RelationshipFilter{ResourceType: typ, OptionalResourceIdPrefix: id + "/"})...)
	}
	owners := map[string]bool{}
	members := map[string]*time.Time{}
	for _, r := range rels {
		if r.GetResource().GetObjectType() != "account" || r.GetSubject().GetObject().GetObjectType() != "user" {
			continue
		}
		user := r.GetSubject().GetObject().GetObjectId()
		switch r.GetRelation() {
		case "owner":
			owners[user] = true
		case "member":
			end := (*time.Time)(nil)
			if r.GetOptionalExpiresAt() != nil {
				t := r.GetOptionalExpiresAt().AsTime()
				end = &t
			}
			members[user] = end
		}
	}
	var problems []string
	if len(owners) == 0 {
		problems = append(problems, id+" has no owner")
	}
	admins, seats := 0, 0
	for _, r := range rels {
		subj := r.GetSubject().GetObject()
		if r.GetResource().GetObjectType() == "admin_seat" {
			seats++
			continue
		}
		if subj.GetObjectType() != "user" || !grantRelations[r.GetRelation()] {
			continue
		}
		user := subj.GetObjectId()
		if r.GetRelation() == "administrator" {
			admins++
		}
		end, member := members[user]
		if !member {
			if !owners[user] {
				problems = append(problems, fmt.Sprintf("%s holds %s#%s without being a member or an owner of %s", user, r.GetResource().GetObjectId(), r.GetRelation(), id))
			}
			continue
		}
		// A right is held "& access" in the schema, so a permanent right
		// relationship ends with the membership; one with its own end must
		// not end later.
		if end != nil && r.GetOptionalExpiresAt() != nil && r.GetOptionalExpiresAt().AsTime().After(*end) {
			problems = append(problems, fmt.Sprintf("%s's %s#%s outlives their membership of %s, which ends at %s", user, r.GetResource().GetObjectId(), r.GetRelation(), id, end.Format(time.RFC3339)))
		}
	}
	capacity := m.Accounts[id].AdminCap
	if admins > capacity || seats > capacity {
		problems = append(problems, fmt.Sprintf("%s has %d administrators and %d seats taken for a cap of %d", id, admins, seats, capacity))
	}
	return problems
}

func (w *world) read(filter *v1.RelationshipFilter) []*v1.Relationship {
	stream, err := w.stack.Engine.Client.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{RelationshipFilter: filter, Consistency: fullyConsistent})
	if err != nil {
		w.t.Fatal(err)
	}
	var out []*v1.Relationship
	if err := streams.Each(stream, func(r *v1.ReadRelationshipsResponse) { out = append(out, r.GetRelationship()) }); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// compareDirectory checks that the members and pending invitations the
// service lists (directory and relationships together) are the model's.
func (w *world) compareDirectory(m *flowfuzz.Model, id string) []string {
	a := m.Accounts[id]
	system := hostaccess.System("auditor")
	members, err := w.svc.ListMembers(ctx, system, id)
	if err != nil {
		w.t.Fatal(err)
	}
	var problems []string
	got := map[string]string{}
	for _, mem := range members {
		if mem.Owner {
			got[mem.UserID] = "owner"
		} else {
			got[mem.UserID] = accessString(mem.Access)
		}
	}
	want := map[string]string{}
	for o := range a.Owners {
		want[o] = "owner"
	}
	for u, g := range a.Members {
		want[u] = accessString(toAccess(g))
	}
	for _, u := range slices.Sorted(mapKeys(mergeKeys(got, want))) {
		if got[u] != want[u] {
			problems = append(problems, fmt.Sprintf("%s lists %s as %q, the rules say %q", id, u, got[u], want[u]))
		}
	}
	invs, err := w.svc.ListInvitations(ctx, system, id)
	if err != nil {
		w.t.Fatal(err)
	}
	var pendingGot, pendingWant []string
	for _, inv := range invs {
		if inv.Status == string(directory.InvitationPending) {
			pendingGot = append(pendingGot, inv.ID)
		}
	}
	for _, inv := range a.Invitations {
		if inv.Pending {
			pendingWant = append(pendingWant, inv.ID)
		}
	}
	slices.Sort(pendingGot)
	slices.Sort(pendingWant)
	if !slices.Equal(pendingGot, pendingWant) {
		problems = append(problems, fmt.Sprintf("%s has pending invitations %v, the rules say %v", id, pendingGot, pendingWant))
	}
	return problems
}

func mergeKeys(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// accessString is a member's grant, notifications aside, in a stable form.
func accessString(a hostaccess.Access) string {
	rights := make([]string, 0, len(a.Rights))
	for _, r := range a.Rights {
		rights = append(rights, string(r))
	}
	slices.Sort(rights)
	s := fmt.Sprintf("admin=%v rights=%s technical=all:%v products:%v groups:%v tags:%v", a.Administrator, strings.Join(rights, ","),
		a.Technical.All, sortedCopy(a.Technical.Products), sortedCopy(a.Technical.Groups), sortedCopy(a.Technical.Tags))
	if a.ExpiresAt != nil {
		s += " until " + a.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return s
}

func sortedCopy(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

// compareIdentities: a person's e-mail is what they verified at login, or
// what the first account naming them said; never a later caller's word.
func (w *world) compareIdentities(m *flowfuzz.Model) []string {
	var problems []string
	for _, p := range w.people {
		person, err := w.stack.Directory.GetPerson(ctx, p)
		want, known := m.Emails[p]
		switch {
		case errors.Is(err, directory.ErrNotFound):
			if known {
				problems = append(problems, fmt.Sprintf("the directory does not know %s, the rules say %s", p, want))
			}
		case err != nil:
			w.t.Fatal(err)
		case person.Email != want:
			problems = append(problems, fmt.Sprintf("the directory says %s's e-mail is %q, the rules say %q", p, person.Email, want))
		}
	}
	return problems
}

// compareTokens asks, through the service's check (token:ID subjects are
// asked the token_ permissions), what every token of the run reaches, and
// reports each answer that differs from what it was given AND what its
// creator holds now: a token never reaches more than its creator.
func (w *world) compareTokens(m *flowfuzz.Model) []string {
	var checks []hostaccess.Check
	var want []bool
	for _, id := range sortedAccounts(m) {
		a := m.Accounts[id]
		for _, t := range a.Tokens {
			subject := "token:" + t.ID
			perms := m.TokenPermissions(a, t)
			for _, perm := range slices.Sorted(mapKeys(perms)) {
				checks = append(checks, hostaccess.Check{Resource: "account:" + id, Permission: perm, Subject: subject})
				want = append(want, perms[perm])
			}
			for _, prod := range slices.Sorted(mapKeys(a.Products)) {
				checks = append(checks, hostaccess.Check{Resource: "product:" + id + "/" + prod, Permission: "manage", Subject: subject})
				want = append(want, m.TokenManagesProduct(a, t, prod))
			}
		}
	}
	var problems []string
	for chunk := 0; chunk < len(checks); chunk += hostaccess.MaxBulkChecks {
		end := min(chunk+hostaccess.MaxBulkChecks, len(checks))
		answers, err := w.svc.CanAll(ctx, checks[chunk:end], hostaccess.CheckOptions{})
		if err != nil {
			w.t.Fatal(err)
		}
		for i, a := range answers {
			if a.Error != "" {
				w.t.Fatalf("checking %+v: %s", checks[chunk+i], a.Error)
			}
			if a.Allowed != want[chunk+i] {
				c := checks[chunk+i]
				problems = append(problems, fmt.Sprintf("%s can %s %s: hostaccess says %v, the rules say %v", c.Subject, c.Permission, c.Resource, a.Allowed, want[chunk+i]))
			}
		}
	}
	return problems
}
