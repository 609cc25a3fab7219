package hostaccess

import (
	"slices"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
)

// reachable must keep everything a check on one product walks through (its
// account, groups, tags and their grants, the account's hosts) and leave out
// the account's other products, seats and invitations.
func TestReachableKeepsWhatAProductCheckWalks(t *testing.T) {
	st := &accountState{id: "acme", rels: []*v1.Relationship{
		relationship(typeAccount, "acme", "owner", typeUser, "alice"),
		relationship(typeAccount, "acme", "delegated_to", typeHost, "main"),
		relationship(typeAccount, "acme", "member", typeUser, "dev"),
		relationship(typeProduct, "acme/shop", "account", typeAccount, "acme"),
		relationship(typeProduct, "acme/shop", "group", typeGroup, "acme/web"),
		relationship(typeProduct, "acme/shop", "tagged", typeTag, "acme/client-x"),
		relationship(typeGroup, "acme/web", "account", typeAccount, "acme"),
		relationship(typeGroup, "acme/web", "technician", typeUser, "dev"),
		relationship(typeTag, "acme/client-x", "technician", typeUser, "agency"),
		relationship(typeProduct, "acme/blog", "account", typeAccount, "acme"),
		relationship(typeProduct, "acme/blog", "technician", typeUser, "dev"),
		relationship(typeGroup, "acme/other", "technician", typeUser, "dev"),
		relationship(typeSeat, "acme/1", "holder", typeUser, "dev"),
		relationship(typeInvitation, "acme/i1", "account", typeAccount, "acme"),
	}}
	got := map[string]bool{}
	for _, r := range st.reachable(ref(typeProduct, "acme/shop")) {
		got[key(r)] = true
	}
	for i, r := range st.rels {
		want := i < 9 // the first nine are on the product's paths
		if got[key(r)] != want {
			t.Errorf("%s: reachable %v, want %v", key(r), got[key(r)], want)
		}
	}

	// From the account itself, only the account's own relationships.
	var fromAccount []string
	for _, r := range st.reachable(ref(typeAccount, "acme")) {
		fromAccount = append(fromAccount, key(r))
	}
	if len(fromAccount) != 3 || !slices.Contains(fromAccount, key(st.rels[1])) {
		t.Errorf("from the account: %v, want its three relationships", fromAccount)
	}
}
