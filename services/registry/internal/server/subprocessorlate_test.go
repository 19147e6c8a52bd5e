package server_test

import (
	"testing"
	"time"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// TestLateCustomersJoinOpenChange checks that a customer who becomes
// affected while a proposed change is still open — registered in the EU,
// given the product, or moved to the EU — gets its own notice and its own
// objection window from that notice, and that the change takes effect for
// it only after that window, whatever the others' schedule.
func TestLateCustomersJoinOpenChange(t *testing.T) {
	t.Parallel()
	e := newChangeEnv(t)
	ch := e.propose(t, "prop-late")
	e.clock.Advance(time.Hour)
	e.notifyAll(t) // eu-a, eu-b: windows end at now+49h

	e.clock.Advance(24 * time.Hour)
	late := validCustomer("eu-late")
	late.Products = []string{"admin"}
	createCustomer(t, e.env, late)
	us := validCustomer("us-late")
	us.Region = regionUS
	createCustomer(t, e.env, us)
	must[*registryv1.UpdateCustomerResponse](t)(e.env.customers.UpdateCustomer(t.Context(), &registryv1.UpdateCustomerRequest{
		Customer: &registryv1.Customer{CustomerId: "eu-d", Products: []string{"parent", "admin"}}, UpdateMask: mask("products"),
	}))
	must[*registryv1.UpdateCustomerResponse](t)(e.env.customers.UpdateCustomer(t.Context(), &registryv1.UpdateCustomerRequest{
		Customer: &registryv1.Customer{CustomerId: "us-c", Region: regionEU}, UpdateMask: mask("region"),
	}))

	joiners := []string{"eu-late", "eu-d", "us-c"}
	cs := e.customers(t, ch.GetChangeId())
	for _, id := range joiners {
		if c := cs[id]; c == nil || c.GetStatus() != statusPending || c.GetNotifyTime() != nil {
			t.Fatalf("%s = %v, want a pending entry not yet notified", id, c)
		}
		wantReason(t, e.checkFor(t, id), false, reasonWindow)
	}
	if cs["us-late"] != nil || len(cs) != 5 {
		t.Fatalf("customers = %v, want eu-a, eu-b and the three joiners", cs)
	}
	resp := must[*registryv1.GetSubprocessorChangeResponse](t)(e.subprocessors.GetSubprocessorChange(t.Context(),
		&registryv1.GetSubprocessorChangeRequest{ChangeId: ch.GetChangeId()}))
	if resp.GetChange().GetAffectedCustomerCount() != 5 {
		t.Fatalf("affected_customer_count = %d, want 5", resp.GetChange().GetAffectedCustomerCount())
	}

	// Their own notices: the window runs from each one's notice.
	e.clock.Advance(time.Hour)
	e.notifyAll(t)
	notified := now.Add(26 * time.Hour)
	cs = e.customers(t, ch.GetChangeId())
	for _, id := range joiners {
		c := cs[id]
		if _, ok := e.sent.get(domain.ChangeNoticeRequestID(ch.GetChangeId(), id)); !ok ||
			!c.GetNotifyTime().AsTime().Equal(notified) || !c.GetWindowEndTime().AsTime().Equal(notified.Add(48*time.Hour)) {
			t.Fatalf("%s = %v, want notified at %v", id, c, notified)
		}
	}
	// An earlier customer is not notified twice.
	if n, _ := e.sent.get(domain.ChangeNoticeRequestID(ch.GetChangeId(), "eu-a")); n.RequestID == "" {
		t.Fatal("eu-a's notice is missing")
	}

	// The first customers' windows end: effective for them, not for the
	// joiners, who may still object.
	e.clock.Advance(24 * time.Hour) // now+50h
	wantReason(t, e.checkFor(t, "eu-a"), true, reasonAllowed)
	wantReason(t, e.checkFor(t, "eu-late"), false, reasonWindow)
	must[*registryv1.ObjectToSubprocessorChangeResponse](t)(e.object(t, ch.GetChangeId(), "eu-d", "obj-late"))
	wantReason(t, e.checkFor(t, "eu-d"), false, reasonObjected)

	// After the joiners' windows: effective for them too.
	e.clock.Advance(25 * time.Hour) // now+75h
	wantReason(t, e.checkFor(t, "eu-late"), true, reasonAllowed)
	wantReason(t, e.checkFor(t, "us-c"), true, reasonAllowed)

	// Every window has ended and the change is in effect: a customer
	// registered now signs up to the list as it is and joins nothing.
	after := validCustomer("eu-after")
	after.Products = []string{"admin"}
	createCustomer(t, e.env, after)
	if c := e.customers(t, ch.GetChangeId())["eu-after"]; c != nil {
		t.Fatalf("eu-after joined a change in effect: %v", c)
	}
}

// TestLateJoinFinishedByWorker checks that a customer write whose join
// never ran (its writer died after the write) is joined by the
// change-notice worker.
func TestLateJoinFinishedByWorker(t *testing.T) {
	t.Parallel()
	e := newChangeEnv(t)
	ch := e.propose(t, "")
	// The write as CreateCustomer makes it, without the join after it.
	if _, err := e.st.CreateCustomer(t.Context(), domain.Customer{
		ID: "eu-crash", DisplayName: "Crash", Region: domain.RegionEUEEACH, NotificationEmail: "dpo@crash.example.org",
		Products: []string{"admin"}, CreateTime: now, UpdateTime: now, NotificationEmailConfirmTime: now, Version: 1,
		ChangeSyncPending: true,
	}, domain.Idempotency{}); err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	e.notifyAll(t) // too recent: the writer may still be at it
	if c := e.customers(t, ch.GetChangeId())["eu-crash"]; c != nil {
		t.Fatalf("joined within the grace period: %v", c)
	}
	e.clock.Advance(2 * time.Minute)
	e.notifyAll(t)
	c := e.customers(t, ch.GetChangeId())["eu-crash"]
	if c == nil || c.GetNotifyTime() == nil {
		t.Fatalf("eu-crash = %v, want joined and notified", c)
	}
	if cu, err := e.st.GetCustomer(t.Context(), "eu-crash"); err != nil || cu.ChangeSyncPending {
		t.Fatalf("customer = %+v, %v; want the flag cleared", cu, err)
	}
}
