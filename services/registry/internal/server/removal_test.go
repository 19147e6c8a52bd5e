package server_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/pkg/ids"
)

const (
	typeSSN  = registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_SSN
	typeCard = registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_PAYMENT_CARD

	statusOpen    = registryv1.RemovalRequestStatus_REMOVAL_REQUEST_STATUS_OPEN
	statusFlagged = registryv1.RemovalRequestStatus_REMOVAL_REQUEST_STATUS_FLAGGED_FOR_REMOVAL
)

func openReq(customerID, requestID string) *registryv1.OpenRemovalRequestRequest {
	return &registryv1.OpenRemovalRequestRequest{
		RequestId:    requestID,
		CustomerId:   customerID,
		FoundTypes:   []registryv1.SensitiveDataType{typeCard, typeSSN},
		Location:     "crm / contacts / notes",
		FindingCount: 3,
		Source:       "scan:rmh_1",
	}
}

func open(t *testing.T, e *env, req *registryv1.OpenRemovalRequestRequest) *registryv1.RemovalRequest {
	t.Helper()
	return must[*registryv1.OpenRemovalRequestResponse](t)(e.removals.OpenRemovalRequest(t.Context(), req)).GetRemovalRequest()
}

func TestOpenRemovalRequest(t *testing.T) {
	t.Parallel()

	t.Run("method=Open/case=ok_default_deadline", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		createCustomer(t, e, validCustomer("acme"))
		got := open(t, e, openReq("acme", "h-1"))
		if !ids.Valid("rmr", got.GetRemovalRequestId()) {
			t.Fatalf("bad id %q", got.GetRemovalRequestId())
		}
		want := &registryv1.RemovalRequest{
			RemovalRequestId:      got.GetRemovalRequestId(),
			CustomerId:            "acme",
			FoundTypes:            []registryv1.SensitiveDataType{typeSSN, typeCard},
			Location:              "crm / contacts / notes",
			FindingCount:          3,
			Source:                "scan:rmh_1",
			Status:                statusOpen,
			OpenTime:              timestamppb.New(now),
			Deadline:              timestamppb.New(now.Add(14 * 24 * time.Hour)),
			NotifyCustomerPending: true,
			NotificationEmail:     "dpo@acme.example.org",
			UpdateTime:            timestamppb.New(now),
		}
		wantProto(t, got, want)
		read := must[*registryv1.GetRemovalRequestResponse](t)(e.removals.GetRemovalRequest(t.Context(), &registryv1.GetRemovalRequestRequest{RemovalRequestId: got.GetRemovalRequestId()}))
		wantProto(t, read.GetRemovalRequest(), want)
	})

	t.Run("method=Open/case=idempotent", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		createCustomer(t, e, validCustomer("acme"))
		first := open(t, e, openReq("acme", "h-1"))
		e.clock.Advance(time.Minute)
		again := open(t, e, openReq("acme", "h-1"))
		wantProto(t, again, first)
		list := must[*registryv1.ListRemovalRequestsResponse](t)(e.removals.ListRemovalRequests(t.Context(), &registryv1.ListRemovalRequestsRequest{CustomerId: "acme"}))
		if n := len(list.GetRemovalRequests()); n != 1 {
			t.Fatalf("got %d requests, want 1", n)
		}
		other := openReq("acme", "h-1")
		other.Location = "elsewhere"
		_, err := e.removals.OpenRemovalRequest(t.Context(), other)
		wantViolations(t, err, "request_id")
	})

	t.Run("method=Open/case=shorter_deadline", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		createCustomer(t, e, validCustomer("acme"))
		req := openReq("acme", "")
		req.Deadline = timestamppb.New(now.Add(48 * time.Hour))
		got := open(t, e, req)
		wantProto(t, got.GetDeadline(), timestamppb.New(now.Add(48*time.Hour)))
	})

	t.Run("method=Open/case=unknown_customer", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.removals.OpenRemovalRequest(t.Context(), openReq("nobody", "h-1"))
		wantCode(t, err, codes.NotFound)
	})

	t.Run("method=Open/case=invalid", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.removals.OpenRemovalRequest(t.Context(), &registryv1.OpenRemovalRequestRequest{
			RequestId:    strings.Repeat("x", 129),
			CustomerId:   "Not A Slug",
			FoundTypes:   []registryv1.SensitiveDataType{typeSSN, typeSSN, 99},
			Location:     strings.Repeat("l", 1025),
			FindingCount: -1,
			Deadline:     timestamppb.New(now.Add(15 * 24 * time.Hour)),
		})
		wantViolations(t, err, "request_id", "customer_id", "found_types[1]", "found_types[2]", "location", "finding_count", "deadline")
	})

	t.Run("method=Open/case=missing_required", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.removals.OpenRemovalRequest(t.Context(), &registryv1.OpenRemovalRequestRequest{Deadline: timestamppb.New(now.Add(-time.Hour))})
		fields := violations(t, err)
		for _, f := range []string{"customer_id", "found_types", "location", "deadline"} {
			if !strings.Contains(strings.Join(fields, ","), f) {
				t.Fatalf("violations %v lack %s", fields, f)
			}
		}
	})
}

