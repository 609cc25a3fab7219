package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hostaccess/hostaccess/internal/apiclient"
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// auditFilterFlags are the change log's filters.
type auditFilterFlags struct {
	actor, flow, target, since, until string
	before                            int64
	limit                             int
}

func (a *auditFilterFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&a.actor, "by", "", "only changes made by this actor: user:ID or service:NAME")
	fl.StringVar(&a.flow, "flow", "", "only changes made through this flow, e.g. set_access")
	fl.StringVar(&a.target, "target", "", "only changes about this, e.g. user:carol")
	fl.StringVar(&a.since, "since", "", "only changes at or after this time (RFC 3339, or a duration ago: 24h)")
	fl.StringVar(&a.until, "until", "", "only changes before this time (RFC 3339, or a duration ago)")
	fl.IntVar(&a.limit, "limit", 0, "at most this many entries (0: the server's default)")
	fl.Int64Var(&a.before, "before", 0, "only entries older than this sequence number (paging)")
}

// query reads the flags, refusing bad values before any request.
func (a *auditFilterFlags) query(accountID string) (hostaccess.AuditQuery, error) {
	q := hostaccess.AuditQuery{AccountID: accountID, Actor: a.actor, Flow: a.flow, Target: a.target, BeforeSeq: a.before, Limit: a.limit}
	if a.limit < 0 {
		return q, fmt.Errorf("invalid --limit %d: want 0 (the server's default) or more", a.limit)
	}
	if a.before < 0 {
		return q, fmt.Errorf("invalid --before %d: want a sequence number", a.before)
	}
	var err error
	if q.Since, err = whenFlag("--since", a.since); err != nil {
		return q, err
	}
	if q.Until, err = whenFlag("--until", a.until); err != nil {
		return q, err
	}
	return q, nil
}

// whenFlag reads a time flag: RFC 3339, or a duration before now.
func whenFlag(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("invalid %s %q: want an RFC 3339 time (2026-12-01T00:00:00Z) or a duration ago (24h)", name, v)
}

func printAuditEntries(w io.Writer, entries []hostaccess.AuditEntry) error {
	rows := make([][]string, 0, len(entries))
	for _, e := range entries {
		rows = append(rows, []string{strconv.FormatInt(e.Seq, 10), e.Time.UTC().Format(time.RFC3339), e.AccountID, e.Actor, e.Flow, orDash(e.Target)})
	}
	return printTable(w, []string{"SEQ", "TIME", "ACCOUNT", "ACTOR", "FLOW", "TARGET"}, rows)
}

// newAuditListCommand lists the log, newest first: of the account named
// by the first argument, or of every account when the command takes none.
func newAuditListCommand(streams Streams, use, short string, args cobra.PositionalArgs) *cobra.Command {
	f := &apiFlags{}
	filters := &auditFilterFlags{}
	cmd := newAPILeaf(use, short, args, f,
		func(cmd *cobra.Command, args []string) error {
			var q hostaccess.AuditQuery
			check := func() (err error) {
				q, err = filters.query(strings.Join(args, ""))
				return err
			}
			return f.withAPI(cmd, check, func(ctx context.Context, client *apiclient.Client) error {
				entries, err := client.AuditLog(ctx, q)
				if err != nil {
					return err
				}
				if f.json() {
					return printJSON(streams.Out, map[string]any{"entries": orEmpty(entries)})
				}
				return printAuditEntries(streams.Out, entries)
			})
		})
	filters.register(cmd)
	return cmd
}

// newAuditCommand is `audit ACCOUNT` (an account's log) and its
// subcommands over the whole, hash-chained log (docs/audit.md).
func newAuditCommand(streams Streams) *cobra.Command {
	cmd := newAuditListCommand(streams, "audit ACCOUNT", "Show an account's changes, newest first, filtered (HTTP API)", cobra.ExactArgs(1))
	cmd.Example = `  hostaccess audit acme --actor user:alice
  hostaccess audit acme --actor service --target user:carol --since 720h
  hostaccess audit search --actor service --by user:alice --flow set_access
  hostaccess audit export --actor service > audit.jsonl
  hostaccess audit verify --file audit.jsonl --head 42:9f86d08...
  hostaccess audit feed --actor service --after 42`
	search := newAuditListCommand(streams, "search", "Search the changes of every account, newest first (service actors; HTTP API)", cobra.NoArgs)
	cmd.AddCommand(search, newAuditExportCommand(streams), newAuditFeedCommand(streams), newAuditVerifyCommand(streams))
	return cmd
}

// checkAfter refuses a chain position below 0 before any request.
func checkAfter(after int64) error {
	if after < 0 {
		return fmt.Errorf("invalid --after %d: want a chain position", after)
	}
	return nil
}

func newAuditExportCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	var account string
	var after int64
	cmd := newAPILeaf("export", "Write the hash-chained log as JSON lines, in chain order (HTTP API)", cobra.NoArgs, f,
		func(cmd *cobra.Command, _ []string) error {
			check := func() error { return checkAfter(after) }
			return f.withAPI(cmd, check, func(ctx context.Context, client *apiclient.Client) error {
				out := bufio.NewWriter(streams.Out)
				enc := json.NewEncoder(out)
				n := 0
				head, err := client.AuditExport(ctx, account, after, func(e hostaccess.AuditEntry) error { n++; return enc.Encode(e) })
				if err != nil {
					return err
				}
				if err := out.Flush(); err != nil {
					return err
				}
				if head != nil {
					// On stderr: stdout is the export. Keep it: it is what
					// `audit verify --head` checks a copy against.
					fmt.Fprintf(streams.Err, "exported %d entries; chain head %s\n", n, directory.FormatLink(*head))
				}
				return nil
			})
		})
	cmd.Flags().StringVar(&account, "account", "", "only this account's entries (default: every account, service actors only)")
	cmd.Flags().Int64Var(&after, "after", 0, "start after this chain position")
	return cmd
}

func newAuditFeedCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	var account string
	var after int64
	cmd := newAPILeaf("feed", "Follow the live change feed, one JSON line an entry, until interrupted (HTTP API)", cobra.NoArgs, f,
		func(cmd *cobra.Command, _ []string) error {
			check := func() error { return checkAfter(after) }
			return f.withAPI(cmd, check, func(ctx context.Context, client *apiclient.Client) error {
				ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
				defer stop()
				enc := json.NewEncoder(streams.Out)
				err := client.AuditFeed(ctx, account, after, func(e hostaccess.AuditEntry) error {
					after = e.Chain
					return enc.Encode(e)
				})
				if err == nil || errors.Is(err, context.DeadlineExceeded) {
					fmt.Fprintf(streams.Err, "feed ended; resume with --after %d\n", after)
				}
				return err
			})
		})
	cmd.Flags().StringVar(&account, "account", "", "only this account's entries (default: every account, service actors only)")
	cmd.Flags().Int64Var(&after, "after", 0, "start after this chain position: the last one received, to resume")
	// The feed runs until interrupted, not for --timeout's 30s.
	timeout := cmd.Flags().Lookup("timeout")
	timeout.DefValue, f.timeout = "0s", 0
	timeout.Usage = "stop following after this long (0: until interrupted)"
	return cmd
}

func newAuditVerifyCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	var file, head string
	cmd := newAPILeaf("verify", "Check the hash chain of the stored log, or of an export with --file: every entry matches its hash and links to the one before", cobra.NoArgs, f,
		func(cmd *cobra.Command, _ []string) error {
			if file == "" && head != "" {
				return errors.New("--head checks an export: give the export with --file")
			}
			if file != "" {
				if err := checkOutput(f.output); err != nil {
					return err
				}
				report, err := verifyExport(file, head)
				if err != nil {
					return err
				}
				return printChainReport(streams.Out, f.json(), report)
			}
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				report, err := client.AuditVerify(ctx)
				if err != nil {
					return err
				}
				return printChainReport(streams.Out, f.json(), report)
			})
		})
	cmd.Flags().StringVar(&file, "file", "", "verify this export (`audit export`'s JSON lines) offline, without the server")
	cmd.Flags().StringVar(&head, "head", "", "with --file: the chain head kept outside (POSITION:HASH, as export printed it) the export must end at")
	return cmd
}

// verifyExport checks an export file against an optional head.
func verifyExport(path, head string) (directory.ChainReport, error) {
	var want *directory.ChainLink
	if head != "" {
		link, err := directory.ParseLink(head)
		if err != nil {
			return directory.ChainReport{}, fmt.Errorf("invalid --head: %w", err)
		}
		want = &link
	}
	in, err := os.Open(path)
	if err != nil {
		return directory.ChainReport{}, fmt.Errorf("--file: %w", err)
	}
	defer in.Close()
	var entries []hostaccess.AuditEntry
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, 16<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e hostaccess.AuditEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return directory.ChainReport{}, fmt.Errorf("--file %s line %d: not an audit entry: %w", path, line, err)
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return directory.ChainReport{}, fmt.Errorf("--file %s: %w", path, err)
	}
	return hostaccess.VerifyEntries(entries, want)
}

// printChainReport prints what verifying found; problems are an error, so
// the exit code says whether the chain holds.
func printChainReport(w io.Writer, asJSON bool, r directory.ChainReport) error {
	if asJSON {
		if err := printJSON(w, r); err != nil {
			return err
		}
	} else {
		status := "the chain holds"
		if !r.OK() {
			status = fmt.Sprintf("the chain does NOT hold: %d problem(s)", len(r.Problems))
		}
		if err := printFields(w, [][2]string{
			{"result", status}, {"entries", strconv.Itoa(r.Entries)},
			{"positions", fmt.Sprintf("%d to %d", r.From+1, r.To)}, {"head", orDash(r.Head)},
		}); err != nil {
			return err
		}
		if !r.OK() {
			rows := make([][]string, 0, len(r.Problems))
			for _, p := range r.Problems {
				rows = append(rows, []string{strconv.FormatInt(p.Chain, 10), p.Reason})
			}
			if err := printTable(w, []string{"POSITION", "PROBLEM"}, rows); err != nil {
				return err
			}
		}
	}
	if !r.OK() {
		return fmt.Errorf("the audit chain does not hold: %d problem(s)", len(r.Problems))
	}
	return nil
}
