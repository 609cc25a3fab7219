package hostaccess

import (
	"context"
	"slices"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/hostaccess/hostaccess/internal/streams"
)

// lookupSubjects lists who holds a permission on one resource, as fresh as
// its account's last change.
func (s *Service) lookupSubjects(ctx context.Context, resource *v1.ObjectReference, permission, subjectType string) ([]string, error) {
	cons, err := s.consistency(ctx, []*v1.ObjectReference{resource}, CheckOptions{})
	if err != nil {
		return nil, err
	}
	return s.lookupSubjectsWith(ctx, resource, permission, subjectType, cons)
}

// lookupSubjectsWith is lookupSubjects at the consistency given.
func (s *Service) lookupSubjectsWith(ctx context.Context, resource *v1.ObjectReference, permission, subjectType string, cons *v1.Consistency) ([]string, error) {
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
	ids, _, err := s.lookupResourcesWith(ctx, resourceType, permission, sub, fullyConsistent())
	return ids, err
}

// lookupResourcesWith is lookupResources at the consistency given, with
// the revision it was answered at (nil when nothing was found).
func (s *Service) lookupResourcesWith(ctx context.Context, resourceType, permission string, sub *v1.SubjectReference, cons *v1.Consistency) ([]string, *v1.ZedToken, error) {
	stream, err := s.client.LookupResources(ctx, &v1.LookupResourcesRequest{
		ResourceObjectType: resourceType, Permission: permission, Subject: sub, Consistency: cons,
	})
	if err != nil {
		return nil, nil, fromSpiceDB(err)
	}
	var ids []string
	var at *v1.ZedToken
	err = streams.Each(stream, func(resp *v1.LookupResourcesResponse) {
		at = resp.GetLookedUpAt()
		if resp.GetPermissionship() == v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION {
			ids = append(ids, resp.GetResourceObjectId())
		}
	})
	if err != nil {
		return nil, nil, fromSpiceDB(err)
	}
	slices.Sort(ids)
	return ids, at, nil
}
