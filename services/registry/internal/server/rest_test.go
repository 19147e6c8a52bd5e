package server_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// TestRESTRoutes drives the registry's REST routes (the generated
// grpc-gateway handlers the gateway serves) against the real gRPC server
// and store: contacts and confirmation, a proposed change joined by a late
// customer, the check, and the signing key set.
func TestRESTRoutes(t *testing.T) {
	t.Parallel()
	signer, err := domain.NewCertificateSigner(testSeed)
	if err != nil {
		t.Fatalf("NewCertificateSigner: %v", err)
	}
	retired, err := domain.NewCertificateSigner(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	if err != nil {
		t.Fatalf("NewCertificateSigner: %v", err)
	}
	e := newChangeEnv(t, domain.WithCertificateSigner(signer),
		domain.WithRetiredSigningKeys(ed25519.PublicKey(mustB64(t, retired.PublicKey()))))
	mux := runtime.NewServeMux()
	for _, register := range []func() error{
		func() error {
			return registryv1.RegisterCustomerServiceHandlerClient(t.Context(), mux, e.env.customers)
		},
		func() error {
			return registryv1.RegisterSubprocessorServiceHandlerClient(t.Context(), mux, e.subprocessors)
		},
		func() error { return registryv1.RegisterDataReturnServiceHandlerClient(t.Context(), mux, e.returns) },
	} {
		if err := register(); err != nil {
			t.Fatalf("register: %v", err)
		}
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	call := func(method, path, body string) map[string]any {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return out
	}

	ch := e.propose(t, "prop-rest")
	e.clock.Advance(time.Hour)
	call(http.MethodPost, "/v1/customers", `{"customerId": "eu-rest", "displayName": "Rest", "region": "REGION_EU_EEA_CH",
		"notificationEmail": "dpo@rest.example.org", "products": ["admin"],
		"contacts": [{"name": "Amélie Durand", "role": "DPO", "phone": "+33 1 23 45 67 89"}]}`)
	got := call(http.MethodPost, "/v1/customers/eu-rest:confirmNotificationEmail", `{"notificationEmail": "dpo@rest.example.org"}`)
	if c := got["customer"].(map[string]any); c["etag"] != "v2" || len(c["contacts"].([]any)) != 1 {
		t.Fatalf("confirmed customer = %v", c)
	}
	e.notifyAll(t)
	change := call(http.MethodGet, "/v1/subprocessorChanges/"+ch.GetChangeId(), "")
	joined := false
	for _, c := range change["customers"].([]any) {
		c := c.(map[string]any)
		joined = joined || (c["customerId"] == "eu-rest" && c["notifyTime"] != nil && c["status"] == "CUSTOMER_CHANGE_STATUS_PENDING")
	}
	if !joined {
		t.Fatalf("change customers = %v, want eu-rest notified and pending", change["customers"])
	}
	check := call(http.MethodGet, "/v1/subprocessors/vendor:check?product=admin&region=REGION_EU_EEA_CH&customerId=eu-rest", "")
	if check["reason"] != "CHECK_REASON_OBJECTION_WINDOW_OPEN" || check["changeId"] != ch.GetChangeId() {
		t.Fatalf("check = %v", check)
	}
	keys := call(http.MethodGet, "/v1/deletionSigningKeys", "")["keys"].([]any)
	if len(keys) != 2 || keys[0].(map[string]any)["keyId"] != signer.KeyID() ||
		keys[1].(map[string]any)["status"] != "SIGNING_KEY_STATUS_RETIRED" || keys[1].(map[string]any)["publicKey"] != retired.PublicKey() {
		t.Fatalf("signing keys = %v", keys)
	}
}
