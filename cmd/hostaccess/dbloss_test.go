package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hostaccess/hostaccess/internal/testutil"
)

// faultBound is how long the server may take to notice the database is gone
// (or back): SpiceDB's pool retries for a while.
const faultBound = 30 * time.Second

// postgresHost is host:port of the Postgres server a URI names.
func postgresHost(t *testing.T, uri string) string {
	t.Helper()
	u, err := url.Parse(uri)
	require.NoError(t, err)
	host := u.Host
	if u.Port() == "" {
		host += ":5432"
	}
	return host
}

// readyz reads /readyz once, bounded.
func readyz(s *server) (int, string, error) {
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + s.httpAddr + "/readyz")
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	var b strings.Builder
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	return resp.StatusCode, strings.TrimSpace(b.String()), nil
}

// inviteAndAccept runs one whole flow: invite user to account with billing
// and accept it.
func inviteAndAccept(c apiClient, account, owner, user string) (apiResult, apiResult) {
	email := user + "@loss.test"
	inv := c.do("POST", "/v1/accounts/"+account+"/invitations", "user:"+owner, map[string]any{"email": email, "access": map[string]any{"rights": []string{"billing"}}})
	if !inv.ok() {
		return inv, apiResult{}
	}
	var link struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(inv.body, &link); err != nil {
		return inv, apiResult{err: err}
	}
	acc := c.do("POST", "/v1/invitations/accept", "", map[string]any{"token": link.Token, "user_id": user, "email": email, "email_verified": true})
	return inv, acc
}

