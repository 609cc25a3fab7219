package api

import (
	"net/http"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

type checkRequest struct {
	hostaccess.Check
	AtLeastAsFresh string `json:"at_least_as_fresh,omitempty"`
}

func (s *server) check(r *http.Request, _ hostaccess.Actor) (int, any, error) {
	var req checkRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	answer, err := s.svc.Can(r.Context(), req.Check, hostaccess.CheckOptions{AtLeastAsFresh: req.AtLeastAsFresh})
	return reply(http.StatusOK, answer, err)
}

type checkBulkRequest struct {
	Checks         []hostaccess.Check `json:"checks"`
	AtLeastAsFresh string             `json:"at_least_as_fresh,omitempty"`
}

type answerList struct {
	Answers []hostaccess.Answer `json:"answers"`
}

func (s *server) checkBulk(r *http.Request, _ hostaccess.Actor) (int, any, error) {
	var req checkBulkRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	answers, err := s.svc.CanAll(r.Context(), req.Checks, hostaccess.CheckOptions{AtLeastAsFresh: req.AtLeastAsFresh})
	return reply(http.StatusOK, answerList{Answers: orEmpty(answers)}, err)
}

// switchAccounts lists a person's accounts (the service lets only that
// person, or a trusted service, see them).
func (s *server) switchAccounts(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	list, err := s.svc.SwitchAccounts(r.Context(), actor, r.PathValue("user"))
	return reply(http.StatusOK, list, err)
}
