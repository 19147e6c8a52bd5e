package server_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/pkg/ids"
)

// Personal data used in requests; the logs must never contain it.
const (
	subjectName  = "Zoé Quintanilla-Brandt"
	subjectEmail = "zoe.qb@example.org"
)

func dsrRequest(customerID string) *registryv1.SubmitDataSubjectRequestRequest {
	return &registryv1.SubmitDataSubjectRequestRequest{
		CustomerId: customerID,
		Type:       registryv1.DataSubjectRequestType_DATA_SUBJECT_REQUEST_TYPE_ACCESS,
		Subject:    &registryv1.DataSubject{Name: subjectName, Email: subjectEmail, AccountRef: "student-4711"},
		Details:    "Please send me a copy of my browsing history.",
	}
}

func TestSubmitDataSubjectRequest(t *testing.T) {
	t.Parallel()

	t.Run("method=Submit/case=ok_defaults", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		createCustomer(t, e, validCustomer("acme"))
		resp := must[*registryv1.SubmitDataSubjectRequestResponse](t)(e.dsrs.SubmitDataSubjectRequest(t.Context(), dsrRequest("acme")))
		got := resp.GetDataSubjectRequest()
		if !ids.Valid("dsr", got.GetDsrId()) {
			t.Fatalf("bad id %q", got.GetDsrId())
		}
		want := &registryv1.DataSubjectRequest{
			DsrId:       got.GetDsrId(),
			CustomerId:  "acme",
			Type:        registryv1.DataSubjectRequestType_DATA_SUBJECT_REQUEST_TYPE_ACCESS,
			Subject:     &registryv1.DataSubject{Name: subjectName, Email: subjectEmail, AccountRef: "student-4711"},
			Details:     "Please send me a copy of my browsing history.",
			ReceiveTime: timestamppb.New(now),
			DueTime:     timestamppb.New(time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)),
			Status:      registryv1.DataSubjectRequestStatus_DATA_SUBJECT_REQUEST_STATUS_RECEIVED,
			CreateTime:  timestamppb.New(now),
			UpdateTime:  timestamppb.New(now),
			// Forwarded to the address on file when it was received.
			NotificationEmail: "dpo@acme.example.org",
			ForwardPending:    true,
			OriginalDueTime:   timestamppb.New(time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)),
			StatusHistory: []*registryv1.DataSubjectRequestStatusChange{{
				To: registryv1.DataSubjectRequestStatus_DATA_SUBJECT_REQUEST_STATUS_RECEIVED, Time: timestamppb.New(now), Actor: "dev-anonymous",
			}},
		}
		wantProto(t, got, want)
		read := must[*registryv1.GetDataSubjectRequestResponse](t)(e.dsrs.GetDataSubjectRequest(t.Context(), &registryv1.GetDataSubjectRequestRequest{DsrId: got.GetDsrId()}))
		wantProto(t, read.GetDataSubjectRequest(), want)
		for _, secret := range []string{subjectName, subjectEmail} {
			if strings.Contains(e.logs.String(), secret) {
				t.Fatalf("logs contain personal data %q:\n%s", secret, e.logs.String())
			}
		}
	})

	// Due dates: one calendar month (GDPR Art. 12(3)), ending on the last
	// day of the next month when it has no such day (Reg. 1182/71 Art. 3(2)(c)).
	dues := []struct {
		receive, due time.Time
	}{
		{time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC), time.Date(2026, 2, 28, 10, 0, 0, 0, time.UTC)},
		{time.Date(2026, 1, 15, 8, 30, 0, 0, time.UTC), time.Date(2026, 2, 15, 8, 30, 0, 0, time.UTC)},
		{time.Date(2025, 12, 31, 23, 59, 0, 0, time.UTC), time.Date(2026, 1, 31, 23, 59, 0, 0, time.UTC)},
		{time.Date(2026, 2, 28, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC)},
		{time.Date(2025, 10, 31, 9, 0, 0, 0, time.UTC), time.Date(2025, 11, 30, 9, 0, 0, 0, time.UTC)},
	}
	for _, tc := range dues {
		t.Run("method=Submit/case=due_"+tc.receive.Format("2006-01-02"), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			createCustomer(t, e, validCustomer("acme"))
			req := dsrRequest("acme")
			req.ReceiveTime = timestamppb.New(tc.receive)
			resp := must[*registryv1.SubmitDataSubjectRequestResponse](t)(e.dsrs.SubmitDataSubjectRequest(t.Context(), req))
			if got := resp.GetDataSubjectRequest().GetDueTime().AsTime(); !got.Equal(tc.due) {
				t.Fatalf("due %v, want %v", got, tc.due)
			}
		})
	}

	t.Run("method=Submit/case=idempotent_retry", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		createCustomer(t, e, validCustomer("acme"))
		req := dsrRequest("acme")
		req.RequestId = "mail-0001"
		first := must[*registryv1.SubmitDataSubjectRequestResponse](t)(e.dsrs.SubmitDataSubjectRequest(t.Context(), req))
		// A retry later still answers with the first request (and its
		// defaulted receive time), not a second one.
		e.clock.Advance(10 * time.Minute)
		second := must[*registryv1.SubmitDataSubjectRequestResponse](t)(e.dsrs.SubmitDataSubjectRequest(t.Context(), req))
		wantProto(t, second, first)

		other := dsrRequest("acme")
		other.RequestId = "mail-0001"
		other.Type = registryv1.DataSubjectRequestType_DATA_SUBJECT_REQUEST_TYPE_ERASURE
		_, err := e.dsrs.SubmitDataSubjectRequest(t.Context(), other)
		wantViolations(t, err, "request_id")
	})

	t.Run("method=Submit/case=unknown_customer", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.dsrs.SubmitDataSubjectRequest(t.Context(), dsrRequest("nobody"))
		wantCode(t, err, codes.NotFound)
	})

	cases := []struct {
		name   string
		mutate func(r *registryv1.SubmitDataSubjectRequestRequest)
		want   []string
	}{
		{
			name: "missing_required_fields",
			mutate: func(r *registryv1.SubmitDataSubjectRequestRequest) {
				r.CustomerId = ""
				r.Type = 0
				r.Subject.Name = ""
			},
			want: []string{"customer_id", "type", "subject.name"},
		},
		{
			name:   "missing_subject",
			mutate: func(r *registryv1.SubmitDataSubjectRequestRequest) { r.Subject = nil },
			want:   []string{"subject"},
		},
		{
			// A request missing a REQUIRED field also learns, in the same
			// answer, what else is wrong with it (server.Validator);
			// violations inside the missing subject are not repeated.
			name: "missing_subject_unknown_type",
			mutate: func(r *registryv1.SubmitDataSubjectRequestRequest) {
				r.Subject = nil
				r.Type = 99
			},
			want: []string{"subject", "type"},
		},
		{
			name: "missing_and_malformed",
			mutate: func(r *registryv1.SubmitDataSubjectRequestRequest) {
				r.CustomerId = ""
				r.Subject.Name = ""
				r.Subject.Email = "zoe at example.org"
				r.ReceiveTime = timestamppb.New(now.Add(time.Hour))
			},
			want: []string{"customer_id", "subject.name", "subject.email", "receive_time"},
		},
		{
			name: "everything_wrong",
			mutate: func(r *registryv1.SubmitDataSubjectRequestRequest) {
				r.RequestId = strings.Repeat("k", 129)
				r.CustomerId = "ACME"
				r.Type = 99
				r.Subject = &registryv1.DataSubject{
					Name:       strings.Repeat("n", 201),
					Email:      "zoe at example.org",
					AccountRef: strings.Repeat("a", 201),
				}
				r.Details = strings.Repeat("d", 8<<10+1)
				r.ReceiveTime = timestamppb.New(now.Add(6 * time.Minute))
			},
			want: []string{
				"request_id", "customer_id", "type", "subject.name", "subject.email",
				"subject.account_ref", "details", "receive_time",
			},
		},
		{
			name: "receive_time_too_old",
			mutate: func(r *registryv1.SubmitDataSubjectRequestRequest) {
				r.ReceiveTime = timestamppb.New(now.AddDate(-1, 0, -1))
			},
			want: []string{"receive_time"},
		},
		{
			name:   "subject_name_blank",
			mutate: func(r *registryv1.SubmitDataSubjectRequestRequest) { r.Subject.Name = "   " },
			want:   []string{"subject.name"},
		},
	}
	for _, tc := range cases {
		t.Run("method=Submit/case=invalid_"+tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			createCustomer(t, e, validCustomer("acme"))
			req := dsrRequest("acme")
			tc.mutate(req)
			_, err := e.dsrs.SubmitDataSubjectRequest(t.Context(), req)
			wantViolations(t, err, tc.want...)
			st := e.logs.String()
			if strings.Contains(st, subjectEmail) || strings.Contains(st, "zoe at example.org") {
				t.Fatalf("logs contain personal data:\n%s", st)
			}
		})
	}

	t.Run("method=Submit/case=receive_time_within_skew", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		createCustomer(t, e, validCustomer("acme"))
		req := dsrRequest("acme")
		req.ReceiveTime = timestamppb.New(now.Add(4 * time.Minute))
		must[*registryv1.SubmitDataSubjectRequestResponse](t)(e.dsrs.SubmitDataSubjectRequest(t.Context(), req))
	})
}

func TestGetDataSubjectRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	t.Run("method=Get/case=not_found", func(t *testing.T) {
		t.Parallel()
		_, err := e.dsrs.GetDataSubjectRequest(t.Context(), &registryv1.GetDataSubjectRequestRequest{DsrId: ids.New("dsr")})
		wantCode(t, err, codes.NotFound)
	})

	t.Run("method=Get/case=invalid_id", func(t *testing.T) {
		t.Parallel()
		_, err := e.dsrs.GetDataSubjectRequest(t.Context(), &registryv1.GetDataSubjectRequestRequest{DsrId: "inc_123"})
		wantViolations(t, err, "dsr_id")
	})
}
