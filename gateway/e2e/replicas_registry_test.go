package e2e_test

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
)

// Notice worker settings of the registry replicas under test: a short
// lease so that a killed replica's claims expire within the test, and
// polls a little slower than the harness default so that the replicas do
// not keep the one store busy.
var registryReplicaEnv = []string{
	"RELAY_LEASE=2s", "DSR_FORWARD_INTERVAL=200ms", "DSR_REMINDER_INTERVAL=200ms",
	"REMOVAL_NOTICE_INTERVAL=200ms", "SUBPROCESSOR_NOTICE_INTERVAL=200ms",
}

// referenceRE finds the "Reference: <id>" line of a registry e-mail.
var referenceRE = regexp.MustCompile(`(?m)^\s*Reference: (\S+)\s*$`)

// registryBacklog is what TestReplicasRegistryNotices asks the registry to
// tell customers about.
type registryBacklog struct {
	dsrs     []string // data subject request ids
	removals []string // removal request ids
	change   string   // subprocessor change id
}

// TestReplicasRegistryNotices runs three registry replicas as real
// processes against one embedded store (with one dispatch, whose e-mail
// goes to a real SMTP server). Customers are registered, then data subject
// requests (due within the reminder window), removal requests and one
// subprocessor change affecting a third of the customers are submitted
// while the replicas' notice workers work on them; at the first e-mail one
// replica is SIGKILLed, holding claims. Every notice must still go out
// exactly once, judged by the real outputs: the registry records a
// dispatch notice for every item (none stranded), dispatch sent each, and
// the SMTP server accepted exactly one forwarding e-mail and one reminder
// per data subject request, one removal notice per removal request and one
// change notice per affected customer (none to the others).
func TestReplicasRegistryNotices(t *testing.T) {
	t.Parallel()
	const (
		customers = 30
		dsrs      = 30
	)
	start := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), what) }
	binaries(t)
	s := newStack(t)
	mail := startMailbox(t)
	s.startStore(t)
	dumpOnFailure(t, s, "breachline_registry.data_subject_requests_leases", "breachline_registry.removal_requests_leases",
		"breachline_registry.subprocessor_change_customers", "breachline_registry.subprocessor_change_customers_leases")
	regAddrs := freeAddrs(t, 3)
	dispatch := startProcess(t, "dispatch", s.serviceEnv(s.dispatch, "INTAKE_ADDR="+s.intake, "SMTP_ADDR="+mail.addr, replicaPoll)...)
	// registry#2 reaches dispatch through a proxy that can stop passing
	// answers back, so that it dies holding claims whose notices dispatch
	// may already have taken.
	victimLink := startCutProxy(t, s.dispatch)
	var registries []*process
	for i, addr := range regAddrs {
		dispatchAddr := s.dispatch
		if i == 1 {
			dispatchAddr = victimLink.addr
		}
		registries = append(registries, startProcess(t, "registry",
			s.serviceEnv(addr, append([]string{"DISPATCH_ADDR=" + dispatchAddr, "INTAKE_ADDR=" + s.intake}, registryReplicaEnv...)...)...))
	}
	for _, p := range append([]*process{dispatch}, registries...) {
		p.waitFor(t, "listening", 30*time.Second)
	}
	phase("store, dispatch and 3 registry replicas up")

	// The backlog goes to the replicas that survive.
	conns := []*registryClients{newRegistryClients(t, regAddrs[0]), newRegistryClients(t, regAddrs[2])}
	affected := registerCustomers(t, conns[0], customers)
	phase(fmt.Sprintf("%d customers registered, %d affected by the change", customers, len(affected)))

	backlog := make(chan registryBacklog, 1)
	failed := make(chan error, 1)
	go func() {
		b, err := submitRegistryBacklog(t.Context(), conns, customers, dsrs)
		if err != nil {
			failed <- err
			return
		}
		backlog <- b
	}()

	// The first e-mail is the cue: the notice workers are then busy and
	// most of the backlog is still to do. Once registry#2 is connected to
	// dispatch as well (it dials on its first call), its calls go
	// unanswered; it is killed once it has made one, so it dies holding at
	// least that claim (and whatever its other workers hold), the notice
	// possibly taken by dispatch but not recorded.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for cue := time.Now().Add(60 * time.Second); len(mail.messages()) == 0 || victimLink.answered.Load() == 0; <-tick.C {
		if time.Now().After(cue) {
			t.Fatal("no e-mail, or no call from registry#2 to dispatch, within 60s")
		}
	}
	victimLink.cut.Store(true)
	for cue := time.Now().Add(30 * time.Second); victimLink.sentAfterCut.Load() == 0; <-tick.C {
		if time.Now().After(cue) {
			t.Fatal("registry#2 called dispatch no more within 30s of the first e-mail: it would die holding nothing")
		}
	}
	_ = registries[1].cmd.Process.Kill()
	atKill := len(mail.messages())
	phase(fmt.Sprintf("killed registry#2 in a call to dispatch, with %d e-mails accepted", atKill))
	var b registryBacklog
	select {
	case err := <-failed:
		t.Fatal(err)
	case b = <-backlog:
	}
	if want := 2*dsrs + len(b.removals) + len(affected); atKill >= want {
		t.Fatalf("all %d e-mails were sent before the kill; the test needs a larger backlog to mean anything", want)
	}
	phase(fmt.Sprintf("%d data subject requests, %d removal requests and a change for %d customers submitted",
		len(b.dsrs), len(b.removals), len(affected)))

	// None stranded: the registry recorded a dispatch notice for every
	// item, and dispatch sent each.
	survivor := conns[0]
	dispatchAPI := dispatchv1.NewDispatchServiceClient(dial(t, s.dispatch))
	var notices []string
	poll(t, 60*time.Second, func(ctx context.Context) (err error) {
		notices, err = survivor.recordedNotices(ctx, b, affected)
		return err
	})
	phase(fmt.Sprintf("registry recorded all %d notices", len(notices)))
	poll(t, 60*time.Second, func(ctx context.Context) error {
		for _, id := range notices {
			n, err := dispatchAPI.GetNotice(ctx, &dispatchv1.GetNoticeRequest{NoticeId: id})
			if err != nil {
				return err
			}
			if st := n.GetNotice().GetStatus(); st != dispatchv1.NoticeStatus_NOTICE_STATUS_SENT {
				return fmt.Errorf("notice %s is %v", id, st)
			}
		}
		return nil
	})
	phase("dispatch sent every notice")

	// Exactly once at the SMTP server: nothing registry-side is pending
	// any more, so these counts are final.
	msgs := mail.messages()
	if len(notices) != len(msgs) {
		t.Errorf("%d notices recorded, %d e-mails accepted", len(notices), len(msgs))
	}
	perID := map[string]int{}
	forwards, reminders, removals, changes := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	for _, m := range msgs {
		perID[m.header.Get("Message-Id")]++
		subj := m.subject()
		ref := ""
		if r := referenceRE.FindStringSubmatch(m.body); r != nil {
			ref = r[1]
		}
		switch {
		case strings.HasPrefix(subj, "Data subject request ("):
			forwards[ref]++
		case strings.HasPrefix(subj, "Reminder: data subject request "):
			reminders[strings.Fields(strings.TrimPrefix(subj, "Reminder: data subject request "))[0]]++
		case strings.HasPrefix(subj, "Action required: remove prohibited sensitive data"):
			removals[ref]++
		case strings.HasPrefix(subj, "Intended subprocessor change: ") && ref == b.change:
			changes[m.header.Get("To")]++
		default:
			t.Errorf("unexpected e-mail %q", subj)
		}
	}
	for id, n := range perID {
		if n != 1 {
			t.Errorf("Message-ID %s accepted %d times", id, n)
		}
	}
	wantOnce := func(what string, got map[string]int, want []string) {
		t.Helper()
		for _, k := range want {
			if got[k] != 1 {
				t.Errorf("%s %s: %d e-mails, want 1", what, k, got[k])
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: e-mails for %d, want %d", what, len(got), len(want))
		}
	}
	wantOnce("forwarded data subject request", forwards, b.dsrs)
	wantOnce("reminder of data subject request", reminders, b.dsrs)
	wantOnce("removal request", removals, b.removals)
	wantOnce("change notice to", changes, affected)
	phase("one e-mail per data subject request forward and reminder, removal request and affected customer")

	// Claims beyond one per job (two per data subject request: forward and
	// reminder) are the killed replica's leases taken over, or retries;
	// registry#2 died holding at least one.
	again := 0
	for coll, per := range map[string]int64{"data_subject_requests": 2, "removal_requests": 1, "subprocessor_change_customers": 1} {
		docs, err := storeDocs(t.Context(), s, "breachline_registry."+coll)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			if n, ok := d["attempts"].(int64); ok && n > per {
				again += int(n - per)
			} else if n, ok := d["attempts"].(int32); ok && int64(n) > per {
				again += int(int64(n) - per)
			}
		}
	}
	if again == 0 {
		t.Fatal("no job was claimed twice: the killed replica held no lease")
	}
	phase(fmt.Sprintf("%d jobs claimed again (the killed replica's expired leases, or retries)", again))
}

