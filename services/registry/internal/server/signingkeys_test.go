package server_test

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// TestSigningKeyRotation checks that a certificate signed with a key that
// was since rotated out still verifies against the key set (by the key id
// it names), that a tampered one does not, and that the key set lists the
// current and retired keys.
func TestSigningKeyRotation(t *testing.T) {
	t.Parallel()
	oldSigner, err := domain.NewCertificateSigner(testSeed)
	if err != nil {
		t.Fatalf("NewCertificateSigner: %v", err)
	}
	newSigner, err := domain.NewCertificateSigner(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	if err != nil {
		t.Fatalf("NewCertificateSigner: %v", err)
	}
	oldPub := ed25519.PublicKey(mustB64(t, oldSigner.PublicKey()))

	// Issued before the rotation, with the old key.
	e := newReturnEnv(t)
	r := openReturn(t, e, actionDelete)
	dispose(t, e, r.GetDataReturnRequestId(), destroyed, "student records")
	old := must[*registryv1.IssueDeletionCertificateResponse](t)(e.returns.IssueDeletionCertificate(t.Context(),
		&registryv1.IssueDeletionCertificateRequest{DataReturnRequestId: r.GetDataReturnRequestId()})).GetDataReturnRequest().GetCertificate()
	if old.GetKeyId() != oldSigner.KeyID() || domain.DocumentKeyID(old.GetDocument()) != oldSigner.KeyID() {
		t.Fatalf("certificate key id %q, document names %q; want %q", old.GetKeyId(), domain.DocumentKeyID(old.GetDocument()), oldSigner.KeyID())
	}

	// The same registry after the rotation: new signing key, old public key
	// retired. (Same store: the certificate is still on record.)
	rotated := domain.NewService(e.st, e.clock.Now, domain.WithCertificateSigner(newSigner), domain.WithRetiredSigningKeys(oldPub))
	cases := []struct {
		name     string
		svc      *domain.Service
		doc, sig string
		valid    bool
		reason   string
	}{
		{"old_certificate_verifies", rotated, old.GetDocument(), old.GetSignature(), true, ""},
		{"tampered_fails", rotated, strings.Replace(old.GetDocument(), `"record_count":120000`, `"record_count":1`, 1), old.GetSignature(), false, "does not verify"},
		{"key_not_kept_fails", domain.NewService(e.st, e.clock.Now, domain.WithCertificateSigner(newSigner)),
			old.GetDocument(), old.GetSignature(), false, "not one of the registry's keys"},
	}
	for _, tc := range cases {
		t.Run("method=VerifyDeletionCertificate/case="+tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.svc.VerifyDeletionCertificate(t.Context(), tc.doc, tc.sig)
			if err != nil {
				t.Fatalf("VerifyDeletionCertificate: %v", err)
			}
			if got.Valid != tc.valid || got.OnRecord != tc.valid || !strings.Contains(got.Reason, tc.reason) || got.KeyID != oldSigner.KeyID() {
				t.Fatalf("verdict = %+v; want valid=%v reason %q key %s", got, tc.valid, tc.reason, oldSigner.KeyID())
			}
		})
	}

	t.Run("method=GetSigningKeys/case=current_and_retired", func(t *testing.T) {
		t.Parallel()
		e2 := newEnv(t, domain.WithCertificateSigner(newSigner), domain.WithRetiredSigningKeys(oldPub, oldPub))
		got := must[*registryv1.GetSigningKeysResponse](t)(e2.returns.GetSigningKeys(t.Context(), &registryv1.GetSigningKeysRequest{}))
		wantProto(t, got, &registryv1.GetSigningKeysResponse{Keys: []*registryv1.SigningKey{
			{KeyId: newSigner.KeyID(), PublicKey: newSigner.PublicKey(), Algorithm: "Ed25519", Status: registryv1.SigningKeyStatus_SIGNING_KEY_STATUS_CURRENT},
			{KeyId: oldSigner.KeyID(), PublicKey: oldSigner.PublicKey(), Algorithm: "Ed25519", Status: registryv1.SigningKeyStatus_SIGNING_KEY_STATUS_RETIRED},
		}})
	})
}

func TestParsePublicKeys(t *testing.T) {
	t.Parallel()
	signer, err := domain.NewCertificateSigner(testSeed)
	if err != nil {
		t.Fatalf("NewCertificateSigner: %v", err)
	}
	cases := []struct {
		name, in string
		n        int
		bad      bool
	}{
		{"empty", "", 0, false},
		{"two", signer.PublicKey() + ", " + signer.PublicKey(), 2, false},
		{"not_a_key", signer.PublicKey() + ",c2hvcnQ=", 0, true},
	}
	for _, tc := range cases {
		t.Run("case="+tc.name, func(t *testing.T) {
			t.Parallel()
			keys, err := domain.ParsePublicKeys(tc.in)
			if (err != nil) != tc.bad || len(keys) != tc.n {
				t.Fatalf("ParsePublicKeys = %d keys, %v; want %d, error %v", len(keys), err, tc.n, tc.bad)
			}
		})
	}
}
