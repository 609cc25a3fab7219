// Package tlsconf builds the TLS configurations of hostaccess's listeners
// and clients from PEM files: TLS 1.2 at least, and errors that name the
// flag a file came from.
package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// MinVersion is the oldest TLS version served or spoken.
const MinVersion = tls.VersionTLS12

// Pair is a certificate and its private key, as PEM files, with the flags
// that named them (for error messages).
type Pair struct {
	Cert, Key         string
	CertFlag, KeyFlag string
}

// Enabled reports whether TLS is asked for (either file set).
func (p Pair) Enabled() bool { return p.Cert != "" || p.Key != "" }

// Validate refuses a certificate without its key, a key without its
// certificate, and files that do not load as a matching pair. No file: nil.
func (p Pair) Validate() error {
	_, err := p.load()
	return err
}

func (p Pair) load() (*tls.Certificate, error) {
	switch {
	case p.Cert == "" && p.Key == "":
		return nil, nil
	case p.Key == "":
		return nil, fmt.Errorf("%s is set without %s: a TLS certificate needs its private key", p.CertFlag, p.KeyFlag)
	case p.Cert == "":
		return nil, fmt.Errorf("%s is set without %s: a TLS private key needs its certificate", p.KeyFlag, p.CertFlag)
	}
	cert, err := tls.LoadX509KeyPair(p.Cert, p.Key)
	if err != nil {
		return nil, fmt.Errorf("%s %s and %s %s: %w", p.CertFlag, p.Cert, p.KeyFlag, p.Key, err)
	}
	return &cert, nil
}

// ServerConfig is the TLS configuration serving the pair, or nil when
// neither file is set.
func (p Pair) ServerConfig() (*tls.Config, error) {
	cert, err := p.load()
	if err != nil || cert == nil {
		return nil, err
	}
	return &tls.Config{MinVersion: MinVersion, Certificates: []tls.Certificate{*cert}}, nil
}

// ClientConfig verifies servers against the authorities of caPath (PEM,
// one or more certificates) instead of the system's; flag names caPath in
// errors. An empty caPath keeps the system's authorities.
func ClientConfig(caPath, flag string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: MinVersion}
	if caPath == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(caPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s %s: no PEM certificate in the file", flag, caPath)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// PinnedClientConfig trusts exactly the leaf certificate certPath holds at
// each handshake, whatever names it carries: for a process that dials its
// own TLS listener over loopback, where the certificate's names (the
// public host) do not match the address dialled. Reading the file at each
// handshake follows a certificate replaced on disk.
func PinnedClientConfig(certPath string) *tls.Config {
	return &tls.Config{
		MinVersion: MinVersion,
		// The standard verification checks names; VerifyConnection below
		// replaces it with an exact match of the certificate served.
		InsecureSkipVerify: true, //nolint:gosec // verified by VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the server presented no certificate")
			}
			leaf, err := leafOf(certPath)
			if err != nil {
				return err
			}
			if !bytes.Equal(leaf, cs.PeerCertificates[0].Raw) {
				return fmt.Errorf("the server's certificate is not the one in %s", certPath)
			}
			return nil
		},
	}
}

// leafOf returns the DER bytes of the first certificate of a PEM file.
func leafOf(certPath string) ([]byte, error) {
	data, err := os.ReadFile(certPath)
	if err != nil {
		return nil, err
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("%s holds no PEM certificate", certPath)
		}
		if block.Type == "CERTIFICATE" {
			return block.Bytes, nil
		}
	}
}
