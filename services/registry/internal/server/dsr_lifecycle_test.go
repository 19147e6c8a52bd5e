package server_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// dsrNotices is an in-process domain.Notifier for handler tests; the relay
// against a real dispatch gRPC server is tested in internal/peers.
type dsrNotices struct {
	mu   sync.Mutex
	sent map[string]domain.Notice
}

func (n *dsrNotices) SendNotice(_ context.Context, x domain.Notice) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sent == nil {
		n.sent = map[string]domain.Notice{}
	}
	n.sent[x.RequestID] = x
	return "ntc_" + x.RequestID, nil
}

// Status shorthands.
const (
	stReceived   = registryv1.DataSubjectRequestStatus_DATA_SUBJECT_REQUEST_STATUS_RECEIVED
	stForwarded  = registryv1.DataSubjectRequestStatus_DATA_SUBJECT_REQUEST_STATUS_FORWARDED
	stInProgress = registryv1.DataSubjectRequestStatus_DATA_SUBJECT_REQUEST_STATUS_IN_PROGRESS
	stCompleted  = registryv1.DataSubjectRequestStatus_DATA_SUBJECT_REQUEST_STATUS_COMPLETED
	stRejected   = registryv1.DataSubjectRequestStatus_DATA_SUBJECT_REQUEST_STATUS_REJECTED
)

// newDSREnv is a registry with customer "acme" whose forwarding relay
// reports to an in-process notifier.
func newDSREnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, domain.WithNotifier(&dsrNotices{}))
	createCustomer(t, e, validCustomer("acme"))
	return e
}

// submit records a request received at receive (zero: now).
func submit(t *testing.T, e *env, customer string, receive time.Time) *registryv1.DataSubjectRequest {
	t.Helper()
	req := dsrRequest(customer)
	if !receive.IsZero() {
		req.ReceiveTime = timestamppb.New(receive)
	}
	return must[*registryv1.SubmitDataSubjectRequestResponse](t)(e.dsrs.SubmitDataSubjectRequest(t.Context(), req)).GetDataSubjectRequest()
}

// forwardAll runs the forwarding relay until nothing is pending.
func forwardAll(t *testing.T, e *env) {
	t.Helper()
	step := e.svc.ForwardDataSubjectRequests("test")
	for {
		found, err := step(t.Context())
		if err != nil {
			t.Fatalf("forward step: %v", err)
		}
		if !found {
			return
		}
	}
}

func getDSR(t *testing.T, e *env, id string) *registryv1.DataSubjectRequest {
	t.Helper()
	return must[*registryv1.GetDataSubjectRequestResponse](t)(e.dsrs.GetDataSubjectRequest(t.Context(),
		&registryv1.GetDataSubjectRequestRequest{DsrId: id})).GetDataSubjectRequest()
}

func transition(ctx context.Context, e *env, id string, to registryv1.DataSubjectRequestStatus, reason, requestID string) (*registryv1.DataSubjectRequest, error) {
	resp, err := e.dsrs.TransitionDataSubjectRequest(ctx, &registryv1.TransitionDataSubjectRequestRequest{
		DsrId: id, Status: to, Reason: reason, RequestId: requestID,
	})
	return resp.GetDataSubjectRequest(), err
}

// wantPrecondition fails unless err is FAILED_PRECONDITION whose message
// contains every part of want.
func wantPrecondition(t *testing.T, err error, want ...string) {
	t.Helper()
	wantCode(t, err, codes.FailedPrecondition)
	msg := status.Convert(err).Message()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Fatalf("message %q lacks %q", msg, w)
		}
	}
}

func TestForwardDataSubjectRequest(t *testing.T) {
	t.Parallel()
	e := newDSREnv(t)
	d := submit(t, e, "acme", time.Time{})
	e.clock.Advance(time.Second)
	forwardAll(t, e)
	got := getDSR(t, e, d.GetDsrId())
	if got.GetStatus() != stForwarded || got.GetForwardPending() || got.GetForwardNoticeId() != "ntc_dsr-forward:"+d.GetDsrId() ||
		!got.GetForwardTime().AsTime().Equal(now.Add(time.Second)) {
		t.Fatalf("after relay: %v", got)
	}
	h := got.GetStatusHistory()
	if len(h) != 2 || h[1].GetFrom() != stReceived || h[1].GetTo() != stForwarded || h[1].GetActor() != "svc:registry" {
		t.Fatalf("history = %v", h)
	}
}

