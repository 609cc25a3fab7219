package main_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// statusWithKey is the status of GET /v1/users/alice/accounts (a read) or
// POST /v1/accounts (a write) sent with key.
func (s *server) statusWithKey(t *testing.T, key string, write bool) int {
	t.Helper()
	method, path, body := "GET", "/v1/users/alice/accounts", ""
	if write {
		method, path, body = "POST", "/v1/accounts", `{"id":"acme-`+strings.ToLower(key[:4])+`","name":"Acme","owner_id":"alice","owner_email":"alice@example.com","owner_name":"Alice"}`
	}
	req, err := http.NewRequest(method, "http://"+s.httpAddr+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hostaccess-Actor", "service")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// eventually waits until the status with key is want.
func (s *server) eventually(t *testing.T, key string, want int, why string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.statusWithKey(t, key, false) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not %d; logs:\n%s", why, want, s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAPIKeysRotateWithoutRestart: --api-keys-file is reloaded on SIGHUP
// and when it changes; the old key is refused and the new one accepted
// by the same process; a broken file keeps the keys in force.
func TestAPIKeysRotateWithoutRestart(t *testing.T) {
	const (
		keyA      = "AAAA-key-0123456789"
		keyB      = "BBBB-key-0123456789"
		keyC      = "CCCC-key-0123456789"
		readOnly  = "RRRR-key-0123456789"
		staticKey = "SSSS-key-0123456789"
	)
	path := filepath.Join(t.TempDir(), "api-keys")
	write := func(content string) {
		t.Helper()
		// Atomically, as a deployment would: a reader never sees half a file.
		tmp := path + ".tmp"
		require.NoError(t, os.WriteFile(tmp, []byte(content), 0o600))
		require.NoError(t, os.Rename(tmp, path))
	}
	write("# the panel\npanel=" + keyA + "\n\nauditor:read=" + readOnly + "\n")
	s := startServer(t, "--grpc-preshared-key", testKey, "--api-keys-file", path, "--api-keys", "ops="+staticKey)

	require.Equal(t, http.StatusOK, s.statusWithKey(t, keyA, false))
	require.Equal(t, http.StatusCreated, s.statusWithKey(t, keyA, true))
	require.Equal(t, http.StatusOK, s.statusWithKey(t, readOnly, false), "a read key reads")
	require.Equal(t, http.StatusForbidden, s.statusWithKey(t, readOnly, true), "a read key cannot run a flow")
	require.Equal(t, http.StatusOK, s.statusWithKey(t, staticKey, false))

	t.Run("SIGHUP swaps the keys", func(t *testing.T) {
		write("panel=" + keyB + "\n")
		require.NoError(t, s.cmd.Process.Signal(syscall.SIGHUP))
		s.eventually(t, keyB, http.StatusOK, "the new key after SIGHUP")
		require.Equal(t, http.StatusUnauthorized, s.statusWithKey(t, keyA, false), "the old key is refused")
		require.Equal(t, http.StatusUnauthorized, s.statusWithKey(t, readOnly, false), "a removed key is refused")
		require.Equal(t, http.StatusOK, s.statusWithKey(t, staticKey, false), "--api-keys stay")
	})
	t.Run("a broken file keeps the keys in force", func(t *testing.T) {
		write("panel=" + keyC + "\nbilling=short\n")
		require.NoError(t, s.cmd.Process.Signal(syscall.SIGHUP))
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(s.logs.String(), "the previous keys stay in force") {
			require.True(t, time.Now().Before(deadline), "no reload error logged; logs:\n%s", s.logs)
			time.Sleep(50 * time.Millisecond)
		}
		require.Contains(t, s.logs.String(), "line 2")
		require.NotContains(t, s.logs.String(), keyC, "keys are never logged")
		require.Equal(t, http.StatusOK, s.statusWithKey(t, keyB, false))
		require.Equal(t, http.StatusUnauthorized, s.statusWithKey(t, keyC, false))
	})
	t.Run("a changed file is picked up without a signal", func(t *testing.T) {
		write("panel=" + keyC + "\n")
		s.eventually(t, keyC, http.StatusOK, "the new key after the file changed")
		require.Equal(t, http.StatusUnauthorized, s.statusWithKey(t, keyB, false))
	})
	require.Equal(t, 0, s.stop(t), "the same process served throughout, and stops cleanly")
}

func TestServeRefusesABadKeysFile(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		content string
		want    string
	}{
		"short key":    {"# keys\npanel=short\n", "line 2: panel: the key must be at least 16 characters"},
		"bad scope":    {"panel:admin=0123456789abcdef0\n", `unknown scope "admin"`},
		"no key":       {"# nothing yet\n", "holds no key"},
		"the same key": {"a=0123456789abcdef0\nb=0123456789abcdef0\n", "the same key"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
			res := run(t, "", "serve", "--grpc-preshared-key", testKey, "--api-keys-file", path)
			require.Equal(t, 2, res.code)
			require.Contains(t, res.stderr, "--api-keys-file")
			require.Contains(t, res.stderr, tc.want)
			require.NotContains(t, res.stderr, "0123456789abcdef0", "keys are never echoed")
		})
	}
	res := run(t, "", "serve", "--grpc-preshared-key", testKey, "--api-keys-file", filepath.Join(dir, "absent"))
	require.Equal(t, 2, res.code)
	require.Contains(t, res.stderr, "no such file")
}
