package server_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// notices is an in-process stand-in for dispatch's SendNotice: one notice
// per request id (the peers tests run the real gRPC adapter).
type notices struct {
	mu   sync.Mutex
	sent map[string]domain.Notice
}

func (n *notices) SendNotice(_ context.Context, in domain.Notice) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.sent[in.RequestID]; !ok {
		n.sent[in.RequestID] = in
	}
	return "ntc_" + in.RequestID, nil
}

func (n *notices) get(key string) (domain.Notice, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.sent[key]
	return v, ok
}

const (
	reasonAllowed    = registryv1.CheckReason_CHECK_REASON_ALLOWED
	reasonWindow     = registryv1.CheckReason_CHECK_REASON_OBJECTION_WINDOW_OPEN
	reasonObjected   = registryv1.CheckReason_CHECK_REASON_CUSTOMER_OBJECTED
	reasonNotActive  = registryv1.CheckReason_CHECK_REASON_NOT_ACTIVE
	reasonUnknown    = registryv1.CheckReason_CHECK_REASON_UNKNOWN_SUBPROCESSOR
	reasonNoProduct  = registryv1.CheckReason_CHECK_REASON_NOT_SERVING_PRODUCT
	reasonNoTransfer = registryv1.CheckReason_CHECK_REASON_TRANSFER_MECHANISM_MISSING

	statusPending   = registryv1.CustomerChangeStatus_CUSTOMER_CHANGE_STATUS_PENDING
	statusEffective = registryv1.CustomerChangeStatus_CUSTOMER_CHANGE_STATUS_EFFECTIVE
	statusBlocked   = registryv1.CustomerChangeStatus_CUSTOMER_CHANGE_STATUS_BLOCKED

	regionEU = registryv1.Region_REGION_EU_EEA_CH
	regionUS = registryv1.Region_REGION_US
)

func updateSub(t *testing.T, e *env, sp *registryv1.Subprocessor, paths ...string) *registryv1.Subprocessor {
	t.Helper()
	resp, err := e.subprocessors.UpdateSubprocessor(t.Context(), &registryv1.UpdateSubprocessorRequest{Subprocessor: sp, UpdateMask: mask(paths...)})
	if err != nil {
		t.Fatalf("UpdateSubprocessor: %v", err)
	}
	return resp.GetSubprocessor()
}

func check(t *testing.T, e *env, req *registryv1.CheckSubprocessorRequest) *registryv1.CheckSubprocessorResponse {
	t.Helper()
	return must[*registryv1.CheckSubprocessorResponse](t)(e.subprocessors.CheckSubprocessor(t.Context(), req))
}

func wantReason(t *testing.T, got *registryv1.CheckSubprocessorResponse, allowed bool, reason registryv1.CheckReason) {
	t.Helper()
	if got.GetAllowed() != allowed || got.GetReason() != reason || got.GetMessage() == "" {
		t.Fatalf("check = %v, want allowed=%v reason=%v with a message", got, allowed, reason)
	}
}

