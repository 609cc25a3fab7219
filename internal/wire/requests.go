package wire

import (
	"net/http"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// The access request endpoints (docs/access-requests.md). {request} is the
// request's short name: the part of its id after "ACCOUNT/".
var (
	ListAccessRequests   = Endpoint{http.MethodGet, "/v1/accounts/{account}/requests"}
	RequestAccess        = Endpoint{http.MethodPost, "/v1/accounts/{account}/requests"}
	ApproveAccessRequest = Endpoint{http.MethodPost, "/v1/accounts/{account}/requests/{request}/approve"}
	RefuseAccessRequest  = Endpoint{http.MethodPost, "/v1/accounts/{account}/requests/{request}/refuse"}
)

type (
	// DecisionRequest is the body of ApproveAccessRequest and
	// RefuseAccessRequest.
	DecisionRequest struct {
		Note string `json:"note,omitempty"`
	}
	// AccessRequestList answers ListAccessRequests.
	AccessRequestList struct {
		Requests []hostaccess.AccessRequest `json:"requests"`
	}
	// AccessRequestChange answers RequestAccess, ApproveAccessRequest and
	// RefuseAccessRequest: the request as it now stands.
	AccessRequestChange struct {
		Request hostaccess.AccessRequest `json:"request"`
		hostaccess.Result
	}
)
