package api

import (
	"math"
	"net/http"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// maxAuditLimit bounds one page of the audit log.
const maxAuditLimit = 1000

func (s *server) auditLog(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	before, err := queryInt(r, "before", 0, math.MaxInt64)
	if err != nil {
		return 0, nil, err
	}
	limit, err := queryInt(r, "limit", 1, maxAuditLimit)
	if err != nil {
		return 0, nil, err
	}
	entries, err := s.svc.AuditLog(r.Context(), actor, r.PathValue("account"), before, int(limit))
	if err != nil {
		return 0, nil, err
	}
	out := wire.AuditEntries{Entries: orEmpty(entries)}
	return http.StatusOK, out, nil
}

func (s *server) whoCan(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	q := r.URL.Query()
	if err := required("query parameter resource", q.Get("resource")); err != nil {
		return 0, nil, err
	}
	if err := required("query parameter permission", q.Get("permission")); err != nil {
		return 0, nil, err
	}
	limit, paged, err := pageOf(r)
	if err != nil {
		return 0, nil, err
	}
	if !paged {
		holders, err := s.svc.WhoCan(r.Context(), actor, q.Get("resource"), q.Get("permission"))
		return reply(http.StatusOK, wire.HolderList{Holders: orEmpty(holders)}, err)
	}
	page, err := s.svc.WhoCanPage(r.Context(), actor, q.Get("resource"), q.Get("permission"), q.Get("cursor"), limit)
	return reply(http.StatusOK, wire.HolderList{Holders: orEmpty(page.Holders), Next: page.Next, At: page.At}, err)
}

// defaultPageSize is a page of a listing given a cursor but no limit.
const defaultPageSize = 100

// pageOf reads a paged listing's limit: paged is false when the request
// names neither limit nor cursor (the whole listing).
func pageOf(r *http.Request) (limit int, paged bool, err error) {
	q := r.URL.Query()
	if !q.Has("limit") && !q.Has("cursor") {
		return 0, false, nil
	}
	n := int64(defaultPageSize)
	if q.Has("limit") {
		if n, err = queryInt(r, "limit", 1, hostaccess.MaxPageSize); err != nil {
			return 0, false, err
		}
	}
	return int(n), true, nil
}

func (s *server) reachOf(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	limit, paged, err := pageOf(r)
	if err != nil {
		return 0, nil, err
	}
	if paged {
		report, err := s.svc.ReachPage(r.Context(), actor, r.PathValue("user"), r.URL.Query().Get("cursor"), limit)
		return reply(http.StatusOK, report, err)
	}
	report, err := s.svc.ReachOf(r.Context(), actor, r.PathValue("user"))
	return reply(http.StatusOK, report, err)
}
