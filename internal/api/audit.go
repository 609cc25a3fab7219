package api

import (
	"math"
	"net/http"
	"time"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func (s *server) auditLog(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	q, err := auditQuery(r)
	if err != nil {
		return 0, nil, err
	}
	q.AccountID = r.PathValue("account")
	return s.auditEntries(r, actor, q)
}

// auditSearch is the log across accounts, for services.
func (s *server) auditSearch(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	q, err := auditQuery(r)
	if err != nil {
		return 0, nil, err
	}
	return s.auditEntries(r, actor, q)
}

func (s *server) auditEntries(r *http.Request, actor hostaccess.Actor, q hostaccess.AuditQuery) (int, any, error) {
	entries, err := s.svc.AuditLog(r.Context(), actor, q)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, wire.AuditEntries{Entries: orEmpty(entries)}, nil
}

// auditQuery reads the log's filters: actor, flow, target, since and until
// (RFC 3339), before and limit.
func auditQuery(r *http.Request) (hostaccess.AuditQuery, error) {
	v := r.URL.Query()
	q := hostaccess.AuditQuery{Actor: v.Get("actor"), Flow: v.Get("flow"), Target: v.Get("target")}
	var err error
	if q.BeforeSeq, err = queryInt(r, "before", 0, math.MaxInt64); err != nil {
		return q, err
	}
	limit, err := queryInt(r, "limit", 1, hostaccess.MaxAuditLimit)
	if err != nil {
		return q, err
	}
	q.Limit = int(limit)
	if q.Since, err = queryTime(r, "since"); err != nil {
		return q, err
	}
	if q.Until, err = queryTime(r, "until"); err != nil {
		return q, err
	}
	return q, nil
}

// queryTime reads an optional RFC 3339 time query parameter.
func queryTime(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, invalidArgument("query parameter %s=%q: want an RFC 3339 time, e.g. 2026-12-01T00:00:00Z", name, v)
	}
	return t, nil
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
