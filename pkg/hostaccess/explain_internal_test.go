package hostaccess

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/hostaccess/hostaccess/internal/tuples"
	"github.com/hostaccess/hostaccess/schema"
)

// reachable must keep everything a check on one product walks through (its
// account, groups, tags and their grants, the account's hosts) and leave out
// the account's other products, seats and invitations; it reads one level
// at a time, never an object twice, and never one it was given.
func TestReachableKeepsWhatAProductCheckWalks(t *testing.T) {
	rels := []*v1.Relationship{
		relationship(typeProduct, "acme/shop", "account", typeAccount, "acme"),
		relationship(typeProduct, "acme/shop", "group", typeGroup, "acme/web"),
		relationship(typeProduct, "acme/shop", "tagged", typeTag, "acme/client-x"),
		relationship(typeGroup, "acme/web", "account", typeAccount, "acme"),
		relationship(typeGroup, "acme/web", "technician", typeUser, "dev"),
		relationship(typeTag, "acme/client-x", "technician", typeUser, "agency"),
		relationship(typeHost, "main", "admin", typeUser, "staff"),
		// Not on the product's paths:
		relationship(typeProduct, "acme/blog", "account", typeAccount, "acme"),
		relationship(typeProduct, "acme/blog", "technician", typeUser, "dev"),
		relationship(typeGroup, "acme/other", "technician", typeUser, "dev"),
		relationship(typeSeat, "acme/1", "holder", typeUser, "dev"),
		relationship(typeInvitation, "acme/i1", "account", typeAccount, "acme"),
		relationship(typeHost, "other", "admin", typeUser, "staff"),
	}
	const onPaths = 7
	account := []*v1.Relationship{
		relationship(typeAccount, "acme", "owner", typeUser, "alice"),
		relationship(typeAccount, "acme", "delegated_to", typeHost, "main"),
		relationship(typeAccount, "acme", "member", typeUser, "dev"),
	}
	known := map[string][]*v1.Relationship{"account:acme": account}

	var levels [][]string
	read := func(_ context.Context, objs []*v1.ObjectReference) ([][]*v1.Relationship, error) {
		var level []string
		out := make([][]*v1.Relationship, len(objs))
		for i, o := range objs {
			level = append(level, tuples.ObjectString(o))
			for _, r := range rels {
				if tuples.ObjectString(r.GetResource()) == tuples.ObjectString(o) {
					out[i] = append(out[i], r)
				}
			}
		}
		slices.Sort(level)
		levels = append(levels, level)
		return out, nil
	}
	got, err := reachable(t.Context(), ref(typeProduct, "acme/shop"), known, read)
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]bool{}
	for _, r := range got {
		in[key(r)] = true
	}
	for i, r := range rels {
		if want := i < onPaths; in[key(r)] != want {
			t.Errorf("%s: reachable %v, want %v", key(r), in[key(r)], want)
		}
	}
	for _, r := range account {
		if !in[key(r)] {
			t.Errorf("%s: the account's own relationship is missing", key(r))
		}
	}
	if len(got) != onPaths+len(account) {
		t.Errorf("%d relationships, want %d (each once)", len(got), onPaths+len(account))
	}
	wantLevels := [][]string{
		{"product:acme/shop"},
		{"product_group:acme/web", "tag:acme/client-x"}, // the account is known
		{"host:main"},
	}
	if !slices.EqualFunc(levels, wantLevels, slices.Equal) {
		t.Errorf("read levels %v, want %v", levels, wantLevels)
	}

	// A failed read fails the walk.
	boom := errors.New("engine down")
	if _, err := reachable(t.Context(), ref(typeProduct, "acme/shop"), nil, func(context.Context, []*v1.ObjectReference) ([][]*v1.Relationship, error) {
		return nil, boom
	}); !errors.Is(err, boom) {
		t.Errorf("a failed read: %v, want %v", err, boom)
	}
}

// Explanation contexts are reused while empty and young, dropped after
// their uses, and refuse relationships the configured schema does not
// define (the engine's schema may have been changed) without losing the
// context.
func TestExplainersReuseEmptyContextsAndRefuseForeignRelationships(t *testing.T) {
	p := newExplainers(schema.Hosting)
	rels := []*v1.Relationship{
		relationship(typeAccount, "acme", "owner", typeUser, "alice"),
		relationship(typeProduct, "acme/shop", "account", typeAccount, "acme"),
	}
	explain := func(rels []*v1.Relationship) *explainer {
		t.Helper()
		e, err := p.explainer(t.Context(), rels)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	owns := func(e *explainer) bool {
		t.Helper()
		trace, err := e.check(ref(typeProduct, "acme/shop"), "manage", "alice")
		if err != nil {
			t.Fatal(err)
		}
		return len(reasons(trace)) > 0
	}

	e := explain(rels)
	first := e.slot
	if !owns(e) {
		t.Fatal("the owner manages the product: no reason found")
	}
	e.close()
	if len(p.free) != 1 {
		t.Fatalf("%d contexts kept, want 1", len(p.free))
	}
	e = explain(rels[1:]) // no owner this time
	if e.slot != first {
		t.Fatal("the kept context was not reused")
	}
	if owns(e) {
		t.Fatal("the previous call's owner is still in the reused context")
	}
	e.slot.uses = maxExplainerUses - 1
	e.close()
	if len(p.free) != 0 {
		t.Fatal("a context past its uses was kept")
	}

	foreign := relationship(typeProduct, "acme/shop", "gardener", typeUser, "bob")
	_, err := p.explainer(t.Context(), append(rels, foreign))
	if err == nil || !strings.Contains(err.Error(), "does not fit the schema") {
		t.Fatalf("a relation the schema lacks: %v, want refused", err)
	}
	if len(p.free) != 1 {
		t.Fatal("the context was lost with the refusal")
	}
}
