package server_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// testSeed is the deletion-certificate key of the handler tests.
var testSeed = bytes.Repeat([]byte{7}, ed25519.SeedSize)

func newReturnEnv(t *testing.T, opts ...domain.Option) *env {
	t.Helper()
	signer, err := domain.NewCertificateSigner(testSeed)
	if err != nil {
		t.Fatalf("NewCertificateSigner: %v", err)
	}
	e := newEnv(t, append([]domain.Option{domain.WithCertificateSigner(signer)}, opts...)...)
	createCustomer(t, e, validCustomer("acme"))
	return e
}

func openReturn(t *testing.T, e *env, action registryv1.DataReturnAction) *registryv1.DataReturnRequest {
	t.Helper()
	return must[*registryv1.OpenDataReturnRequestResponse](t)(e.returns.OpenDataReturnRequest(t.Context(), &registryv1.OpenDataReturnRequestRequest{
		CustomerId: "acme", Action: action, Products: []string{"teacher", "admin"}, ScopeDescription: "all schools of the district",
		RequestedBy: "DPO", TerminationTime: timestamppb.New(now.Add(-24 * time.Hour)),
	})).GetDataReturnRequest()
}

func dispose(t *testing.T, e *env, id string, kind registryv1.DispositionKind, what string) *registryv1.DataReturnRequest {
	t.Helper()
	return must[*registryv1.RecordDataDispositionResponse](t)(e.returns.RecordDataDisposition(t.Context(), &registryv1.RecordDataDispositionRequest{
		DataReturnRequestId: id, Kind: kind, DataDescription: what, System: "admin/primary", Method: "crypto-shredded tenant key",
		RecordCount: 120_000, Evidence: "job 77",
	})).GetDataReturnRequest()
}

const (
	actionDelete = registryv1.DataReturnAction_DATA_RETURN_ACTION_DELETE
	actionReturn = registryv1.DataReturnAction_DATA_RETURN_ACTION_RETURN
	destroyed    = registryv1.DispositionKind_DISPOSITION_KIND_DESTROYED
	returned     = registryv1.DispositionKind_DISPOSITION_KIND_RETURNED
)

func TestOpenDataReturnRequest(t *testing.T) {
	t.Parallel()
	e := newReturnEnv(t)

	t.Run("method=Open/case=idempotent", func(t *testing.T) {
		t.Parallel()
		req := &registryv1.OpenDataReturnRequestRequest{RequestId: "term-1", CustomerId: "acme", Action: actionReturn}
		first := must[*registryv1.OpenDataReturnRequestResponse](t)(e.returns.OpenDataReturnRequest(t.Context(), req))
		got := first.GetDataReturnRequest()
		if !ids.Valid("drr", got.GetDataReturnRequestId()) || got.GetStatus() != registryv1.DataReturnStatus_DATA_RETURN_STATUS_OPEN ||
			!got.GetRequestTime().AsTime().Equal(now) {
			t.Fatalf("opened = %v", got)
		}
		wantProto(t, must[*registryv1.OpenDataReturnRequestResponse](t)(e.returns.OpenDataReturnRequest(t.Context(), req)), first)
		req.Action = actionDelete
		_, err := e.returns.OpenDataReturnRequest(t.Context(), req)
		wantViolations(t, err, "request_id")
	})

	t.Run("method=Open/case=unknown_customer", func(t *testing.T) {
		t.Parallel()
		_, err := e.returns.OpenDataReturnRequest(t.Context(), &registryv1.OpenDataReturnRequestRequest{CustomerId: "nobody", Action: actionDelete})
		wantCode(t, err, codes.NotFound)
	})

	t.Run("method=Open/case=invalid", func(t *testing.T) {
		t.Parallel()
		_, err := e.returns.OpenDataReturnRequest(t.Context(), &registryv1.OpenDataReturnRequestRequest{
			CustomerId: "ACME", Action: 9, Products: []string{"admin", "admin"}, RequestedBy: "a\nb",
			RequestTime: timestamppb.New(now.Add(time.Hour)), TerminationTime: timestamppb.New(now.Add(time.Hour)),
		})
		wantViolations(t, err, "customer_id", "action", "products[1]", "requested_by", "request_time", "termination_time")
	})

	t.Run("method=List/case=filters", func(t *testing.T) {
		t.Parallel()
		e := newReturnEnv(t)
		a := openReturn(t, e, actionDelete)
		b := openReturn(t, e, actionReturn)
		dispose(t, e, b.GetDataReturnRequestId(), returned, "everything")
		must[*registryv1.IssueDeletionCertificateResponse](t)(e.returns.IssueDeletionCertificate(t.Context(),
			&registryv1.IssueDeletionCertificateRequest{DataReturnRequestId: b.GetDataReturnRequestId()}))
		resp := must[*registryv1.ListDataReturnRequestsResponse](t)(e.returns.ListDataReturnRequests(t.Context(),
			&registryv1.ListDataReturnRequestsRequest{CustomerId: "acme", Status: registryv1.DataReturnStatus_DATA_RETURN_STATUS_OPEN}))
		if len(resp.GetDataReturnRequests()) != 1 || resp.GetDataReturnRequests()[0].GetDataReturnRequestId() != a.GetDataReturnRequestId() {
			t.Fatalf("open requests = %v", resp)
		}
		page := must[*registryv1.ListDataReturnRequestsResponse](t)(e.returns.ListDataReturnRequests(t.Context(), &registryv1.ListDataReturnRequestsRequest{PageSize: 1}))
		if len(page.GetDataReturnRequests()) != 1 || page.GetNextPageToken() == "" {
			t.Fatalf("first page = %v", page)
		}
		_, err := e.returns.ListDataReturnRequests(t.Context(), &registryv1.ListDataReturnRequestsRequest{PageToken: page.GetNextPageToken(), CustomerId: "acme"})
		wantViolations(t, err, "page_token")
	})
}

