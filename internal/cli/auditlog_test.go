package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/cli"
)

func TestAuditEvidenceCommands(t *testing.T) {
	st := startAPI(t)
	st.ok(t, "account", "create", "acme", "--owner", "alice", "--actor", "service")
	st.ok(t, "account", "create", "other", "--owner", "olga", "--actor", "service")
	st.ok(t, "product", "add", "acme", "site", "--tag", "client-x", "--actor", "service")
	st.ok(t, "invite", "create", "acme", "carol@example.com", "--right", "billing", "--actor", "user:alice")

	// Filtered: who did what, across accounts for the service.
	byAlice := st.ok(t, "audit", "search", "--by", "user:alice", "--actor", "service")
	require.Regexp(t, `(?m)^\d+\s+\S+\s+acme\s+user:alice\s+invite\s+invitation:acme/\S+\s*$`, byAlice)
	require.Len(t, strings.Split(strings.TrimSpace(byAlice), "\n"), 2)
	created := st.ok(t, "audit", "search", "--flow", "create_account", "--actor", "service")
	require.Contains(t, created, "other")
	st.refused(t, "forbidden", "audit", "search", "--actor", "user:alice")
	r := st.run(t, "audit", "acme", "--since", "last week", "--actor", "user:alice")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.errOut, "invalid --since")

	// Export, then verify the copy offline against the head it printed.
	r = st.run(t, "audit", "export", "--actor", "service")
	require.Equal(t, cli.ExitOK, r.code, r.errOut)
	head := regexp.MustCompile(`chain head (\d+:[0-9a-f]{64})`).FindStringSubmatch(r.errOut)
	require.NotNil(t, head, r.errOut)
	require.Equal(t, 4, strings.Count(r.out, "\n"), "four entries: %s", r.out)
	file := filepath.Join(t.TempDir(), "audit.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(r.out), 0o600))

	ok := runCLI(t, "audit", "verify", "--file", file, "--head", head[1])
	require.Equal(t, cli.ExitOK, ok.code, ok.errOut)
	require.Regexp(t, `(?m)^result:\s+the chain holds$`, ok.out)
	require.Regexp(t, `(?m)^entries:\s+4$`, ok.out)

	// An edited line and a removed one are both found; the exit code says so.
	lines := strings.SplitAfter(r.out, "\n")
	lines[1] = strings.Replace(lines[1], `"other"`, `"acme"`, 1)
	lines = append(lines[:2], lines[3:]...)
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(lines, "")), 0o600))
	bad := runCLI(t, "audit", "verify", "--file", file, "--head", head[1])
	require.Equal(t, cli.ExitError, bad.code)
	require.Contains(t, bad.out, "the chain does NOT hold: 2 problem(s)")
	require.Regexp(t, `(?m)^2\s+content does not match its hash`, bad.out)
	require.Regexp(t, `(?m)^3\s+entries 3 to 3 are missing`, bad.out)
	require.Contains(t, bad.errOut, "the audit chain does not hold")

	// The server checks its own store.
	require.Regexp(t, `(?m)^result:\s+the chain holds$`, st.ok(t, "audit", "verify", "--actor", "service"))
	st.refused(t, "forbidden", "audit", "verify", "--actor", "user:alice")

	// The feed: what is there, then it follows until --timeout.
	feed := st.run(t, "audit", "feed", "--after", "2", "--timeout", "1s", "--actor", "service")
	require.Equal(t, cli.ExitOK, feed.code, feed.errOut)
	require.Equal(t, 2, strings.Count(feed.out, "\n"), feed.out)
	require.Contains(t, feed.errOut, "resume with --after 4")
	st.refused(t, "forbidden", "audit", "feed", "--account", "acme", "--actor", "user:carol")
}
