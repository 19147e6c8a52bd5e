package peers_test

import (
	"strings"
	"testing"
	"time"

	"github.com/breachline/breachline/services/registry/internal/domain"
)

// proposeChange registers an EU customer and a subprocessor serving its
// product and proposes adding it; the relay env's "acme" (US) is not
// affected.
func (e *relayEnv) proposeChange(t *testing.T) domain.SubprocessorChange {
	t.Helper()
	if _, err := e.svc.CreateCustomer(t.Context(), "", domain.Customer{
		ID: "schule", DisplayName: "Schule GmbH", Region: domain.RegionEUEEACH, NotificationEmail: "dsb@schule.example",
		Products: []string{"admin"}, EmployeeNotification: domain.EmployeeNotificationCustomer,
	}); err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	if _, err := e.svc.CreateSubprocessor(t.Context(), "", domain.Subprocessor{
		ID: "mailer", LegalName: "Mailer Inc.", Country: "US", Purpose: "E-mail delivery", Products: []string{"admin"},
		TransferMechanism: domain.TransferFramework,
	}); err != nil {
		t.Fatalf("CreateSubprocessor: %v", err)
	}
	c, err := e.svc.ProposeSubprocessorChange(t.Context(), domain.ProposeParams{Kind: domain.ChangeAddition, SubprocessorID: "mailer"})
	if err != nil {
		t.Fatalf("ProposeSubprocessorChange: %v", err)
	}
	if c.AffectedCount != 1 {
		t.Fatalf("affected = %d, want 1 (the EU customer only)", c.AffectedCount)
	}
	return c
}

func (e *relayEnv) wantChangeNotified(t *testing.T, c domain.SubprocessorChange) domain.ChangeCustomer {
	t.Helper()
	_, cs, err := e.svc.GetSubprocessorChange(t.Context(), c.ID)
	if err != nil || len(cs) != 1 {
		t.Fatalf("GetSubprocessorChange = %+v, %v", cs, err)
	}
	got := cs[0]
	if got.NotifyPending || got.NotifyTime.IsZero() || got.NoticeID != "ntc_"+domain.ChangeNoticeRequestID(c.ID, "schule") ||
		!got.WindowEnd.Equal(got.NotifyTime.Add(c.ObjectionWindow)) {
		t.Fatalf("entry = %+v, want notified", got)
	}
	return got
}

func TestNotifyChangeCustomers(t *testing.T) {
	t.Parallel()

	t.Run("method=NotifyChangeCustomers/case=delivers", func(t *testing.T) {
		t.Parallel()
		e := newRelayEnv(t)
		e.step = e.svc.NotifyChangeCustomers("test")
		c := e.proposeChange(t)
		e.wantStep(t, true, false)
		e.wantStep(t, false, false)
		e.wantChangeNotified(t, c)
		calls, notices := e.dispatch.snapshot()
		n := notices[domain.ChangeNoticeRequestID(c.ID, "schule")]
		if calls != 1 || n == nil || n.GetTo() != "dsb@schule.example" || n.GetKind() != "subprocessor-change" || n.GetCustomerId() != "schule" {
			t.Fatalf("dispatch calls = %d, notice = %v", calls, n)
		}
		for _, want := range []string{"Mailer Inc.", "US", "E-mail delivery", "framework membership", c.ID} {
			if !strings.Contains(n.GetBody(), want) {
				t.Errorf("body lacks %q:\n%s", want, n.GetBody())
			}
		}
	})

	t.Run("method=NotifyChangeCustomers/case=retries-while-dispatch-down", func(t *testing.T) {
		t.Parallel()
		e := newRelayEnv(t)
		e.step = e.svc.NotifyChangeCustomers("test")
		c := e.proposeChange(t)
		e.dispatch.set(true, false)
		e.wantStep(t, true, true)
		e.wantStep(t, false, false) // backing off
		e.clock.Advance(2 * time.Second)
		e.dispatch.set(false, false)
		e.wantStep(t, true, false)
		e.wantChangeNotified(t, c)
	})

	t.Run("method=NotifyChangeCustomers/case=lost-answer-sends-once", func(t *testing.T) {
		t.Parallel()
		e := newRelayEnv(t)
		e.step = e.svc.NotifyChangeCustomers("test")
		c := e.proposeChange(t)
		e.dispatch.set(false, true)
		e.wantStep(t, true, true)
		e.clock.Advance(2 * time.Second)
		e.wantStep(t, true, false)
		e.wantChangeNotified(t, c)
		if calls, notices := e.dispatch.snapshot(); calls != 2 || len(notices) != 1 {
			t.Fatalf("dispatch calls = %d, notices = %d; want 2 calls with one key", calls, len(notices))
		}
	})
}
