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

// defaultExpiringDays is the window of GET .../expiring without ?days.
const defaultExpiringDays = 30

func (s *server) expiring(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	days := int64(defaultExpiringDays)
	if r.URL.Query().Has("days") {
		var err error
		if days, err = queryInt(r, "days", 1, int64(hostaccess.MaxExpiringDays)); err != nil {
			return 0, nil, err
		}
	}
	out, err := s.svc.Expiring(r.Context(), actor, r.PathValue("account"), int(days))
	return reply(http.StatusOK, out, err)
}
