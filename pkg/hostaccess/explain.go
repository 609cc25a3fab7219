package hostaccess

import (
	"context"
	"fmt"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/development"
	corev1 "github.com/authzed/spicedb/pkg/proto/core/v1"
	devinterface "github.com/authzed/spicedb/pkg/proto/developer/v1"
	"github.com/authzed/spicedb/pkg/tuple"

	"github.com/hostaccess/hostaccess/internal/tuples"
)

// explainer runs fully traced, uncached checks over one account's
// relationships with SpiceDB's development engine, for audit explanations.
type explainer struct {
	dev *development.DevContext
}

// explainer loads what a check on res can traverse (its relationships, then
// those of the objects they name, hosts included) into an in-memory SpiceDB
// development context.
func (s *Service) explainer(ctx context.Context, st *accountState, res *v1.ObjectReference) (*explainer, error) {
	rels := st.reachable(res)
	seen := map[string]bool{}
	for _, r := range rels {
		host := r.GetSubject().GetObject()
		if host.GetObjectType() != typeHost || seen[host.GetObjectId()] {
			continue
		}
		seen[host.GetObjectId()] = true
		hostRels, _, err := s.readAll(ctx, &v1.RelationshipFilter{ResourceType: typeHost, OptionalResourceId: host.GetObjectId()}, fullyConsistent())
		if err != nil {
			return nil, err
		}
		rels = append(rels, hostRels...)
	}
	core := make([]*corev1.RelationTuple, 0, len(rels))
	for _, r := range rels {
		core = append(core, tuple.FromV1Relationship(r).ToCoreTuple())
	}
	dev, devErrs, err := development.NewDevContext(ctx, &devinterface.RequestContext{Schema: s.schema, Relationships: core})
	if err != nil {
		return nil, fmt.Errorf("explaining: %w", err)
	}
	if devErrs != nil && len(devErrs.GetInputErrors()) > 0 {
		return nil, fmt.Errorf("explaining: %s", devErrs.GetInputErrors()[0].GetMessage())
	}
	return &explainer{dev: dev}, nil
}

func (e *explainer) check(res *v1.ObjectReference, permission, userID string) (*v1.CheckDebugTrace, error) {
	result, err := development.RunCheck(e.dev,
		tuple.ONR(res.GetObjectType(), res.GetObjectId(), permission),
		tuple.ONR(typeUser, userID, tuple.Ellipsis), nil)
	if err != nil {
		return nil, fmt.Errorf("explaining %s: %w", userID, err)
	}
	return result.V1DebugInfo.GetCheck(), nil
}

func (e *explainer) close() { e.dev.Dispose() }

// reachable returns the account's relationships that a check on res can
// traverse: those of res, then of every object they name, transitively.
// SpiceDB walks from a resource to its subjects, never sideways, so the
// explanation of one product leaves out the account's other products,
// seats and invitations, whose loading grew with the account.
func (st *accountState) reachable(res *v1.ObjectReference) []*v1.Relationship {
	byResource := map[string][]*v1.Relationship{}
	for _, r := range st.rels {
		k := tuples.ObjectString(r.GetResource())
		byResource[k] = append(byResource[k], r)
	}
	var out []*v1.Relationship
	seen := map[string]bool{tuples.ObjectString(res): true}
	queue := []string{tuples.ObjectString(res)}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		for _, r := range byResource[k] {
			out = append(out, r)
			sub := tuples.ObjectString(r.GetSubject().GetObject())
			if !seen[sub] {
				seen[sub] = true
				queue = append(queue, sub)
			}
		}
	}
	return out
}
