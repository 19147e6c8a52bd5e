package e2e_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"

	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/tlsx"
	"github.com/breachline/breachline/pkg/tlsx/tlsxtest"
)

// TestMutualTLSBetweenServices runs the whole suite with TLS between the
// services and client certificates required, as the production overlay
// configures it: the gateway reaches every service, a breach signal flows
// from intake through classification to dispatch (each hop a TLS call with
// a client certificate), and a plaintext caller is refused.
func TestMutualTLSBetweenServices(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	authority := tlsxtest.NewCA(t, "breachline-e2e-ca")
	cfg := tlsx.Config{CAFile: authority.WriteCA(t, dir, "ca.crt"), RequireClientCert: true}
	// One certificate for every service here; in a cluster each has its
	// own, with its Service name as DNS name.
	cfg.CertFile, cfg.KeyFile = authority.Issue(t, dir, "services", 2)

	s := newStack(t)
	s.env = []string{
		"GRPC_TLS_CERT_FILE=" + cfg.CertFile, "GRPC_TLS_KEY_FILE=" + cfg.KeyFile,
		"GRPC_TLS_CA_FILE=" + cfg.CAFile, "GRPC_TLS_REQUIRE_CLIENT_CERT=true",
	}
	s.startStore(t)
	s.startIntake(t)
	s.startClassification(t)
	s.startRegistry(t)
	s.startDispatch(t)
	s.startGateway(t)
	base := "http://" + s.gateway

	if code, h := httpDo(t, http.MethodGet, base+"/healthz", nil); code != http.StatusOK {
		t.Fatalf("healthz over TLS backends = %d %v, want 200", code, h)
	}

	creds, err := cfg.ClientCredentials()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpcx.Dial(s.intake, grpcx.Transport(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	resp, err := intakev1.NewIntakeServiceClient(conn).ReportSignal(t.Context(), breachSignal("evt-mtls", time.Now().UTC().Truncate(time.Second)))
	if err != nil {
		t.Fatalf("ReportSignal over mutual TLS: %v", err)
	}
	incidentID := resp.GetIncident().GetIncidentId()

	// intake → classification → dispatch, each over TLS with a client
	// certificate, observed through the gateway.
	eventually(t, 90*time.Second, func(context.Context) error {
		code, cs := httpDo(t, http.MethodGet, base+"/v1/campaigns?incidentId="+incidentID, nil)
		if code != http.StatusOK {
			return errors.New("list campaigns: " + http.StatusText(code))
		}
		if list, _ := cs["campaigns"].([]any); len(list) == 0 {
			return errors.New("no campaigns yet")
		}
		return nil
	})
	code, body := httpDo(t, http.MethodGet, base+"/v1/incidents/"+incidentID, nil)
	inc, _ := body["incident"].(map[string]any)
	if got, _ := inc["assessmentStatus"].(string); code != http.StatusOK || got != "ASSESSMENT_STATUS_COMPLETED" {
		t.Fatalf("incident over the gateway = %d, assessmentStatus %q; want 200 and COMPLETED", code, got)
	}

	t.Run("case=plaintext caller is refused", func(t *testing.T) {
		plain := intakev1.NewIntakeServiceClient(dial(t, s.intake))
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if _, err := plain.GetIncident(ctx, &intakev1.GetIncidentRequest{IncidentId: incidentID}, grpc.WaitForReady(false)); err == nil {
			t.Fatal("a plaintext call to intake succeeded with TLS required")
		}
	})
	t.Run("case=caller without a client certificate is refused", func(t *testing.T) {
		noCert, err := tlsx.Config{CAFile: cfg.CAFile}.ClientCredentials()
		if err != nil {
			t.Fatal(err)
		}
		c, err := grpcx.Dial(s.intake, grpcx.Transport(noCert))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if _, err := intakev1.NewIntakeServiceClient(c).GetIncident(ctx, &intakev1.GetIncidentRequest{IncidentId: incidentID}); err == nil {
			t.Fatal("a call without a client certificate succeeded with client certificates required")
		}
	})
}
