package apiclient

import (
	"context"
	"net/url"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// ListAccessRequests lists an account's access requests with status
// ("" for all; pending, approved, refused or expired): all of them for
// one who manages its users, the actor's own for another member.
func (c *Client) ListAccessRequests(ctx context.Context, accountID, status string) ([]hostaccess.AccessRequest, error) {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	var out wire.AccessRequestList
	return out.Requests, c.do(ctx, call{endpoint: wire.ListAccessRequests, args: []string{accountID}, query: q}, &out)
}

// RequestAccess asks, as the actor, for access they lack on an account.
func (c *Client) RequestAccess(ctx context.Context, accountID string, in hostaccess.AccessRequestInput) (wire.AccessRequestChange, error) {
	var out wire.AccessRequestChange
	return out, c.do(ctx, call{endpoint: wire.RequestAccess, args: []string{accountID}, body: in}, &out)
}

// ApproveAccessRequest grants a pending request, by its full id (acme/k3f9).
func (c *Client) ApproveAccessRequest(ctx context.Context, id, note string) (wire.AccessRequestChange, error) {
	var out wire.AccessRequestChange
	return out, c.do(ctx, call{endpoint: wire.ApproveAccessRequest, args: splitID(id), body: wire.DecisionRequest{Note: note}}, &out)
}

// RefuseAccessRequest turns a pending request down, by its full id.
func (c *Client) RefuseAccessRequest(ctx context.Context, id, note string) (wire.AccessRequestChange, error) {
	var out wire.AccessRequestChange
	return out, c.do(ctx, call{endpoint: wire.RefuseAccessRequest, args: splitID(id), body: wire.DecisionRequest{Note: note}}, &out)
}
