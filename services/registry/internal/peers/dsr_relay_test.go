package peers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/breachline/breachline/services/registry/internal/domain"
)

func (e *relayEnv) submitDSR(t *testing.T) domain.DataSubjectRequest {
	t.Helper()
	d, err := e.svc.SubmitDataSubjectRequest(t.Context(), domain.SubmitDataSubjectRequestParams{
		CustomerID: "acme", Type: domain.DSRErasure, RequestID: "mail-1",
		Subject: domain.DataSubject{Name: "Zoé Quintanilla-Brandt", Email: "zoe.qb@example.org", AccountRef: "student-4711"},
		Details: "Please erase my account.",
	})
	if err != nil {
		t.Fatalf("SubmitDataSubjectRequest: %v", err)
	}
	if !d.ForwardPending || d.Status != domain.DSRReceived {
		t.Fatalf("new request = %+v", d)
	}
	return d
}

// runStep runs step once and checks whether it found work and failed.
func runStep(t *testing.T, step func(context.Context) (bool, error), found, failed bool) {
	t.Helper()
	got, err := step(t.Context())
	if got != found || (err != nil) != failed {
		t.Fatalf("step = %v, %v; want found %v, failed %v", got, err, found, failed)
	}
}

func (e *relayEnv) wantForwarded(t *testing.T, id string) domain.DataSubjectRequest {
	t.Helper()
	d, err := e.svc.GetDataSubjectRequest(t.Context(), id)
	if err != nil {
		t.Fatalf("GetDataSubjectRequest: %v", err)
	}
	if d.ForwardPending || d.ForwardTime.IsZero() || d.ForwardNoticeID != "ntc_dsr-forward:"+id || d.Status != domain.DSRForwarded {
		t.Fatalf("request = %+v, want forwarded", d)
	}
	return d
}

func TestForwardDataSubjectRequests(t *testing.T) {
	t.Parallel()

	t.Run("method=ForwardDataSubjectRequests/case=delivers", func(t *testing.T) {
		t.Parallel()
		e := newRelayEnv(t)
		step := e.svc.ForwardDataSubjectRequests("test")
		d := e.submitDSR(t)
		runStep(t, step, true, false)
		runStep(t, step, false, false)
		e.wantForwarded(t, d.ID)
		calls, notices := e.dispatch.snapshot()
		n := notices[domain.DSRForwardRequestID(d.ID)]
		if calls != 1 || n == nil {
			t.Fatalf("dispatch calls = %d, notices = %v", calls, notices)
		}
		if n.GetTo() != "privacy@acme.example" || n.GetKind() != "data-subject-request" || n.GetCustomerId() != "acme" {
			t.Fatalf("notice = %v", n)
		}
		for _, want := range []string{"erasure (GDPR Art. 17)", "Zoé Quintanilla-Brandt", "student-4711", "Please erase my account.", d.ID, "2026-04-02"} {
			if !strings.Contains(n.GetBody(), want) {
				t.Errorf("body lacks %q:\n%s", want, n.GetBody())
			}
		}
	})

	t.Run("method=ForwardDataSubjectRequests/case=retries-while-dispatch-down", func(t *testing.T) {
		t.Parallel()
		e := newRelayEnv(t)
		step := e.svc.ForwardDataSubjectRequests("test")
		d := e.submitDSR(t)
		e.dispatch.set(true, false)
		runStep(t, step, true, true)
		runStep(t, step, false, false) // backing off
		if got, _ := e.svc.GetDataSubjectRequest(t.Context(), d.ID); !got.ForwardPending || got.Status != domain.DSRReceived {
			t.Fatalf("request = %+v, want still pending", got)
		}
		e.clock.Advance(2 * time.Second)
		runStep(t, step, true, true)
		e.dispatch.set(false, false)
		e.clock.Advance(5 * time.Second)
		runStep(t, step, true, false)
		e.wantForwarded(t, d.ID)
	})

	t.Run("method=ForwardDataSubjectRequests/case=lost-answer-sends-once", func(t *testing.T) {
		t.Parallel()
		e := newRelayEnv(t)
		step := e.svc.ForwardDataSubjectRequests("test")
		d := e.submitDSR(t)
		e.dispatch.set(false, true)
		runStep(t, step, true, true)
		e.clock.Advance(2 * time.Second)
		runStep(t, step, true, false)
		e.wantForwarded(t, d.ID)
		if calls, notices := e.dispatch.snapshot(); calls != 2 || len(notices) != 1 {
			t.Fatalf("dispatch calls = %d, notices = %d; want 2 calls with one key", calls, len(notices))
		}
	})

	t.Run("method=RemindDueDataSubjectRequests/case=once-per-request", func(t *testing.T) {
		t.Parallel()
		e := newRelayEnv(t)
		forward := e.svc.ForwardDataSubjectRequests("test")
		remind := e.svc.RemindDueDataSubjectRequests("test", 7*24*time.Hour)
		d := e.submitDSR(t)
		runStep(t, remind, false, false) // not forwarded yet, not due soon
		runStep(t, forward, true, false)
		runStep(t, remind, false, false) // due in a month
		e.clock.Advance(25 * 24 * time.Hour)
		runStep(t, remind, true, false)
		runStep(t, remind, false, false)
		e.clock.Advance(24 * time.Hour)
		runStep(t, remind, false, false)
		got, err := e.svc.GetDataSubjectRequest(t.Context(), d.ID)
		if err != nil || got.ReminderNoticeID != "ntc_dsr-reminder:"+d.ID || got.ReminderTime.IsZero() {
			t.Fatalf("request = %+v, %v; want reminded", got, err)
		}
		calls, notices := e.dispatch.snapshot()
		n := notices[domain.DSRReminderRequestID(d.ID)]
		if calls != 2 || n == nil || n.GetTo() != "privacy@acme.example" || strings.Contains(n.GetBody(), "Zoé") {
			t.Fatalf("calls = %d, reminder = %v", calls, n)
		}
	})
}