// registryClients are the registry APIs the test drives on one replica.
type registryClients struct {
	customers     registryv1.CustomerServiceClient
	dsrs          registryv1.DataSubjectRequestServiceClient
	removals      registryv1.SensitiveDataRemovalServiceClient
	subprocessors registryv1.SubprocessorServiceClient
}

func newRegistryClients(t testing.TB, addr string) *registryClients {
	conn := dial(t, addr)
	return &registryClients{
		customers: registryv1.NewCustomerServiceClient(conn), dsrs: registryv1.NewDataSubjectRequestServiceClient(conn),
		removals: registryv1.NewSensitiveDataRemovalServiceClient(conn), subprocessors: registryv1.NewSubprocessorServiceClient(conn),
	}
}

// registryCustomerID is the id of customer i; its Notification Email
// Address is dpo@<id>.example.org.
func registryCustomerID(i int) string { return fmt.Sprintf("school-%02d", i) }

// registerCustomers registers n customers, every third in the EU (those
// are affected by the change submitRegistryBacklog proposes), and returns
// the affected customers' Notification Email Addresses.
func registerCustomers(t *testing.T, c *registryClients, n int) []string {
	t.Helper()
	var affected []string
	for i := range n {
		id := registryCustomerID(i)
		cu := &registryv1.Customer{
			CustomerId: id, DisplayName: "School " + id, Region: registryv1.Region_REGION_US,
			NotificationEmail: "dpo@" + id + ".example.org", Products: []string{"admin"},
			EmployeeNotification: registryv1.EmployeeNotification_EMPLOYEE_NOTIFICATION_PROCESSOR, NotifyWithinHours: 48,
		}
		if i%3 == 0 {
			cu.Region = registryv1.Region_REGION_EU_EEA_CH
			affected = append(affected, cu.GetNotificationEmail())
		}
		if _, err := c.customers.CreateCustomer(t.Context(), &registryv1.CreateCustomerRequest{RequestId: "create-" + id, Customer: cu}); err != nil {
			t.Fatalf("CreateCustomer %s: %v", id, err)
		}
	}
	return affected
}

