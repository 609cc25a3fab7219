// Package tuples parses and prints relationships and relationship filters in
// the syntax admins type: account:acme#owner@user:alice, with an optional
// [expiration:2026-12-31T00:00:00Z] (the syntax of zed and SpiceDB's tooling).
package tuples

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/tuple"
)

// Parse parses one relationship.
func Parse(s string) (*v1.Relationship, error) {
	s = strings.TrimSpace(s)
	rel, err := tuple.ParseV1Rel(s)
	if err != nil {
		return nil, fmt.Errorf("malformed relationship %q: want RESOURCE_TYPE:ID#RELATION@SUBJECT_TYPE:ID[#RELATION][[expiration:RFC3339]]", s)
	}
	return rel, nil
}

// String prints a relationship, with its caveat and expiration if any.
func String(rel *v1.Relationship) string {
	s, err := tuple.V1StringRelationship(rel)
	if err != nil {
		// Only a relationship with an unprintable caveat context gets here.
		return tuple.V1StringRelationshipWithoutCaveatOrExpiration(rel)
	}
	return s
}

// ReadLines reads one relationship per line, skipping blank lines and
// // comments. It fails on the first malformed line, naming it.
func ReadLines(r io.Reader) ([]*v1.Relationship, error) {
	var rels []*v1.Relationship
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "//") || strings.HasPrefix(text, "#") {
			continue
		}
		rel, err := Parse(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		rels = append(rels, rel)
	}
	return rels, sc.Err()
}

var filterPattern = regexp.MustCompile(`^([a-z][a-z0-9_]*)(?::([^#@\s]+))?(?:#([a-z][a-z0-9_]*))?(?:@([a-z][a-z0-9_]*)(?::([^#@\s]+))?(?:#([a-z][a-z0-9_.]*))?)?$`)

// ParseFilter parses a relationship filter: TYPE[:ID][#RELATION][@SUBJECT_TYPE[:ID][#RELATION]],
// for example "account:acme", "account:acme#owner" or "product@user:dave".
func ParseFilter(s string) (*v1.RelationshipFilter, error) {
	m := filterPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return nil, fmt.Errorf("malformed filter %q: want TYPE[:ID][#RELATION][@SUBJECT_TYPE[:ID][#RELATION]]", s)
	}
	f := &v1.RelationshipFilter{ResourceType: m[1], OptionalResourceId: m[2], OptionalRelation: m[3]}
	if m[4] != "" {
		f.OptionalSubjectFilter = &v1.SubjectFilter{SubjectType: m[4], OptionalSubjectId: m[5]}
		if m[6] != "" {
			f.OptionalSubjectFilter.OptionalRelation = &v1.SubjectFilter_RelationFilter{Relation: m[6]}
		}
	}
	return f, nil
}

// ParseObject parses TYPE:ID.
func ParseObject(s string) (*v1.ObjectReference, error) {
	typ, id, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || typ == "" || id == "" || strings.ContainsAny(id, "#@ ") {
		return nil, fmt.Errorf("malformed object %q: want TYPE:ID, e.g. account:acme", s)
	}
	return &v1.ObjectReference{ObjectType: typ, ObjectId: id}, nil
}

// ParseSubject parses TYPE:ID[#RELATION].
func ParseSubject(s string) (*v1.SubjectReference, error) {
	objPart, rel, _ := strings.Cut(strings.TrimSpace(s), "#")
	obj, err := ParseObject(objPart)
	if err != nil {
		return nil, fmt.Errorf("malformed subject %q: want TYPE:ID[#RELATION], e.g. user:alice", s)
	}
	return &v1.SubjectReference{Object: obj, OptionalRelation: rel}, nil
}

// ObjectString prints TYPE:ID.
func ObjectString(o *v1.ObjectReference) string {
	return o.GetObjectType() + ":" + o.GetObjectId()
}

// SubjectString prints TYPE:ID[#RELATION].
func SubjectString(s *v1.SubjectReference) string {
	out := ObjectString(s.GetObject())
	if s.GetOptionalRelation() != "" {
		out += "#" + s.GetOptionalRelation()
	}
	return out
}

// ExactFilter matches rel and nothing else: its resource, relation and
// subject, the subject's relation included (none matches only a plain
// subject). Expiration and caveat are not part of a relationship's identity.
func ExactFilter(rel *v1.Relationship) *v1.RelationshipFilter {
	return &v1.RelationshipFilter{
		ResourceType:       rel.GetResource().GetObjectType(),
		OptionalResourceId: rel.GetResource().GetObjectId(),
		OptionalRelation:   rel.GetRelation(),
		OptionalSubjectFilter: &v1.SubjectFilter{
			SubjectType:       rel.GetSubject().GetObject().GetObjectType(),
			OptionalSubjectId: rel.GetSubject().GetObject().GetObjectId(),
			OptionalRelation:  &v1.SubjectFilter_RelationFilter{Relation: rel.GetSubject().GetOptionalRelation()},
		},
	}
}
