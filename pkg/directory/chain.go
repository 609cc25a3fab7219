package directory

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
)

// The audit log is evidence: every entry, once final (applied or
// abandoned), is sealed into one hash chain across all accounts. Sealing
// gives the entry the next chain position (AuditEntry.Chain) and a hash over
// its content and the previous entry's hash, so that editing an entry breaks
// its hash and deleting one breaks the chain. Intents are not sealed: they
// are the flows' journal, still to change; each is sealed when it settles.
//
// Stores seal under one lock (a row lock on SQL), so chain positions are
// assigned in commit order: a reader that has seen position N never later
// finds a position below N appear. That is what makes the chain a feed a
// SIEM can resume from.
//
// What the chain cannot see alone is its tail cut off together with the
// stored head: the feed and the export carry every hash, so a copy kept
// outside (a SIEM, a signed export) is the anchor that detects it.

// ChainLink is a position in the chain and the hash of the entry there.
type ChainLink struct {
	Seq  int64  // the entry's AuditEntry.Chain; 0 before the first entry
	Hash []byte // nil at position 0
}

// ChainState is where the stored chain starts and ends.
type ChainState struct {
	// Anchor is the last entry removed by retention (position 0 when none
	// was): the first stored entry must link to it.
	Anchor ChainLink
	// Head is the newest sealed entry.
	Head ChainLink
}

// sealed is what an entry's hash covers, in a fixed field order. Times are
// whole microseconds (what SQL keeps) and JSON is canonical (jsonb rewrites
// whitespace and key order), so a store's round trip never changes a hash.
type sealed struct {
	Chain     int64           `json:"chain"`
	Prev      string          `json:"prev"`
	Seq       int64           `json:"seq"`
	Time      int64           `json:"time_us"`
	Actor     string          `json:"actor"`
	Flow      string          `json:"flow"`
	AccountID string          `json:"account_id"`
	Target    string          `json:"target"`
	Before    json.RawMessage `json:"before"`
	After     json.RawMessage `json:"after"`
	ZedToken  string          `json:"zed_token"`
	Outcome   AuditOutcome    `json:"outcome"`
	Operation string          `json:"operation"`
}

// SealHash is the hash of e at chain position e.Chain after prev.
func SealHash(prev []byte, e AuditEntry) ([]byte, error) {
	before, err := canonicalJSON(e.Before)
	if err != nil {
		return nil, fmt.Errorf("audit entry %d: before: %w", e.Seq, err)
	}
	after, err := canonicalJSON(e.After)
	if err != nil {
		return nil, fmt.Errorf("audit entry %d: after: %w", e.Seq, err)
	}
	b, err := json.Marshal(sealed{
		Chain: e.Chain, Prev: hex.EncodeToString(prev), Seq: e.Seq, Time: e.Time.UnixMicro(),
		Actor: e.Actor, Flow: e.Flow, AccountID: e.AccountID, Target: e.Target,
		Before: before, After: after, ZedToken: e.ZedToken, Outcome: e.Outcome, Operation: e.Operation,
	})
	if err != nil {
		return nil, fmt.Errorf("audit entry %d: %w", e.Seq, err)
	}
	sum := sha256.Sum256(b)
	return sum[:], nil
}

// Seal returns e sealed after head: at the next position, linked to it.
func Seal(head ChainLink, e AuditEntry) (AuditEntry, error) {
	e.Chain = head.Seq + 1
	e.PrevHash = bytes.Clone(head.Hash)
	h, err := SealHash(e.PrevHash, e)
	if err != nil {
		return AuditEntry{}, err
	}
	e.Hash = h
	return e, nil
}

// Final reports whether an entry with outcome o is sealed.
func (o AuditOutcome) Final() bool { return o == AuditApplied || o == AuditAbandoned }