// submitRegistryBacklog submits, alternating between the replicas of cs,
// one data subject request per customer (received 25 days ago, so due
// within the reminder window), a removal request for every third customer,
// and halfway through a subprocessor change for the EU customers.
func submitRegistryBacklog(ctx context.Context, cs []*registryClients, customers, dsrs int) (registryBacklog, error) {
	var b registryBacklog
	received := timestamppb.New(time.Now().Add(-25 * 24 * time.Hour))
	for i := range dsrs {
		c := cs[i%len(cs)]
		id := registryCustomerID(i % customers)
		d, err := c.dsrs.SubmitDataSubjectRequest(ctx, &registryv1.SubmitDataSubjectRequestRequest{
			RequestId: fmt.Sprintf("dsr-%d", i), CustomerId: id, ReceiveTime: received,
			Type:    registryv1.DataSubjectRequestType_DATA_SUBJECT_REQUEST_TYPE_ACCESS,
			Subject: &registryv1.DataSubject{Name: "Student " + id, AccountRef: fmt.Sprintf("student-%d", i)},
			Details: "Please send me a copy of my records.",
		})
		if err != nil {
			return b, fmt.Errorf("SubmitDataSubjectRequest %d: %w", i, err)
		}
		b.dsrs = append(b.dsrs, d.GetDataSubjectRequest().GetDsrId())
		if i%3 == 1 {
			r, err := c.removals.OpenRemovalRequest(ctx, &registryv1.OpenRemovalRequestRequest{
				RequestId: fmt.Sprintf("removal-%d", i), CustomerId: id,
				FoundTypes: []registryv1.SensitiveDataType{registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_SSN},
				Location:   fmt.Sprintf("s3://uploads/%s/roster.csv", id), FindingCount: 3, Source: "e2e",
			})
			if err != nil {
				return b, fmt.Errorf("OpenRemovalRequest %d: %w", i, err)
			}
			b.removals = append(b.removals, r.GetRemovalRequest().GetRemovalRequestId())
		}
		if i == dsrs/2 {
			if _, err := c.subprocessors.CreateSubprocessor(ctx, &registryv1.CreateSubprocessorRequest{RequestId: "create-mailer",
				Subprocessor: &registryv1.Subprocessor{
					SubprocessorId: "mailer", LegalName: "Mailer Inc.", Country: "US", Purpose: "E-mail delivery",
					Products: []string{"admin"}, TransferMechanism: registryv1.TransferMechanism_TRANSFER_MECHANISM_FRAMEWORK,
				}}); err != nil {
				return b, fmt.Errorf("CreateSubprocessor: %w", err)
			}
			ch, err := c.subprocessors.ProposeSubprocessorChange(ctx, &registryv1.ProposeSubprocessorChangeRequest{RequestId: "propose-mailer",
				Change: &registryv1.SubprocessorChange{
					Kind: registryv1.SubprocessorChangeKind_SUBPROCESSOR_CHANGE_KIND_ADDITION, SubprocessorId: "mailer",
				}})
			if err != nil {
				return b, fmt.Errorf("ProposeSubprocessorChange: %w", err)
			}
			b.change = ch.GetChange().GetChangeId()
		}
	}
	return b, nil
}

