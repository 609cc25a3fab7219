package api

import (
	"net/http"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

type createAccountRequest struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	OwnerID    string `json:"owner_id"`
	OwnerEmail string `json:"owner_email"`
	OwnerName  string `json:"owner_name"`
	HostID     string `json:"host_id"`
	Delegated  *bool  `json:"delegated"`
}

func (s *server) createAccount(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req createAccountRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	res, err := s.svc.CreateAccount(r.Context(), actor, hostaccess.NewAccount{
		ID: req.ID, Name: req.Name, OwnerID: req.OwnerID, OwnerEmail: req.OwnerEmail,
		OwnerName: req.OwnerName, HostID: req.HostID, Delegated: req.Delegated,
	})
	return reply(http.StatusCreated, res, err)
}

func (s *server) closeAccount(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	res, err := s.svc.CloseAccount(r.Context(), actor, r.PathValue("account"))
	return reply(http.StatusOK, res, err)
}

type adminCapRequest struct {
	Cap *int `json:"cap"`
}

func (s *server) setAdminCap(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req adminCapRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if req.Cap == nil {
		return 0, nil, invalidArgument("cap is required")
	}
	err := s.svc.SetAdminCap(r.Context(), actor, r.PathValue("account"), *req.Cap)
	return reply(http.StatusNoContent, nil, err)
}

type delegationRequest struct {
	// Enabled is a pointer so a forgotten field is refused, not read as "off".
	Enabled *bool `json:"enabled"`
}

func (s *server) setDelegation(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req delegationRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if req.Enabled == nil {
		return 0, nil, invalidArgument("enabled is required")
	}
	res, err := s.svc.SetDelegation(r.Context(), actor, r.PathValue("account"), *req.Enabled)
	return reply(http.StatusOK, res, err)
}

type addOwnerRequest struct {
	UserID string `json:"user_id"`
}

func (s *server) addOwner(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req addOwnerRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if err := required("user_id", req.UserID); err != nil {
		return 0, nil, err
	}
	res, err := s.svc.AddOwner(r.Context(), actor, r.PathValue("account"), req.UserID)
	return reply(http.StatusOK, res, err)
}

type transferRequest struct {
	To   string             `json:"to"`
	Keep *hostaccess.Access `json:"keep,omitempty"`
}

func (s *server) transferOwnership(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req transferRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if err := required("to", req.To); err != nil {
		return 0, nil, err
	}
	res, err := s.svc.TransferOwnership(r.Context(), actor, r.PathValue("account"), req.To, req.Keep)
	return reply(http.StatusOK, res, err)
}

type productList struct {
	Products []hostaccess.Product `json:"products"`
}

func (s *server) listProducts(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	products, err := s.svc.ListProducts(r.Context(), actor, r.PathValue("account"))
	return reply(http.StatusOK, productList{Products: orEmpty(products)}, err)
}

type addProductRequest struct {
	Name   string   `json:"name"`
	Groups []string `json:"groups,omitempty"`
	Tags   []string `json:"tags,omitempty"`
}

func (s *server) addProduct(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req addProductRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	res, err := s.svc.AddProduct(r.Context(), actor, r.PathValue("account"), req.Name, req.Groups, req.Tags)
	return reply(http.StatusCreated, res, err)
}

func (s *server) removeProduct(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	res, err := s.svc.RemoveProduct(r.Context(), actor, r.PathValue("account"), r.PathValue("product"))
	return reply(http.StatusOK, res, err)
}

// setProductGroup serves PUT (put in the group) and DELETE (take out).
func (s *server) setProductGroup(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	in := r.Method == http.MethodPut
	res, err := s.svc.SetProductGroup(r.Context(), actor, r.PathValue("account"), r.PathValue("product"), r.PathValue("group"), in)
	return reply(http.StatusOK, res, err)
}

// setProductTag serves PUT (tag) and DELETE (untag).
func (s *server) setProductTag(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	in := r.Method == http.MethodPut
	res, err := s.svc.SetProductTag(r.Context(), actor, r.PathValue("account"), r.PathValue("product"), r.PathValue("tag"), in)
	return reply(http.StatusOK, res, err)
}
