package api

import (
	"net/http"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func (s *server) listMembers(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	members, err := s.svc.ListMembers(r.Context(), actor, r.PathValue("account"))
	return reply(http.StatusOK, wire.MemberList{Members: orEmpty(members)}, err)
}

func (s *server) setAccess(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req hostaccess.Access
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	res, err := s.svc.SetAccess(r.Context(), actor, r.PathValue("account"), r.PathValue("user"), req)
	return reply(http.StatusOK, res, err)
}

func (s *server) removeMember(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	res, err := s.svc.RemoveMember(r.Context(), actor, r.PathValue("account"), r.PathValue("user"))
	return reply(http.StatusOK, res, err)
}