// TestDatabaseLossMidRunRecoversWithoutRestart cuts serve's database (both
// SpiceDB's datastore and the directory, through one proxy) while it
// serves: requests fail with 503 unavailable and /readyz says not ready;
// nothing is half-written; when the database returns, the same process is
// ready again and flows succeed (docs/durability.md, "Faults").
func TestDatabaseLossMidRunRecoversWithoutRestart(t *testing.T) {
	uri := testutil.PostgresDatabase(t)
	res := run(t, "", "migrate", "--datastore-engine", "postgres", "--datastore-conn-uri", uri)
	require.Equal(t, 0, res.code, res.stderr)

	proxy := testutil.StartProxy(t, postgresHost(t, uri))
	viaProxy, err := proxy.URI(uri)
	require.NoError(t, err)
	s := startServe(t, durableFlags(viaProxy, "--skip-migrations")...)
	pid := s.cmd.Process.Pid
	c := newAPIClient(s, faultBound+5*time.Second)

	c.do("POST", "/v1/accounts", "service", map[string]any{"id": "lossy", "name": "Lossy", "owner_id": "olga", "owner_email": "olga@loss.test"}).must(t, http.StatusCreated, nil)
	c.do("POST", "/v1/accounts/lossy/products", "service", map[string]any{"name": "site"}).must(t, http.StatusCreated, nil)
	inv, acc := inviteAndAccept(c, "lossy", "olga", "ivan")
	inv.must(t, http.StatusCreated, nil)
	acc.must(t, http.StatusOK, nil)
	require.Positive(t, proxy.Connections(), "serve reaches Postgres through the proxy")
	zed := s.client(t)
	// An invitation to accept while the database is gone.
	var paulLink struct {
		Token string `json:"token"`
	}
	c.do("POST", "/v1/accounts/lossy/invitations", "user:olga", map[string]any{"email": "paul@loss.test", "access": map[string]any{"rights": []string{"domains"}}}).must(t, http.StatusCreated, &paulLink)
	acceptPaul := map[string]any{"token": paulLink.Token, "user_id": "paul", "email": "paul@loss.test", "email_verified": true}

	// The database goes away.
	proxy.Cut()
	cutAt := time.Now()
	t.Logf("cut %d connections", proxy.Accepted())

	type probe struct {
		name, method, path, actor string
		body                      any
	}
	probes := []probe{
		{"check", "POST", "/v1/check", "", map[string]any{"resource": "account:lossy", "permission": "pay_invoices", "subject": "user:ivan"}},
		{"list members", "GET", "/v1/accounts/lossy/members", "user:olga", nil},
		{"set access", "PUT", "/v1/accounts/lossy/members/ivan/access", "user:olga", map[string]any{"rights": []string{"billing", "domains"}}},
		{"invite", "POST", "/v1/accounts/lossy/invitations", "user:olga", map[string]any{"email": "nina@loss.test", "access": map[string]any{"rights": []string{"support"}}}},
		{"audit", "GET", "/v1/accounts/lossy/audit", "user:olga", nil},
		{"accept (directory first)", "POST", "/v1/invitations/accept", "", acceptPaul},
	}
	// Twice: at once (the pools' connections just broke) and a second
	// later (the pools dial again and are refused).
	for pass, when := range []string{"at once", "a second later"} {
		if pass == 1 {
			time.Sleep(time.Second)
		}
		for _, p := range probes {
			// Until the first failure: a read may be answered from SpiceDB's
			// caches for a moment, and that is not a fault.
			var seen []string
			var failure apiResult
			for {
				r := c.do(p.method, p.path, p.actor, p.body)
				seen = append(seen, r.String())
				if !r.ok() {
					failure = r
					break
				}
				if time.Since(cutAt) > faultBound {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			t.Logf("database cut, %s, %s (%s since the cut): %s", when, p.name, time.Since(cutAt).Round(time.Millisecond), strings.Join(seen, " | "))
			// assert, not require: every probe is reported, and the
			// recovery below is checked even when these answers are wrong.
			if assert.NoError(t, failure.err, "%s, %s: answered within %s", when, p.name, c.hc.Timeout) {
				assert.LessOrEqual(t, failure.took, faultBound, "%s, %s: a request fails within %s of losing the database", when, p.name, faultBound)
				assert.Equal(t, http.StatusServiceUnavailable, failure.status, "%s, %s: %s", when, p.name, failure)
				assert.True(t, strings.HasPrefix(failure.contentType, "application/problem+json"), "%s, %s: %s", when, p.name, failure)
				assert.Equal(t, "unavailable", failure.code(), "%s, %s: %s", when, p.name, failure)
			}
		}
	}

	// The gRPC API (SpiceDB's own) answers UNAVAILABLE.
	for name, call := range map[string]func(ctx context.Context) error{
		"CheckPermission": func(ctx context.Context) error {
			_, err := zed.CheckPermission(ctx, &v1.CheckPermissionRequest{
				Resource: parseObject("account:lossy"), Permission: "pay_invoices",
				Subject:     &v1.SubjectReference{Object: parseObject("user:ivan")},
				Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			})
			return err
		},
		"WriteRelationships": func(ctx context.Context) error {
			_, err := zed.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
				Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
				Relationship: &v1.Relationship{Resource: parseObject("account:lossy"), Relation: "billing",
					Subject: &v1.SubjectReference{Object: parseObject("user:ghost")}},
			}}})
			return err
		},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), faultBound)
		start := time.Now()
		err := call(ctx)
		cancel()
		t.Logf("database cut, gRPC %s: %s after %s: %v", name, status.Code(err), time.Since(start).Round(time.Millisecond), err)
		assert.Equal(t, codes.Unavailable, status.Code(err), "gRPC %s while the database is gone: %v", name, err)
	}

	var readyStatus int
	var readyBody string
	notReady := assert.Eventually(t, func() bool {
		readyStatus, readyBody, _ = readyz(s)
		return readyStatus == http.StatusServiceUnavailable
	}, faultBound, 200*time.Millisecond, "/readyz reports not ready while the database is gone")
	t.Logf("database cut, /readyz (%s since the cut): %d %q", time.Since(cutAt).Round(time.Millisecond), readyStatus, readyBody)
	if notReady {
		assert.Truef(t, strings.Contains(readyBody, "datastore") || strings.Contains(readyBody, "directory"), "/readyz names what is not ready: %q", readyBody)
	}

	// The database comes back: the same process recovers.
	require.NoError(t, proxy.Resume())
	resumedAt := time.Now()
	require.Eventually(t, func() bool {
		readyStatus, readyBody, _ = readyz(s)
		return readyStatus == http.StatusOK
	}, faultBound, 200*time.Millisecond, "/readyz ready again once the database is back (last: %d %q)", readyStatus, readyBody)
	t.Logf("database back, /readyz ready after %s", time.Since(resumedAt).Round(time.Millisecond))

	var last []string
	require.Eventually(t, func() bool {
		inv, acc := inviteAndAccept(c, "lossy", "olga", fmt.Sprintf("back%d", len(last)))
		last = append(last, inv.String()+" / "+acc.String())
		return inv.ok() && acc.ok()
	}, faultBound, 500*time.Millisecond, "flows succeed again without a restart: %v", last)
	t.Logf("database back, a whole flow succeeded after %s; attempts: %s", time.Since(resumedAt).Round(time.Millisecond), strings.Join(last, " | "))
	require.True(t, s.running(), "serve kept running")
	require.Equal(t, pid, s.cmd.Process.Pid)
	c.do("PUT", "/v1/accounts/lossy/members/ivan/access", "user:olga", map[string]any{"rights": []string{"billing", "support"}}).must(t, http.StatusOK, nil)
	require.True(t, s.allowed(t, "account:lossy", "open_ticket", "user:ivan"))

	// Nothing half-written. A flow whose write outcome was unknown (the
	// reply lost with the connection) is settled by the recovery loop,
	// which runs every 30 s: wait for it.
	db := pgConnect(t, uri)
	settleStart := time.Now()
	require.Eventually(t, func() bool { return auditIntents(t, db) == 0 }, 35*time.Second, 250*time.Millisecond,
		"unsettled intents: %v", listIntents(t, db))
	t.Logf("every audit intent settled %s after the flows succeeded again", time.Since(settleStart).Round(time.Millisecond))

	// The requests refused while it was gone left nothing: ivan's access is
	// the one set afterwards, nina was never invited, paul's invitation is
	// still pending and usable.
	var ninas int
	require.NoError(t, db.QueryRow(context.Background(), `SELECT count(*) FROM hostaccess.invitations WHERE email = 'nina@loss.test' AND status = 'pending'`).Scan(&ninas))
	require.Zero(t, ninas, "the invitation refused while the database was gone exists nowhere")
	var applied int
	require.NoError(t, db.QueryRow(context.Background(), `SELECT count(*) FROM hostaccess.audit WHERE flow = 'set_access' AND outcome = 'applied' AND after_state::text LIKE '%domains%'`).Scan(&applied))
	require.Zero(t, applied, "the refused set_access is not audited as applied")
	var members struct {
		Members []memberView `json:"members"`
	}
	c.do("GET", "/v1/accounts/lossy/members", "user:olga", nil).must(t, http.StatusOK, &members)
	for _, m := range members.Members {
		require.NotEqual(t, "paul", m.UserID, "the refused acceptance granted nothing")
		if m.UserID == "ivan" {
			require.Equal(t, access{Rights: []string{"billing", "support"}}.String(), m.Access.String())
		}
	}

	// Every pending invitation has its relationships, and the other way round.
	inSpiceDB, dirStatus := invitationStates(t, zed, db, "")
	for id, status := range dirStatus {
		require.Equal(t, status == "pending", inSpiceDB[id], "invitation %s: %q in the directory, relationships %v", id, status, inSpiceDB[id])
	}
	for id := range inSpiceDB {
		require.Equal(t, "pending", dirStatus[id], "invitation %s holds relationships", id)
	}
	c.do("POST", "/v1/invitations/accept", "", acceptPaul).must(t, http.StatusOK, nil)
	require.True(t, s.allowed(t, "account:lossy", "manage_domains", "user:paul"))
}