// canonicalJSON rewrites a JSON value with sorted keys and no whitespace;
// numbers keep their text. Empty (no value) stays empty, as does JSON null,
// which SQL stores as no value.
func canonicalJSON(raw json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return json.RawMessage("null"), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ChainProblem is one place where the chain does not hold.
type ChainProblem struct {
	Chain  int64  `json:"chain"` // the position concerned
	Seq    int64  `json:"seq,omitempty"`
	Reason string `json:"reason"`
}

// ChainReport is what verifying the chain found.
type ChainReport struct {
	Entries  int            `json:"entries"` // sealed entries read
	From     int64          `json:"from"`    // the anchor's position
	To       int64          `json:"to"`      // the last position read
	Head     string         `json:"head,omitempty"`
	Problems []ChainProblem `json:"problems,omitempty"`
	// Truncated: more problems than were kept.
	Truncated bool `json:"truncated,omitempty"`
}

// OK reports whether the chain held.
func (r ChainReport) OK() bool { return len(r.Problems) == 0 }

// maxChainProblems bounds a report: past the first break, a tampered store
// can make every later entry a problem.
const maxChainProblems = 100

// ChainVerifier checks sealed entries fed to it in chain order, starting
// after an anchor. It holds one link, so a chain of any length streams
// through it.
type ChainVerifier struct {
	last   ChainLink
	report ChainReport
}

// NewChainVerifier starts verifying after anchor.
func NewChainVerifier(anchor ChainLink) *ChainVerifier {
	return &ChainVerifier{last: anchor, report: ChainReport{From: anchor.Seq, To: anchor.Seq}}
}

func (v *ChainVerifier) problem(chain, seq int64, format string, args ...any) {
	if len(v.report.Problems) == maxChainProblems {
		v.report.Truncated = true
		return
	}
	v.report.Problems = append(v.report.Problems, ChainProblem{Chain: chain, Seq: seq, Reason: fmt.Sprintf(format, args...)})
}

// Add checks the next entry: its position follows the last one, it links
// to the last hash, and its hash matches its content.
func (v *ChainVerifier) Add(e AuditEntry) {
	v.report.Entries++
	switch {
	case e.Chain <= v.last.Seq:
		v.problem(e.Chain, e.Seq, "position %d out of order after %d", e.Chain, v.last.Seq)
		return
	case e.Chain > v.last.Seq+1:
		v.problem(v.last.Seq+1, 0, "entries %d to %d are missing (deleted)", v.last.Seq+1, e.Chain-1)
	case !bytes.Equal(e.PrevHash, v.last.Hash):
		v.problem(e.Chain, e.Seq, "does not link to entry %d (the previous entry was edited, or this link was)", v.last.Seq)
	}
	want, err := SealHash(e.PrevHash, e)
	if err != nil {
		v.problem(e.Chain, e.Seq, "cannot be hashed: %v", err)
	} else if !bytes.Equal(want, e.Hash) {
		v.problem(e.Chain, e.Seq, "content does not match its hash (entry %d was edited)", e.Seq)
	}
	v.last = ChainLink{Seq: e.Chain, Hash: e.Hash}
	v.report.To = e.Chain
}

// Finish ends the check against the head the store (or an outside copy)
// says is newest, when known, and returns the report.
func (v *ChainVerifier) Finish(head *ChainLink) ChainReport {
	if head != nil {
		switch {
		case head.Seq > v.last.Seq:
			v.problem(v.last.Seq+1, 0, "entries %d to %d are missing (deleted)", v.last.Seq+1, head.Seq)
		case head.Seq == v.last.Seq && !bytes.Equal(head.Hash, v.last.Hash):
			v.problem(head.Seq, 0, "the newest entry does not match the head's hash")
		case head.Seq < v.last.Seq:
			v.problem(head.Seq, 0, "the head is at %d but entries run to %d", head.Seq, v.last.Seq)
		}
	}
	v.report.Head = hex.EncodeToString(v.last.Hash)
	return v.report
}

// FormatLink writes a link as POSITION:HEX, how the CLI takes an outside
// head.
func FormatLink(l ChainLink) string {
	return strconv.FormatInt(l.Seq, 10) + ":" + hex.EncodeToString(l.Hash)
}

// ParseLink reads POSITION:HEX.
func ParseLink(s string) (ChainLink, error) {
	pos, h, ok := bytes.Cut([]byte(s), []byte(":"))
	if !ok {
		return ChainLink{}, fmt.Errorf("chain link %q: want POSITION:HASH", s)
	}
	n, err := strconv.ParseInt(string(pos), 10, 64)
	if err != nil || n < 0 {
		return ChainLink{}, fmt.Errorf("chain link %q: position is not a number", s)
	}
	hash, err := hex.DecodeString(string(h))
	if err != nil || (n > 0 && len(hash) != sha256.Size) {
		return ChainLink{}, fmt.Errorf("chain link %q: hash is not %d hex bytes", s, sha256.Size)
	}
	return ChainLink{Seq: n, Hash: hash}, nil
}

// verifyPage is how many entries Verify reads at a time.
const verifyPage = 1000

// Verify reads a store's chain, from its anchor to the head it finds first
// (entries sealed while it reads are left for the next run), and checks it.
func Verify(ctx context.Context, a Audit) (ChainReport, error) {
	state, err := a.Chain(ctx)
	if err != nil {
		return ChainReport{}, err
	}
	v := NewChainVerifier(state.Anchor)
	after := state.Anchor.Seq
	for after < state.Head.Seq {
		page, err := a.ListChain(ctx, ChainFilter{After: after, Limit: verifyPage})
		if err != nil {
			return ChainReport{}, err
		}
		for _, e := range page {
			if e.Chain > state.Head.Seq {
				break
			}
			v.Add(e)
		}
		if len(page) < verifyPage || page[len(page)-1].Chain >= state.Head.Seq {
			break
		}
		after = page[len(page)-1].Chain
	}
	return v.Finish(&state.Head), nil
}
