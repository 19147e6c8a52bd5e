package auth_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/auth"
)

const (
	siemToken     = "siem-token-0123456789abcdef0123456789"
	dispatchToken = "dispatch-token-0123456789abcdef012345"
)

func machines() string {
	return "# SIEMs and services\n" +
		"siem:splunk siem " + auth.HashToken(siemToken) + "\n" +
		"svc:dispatch service:dispatch sha256:" + auth.HashToken(dispatchToken)
}

func TestParseMachineTokens(t *testing.T) {
	t.Parallel()
	m, err := auth.ParseMachineTokens(machines())
	if err != nil {
		t.Fatal(err)
	}
	if m.Len() != 2 {
		t.Fatalf("Len = %d, want 2", m.Len())
	}
	id, ok := m.Lookup(siemToken)
	if !ok || id.Subject != "siem:splunk" || !id.HasRole("siem") || !id.Machine {
		t.Fatalf("Lookup(siem) = %+v, %v", id, ok)
	}
	if _, ok := m.Lookup(siemToken + "x"); ok {
		t.Fatal("a different token matched")
	}
	bad := map[string]string{
		"two-fields":   "siem:splunk " + auth.HashToken("x"),
		"short-hash":   "siem:splunk siem abcd",
		"bad-name":     "siem splunk siem " + auth.HashToken("x"),
		"bad-role":     "siem:splunk si/em " + auth.HashToken("x"),
		"other-roles":  "a:b siem " + auth.HashToken("x") + ";a:b auditor " + auth.HashToken("y"),
		"same-token":   "a:b siem " + auth.HashToken("x") + ";c:d siem " + auth.HashToken("x"),
		"all-internal": "svc:intake service " + auth.HashToken("x"),
	}
	t.Run("case=rotation", func(t *testing.T) {
		t.Parallel()
		// The same client with the same roles on a second line: both its
		// old and its new token work during the changeover.
		m, err := auth.ParseMachineTokens("siem:splunk siem " + auth.HashToken("old") + "\nsiem:splunk siem " + auth.HashToken("new"))
		if err != nil {
			t.Fatalf("ParseMachineTokens: %v", err)
		}
		for _, tok := range []string{"old", "new"} {
			if id, ok := m.Lookup(tok); !ok || id.Subject != "siem:splunk" {
				t.Fatalf("Lookup(%s) = %+v, %v; want siem:splunk", tok, id, ok)
			}
		}
	})
	for name, text := range bad {
		t.Run("case="+name, func(t *testing.T) {
			t.Parallel()
			if _, err := auth.ParseMachineTokens(text); err == nil {
				t.Fatalf("ParseMachineTokens(%q) accepted", text)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	oidc := auth.Config{Mode: auth.ModeOIDC, OIDCIssuer: "https://id.example.org/realms/acme", OIDCAudience: "breachline"}
	cases := []struct {
		name    string
		cfg     auth.Config
		listen  string
		wantErr string
	}{
		{"dev-loopback-v4", auth.Config{Mode: auth.ModeDev}, "127.0.0.1:50051", ""},
		{"dev-loopback-v6", auth.Config{Mode: auth.ModeDev}, "[::1]:50051", ""},
		{"dev-localhost", auth.Config{}, "localhost:8080", ""},
		{"dev-all-interfaces", auth.Config{Mode: auth.ModeDev}, "0.0.0.0:50051", "only listens on loopback"},
		{"dev-empty-host", auth.Config{}, ":8080", "only listens on loopback"},
		{"dev-public-ip", auth.Config{Mode: auth.ModeDev}, "10.0.0.5:50051", "only listens on loopback"},
		{"oidc-public", oidc, "0.0.0.0:50051", ""},
		{"oidc-no-issuer", auth.Config{Mode: auth.ModeOIDC, OIDCAudience: "x"}, "0.0.0.0:1", "OIDC_ISSUER"},
		{"oidc-bad-issuer", auth.Config{Mode: auth.ModeOIDC, OIDCIssuer: "id.example.org", OIDCAudience: "x"}, "0.0.0.0:1", "http(s) URL"},
		{"oidc-bad-machine-tokens", auth.Config{Mode: auth.ModeOIDC, OIDCIssuer: "https://i", OIDCAudience: "x", MachineTokens: "a b"}, "0.0.0.0:1", "MACHINE_TOKENS"},
		{"unknown-mode", auth.Config{Mode: "none"}, "127.0.0.1:1", "AUTH_MODE must be"},
	}
	for _, tc := range cases {
		t.Run("case="+tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Validate(tc.listen)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Validate = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestBearer(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "machine-tokens")
	if err := os.WriteFile(file, []byte(machines()), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Config{
		Mode: auth.ModeOIDC, OIDCIssuer: "http://127.0.0.1:1", OIDCAudience: "breachline", MachineTokensFile: file,
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		md       metadata.MD
		subject  string
		onBehalf string
		err      error
	}{
		{"siem", metadata.Pairs("authorization", "Bearer "+siemToken), "siem:splunk", "", nil},
		{"scheme-case", metadata.Pairs("authorization", "bearer "+siemToken), "siem:splunk", "", nil},
		{"service-on-behalf", metadata.Pairs("authorization", "Bearer "+dispatchToken, auth.OnBehalfOfHeader, "alice@example.org"), "svc:dispatch", "alice@example.org", nil},
		{"siem-cannot-act-for-people", metadata.Pairs("authorization", "Bearer "+siemToken, auth.OnBehalfOfHeader, "alice@example.org"), "siem:splunk", "", nil},
		{"service-bad-on-behalf", metadata.Pairs("authorization", "Bearer "+dispatchToken, auth.OnBehalfOfHeader, "a\nb"), "", "", apperr.ErrUnauthenticated},
		{"no-credentials", metadata.MD{}, "", "", apperr.ErrUnauthenticated},
		{"dev-header-ignored", metadata.Pairs(auth.DevSubjectHeader, "admin"), "", "", apperr.ErrUnauthenticated},
		{"basic-scheme", metadata.Pairs("authorization", "Basic "+siemToken), "", "", apperr.ErrUnauthenticated},
		{"unknown-opaque-token", metadata.Pairs("authorization", "Bearer nope"), "", "", apperr.ErrUnauthenticated},
	}
	for _, tc := range cases {
		t.Run("case="+tc.name, func(t *testing.T) {
			t.Parallel()
			id, err := a.Authenticate(t.Context(), tc.md)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("Authenticate error = %v, want %v", err, tc.err)
			}
			if id.Subject != tc.subject || id.OnBehalfOf != tc.onBehalf {
				t.Fatalf("identity = %+v, want subject %q on behalf of %q", id, tc.subject, tc.onBehalf)
			}
		})
	}
}

func TestDev(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		md        metadata.MD
		roles     string
		customers string
		err       error
	}{
		{"default-admin", metadata.MD{}, "admin", "", nil},
		{"service-subject", metadata.Pairs(auth.DevSubjectHeader, "svc:registry"), "service:registry", "", nil},
		{"roles-and-customers", metadata.Pairs(auth.DevRolesHeader, "customer_success", auth.DevCustomersHeader, "cus_1,cus_2"), "customer_success", "cus_1,cus_2", nil},
		{"bad-roles", metadata.Pairs(auth.DevRolesHeader, "a,,b"), "", "", apperr.ErrUnauthenticated},
		{"bad-subject", metadata.Pairs(auth.DevSubjectHeader, "alice smith"), "", "", apperr.ErrUnauthenticated},
	}
	for _, tc := range cases {
		t.Run("case="+tc.name, func(t *testing.T) {
			t.Parallel()
			id, err := auth.Dev{}.Authenticate(t.Context(), tc.md)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("error = %v, want %v", err, tc.err)
			}
			if got := strings.Join(id.Roles, ","); got != tc.roles || strings.Join(id.Customers, ",") != tc.customers {
				t.Fatalf("identity = %+v, want roles %q customers %q", id, tc.roles, tc.customers)
			}
		})
	}
}
