package hostaccess

import (
	"context"
	"fmt"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/development"
	corev1 "github.com/authzed/spicedb/pkg/proto/core/v1"
	devinterface "github.com/authzed/spicedb/pkg/proto/developer/v1"
	"github.com/authzed/spicedb/pkg/tuple"
)

// explainer runs fully traced, uncached checks over one account's
// relationships with SpiceDB's development engine, for audit explanations.
type explainer struct {
	dev *development.DevContext
}

// explainer loads the account's relationships, and those of the hosts it
// names, into an in-memory SpiceDB development context.
func (s *Service) explainer(ctx context.Context, st *accountState) (*explainer, error) {
	rels := append([]*v1.Relationship(nil), st.rels...)
	seen := map[string]bool{}
	for _, r := range st.find(typeAccount, st.id, "", typeHost, "") {
		host := r.GetSubject().GetObject().GetObjectId()
		if seen[host] {
			continue
		}
		seen[host] = true
		hostRels, _, err := s.readAll(ctx, &v1.RelationshipFilter{ResourceType: typeHost, OptionalResourceId: host}, fullyConsistent())
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