func TestUpdateSubprocessor(t *testing.T) {
	t.Parallel()

	t.Run("method=Update/case=ok_new_version", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		created := createSubprocessor(t, e, validSubprocessor("aws"))
		e.clock.Advance(time.Hour)
		got := updateSub(t, e, &registryv1.Subprocessor{
			SubprocessorId: "aws", Status: registryv1.SubprocessorStatus_SUBPROCESSOR_STATUS_ACTIVE, Etag: created.GetEtag(),
		}, "status")
		if got.GetVersion() != 2 || got.GetEtag() != "v2" || got.GetStatus() != registryv1.SubprocessorStatus_SUBPROCESSOR_STATUS_ACTIVE ||
			!got.GetUpdateTime().AsTime().Equal(now.Add(time.Hour)) || got.GetLegalName() != created.GetLegalName() {
			t.Fatalf("updated = %v", got)
		}
	})

	t.Run("method=Update/case=stale_etag", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		createSubprocessor(t, e, validSubprocessor("aws"))
		updateSub(t, e, &registryv1.Subprocessor{SubprocessorId: "aws", Purpose: "Hosting"}, "purpose")
		_, err := e.subprocessors.UpdateSubprocessor(t.Context(), &registryv1.UpdateSubprocessorRequest{
			Subprocessor: &registryv1.Subprocessor{SubprocessorId: "aws", Purpose: "Backups", Etag: "v1"}, UpdateMask: mask("purpose"),
		})
		wantCode(t, err, codes.Aborted)
	})

	t.Run("method=Update/case=not_found", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.subprocessors.UpdateSubprocessor(t.Context(), &registryv1.UpdateSubprocessorRequest{
			Subprocessor: &registryv1.Subprocessor{SubprocessorId: "nobody", Purpose: "x"}, UpdateMask: mask("purpose"),
		})
		wantCode(t, err, codes.NotFound)
	})

	t.Run("method=Update/case=all_violations", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.subprocessors.UpdateSubprocessor(t.Context(), &registryv1.UpdateSubprocessorRequest{
			Subprocessor: &registryv1.Subprocessor{SubprocessorId: "aws", Country: "XX", Products: []string{"Bad!"}, Etag: "w"},
			UpdateMask:   mask("country", "products", "create_time", "colour"),
		})
		wantViolations(t, err, "update_mask", "update_mask", "subprocessor.etag", "subprocessor.country", "subprocessor.products[0]")
	})

	t.Run("method=Update/case=transfer_rule_on_merged_state", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		sp := validSubprocessor("hetzner")
		sp.Country = "DE"
		sp.TransferMechanism = registryv1.TransferMechanism_TRANSFER_MECHANISM_NONE
		createSubprocessor(t, e, sp)
		_, err := e.subprocessors.UpdateSubprocessor(t.Context(), &registryv1.UpdateSubprocessorRequest{
			Subprocessor: &registryv1.Subprocessor{SubprocessorId: "hetzner", Country: "US"}, UpdateMask: mask("country"),
		})
		wantViolations(t, err, "subprocessor.transfer_mechanism")
	})
}

func TestSubprocessorHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	createSubprocessor(t, e, validSubprocessor("aws")) // v1 at now
	t1 := now.Add(24 * time.Hour)
	e.clock.Advance(24 * time.Hour)
	updateSub(t, e, &registryv1.Subprocessor{SubprocessorId: "aws", Status: registryv1.SubprocessorStatus_SUBPROCESSOR_STATUS_ACTIVE}, "status")
	e.clock.Advance(24 * time.Hour)
	createSubprocessor(t, e, validSubprocessor("gcp")) // at t1+24h
	e.clock.Advance(24 * time.Hour)
	updateSub(t, e, &registryv1.Subprocessor{SubprocessorId: "aws", Products: []string{"admin"}, Purpose: "Hosting"}, "products", "purpose")

	t.Run("method=ListSubprocessors/case=as_of", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			at   time.Time
			want map[string]int64
		}{
			{now.Add(-time.Second), map[string]int64{}},
			{now, map[string]int64{"aws": 1}},
			{t1.Add(time.Hour), map[string]int64{"aws": 2}},
			{t1.Add(25 * time.Hour), map[string]int64{"aws": 2, "gcp": 1}},
			{t1.Add(72 * time.Hour), map[string]int64{"aws": 3, "gcp": 1}},
		}
		for _, tc := range cases {
			resp := must[*registryv1.ListSubprocessorsResponse](t)(e.subprocessors.ListSubprocessors(t.Context(),
				&registryv1.ListSubprocessorsRequest{AsOfTime: timestamppb.New(tc.at)}))
			got := map[string]int64{}
			for _, sp := range resp.GetSubprocessors() {
				got[sp.GetSubprocessorId()] = sp.GetVersion()
			}
			if d := diff(tc.want, got); d != "" {
				t.Errorf("as of %v: %s", tc.at, d)
			}
		}
	})

	t.Run("method=ListSubprocessors/case=as_of_paged_and_filtered", func(t *testing.T) {
		t.Parallel()
		req := &registryv1.ListSubprocessorsRequest{AsOfTime: timestamppb.New(t1.Add(25 * time.Hour)), PageSize: 1}
		first := must[*registryv1.ListSubprocessorsResponse](t)(e.subprocessors.ListSubprocessors(t.Context(), req))
		if len(first.GetSubprocessors()) != 1 || first.GetSubprocessors()[0].GetSubprocessorId() != "aws" || first.GetNextPageToken() == "" {
			t.Fatalf("first page = %v", first)
		}
		req.PageToken = first.GetNextPageToken()
		second := must[*registryv1.ListSubprocessorsResponse](t)(e.subprocessors.ListSubprocessors(t.Context(), req))
		if len(second.GetSubprocessors()) != 1 || second.GetSubprocessors()[0].GetSubprocessorId() != "gcp" || second.GetNextPageToken() != "" {
			t.Fatalf("second page = %v", second)
		}
		req.Status = registryv1.SubprocessorStatus_SUBPROCESSOR_STATUS_PROPOSED
		_, err := e.subprocessors.ListSubprocessors(t.Context(), req)
		wantViolations(t, err, "page_token")
	})

	t.Run("method=ListSubprocessorRevisions/case=between", func(t *testing.T) {
		t.Parallel()
		resp := must[*registryv1.ListSubprocessorRevisionsResponse](t)(e.subprocessors.ListSubprocessorRevisions(t.Context(),
			&registryv1.ListSubprocessorRevisionsRequest{StartTime: timestamppb.New(t1), EndTime: timestamppb.New(t1.Add(72 * time.Hour))}))
		var got []string
		for _, r := range resp.GetRevisions() {
			got = append(got, r.GetSubprocessorId()+"@"+strings.Join(r.GetChangedFields(), "+"))
		}
		if d := diff([]string{"aws@status", "gcp@", "aws@purpose+products"}, got); d != "" {
			t.Fatal(d)
		}
	})

	t.Run("method=ListSubprocessorRevisions/case=paged_by_subprocessor", func(t *testing.T) {
		t.Parallel()
		req := &registryv1.ListSubprocessorRevisionsRequest{StartTime: timestamppb.New(now), SubprocessorId: "aws", PageSize: 2}
		first := must[*registryv1.ListSubprocessorRevisionsResponse](t)(e.subprocessors.ListSubprocessorRevisions(t.Context(), req))
		req.PageToken = first.GetNextPageToken()
		second := must[*registryv1.ListSubprocessorRevisionsResponse](t)(e.subprocessors.ListSubprocessorRevisions(t.Context(), req))
		var got []int64
		for _, r := range append(first.GetRevisions(), second.GetRevisions()...) {
			got = append(got, r.GetVersion())
		}
		if d := diff([]int64{1, 2, 3}, got); d != "" || second.GetNextPageToken() != "" {
			t.Fatalf("versions %s, next %q", d, second.GetNextPageToken())
		}
	})

	t.Run("method=ListSubprocessorRevisions/case=violations", func(t *testing.T) {
		t.Parallel()
		_, err := e.subprocessors.ListSubprocessorRevisions(t.Context(), &registryv1.ListSubprocessorRevisionsRequest{
			StartTime: timestamppb.New(t1), EndTime: timestamppb.New(now), SubprocessorId: "Bad", PageSize: -1,
		})
		wantViolations(t, err, "page_size", "end_time", "subprocessor_id")
	})
}

// changeEnv is a registry with four customers and a proposed subprocessor
// "vendor" (US, standard contractual clauses, product admin).
type changeEnv struct {
	*env
	sent *notices
}

func newChangeEnv(t *testing.T, opts ...domain.Option) *changeEnv {
	t.Helper()
	sent := &notices{sent: map[string]domain.Notice{}}
	e := newEnv(t, append([]domain.Option{domain.WithNotifier(sent), domain.WithObjectionWindow(48 * time.Hour)}, opts...)...)
	for _, c := range []struct {
		id       string
		region   registryv1.Region
		products []string
	}{
		{"eu-a", regionEU, []string{"admin"}},
		{"eu-b", regionEU, []string{"admin", "teacher"}},
		{"us-c", regionUS, []string{"admin"}},
		{"eu-d", regionEU, []string{"parent"}},
	} {
		cu := validCustomer(c.id)
		cu.Region = c.region
		cu.Products = c.products
		createCustomer(t, e, cu)
	}
	sp := validSubprocessor("vendor")
	sp.Products = []string{"admin"}
	sp.TransferMechanism = registryv1.TransferMechanism_TRANSFER_MECHANISM_SCC
	createSubprocessor(t, e, sp)
	return &changeEnv{env: e, sent: sent}
}

