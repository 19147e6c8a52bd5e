package tlsx_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"

	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/tlsx"
	"github.com/breachline/breachline/pkg/tlsx/tlsxtest"
)

// serve starts a grpcx server with cfg's server credentials and a plaintext
// health listener, and returns the TLS address and the health address.
func serve(t *testing.T, cfg tlsx.Config) (addr, healthAddr string) {
	t.Helper()
	creds, err := cfg.ServerCredentials()
	if err != nil {
		t.Fatalf("ServerCredentials: %v", err)
	}
	hl, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	healthAddr = hl.Addr().String()
	_ = hl.Close()
	srv := grpcx.NewServer(grpcx.Options{Service: "tlstest", Creds: creds, HealthAddr: healthAddr})
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeListener: %v", err)
		}
	})
	return lis.Addr().String(), healthAddr
}

// check calls Health.Check on addr with opts and returns the server
// certificate's serial number the connection saw (0 on plaintext).
func check(t *testing.T, addr string, opts ...grpc.DialOption) (int64, error) {
	t.Helper()
	conn, err := grpcx.Dial(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var p peer.Peer
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Peer(&p), grpc.WaitForReady(false))
	if err != nil {
		return 0, err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("status %v, want SERVING", resp.GetStatus())
	}
	if info, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(info.State.PeerCertificates) > 0 {
		return info.State.PeerCertificates[0].SerialNumber.Int64(), nil
	}
	return 0, nil
}

func clientCreds(t *testing.T, cfg tlsx.Config) grpc.DialOption {
	t.Helper()
	creds, err := cfg.ClientCredentials()
	if err != nil {
		t.Fatalf("ClientCredentials: %v", err)
	}
	return grpcx.Transport(creds)
}

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	authority, foreign := tlsxtest.NewCA(t, "breachline-test-ca"), tlsxtest.NewCA(t, "foreign-ca")
	caFile := authority.WriteCA(t, dir, "ca.crt")
	serverCert, serverKey := authority.Issue(t, dir, "server", 100)
	clientCert, clientKey := authority.Issue(t, dir, "client", 200)
	foreignCert, foreignKey := foreign.Issue(t, dir, "intruder", 300)
	foreignCAFile := foreign.WriteCA(t, dir, "foreign-ca.crt")

	addr, healthAddr := serve(t, tlsx.Config{CertFile: serverCert, KeyFile: serverKey, CAFile: caFile, RequireClientCert: true})
	client := tlsx.Config{CertFile: clientCert, KeyFile: clientKey, CAFile: caFile}

	t.Run("case=trusted client with its certificate", func(t *testing.T) {
		serial, err := check(t, addr, clientCreds(t, client))
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		if serial != 100 {
			t.Fatalf("server certificate serial %d, want 100", serial)
		}
	})
	t.Run("case=plaintext client is refused", func(t *testing.T) {
		if _, err := check(t, addr); err == nil {
			t.Fatal("a plaintext call succeeded against a TLS listener")
		}
	})
	t.Run("case=client certificate from another CA is refused", func(t *testing.T) {
		if _, err := check(t, addr, clientCreds(t, tlsx.Config{CertFile: foreignCert, KeyFile: foreignKey, CAFile: caFile})); err == nil {
			t.Fatal("a client certificate of a foreign CA was accepted")
		}
	})
	t.Run("case=client that does not trust the server's CA refuses it", func(t *testing.T) {
		if _, err := check(t, addr, clientCreds(t, tlsx.Config{CertFile: clientCert, KeyFile: clientKey, CAFile: foreignCAFile})); err == nil {
			t.Fatal("the client accepted a server certificate its CA did not sign")
		}
	})
	t.Run("case=plaintext health listener for probes", func(t *testing.T) {
		if _, err := check(t, healthAddr); err != nil {
			t.Fatalf("Check on the health listener: %v", err)
		}
	})
}

func TestServerCertificateRenewalNeedsNoRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	authority := tlsxtest.NewCA(t, "breachline-test-ca")
	caFile := authority.WriteCA(t, dir, "ca.crt")
	serverCert, serverKey := authority.Issue(t, dir, "server", 100)
	addr, _ := serve(t, tlsx.Config{CertFile: serverCert, KeyFile: serverKey, CAFile: caFile})
	client := clientCreds(t, tlsx.Config{CertFile: serverCert, KeyFile: serverKey, CAFile: caFile})

	if serial, err := check(t, addr, client); err != nil || serial != 100 {
		t.Fatalf("before renewal: serial %d, err %v; want 100", serial, err)
	}
	// Renew in place with a later modification time, as cert-manager does.
	authority.Issue(t, dir, "server", 101)
	later := time.Now().Add(2 * time.Second)
	for _, f := range []string{serverCert, serverKey} {
		if err := os.Chtimes(f, later, later); err != nil {
			t.Fatal(err)
		}
	}
	if serial, err := check(t, addr, client); err != nil || serial != 101 {
		t.Fatalf("after renewal: serial %d, err %v; want 101", serial, err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	authority := tlsxtest.NewCA(t, "breachline-test-ca")
	caFile := authority.WriteCA(t, dir, "ca.crt")
	cert, key := authority.Issue(t, dir, "server", 1)
	notPEM := filepath.Join(dir, "not.pem")
	tlsxtest.WriteFile(t, notPEM, []byte("not a certificate"))

	for _, tc := range []struct {
		name string
		cfg  tlsx.Config
		want string // "" means valid
	}{
		{"off", tlsx.Config{}, ""},
		{"complete", tlsx.Config{CertFile: cert, KeyFile: key, CAFile: caFile, RequireClientCert: true}, ""},
		{"client certs without TLS", tlsx.Config{RequireClientCert: true}, "GRPC_TLS_REQUIRE_CLIENT_CERT needs"},
		{"cert without CA", tlsx.Config{CertFile: cert, KeyFile: key}, "must be set together"},
		{"missing key file", tlsx.Config{CertFile: cert, KeyFile: filepath.Join(dir, "nope.key"), CAFile: caFile}, "GRPC_TLS_CERT_FILE/GRPC_TLS_KEY_FILE"},
		{"CA not PEM", tlsx.Config{CertFile: cert, KeyFile: key, CAFile: notPEM}, "holds no PEM certificate"},
	} {
		t.Run("case="+tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
