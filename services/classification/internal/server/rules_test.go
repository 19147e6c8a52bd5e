package server_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	commonv1 "github.com/breachline/breachline/pkg/gen/breachline/common/v1"
	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
)

func find(a *classificationv1.Assessment, id string) *classificationv1.Obligation {
	for _, o := range a.GetObligations() {
		if o.GetObligationId() == id {
			return o
		}
	}
	return nil
}

var customers = map[string]*registryv1.Customer{
	"lincoln-high": {
		CustomerId: "lincoln-high", DisplayName: "Lincoln High School", NotificationEmail: "dpo@lincoln.example",
		NotifyWithinHours: 24, EmployeeNotification: registryv1.EmployeeNotification_EMPLOYEE_NOTIFICATION_CUSTOMER, Etag: "3",
	},
}

func TestAssessIncident_contractualObligationsFromTheRegistry(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	c := serveWith(t, st, realEngine(t), registryStandIn(t, customers))
	req := assessReq("req-contract", "inc_1", 3)
	req.Facts.CustomerIds = []string{"lincoln-high", "no-such-school"}
	req.Facts.Role = commonv1.DataRole_DATA_ROLE_PROCESSOR
	resp, err := c.AssessIncident(t.Context(), req)
	if err != nil {
		t.Fatalf("AssessIncident: %v", err)
	}
	a := resp.GetAssessment()
	dpa := find(a, "dpa.incident-notification.lincoln-high")
	if dpa == nil || !dpa.GetNotify() || dpa.GetRecipient() != "Lincoln High School <dpo@lincoln.example>" ||
		!dpa.GetDeadline().AsTime().Equal(discovered.Add(24*time.Hour)) || !strings.Contains(dpa.GetCitation(), "§6.1") {
		t.Errorf("contractual obligation = %v", dpa)
	}
	if o := find(a, "org-policy.customer-employees-by-customer.lincoln-high"); o == nil {
		t.Error("no obligation recording that the customer notifies its employees")
	}
	unknown := find(a, "dpa.incident-notification.no-such-school")
	if unknown == nil || !unknown.GetManualReview() || !unknown.GetNotify() {
		t.Errorf("unknown customer obligation = %v, want a manual review", unknown)
	}
	if !slices.ContainsFunc(a.GetFindings(), func(f string) bool { return strings.Contains(f, "no-such-school is not in the registry") }) {
		t.Errorf("findings %q lack the unknown customer", a.GetFindings())
	}
	terms := a.GetCustomerTerms()
	if len(terms) != 2 || terms[0].GetEtag() != "3" || terms[0].GetNotifyWithinHours() != 24 || terms[1].GetFound() {
		t.Errorf("customer terms = %v, want the registry snapshot stored", terms)
	}
	got, err := c.GetAssessment(t.Context(), &classificationv1.GetAssessmentRequest{AssessmentId: a.GetAssessmentId()})
	if err != nil || len(got.GetAssessment().GetCustomerTerms()) != 2 || find(got.GetAssessment(), "dpa.incident-notification.lincoln-high") == nil {
		t.Errorf("stored assessment lacks the terms or the obligation: %v", err)
	}
}

func TestAssessIncident_registryDownIsUnavailable(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	c := serveWith(t, st, realEngine(t), downRegistry(t))
	req := assessReq("req-down", "inc_1", 3)
	req.Facts.CustomerIds = []string{"lincoln-high"}
	_, err := c.AssessIncident(t.Context(), req)
	if status.Code(err) != codes.Unavailable || strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("AssessIncident with the registry down = %v, want UNAVAILABLE so the caller retries, without internal addresses", err)
	}
	list, err := c.ListAssessments(t.Context(), &classificationv1.ListAssessmentsRequest{})
	if err != nil || len(list.GetAssessments()) != 0 {
		t.Errorf("an assessment was stored without its contractual duties: %v, %v", list, err)
	}
}

