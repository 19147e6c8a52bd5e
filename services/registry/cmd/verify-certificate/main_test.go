package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
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

// TestRunKeySet checks verification against a key set after a rotation: a
// certificate signed with the retired key verifies by the key id it names,
// a tampered one does not, and one naming a key outside the set fails.
func TestRunKeySet(t *testing.T) {
	t.Parallel()
	oldKey, _ := domain.NewCertificateSigner(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	newKey, _ := domain.NewCertificateSigner(bytes.Repeat([]byte{5}, ed25519.SeedSize))
	stranger, _ := domain.NewCertificateSigner(bytes.Repeat([]byte{6}, ed25519.SeedSize))
	certBy := func(s *domain.CertificateSigner, count int) string {
		doc := `{"certificate_id":"dlc_1","key_id":"` + s.KeyID() + `","record_count":` + strconv.Itoa(count) + `}`
		b, _ := json.Marshal(map[string]any{"certificateId": "dlc_1", "document": doc, "signature": s.Sign([]byte(doc)), "publicKey": s.PublicKey()})
		return string(b)
	}
	tampered := strings.Replace(certBy(oldKey, 5), `"record_count\":5`, `"record_count\":6`, 1)
	if tampered == certBy(oldKey, 5) {
		t.Fatal("tampering changed nothing")
	}
	set := func(keys ...*domain.CertificateSigner) string {
		var list []map[string]string
		for _, k := range keys {
			list = append(list, map[string]string{"keyId": k.KeyID(), "publicKey": k.PublicKey(), "algorithm": "Ed25519"})
		}
		b, _ := json.Marshal(map[string]any{"keys": list})
		path := filepath.Join(t.TempDir(), "keys.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	rotated := set(newKey, oldKey)
	cases := []struct {
		name  string
		args  []string
		input string
		code  int
		out   string
	}{
		{"old_cert_key_file", []string{"-keys", rotated, "-"}, certBy(oldKey, 5), 0, "OK dlc_1 key " + oldKey.KeyID()},
		{"new_cert_key_file", []string{"-keys", rotated, "-"}, certBy(newKey, 5), 0, "OK dlc_1 key " + newKey.KeyID()},
		{"old_cert_repeated_flag", []string{"-public-key", newKey.PublicKey(), "-public-key", oldKey.PublicKey(), "-"}, certBy(oldKey, 5), 0, "OK dlc_1"},
		{"tampered", []string{"-keys", rotated, "-"}, tampered, 1, "does not verify"},
		{"key_not_in_set", []string{"-keys", rotated, "-"}, certBy(stranger, 5), 1, "not one of the registry's keys"},
		{"retired_key_dropped", []string{"-keys", set(newKey, stranger), "-"}, certBy(oldKey, 5), 1, "not one of the registry's keys"},
		{"bad_key_file", []string{"-keys", filepath.Join(t.TempDir(), "missing.json"), "-"}, certBy(oldKey, 5), 2, ""},
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