func TestListRemovalRequests(t *testing.T) {
	t.Parallel()

	t.Run("method=List/case=filters_and_paging", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		createCustomer(t, e, validCustomer("acme"))
		createCustomer(t, e, validCustomer("globex"))
		short := openReq("acme", "a-1")
		short.Deadline = timestamppb.New(now.Add(time.Hour))
		first := open(t, e, short)
		open(t, e, openReq("acme", "a-2"))
		open(t, e, openReq("globex", "g-1"))

		page := must[*registryv1.ListRemovalRequestsResponse](t)(e.removals.ListRemovalRequests(t.Context(), &registryv1.ListRemovalRequestsRequest{CustomerId: "acme", PageSize: 1}))
		if len(page.GetRemovalRequests()) != 1 || page.GetNextPageToken() == "" {
			t.Fatalf("first page: %v", page)
		}
		rest := must[*registryv1.ListRemovalRequestsResponse](t)(e.removals.ListRemovalRequests(t.Context(), &registryv1.ListRemovalRequestsRequest{CustomerId: "acme", PageSize: 1, PageToken: page.GetNextPageToken()}))
		if len(rest.GetRemovalRequests()) != 1 || rest.GetRemovalRequests()[0].GetCustomerId() != "acme" {
			t.Fatalf("second page: %v", rest)
		}
		_, err := e.removals.ListRemovalRequests(t.Context(), &registryv1.ListRemovalRequestsRequest{CustomerId: "globex", PageToken: page.GetNextPageToken()})
		wantViolations(t, err, "page_token")

		overdue := must[*registryv1.ListRemovalRequestsResponse](t)(e.removals.ListRemovalRequests(t.Context(), &registryv1.ListRemovalRequestsRequest{OverdueOnly: true}))
		if n := len(overdue.GetRemovalRequests()); n != 0 {
			t.Fatalf("overdue before the deadline: %d", n)
		}
		e.clock.Advance(2 * time.Hour)
		overdue = must[*registryv1.ListRemovalRequestsResponse](t)(e.removals.ListRemovalRequests(t.Context(), &registryv1.ListRemovalRequestsRequest{OverdueOnly: true}))
		if got := overdue.GetRemovalRequests(); len(got) != 1 || got[0].GetRemovalRequestId() != first.GetRemovalRequestId() {
			t.Fatalf("overdue: %v", got)
		}
		open2 := must[*registryv1.ListRemovalRequestsResponse](t)(e.removals.ListRemovalRequests(t.Context(), &registryv1.ListRemovalRequestsRequest{Status: statusOpen}))
		if n := len(open2.GetRemovalRequests()); n != 3 {
			t.Fatalf("open: %d, want 3", n)
		}
	})
}