// TestDatabaseDownAtStart: serve against a database that refuses
// connections exits non-zero, in bounded time, with a one-line error naming
// the datastore or the directory.
func TestDatabaseDownAtStart(t *testing.T) {
	uri := testutil.PostgresDatabase(t)
	proxy := testutil.StartProxy(t, postgresHost(t, uri))
	refusing, err := proxy.URI(uri)
	require.NoError(t, err)
	proxy.Cut()
	u, err := url.Parse(uri)
	require.NoError(t, err)
	u.Host = "127.0.0.1:1"
	nothingListening := u.String()

	for name, tc := range map[string]struct {
		uri   string
		extra []string
	}{
		"refusing proxy":                    {refusing, nil},
		"nothing listening":                 {nothingListening, nil},
		"refusing proxy, --skip-migrations": {refusing, []string{"--skip-migrations"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), faultBound+15*time.Second)
			defer cancel()
			args := append([]string{"serve", "--grpc-addr", freePort(t), "--http-addr", freePort(t), "--log-format", "json"}, durableFlags(tc.uri, tc.extra...)...)
			cmd := exec.CommandContext(ctx, binary, args...)
			cmd.Env = cleanEnv()
			var stdout, stderr syncBuffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			err := cmd.Run()
			took := time.Since(start)
			var exitErr *exec.ExitError
			require.True(t, errors.As(err, &exitErr), "serve exits with an error, got %v after %s; stderr:\n%s", err, took, stderr.String())
			require.NoError(t, ctx.Err(), "serve still running after %s: it neither served nor gave up; stderr:\n%s", took, tail(stderr.String(), 20))
			require.NotZero(t, exitErr.ExitCode())
			require.LessOrEqual(t, took, faultBound, "serve gives up within %s", faultBound)

			var errLines []string
			for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				if strings.HasPrefix(line, "error:") {
					errLines = append(errLines, line)
				}
			}
			t.Logf("exit %d after %s: %v", exitErr.ExitCode(), took.Round(time.Millisecond), errLines)
			require.Len(t, errLines, 1, "one error line; stderr:\n%s", tail(stderr.String(), 20))
			require.True(t, strings.HasSuffix(strings.TrimSpace(stderr.String()), errLines[0]), "the error is the last line, whole on one line; stderr:\n%s", tail(stderr.String(), 20))
			require.Truef(t, strings.Contains(errLines[0], "datastore") || strings.Contains(errLines[0], "directory"), "the error names the datastore or the directory: %s", errLines[0])
		})
	}
}

func tail(text string, n int) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
