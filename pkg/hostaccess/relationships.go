package hostaccess

import (
	"context"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hostaccess/hostaccess/internal/streams"
	"github.com/hostaccess/hostaccess/internal/tuples"
	"github.com/hostaccess/hostaccess/schema"
)

// Object types of the schema, short names for schema.Type*.
const (
	typeUser       = schema.TypeUser
	typeContact    = schema.TypeContact
	typeHost       = schema.TypeHost
	typeAccount    = schema.TypeAccount
	typeProduct    = schema.TypeProduct
	typeGroup      = schema.TypeProductGroup
	typeTag        = schema.TypeTag
	typeSeat       = schema.TypeAdminSeat
	typeInvitation = schema.TypeInvitation
	typeMembership = schema.TypeMembership
)

func ref(typ, id string) *v1.ObjectReference {
	return &v1.ObjectReference{ObjectType: typ, ObjectId: id}
}

func subject(typ, id string) *v1.SubjectReference {
	return &v1.SubjectReference{Object: ref(typ, id)}
}

func relationship(resType, resID, relation, subType, subID string) *v1.Relationship {
	return &v1.Relationship{Resource: ref(resType, resID), Relation: relation, Subject: subject(subType, subID)}
}

func expiring(r *v1.Relationship, at *time.Time) *v1.Relationship {
	if at != nil {
		r.OptionalExpiresAt = timestamppb.New(*at)
	}
	return r
}

// key identifies a relationship without its expiration or caveat.
func key(r *v1.Relationship) string {
	s := r.GetSubject()
	k := r.GetResource().GetObjectType() + ":" + r.GetResource().GetObjectId() + "#" + r.GetRelation() + "@" +
		s.GetObject().GetObjectType() + ":" + s.GetObject().GetObjectId()
	if s.GetOptionalRelation() != "" {
		k += "#" + s.GetOptionalRelation()
	}
	return k
}

func touch(r *v1.Relationship) *v1.RelationshipUpdate {
	return &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: r}
}

func remove(r *v1.Relationship) *v1.RelationshipUpdate {
	return &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: r}
}

func create(r *v1.Relationship) *v1.RelationshipUpdate {
	return &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_CREATE, Relationship: r}
}

// exactFilter matches one relationship.
func exactFilter(r *v1.Relationship) *v1.RelationshipFilter { return tuples.ExactFilter(r) }

// mustExist: the write applies only if r is still there.
func mustExist(r *v1.Relationship) *v1.Precondition {
	return &v1.Precondition{Operation: v1.Precondition_OPERATION_MUST_MATCH, Filter: exactFilter(r)}
}

// mustBeFree: the write applies only if nothing holds resType:resID#relation.
func mustBeFree(resType, resID, relation string) *v1.Precondition {
	return &v1.Precondition{Operation: v1.Precondition_OPERATION_MUST_NOT_MATCH, Filter: &v1.RelationshipFilter{
		ResourceType: resType, OptionalResourceId: resID, OptionalRelation: relation,
	}}
}

func fullyConsistent() *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
}

func atSnapshot(token *v1.ZedToken) *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: token}}
}

// readAll reads every relationship matching filter.
func (s *Service) readAll(ctx context.Context, filter *v1.RelationshipFilter, consistency *v1.Consistency) ([]*v1.Relationship, *v1.ZedToken, error) {
	stream, err := s.client.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{RelationshipFilter: filter, Consistency: consistency})
	if err != nil {
		return nil, nil, fromSpiceDB(err)
	}
	var rels []*v1.Relationship
	var at *v1.ZedToken
	err = streams.Each(stream, func(resp *v1.ReadRelationshipsResponse) {
		at = resp.GetReadAt()
		rels = append(rels, resp.GetRelationship())
	})
	if err != nil {
		return nil, nil, fromSpiceDB(err)
	}
	return rels, at, nil
}