func (e *changeEnv) propose(t *testing.T, requestID string) *registryv1.SubprocessorChange {
	t.Helper()
	return must[*registryv1.ProposeSubprocessorChangeResponse](t)(e.subprocessors.ProposeSubprocessorChange(t.Context(),
		&registryv1.ProposeSubprocessorChangeRequest{RequestId: requestID, Change: &registryv1.SubprocessorChange{
			Kind: registryv1.SubprocessorChangeKind_SUBPROCESSOR_CHANGE_KIND_ADDITION, SubprocessorId: "vendor",
			Description: "Vendor will host our e-mail delivery.",
		}})).GetChange()
}

// notifyAll runs the change-notice worker until it finds nothing to do.
func (e *changeEnv) notifyAll(t *testing.T) {
	t.Helper()
	step := e.svc.NotifyChangeCustomers("test")
	for range 100 {
		found, err := step(t.Context())
		if err != nil {
			t.Fatalf("notice step: %v", err)
		}
		if !found {
			return
		}
	}
	t.Fatal("notice worker did not settle")
}

func (e *changeEnv) customers(t *testing.T, id string) map[string]*registryv1.SubprocessorChangeCustomer {
	t.Helper()
	resp := must[*registryv1.GetSubprocessorChangeResponse](t)(e.subprocessors.GetSubprocessorChange(t.Context(), &registryv1.GetSubprocessorChangeRequest{ChangeId: id}))
	out := map[string]*registryv1.SubprocessorChangeCustomer{}
	for _, c := range resp.GetCustomers() {
		out[c.GetCustomerId()] = c
	}
	return out
}

func (e *changeEnv) checkFor(t *testing.T, customer string) *registryv1.CheckSubprocessorResponse {
	t.Helper()
	return check(t, e.env, &registryv1.CheckSubprocessorRequest{SubprocessorId: "vendor", Product: "admin", Region: regionEU, CustomerId: customer})
}

func (e *changeEnv) object(t *testing.T, changeID, customer, requestID string) (*registryv1.ObjectToSubprocessorChangeResponse, error) {
	t.Helper()
	return e.subprocessors.ObjectToSubprocessorChange(t.Context(), &registryv1.ObjectToSubprocessorChangeRequest{
		RequestId: requestID, ChangeId: changeID, CustomerId: customer, Reason: "We do not accept transfers to the US.",
	})
}

