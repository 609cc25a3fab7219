package apiclient

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hostaccess/hostaccess/internal/wire"
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// auditValues is q as the log's query parameters.
func auditValues(q hostaccess.AuditQuery) url.Values {
	v := url.Values{}
	set := func(name, value string) {
		if value != "" {
			v.Set(name, value)
		}
	}
	set("actor", q.Actor)
	set("flow", q.Flow)
	set("target", q.Target)
	if !q.Since.IsZero() {
		v.Set("since", q.Since.Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.Format(time.RFC3339Nano))
	}
	if q.BeforeSeq > 0 {
		v.Set("before", strconv.FormatInt(q.BeforeSeq, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// AuditLog lists changes, newest first: q.AccountID's, or with none every
// account's (service actors only).
func (c *Client) AuditLog(ctx context.Context, q hostaccess.AuditQuery) ([]hostaccess.AuditEntry, error) {
	var out wire.AuditEntries
	cl := call{endpoint: wire.AuditSearch, query: auditValues(q)}
	if q.AccountID != "" {
		cl = call{endpoint: wire.AuditLog, args: []string{q.AccountID}, query: auditValues(q)}
	}
	return out.Entries, c.do(ctx, cl, &out)
}

// AuditVerify asks the server to check its stored chain.
func (c *Client) AuditVerify(ctx context.Context) (directory.ChainReport, error) {
	var out wire.AuditReport
	return out, c.do(ctx, call{endpoint: wire.AuditVerify}, &out)
}

func chainValues(accountID string, after int64) url.Values {
	v := url.Values{}
	if accountID != "" {
		v.Set("account", accountID)
	}
	if after > 0 {
		v.Set("after", strconv.FormatInt(after, 10))
	}
	return v
}

// AuditExport reads the chain's export after position after (of one
// account, or all), calling each for every entry in chain order, and
// returns the head the server said it runs to (nil for one account's).
func (c *Client) AuditExport(ctx context.Context, accountID string, after int64, each func(hostaccess.AuditEntry) error) (*directory.ChainLink, error) {
	resp, err := c.open(ctx, call{endpoint: wire.AuditExport, query: chainValues(accountID, after)}, "application/jsonl, application/problem+json")
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	var head *directory.ChainLink
	if h := resp.Header.Get(wire.ChainHeadHeader); h != "" {
		link, err := directory.ParseLink(h)
		if err != nil {
			return nil, fmt.Errorf("hostaccess at %s sent a bad %s: %w", c.baseURL, wire.ChainHeadHeader, err)
		}
		head = &link
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, maxResponse)
	for sc.Scan() {
		var e hostaccess.AuditEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("hostaccess at %s sent an unreadable export line: %w", c.baseURL, err)
		}
		if err := each(e); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the export of hostaccess at %s: %w", c.baseURL, err)
	}
	return head, nil
}

// AuditFeed follows the live feed after position after (of one account, or
// all), calling each for every entry as it comes, until ctx ends (nil), the
// server ends the stream (nil: resume from the last entry's Chain), or it
// sends a refusal (its *Problem).
func (c *Client) AuditFeed(ctx context.Context, accountID string, after int64, each func(hostaccess.AuditEntry) error) error {
	cl := call{endpoint: wire.AuditFeed, query: chainValues(accountID, 0)}
	if after > 0 {
		cl.header = map[string]string{"Last-Event-ID": strconv.FormatInt(after, 10)}
	}
	resp, err := c.open(ctx, cl, "text/event-stream, application/problem+json")
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, maxResponse)
	var event, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			switch event {
			case "audit":
				var e hostaccess.AuditEntry
				if err := json.Unmarshal([]byte(data), &e); err != nil {
					return fmt.Errorf("hostaccess at %s sent an unreadable event: %w", c.baseURL, err)
				}
				if err := each(e); err != nil {
					return err
				}
			case "error":
				p := &Problem{}
				if err := json.Unmarshal([]byte(data), p); err != nil {
					return fmt.Errorf("hostaccess at %s ended the feed with an unreadable error: %w", c.baseURL, err)
				}
				return p
			}
			event, data = "", ""
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(line[len("event:"):])
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimPrefix(line[len("data:"):], " ")
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}
