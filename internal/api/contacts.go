package api

import (
	"net/http"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

type contactList struct {
	Contacts []hostaccess.Contact `json:"contacts"`
}

func (s *server) listContacts(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	contacts, err := s.svc.ListContacts(r.Context(), actor, r.PathValue("account"))
	return reply(http.StatusOK, contactList{Contacts: orEmpty(contacts)}, err)
}

type contactCreated struct {
	Contact hostaccess.Contact `json:"contact"`
	hostaccess.Result
}

func (s *server) addContact(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req hostaccess.ContactInput
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	c, res, err := s.svc.AddContact(r.Context(), actor, r.PathValue("account"), req)
	return reply(http.StatusCreated, contactCreated{Contact: c, Result: res}, err)
}

func (s *server) updateContact(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req hostaccess.ContactInput
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	res, err := s.svc.UpdateContact(r.Context(), actor, r.PathValue("account"), r.PathValue("contact"), req)
	return reply(http.StatusOK, res, err)
}

func (s *server) removeContact(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	res, err := s.svc.RemoveContact(r.Context(), actor, r.PathValue("account"), r.PathValue("contact"))
	return reply(http.StatusOK, res, err)
}

type recipientList struct {
	Recipients []hostaccess.Recipient `json:"recipients"`
}

func (s *server) recipients(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	q := r.URL.Query()
	if err := required("query parameter category", q.Get("category")); err != nil {
		return 0, nil, err
	}
	out, err := s.svc.Recipients(r.Context(), actor, r.PathValue("account"), q.Get("product"), hostaccess.Category(q.Get("category")))
	return reply(http.StatusOK, recipientList{Recipients: orEmpty(out)}, err)
}