func TestSubprocessorChangeLifecycle(t *testing.T) {
	t.Parallel()
	e := newChangeEnv(t)

	// Proposed: the EU customers using admin are affected, idempotently.
	ch := e.propose(t, "prop-1")
	if again := e.propose(t, "prop-1"); again.GetChangeId() != ch.GetChangeId() {
		t.Fatalf("retry made change %s, want %s", again.GetChangeId(), ch.GetChangeId())
	}
	if ch.GetAffectedCustomerCount() != 2 || !ch.GetEffectiveTime().AsTime().Equal(now.Add(48*time.Hour)) ||
		ch.GetObjectionWindow().AsDuration() != 48*time.Hour || ch.GetProposedBy() == "" {
		t.Fatalf("change = %v", ch)
	}
	cs := e.customers(t, ch.GetChangeId())
	if len(cs) != 2 || cs["eu-a"].GetStatus() != statusPending || cs["eu-a"].GetNotifyTime() != nil {
		t.Fatalf("customers = %v", cs)
	}
	wantReason(t, e.checkFor(t, "eu-a"), false, reasonWindow)

	// Notified through dispatch: window runs from the notice.
	e.clock.Advance(time.Hour)
	e.notifyAll(t)
	n, ok := e.sent.get(domain.ChangeNoticeRequestID(ch.GetChangeId(), "eu-a"))
	if !ok || n.To != "dpo@eu-a.example.org" || !strings.Contains(n.Body, ch.GetChangeId()+":object") || !strings.Contains(n.Body, "standard contractual clauses") {
		t.Fatalf("notice = %+v, %v", n, ok)
	}
	cs = e.customers(t, ch.GetChangeId())
	notified := now.Add(time.Hour)
	if a := cs["eu-a"]; !a.GetNotifyTime().AsTime().Equal(notified) || !a.GetWindowEndTime().AsTime().Equal(notified.Add(48*time.Hour)) ||
		a.GetNoticeId() == "" || a.GetStatus() != statusPending || !a.GetEffectiveTime().AsTime().Equal(notified.Add(48*time.Hour)) {
		t.Fatalf("eu-a = %v", a)
	}

	// eu-b objects (idempotently); a second, different objection is refused.
	obj := must[*registryv1.ObjectToSubprocessorChangeResponse](t)(e.object(t, ch.GetChangeId(), "eu-b", "obj-1"))
	if obj.GetCustomer().GetStatus() != statusBlocked || obj.GetCustomer().GetObjection().GetReason() == "" {
		t.Fatalf("after objection = %v", obj)
	}
	again := must[*registryv1.ObjectToSubprocessorChangeResponse](t)(e.object(t, ch.GetChangeId(), "eu-b", "obj-1"))
	wantProto(t, again, obj)
	_, err := e.object(t, ch.GetChangeId(), "eu-b", "obj-2")
	wantCode(t, err, codes.AlreadyExists)
	wantReason(t, e.checkFor(t, "eu-b"), false, reasonObjected)

	// Customers not affected cannot object.
	_, err = e.object(t, ch.GetChangeId(), "us-c", "")
	wantCode(t, err, codes.FailedPrecondition)

	// After the window: effective for eu-a, still blocked for eu-b; too late
	// for eu-a to object.
	e.clock.Advance(49 * time.Hour)
	wantReason(t, e.checkFor(t, "eu-a"), true, reasonAllowed)
	wantReason(t, e.checkFor(t, "eu-b"), false, reasonObjected)
	_, err = e.object(t, ch.GetChangeId(), "eu-a", "")
	wantCode(t, err, codes.FailedPrecondition)
	// Without a customer, or outside the EU, the subprocessor is still
	// only proposed.
	wantReason(t, check(t, e.env, &registryv1.CheckSubprocessorRequest{SubprocessorId: "vendor", Product: "admin", Region: regionEU}), false, reasonNotActive)

	// The objection is resolved: the change takes effect for eu-b.
	res := must[*registryv1.ResolveObjectionResponse](t)(e.subprocessors.ResolveObjection(t.Context(), &registryv1.ResolveObjectionRequest{
		RequestId: "res-1", ChangeId: ch.GetChangeId(), CustomerId: "eu-b",
		Outcome: registryv1.ObjectionOutcome_OBJECTION_OUTCOME_ADDRESSED, Note: "Data stays in Frankfurt region.",
	}))
	if c := res.GetCustomer(); c.GetStatus() != statusEffective || c.GetObjection().GetResolution().GetOutcome() != registryv1.ObjectionOutcome_OBJECTION_OUTCOME_ADDRESSED {
		t.Fatalf("after resolution = %v", c)
	}
	wantReason(t, e.checkFor(t, "eu-b"), true, reasonAllowed)
	_, err = e.subprocessors.ResolveObjection(t.Context(), &registryv1.ResolveObjectionRequest{
		RequestId: "res-2", ChangeId: ch.GetChangeId(), CustomerId: "eu-b",
		Outcome: registryv1.ObjectionOutcome_OBJECTION_OUTCOME_UPHELD, Note: "Changed our mind.",
	})
	wantCode(t, err, codes.AlreadyExists)
	_, err = e.subprocessors.ResolveObjection(t.Context(), &registryv1.ResolveObjectionRequest{
		ChangeId: ch.GetChangeId(), CustomerId: "eu-a", Outcome: registryv1.ObjectionOutcome_OBJECTION_OUTCOME_WITHDRAWN, Note: "n/a",
	})
	wantCode(t, err, codes.FailedPrecondition)

	// The customer's own list shows it in use now.
	list := must[*registryv1.ListCustomerSubprocessorsResponse](t)(e.subprocessors.ListCustomerSubprocessors(t.Context(),
		&registryv1.ListCustomerSubprocessorsRequest{CustomerId: "eu-b"}))
	if len(list.GetSubprocessors()) != 1 || !list.GetSubprocessors()[0].GetInUse() || list.GetSubprocessors()[0].GetChangeId() != ch.GetChangeId() {
		t.Fatalf("eu-b list = %v", list)
	}
	none := must[*registryv1.ListCustomerSubprocessorsResponse](t)(e.subprocessors.ListCustomerSubprocessors(t.Context(),
		&registryv1.ListCustomerSubprocessorsRequest{CustomerId: "eu-d"}))
	if len(none.GetSubprocessors()) != 0 {
		t.Fatalf("eu-d list = %v", none)
	}
}

