package api

import (
	"net/http"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func (s *server) listAccessRequests(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	reqs, err := s.svc.ListAccessRequests(r.Context(), actor, r.PathValue("account"), r.URL.Query().Get("status"))
	return reply(http.StatusOK, wire.AccessRequestList{Requests: orEmpty(reqs)}, err)
}

func (s *server) requestAccess(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req hostaccess.AccessRequestInput
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	out, res, err := s.svc.RequestAccess(r.Context(), actor, r.PathValue("account"), req)
	return reply(http.StatusCreated, wire.AccessRequestChange{Request: out, Result: res}, err)
}

// requestID is the full id of the access request a path names by its short
// name below the account.
func requestID(r *http.Request) string {
	return r.PathValue("account") + "/" + r.PathValue("request")
}

func (s *server) approveAccessRequest(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req wire.DecisionRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	out, res, err := s.svc.ApproveAccessRequest(r.Context(), actor, r.PathValue("account"), requestID(r), req.Note)
	return reply(http.StatusOK, wire.AccessRequestChange{Request: out, Result: res}, err)
}

func (s *server) refuseAccessRequest(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req wire.DecisionRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	out, res, err := s.svc.RefuseAccessRequest(r.Context(), actor, r.PathValue("account"), requestID(r), req.Note)
	return reply(http.StatusOK, wire.AccessRequestChange{Request: out, Result: res}, err)
}