func TestTransitionDataSubjectRequest(t *testing.T) {
	t.Parallel()

	t.Run("method=Transition/case=received_waits_for_relay", func(t *testing.T) {
		t.Parallel()
		e := newDSREnv(t)
		d := submit(t, e, "acme", time.Time{})
		for _, to := range []registryv1.DataSubjectRequestStatus{stForwarded, stInProgress, stCompleted} {
			_, err := transition(t.Context(), e, d.GetDsrId(), to, "", "")
			wantPrecondition(t, err, "received", "forwarding relay")
		}
	})

	t.Run("method=Transition/case=table", func(t *testing.T) {
		t.Parallel()
		e := newDSREnv(t)
		d := submit(t, e, "acme", time.Time{})
		forwardAll(t, e)
		id := d.GetDsrId()
		// forwarded → received is not allowed; the message names the moves.
		_, err := transition(t.Context(), e, id, stReceived, "", "")
		wantPrecondition(t, err, "forwarded", "allowed: in_progress, completed, rejected")
		got := must[*registryv1.DataSubjectRequest](t)(transition(t.Context(), e, id, stInProgress, "controller asked for an export", "t-1"))
		if got.GetStatus() != stInProgress {
			t.Fatalf("status = %v", got.GetStatus())
		}
		// A retry answers the same; the key with another move is refused.
		again := must[*registryv1.DataSubjectRequest](t)(transition(t.Context(), e, id, stInProgress, "controller asked for an export", "t-1"))
		wantProto(t, again, got)
		_, err = transition(t.Context(), e, id, stCompleted, "", "t-1")
		wantViolations(t, err, "request_id")
		_, err = transition(t.Context(), e, id, stForwarded, "", "")
		wantPrecondition(t, err, "allowed: completed, rejected")
		// Rejection needs its reason.
		_, err = transition(t.Context(), e, id, stRejected, "", "")
		wantViolations(t, err, "reason")
		done := must[*registryv1.DataSubjectRequest](t)(transition(t.Context(), e, id, stRejected, "manifestly unfounded: not a pupil of the school", ""))
		if done.GetStatus() != stRejected || len(done.GetStatusHistory()) != 4 {
			t.Fatalf("after reject: %v", done)
		}
		_, err = transition(t.Context(), e, id, stCompleted, "", "")
		wantPrecondition(t, err, "rejected is final")
	})

	t.Run("method=Transition/case=invalid", func(t *testing.T) {
		t.Parallel()
		e := newDSREnv(t)
		_, err := e.dsrs.TransitionDataSubjectRequest(t.Context(), &registryv1.TransitionDataSubjectRequestRequest{
			DsrId: "inc_1", Status: 42, Reason: "a\x00b", RequestId: strings.Repeat("k", 129),
		})
		wantViolations(t, err, "dsr_id", "status", "reason", "request_id")
		_, err = e.dsrs.TransitionDataSubjectRequest(t.Context(), &registryv1.TransitionDataSubjectRequestRequest{DsrId: ids.New("dsr"), Status: stInProgress})
		wantCode(t, err, codes.NotFound)
	})
}

