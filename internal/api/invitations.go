package api

import (
	"net/http"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func (s *server) listInvitations(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	invs, err := s.svc.ListInvitations(r.Context(), actor, r.PathValue("account"))
	return reply(http.StatusOK, wire.InvitationList{Invitations: orEmpty(invs)}, err)
}

func (s *server) invite(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req wire.InviteRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	link, err := s.svc.Invite(r.Context(), actor, r.PathValue("account"), req.Email, req.Access)
	return reply(http.StatusCreated, link, err)
}

// invitationID is the full id of the invitation a path names by its short
// name below the account.
func invitationID(r *http.Request) string {
	return r.PathValue("account") + "/" + r.PathValue("invitation")
}

func (s *server) revokeInvitation(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	res, err := s.svc.RevokeInvitation(r.Context(), actor, invitationID(r))
	return reply(http.StatusOK, res, err)
}

func (s *server) regenerateInvitation(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	link, err := s.svc.RegenerateInvitation(r.Context(), actor, invitationID(r))
	return reply(http.StatusCreated, link, err)
}

// acceptInvitation needs no actor: the login in the body is who accepts,
// as the provider's login system vouches for it.
func (s *server) acceptInvitation(r *http.Request, _ hostaccess.Actor) (int, any, error) {
	var req wire.AcceptRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	out, err := s.svc.AcceptInvitation(r.Context(), req.Token, hostaccess.Login{
		UserID: req.UserID, Email: req.Email, EmailVerified: req.EmailVerified, DisplayName: req.DisplayName,
	})
	return reply(http.StatusOK, out, err)
}
