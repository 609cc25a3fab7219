package api

import (
	"encoding/json"
	"math"
	"net/http"
	"time"

	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// auditEntry is directory.AuditEntry as the API shows it.
type auditEntry struct {
	Seq       int64           `json:"seq"`
	Time      time.Time       `json:"time"`
	Actor     string          `json:"actor"`
	Flow      string          `json:"flow"`
	AccountID string          `json:"account_id"`
	Target    string          `json:"target"`
	Before    json.RawMessage `json:"before,omitempty"`
	After     json.RawMessage `json:"after,omitempty"`
	ZedToken  string          `json:"zed_token,omitempty"`
	// Outcome is "applied", or "intent" while a change interrupted by a
	// crash awaits recovery.
	Outcome string `json:"outcome"`
}

type auditLog struct {
	Entries []auditEntry `json:"entries"`
}

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
	out := auditLog{Entries: make([]auditEntry, len(entries))}
	for i, e := range entries {
		out.Entries[i] = auditEntry{
			Seq: e.Seq, Time: e.Time, Actor: e.Actor, Flow: e.Flow, AccountID: e.AccountID,
			Target: e.Target, Before: e.Before, After: e.After, ZedToken: e.ZedToken, Outcome: string(e.Outcome),
		}
	}
	return http.StatusOK, out, nil
}

type holderList struct {
	Holders []hostaccess.Holder `json:"holders"`
}

func (s *server) whoCan(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	q := r.URL.Query()
	if err := required("query parameter resource", q.Get("resource")); err != nil {
		return 0, nil, err
	}
	if err := required("query parameter permission", q.Get("permission")); err != nil {
		return 0, nil, err
	}
	holders, err := s.svc.WhoCan(r.Context(), actor, q.Get("resource"), q.Get("permission"))
	return reply(http.StatusOK, holderList{Holders: orEmpty(holders)}, err)
}

func (s *server) reachOf(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	report, err := s.svc.ReachOf(r.Context(), actor, r.PathValue("user"))
	return reply(http.StatusOK, report, err)
}
