package api

import (
	"net/http"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func (s *server) listContacts(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	contacts, err := s.svc.ListContacts(r.Context(), actor, r.PathValue("account"))
	return reply(http.StatusOK, wire.ContactList{Contacts: orEmpty(contacts)}, err)
}

func (s *server) addContact(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req hostaccess.ContactInput
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	c, res, err := s.svc.AddContact(r.Context(), actor, r.PathValue("account"), req)
	return reply(http.StatusCreated, wire.ContactCreated{Contact: c, Result: res}, err)
}

// contactID is the full id of the contact a path names by its short name
// below the account.
func contactID(r *http.Request) string {
	return r.PathValue("account") + "/" + r.PathValue("contact")
}

func (s *server) updateContact(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req hostaccess.ContactInput
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	res, err := s.svc.UpdateContact(r.Context(), actor, r.PathValue("account"), contactID(r), req)
	return reply(http.StatusOK, res, err)
}

func (s *server) removeContact(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	res, err := s.svc.RemoveContact(r.Context(), actor, r.PathValue("account"), contactID(r))
	return reply(http.StatusOK, res, err)
}

func (s *server) recipients(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	q := r.URL.Query()
	if err := required("query parameter category", q.Get("category")); err != nil {
		return 0, nil, err
	}
	out, err := s.svc.Recipients(r.Context(), actor, r.PathValue("account"), q.Get("product"), hostaccess.Category(q.Get("category")))
	return reply(http.StatusOK, wire.RecipientList{Recipients: orEmpty(out)}, err)
}
