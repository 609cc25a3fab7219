package hostaccess

import (
	"context"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/hostaccess/hostaccess/schema"
)

// AddProduct adds a product to an account, optionally in groups and with
// tags. Its object id is ACCOUNT/NAME (product:acme/site). Holders of
// all-products technical access (and service identities) add products;
// grouping and tagging widen scoped grants, so they also need user management.
func (s *Service) AddProduct(ctx context.Context, actor Actor, accountID, name string, groups, tags []string) (_ Result, err error) {
	defer countFlow("add_product", &err)
	if err := validName("product", name); err != nil {
		return Result{}, err
	}
	_, st, err := s.loadAccountAs(ctx, actor, accountID, schema.PermManageAllProducts, "add products to "+accountID)
	if err != nil {
		return Result{}, err
	}
	var needs []need
	for _, g := range groups {
		needs = append(needs, organizeNeeds(st, objectID(accountID, name), typeGroup, g, "group")...)
	}
	for _, t := range tags {
		needs = append(needs, organizeNeeds(st, objectID(accountID, name), typeTag, t, "tag")...)
	}
	if err := s.authorize(ctx, actor, dropProductNeed(needs)); err != nil {
		return Result{}, err
	}
	id := objectID(accountID, name)
	updates := []*v1.RelationshipUpdate{create(relationship(typeProduct, id, schema.RelAccount, typeAccount, accountID))}
	// Grants left on a product of that name removed earlier do not come
	// back with the new one (a grant racing the removal may have left one).
	for _, r := range st.find(typeProduct, id, "", "", "") {
		if r.GetRelation() != schema.RelAccount {
			updates = append(updates, remove(r))
		}
	}
	for _, g := range groups {
		u, err := membershipUpdates(accountID, id, typeGroup, schema.RelGroup, g)
		if err != nil {
			return Result{}, err
		}
		updates = append(updates, u...)
	}
	for _, t := range tags {
		u, err := membershipUpdates(accountID, id, typeTag, schema.RelTagged, t)
		if err != nil {
			return Result{}, err
		}
		updates = append(updates, u...)
	}
	if st.has(typeProduct, id, schema.RelAccount, "", "") {
		return Result{}, errorf(ErrConflict, "product %s already exists", id)
	}
	token, err := s.commit(ctx, change{actor: actor, flow: "add_product", accountID: accountID, target: "product:" + id, before: nil, after: map[string]any{"groups": groups, "tags": tags}, updates: updates, pre: nil,
		state: st, decidedBy: personal(actor)})
	if err != nil {
		return Result{}, err
	}
	return result(token), nil
}

// membershipUpdates put product id in a group or under a tag, creating the
// group or tag object if needed.
func membershipUpdates(accountID, productID, typ, relation, name string) ([]*v1.RelationshipUpdate, error) {
	if err := validName(typ, name); err != nil {
		return nil, err
	}
	objID := objectID(accountID, name)
	return []*v1.RelationshipUpdate{
		touch(relationship(typ, objID, schema.RelAccount, typeAccount, accountID)),
		touch(relationship(typeProduct, productID, relation, typ, objID)),
	}, nil
}

// RemoveProduct removes a product and every grant on it, in one write.
func (s *Service) RemoveProduct(ctx context.Context, actor Actor, accountID, name string) (_ Result, err error) {
	defer countFlow("remove_product", &err)
	st, id, err := s.productStateAs(ctx, actor, accountID, name, schema.PermManageAllProducts, "remove products of "+accountID)
	if err != nil {
		return Result{}, err
	}
	var updates []*v1.RelationshipUpdate
	for _, r := range st.find(typeProduct, id, "", "", "") {
		updates = append(updates, remove(r))
	}
	token, err := s.commit(ctx, change{actor: actor, flow: "remove_product", accountID: accountID, target: "product:" + id, before: nil, after: nil, updates: updates, pre: nil})
	if err != nil {
		return Result{}, err
	}
	return result(token), nil
}

// SetProductGroup puts a product in a group (in=true) or takes it out.
func (s *Service) SetProductGroup(ctx context.Context, actor Actor, accountID, name, group string, in bool) (Result, error) {
	return s.setMembership(ctx, actor, accountID, name, typeGroup, schema.RelGroup, group, in, "group_product")
}

// SetProductTag tags a product (in=true) or removes the tag: untagging
// removes the reach of that tag's grants at once.
func (s *Service) SetProductTag(ctx context.Context, actor Actor, accountID, name, tag string, in bool) (Result, error) {
	return s.setMembership(ctx, actor, accountID, name, typeTag, schema.RelTagged, tag, in, "tag_product")
}