// TestAuditExportShowsSubprocessorChanges checks that a customer's audit
// export carries the changes it was notified of, when, and its objection
// with the resolution, and that a change outside the period or another
// customer's objection does not appear.
func TestAuditExportShowsSubprocessorChanges(t *testing.T) {
	t.Parallel()
	e := newChangeEnv(t, domain.WithIncidents(serveIntake(t, &fakeIntake{})))
	ch := e.propose(t, "prop-audit")
	e.clock.Advance(time.Hour)
	e.notifyAll(t)
	must[*registryv1.ObjectToSubprocessorChangeResponse](t)(e.object(t, ch.GetChangeId(), "eu-b", "obj-audit"))
	must[*registryv1.ResolveObjectionResponse](t)(e.subprocessors.ResolveObjection(t.Context(), &registryv1.ResolveObjectionRequest{
		RequestId: "res-audit", ChangeId: ch.GetChangeId(), CustomerId: "eu-b",
		Outcome: registryv1.ObjectionOutcome_OBJECTION_OUTCOME_ADDRESSED, Note: "Data stays in Frankfurt region.",
	}))
	e.clock.Advance(time.Minute)
	export := func(customer string, start time.Time) []*registryv1.AuditSubprocessorChange {
		t.Helper()
		got := must[*registryv1.ExportCustomerAuditResponse](t)(e.audits.ExportCustomerAudit(t.Context(), &registryv1.ExportCustomerAuditRequest{
			CustomerId: customer, StartTime: timestamppb.New(start),
		}))
		return got.GetSubprocessorChanges()
	}
	b := export("eu-b", now.Add(-time.Hour))
	if len(b) != 1 || b[0].GetChange().GetChangeId() != ch.GetChangeId() || b[0].GetCustomer().GetCustomerId() != "eu-b" ||
		b[0].GetCustomer().GetNotifyTime() == nil || b[0].GetCustomer().GetObjection().GetResolution().GetOutcome() != registryv1.ObjectionOutcome_OBJECTION_OUTCOME_ADDRESSED ||
		b[0].GetCustomer().GetStatus() != statusPending {
		t.Fatalf("eu-b export changes = %v", b)
	}
	a := export("eu-a", now.Add(-time.Hour))
	if len(a) != 1 || a[0].GetCustomer().GetObjection() != nil || a[0].GetCustomer().GetNoticeId() == "" {
		t.Fatalf("eu-a export changes = %v", a)
	}
	if later := export("eu-b", now.Add(time.Hour+30*time.Second)); len(later) != 0 {
		t.Fatalf("export of a later period = %v, want none", later)
	}
	if d := export("eu-d", now.Add(-time.Hour)); len(d) != 0 {
		t.Fatalf("unaffected customer's export = %v, want none", d)
	}
}

func TestUpheldObjectionBlocksForGood(t *testing.T) {
	t.Parallel()
	e := newChangeEnv(t)
	ch := e.propose(t, "")
	must[*registryv1.ObjectToSubprocessorChangeResponse](t)(e.object(t, ch.GetChangeId(), "eu-a", ""))
	must[*registryv1.ResolveObjectionResponse](t)(e.subprocessors.ResolveObjection(t.Context(), &registryv1.ResolveObjectionRequest{
		ChangeId: ch.GetChangeId(), CustomerId: "eu-a", Outcome: registryv1.ObjectionOutcome_OBJECTION_OUTCOME_UPHELD, Note: "Customer terminates the affected service.",
	}))
	e.clock.Advance(365 * 24 * time.Hour)
	e.notifyAll(t)
	wantReason(t, e.checkFor(t, "eu-a"), false, reasonObjected)
	if cs := e.customers(t, ch.GetChangeId()); cs["eu-a"].GetStatus() != statusBlocked {
		t.Fatalf("eu-a = %v", cs["eu-a"])
	}
}

