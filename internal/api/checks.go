package api

import (
	"net/http"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func (s *server) check(r *http.Request, _ hostaccess.Actor) (int, any, error) {
	var req wire.CheckRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	answer, err := s.svc.Can(r.Context(), req.Check, hostaccess.CheckOptions{AtLeastAsFresh: req.AtLeastAsFresh})
	return reply(http.StatusOK, answer, err)
}

func (s *server) checkBulk(r *http.Request, _ hostaccess.Actor) (int, any, error) {
	var req wire.CheckBulkRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	answers, err := s.svc.CanAll(r.Context(), req.Checks, hostaccess.CheckOptions{AtLeastAsFresh: req.AtLeastAsFresh})
	return reply(http.StatusOK, wire.AnswerList{Answers: orEmpty(answers)}, err)
}

// switchAccounts lists a person's accounts (the service lets only that
// person, or a trusted service, see them).
func (s *server) switchAccounts(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	list, err := s.svc.SwitchAccounts(r.Context(), actor, r.PathValue("user"))
	return reply(http.StatusOK, list, err)
}

func (s *server) whyDenied(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req hostaccess.Check
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	out, err := s.svc.WhyDenied(r.Context(), actor, req)
	return reply(http.StatusOK, out, err)
}
