package engine_test

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/authzed-go/v1"
	"github.com/authzed/grpcutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hostaccess/hostaccess/internal/testutil"
	"github.com/hostaccess/hostaccess/internal/tlsconf"
	"github.com/hostaccess/hostaccess/pkg/engine"
	"github.com/hostaccess/hostaccess/schema"
)

// TestGRPCOverTLS: with a certificate the API is served over TLS only; a
// client trusting the authority is served, others are refused, and the
// engine's own client (readiness, schema) still works.
func TestGRPCOverTLS(t *testing.T) {
	files := testutil.NewTLSFiles(t)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	eng, err := engine.Open(ctx, engine.Config{
		DatastoreEngine: engine.EngineMemory,
		GRPCAddr:        addr,
		PresharedKey:    "test-key",
		TLSCertPath:     files.Cert,
		TLSKeyPath:      files.Key,
	}, zap.NewNop())
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		require.NoError(t, eng.Close())
	})
	_, err = eng.EnsureSchema(ctx, schema.Hosting)
	require.NoError(t, err, "the engine's own client speaks TLS to its listener")
	require.NoError(t, eng.Ready(ctx))

	readSchema := func(t *testing.T, opts ...grpc.DialOption) error {
		client, err := authzed.NewClient(addr, opts...)
		require.NoError(t, err)
		defer func() { _ = client.Close() }()
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err = client.ReadSchema(callCtx, &v1.ReadSchemaRequest{})
		return err
	}
	t.Run("a client trusting the authority is served", func(t *testing.T) {
		cfg, err := tlsconf.ClientConfig(files.CA, "--tls-ca-path")
		require.NoError(t, err)
		require.NoError(t, readSchema(t, grpc.WithTransportCredentials(credentials.NewTLS(cfg)), grpcutil.WithBearerToken("test-key")))
	})
	t.Run("a client trusting another authority is refused", func(t *testing.T) {
		cfg, err := tlsconf.ClientConfig(testutil.NewTLSFiles(t).CA, "--tls-ca-path")
		require.NoError(t, err)
		err = readSchema(t, grpc.WithTransportCredentials(credentials.NewTLS(cfg)), grpcutil.WithBearerToken("test-key"))
		require.ErrorContains(t, err, "certificate signed by unknown authority")
	})
	t.Run("an engine using it as external cluster verifies it with --spicedb-tls-ca-path", func(t *testing.T) {
		remote := func(caPath string) error {
			r, err := engine.Open(ctx, engine.Config{SpiceDBEndpoint: addr, SpiceDBToken: "test-key", SpiceDBCAPath: caPath}, zap.NewNop())
			require.NoError(t, err)
			defer func() { _ = r.Close() }()
			callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			return r.Ready(callCtx)
		}
		require.NoError(t, remote(files.CA))
		require.ErrorContains(t, remote(""), "certificate signed by unknown authority", "the system's authorities do not know the test CA")
	})
	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		cfg, err := tlsconf.ClientConfig(files.CA, "--tls-ca-path")
		require.NoError(t, err)
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		conn, err := tls.Dial("tcp", addr, cfg)
		if err == nil {
			_ = conn.Close()
		}
		require.Error(t, err)
	})
	t.Run("plaintext is refused", func(t *testing.T) {
		err := readSchema(t, grpc.WithTransportCredentials(insecure.NewCredentials()), grpcutil.WithInsecureBearerToken("test-key"))
		require.Error(t, err)
	})
}

func TestTLSConfigurationIsValidated(t *testing.T) {
	files := testutil.NewTLSFiles(t)
	base := engine.Config{DatastoreEngine: engine.EngineMemory, GRPCAddr: "127.0.0.1:0", PresharedKey: "k"}
	tests := []struct {
		name    string
		edit    func(c *engine.Config)
		wantErr string
	}{
		{name: "certificate and key", edit: func(c *engine.Config) { c.TLSCertPath, c.TLSKeyPath = files.Cert, files.Key }},
		{name: "certificate without key", edit: func(c *engine.Config) { c.TLSCertPath = files.Cert }, wantErr: "--grpc-tls-cert-path is set without --grpc-tls-key-path"},
		{name: "key without certificate", edit: func(c *engine.Config) { c.TLSKeyPath = files.Key }, wantErr: "--grpc-tls-key-path is set without --grpc-tls-cert-path"},
		{name: "a CA for the external cluster", edit: func(c *engine.Config) {
			c.SpiceDBEndpoint, c.SpiceDBToken, c.SpiceDBCAPath = "spicedb:50051", "k", files.CA
		}},
		{name: "a CA and plaintext", edit: func(c *engine.Config) {
			c.SpiceDBEndpoint, c.SpiceDBToken, c.SpiceDBCAPath, c.SpiceDBInsecure = "spicedb:50051", "k", files.CA, true
		}, wantErr: "contradict"},
		{name: "a CA file without a certificate", edit: func(c *engine.Config) {
			c.SpiceDBEndpoint, c.SpiceDBToken, c.SpiceDBCAPath = "spicedb:50051", "k", files.Key
		}, wantErr: "--spicedb-tls-ca-path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.edit(&c)
			err := c.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}