func TestExtendDataSubjectRequest(t *testing.T) {
	t.Parallel()
	extend := func(ctx context.Context, e *env, id string, months int32, reason, key string) (*registryv1.DataSubjectRequest, error) {
		resp, err := e.dsrs.ExtendDataSubjectRequest(ctx, &registryv1.ExtendDataSubjectRequestRequest{DsrId: id, Months: months, Reason: reason, RequestId: key})
		return resp.GetDataSubjectRequest(), err
	}
	// Received on 31 January, with the clock set back to an hour later (the
	// pinned now, 1 March, is past the first month).
	receive := time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC)

	t.Run("method=Extend/case=months_counted_from_receipt", func(t *testing.T) {
		t.Parallel()
		e := newDSREnv(t)
		d := submitAt(t, e, receive, receive.Add(time.Hour))
		if got := d.GetDueTime().AsTime(); !got.Equal(time.Date(2026, 2, 28, 9, 0, 0, 0, time.UTC)) {
			t.Fatalf("due = %v", got)
		}
		one := must[*registryv1.DataSubjectRequest](t)(extend(t.Context(), e, d.GetDsrId(), 1, "many requests this month", "x-1"))
		// 31 January + 2 months is 31 March, not 28 February + 1 month.
		if got := one.GetDueTime().AsTime(); !got.Equal(time.Date(2026, 3, 31, 9, 0, 0, 0, time.UTC)) {
			t.Fatalf("due after 1 month = %v", got)
		}
		wantProto(t, must[*registryv1.DataSubjectRequest](t)(extend(t.Context(), e, d.GetDsrId(), 1, "many requests this month", "x-1")), one)
		_, err := extend(t.Context(), e, d.GetDsrId(), 2, "complex", "")
		wantPrecondition(t, err, "at most 2 in all")
		two := must[*registryv1.DataSubjectRequest](t)(extend(t.Context(), e, d.GetDsrId(), 1, "the export spans three systems", ""))
		if got := two.GetDueTime().AsTime(); !got.Equal(time.Date(2026, 4, 30, 9, 0, 0, 0, time.UTC)) {
			t.Fatalf("due after 2 months = %v", got)
		}
		x := two.GetExtensions()
		if len(x) != 2 || !x[1].GetPreviousDueTime().AsTime().Equal(one.GetDueTime().AsTime()) || x[1].GetReason() != "the export spans three systems" {
			t.Fatalf("extensions = %v", x)
		}
		if !two.GetOriginalDueTime().AsTime().Equal(d.GetDueTime().AsTime()) {
			t.Fatalf("original due moved: %v", two.GetOriginalDueTime())
		}
		_, err = extend(t.Context(), e, d.GetDsrId(), 1, "again", "")
		wantPrecondition(t, err, "already extended by 2")
	})

	t.Run("method=Extend/case=after_first_month", func(t *testing.T) {
		t.Parallel()
		e := newDSREnv(t)
		d := submit(t, e, "acme", now.AddDate(0, -1, -1))
		_, err := extend(t.Context(), e, d.GetDsrId(), 1, "late", "")
		wantPrecondition(t, err, "within one month of receipt")
	})

	t.Run("method=Extend/case=final_request", func(t *testing.T) {
		t.Parallel()
		e := newDSREnv(t)
		d := submit(t, e, "acme", time.Time{})
		forwardAll(t, e)
		must[*registryv1.DataSubjectRequest](t)(transition(t.Context(), e, d.GetDsrId(), stCompleted, "", ""))
		_, err := extend(t.Context(), e, d.GetDsrId(), 1, "late", "")
		wantPrecondition(t, err, "completed")
	})

	t.Run("method=Extend/case=invalid", func(t *testing.T) {
		t.Parallel()
		e := newDSREnv(t)
		_, err := extend(t.Context(), e, "dsr_x", 3, " ", "")
		wantViolations(t, err, "dsr_id", "months", "reason")
	})
}

// submitAt records a request received at receive while the clock reads at.
func submitAt(t *testing.T, e *env, receive, at time.Time) *registryv1.DataSubjectRequest {
	t.Helper()
	e.clock.Advance(at.Sub(e.clock.Now()))
	return submit(t, e, "acme", receive)
}

