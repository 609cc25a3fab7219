package api

import (
	"net/http"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// Personal access tokens (docs/tokens.md). The secret is in the body of
// two routes only: the answer of createToken (once) and the request of
// checkToken; neither is ever logged (observe.go logs no body).

func (s *server) listTokens(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	tokens, err := s.svc.ListTokens(r.Context(), actor, r.PathValue("account"))
	return reply(http.StatusOK, wire.TokenList{Tokens: orEmpty(tokens)}, err)
}

func (s *server) createToken(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req hostaccess.TokenInput
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	out, err := s.svc.CreateToken(r.Context(), actor, r.PathValue("account"), req)
	return reply(http.StatusCreated, out, err)
}

// tokenID is the full id of the token a path names by its short name
// below the account.
func tokenID(r *http.Request) string {
	return r.PathValue("account") + "/" + r.PathValue("token")
}

func (s *server) revokeToken(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	res, err := s.svc.RevokeToken(r.Context(), actor, r.PathValue("account"), tokenID(r))
	return reply(http.StatusOK, res, err)
}

// checkToken needs no actor: the secret names the token, whose reach is
// what it was given and what its creator still holds.
func (s *server) checkToken(r *http.Request, _ hostaccess.Actor) (int, any, error) {
	var req wire.TokenCheckRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	out, err := s.svc.CheckToken(r.Context(), req.TokenCheck, hostaccess.CheckOptions{AtLeastAsFresh: req.AtLeastAsFresh})
	return reply(http.StatusOK, out, err)
}