func TestAssessHypothetical_storesNothing(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	c := serveWith(t, st, realEngine(t), registryStandIn(t, customers))
	facts := assessReq("x", "y", 10001).GetFacts()
	facts.CustomerIds = []string{"lincoln-high"}
	facts.LawEnforcementHolds = []*commonv1.LawEnforcementHold{{
		HoldId: "fbi-1", RequestedBy: "FBI San Antonio Field Office", StartTime: timestamppb.New(discovered.Add(time.Hour)),
	}}
	resp, err := c.AssessHypothetical(t.Context(), &classificationv1.AssessHypotheticalRequest{Facts: facts})
	if err != nil {
		t.Fatalf("AssessHypothetical: %v", err)
	}
	a := resp.GetAssessment()
	if a.GetAssessmentId() != "" || a.GetCreateTime() != nil {
		t.Errorf("what-if has id %q / create time %v, want neither", a.GetAssessmentId(), a.GetCreateTime())
	}
	ind := find(a, "us-tx.individuals")
	if ind == nil || !ind.GetPaused() || ind.GetDeadline() != nil || !slices.Equal(ind.GetHoldIds(), []string{"fbi-1"}) {
		t.Errorf("held individual notice = %v", ind)
	}
	if find(a, "dpa.incident-notification.lincoln-high") == nil {
		t.Error("what-if lacks the contractual obligation")
	}
	list, err := c.ListAssessments(t.Context(), &classificationv1.ListAssessmentsRequest{})
	if err != nil || len(list.GetAssessments()) != 0 {
		t.Errorf("what-if stored %d assessments (%v), want none", len(list.GetAssessments()), err)
	}
}

func TestAssessHypothetical_invalid(t *testing.T) {
	t.Parallel()
	c := serve(t, newStore(t), realEngine(t))
	facts := &commonv1.BreachFacts{
		DiscoveredAt:            timestamppb.New(discovered),
		DeterminedAt:            timestamppb.New(discovered.Add(-time.Hour)),
		MaterialityDeterminedAt: timestamppb.New(discovered),
		Role:                    commonv1.DataRole(9),
		CustomerIds:             []string{"a", "a"},
		NoticeCostEstimateUsd:   -1,
		LawEnforcementHolds: []*commonv1.LawEnforcementHold{{
			HoldId: "h", RequestedBy: "FBI", StartTime: timestamppb.New(discovered),
			EndTime: timestamppb.New(discovered.Add(-time.Hour)), Audiences: []string{"press"}, Jurisdictions: []string{"Texas"},
		}},
	}
	_, err := c.AssessHypothetical(t.Context(), &classificationv1.AssessHypotheticalRequest{Facts: facts})
	want := []string{
		"facts.customer_ids[1]", "facts.determined_at",
		"facts.law_enforcement_holds[0].audiences[0]", "facts.law_enforcement_holds[0].end_time", "facts.law_enforcement_holds[0].jurisdictions[0]",
		"facts.materiality_determined_at", "facts.notice_cost_estimate_usd", "facts.role",
	}
	if got := slices.Sorted(maps.Keys(violations(t, err))); !slices.Equal(got, want) {
		t.Errorf("violations = %v, want %v", got, want)
	}
}