func TestProposeSubprocessorChangeValidation(t *testing.T) {
	t.Parallel()
	e := newChangeEnv(t)
	cases := []struct {
		name   string
		change *registryv1.SubprocessorChange
		code   codes.Code
		want   []string
	}{
		{
			name: "all_violations",
			change: &registryv1.SubprocessorChange{
				Kind: registryv1.SubprocessorChangeKind_SUBPROCESSOR_CHANGE_KIND_REPLACEMENT, SubprocessorId: "Bad",
				EffectiveTime: timestamppb.New(now.Add(-time.Hour)), ObjectionWindow: durationpb.New(time.Minute),
			},
			code: codes.InvalidArgument,
			want: []string{"change.replaces_subprocessor_id", "change.subprocessor_id", "change.effective_time", "change.objection_window"},
		},
		{
			name:   "missing_required",
			change: &registryv1.SubprocessorChange{ReplacesSubprocessorId: "vendor"},
			code:   codes.InvalidArgument,
			want:   []string{"change.kind", "change.subprocessor_id"},
		},
		{
			name:   "unknown_subprocessor",
			change: &registryv1.SubprocessorChange{Kind: registryv1.SubprocessorChangeKind_SUBPROCESSOR_CHANGE_KIND_ADDITION, SubprocessorId: "nobody"},
			code:   codes.NotFound,
		},
		{
			name: "replaces_unknown",
			change: &registryv1.SubprocessorChange{
				Kind: registryv1.SubprocessorChangeKind_SUBPROCESSOR_CHANGE_KIND_REPLACEMENT, SubprocessorId: "vendor", ReplacesSubprocessorId: "nobody",
			},
			code: codes.NotFound,
		},
	}
	for _, tc := range cases {
		t.Run("method=Propose/case="+tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.subprocessors.ProposeSubprocessorChange(t.Context(), &registryv1.ProposeSubprocessorChangeRequest{Change: tc.change})
			if tc.code == codes.InvalidArgument {
				wantViolations(t, err, tc.want...)
				return
			}
			wantCode(t, err, tc.code)
		})
	}

	t.Run("method=Object/case=violations", func(t *testing.T) {
		t.Parallel()
		_, err := e.subprocessors.ObjectToSubprocessorChange(t.Context(), &registryv1.ObjectToSubprocessorChangeRequest{ChangeId: "x", CustomerId: "A"})
		wantViolations(t, err, "reason", "change_id", "customer_id")
	})

	t.Run("method=Resolve/case=violations", func(t *testing.T) {
		t.Parallel()
		_, err := e.subprocessors.ResolveObjection(t.Context(), &registryv1.ResolveObjectionRequest{ChangeId: "spc_1", CustomerId: "eu-a", Outcome: 9})
		wantViolations(t, err, "note", "change_id", "outcome")
	})
}

