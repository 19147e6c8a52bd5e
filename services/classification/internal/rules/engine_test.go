package rules

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/breachline/breachline/services/classification/internal/domain"
)

// discovered is the discovery time of most scenarios; it is after the
// SB 446 and SB 768 effective dates.
var discovered = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func engine(t testing.TB) *Engine {
	t.Helper()
	lib, err := Embedded()
	if err != nil {
		t.Fatalf("load embedded packs: %v", err)
	}
	return NewEngine(lib)
}

func els(es ...domain.Element) []domain.Element { return es }

func aff(pairs ...any) []domain.JurisdictionCount {
	var out []domain.JurisdictionCount
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, domain.JurisdictionCount{Jurisdiction: pairs[i].(string), Count: int64(pairs[i+1].(int))})
	}
	return out
}

func in(f domain.Facts) domain.Input { return domain.Input{Facts: f} }

func exceptionKinds(d domain.Decision) []string {
	out := []string{}
	for _, e := range d.Exceptions {
		kind, _, _ := strings.Cut(e, ":")
		out = append(out, kind)
	}
	return out
}

func find(d domain.Decision, id string) (domain.Obligation, bool) {
	i := slices.IndexFunc(d.Obligations, func(o domain.Obligation) bool { return o.ObligationID == id })
	if i < 0 {
		return domain.Obligation{}, false
	}
	return d.Obligations[i], true
}

func obligation(t *testing.T, d domain.Decision, id string) domain.Obligation {
	t.Helper()
	o, ok := find(d, id)
	if !ok {
		var ids []string
		for _, o := range d.Obligations {
			ids = append(ids, o.ObligationID)
		}
		t.Fatalf("no obligation %s; have %v", id, ids)
	}
	return o
}

// want is what a scenario pins about one obligation.
type want struct {
	notify bool
	// deadline pins the exact deadline when set; a paused obligation must
	// have none.
	deadline   time.Time
	paused     bool
	reason     string // substring
	constraint string // substring of one channel constraint
	review     bool
}

var (
	nameSSN = els(domain.ElementName, domain.ElementSSN)
	ny      = time.FixedZone("EDT", -4*3600)
	nyWin   = time.FixedZone("EST", -5*3600)
)

