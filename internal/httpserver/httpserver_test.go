package httpserver_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/hostaccess/hostaccess/internal/httpserver"
	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/internal/tlsconf"
)

// start runs a server until the test ends; tlsCfg nil serves plaintext.
func start(t *testing.T, tlsCfg *tls.Config) *httpserver.Server {
	t.Helper()
	srv, err := httpserver.New("127.0.0.1:0", func(context.Context) error { return nil }, prometheus.NewRegistry(), zap.NewNop())
	require.NoError(t, err)
	if tlsCfg != nil {
		srv.UseTLS(tlsCfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, time.Second) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return srv
}

func get(client *http.Client, url string) (int, string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func clientTrusting(t *testing.T, caPath string) *http.Client {
	t.Helper()
	cfg, err := tlsconf.ClientConfig(caPath, "--tls-ca-path")
	require.NoError(t, err)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
}

func TestServesHTTPSWithTheConfiguredCertificate(t *testing.T) {
	files := testutil.NewTLSFiles(t)
	srvCfg, err := tlsconf.Pair{Cert: files.Cert, Key: files.Key}.ServerConfig()
	require.NoError(t, err)
	srv := start(t, srvCfg)

	t.Run("a client trusting the authority is served", func(t *testing.T) {
		status, body, err := get(clientTrusting(t, files.CA), "https://"+srv.Addr()+"/healthz")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, "ok\n", body)
	})
	t.Run("a client not trusting it is refused", func(t *testing.T) {
		_, _, err := get(clientTrusting(t, testutil.NewTLSFiles(t).CA), "https://"+srv.Addr()+"/healthz")
		require.ErrorContains(t, err, "certificate signed by unknown authority")
	})
	t.Run("plaintext HTTP is refused", func(t *testing.T) {
		status, body, err := get(http.DefaultClient, "http://"+srv.Addr()+"/healthz")
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, status)
		require.NotContains(t, body, "ok")
	})
	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		client := clientTrusting(t, files.CA)
		tr := client.Transport.(*http.Transport)
		tr.TLSClientConfig.MinVersion, tr.TLSClientConfig.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		_, _, err := get(client, "https://"+srv.Addr()+"/healthz")
		require.Error(t, err)
	})
}

func TestServesPlaintextWithoutTLS(t *testing.T) {
	srv := start(t, nil)
	status, _, err := get(http.DefaultClient, "http://"+srv.Addr()+"/healthz")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	_, _, err = get(clientTrusting(t, testutil.NewTLSFiles(t).CA), "https://"+srv.Addr()+"/healthz")
	require.Error(t, err, "no TLS handshake from a plaintext server")
}