func TestListRulePacks(t *testing.T) {
	t.Parallel()
	c := serve(t, newStore(t), realEngine(t))
	var all []*classificationv1.RulePackSummary
	token := ""
	for pages := 0; ; pages++ {
		resp, err := c.ListRulePacks(t.Context(), &classificationv1.ListRulePacksRequest{PageSize: 25, PageToken: token})
		if err != nil {
			t.Fatalf("ListRulePacks: %v", err)
		}
		all = append(all, resp.GetRulePacks()...)
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	ids := map[string]*classificationv1.RulePackSummary{}
	versions := map[string][]string{}
	for _, p := range all {
		ids[p.GetPackId()] = p
		versions[p.GetPackId()] = append(versions[p.GetPackId()], p.GetVersion())
	}
	// org-policy has two versions (2026.2 from 2026-11-22); every other pack one.
	if len(all) != len(ids)+1 || len(ids) < 54+9 || !slices.Equal(versions["org-policy"], []string{"2026.1", "2026.2"}) {
		t.Errorf("listed %d versions of %d packs (org-policy %v), want every pack once and org-policy twice (54 US + 9 others)",
			len(all), len(ids), versions["org-policy"])
	}
	tx := ids["us-tx"]
	if tx == nil || !tx.GetInForce() || tx.GetRuleCount() != 3 || tx.GetSourceCount() != 3 || tx.GetEffectiveDate() != "2023-09-01" || tx.GetOrigin() != "embedded" {
		t.Errorf("us-tx summary = %v", tx)
	}
	if _, err := c.ListRulePacks(t.Context(), &classificationv1.ListRulePacksRequest{PageToken: "garbage!"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("bad page token = %v, want INVALID_ARGUMENT", err)
	}
}

func TestGetRulePack(t *testing.T) {
	t.Parallel()
	c := serve(t, newStore(t), realEngine(t))
	resp, err := c.GetRulePack(t.Context(), &classificationv1.GetRulePackRequest{PackId: "sec-8k"})
	if err != nil {
		t.Fatalf("GetRulePack: %v", err)
	}
	p := resp.GetRulePack()
	r := p.GetRules()[0]
	if p.GetSummary().GetVersion() != "2026.1" || r.GetDeadlineWithin() != "4bd" || r.GetDeadlineFrom() != "materiality_determined_at" ||
		!slices.Equal(r.GetWhen(), []string{"sec_registrant", "materiality_determined"}) || len(p.GetNotes()) == 0 {
		t.Errorf("sec-8k = %v", p)
	}
	for _, r := range p.GetRules() {
		if r.GetEffectiveDate() != p.GetSummary().GetEffectiveDate() || len(r.GetSources()) != len(p.GetSources()) {
			t.Errorf("sec-8k rule %s: effective date %q, %d sources; want the pack's %q and %d", r.GetRuleId(),
				r.GetEffectiveDate(), len(r.GetSources()), p.GetSummary().GetEffectiveDate(), len(p.GetSources()))
		}
	}
	if _, err := c.GetRulePack(t.Context(), &classificationv1.GetRulePackRequest{PackId: "us-tx", Version: "1999.1"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown version = %v, want NOT_FOUND", err)
	}
}

func TestGetRulePack_ruleDatesAndSources(t *testing.T) {
	t.Parallel()
	c := serve(t, newStore(t), realEngine(t))
	resp, err := c.GetRulePack(t.Context(), &classificationv1.GetRulePackRequest{PackId: "org-policy", Version: "2026.2"})
	if err != nil {
		t.Fatalf("GetRulePack: %v", err)
	}
	rules := map[string]*classificationv1.RulePackRule{}
	for _, r := range resp.GetRulePack().GetRules() {
		rules[r.GetRuleId()] = r
	}
	tests := []struct {
		rule, effective, within string
		documents               []string
	}{
		{"executive-management", "2016-01-01", "0", []string{"breach-response-policy-hosted-saas.txt"}},
		{"response-team", "2020-03-09", "0", []string{"breach-notification-procedure-nonprofit.txt"}},
		{"insurer", "2026-11-22", "24h", []string{"breach-response-policy-hosted-saas.txt", "services/intake/internal/domain/playbooks/pi-breach-electronic.yaml"}},
		{"law-enforcement-fbi", "2026-11-22", "48h", []string{"breach-response-policy-hosted-saas.txt", "services/intake/internal/domain/playbooks/pi-breach-electronic.yaml"}},
		{"hosting-provider", "2016-01-01", "", []string{"breach-response-policy-hosted-saas.txt"}},
	}
	for _, tt := range tests {
		r := rules[tt.rule]
		var docs []string
		for _, s := range r.GetSources() {
			docs = append(docs, s.GetDocument())
		}
		if r.GetEffectiveDate() != tt.effective || r.GetDeadlineWithin() != tt.within || !slices.Equal(docs, tt.documents) || r.GetCitation() == "" {
			t.Errorf("org-policy 2026.2 rule %s: effective %q within %q sources %v citation %q; want %q, %q, %v",
				tt.rule, r.GetEffectiveDate(), r.GetDeadlineWithin(), docs, r.GetCitation(), tt.effective, tt.within, tt.documents)
		}
	}

	// A generated state pack: the rules carry the reference dataset's URLs.
	ak, err := c.GetRulePack(t.Context(), &classificationv1.GetRulePackRequest{PackId: "us-ak"})
	if err != nil {
		t.Fatalf("GetRulePack us-ak: %v", err)
	}
	for _, r := range ak.GetRulePack().GetRules() {
		if r.GetEffectiveDate() != "2026-01-01" || len(r.GetSources()) != 3 || r.GetSources()[0].GetUrl() != "https://dwt.com/alaska" || r.GetSourceDate() == "" {
			t.Errorf("us-ak rule %s: effective %q sources %v source_date %q", r.GetRuleId(), r.GetEffectiveDate(), r.GetSources(), r.GetSourceDate())
		}
	}
}
