package hostaccess

import (
	"context"
	"encoding/json"
	"time"

	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/schema"
)

// AuditEntry is one change in an account's audit log.
type AuditEntry struct {
	Seq       int64           `json:"seq"` // increasing; page with beforeSeq
	Time      time.Time       `json:"time"`
	Actor     string          `json:"actor"` // user:ID or service:NAME
	Flow      string          `json:"flow"`  // invite, accept_invitation, set_access, ...
	AccountID string          `json:"account_id"`
	Target    string          `json:"target"`
	Before    json.RawMessage `json:"before,omitempty"`
	After     json.RawMessage `json:"after,omitempty"`
	ZedToken  string          `json:"zed_token,omitempty"`
	// Outcome is "applied", or "intent" while a change interrupted by a
	// crash awaits recovery (docs/durability.md).
	Outcome string `json:"outcome"`
}

// AuditLog lists an account's changes, newest first: applied ones, and
// intents of changes interrupted by a crash that recovery has not settled
// yet. A page may hold fewer than limit entries (refused changes are left
// out); page on with the last Seq.
func (s *Service) AuditLog(ctx context.Context, actor Actor, accountID string, beforeSeq int64, limit int) ([]AuditEntry, error) {
	if _, _, err := s.loadAccountAs(ctx, actor, accountID, schema.PermViewUsers, "read the audit log of "+accountID); err != nil {
		return nil, err
	}
	entries, err := s.dir.ListAudit(ctx, directory.AuditFilter{AccountID: accountID, BeforeSeq: beforeSeq, Limit: limit})
	if err != nil {
		return nil, fromDirectory(err, "audit of "+accountID)
	}
	out := make([]AuditEntry, 0, len(entries))
	for _, e := range entries {
		// Abandoned intents are changes that never happened (a refused
		// write): not part of what changed.
		if e.Outcome == directory.AuditAbandoned {
			continue
		}
		out = append(out, AuditEntry{
			Seq: e.Seq, Time: e.Time, Actor: e.Actor, Flow: e.Flow, AccountID: e.AccountID, Target: e.Target,
			Before: e.Before, After: e.After, ZedToken: e.ZedToken, Outcome: string(e.Outcome),
		})
	}
	return out, nil
}
