// Package tlsx configures TLS on the gRPC connections between Breachline's
// services (and from the gateway to them): server certificates, the CA that
// both ends trust, and optionally client certificates (mutual TLS).
//
// Certificates are files, as a Kubernetes Secret mounted into the pod (or
// cert-manager) provides them. A server or client certificate is read again
// on the next handshake after its files change, so renewing a leaf
// certificate needs no restart. The CA bundle is read at start: rotating the
// CA is a rolling restart (see docs/operations.md).
//
// With no certificate configured, connections are plaintext: `make run` and
// the tests on loopback.
package tlsx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc/credentials"
)

// Config is where the certificates are. Embedded in config.Common, so every
// service reads it from the same variables.
type Config struct {
	// CertFile and KeyFile are this process's certificate chain and key
	// (PEM): its server certificate, also presented as its client
	// certificate when it calls another service.
	CertFile string `env:"GRPC_TLS_CERT_FILE"`
	KeyFile  string `env:"GRPC_TLS_KEY_FILE"`
	// CAFile is the PEM bundle of the CAs that sign the services'
	// certificates. Clients verify servers against it, and servers that
	// require client certificates verify clients against it.
	CAFile string `env:"GRPC_TLS_CA_FILE"`
	// RequireClientCert makes the server refuse connections without a
	// client certificate signed by CAFile (mutual TLS).
	RequireClientCert bool `env:"GRPC_TLS_REQUIRE_CLIENT_CERT" envDefault:"false"`
}

// Enabled reports whether TLS is configured at all.
func (c Config) Enabled() bool { return c.CertFile != "" || c.KeyFile != "" || c.CAFile != "" }

// Validate reports every problem with the settings, including files that do
// not load, so a misconfigured pod fails at start rather than at its first
// call.
func (c Config) Validate() error {
	if !c.Enabled() {
		if c.RequireClientCert {
			return errors.New("GRPC_TLS_REQUIRE_CLIENT_CERT needs GRPC_TLS_CERT_FILE, GRPC_TLS_KEY_FILE and GRPC_TLS_CA_FILE")
		}
		return nil
	}
	var errs []error
	if c.CertFile == "" || c.KeyFile == "" || c.CAFile == "" {
		errs = append(errs, errors.New("GRPC_TLS_CERT_FILE, GRPC_TLS_KEY_FILE and GRPC_TLS_CA_FILE must be set together"))
	}
	if c.CertFile != "" && c.KeyFile != "" {
		if _, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile); err != nil {
			errs = append(errs, fmt.Errorf("GRPC_TLS_CERT_FILE/GRPC_TLS_KEY_FILE: %w", err))
		}
	}
	if c.CAFile != "" {
		if _, err := loadPool(c.CAFile); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ServerCredentials returns the transport credentials of a gRPC server, or
// nil (plaintext) when TLS is not configured.
func (c Config) ServerCredentials() (credentials.TransportCredentials, error) {
	if !c.Enabled() {
		return nil, nil
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	pool, err := loadPool(c.CAFile)
	if err != nil {
		return nil, err
	}
	pair := &keyPair{cert: c.CertFile, key: c.KeyFile}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return pair.get()
		},
		ClientCAs:  pool,
		ClientAuth: tls.VerifyClientCertIfGiven,
	}
	if c.RequireClientCert {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return credentials.NewTLS(cfg), nil
}

// ClientCredentials returns the transport credentials for calling another
// service: verifying it against CAFile and, when CertFile and KeyFile are
// set, presenting that certificate (required by servers with
// RequireClientCert). It returns nil (plaintext) when TLS is not configured.
func (c Config) ClientCredentials() (credentials.TransportCredentials, error) {
	if !c.Enabled() {
		return nil, nil
	}
	if c.CAFile == "" {
		return nil, errors.New("GRPC_TLS_CA_FILE is required to verify the services")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return nil, errors.New("GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE must be set together")
	}
	pool, err := loadPool(c.CAFile)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	if c.CertFile != "" {
		pair := &keyPair{cert: c.CertFile, key: c.KeyFile}
		if _, err := pair.get(); err != nil {
			return nil, err
		}
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return pair.get()
		}
	}
	return credentials.NewTLS(cfg), nil
}

func loadPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file) //nolint:gosec // the path is the operator's configuration
	if err != nil {
		return nil, fmt.Errorf("GRPC_TLS_CA_FILE: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("GRPC_TLS_CA_FILE %s holds no PEM certificate", file)
	}
	return pool, nil
}

// keyPair is a certificate and key on disk, loaded again when either file's
// modification time changes. A renewal that fails to load (e.g. the new
// certificate written but not yet its key) keeps the previous pair until
// the files agree.
type keyPair struct {
	cert, key string

	mu       sync.Mutex
	loaded   *tls.Certificate
	certTime time.Time
	keyTime  time.Time
}

func (p *keyPair) get() (*tls.Certificate, error) {
	ct, cerr := modTime(p.cert)
	kt, kerr := modTime(p.key)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.loaded != nil && (cerr != nil || kerr != nil || (ct.Equal(p.certTime) && kt.Equal(p.keyTime))) {
		return p.loaded, nil
	}
	pair, err := tls.LoadX509KeyPair(p.cert, p.key)
	if err != nil {
		if p.loaded != nil {
			return p.loaded, nil
		}
		return nil, fmt.Errorf("load TLS key pair: %w", err)
	}
	p.loaded, p.certTime, p.keyTime = &pair, ct, kt
	return p.loaded, nil
}

func modTime(file string) (time.Time, error) {
	st, err := os.Stat(file)
	if err != nil {
		return time.Time{}, err
	}
	return st.ModTime(), nil
}