func TestDeletionCertificate(t *testing.T) {
	t.Parallel()

	issue := func(t *testing.T, e *env, id string) (*registryv1.DataReturnRequest, error) {
		t.Helper()
		resp, err := e.returns.IssueDeletionCertificate(t.Context(), &registryv1.IssueDeletionCertificateRequest{DataReturnRequestId: id})
		return resp.GetDataReturnRequest(), err
	}
	verify := func(t *testing.T, e *env, doc, sig string) *registryv1.VerifyDeletionCertificateResponse {
		t.Helper()
		return must[*registryv1.VerifyDeletionCertificateResponse](t)(e.returns.VerifyDeletionCertificate(t.Context(),
			&registryv1.VerifyDeletionCertificateRequest{Document: doc, Signature: sig}))
	}

	t.Run("method=IssueDeletionCertificate/case=preconditions", func(t *testing.T) {
		t.Parallel()
		e := newReturnEnv(t)
		r := openReturn(t, e, actionDelete)
		_, err := issue(t, e, r.GetDataReturnRequestId())
		wantPrecondition(t, err, "no recorded disposition")
		dispose(t, e, r.GetDataReturnRequestId(), returned, "exports")
		_, err = issue(t, e, r.GetDataReturnRequestId())
		wantPrecondition(t, err, "no destruction")
	})

	t.Run("method=IssueDeletionCertificate/case=signed_and_verifiable", func(t *testing.T) {
		t.Parallel()
		e := newReturnEnv(t)
		r := openReturn(t, e, actionDelete)
		id := r.GetDataReturnRequestId()
		e.clock.Advance(time.Hour)
		dispose(t, e, id, destroyed, "student browsing history")
		kept := must[*registryv1.RecordDataRetentionResponse](t)(e.returns.RecordDataRetention(t.Context(), &registryv1.RecordDataRetentionRequest{
			DataReturnRequestId: id, DataDescription: "invoices", LegalBasis: "HGB §257 (10 years)",
			RetainUntil: timestamppb.New(time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC)), RequestId: "keep-1",
		})).GetDataReturnRequest()
		if len(kept.GetRetentions()) != 1 || kept.GetRetentions()[0].GetLegalBasis() != "HGB §257 (10 years)" {
			t.Fatalf("retentions = %v", kept.GetRetentions())
		}
		done := must[*registryv1.DataReturnRequest](t)(issue(t, e, id))
		c := done.GetCertificate()
		if done.GetStatus() != registryv1.DataReturnStatus_DATA_RETURN_STATUS_COMPLETED || c.GetAlgorithm() != "Ed25519" || !ids.Valid("dlc", c.GetCertificateId()) {
			t.Fatalf("completed = %v", done)
		}
		// Issuing again returns the same certificate.
		wantProto(t, must[*registryv1.DataReturnRequest](t)(issue(t, e, id)), done)

		// The document says what it certifies, in canonical JSON.
		var doc map[string]any
		if err := json.Unmarshal([]byte(c.GetDocument()), &doc); err != nil {
			t.Fatalf("document: %v", err)
		}
		if doc["data_return_request_id"] != id || doc["customer_id"] != "acme" || doc["action"] != "delete" ||
			doc["schema"] != "breachline.deletion-certificate.v1" || len(doc["dispositions"].([]any)) != 1 || len(doc["retentions"].([]any)) != 1 {
			t.Fatalf("document = %s", c.GetDocument())
		}
		canon, err := domain.Canonical([]byte(c.GetDocument()))
		if err != nil || string(canon) != c.GetDocument() {
			t.Fatalf("document is not canonical: %v\n%s", err, c.GetDocument())
		}
		// Anyone can check it with the public key alone.
		pub, err := base64.StdEncoding.DecodeString(c.GetPublicKey())
		if err != nil || domain.VerifyCertificate(pub, c.GetDocument(), c.GetSignature()) != nil {
			t.Fatalf("offline verification failed: %v", err)
		}
		if got := verify(t, e, c.GetDocument(), c.GetSignature()); !got.GetValid() || !got.GetOnRecord() ||
			got.GetCertificateId() != c.GetCertificateId() || got.GetKeyId() != c.GetKeyId() {
			t.Fatalf("verify = %v", got)
		}

		// Nothing more is recorded once certified.
		_, err = e.returns.RecordDataDisposition(t.Context(), &registryv1.RecordDataDispositionRequest{
			DataReturnRequestId: id, Kind: destroyed, DataDescription: "late", Method: "rm",
		})
		wantPrecondition(t, err, "certificate is issued")

		tampered := []struct {
			name, doc, sig, reason string
		}{
			{"record_count", strings.Replace(c.GetDocument(), `"record_count":120000`, `"record_count":12000`, 1), c.GetSignature(), "does not verify"},
			{"retention_dropped", strings.Replace(c.GetDocument(), "HGB §257 (10 years)", "none", 1), c.GetSignature(), "does not verify"},
			{"reformatted", indent(t, c.GetDocument()), c.GetSignature(), "not canonical"},
			{"signature", c.GetDocument(), flipSig(t, c.GetSignature()), "does not verify"},
			{"signature_garbage", c.GetDocument(), "not-base64!", "not base64"},
		}
		for _, tc := range tampered {
			if tc.doc == c.GetDocument() && tc.sig == c.GetSignature() {
				t.Fatalf("case %s tampers with nothing", tc.name)
			}
			got := verify(t, e, tc.doc, tc.sig)
			if got.GetValid() || got.GetOnRecord() || !strings.Contains(got.GetReason(), tc.reason) {
				t.Errorf("tampered %s: verify = %v", tc.name, got)
			}
			if pub := ed25519.PublicKey(mustB64(t, c.GetPublicKey())); domain.VerifyCertificate(pub, tc.doc, tc.sig) == nil {
				t.Errorf("tampered %s verifies offline", tc.name)
			}
		}

		// Another registry key does not verify it.
		other, err := domain.NewCertificateSigner(bytes.Repeat([]byte{8}, ed25519.SeedSize))
		if err != nil || other.VerifyCertificate(c.GetDocument(), c.GetSignature()) == nil {
			t.Fatalf("a certificate verified with another key: %v", err)
		}
	})

	t.Run("method=Record/case=invalid", func(t *testing.T) {
		t.Parallel()
		e := newReturnEnv(t)
		_, err := e.returns.RecordDataDisposition(t.Context(), &registryv1.RecordDataDispositionRequest{
			DataReturnRequestId: "drr_1", Kind: 7, RecordCount: -1, DispositionTime: timestamppb.New(now.Add(time.Hour)), ArtefactSha256: "abc",
		})
		wantViolations(t, err, "data_description", "method", "data_return_request_id", "kind", "record_count", "disposition_time", "artefact_sha256")
		_, err = e.returns.RecordDataRetention(t.Context(), &registryv1.RecordDataRetentionRequest{
			DataReturnRequestId: ids.New("drr"), DataDescription: "x", RetainUntil: timestamppb.New(now.Add(-time.Hour)),
		})
		wantViolations(t, err, "legal_basis", "retain_until")
		_, err = e.returns.VerifyDeletionCertificate(t.Context(), &registryv1.VerifyDeletionCertificateRequest{})
		wantViolations(t, err, "document", "signature")
	})
}

func indent(t *testing.T, doc string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(doc), "", "  "); err != nil {
		t.Fatalf("indent: %v", err)
	}
	return b.String()
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64: %v", err)
	}
	return b
}

func flipSig(t *testing.T, sig string) string {
	t.Helper()
	b := mustB64(t, sig)
	b[10] ^= 1
	return base64.StdEncoding.EncodeToString(b)
}