func TestReplacementAndListChanges(t *testing.T) {
	t.Parallel()
	e := newChangeEnv(t)
	old := validSubprocessor("old-vendor")
	old.Products = []string{"admin"}
	createSubprocessor(t, e.env, old)
	var ids []string
	for i, kind := range []registryv1.SubprocessorChangeKind{
		registryv1.SubprocessorChangeKind_SUBPROCESSOR_CHANGE_KIND_ADDITION,
		registryv1.SubprocessorChangeKind_SUBPROCESSOR_CHANGE_KIND_REPLACEMENT,
		registryv1.SubprocessorChangeKind_SUBPROCESSOR_CHANGE_KIND_REPLACEMENT,
	} {
		c := &registryv1.SubprocessorChange{Kind: kind, SubprocessorId: "vendor", ObjectionWindow: durationpb.New(time.Duration(i+1) * time.Hour)}
		if kind == registryv1.SubprocessorChangeKind_SUBPROCESSOR_CHANGE_KIND_REPLACEMENT {
			c.ReplacesSubprocessorId = "old-vendor"
		}
		resp := must[*registryv1.ProposeSubprocessorChangeResponse](t)(e.subprocessors.ProposeSubprocessorChange(t.Context(), &registryv1.ProposeSubprocessorChangeRequest{Change: c}))
		ids = append(ids, resp.GetChange().GetChangeId())
	}
	e.notifyAll(t)
	n, _ := e.sent.get(domain.ChangeNoticeRequestID(ids[1], "eu-a"))
	if !strings.Contains(n.Body, "replace the subprocessor") {
		t.Fatalf("replacement notice:\n%s", n.Body)
	}

	var got []string
	req := &registryv1.ListSubprocessorChangesRequest{PageSize: 2, SubprocessorId: "vendor"}
	for {
		resp := must[*registryv1.ListSubprocessorChangesResponse](t)(e.subprocessors.ListSubprocessorChanges(t.Context(), req))
		for _, c := range resp.GetChanges() {
			got = append(got, c.GetChangeId())
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if d := diff([]string{ids[2], ids[1], ids[0]}, got); d != "" {
		t.Fatalf("newest first: %s", d)
	}
	_, err := e.subprocessors.ListSubprocessorChanges(t.Context(), &registryv1.ListSubprocessorChangesRequest{PageToken: req.GetPageToken()})
	wantViolations(t, err, "page_token")
}

func TestCheckSubprocessor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A record from before transfer mechanisms were validated: written to
	// the store directly, as a migration would have (the creates below
	// reload the snapshot).
	if _, err := e.st.CreateSubprocessor(t.Context(), domain.Subprocessor{
		ID: "legacy", LegalName: "Legacy Inc.", Country: "US", Purpose: "Mail", Products: []string{"admin"},
		Status: domain.SubprocessorActive, CreateTime: now, UpdateTime: now, Version: 1,
	}, domain.Idempotency{}); err != nil {
		t.Fatalf("CreateSubprocessor: %v", err)
	}
	active := validSubprocessor("aws")
	active.Status = registryv1.SubprocessorStatus_SUBPROCESSOR_STATUS_ACTIVE
	createSubprocessor(t, e, active)
	retired := validSubprocessor("retired-co")
	retired.Status = registryv1.SubprocessorStatus_SUBPROCESSOR_STATUS_RETIRED
	createSubprocessor(t, e, retired)

	cases := []struct {
		name    string
		req     *registryv1.CheckSubprocessorRequest
		allowed bool
		reason  registryv1.CheckReason
	}{
		{"allowed_eu", &registryv1.CheckSubprocessorRequest{SubprocessorId: "aws", Product: "admin", Region: regionEU}, true, reasonAllowed},
		{"allowed_us_customer", &registryv1.CheckSubprocessorRequest{SubprocessorId: "aws", Product: "teacher", Region: regionUS, CustomerId: "acme"}, true, reasonAllowed},
		{"unknown", &registryv1.CheckSubprocessorRequest{SubprocessorId: "nobody", Product: "admin", Region: regionEU}, false, reasonUnknown},
		{"before_it_existed", &registryv1.CheckSubprocessorRequest{SubprocessorId: "aws", Product: "admin", Region: regionEU, At: timestamppb.New(now.Add(-time.Hour))}, false, reasonUnknown},
		{"retired", &registryv1.CheckSubprocessorRequest{SubprocessorId: "retired-co", Product: "admin", Region: regionUS}, false, reasonNotActive},
		{"not_serving", &registryv1.CheckSubprocessorRequest{SubprocessorId: "aws", Product: "parent", Region: regionEU}, false, reasonNoProduct},
		{"transfer_missing_eu", &registryv1.CheckSubprocessorRequest{SubprocessorId: "legacy", Product: "admin", Region: regionEU}, false, reasonNoTransfer},
		{"transfer_irrelevant_us", &registryv1.CheckSubprocessorRequest{SubprocessorId: "legacy", Product: "admin", Region: regionUS}, true, reasonAllowed},
	}
	for _, tc := range cases {
		t.Run("method=Check/case="+tc.name, func(t *testing.T) {
			t.Parallel()
			got := check(t, e, tc.req)
			wantReason(t, got, tc.allowed, tc.reason)
			if got.GetRegistryVersion() < 2 {
				t.Fatalf("registry_version = %d, want at least 2 (two creates)", got.GetRegistryVersion())
			}
		})
	}

	t.Run("method=Check/case=violations", func(t *testing.T) {
		t.Parallel()
		_, err := e.subprocessors.CheckSubprocessor(t.Context(), &registryv1.CheckSubprocessorRequest{SubprocessorId: "X", Product: "Bad Product", Region: 42, CustomerId: "A"})
		wantViolations(t, err, "subprocessor_id", "product", "region", "customer_id")
		_, err = e.subprocessors.CheckSubprocessor(t.Context(), &registryv1.CheckSubprocessorRequest{})
		wantViolations(t, err, "subprocessor_id", "product", "region")
	})

	t.Run("method=ListCustomerSubprocessors/case=unknown_customer", func(t *testing.T) {
		t.Parallel()
		_, err := e.subprocessors.ListCustomerSubprocessors(t.Context(), &registryv1.ListCustomerSubprocessorsRequest{CustomerId: "nobody"})
		wantCode(t, err, codes.NotFound)
	})
}