func TestRemovalLifecycle(t *testing.T) {
	t.Parallel()

	t.Run("method=RecordRemoval/case=by_customer_then_final", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		createCustomer(t, e, validCustomer("acme"))
		r := open(t, e, openReq("acme", ""))
		e.clock.Advance(time.Hour)
		rec := &registryv1.RecordRemovalRequest{
			RemovalRequestId: r.GetRemovalRequestId(),
			RemovedBy:        registryv1.Remover_REMOVER_CUSTOMER,
			Evidence:         "customer ticket 4711; rescan clean",
			RequestId:        "rec-1",
		}
		got := must[*registryv1.RecordRemovalResponse](t)(e.removals.RecordRemoval(t.Context(), rec)).GetRemovalRequest()
		if got.GetStatus() != registryv1.RemovalRequestStatus_REMOVAL_REQUEST_STATUS_REMOVED_BY_CUSTOMER {
			t.Fatalf("status %v", got.GetStatus())
		}
		wantProto(t, got.GetRemoval(), &registryv1.Removal{
			RemovedBy:  registryv1.Remover_REMOVER_CUSTOMER,
			RemoveTime: timestamppb.New(now.Add(time.Hour)),
			Evidence:   "customer ticket 4711; rescan clean",
			RecordTime: timestamppb.New(now.Add(time.Hour)),
			RequestId:  "rec-1",
		})
		again := must[*registryv1.RecordRemovalResponse](t)(e.removals.RecordRemoval(t.Context(), rec)).GetRemovalRequest()
		wantProto(t, again, got)
		rec.RequestId = "rec-2"
		_, err := e.removals.RecordRemoval(t.Context(), rec)
		wantCode(t, err, codes.FailedPrecondition)
	})

	t.Run("method=RecordRemoval/case=processor_before_deadline", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		createCustomer(t, e, validCustomer("acme"))
		r := open(t, e, openReq("acme", ""))
		_, err := e.removals.RecordRemoval(t.Context(), &registryv1.RecordRemovalRequest{
			RemovalRequestId: r.GetRemovalRequestId(), RemovedBy: registryv1.Remover_REMOVER_PROCESSOR, Evidence: "purged",
		})
		wantCode(t, err, codes.FailedPrecondition)
	})

	t.Run("method=RecordRemoval/case=invalid", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.removals.RecordRemoval(t.Context(), &registryv1.RecordRemovalRequest{
			RemovalRequestId: "nope", RemovedBy: 9, Evidence: " ", RemoveTime: timestamppb.New(now.Add(time.Hour)),
		})
		wantViolations(t, err, "removal_request_id", "removed_by", "remove_time", "evidence")
		_, err = e.removals.GetRemovalRequest(t.Context(), &registryv1.GetRemovalRequestRequest{RemovalRequestId: ids.New("rmr")})
		wantCode(t, err, codes.NotFound)
	})

	t.Run("method=FlagOverdue/case=once_then_processor_removes", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		createCustomer(t, e, validCustomer("acme"))
		r := open(t, e, openReq("acme", ""))
		if did, err := e.svc.FlagOverdueRemovals(t.Context()); err != nil || did {
			t.Fatalf("before the deadline: did=%v err=%v", did, err)
		}
		e.clock.Advance(14*24*time.Hour + time.Second)
		// Replicas racing on the same overdue request flag it exactly once.
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if _, err := e.svc.FlagOverdueRemovals(t.Context()); err != nil {
					t.Errorf("FlagOverdueRemovals: %v", err)
				}
			})
		}
		wg.Wait()
		if did, err := e.svc.FlagOverdueRemovals(t.Context()); err != nil || did {
			t.Fatalf("after flagging: did=%v err=%v", did, err)
		}
		got := must[*registryv1.GetRemovalRequestResponse](t)(e.removals.GetRemovalRequest(t.Context(), &registryv1.GetRemovalRequestRequest{RemovalRequestId: r.GetRemovalRequestId()})).GetRemovalRequest()
		if got.GetStatus() != statusFlagged || got.GetFlagTime() == nil {
			t.Fatalf("after deadline: %v", got)
		}
		hist, err := e.st.RemovalHistory(t.Context(), r.GetRemovalRequestId())
		if err != nil || len(hist) != 1 {
			t.Fatalf("history %v, %v; want one change", hist, err)
		}
		done := must[*registryv1.RecordRemovalResponse](t)(e.removals.RecordRemoval(t.Context(), &registryv1.RecordRemovalRequest{
			RemovalRequestId: r.GetRemovalRequestId(), RemovedBy: registryv1.Remover_REMOVER_PROCESSOR, Evidence: "purged by ops, change 881",
		})).GetRemovalRequest()
		if done.GetStatus() != registryv1.RemovalRequestStatus_REMOVAL_REQUEST_STATUS_REMOVED_BY_US {
			t.Fatalf("status %v", done.GetStatus())
		}
	})
}
