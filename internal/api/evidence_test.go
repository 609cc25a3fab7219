package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

func TestAuditFiltersOverHTTP(t *testing.T) {
	c, clock := newTestAPI(t)
	c.createAccount("acme", "alice")
	c.createAccount("other", "olga")
	c.join("user:alice", "acme", "carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	c.join("user:alice", "acme", "bob", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightUserManagement, hostaccess.RightSupport}})
	clock.Advance(time.Hour)
	ok[hostaccess.Result](t, c.call("PUT", "/v1/accounts/acme/members/carol/access", "user:bob",
		hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling, hostaccess.RightSupport}}), http.StatusOK)

	list := func(path, actor string) []hostaccess.AuditEntry {
		t.Helper()
		return ok[wire.AuditEntries](t, c.call("GET", path, actor, nil), http.StatusOK).Entries
	}
	require.Len(t, list("/v1/accounts/acme/audit?actor=user:bob", "user:alice"), 2, "his acceptance and his change")
	byBob := list("/v1/accounts/acme/audit?actor=user:bob&flow=set_access", "user:alice")
	require.Len(t, byBob, 1)
	require.Equal(t, "set_access", byBob[0].Flow)
	require.Equal(t, "user:carol", byBob[0].Target)
	require.JSONEq(t, `{"rights":["billing"],"technical":{},"view":{}}`, string(byBob[0].Before))
	require.Contains(t, string(byBob[0].After), "support")
	require.NotEmpty(t, byBob[0].Hash)

	aboutCarol := list("/v1/accounts/acme/audit?target=user:carol", "user:alice")
	require.Len(t, aboutCarol, 1, "bob's change (her acceptance is about her invitation)")
	require.Len(t, list("/v1/accounts/acme/audit?flow=set_access", "user:alice"), 1)
	since := url.QueryEscape(byBob[0].Time.Format(time.RFC3339Nano))
	require.Len(t, list("/v1/accounts/acme/audit?since="+since, "user:alice"), 1)
	require.NotContains(t, flows(list("/v1/accounts/acme/audit?until="+since, "user:alice")), "set_access")

	// Across accounts: a service only.
	all := list("/v1/audit?flow=create_account", "service")
	require.ElementsMatch(t, []string{"acme", "other"}, accountsOf(all))
	problem(t, c.call("GET", "/v1/audit", "user:alice", nil), http.StatusForbidden, "forbidden")
	// An account's log needs the right to see its users.
	problem(t, c.call("GET", "/v1/accounts/acme/audit", "user:carol", nil), http.StatusForbidden, "forbidden")
	problem(t, c.call("GET", "/v1/accounts/other/audit", "user:alice", nil), http.StatusForbidden, "forbidden")

	for _, q := range []string{
		"actor=bob", "actor=user:", "flow=Set-Access", "target=user:%00carol", "since=yesterday",
		"since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z", "limit=0", "limit=1001", "before=-1",
		"target=" + strings.Repeat("x", 600),
	} {
		problem(t, c.call("GET", "/v1/accounts/acme/audit?"+q, "user:alice", nil), http.StatusBadRequest, "invalid_argument")
	}
}

func flows(es []hostaccess.AuditEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Flow)
	}
	return out
}

func accountsOf(es []hostaccess.AuditEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.AccountID)
	}
	return out
}

// exportLines decodes a JSON lines export.
func exportLines(t *testing.T, body []byte) []hostaccess.AuditEntry {
	t.Helper()
	var out []hostaccess.AuditEntry
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e hostaccess.AuditEntry
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e), "line %q", sc.Text())
		out = append(out, e)
	}
	require.NoError(t, sc.Err())
	return out
}

