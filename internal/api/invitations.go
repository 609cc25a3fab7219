package api

import (
	"net/http"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

type invitationList struct {
	Invitations []hostaccess.Invitation `json:"invitations"`
}

func (s *server) listInvitations(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	invs, err := s.svc.ListInvitations(r.Context(), actor, r.PathValue("account"))
	return reply(http.StatusOK, invitationList{Invitations: orEmpty(invs)}, err)
}

type inviteRequest struct {
	Email  string            `json:"email"`
	Access hostaccess.Access `json:"access"`
}

func (s *server) invite(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req inviteRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	link, err := s.svc.Invite(r.Context(), actor, r.PathValue("account"), req.Email, req.Access)
	return reply(http.StatusCreated, link, err)
}

// invitationRef names an invitation by its full id (ACCOUNT/ID).
type invitationRef struct {
	ID string `json:"id"`
}

func (s *server) revokeInvitation(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req invitationRef
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if err := required("id", req.ID); err != nil {
		return 0, nil, err
	}
	res, err := s.svc.RevokeInvitation(r.Context(), actor, req.ID)
	return reply(http.StatusOK, res, err)
}

func (s *server) regenerateInvitation(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req invitationRef
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if err := required("id", req.ID); err != nil {
		return 0, nil, err
	}
	link, err := s.svc.RegenerateInvitation(r.Context(), actor, req.ID)
	return reply(http.StatusCreated, link, err)
}

type acceptRequest struct {
	Token         string `json:"token"`
	UserID        string `json:"user_id"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	DisplayName   string `json:"display_name"`
}

// acceptInvitation needs no actor: the login in the body is who accepts,
// as the provider's login system vouches for it.
func (s *server) acceptInvitation(r *http.Request, _ hostaccess.Actor) (int, any, error) {
	var req acceptRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	out, err := s.svc.AcceptInvitation(r.Context(), req.Token, hostaccess.Login{
		UserID: req.UserID, Email: req.Email, EmailVerified: req.EmailVerified, DisplayName: req.DisplayName,
	})
	return reply(http.StatusOK, out, err)
}
