package api

import (
	"net/http"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func (s *server) createAccount(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req wire.CreateAccountRequest
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

func (s *server) setAdminCap(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req wire.AdminCapRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if req.Cap == nil {
		return 0, nil, invalidArgument("cap is required")
	}
	err := s.svc.SetAdminCap(r.Context(), actor, r.PathValue("account"), *req.Cap)
	return reply(http.StatusNoContent, nil, err)
}

func (s *server) setDelegation(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req wire.DelegationRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if req.Enabled == nil {
		return 0, nil, invalidArgument("enabled is required")
	}
	res, err := s.svc.SetDelegation(r.Context(), actor, r.PathValue("account"), *req.Enabled)
	return reply(http.StatusOK, res, err)
}

func (s *server) addOwner(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req wire.AddOwnerRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if err := required("user_id", req.UserID); err != nil {
		return 0, nil, err
	}
	res, err := s.svc.AddOwner(r.Context(), actor, r.PathValue("account"), req.UserID)
	return reply(http.StatusOK, res, err)
}

func (s *server) transferOwnership(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req wire.TransferRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if err := required("to", req.To); err != nil {
		return 0, nil, err
	}
	res, err := s.svc.TransferOwnership(r.Context(), actor, r.PathValue("account"), req.To, req.Keep)
	return reply(http.StatusOK, res, err)
}

func (s *server) listProducts(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	products, err := s.svc.ListProducts(r.Context(), actor, r.PathValue("account"))
	return reply(http.StatusOK, wire.ProductList{Products: orEmpty(products)}, err)
}

func (s *server) addProduct(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	var req wire.AddProductRequest
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
