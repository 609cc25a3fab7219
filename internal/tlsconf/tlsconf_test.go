package tlsconf_test

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/internal/tlsconf"
)

func pair(cert, key string) tlsconf.Pair {
	return tlsconf.Pair{Cert: cert, Key: key, CertFlag: "--x-tls-cert-path", KeyFlag: "--x-tls-key-path"}
}

func TestPairValidate(t *testing.T) {
	a, b := testutil.NewTLSFiles(t), testutil.NewTLSFiles(t)
	notPEM := filepath.Join(t.TempDir(), "junk.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))
	tests := []struct {
		name      string
		cert, key string
		wantErr   string
	}{
		{name: "neither: plaintext"},
		{name: "a matching pair", cert: a.Cert, key: a.Key},
		{name: "certificate without key", cert: a.Cert, wantErr: "--x-tls-cert-path is set without --x-tls-key-path"},
		{name: "key without certificate", key: a.Key, wantErr: "--x-tls-key-path is set without --x-tls-cert-path"},
		{name: "key of another certificate", cert: a.Cert, key: b.Key, wantErr: "private key does not match"},
		{name: "missing file", cert: a.Cert, key: filepath.Join(t.TempDir(), "absent.pem"), wantErr: "no such file"},
		{name: "not PEM", cert: notPEM, key: a.Key, wantErr: "--x-tls-cert-path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := pair(tc.cert, tc.key)
			err := p.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				cfg, err := p.ServerConfig()
				require.NoError(t, err)
				require.Equal(t, p.Enabled(), cfg != nil)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

// serveTLS accepts connections with cfg and completes their handshakes.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			_ = c.Close()
		}
	}()
	return l.Addr().String()
}

func TestClientAndServerConfigs(t *testing.T) {
	files, other := testutil.NewTLSFiles(t), testutil.NewTLSFiles(t)
	srvCfg, err := pair(files.Cert, files.Key).ServerConfig()
	require.NoError(t, err)
	addr := serveTLS(t, srvCfg)

	dial := func(cfg *tls.Config) error {
		c, err := tls.Dial("tcp", addr, cfg)
		if err == nil {
			_ = c.Close()
		}
		return err
	}
	t.Run("the right authority is trusted", func(t *testing.T) {
		cfg, err := tlsconf.ClientConfig(files.CA, "--tls-ca-path")
		require.NoError(t, err)
		require.NoError(t, dial(cfg))
	})
	t.Run("another authority is refused", func(t *testing.T) {
		cfg, err := tlsconf.ClientConfig(other.CA, "--tls-ca-path")
		require.NoError(t, err)
		require.ErrorContains(t, dial(cfg), "certificate signed by unknown authority")
	})
	t.Run("the system's authorities refuse a private one", func(t *testing.T) {
		cfg, err := tlsconf.ClientConfig("", "--tls-ca-path")
		require.NoError(t, err)
		require.Error(t, dial(cfg))
	})
	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		cfg, err := tlsconf.ClientConfig(files.CA, "--tls-ca-path")
		require.NoError(t, err)
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		require.Error(t, dial(cfg))
	})
	t.Run("a CA file without a certificate is refused", func(t *testing.T) {
		_, err := tlsconf.ClientConfig(files.Key, "--tls-ca-path")
		require.ErrorContains(t, err, "--tls-ca-path")
		_, err = tlsconf.ClientConfig(filepath.Join(t.TempDir(), "absent"), "--tls-ca-path")
		require.ErrorContains(t, err, "--tls-ca-path")
	})
	t.Run("pinned: the served certificate is trusted whatever the name", func(t *testing.T) {
		cfg := tlsconf.PinnedClientConfig(files.Cert)
		cfg.ServerName = "not-a-name-of-the-certificate"
		require.NoError(t, dial(cfg))
	})
	t.Run("pinned: another certificate is refused", func(t *testing.T) {
		require.ErrorContains(t, dial(tlsconf.PinnedClientConfig(other.Cert)), "not the one in")
	})
}
