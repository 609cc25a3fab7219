package main_test

import (
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/internal/tlsconf"
)

const tlsAPIKey = "e2e-api-key-0123456789"

// startTLSServer runs serve on the memory datastore with both ports over
// TLS (--tls-cert-path / --tls-key-path) and waits until /readyz answers
// over HTTPS.
func startTLSServer(t *testing.T, files testutil.TLSFiles) *server {
	t.Helper()
	s := &server{grpcAddr: freePort(t), httpAddr: freePort(t), logs: &syncBuffer{}}
	s.cmd = exec.Command(binary, "serve", "--grpc-addr", s.grpcAddr, "--http-addr", s.httpAddr, "--log-format", "json",
		"--grpc-preshared-key", testKey, "--api-keys", "panel="+tlsAPIKey,
		"--tls-cert-path", files.Cert, "--tls-key-path", files.Key)
	s.cmd.Stdout, s.cmd.Stderr, s.cmd.Env = s.logs, s.logs, cleanEnv()
	require.NoError(t, s.cmd.Start())
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill()
			_ = s.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("server logs:\n%s", s.logs)
		}
	})
	cfg, err := tlsconf.ClientConfig(files.CA, "--tls-ca-path")
	require.NoError(t, err)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := client.Get("https://" + s.httpAddr + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("server not ready in time; logs:\n%s", s.logs)
	return nil
}

// TestServeOverTLS: with --tls-cert-path both ports speak TLS only; the
// CLI's gRPC and HTTP API commands connect with --tls-ca-path, and are
// refused without it or in plaintext.
func TestServeOverTLS(t *testing.T) {
	files := testutil.NewTLSFiles(t)
	s := startTLSServer(t, files)
	grpcArgs := []string{"rel", "read", "account:acme", "--endpoint", s.grpcAddr, "--token", testKey}
	apiArgs := []string{"accounts", "alice", "--api-key", tlsAPIKey, "--actor", "service", "--output", "json"}

	t.Run("gRPC with the CA is served", func(t *testing.T) {
		res := run(t, "", append(grpcArgs, "--tls-ca-path", files.CA)...)
		require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
	})
	t.Run("gRPC without the CA is refused", func(t *testing.T) {
		res := run(t, "", append(grpcArgs, "--timeout", "5s")...)
		require.Equal(t, 2, res.code)
		require.Contains(t, res.stderr, "certificate")
	})
	t.Run("gRPC in plaintext is refused", func(t *testing.T) {
		res := run(t, "", append(grpcArgs, "--insecure", "--timeout", "5s")...)
		require.Equal(t, 2, res.code, "stdout: %s", res.stdout)
	})
	t.Run("the HTTP API with the CA is served", func(t *testing.T) {
		res := run(t, "", append(apiArgs, "--api-url", "https://"+s.httpAddr, "--tls-ca-path", files.CA)...)
		require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
		require.Contains(t, res.stdout, "[]")
	})
	t.Run("the HTTP API without the CA is refused", func(t *testing.T) {
		res := run(t, "", append(apiArgs, "--api-url", "https://"+s.httpAddr)...)
		require.Equal(t, 2, res.code)
		require.Contains(t, res.stderr, "certificate signed by unknown authority")
	})
	t.Run("the HTTP API in plaintext is refused", func(t *testing.T) {
		res := run(t, "", append(apiArgs, "--api-url", "http://"+s.httpAddr)...)
		require.Equal(t, 2, res.code, "stdout: %s", res.stdout)
	})
	t.Run("a CA with a plaintext URL is a usage error", func(t *testing.T) {
		res := run(t, "", append(apiArgs, "--api-url", "http://"+s.httpAddr, "--tls-ca-path", files.CA)...)
		require.Equal(t, 2, res.code)
		require.Contains(t, res.stderr, "--tls-ca-path verifies an https:// server")
	})
}

func TestServeRefusesHalfATLSPair(t *testing.T) {
	files := testutil.NewTLSFiles(t)
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"certificate without key": {[]string{"--tls-cert-path", files.Cert}, "--tls-cert-path is set without --grpc-tls-key-path (or --tls-key-path)"},
		"key without certificate": {[]string{"--http-tls-key-path", files.Key}, "--http-tls-key-path is set without --http-tls-cert-path (or --tls-cert-path)"},
		"gRPC's own key":          {[]string{"--grpc-tls-cert-path", files.Cert}, "--grpc-tls-cert-path is set without --grpc-tls-key-path"},
		"mismatched pair":         {[]string{"--tls-cert-path", files.Cert, "--tls-key-path", testutil.NewTLSFiles(t).Key}, "private key does not match"},
	} {
		t.Run(name, func(t *testing.T) {
			res := run(t, "", append([]string{"serve", "--grpc-preshared-key", testKey, "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"}, tc.args...)...)
			require.Equal(t, 2, res.code)
			require.Contains(t, res.stderr, tc.want)
		})
	}
}
