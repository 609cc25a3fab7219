package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authzed/authzed-go/v1"
	"github.com/authzed/grpcutil"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hostaccess/hostaccess/internal/tlsconf"
)

// connFlags are the flags of every client command.
type connFlags struct {
	endpoint string
	token    string
	insecure bool
	caPath   string
	timeout  time.Duration
	output   string
}

func (c *connFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.endpoint, "endpoint", "localhost:50051", "gRPC address of a hostaccess server (or any SpiceDB)")
	cmd.Flags().StringVar(&c.token, "token", "", "preshared key of the server (--grpc-preshared-key of serve)")
	cmd.Flags().BoolVar(&c.insecure, "insecure", false, "plaintext gRPC, no TLS (a local server)")
	cmd.Flags().StringVar(&c.caPath, "tls-ca-path", "", "PEM authorities verifying the server's certificate (default: the system's)")
	cmd.Flags().DurationVar(&c.timeout, "timeout", 30*time.Second, "how long a command may take")
	registerOutput(cmd, &c.output)
}

// dial connects to the server. The connection is lazy; errors show on the
// first call.
func (c *connFlags) dial() (*authzed.Client, error) {
	if c.token == "" {
		return nil, errors.New("--token (or HOSTACCESS_TOKEN) is required: the server's preshared key")
	}
	if c.insecure && c.caPath != "" {
		return nil, errors.New("--tls-ca-path and --insecure contradict each other: the CA verifies a TLS connection")
	}
	var opts []grpc.DialOption
	if c.insecure {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()), grpcutil.WithInsecureBearerToken(c.token))
	} else {
		tlsCfg, err := tlsconf.ClientConfig(c.caPath, "--tls-ca-path")
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)), grpcutil.WithBearerToken(c.token))
	}
	client, err := authzed.NewClient(c.endpoint, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", c.endpoint, err)
	}
	return client, nil
}

// withClient runs fn with a client and a context bounded by --timeout.
func (c *connFlags) withClient(cmd *cobra.Command, fn func(ctx context.Context, client *authzed.Client) error) error {
	if err := checkOutput(c.output); err != nil {
		return err
	}
	client, err := c.dial()
	if err != nil {
		return err
	}
	defer func() { _ = client.Close() }()
	ctx, cancel := context.WithTimeout(cmd.Context(), c.timeout)
	defer cancel()
	return describeRPCError(fn(ctx, client), c.endpoint)
}
