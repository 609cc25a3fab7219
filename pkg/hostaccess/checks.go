package hostaccess

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/hostaccess/hostaccess/schema"
)

// Check is one question: may Subject (TYPE:ID, e.g. "user:carol") do
// Permission on Resource (TYPE:ID, e.g. "account:acme")?
//
// A token subject ("token:acme/1f2e...") is asked the permission's token_
// counterpart (pay_invoices -> token_pay_invoices), which holds only where
// both the token and its creator reach. Context gives the caveats' values:
// client_ip for a token restricted to networks.
type Check struct {
	Resource   string         `json:"resource"`
	Permission string         `json:"permission"`
	Subject    string         `json:"subject"`
	Context    map[string]any `json:"context,omitempty"`
}

// Answer is the answer to a Check.
type Answer struct {
	Check
	Allowed bool `json:"allowed"`
	// Conditional is true when the answer depends on missing caveat
	// context: it is never allowed, and MissingContext names what to give.
	Conditional    bool     `json:"conditional,omitempty"`
	MissingContext []string `json:"missing_context,omitempty"`
	// Error is set when this question could not be answered (bulk only).
	Error string `json:"error,omitempty"`
}

// CheckOptions tune a check.
type CheckOptions struct {
	// AtLeastAsFresh is a ZedToken from a write; the answer reflects at
	// least that write. Changes made through hostaccess, this node's SpiceDB
	// API or seen by its watch are reflected without it (see
	// pkg/freshness); pass it when the write went through another node.
	AtLeastAsFresh string
	// snapshot, when set, answers at exactly that revision: the pages of
	// one listing (reach) read what the first page read.
	snapshot *v1.ZedToken
}

func parseObject(kind, s string) (*v1.ObjectReference, error) {
	typ, id, ok := strings.Cut(s, ":")
	if !ok || typ == "" || id == "" {
		return nil, invalidf("%s %q: want TYPE:ID, e.g. account:acme", kind, s)
	}
	return ref(typ, id), nil
}

// Can answers one question. It asks SpiceDB's CheckPermission directly:
// a one-item bulk check costs more (measured with hostaccess bench).
func (s *Service) Can(ctx context.Context, c Check, opts CheckOptions) (Answer, error) {
	res, err := parseObject("resource", c.Resource)
	if err != nil {
		return Answer{}, err
	}
	sub, err := parseObject("subject", c.Subject)
	if err != nil {
		return Answer{}, err
	}
	if c.Permission == "" {
		return Answer{}, invalidf("the question has no permission")
	}
	caveatCtx, err := checkContext(c.Context)
	if err != nil {
		return Answer{}, err
	}
	permission := askedPermission(res, sub, c.Permission)
	var resp *v1.CheckPermissionResponse
	err = s.ask(ctx, []*v1.ObjectReference{res}, opts, func(ctx context.Context, cons *v1.Consistency) (*v1.ZedToken, error) {
		r, err := s.client.CheckPermission(ctx, &v1.CheckPermissionRequest{
			Resource: res, Permission: permission, Subject: &v1.SubjectReference{Object: sub}, Consistency: cons, Context: caveatCtx,
		})
		if err != nil {
			return nil, fromSpiceDB(err)
		}
		resp = r
		return r.GetCheckedAt(), nil
	})
	if err != nil {
		return Answer{}, err
	}
	a := Answer{Check: c}
	a.answer(resp.GetPermissionship(), resp.GetPartialCaveatInfo())
	return a, nil
}

// MaxBulkChecks bounds one CanAll call (SpiceDB's own bulk limit is 1,000).
const MaxBulkChecks = 1000