// TestScenarios is the engine's scenario suite. Each case names the rule it
// exercises and cites it (cite must appear in that obligation's citation),
// and pins notify, exact deadlines, holds and constraints.
func TestScenarios(t *testing.T) {
	t.Parallel()
	e := engine(t)
	determined := discovered.Add(48 * time.Hour)
	holdStart := discovered.Add(24 * time.Hour)
	tests := []struct {
		name      string
		rule      string // the obligation the scenario is about
		cite      string
		facts     domain.Facts
		customers []domain.CustomerTerms
		want      map[string]want
		absent    []string
		wantPI    *bool
		wantExc   []string
		findings  []string
	}{
		{
			name: "rule=us-tx.attorney-general/case=249 residents below at-least-250 (>=)", rule: "us-tx.attorney-general", cite: "§ 521.053(i)",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("US-TX", 249), DiscoveredAt: discovered},
			want: map[string]want{
				"us-tx.attorney-general": {reason: "249 Texas residents, threshold ≥ 250 not met"},
				"us-tx.individuals":      {notify: true, deadline: discovered.AddDate(0, 0, 60)},
			},
		},
		{
			name: "rule=us-tx.attorney-general/case=250 residents meet at-least-250 (>=)", rule: "us-tx.attorney-general", cite: "§ 521.053(i)",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("US-TX", 250), DiscoveredAt: discovered},
			want:  map[string]want{"us-tx.attorney-general": {notify: true, deadline: discovered.AddDate(0, 0, 30), reason: "250 Texas residents ≥ 250"}},
		},
		{
			name: "rule=us-or.regulator/case=250 consumers not more than 250 (>)", rule: "us-or.regulator", cite: "646A",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("US-OR", 250), DiscoveredAt: discovered},
			want:  map[string]want{"us-or.regulator": {reason: "threshold > 250 not met"}, "us-or.individuals": {notify: true, deadline: discovered.AddDate(0, 0, 45)}},
		},
		{
			name: "rule=us-or.regulator/case=251 consumers exceed 250 (>)", rule: "us-or.regulator", cite: "646A",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("US-OR", 251), DiscoveredAt: discovered},
			want:  map[string]want{"us-or.regulator": {notify: true}},
		},
		{
			name: "rule=us-co.regulator/case=499 below 500-or-more (>=)", rule: "us-co.regulator", cite: "6-1-716",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("US-CO", 499), DiscoveredAt: discovered},
			want:  map[string]want{"us-co.regulator": {reason: "threshold ≥ 500 not met"}},
		},
		{
			name: "rule=us-co.regulator/case=500 meets 500-or-more, 30 days from determination", rule: "us-co.regulator", cite: "6-1-716",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("US-CO", 500), DiscoveredAt: discovered, DeterminedAt: determined},
			want:  map[string]want{"us-co.regulator": {notify: true, deadline: determined.AddDate(0, 0, 30)}, "us-co.individuals": {notify: true, deadline: determined.AddDate(0, 0, 30)}},
		},
		{
			name: "rule=us-ca.attorney-general/case=500 residents not more than 500", rule: "us-ca.attorney-general", cite: "§ 1798.82(f)",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("US-CA", 500), DiscoveredAt: discovered},
			want:  map[string]want{"us-ca.attorney-general": {reason: "threshold > 500 not met"}, "us-ca.individuals": {notify: true, deadline: discovered.AddDate(0, 0, 30)}},
		},
		{
			name: "rule=us-ca.attorney-general/case=501 residents, 15 days after the 30-day consumer deadline", rule: "us-ca.attorney-general", cite: "§ 1798.82(f)",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("US-CA", 501), DiscoveredAt: discovered},
			want:  map[string]want{"us-ca.attorney-general": {notify: true, deadline: discovered.AddDate(0, 0, 45)}},
		},
		{
			name: "rule=us-tx.consumer-reporting-agencies/case=10,000 not more than 10,000", rule: "us-tx.consumer-reporting-agencies", cite: "§ 521.053(h)",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("US-TX", 10000), DiscoveredAt: discovered},
			want:  map[string]want{"us-tx.consumer-reporting-agencies": {reason: "threshold > 10,000 not met"}},
		},
		{
			name: "rule=us-tx.consumer-reporting-agencies/case=10,001 fires and is named on the individual notice", rule: "us-tx.consumer-reporting-agencies", cite: "§ 521.053(h)",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("US-TX", 10001), DiscoveredAt: discovered},
			want: map[string]want{
				"us-tx.consumer-reporting-agencies": {notify: true},
				"us-tx.individuals":                 {notify: true, deadline: discovered.AddDate(0, 0, 60), constraint: "also notify the nationwide consumer reporting agencies"},
			},
		},
		{
			name: "rule=us-tx.individuals/case=encrypted with an uncompromised key", rule: "us-tx.individuals", cite: "§ 521.053(b)",
			facts:   domain.Facts{DataElements: nameSSN, EncryptedElements: els(domain.ElementSSN), Affected: aff("US-TX", 300), DiscoveredAt: discovered},
			want:    map[string]want{"us-tx.individuals": {reason: "exception encryption"}, "us-tx.attorney-general": {}},
			wantPI:  ptr(true),
			wantExc: []string{"encryption"},
		},
		{
			name: "rule=us-tx.individuals/case=encrypted but the key was compromised", rule: "us-tx.individuals", cite: "§ 521.053(b)",
			facts: domain.Facts{DataElements: nameSSN, EncryptedElements: els(domain.ElementSSN), EncryptionKeyCompromised: true, Affected: aff("US-TX", 300), DiscoveredAt: discovered},
			want:  map[string]want{"us-tx.individuals": {notify: true, deadline: discovered.AddDate(0, 0, 60)}, "us-tx.attorney-general": {notify: true}},
		},
		{
			name: "rule=us-ny.individuals/case=encryption safe harbour under a generated pack", rule: "us-ny.individuals", cite: "899-aa",
			facts: domain.Facts{DataElements: nameSSN, EncryptedElements: els(domain.ElementSSN), Affected: aff("US-NY", 30), DiscoveredAt: discovered},
			want:  map[string]want{"us-ny.individuals": {reason: "exception encryption"}},
		},
		{
			name: "rule=multi-state/case=TX, CA, NY, FL and DE each on their own clock (discovery vs determination)", rule: "us-fl.individuals", cite: "501.171",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("US-TX", 600, "US-CA", 600, "US-NY", 600, "US-FL", 600, "US-DE", 600), DiscoveredAt: discovered, DeterminedAt: determined},
			want: map[string]want{
				"us-tx.individuals":      {notify: true, deadline: determined.AddDate(0, 0, 60)},
				"us-tx.attorney-general": {notify: true, deadline: determined.AddDate(0, 0, 30)},
				"us-ca.individuals":      {notify: true, deadline: discovered.AddDate(0, 0, 30)},
				"us-ca.attorney-general": {notify: true, deadline: discovered.AddDate(0, 0, 45)},
				"us-ny.individuals":      {notify: true, deadline: discovered.AddDate(0, 0, 30)},
				"us-ny.regulator":        {notify: true},
				"us-fl.individuals":      {notify: true, deadline: determined.AddDate(0, 0, 30)},
				"us-fl.regulator":        {notify: true, deadline: determined.AddDate(0, 0, 30)},
				"us-de.individuals":      {notify: true, deadline: determined.AddDate(0, 0, 60)},
				"us-de.regulator":        {notify: true, deadline: determined.AddDate(0, 0, 60)},
			},
		},
		{
			name: "rule=exception.names-and-addresses-only/case=policy exception; not personal information under TX", rule: "us-tx.individuals", cite: "§ 521.053(b)",
			facts:   domain.Facts{DataElements: els(domain.ElementName, domain.ElementHomeAddress), Affected: aff("US-TX", 300), DiscoveredAt: discovered},
			want:    map[string]want{"us-tx.individuals": {reason: "not met"}},
			wantPI:  ptr(true),
			wantExc: []string{"names_and_addresses_only"},
		},
		{
			name: "rule=us-ak.no-harm-filing/case=relying on the no-harm exception requires the AG filing", rule: "us-ak.no-harm-filing", cite: "45.48.010(c)",
			facts: domain.Facts{DataElements: nameSSN, RetrievedBeforeMisuse: true, Affected: aff("US-AK", 20), DiscoveredAt: discovered},
			want:  map[string]want{"us-ak.no-harm-filing": {notify: true}, "us-ak.individuals": {reason: "retrieved_before_misuse"}},
		},
		{
			name: "rule=us-ia.consumer-reporting-agencies/case=unverified threshold goes to manual review", rule: "us-ia.consumer-reporting-agencies", cite: "715C",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("US-IA", 20), DiscoveredAt: discovered},
			want:  map[string]want{"us-ia.consumer-reporting-agencies": {notify: true, review: true, reason: "manual review"}},
		},
		{
			name: "rule=us-ny.individuals/case=substitute notice permitted above $250,000", rule: "us-ny.individuals", cite: "899-aa",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("US-NY", 1000), NoticeCostUSD: 300_000, DiscoveredAt: discovered},
			want:  map[string]want{"us-ny.individuals": {notify: true, deadline: discovered.AddDate(0, 0, 30), constraint: "substitute notice permitted: estimated notice cost $300,000 > $250,000"}},
		},
		{
			name: "rule=us-pr.individuals/case=a resident given as the country code PR", rule: "us-pr.individuals", cite: "10 L.P.R.A.",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("PR", 3), DiscoveredAt: discovered},
			want:  map[string]want{"us-pr.individuals": {notify: true}, "us-pr.regulator": {notify: true, deadline: discovered.AddDate(0, 0, 10)}},
		},
		{
			name: "rule=gdpr.supervisory-authority/case=72 hours after awareness, as controller", rule: "gdpr.supervisory-authority", cite: "Art. 33(1)",
			facts:  domain.Facts{DataElements: els(domain.ElementName, domain.ElementEmailAddress), Affected: aff("DE", 5, "NO", 1), Role: domain.RoleController, DiscoveredAt: time.Date(2026, 2, 27, 23, 30, 15, 0, time.UTC)},
			want:   map[string]want{"gdpr.supervisory-authority": {notify: true, deadline: time.Date(2026, 3, 2, 23, 30, 15, 0, time.UTC)}, "gdpr.data-subjects": {reason: "not required"}},
			absent: []string{"gdpr.controller"},
		},
		{
			name: "rule=gdpr.controller/case=as processor we tell the controller, not the authority", rule: "gdpr.controller", cite: "Art. 33(2)",
			facts:  domain.Facts{DataElements: nameSSN, Affected: aff("FR", 5), Role: domain.RoleProcessor, DiscoveredAt: discovered},
			want:   map[string]want{"gdpr.controller": {notify: true}},
			absent: []string{"gdpr.supervisory-authority", "gdpr.data-subjects"},
		},
		{
			name: "rule=gdpr.supervisory-authority/case=role unknown gives both, each with its condition", rule: "gdpr.supervisory-authority", cite: "Art. 33(1)",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("FR", 5), DiscoveredAt: discovered},
			want:  map[string]want{"gdpr.supervisory-authority": {notify: true, reason: "applies if role=controller"}, "gdpr.controller": {notify: true, reason: "applies if role=processor"}},
		},
		{
			name: "rule=uk-gdpr.ico/case=72 hours to the ICO", rule: "uk-gdpr.ico", cite: "Art. 33(1)",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("GB", 10), Role: domain.RoleController, DiscoveredAt: discovered},
			want:  map[string]want{"uk-gdpr.ico": {notify: true, deadline: discovered.Add(72 * time.Hour)}, "uk-gdpr.data-subjects": {notify: true}},
		},
		{
			name: "rule=hipaa.hhs-annual-log/case=499 individuals go to the annual log; no media", rule: "hipaa.hhs-annual-log", cite: "164.408(c)",
			facts: domain.Facts{DataElements: els(domain.ElementName, domain.ElementMedical), Affected: aff("US-TX", 499), HIPAARole: domain.HIPAACoveredEntity, DiscoveredAt: discovered},
			want: map[string]want{
				"hipaa.hhs-annual-log": {notify: true, deadline: time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC)},
				"hipaa.hhs-500":        {reason: "threshold ≥ 500 not met"},
				"hipaa.media.us-tx":    {reason: "threshold > 500 not met"},
				"hipaa.individuals":    {notify: true, deadline: discovered.AddDate(0, 0, 60)},
			},
		},
		{
			name: "rule=hipaa.hhs-500/case=500 in total: HHS within 60 days, but 500 in one state is not more than 500 for the media", rule: "hipaa.hhs-500", cite: "164.408(b)",
			facts: domain.Facts{DataElements: els(domain.ElementName, domain.ElementMedical), Affected: aff("US-TX", 500), HIPAARole: domain.HIPAACoveredEntity, DiscoveredAt: discovered},
			want: map[string]want{
				"hipaa.hhs-500":        {notify: true, deadline: discovered.AddDate(0, 0, 60)},
				"hipaa.hhs-annual-log": {reason: "threshold < 500 not met"},
				"hipaa.media.us-tx":    {reason: "threshold > 500 not met"},
			},
		},
		{
			name: "rule=hipaa.media/case=501 residents of one state", rule: "hipaa.media.us-tx", cite: "164.406",
			facts: domain.Facts{DataElements: els(domain.ElementName, domain.ElementMedical), Affected: aff("US-TX", 501, "US-CA", 10), HIPAARole: domain.HIPAACoveredEntity, DiscoveredAt: discovered},
			want:  map[string]want{"hipaa.media.us-tx": {notify: true, deadline: discovered.AddDate(0, 0, 60)}, "hipaa.media.us-ca": {reason: "not met"}},
		},
		{
			name: "rule=hipaa.individuals/case=not a covered entity: HIPAA does not apply", rule: "us-tx.individuals", cite: "§ 521.053(b)",
			facts:    domain.Facts{DataElements: els(domain.ElementName, domain.ElementMedical), Affected: aff("US-TX", 501), DiscoveredAt: discovered},
			want:     map[string]want{"us-tx.individuals": {notify: true}},
			absent:   []string{"hipaa.individuals", "hipaa.hhs-500", "hipaa.media.us-tx"},
			findings: []string{"hipaa: not applied: requires hipaa_role=covered_entity, but hipaa_role is unset"},
		},
		{
			name: "rule=sec-8k.item-1-05/case=four business days over a weekend", rule: "sec-8k.item-1-05", cite: "Item 1.05",
			facts: domain.Facts{SECRegistrant: true, DiscoveredAt: discovered, MaterialityDeterminedAt: time.Date(2026, 3, 6, 10, 0, 0, 0, nyWin)},
			want:  map[string]want{"sec-8k.item-1-05": {notify: true, deadline: time.Date(2026, 3, 12, 17, 30, 0, 0, ny)}},
		},
		{
			name: "rule=sec-8k.item-1-05/case=four business days over Independence Day observed on Friday 3 July", rule: "sec-8k.item-1-05", cite: "Item 1.05",
			facts: domain.Facts{SECRegistrant: true, DiscoveredAt: time.Date(2026, 6, 30, 9, 0, 0, 0, time.UTC), MaterialityDeterminedAt: time.Date(2026, 7, 2, 15, 0, 0, 0, ny)},
			want:  map[string]want{"sec-8k.item-1-05": {notify: true, deadline: time.Date(2026, 7, 9, 17, 30, 0, 0, ny)}},
		},
		{
			name: "rule=sec-8k.item-1-05/case=no materiality determination yet", rule: "sec-8k.item-1-05", cite: "Item 1.05",
			facts: domain.Facts{SECRegistrant: true, DiscoveredAt: discovered},
			want:  map[string]want{"sec-8k.item-1-05": {reason: "not been determined to be material"}},
		},
		{
			name: "rule=nis2/case=essential entity: 24 h early warning, 72 h notification, final report one month later", rule: "nis2.final-report", cite: "Art. 23(4)(d)",
			facts: domain.Facts{NIS2Entity: domain.NIS2Essential, DiscoveredAt: discovered},
			want: map[string]want{
				"nis2.early-warning":         {notify: true, deadline: discovered.Add(24 * time.Hour)},
				"nis2.incident-notification": {notify: true, deadline: discovered.Add(72 * time.Hour)},
				"nis2.final-report":          {notify: true, deadline: discovered.Add(72*time.Hour).AddDate(0, 1, 0)},
			},
		},
		{
			name: "rule=law-enforcement-hold/case=open hold pauses the individual notice, not the AG's", rule: "us-tx.individuals", cite: "§ 521.053(b)",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("US-TX", 300), DiscoveredAt: discovered,
				Holds: []domain.Hold{{ID: "fbi-1", RequestedBy: "FBI San Antonio Field Office", Start: holdStart}}},
			want: map[string]want{
				"us-tx.individuals":      {notify: true, paused: true},
				"us-tx.attorney-general": {notify: true, deadline: discovered.AddDate(0, 0, 30)},
			},
		},
		{
			name: "rule=law-enforcement-hold/case=released after 10 days moves the deadline by 10 days", rule: "us-tx.individuals", cite: "§ 521.053(b)",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("US-TX", 300), DiscoveredAt: discovered,
				Holds: []domain.Hold{{ID: "fbi-1", RequestedBy: "FBI San Antonio Field Office", Start: holdStart, End: holdStart.AddDate(0, 0, 10)}}},
			want: map[string]want{"us-tx.individuals": {notify: true, deadline: discovered.AddDate(0, 0, 70), reason: "Texas residents"}},
		},
		{
			name: "rule=law-enforcement-hold/case=a CA hold moves the consumer notice and, through it, the AG copy", rule: "us-ca.attorney-general", cite: "§ 1798.82(f)",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("US-CA", 600, "US-TX", 300), DiscoveredAt: discovered,
				Holds: []domain.Hold{{ID: "sapd-1", RequestedBy: "San Antonio Police Department", Start: holdStart, End: holdStart.AddDate(0, 0, 10), Jurisdictions: []string{"US-CA"}}}},
			want: map[string]want{
				"us-ca.individuals":      {notify: true, deadline: discovered.AddDate(0, 0, 40)},
				"us-ca.attorney-general": {notify: true, deadline: discovered.AddDate(0, 0, 55)},
				"us-tx.individuals":      {notify: true, deadline: discovered.AddDate(0, 0, 60)},
			},
		},
		{
			name: "rule=dpa.incident-notification/case=customer terms: 48 hours to its Notification Email Address", rule: "dpa.incident-notification.acme", cite: "§6.1",
			facts: domain.Facts{DataElements: nameSSN, Affected: aff("DE", 4), CustomerIDs: []string{"acme", "ghost"}, Role: domain.RoleProcessor, DiscoveredAt: discovered},
			customers: []domain.CustomerTerms{
				{CustomerID: "acme", Found: true, DisplayName: "Acme School", NotificationEmail: "dpo@acme.example", NotifyWithinHours: 48, EmployeeNotification: domain.EmployeesByProcessor},
				{CustomerID: "ghost"},
			},
			want: map[string]want{
				"dpa.incident-notification.acme":           {notify: true, deadline: discovered.Add(48 * time.Hour), constraint: "approval required before sending"},
				"org-policy.customer-employees-by-us.acme": {notify: true},
				"dpa.incident-notification.ghost":          {notify: true, review: true, reason: "not in the registry"},
			},
			absent:   []string{"org-policy.customer-employees-ask.acme", "org-policy.customer-employees-ask.ghost"},
			findings: []string{"customer ghost is not in the registry"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := e.Assess(domain.Input{Facts: tt.facts, Customers: tt.customers}, discovered.Add(time.Hour))
			if err != nil {
				t.Fatalf("Assess: %v", err)
			}
			if got := obligation(t, d, tt.rule).Citation; !strings.Contains(got, tt.cite) {
				t.Errorf("%s citation = %q, want it to cite %q", tt.rule, got, tt.cite)
			}
			for id, w := range tt.want {
				o := obligation(t, d, id)
				checkDeadline := !w.deadline.IsZero() || w.paused
				if o.Notify != w.notify || (checkDeadline && !o.Deadline.Equal(w.deadline)) || o.Paused != w.paused || o.ManualReview != w.review {
					t.Errorf("%s: notify=%v deadline=%v paused=%v review=%v; want notify=%v deadline=%v paused=%v review=%v (reason %q, basis %q)",
						id, o.Notify, o.Deadline, o.Paused, o.ManualReview, w.notify, w.deadline, w.paused, w.review, o.Reason, o.DeadlineBasis)
				}
				if !strings.Contains(o.Reason, w.reason) {
					t.Errorf("%s reason = %q, want it to contain %q", id, o.Reason, w.reason)
				}
				if w.constraint != "" && !slices.ContainsFunc(o.ChannelConstraints, func(c string) bool { return strings.Contains(c, w.constraint) }) {
					t.Errorf("%s constraints = %q, want one containing %q", id, o.ChannelConstraints, w.constraint)
				}
				if w.paused && (o.PausedSince.IsZero() || len(o.HoldIDs) == 0) {
					t.Errorf("%s paused without paused_since or hold ids: %+v", id, o)
				}
			}
			for _, id := range tt.absent {
				if _, ok := find(d, id); ok {
					t.Errorf("obligation %s present, want it absent", id)
				}
			}
			if tt.wantPI != nil && d.PersonalInformation != *tt.wantPI {
				t.Errorf("personal_information = %v, want %v", d.PersonalInformation, *tt.wantPI)
			}
			if tt.wantExc != nil && !slices.Equal(exceptionKinds(d), tt.wantExc) {
				t.Errorf("exceptions = %v, want %v", exceptionKinds(d), tt.wantExc)
			}
			for _, f := range tt.findings {
				if !slices.ContainsFunc(d.Findings, func(s string) bool { return strings.Contains(s, f) }) {
					t.Errorf("findings %q lack %q", d.Findings, f)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestEvaluate_obligationFields(t *testing.T) {
	t.Parallel()
	d, err := engine(t).Assess(in(domain.Facts{
		DataElements: els(domain.ElementName, domain.ElementSSN),
		Affected:     aff("US-TX", 312),
		DiscoveredAt: discovered,
	}), discovered)
	if err != nil {
		t.Fatalf("Assess: %v", err)
	}
	got := obligation(t, d, "us-tx.attorney-general")
	if got.RulePack != "us-tx" || got.RulePackVersion != "2026.1" || got.RuleID != "attorney-general" || got.Jurisdiction != "US-TX" ||
		got.Audience != domain.AudienceRegulator || got.AffectedCount != 312 || !got.Notify || got.Title != "Notify the Texas Attorney General" {
		t.Errorf("obligation = %+v", got)
	}
	if want := "notify the Texas Attorney General, using the electronic form on the AG's website; 312 Texas residents ≥ 250; sensitive-personal-information met by name + ssn"; got.Reason != want {
		t.Errorf("reason = %q, want %q", got.Reason, want)
	}
	if want := "determination of the breach (determined_at unset, so discovered_at) + 30 calendar days"; got.DeadlineBasis != want {
		t.Errorf("deadline_basis = %q, want %q", got.DeadlineBasis, want)
	}
	if len(got.RequiredContent) != 5 || got.Recipient == "" {
		t.Errorf("required content %q, recipient %q", got.RequiredContent, got.Recipient)
	}
	if !slices.ContainsFunc(d.RulePacks, func(r domain.RulePackRef) bool { return r == domain.RulePackRef{Pack: "us-wy", Version: "2026.1"} }) {
		t.Errorf("rule packs %v lack us-wy: every pack in force is recorded", d.RulePacks)
	}
}

func TestEvaluate_deterministicOrder(t *testing.T) {
	t.Parallel()
	e := engine(t)
	f := domain.Facts{
		DataElements: els(domain.ElementName, domain.ElementSSN, domain.ElementMedical),
		Affected:     aff("US-TX", 312, "US-CA", 501, "DE", 3, "US-DE", 40),
		DiscoveredAt: discovered,
	}
	shuffled := f
	shuffled.DataElements = els(domain.ElementMedical, domain.ElementSSN, domain.ElementName)
	shuffled.Affected = aff("US-DE", 40, "DE", 3, "US-CA", 501, "US-TX", 312)
	a, _ := e.Assess(in(f), discovered)
	b, _ := e.Assess(in(shuffled), discovered)
	if !slices.EqualFunc(a.Obligations, b.Obligations, sameObligation) || !slices.Equal(a.Findings[1:], b.Findings[1:]) {
		t.Fatalf("same facts in another order gave another decision")
	}
	for i := 1; i < len(a.Obligations); i++ {
		prev, cur := a.Obligations[i-1], a.Obligations[i]
		if compareObligations(prev, cur) > 0 {
			t.Errorf("obligation %s sorted before %s", prev.ObligationID, cur.ObligationID)
		}
	}
}

func sameObligation(a, b domain.Obligation) bool {
	return a.ObligationID == b.ObligationID && a.Notify == b.Notify && a.Deadline.Equal(b.Deadline) && a.Reason == b.Reason &&
		slices.Equal(a.ChannelConstraints, b.ChannelConstraints) && slices.Equal(a.HoldIDs, b.HoldIDs)
}

func TestEngine_reproduceWithStoredVersions(t *testing.T) {
	t.Parallel()
	e := engine(t)
	input := domain.Input{
		Facts:     domain.Facts{DataElements: els(domain.ElementName, domain.ElementSSN), Affected: aff("US-TX", 312), CustomerIDs: []string{"acme"}, DiscoveredAt: discovered},
		Customers: []domain.CustomerTerms{{CustomerID: "acme", Found: true, NotificationEmail: "dpo@acme.example", NotifyWithinHours: 24}},
	}
	first, err := e.Assess(input, discovered)
	if err != nil {
		t.Fatalf("Assess: %v", err)
	}
	again, err := e.Reproduce(input, first.RulePacks)
	if err != nil {
		t.Fatalf("Reproduce: %v", err)
	}
	if !slices.EqualFunc(first.Obligations, again.Obligations, sameObligation) || !slices.Equal(first.Findings, again.Findings) {
		t.Errorf("reproduction differs")
	}
	if _, err := e.Reproduce(input, []domain.RulePackRef{{Pack: "us-tx", Version: "1999.1"}}); err == nil {
		t.Error("Reproduce with an unknown version succeeded, want an error")
	}
}

func TestGDPRScope_isEEAAndSwitzerland(t *testing.T) {
	t.Parallel()
	lib, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	packs, err := lib.Exact([]domain.RulePackRef{{Pack: "gdpr", Version: "2026.1"}})
	if err != nil {
		t.Fatal(err)
	}
	eea := []string{"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "CH"}
	slices.Sort(eea)
	for _, r := range packs[0].Rules {
		got := slices.Sorted(slices.Values(r.Scope.Jurisdictions))
		if !slices.Equal(got, eea) {
			t.Errorf("rule %s scope = %v, want the 30 EEA states and CH %v", r.ID, got, eea)
		}
	}
}

// TestOrgPolicy_internalTargets pins the organisation's own duties in both
// policy versions: 2026.1 (stored assessments name it) gives the insurer and
// law enforcement no deadline; 2026.2, in force from 2026-11-22, gives them
// the playbooks' internal targets, 24 h and 48 h after discovery.
func TestOrgPolicy_internalTargets(t *testing.T) {
	t.Parallel()
	e := engine(t)
	late := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	type duty struct {
		deadline time.Time // zero: no deadline
		text     string    // substring of deadline_text
	}
	tests := []struct {
		name       string
		discovered time.Time
		now        time.Time
		version    string
		want       map[string]duty
	}{
		{
			name: "version=2026.1/case=the policy sets no period", discovered: discovered, now: discovered.Add(time.Hour), version: "2026.1",
			want: map[string]duty{
				"org-policy.executive-management": {deadline: discovered, text: "immediately"},
				"org-policy.insurer":              {text: "the policy sets no period"},
				"org-policy.law-enforcement-fbi":  {text: "the policy sets no period"},
				"org-policy.law-enforcement-sapd": {text: "the policy sets no period"},
				"org-policy.hosting-provider":     {text: "the policy sets no period"},
			},
		},
		{
			name: "version=2026.2/case=internal targets from the playbooks", discovered: late, now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), version: "2026.2",
			want: map[string]duty{
				"org-policy.executive-management": {deadline: late, text: "immediately"},
				"org-policy.insurer":              {deadline: late.Add(24 * time.Hour), text: "24 h is this organisation's internal target (playbook notify_insurer), not a legal period"},
				"org-policy.law-enforcement-fbi":  {deadline: late.Add(48 * time.Hour), text: "48 h is this organisation's internal target (playbook notify_law_enforcement), not a legal period"},
				"org-policy.law-enforcement-sapd": {deadline: late.Add(48 * time.Hour), text: "48 h is this organisation's internal target (playbook notify_law_enforcement), not a legal period"},
				"org-policy.hosting-provider":     {text: "the policy sets no period"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := e.Assess(in(domain.Facts{DataElements: nameSSN, Affected: aff("US-TX", 300), DiscoveredAt: tt.discovered}), tt.now)
			if err != nil {
				t.Fatalf("Assess: %v", err)
			}
			for id, w := range tt.want {
				o := obligation(t, d, id)
				if !o.Notify || o.RulePackVersion != tt.version || !o.Deadline.Equal(w.deadline) || !strings.Contains(o.DeadlineText, w.text) {
					t.Errorf("%s: notify=%v version=%s deadline=%v text=%q; want notify, version %s, deadline %v, text containing %q",
						id, o.Notify, o.RulePackVersion, o.Deadline, o.DeadlineText, tt.version, w.deadline, w.text)
				}
			}
		})
	}
}