func TestListDataSubjectRequests(t *testing.T) {
	t.Parallel()
	e := newDSREnv(t)
	createCustomer(t, e, validCustomer("beta"))
	// Received 40, 25, 10 and 0 days ago: due 10 days ago (overdue), in 5
	// days, in 20 days and in a month.
	old := submit(t, e, "acme", now.AddDate(0, 0, -40))
	soon := submit(t, e, "acme", now.AddDate(0, 0, -25))
	later := submit(t, e, "beta", now.AddDate(0, 0, -10))
	fresh := submit(t, e, "acme", time.Time{})
	forwardAll(t, e)
	// A completed request is never due.
	doneOld := submit(t, e, "acme", now.AddDate(0, 0, -40))
	forwardAll(t, e)
	must[*registryv1.DataSubjectRequest](t)(transition(t.Context(), e, doneOld.GetDsrId(), stCompleted, "", ""))

	list := func(req *registryv1.ListDataSubjectRequestsRequest) []string {
		t.Helper()
		resp := must[*registryv1.ListDataSubjectRequestsResponse](t)(e.dsrs.ListDataSubjectRequests(t.Context(), req))
		var out []string
		for _, d := range resp.GetDataSubjectRequests() {
			out = append(out, d.GetDsrId())
		}
		return out
	}
	cases := []struct {
		name string
		req  *registryv1.ListDataSubjectRequestsRequest
		want []string
	}{
		{"all", &registryv1.ListDataSubjectRequestsRequest{}, []string{old.GetDsrId(), soon.GetDsrId(), later.GetDsrId(), fresh.GetDsrId(), doneOld.GetDsrId()}},
		{"customer", &registryv1.ListDataSubjectRequestsRequest{CustomerId: "beta"}, []string{later.GetDsrId()}},
		{"status", &registryv1.ListDataSubjectRequestsRequest{Status: stCompleted}, []string{doneOld.GetDsrId()}},
		{"overdue", &registryv1.ListDataSubjectRequestsRequest{OverdueOnly: true}, []string{old.GetDsrId()}},
		{"due_within_7_days", &registryv1.ListDataSubjectRequestsRequest{DueWithinDays: 7}, []string{old.GetDsrId(), soon.GetDsrId()}},
		{"due_before", &registryv1.ListDataSubjectRequestsRequest{DueBefore: timestamppb.New(now.AddDate(0, 0, 21))}, []string{old.GetDsrId(), soon.GetDsrId(), later.GetDsrId()}},
		{"due_and_customer", &registryv1.ListDataSubjectRequestsRequest{CustomerId: "acme", DueWithinDays: 30}, []string{old.GetDsrId(), soon.GetDsrId()}},
		{"due_and_final_status", &registryv1.ListDataSubjectRequestsRequest{Status: stCompleted, OverdueOnly: true}, nil},
	}
	for _, tc := range cases {
		t.Run("method=List/case="+tc.name, func(t *testing.T) {
			t.Parallel()
			if d := diff(tc.want, list(tc.req)); d != "" {
				t.Fatal(d)
			}
		})
	}

	t.Run("method=List/case=paging", func(t *testing.T) {
		t.Parallel()
		var got []string
		req := &registryv1.ListDataSubjectRequestsRequest{PageSize: 2, CustomerId: "acme"}
		for {
			resp := must[*registryv1.ListDataSubjectRequestsResponse](t)(e.dsrs.ListDataSubjectRequests(t.Context(), req))
			for _, d := range resp.GetDataSubjectRequests() {
				got = append(got, d.GetDsrId())
			}
			if resp.GetNextPageToken() == "" {
				break
			}
			req.PageToken = resp.GetNextPageToken()
		}
		if d := diff([]string{old.GetDsrId(), soon.GetDsrId(), fresh.GetDsrId(), doneOld.GetDsrId()}, got); d != "" {
			t.Fatal(d)
		}
		first := must[*registryv1.ListDataSubjectRequestsResponse](t)(e.dsrs.ListDataSubjectRequests(t.Context(), &registryv1.ListDataSubjectRequestsRequest{PageSize: 1}))
		_, err := e.dsrs.ListDataSubjectRequests(t.Context(), &registryv1.ListDataSubjectRequestsRequest{PageSize: 1, PageToken: first.GetNextPageToken(), OverdueOnly: true})
		wantViolations(t, err, "page_token")
	})

	t.Run("method=List/case=invalid", func(t *testing.T) {
		t.Parallel()
		_, err := e.dsrs.ListDataSubjectRequests(t.Context(), &registryv1.ListDataSubjectRequestsRequest{
			PageSize: -1, CustomerId: "B", Status: 77, DueWithinDays: 400,
		})
		wantViolations(t, err, "page_size", "customer_id", "status", "due_within_days")
		_, err = e.dsrs.ListDataSubjectRequests(t.Context(), &registryv1.ListDataSubjectRequestsRequest{DueWithinDays: 3, DueBefore: timestamppb.New(now)})
		wantViolations(t, err, "due_within_days")
	})
}

