package hostaccess

import (
	"context"
	"errors"
	"slices"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/hostaccess/hostaccess/internal/tuples"
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
