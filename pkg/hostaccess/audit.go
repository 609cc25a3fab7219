package hostaccess

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"time"

	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/schema"
)

// AuditEntry is one change in the audit log. Once final it is sealed into
// the log's hash chain (docs/audit.md): Chain is its position, Hash covers
// its content and PrevHash, so a copy of the log is verified offline with
// VerifyEntries.
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
	// Operation names the flow's write (its marker relationship).
	Operation string `json:"operation,omitempty"`
	// Chain, PrevHash and Hash: the entry's place in the hash chain; zero
	// for an intent, which is sealed when it settles.
	Chain    int64  `json:"chain,omitempty"`
	PrevHash string `json:"prev_hash,omitempty"`
	Hash     string `json:"hash,omitempty"`
}

// AuditQuery selects audit entries, newest first. Every field set must
// match; an empty AccountID means every account, which only a service may
// ask.
type AuditQuery struct {
	AccountID string
	Actor     string    // "user:alice" or "service:billing"
	Flow      string    // "set_access"
	Target    string    // "user:carol", "invitation:acme/x1"
	Since     time.Time // at or after
	Until     time.Time // before
	BeforeSeq int64     // page on with the last Seq
	Limit     int       // 1 to MaxAuditLimit; 0: 100
}

// MaxAuditLimit bounds one page of the audit log or the chain.
const MaxAuditLimit = 1000

// maxAuditText bounds a filter's text: the longest actor or target a flow
// records is two names and a type.
const maxAuditText = 512

var (
	auditActorPattern = regexp.MustCompile(`^(user|service):[^\x00-\x1f]{1,200}$`)
	auditFlowPattern  = regexp.MustCompile(`^[a-z_]{1,64}$`)
)

