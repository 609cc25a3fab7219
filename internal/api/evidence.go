package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hostaccess/hostaccess/internal/httpserver"
	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// The change log as evidence (docs/audit.md): the hash chain's export as
// JSON lines, its live feed as server-sent events, and its verification.

// streamed is an answer a route writes itself, in another media type than
// JSON. What can be refused is refused before it is returned, as a problem;
// once it writes, an error can only end the stream.
type streamed func(w http.ResponseWriter, r *http.Request) error

// Media types of the streamed answers.
const (
	mediaJSONLines   = "application/jsonl"
	mediaEventStream = "text/event-stream"
)

var (
	// feedPoll is how often the feed looks for new entries once it has
	// sent every one; feedHeartbeat how often an idle feed sends a comment,
	// so proxies keep the connection and clients see it alive.
	feedPoll      = 500 * time.Millisecond
	feedHeartbeat = 15 * time.Second
)

// chainPage is how many entries the export and the feed read at a time.
const chainPage = 500

// chainStart reads where a chain listing starts: after (a chain position),
// or for the feed the Last-Event-ID a reconnecting client sends, which
// wins.
func chainStart(r *http.Request) (int64, error) {
	after, err := queryInt(r, "after", 0, math.MaxInt64)
	if err != nil {
		return 0, err
	}
	if last := strings.TrimSpace(r.Header.Get("Last-Event-ID")); last != "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return 0, invalidArgument("header Last-Event-ID %q: want the chain position of the last event received", last)
		}
		after = n
	}
	return after, nil
}

// firstChainPage reads where the export or the feed starts and its first
// page, so that a refusal is answered before the stream opens.
func (s *server) firstChainPage(r *http.Request, actor hostaccess.Actor) (string, int64, []hostaccess.AuditEntry, error) {
	after, err := chainStart(r)
	if err != nil {
		return "", 0, nil, err
	}
	account := r.URL.Query().Get("account")
	first, err := s.svc.AuditChain(r.Context(), actor, account, after, chainPage)
	return account, after, first, err
}

// auditExport writes the chain as JSON lines, one entry a line in chain
// order: all of it for a service, which gets the head it runs to in
// X-Hostaccess-Chain-Head, or one account's (?account=).
func (s *server) auditExport(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	account, after, first, err := s.firstChainPage(r, actor)
	if err != nil {
		return 0, nil, err
	}
	var head *directory.ChainLink
	if account == "" {
		h, err := s.svc.AuditHead(r.Context(), actor)
		if err != nil {
			return 0, nil, err
		}
		head = &h
	}
	return http.StatusOK, streamed(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", mediaJSONLines)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if head != nil {
			w.Header().Set(wire.ChainHeadHeader, directory.FormatLink(*head))
		}
		w.WriteHeader(http.StatusOK)
		out := bufio.NewWriter(w)
		enc := json.NewEncoder(out)
		page := first
		for {
			for _, e := range page {
				if head != nil && e.Chain > head.Seq {
					return out.Flush() // sealed after the export began: the next export's
				}
				if err := enc.Encode(e); err != nil {
					return err
				}
				after = e.Chain
			}
			if len(page) < chainPage {
				return out.Flush()
			}
			if page, err = s.svc.AuditChain(r.Context(), actor, account, after, chainPage); err != nil {
				return err
			}
		}
	}), nil
}

// auditFeed streams the chain as server-sent events: each entry an event
// "audit" whose id is its chain position, from after (or Last-Event-ID)
// on, then every entry as it is sealed. A client that reconnects with the
// last id it received misses nothing and gets nothing twice, across
// restarts of the server: positions are stored and given in commit order.
// Each page re-checks the caller's right to read the log, so a person who
// loses it stops receiving at once.
func (s *server) auditFeed(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	account, after, first, err := s.firstChainPage(r, actor)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, streamed(func(w http.ResponseWriter, r *http.Request) error {
		flusher := http.NewResponseController(w) // through the request log's recorder
		w.Header().Set("Content-Type", mediaEventStream)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Accel-Buffering", "no") // nginx: pass events on as they come
		w.WriteHeader(http.StatusOK)
		if err := flusher.Flush(); err != nil {
			return fmt.Errorf("the connection cannot stream: %w", err)
		}
		poll := time.NewTicker(feedPoll)
		defer poll.Stop()
		quiet := time.Now()
		page := first
		for {
			for _, e := range page {
				data, err := json.Marshal(e)
				if err != nil {
					return err
				}
				if _, err := fmt.Fprintf(w, "id: %d\nevent: audit\ndata: %s\n\n", e.Chain, data); err != nil {
					return err
				}
				after = e.Chain
			}
			if len(page) > 0 {
				if err := flusher.Flush(); err != nil {
					return err
				}
				quiet = time.Now()
			}
			if len(page) < chainPage {
				select {
				case <-r.Context().Done():
					return nil
				case <-httpserver.Stopping(r.Context()):
					return nil // the server shuts down: the client reconnects elsewhere
				case <-poll.C:
				}
				if time.Since(quiet) >= feedHeartbeat {
					if _, err := fmt.Fprint(w, ": alive\n\n"); err != nil {
						return err
					}
					if err := flusher.Flush(); err != nil {
						return err
					}
					quiet = time.Now()
				}
			}
			page, err = s.svc.AuditChain(r.Context(), actor, account, after, chainPage)
			if err != nil {
				if r.Context().Err() != nil {
					return nil
				}
				// The stream is open: the refusal becomes its last event.
				data, _ := json.Marshal(s.problemFor(r, err))
				_, _ = fmt.Fprintf(w, "event: error\ndata: %s\n\n", data)
				_ = flusher.Flush()
				return nil
			}
		}
	}), nil
}

// auditVerify checks the stored chain.
func (s *server) auditVerify(r *http.Request, actor hostaccess.Actor) (int, any, error) {
	report, err := s.svc.VerifyAudit(r.Context(), actor)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, wire.AuditReport(report), nil
}
