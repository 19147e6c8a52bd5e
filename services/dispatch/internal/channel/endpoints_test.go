package channel_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/breachline/breachline/services/dispatch/internal/channel"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

func TestEndpoints(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "acme")
	if err := os.WriteFile(secretFile, []byte("file-secret-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"NEW": "env-secret-new-0123456789", "OLD": "env-secret-old-0123456789", "SHORT": "tiny"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	good := fmt.Sprintf(`endpoints:
  - url_prefix: https://hooks.acme.example/
    secrets: ["file:%s"]
  - url_prefix: https://hooks.acme.example/breach/
    secrets: [env:NEW, env:OLD]
`, secretFile)
	eps, err := channel.ParseEndpoints([]byte(good), lookup)
	if err != nil {
		t.Fatalf("ParseEndpoints: %v", err)
	}
	t.Run("method=For/case=longest_prefix_with_both_rotation_secrets", func(t *testing.T) {
		t.Parallel()
		ss, ok, err := eps.For("https://hooks.acme.example/breach/v1")
		if err != nil || !ok || len(ss) != 2 || string(ss[0]) != env["NEW"] || string(ss[1]) != env["OLD"] {
			t.Fatalf("For = %q, %v, %v; want the new and the old secret", ss, ok, err)
		}
	})
	t.Run("method=For/case=file_reference_trimmed", func(t *testing.T) {
		t.Parallel()
		ss, ok, err := eps.For("https://hooks.acme.example/other")
		if err != nil || !ok || len(ss) != 1 || string(ss[0]) != "file-secret-0123456789" {
			t.Fatalf("For = %q, %v, %v", ss, ok, err)
		}
	})
	t.Run("method=For/case=unlisted_endpoint", func(t *testing.T) {
		t.Parallel()
		if _, ok, err := eps.For("https://elsewhere.example/"); ok || err != nil {
			t.Fatalf("For(unlisted) = %v, %v; want no match", ok, err)
		}
	})
	t.Run("method=LogValue/case=never_the_secret", func(t *testing.T) {
		t.Parallel()
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("endpoints", "endpoints", eps)
		if strings.Contains(buf.String(), "secret-new") || !strings.Contains(buf.String(), "env:NEW") {
			t.Fatalf("log line %s: want reference names only", buf.String())
		}
	})
	bad := []struct{ name, yaml string }{
		{"three_secrets", "endpoints:\n  - url_prefix: https://a.example/\n    secrets: [env:NEW, env:OLD, env:NEW]\n"},
		{"unset_variable", "endpoints:\n  - url_prefix: https://a.example/\n    secrets: [env:MISSING]\n"},
		{"short_secret", "endpoints:\n  - url_prefix: https://a.example/\n    secrets: [env:SHORT]\n"},
		{"unknown_scheme", "endpoints:\n  - url_prefix: https://a.example/\n    secrets: [vault:x]\n"},
		{"not_a_url", "endpoints:\n  - url_prefix: a.example\n    secrets: [env:NEW]\n"},
	}
	for _, tt := range bad {
		t.Run("method=ParseEndpoints/case="+tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := channel.ParseEndpoints([]byte(tt.yaml), lookup)
			if err == nil || strings.Contains(err.Error(), "tiny") {
				t.Fatalf("ParseEndpoints = %v; want an error that does not show the secret", err)
			}
		})
	}
}

func TestQueueID(t *testing.T) {
	t.Parallel()
	tests := []struct{ reply, want string }{
		{"2.0.0 Ok: queued as 4B9F21C0A", "4B9F21C0A"},
		{"OK id=1rZx8Q-0003Ab-7T", "1rZx8Q-0003Ab-7T"},
		{"OK: queued", ""},
	}
	for _, tt := range tests {
		if got := channel.QueueID(tt.reply); got != tt.want {
			t.Errorf("QueueID(%q) = %q, want %q", tt.reply, got, tt.want)
		}
	}
}

func TestPDF(t *testing.T) {
	t.Parallel()
	letters := []domain.Letter{
		{Name: "Zoë Brontë", Address: "1 Rue\nParis", Subject: "Notice of Data Breach", Body: strings.Repeat("A long paragraph of notice text. ", 40)},
		{Name: "Bo Li", Address: "2 Main St\nAustin TX", Subject: "Notice of Data Breach", Body: "Short."},
	}
	b, err := channel.PDF{}.Print(domain.DefaultOrg, letters)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-1.")) || bytes.Count(b, []byte("/Type /Page\n")) < len(letters) {
		t.Fatalf("not a PDF with a page per letter")
	}
}