func TestAssistance(t *testing.T) {
	t.Parallel()
	const sum = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

	t.Run("method=RecordAssistance/case=recorded_once", func(t *testing.T) {
		t.Parallel()
		e := newDSREnv(t)
		d := submit(t, e, "acme", time.Time{})
		req := &registryv1.RecordDataSubjectRequestAssistanceRequest{DsrId: d.GetDsrId(), Description: "explained to the DPO how to export", RequestId: "a-1"}
		first := must[*registryv1.RecordDataSubjectRequestAssistanceResponse](t)(e.dsrs.RecordDataSubjectRequestAssistance(t.Context(), req))
		second := must[*registryv1.RecordDataSubjectRequestAssistanceResponse](t)(e.dsrs.RecordDataSubjectRequestAssistance(t.Context(), req))
		wantProto(t, second, first)
		if a := first.GetDataSubjectRequest().GetAssistance(); len(a) != 1 || a[0].GetDescription() != req.GetDescription() || a[0].GetActor() != "dev-anonymous" {
			t.Fatalf("assistance = %v", a)
		}
		_, err := e.dsrs.RecordDataSubjectRequestAssistance(t.Context(), &registryv1.RecordDataSubjectRequestAssistanceRequest{DsrId: "x"})
		wantViolations(t, err, "description", "dsr_id")
	})

	t.Run("method=AddAssistanceTask+CompleteAssistanceTask/case=evidence", func(t *testing.T) {
		t.Parallel()
		e := newDSREnv(t)
		d := submit(t, e, "acme", time.Time{})
		forwardAll(t, e)
		add := &registryv1.AddAssistanceTaskRequest{
			DsrId: d.GetDsrId(), Kind: registryv1.AssistanceTaskKind_ASSISTANCE_TASK_KIND_EXPORT,
			Description: "export browsing history of account student-4711", System: "admin/browsing-history", RequestId: "task-1",
		}
		added := must[*registryv1.AddAssistanceTaskResponse](t)(e.dsrs.AddAssistanceTask(t.Context(), add))
		task := added.GetTask()
		if !ids.Valid("tsk", task.GetTaskId()) || task.GetCompleteTime() != nil || len(added.GetDataSubjectRequest().GetAssistanceTasks()) != 1 {
			t.Fatalf("added = %v", added)
		}
		// A retry returns the same task; the key with other input is refused.
		wantProto(t, must[*registryv1.AddAssistanceTaskResponse](t)(e.dsrs.AddAssistanceTask(t.Context(), add)), added)
		other := &registryv1.AddAssistanceTaskRequest{DsrId: d.GetDsrId(), Kind: registryv1.AssistanceTaskKind_ASSISTANCE_TASK_KIND_ERASE, Description: "erase", RequestId: "task-1"}
		_, err := e.dsrs.AddAssistanceTask(t.Context(), other)
		wantViolations(t, err, "request_id")

		complete := &registryv1.CompleteAssistanceTaskRequest{
			DsrId: d.GetDsrId(), TaskId: task.GetTaskId(), Evidence: "job 8812: 1,204 rows exported", ArtefactSha256: sum, RequestId: "done-1",
		}
		e.clock.Advance(time.Hour)
		done := must[*registryv1.CompleteAssistanceTaskResponse](t)(e.dsrs.CompleteAssistanceTask(t.Context(), complete))
		if got := done.GetTask(); got.GetEvidence() != complete.GetEvidence() || got.GetArtefactSha256() != sum ||
			!got.GetCompleteTime().AsTime().Equal(now.Add(time.Hour)) || got.GetCompletedBy() != "dev-anonymous" {
			t.Fatalf("completed task = %v", got)
		}
		wantProto(t, must[*registryv1.CompleteAssistanceTaskResponse](t)(e.dsrs.CompleteAssistanceTask(t.Context(), complete)), done)
		complete.RequestId = "done-2"
		_, err = e.dsrs.CompleteAssistanceTask(t.Context(), complete)
		wantPrecondition(t, err, "was completed")
		_, err = e.dsrs.CompleteAssistanceTask(t.Context(), &registryv1.CompleteAssistanceTaskRequest{DsrId: d.GetDsrId(), TaskId: ids.New("tsk"), Evidence: "x"})
		wantCode(t, err, codes.NotFound)

		// No new tasks once the request is answered.
		must[*registryv1.DataSubjectRequest](t)(transition(t.Context(), e, d.GetDsrId(), stCompleted, "", ""))
		add.RequestId = ""
		_, err = e.dsrs.AddAssistanceTask(t.Context(), add)
		wantPrecondition(t, err, "completed")
	})

	t.Run("method=AddAssistanceTask+CompleteAssistanceTask/case=invalid", func(t *testing.T) {
		t.Parallel()
		e := newDSREnv(t)
		_, err := e.dsrs.AddAssistanceTask(t.Context(), &registryv1.AddAssistanceTaskRequest{DsrId: "dsr_1", Kind: 9, System: "a\nb"})
		wantViolations(t, err, "description", "dsr_id", "kind", "system")
		_, err = e.dsrs.CompleteAssistanceTask(t.Context(), &registryv1.CompleteAssistanceTaskRequest{DsrId: ids.New("dsr"), TaskId: "t", ArtefactSha256: strings.ToUpper(sum)})
		wantViolations(t, err, "evidence", "task_id", "artefact_sha256")
	})
}
