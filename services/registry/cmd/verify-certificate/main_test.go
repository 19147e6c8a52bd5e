package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/breachline/breachline/services/registry/internal/domain"
)

func TestRun(t *testing.T) {
	t.Parallel()
	signer, err := domain.NewCertificateSigner(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	doc := `{"certificate_id":"dlc_1","dispositions":[{"kind":"destroyed","record_count":5}]}`
	cert := map[string]any{"certificateId": "dlc_1", "document": doc, "signature": signer.Sign([]byte(doc)), "publicKey": signer.PublicKey()}
	wrap := func(c map[string]any) string {
		b, _ := json.Marshal(map[string]any{"dataReturnRequest": map[string]any{"certificate": c}})
		return string(b)
	}
	other, _ := domain.NewCertificateSigner(bytes.Repeat([]byte{4}, ed25519.SeedSize))
	tampered := map[string]any{}
	for k, v := range cert {
		tampered[k] = v
	}
	tampered["document"] = strings.Replace(doc, `:5}`, `:6}`, 1)
	cases := []struct {
		name  string
		args  []string
		input string
		code  int
		out   string
	}{
		{"valid", []string{"-public-key", signer.PublicKey(), "-"}, wrap(cert), 0, "OK dlc_1"},
		{"tampered", []string{"-public-key", signer.PublicKey(), "-"}, wrap(tampered), 1, "INVALID dlc_1"},
		{"other_key", []string{"-public-key", other.PublicKey(), "-"}, wrap(cert), 1, "does not verify"},
		{"embedded_key", []string{"-trust-embedded-key", "-"}, wrap(cert), 0, "OK dlc_1"},
		{"no_key", []string{"-"}, wrap(cert), 2, ""},
		{"bad_key", []string{"-public-key", base64.StdEncoding.EncodeToString([]byte("short")), "-"}, wrap(cert), 2, ""},
		{"not_json", []string{"-public-key", signer.PublicKey(), "-"}, "nope", 2, ""},
	}
	for _, tc := range cases {
		t.Run("case="+tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			code := run(tc.args, strings.NewReader(tc.input), &out, &errOut)
			if code != tc.code || !strings.Contains(out.String(), tc.out) {
				t.Fatalf("code %d, out %q, err %q; want %d and %q", code, out.String(), errOut.String(), tc.code, tc.out)
			}
		})
	}
}