func (q AuditQuery) validate() error {
	switch {
	case q.Actor != "" && !auditActorPattern.MatchString(q.Actor):
		return invalidf("actor %s: give user:ID or service:NAME", quoteShort(q.Actor))
	case q.Flow != "" && !auditFlowPattern.MatchString(q.Flow):
		return invalidf("flow %s: give a flow's name, e.g. set_access", quoteShort(q.Flow))
	case len(q.Target) > maxAuditText || !printable(q.Target):
		return invalidf("target %s: give what a change is about, e.g. user:carol, at most %d bytes", quoteShort(q.Target), maxAuditText)
	case !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until):
		return invalidf("since %s is not before until %s", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	case q.BeforeSeq < 0:
		return invalidf("before %d: give a positive sequence number", q.BeforeSeq)
	case q.Limit < 0 || q.Limit > MaxAuditLimit:
		return invalidf("limit %d: give 1 to %d", q.Limit, MaxAuditLimit)
	}
	return nil
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// authorizeAudit lets a service read the whole log, and a person one
// account's log when they may see its users.
func (s *Service) authorizeAudit(ctx context.Context, actor Actor, accountID string) error {
	if accountID == "" {
		if err := actor.validate(); err != nil {
			return err
		}
		if !actor.isSystem() {
			return errorf(ErrForbidden, "%s may not read the audit log of every account: name an account", actor)
		}
		return nil
	}
	_, _, err := s.loadAccountAs(ctx, actor, accountID, schema.PermViewUsers, "read the audit log of "+accountID)
	return err
}

// AuditLog lists changes, newest first: applied ones, and intents of
// changes interrupted by a crash that recovery has not settled yet. A page
// may hold fewer than the limit (refused changes are left out); page on
// with the last Seq.
func (s *Service) AuditLog(ctx context.Context, actor Actor, q AuditQuery) ([]AuditEntry, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	if err := s.authorizeAudit(ctx, actor, q.AccountID); err != nil {
		return nil, err
	}
	entries, err := s.dir.ListAudit(ctx, directory.AuditFilter{
		AccountID: q.AccountID, Actor: q.Actor, Flow: q.Flow, Target: q.Target,
		Since: q.Since, Until: q.Until, BeforeSeq: q.BeforeSeq, Limit: q.Limit,
	})
	if err != nil {
		return nil, fromDirectory(err, "audit log")
	}
	out := make([]AuditEntry, 0, len(entries))
	for _, e := range entries {
		// Abandoned intents are changes that never happened (a refused
		// write): not part of what changed.
		if e.Outcome == directory.AuditAbandoned {
			continue
		}
		out = append(out, auditEntryOf(e))
	}
	return out, nil
}

// AuditChain lists sealed entries in chain order after position after: of
// one account, or of all (services only). It is the feed and the export:
// abandoned changes are in it (the chain holds every sealed entry, or it
// would not verify), with outcome "abandoned".
func (s *Service) AuditChain(ctx context.Context, actor Actor, accountID string, after int64, limit int) ([]AuditEntry, error) {
	switch {
	case after < 0:
		return nil, invalidf("after %d: give a chain position, 0 for the start", after)
	case limit < 0 || limit > MaxAuditLimit:
		return nil, invalidf("limit %d: give 1 to %d", limit, MaxAuditLimit)
	}
	if err := s.authorizeAudit(ctx, actor, accountID); err != nil {
		return nil, err
	}
	entries, err := s.dir.ListChain(ctx, directory.ChainFilter{After: after, AccountID: accountID, Limit: limit})
	if err != nil {
		return nil, fromDirectory(err, "audit chain")
	}
	out := make([]AuditEntry, len(entries))
	for i, e := range entries {
		out[i] = auditEntryOf(e)
	}
	return out, nil
}

// VerifyAudit checks the stored chain from its anchor to its head: every
// entry matches its hash and links to the one before, none is missing.
// Only a service may ask: it reads every account's entries.
func (s *Service) VerifyAudit(ctx context.Context, actor Actor) (directory.ChainReport, error) {
	if err := s.authorizeAudit(ctx, actor, ""); err != nil {
		return directory.ChainReport{}, err
	}
	r, err := directory.Verify(ctx, s.dir)
	if err != nil {
		return directory.ChainReport{}, fromDirectory(err, "audit chain")
	}
	return r, nil
}

// AuditHead is the chain's newest link, for a service that keeps it
// outside as the anchor of its copy.
func (s *Service) AuditHead(ctx context.Context, actor Actor) (directory.ChainLink, error) {
	if err := s.authorizeAudit(ctx, actor, ""); err != nil {
		return directory.ChainLink{}, err
	}
	state, err := s.dir.Chain(ctx)
	if err != nil {
		return directory.ChainLink{}, fromDirectory(err, "audit chain")
	}
	return state.Head, nil
}

// PruneAudit removes sealed entries older than retention (docs/audit.md);
// the chain still verifies from the last one removed.
func (s *Service) PruneAudit(ctx context.Context, retention time.Duration) (int, error) {
	if retention <= 0 {
		return 0, invalidf("audit retention %s: give a positive duration", retention)
	}
	n, err := s.dir.PruneAudit(ctx, s.now().Add(-retention))
	if err != nil {
		return 0, fromDirectory(err, "audit retention")
	}
	return n, nil
}

func auditEntryOf(e directory.AuditEntry) AuditEntry {
	return AuditEntry{
		Seq: e.Seq, Time: e.Time, Actor: e.Actor, Flow: e.Flow, AccountID: e.AccountID, Target: e.Target,
		Before: e.Before, After: e.After, ZedToken: e.ZedToken, Outcome: string(e.Outcome), Operation: e.Operation,
		Chain: e.Chain, PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash),
	}
}

// VerifyEntries checks exported entries (in chain order, e.g. the JSON
// lines of the export) without the store: each matches its hash and links
// to the one before. The first links to whatever it names as previous;
// head, when given (the newest link a SIEM kept), must be the last.
func VerifyEntries(entries []AuditEntry, head *directory.ChainLink) (directory.ChainReport, error) {
	var v *directory.ChainVerifier
	for i, e := range entries {
		prev, err := hex.DecodeString(e.PrevHash)
		if err != nil {
			return directory.ChainReport{}, invalidf("entry %d (seq %d): prev_hash is not hex", i+1, e.Seq)
		}
		hash, err := hex.DecodeString(e.Hash)
		if err != nil {
			return directory.ChainReport{}, invalidf("entry %d (seq %d): hash is not hex", i+1, e.Seq)
		}
		if e.Chain <= 0 {
			return directory.ChainReport{}, invalidf("entry %d (seq %d) is not sealed: it has no chain position", i+1, e.Seq)
		}
		if v == nil {
			v = directory.NewChainVerifier(directory.ChainLink{Seq: e.Chain - 1, Hash: prev})
		}
		v.Add(directory.AuditEntry{
			Seq: e.Seq, Time: e.Time, Actor: e.Actor, Flow: e.Flow, AccountID: e.AccountID, Target: e.Target,
			Before: e.Before, After: e.After, ZedToken: e.ZedToken, Outcome: directory.AuditOutcome(e.Outcome),
			Operation: e.Operation, Chain: e.Chain, PrevHash: prev, Hash: hash,
		})
	}
	if v == nil {
		v = directory.NewChainVerifier(directory.ChainLink{})
	}
	return v.Finish(head), nil
}