// CanAll answers a page of questions in one round trip.
func (s *Service) CanAll(ctx context.Context, checks []Check, opts CheckOptions) ([]Answer, error) {
	if len(checks) == 0 {
		return nil, nil
	}
	if len(checks) > MaxBulkChecks {
		return nil, invalidf("%d questions: at most %d per call", len(checks), MaxBulkChecks)
	}
	items := make([]*v1.CheckBulkPermissionsRequestItem, len(checks))
	resources := make([]*v1.ObjectReference, len(checks))
	for i, c := range checks {
		res, err := parseObject("resource", c.Resource)
		if err != nil {
			return nil, err
		}
		sub, err := parseObject("subject", c.Subject)
		if err != nil {
			return nil, err
		}
		if c.Permission == "" {
			return nil, invalidf("question %d has no permission", i+1)
		}
		caveatCtx, err := checkContext(c.Context)
		if err != nil {
			return nil, invalidf("question %d: %s", i+1, err.Error())
		}
		items[i] = &v1.CheckBulkPermissionsRequestItem{Resource: res, Permission: askedPermission(res, sub, c.Permission), Subject: &v1.SubjectReference{Object: sub}, Context: caveatCtx}
		resources[i] = res
	}
	var resp *v1.CheckBulkPermissionsResponse
	err := s.ask(ctx, resources, opts, func(ctx context.Context, cons *v1.Consistency) (*v1.ZedToken, error) {
		r, err := s.client.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Consistency: cons, Items: items})
		if err != nil {
			return nil, fromSpiceDB(err)
		}
		resp = r
		return r.GetCheckedAt(), nil
	})
	if err != nil {
		return nil, err
	}
	pairs := resp.GetPairs()
	if len(pairs) != len(checks) {
		return nil, fmt.Errorf("access engine answered %d of %d questions", len(pairs), len(checks))
	}
	out := make([]Answer, len(checks))
	for i, pair := range pairs {
		out[i] = Answer{Check: checks[i]} //nolint:gosec // len(pairs) == len(requests) is checked above
		if e := pair.GetError(); e != nil {
			if transient(codes.Code(e.GetCode())) {
				return nil, fromSpiceDB(status.ErrorProto(e)) // the whole page again, not an answer missing
			}
			out[i].Error = e.GetMessage()
			continue
		}
		out[i].answer(pair.GetItem().GetPermissionship(), pair.GetItem().GetPartialCaveatInfo())
	}
	return out, nil
}

// answer fills in what SpiceDB answered.
func (a *Answer) answer(p v1.CheckPermissionResponse_Permissionship, partial *v1.PartialCaveatInfo) {
	switch p {
	case v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION:
		a.Allowed = true
	case v1.CheckPermissionResponse_PERMISSIONSHIP_CONDITIONAL_PERMISSION:
		a.Conditional = true
		a.MissingContext = slices.Sorted(slices.Values(partial.GetMissingRequiredContext()))
	}
}

// askedPermission is the permission to ask SpiceDB: a token subject is asked
// the token_ counterpart. A permission no token can hold is asked as is,
// and no plain permission ever holds for a token.
func askedPermission(res, sub *v1.ObjectReference, permission string) string {
	if sub.GetObjectType() != schema.TypeToken {
		return permission
	}
	if p, ok := schema.TokenPermission(res.GetObjectType(), permission); ok {
		return p
	}
	return permission
}

// MaxContextBytes bounds a check's caveat context, encoded as JSON.
const MaxContextBytes = 4096

// checkContext turns a check's context into SpiceDB's, refusing what no
// caveat could use.
func checkContext(c map[string]any) (*structpb.Struct, error) {
	if len(c) == 0 {
		return nil, nil
	}
	if n := len(mustJSON(c)); n > MaxContextBytes {
		return nil, invalidf("the check's context is %d bytes: at most %d", n, MaxContextBytes)
	}
	for k := range c {
		if err := checkText("context key", k, 100); err != nil {
			return nil, err
		}
	}
	if ip, ok := c["client_ip"]; ok {
		s, isString := ip.(string)
		if !isString {
			return nil, invalidf("context client_ip: want an IP address as a string, e.g. \"203.0.113.7\"")
		}
		if _, err := netip.ParseAddr(s); err != nil {
			return nil, invalidf("context client_ip %s is not an IP address", quoteShort(s))
		}
	}
	st, err := structpb.NewStruct(c)
	if err != nil {
		return nil, invalidf("the check's context: %s", err.Error())
	}
	return st, nil
}

// transient reports an engine error a retry may not get again.
func transient(c codes.Code) bool {
	switch c {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return true
	}
	return false
}
