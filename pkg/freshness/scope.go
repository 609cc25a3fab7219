package freshness

import (
	"slices"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
)

// Global is the scope of changes whose reach is not one account: host staff
// (every delegated account of the host), and deletions by a filter that
// names no account. A change in it makes every later answer at least that
// fresh.
const Global = ""

// ScopeOf is the scope of a change to, or a question about, an object: the
// account it belongs to, Global, or ok=false for objects no permission
// reads (contacts, the flows' operation markers and membership versions)
// and for users, whose one relation, tokens, belongs to the token's account
// (see ScopeOfRelationship).
//
// It follows the schema's id convention: products, groups, tags, seats and
// invitations are ACCOUNT/NAME, so their account is the part before the
// first slash. Relationships written by hand that link objects of two
// accounts (a product of acme tagged with a tag of globex) are kept fresh
// for the account of the object changed, not for the other one.
func ScopeOf(objectType, objectID string) (scope string, ok bool) {
	switch objectType {
	case "user", "contact", "operation", "membership":
		return "", false
	case "account":
		return objectID, true
	case "product", "product_group", "tag", "admin_seat", "invitation", "token": // see accountPrefixed
		if account, _, found := strings.Cut(objectID, "/"); found && account != "" {
			return account, true
		}
		return Global, true
	default: // host, and any type a later schema adds
		return Global, true
	}
}

// accountPrefixed reports whether a type's ids are ACCOUNT/NAME.
func accountPrefixed(objectType string) bool {
	switch objectType {
	case "product", "product_group", "tag", "admin_seat", "invitation", "token":
		return true
	}
	return false
}

// ScopeOfRelationship is the scope a change to rel changes: its resource's,
// except for a user's tokens, which are read by the token's account's
// permissions (a revoked token's link going away changes that account's
// answers).
func ScopeOfRelationship(rel *v1.Relationship) (scope string, ok bool) {
	res, sub := rel.GetResource(), rel.GetSubject().GetObject()
	if res.GetObjectType() == "user" {
		if sub.GetObjectType() == "token" {
			return ScopeOf("token", sub.GetObjectId())
		}
		if rel.GetRelation() != "" && rel.GetRelation() != "tokens" {
			return "", false
		}
		return Global, true // a relation a later schema adds to users
	}
	return ScopeOf(res.GetObjectType(), res.GetObjectId())
}

// ScopesOfUpdates lists the scopes a relationship write changes, each once.
func ScopesOfUpdates(updates []*v1.RelationshipUpdate) []string {
	var scopes []string
	for _, u := range updates {
		if scope, ok := ScopeOfRelationship(u.GetRelationship()); ok && !slices.Contains(scopes, scope) {
			scopes = append(scopes, scope)
		}
	}
	return scopes
}

// ScopesOfFilter lists the scopes a deletion by filter may change.
func ScopesOfFilter(f *v1.RelationshipFilter) []string {
	typ := f.GetResourceType()
	if typ == "user" {
		sub := f.GetOptionalSubjectFilter()
		switch {
		case f.GetOptionalRelation() != "" && f.GetOptionalRelation() != "tokens":
			return nil
		case sub.GetSubjectType() == "token" && sub.GetOptionalSubjectId() != "":
			if scope, ok := ScopeOf("token", sub.GetOptionalSubjectId()); ok {
				return []string{scope}
			}
		}
		return []string{Global} // whose tokens is not known
	}
	if id := f.GetOptionalResourceId(); id != "" && typ != "" {
		if scope, ok := ScopeOf(typ, id); ok {
			return []string{scope}
		}
		return nil
	}
	if prefix := f.GetOptionalResourceIdPrefix(); typ != "" && prefix != "" {
		if _, ok := ScopeOf(typ, prefix); !ok {
			return nil
		}
		// "acme/" or "acme/site" of an ACCOUNT/NAME type stays within
		// acme; "acm" may reach several accounts.
		if account, _, found := strings.Cut(prefix, "/"); found && account != "" && accountPrefixed(typ) {
			return []string{account}
		}
		return []string{Global}
	}
	if typ != "" {
		if _, ok := ScopeOf(typ, "x"); !ok {
			return nil
		}
	}
	return []string{Global}
}

// ScopesOfResources lists the scopes of the resources questions are about.
func ScopesOfResources(resources []*v1.ObjectReference) []string {
	var scopes []string
	for _, r := range resources {
		if scope, ok := ScopeOf(r.GetObjectType(), r.GetObjectId()); ok && !slices.Contains(scopes, scope) {
			scopes = append(scopes, scope)
		}
	}
	return scopes
}