func (s *Service) setMembership(ctx context.Context, actor Actor, accountID, name, typ, relation, label string, in bool, flow string) (_ Result, err error) {
	defer countFlow(flow, &err)
	kind := "tag"
	if typ == typeGroup {
		kind = "group"
	}
	if err := validName(kind, label); err != nil {
		return Result{}, err
	}
	st, id, err := s.productStateAs(ctx, actor, accountID, name, schema.PermOrganizeProducts, "group or tag products of "+accountID)
	if err != nil {
		return Result{}, err
	}
	if err := s.authorize(ctx, actor, organizeNeeds(st, id, typ, label, kind)); err != nil {
		return Result{}, err
	}
	updates, err := membershipUpdates(accountID, id, typ, relation, label)
	if err != nil {
		return Result{}, err
	}
	if !in {
		updates = []*v1.RelationshipUpdate{remove(updates[1].GetRelationship())}
	}
	token, err := s.commit(ctx, change{actor: actor, flow: flow, accountID: accountID, target: "product:" + id, before: nil, after: map[string]any{typ: label, "in": in}, updates: updates, pre: nil,
		state: st, decidedBy: personal(actor)})
	if err != nil {
		return Result{}, err
	}
	return result(token), nil
}

// organizeNeeds is what putting product id in (or taking it out of) a
// group or tag takes: user management, and managing the product and the
// group or tag, so that a scoped manager cannot bring a product into their
// own scope. A group or tag that does not exist yet reaches the products
// still to come: creating it takes technical access to all products.
func organizeNeeds(st *accountState, productID, typ, name, kind string) []need {
	needs := []need{
		{resource: accountRef(st.id), permission: schema.PermOrganizeProducts, what: "group or tag products of " + st.id},
		{resource: ref(typeProduct, productID), permission: schema.PermManage, escalation: true, what: "technical access to product " + strings.TrimPrefix(productID, st.id+"/")},
	}
	objID := objectID(st.id, name)
	if st.has(typ, objID, schema.RelAccount, typeAccount, st.id) {
		return append(needs, need{resource: ref(typ, objID), permission: schema.PermManage, escalation: true, what: "technical access to " + kind + " " + name})
	}
	return append(needs, need{resource: accountRef(st.id), permission: schema.PermManageAllProducts, escalation: true, what: "technical access to all products (to create " + kind + " " + name + ")"})
}

// dropProductNeed removes the needs on the product itself, for a product
// being created: its creator manages every product already.
func dropProductNeed(needs []need) []need {
	var out []need
	for _, n := range needs {
		if n.resource.GetObjectType() != typeProduct {
			out = append(out, n)
		}
	}
	return out
}

func (s *Service) productStateAs(ctx context.Context, actor Actor, accountID, name, permission, what string) (*accountState, string, error) {
	if err := validName("product", name); err != nil {
		return nil, "", err
	}
	_, st, err := s.loadAccountAs(ctx, actor, accountID, permission, what)
	if err != nil {
		return nil, "", err
	}
	id := objectID(accountID, name)
	if !st.has(typeProduct, id, schema.RelAccount, typeAccount, accountID) {
		return nil, "", notFoundf("product %s", id)
	}
	return st, id, nil
}

// Product is a product with its groups and tags.
type Product struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Groups []string `json:"groups,omitempty"`
	Tags   []string `json:"tags,omitempty"`
}

// ListProducts lists an account's products. Anyone with access to the
// account may list them.
func (s *Service) ListProducts(ctx context.Context, actor Actor, accountID string) ([]Product, error) {
	_, st, err := s.loadAccountAs(ctx, actor, accountID, schema.PermView, "see account "+accountID)
	if err != nil {
		return nil, err
	}
	var out []Product
	for _, r := range st.find(typeProduct, "", schema.RelAccount, typeAccount, accountID) {
		id := r.GetResource().GetObjectId()
		name, _ := nameIn(accountID, id)
		p := Product{ID: id, Name: name}
		for _, g := range st.find(typeProduct, id, schema.RelGroup, typeGroup, "") {
			n, _ := nameIn(accountID, g.GetSubject().GetObject().GetObjectId())
			p.Groups = append(p.Groups, n)
		}
		for _, t := range st.find(typeProduct, id, schema.RelTagged, typeTag, "") {
			n, _ := nameIn(accountID, t.GetSubject().GetObject().GetObjectId())
			p.Tags = append(p.Tags, n)
		}
		out = append(out, p)
	}
	return out, nil
}