// recordedNotices returns the dispatch notice ids the registry recorded
// for every item of b, or an error naming an item still without one.
func (c *registryClients) recordedNotices(ctx context.Context, b registryBacklog, affected []string) ([]string, error) {
	var out []string
	list, err := c.dsrs.ListDataSubjectRequests(ctx, &registryv1.ListDataSubjectRequestsRequest{PageSize: 500})
	if err != nil {
		return nil, err
	}
	if n := len(list.GetDataSubjectRequests()); n != len(b.dsrs) {
		return nil, fmt.Errorf("%d data subject requests listed, want %d", n, len(b.dsrs))
	}
	for _, d := range list.GetDataSubjectRequests() {
		if d.GetForwardNoticeId() == "" || d.GetReminderNoticeId() == "" {
			return nil, fmt.Errorf("data subject request %s: forward notice %q, reminder notice %q", d.GetDsrId(),
				d.GetForwardNoticeId(), d.GetReminderNoticeId())
		}
		out = append(out, d.GetForwardNoticeId(), d.GetReminderNoticeId())
	}
	for _, id := range b.removals {
		r, err := c.removals.GetRemovalRequest(ctx, &registryv1.GetRemovalRequestRequest{RemovalRequestId: id})
		if err != nil {
			return nil, err
		}
		if r.GetRemovalRequest().GetNoticeId() == "" {
			return nil, fmt.Errorf("removal request %s: no notice", id)
		}
		out = append(out, r.GetRemovalRequest().GetNoticeId())
	}
	ch, err := c.subprocessors.GetSubprocessorChange(ctx, &registryv1.GetSubprocessorChangeRequest{ChangeId: b.change})
	if err != nil {
		return nil, err
	}
	var to []string
	for _, cu := range ch.GetCustomers() {
		if cu.GetNoticeId() == "" {
			return nil, fmt.Errorf("change %s: customer %s not notified", b.change, cu.GetCustomerId())
		}
		to = append(to, cu.GetNotificationEmail())
		out = append(out, cu.GetNoticeId())
	}
	slices.Sort(to)
	if !slices.Equal(to, slices.Sorted(slices.Values(affected))) {
		return nil, fmt.Errorf("change %s affects %v, want %v", b.change, to, affected)
	}
	slices.Sort(out)
	if len(slices.Compact(slices.Clone(out))) != len(out) {
		return nil, fmt.Errorf("a dispatch notice is recorded for two items: %v", out)
	}
	return out, nil
}

// cutProxy relays TCP connections to a target until cut is set; from then
// on it still passes what clients send but drops every answer, so a call
// made after the cut reaches the target and never returns. sentAfterCut
// counts the client writes relayed after the cut that are large enough to
// carry a call (a notice), not just an HTTP/2 ping or window update;
// answered counts the answers relayed before it.
type cutProxy struct {
	addr         string
	cut          atomic.Bool
	sentAfterCut atomic.Int64
	answered     atomic.Int64
}

func startCutProxy(t testing.TB, target string) *cutProxy {
	t.Helper()
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{addr: lis.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = lis.Close()
		wg.Wait()
	})
	relay := func(dst, src net.Conn, toTarget bool) {
		defer wg.Done()
		defer func() { _ = dst.Close(); _ = src.Close() }()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				cut := p.cut.Load()
				if cut && toTarget && n >= 200 {
					p.sentAfterCut.Add(1)
				}
				if !toTarget && !cut {
					p.answered.Add(1)
				}
				if toTarget || !cut {
					if _, err := dst.Write(buf[:n]); err != nil {
						return
					}
				}
			}
			if err != nil {
				return
			}
		}
	}
	wg.Go(func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			u, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			wg.Add(2)
			go relay(u, c, true)
			go relay(c, u, false)
		}
	})
	return p
}