func TestAuditExportAndVerifyOverHTTP(t *testing.T) {
	c, _ := newTestAPI(t)
	c.createAccount("acme", "alice")
	c.createAccount("other", "olga")
	c.join("user:alice", "acme", "carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightBilling}})
	c.invite("user:olga", "other", "dan@example.com", hostaccess.Access{})

	r := c.call("GET", "/v1/audit/export", "service", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, mediaJSONLines, r.header.Get("Content-Type"))
	entries := exportLines(t, r.body)
	require.GreaterOrEqual(t, len(entries), 4)
	for i, e := range entries {
		require.Equal(t, int64(i+1), e.Chain, "the whole chain, in order")
	}
	head, err := directory.ParseLink(r.header.Get(wire.ChainHeadHeader))
	require.NoError(t, err)
	require.Equal(t, entries[len(entries)-1].Chain, head.Seq)

	report, err := hostaccess.VerifyEntries(entries, &head)
	require.NoError(t, err)
	require.True(t, report.OK(), "%+v", report.Problems)

	edited := append([]hostaccess.AuditEntry(nil), entries...)
	edited[1].Actor = "user:mallory"
	report, err = hostaccess.VerifyEntries(edited, &head)
	require.NoError(t, err)
	require.False(t, report.OK())
	require.Contains(t, report.Problems[0].Reason, "edited")

	cut := entries[:len(entries)-1]
	report, err = hostaccess.VerifyEntries(cut, &head)
	require.NoError(t, err)
	require.False(t, report.OK(), "the newest line removed: the head says more")

	// After a position: the rest only.
	rest := exportLines(t, c.call("GET", "/v1/audit/export?after=2", "service", nil).body)
	require.Equal(t, entries[2:], rest)

	// One account's entries, for a person who may see its users; no head.
	r = c.call("GET", "/v1/audit/export?account=acme", "user:alice", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Empty(t, r.header.Get(wire.ChainHeadHeader))
	require.ElementsMatch(t, []string{"acme", "acme"}, accountsOf(exportLines(t, r.body))[:2])
	require.NotContains(t, accountsOf(exportLines(t, r.body)), "other")
	problem(t, c.call("GET", "/v1/audit/export?account=acme", "user:carol", nil), http.StatusForbidden, "forbidden")
	problem(t, c.call("GET", "/v1/audit/export", "user:alice", nil), http.StatusForbidden, "forbidden")
	problem(t, c.call("GET", "/v1/audit/export?after=-1", "service", nil), http.StatusBadRequest, "invalid_argument")

	v := ok[wire.AuditReport](t, c.call("GET", "/v1/audit/verify", "service", nil), http.StatusOK)
	require.True(t, v.OK(), "%+v", v.Problems)
	require.Equal(t, len(entries), v.Entries)
	problem(t, c.call("GET", "/v1/audit/verify", "user:alice", nil), http.StatusForbidden, "forbidden")
}

// sseEvent is one server-sent event.
type sseEvent struct {
	id, event, data string
}

// sseStream reads a feed's events as they come.
type sseStream struct {
	events chan sseEvent
	cancel context.CancelFunc
	resp   *http.Response
}

// openFeed connects to the feed; lastID, when not empty, is sent as
// Last-Event-ID.
func (c *apiClient) openFeed(query, actor, lastID string) *sseStream {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/v1/audit/feed"+query, nil)
	require.NoError(c.t, err)
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set(ActorHeader, actor)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	require.Equal(c.t, http.StatusOK, resp.StatusCode)
	require.Equal(c.t, mediaEventStream, resp.Header.Get("Content-Type"))
	s := &sseStream{events: make(chan sseEvent, 100), cancel: cancel, resp: resp}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.event != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	c.t.Cleanup(s.close)
	return s
}

func (s *sseStream) close() { s.cancel(); _ = s.resp.Body.Close() }

// next waits for the next event; ok false if the stream ended.
func (s *sseStream) next(t *testing.T) (sseEvent, bool) {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		return ev, ok
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
		return sseEvent{}, false
	}
}

func (s *sseStream) entry(t *testing.T) hostaccess.AuditEntry {
	t.Helper()
	ev, ok := s.next(t)
	require.True(t, ok, "the feed ended")
	require.Equal(t, "audit", ev.event, "data: %s", ev.data)
	var e hostaccess.AuditEntry
	require.NoError(t, json.Unmarshal([]byte(ev.data), &e))
	require.Equal(t, strconv.FormatInt(e.Chain, 10), ev.id)
	return e
}

func TestAuditFeedOverHTTP(t *testing.T) {
	c, _ := newTestAPI(t)
	c.createAccount("acme", "alice")
	c.join("user:alice", "acme", "carol", hostaccess.Access{Rights: []hostaccess.Right{hostaccess.RightUserManagement}})

	feed := c.openFeed("", "service", "")
	var seen []int64
	for e := feed.entry(t); ; e = feed.entry(t) {
		seen = append(seen, e.Chain)
		if e.Flow == "accept_invitation" {
			break
		}
	}
	// A change made while the feed is open arrives on it.
	c.createAccount("other", "olga")
	live := feed.entry(t)
	require.Equal(t, "create_account", live.Flow)
	require.Equal(t, seen[len(seen)-1]+1, live.Chain)
	feed.close()

	// Resuming from the last id received: the next entry, once.
	c.invite("user:alice", "acme", "dan@example.com", hostaccess.Access{})
	resumed := c.openFeed("", "service", strconv.FormatInt(live.Chain, 10))
	next := resumed.entry(t)
	require.Equal(t, live.Chain+1, next.Chain)
	require.Equal(t, "invite", next.Flow)
	resumed.close()

	// One account's feed, for a person who may see its users; it ends
	// with the refusal once they lose that right.
	carolFeed := c.openFeed("?account=acme&after="+strconv.FormatInt(live.Chain, 10), "user:carol", "")
	require.Equal(t, next.Chain, carolFeed.entry(t).Chain, "the other account's entry is not in it")
	ok[hostaccess.Result](t, c.call("DELETE", "/v1/accounts/acme/members/carol", "user:alice", nil), http.StatusOK)
	ev, open := carolFeed.next(t)
	require.True(t, open)
	if ev.event == "audit" {
		require.Contains(t, ev.data, "remove_member", "read before her right was checked again")
		ev, open = carolFeed.next(t)
		require.True(t, open)
	}
	require.Equal(t, "error", ev.event, "data: %s", ev.data)
	require.Contains(t, ev.data, "forbidden")
	_, open = carolFeed.next(t)
	require.False(t, open, "the feed ends after the refusal")

	problem(t, c.call("GET", "/v1/audit/feed?account=acme", "user:mallory", nil), http.StatusForbidden, "forbidden")
	problem(t, c.call("GET", "/v1/audit/feed", "user:alice", nil), http.StatusForbidden, "forbidden")
	r := c.callWith("GET", "/v1/audit/feed", "service", map[string]string{"Last-Event-ID": "x1"})
	problem(t, r, http.StatusBadRequest, "invalid_argument")
}
