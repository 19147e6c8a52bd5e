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

func engine(t *testing.T) *Engine {
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

// statutory lists the obligation ids that do not come from the
// organisation's policy (which fires on every incident), sorted.
func statutory(d domain.Decision) []string {
	var out []string
	for _, o := range d.Obligations {
		if o.RulePack != "org-policy" {
			out = append(out, o.ObligationID)
		}
	}
	slices.Sort(out)
	return out
}

func exceptionKinds(d domain.Decision) []string {
	out := []string{}
	for _, e := range d.Exceptions {
		kind, _, _ := strings.Cut(e, ":")
		out = append(out, kind)
	}
	return out
}

func obligation(t *testing.T, d domain.Decision, id string) domain.Obligation {
	t.Helper()
	i := slices.IndexFunc(d.Obligations, func(o domain.Obligation) bool { return o.ObligationID == id })
	if i < 0 {
		t.Fatalf("no obligation %s; have %v", id, statutory(d))
	}
	return d.Obligations[i]
}

// TestScenarios is the engine's scenario suite: each case names the rule it
// exercises and pins the obligations, the personal-information decision, the
// exceptions and the exact deadlines that follow from the facts.
func TestScenarios(t *testing.T) {
	t.Parallel()
	e := engine(t)
	nameSSN := els(domain.ElementName, domain.ElementSSN)
	tests := []struct {
		name  string
		facts domain.Facts
		// wantStatutory is the exact set of non-policy obligation ids.
		wantStatutory  []string
		wantPI         bool
		wantExceptions []string
		// wantDeadlines pins exact deadlines; the zero time means "no fixed deadline".
		wantDeadlines map[string]time.Time
		// wantReasons and wantFindings are substrings that must appear.
		wantReasons  map[string]string
		wantFindings []string
	}{
		{
			name:           "rule=us-tx.attorney-general/case=249 residents below at-least-250",
			facts:          domain.Facts{DataElements: nameSSN, Affected: aff("US-TX", 249), DiscoveredAt: discovered},
			wantStatutory:  []string{"us-tx.individuals"},
			wantPI:         true,
			wantExceptions: []string{},
			wantDeadlines:  map[string]time.Time{"us-tx.individuals": discovered.AddDate(0, 0, 60)},
			wantFindings:   []string{"us-tx.attorney-general not required: 249 Texas residents, threshold >= 250 not met"},
		},
		{
			name:           "rule=us-tx.attorney-general/case=250 residents meet at-least-250",
			facts:          domain.Facts{DataElements: nameSSN, Affected: aff("US-TX", 250), DiscoveredAt: discovered},
			wantStatutory:  []string{"us-tx.attorney-general", "us-tx.individuals"},
			wantPI:         true,
			wantExceptions: []string{},
			wantDeadlines: map[string]time.Time{
				"us-tx.attorney-general": time.Date(2026, 3, 31, 10, 0, 0, 0, time.UTC),
				"us-tx.individuals":      time.Date(2026, 4, 30, 10, 0, 0, 0, time.UTC),
			},
			wantReasons: map[string]string{"us-tx.attorney-general": "250 Texas residents ≥ 250"},
		},
		{
			name:           "rule=us-tx.consumer-reporting-agencies/case=10,000 residents not more than 10,000",
			facts:          domain.Facts{DataElements: nameSSN, Affected: aff("US-TX", 10000), DiscoveredAt: discovered},
			wantStatutory:  []string{"us-tx.attorney-general", "us-tx.individuals"},
			wantPI:         true,
			wantExceptions: []string{},
			wantFindings:   []string{"us-tx.consumer-reporting-agencies not required: 10,000 Texas residents, threshold > 10,000 not met"},
		},
		{
			name:           "rule=us-tx.consumer-reporting-agencies/case=10,001 residents",
			facts:          domain.Facts{DataElements: nameSSN, Affected: aff("US-TX", 10001), DiscoveredAt: discovered},
			wantStatutory:  []string{"us-tx.attorney-general", "us-tx.consumer-reporting-agencies", "us-tx.individuals"},
			wantPI:         true,
			wantExceptions: []string{},
			wantDeadlines:  map[string]time.Time{"us-tx.consumer-reporting-agencies": {}},
			wantReasons:    map[string]string{"us-tx.consumer-reporting-agencies": "10,001 Texas residents > 10,000"},
		},
		{
			name:           "rule=us-ca.attorney-general/case=500 residents not more than 500",
			facts:          domain.Facts{DataElements: nameSSN, Affected: aff("US-CA", 500), DiscoveredAt: discovered},
			wantStatutory:  []string{"us-ca.individuals"},
			wantPI:         true,
			wantExceptions: []string{},
			wantDeadlines:  map[string]time.Time{"us-ca.individuals": time.Date(2026, 3, 31, 10, 0, 0, 0, time.UTC)},
			wantFindings:   []string{"us-ca.attorney-general not required: 500 California residents, threshold > 500 not met"},
		},
		{
			name:           "rule=us-ca.attorney-general/case=501 residents, 15 days after the 30-day consumer deadline",
			facts:          domain.Facts{DataElements: nameSSN, Affected: aff("US-CA", 501), DiscoveredAt: discovered},
			wantStatutory:  []string{"us-ca.attorney-general", "us-ca.individuals"},
			wantPI:         true,
			wantExceptions: []string{},
			wantDeadlines: map[string]time.Time{
				"us-ca.individuals":      time.Date(2026, 3, 31, 10, 0, 0, 0, time.UTC),
				"us-ca.attorney-general": time.Date(2026, 4, 15, 10, 0, 0, 0, time.UTC),
			},
			wantReasons: map[string]string{"us-ca.attorney-general": "501 California residents > 500"},
		},
		{
			name:           "rule=us-ca.individuals-pre-2026/case=discovered before SB 446 has no fixed deadline",
			facts:          domain.Facts{DataElements: nameSSN, Affected: aff("US-CA", 501), DiscoveredAt: time.Date(2025, 12, 15, 0, 0, 0, 0, time.UTC)},
			wantStatutory:  []string{"us-ca.attorney-general", "us-ca.individuals"},
			wantPI:         true,
			wantExceptions: []string{},
			wantDeadlines:  map[string]time.Time{"us-ca.individuals": {}, "us-ca.attorney-general": {}},
			wantReasons:    map[string]string{"us-ca.individuals": "unverified"},
		},
		{
			name: "rule=exception.encryption/case=key not compromised removes individual notice",
			facts: domain.Facts{
				DataElements: nameSSN, EncryptedElements: els(domain.ElementSSN),
				Affected: aff("US-TX", 300, "US-CA", 600), DiscoveredAt: discovered,
			},
			wantStatutory:  nil,
			wantPI:         true,
			wantExceptions: []string{"encryption"},
			wantFindings:   []string{"us-tx sensitive-personal-information: met by name + ssn, but an exception removes the duty; exception encryption: ssn encrypted"},
		},
		{
			name: "rule=exception.encryption/case=key compromised gives no safe harbour",
			facts: domain.Facts{
				DataElements: nameSSN, EncryptedElements: els(domain.ElementSSN), EncryptionKeyCompromised: true,
				Affected: aff("US-TX", 300, "US-CA", 600), DiscoveredAt: discovered,
			},
			wantStatutory:  []string{"us-ca.attorney-general", "us-ca.individuals", "us-tx.attorney-general", "us-tx.individuals"},
			wantPI:         true,
			wantExceptions: []string{},
			wantFindings:   []string{"encryption gives no safe harbour because the key was compromised"},
		},
		{
			name: "rule=exception.names-and-addresses-only/case=policy exception, not personal information under TX or CA",
			facts: domain.Facts{
				DataElements: els(domain.ElementName, domain.ElementHomeAddress),
				Affected:     aff("US-TX", 300, "US-CA", 600), DiscoveredAt: discovered,
			},
			wantStatutory:  nil,
			wantPI:         true,
			wantExceptions: []string{"names_and_addresses_only"},
			wantFindings:   []string{"us-ca personal-information: not met: no combination of the definition was involved"},
		},
		{
			name: "rule=exception.public-records/case=public government records are not personal information",
			facts: domain.Facts{
				DataElements: nameSSN, PublicRecordsOnly: true,
				Affected: aff("US-TX", 300), DiscoveredAt: discovered,
			},
			wantStatutory:  nil,
			wantPI:         false,
			wantExceptions: []string{"public_records"},
		},
		{
			name: "rule=exception.retrieved-before-misuse/case=policy exception, but Texas has no risk-of-harm exception",
			facts: domain.Facts{
				DataElements: nameSSN, RetrievedBeforeMisuse: true,
				Affected: aff("US-TX", 300), DiscoveredAt: discovered,
			},
			wantStatutory:  []string{"us-tx.attorney-general", "us-tx.individuals"},
			wantPI:         true,
			wantExceptions: []string{"retrieved_before_misuse"},
			wantFindings:   []string{"retrieved_before_misuse is not an exception under this definition"},
		},
		{
			name: "rule=org-policy.personal-information/case=SSN alone without a name is still personal information",
			facts: domain.Facts{
				DataElements: els(domain.ElementSSN),
				Affected:     aff("US-TX", 300, "FR", 2), DiscoveredAt: discovered,
			},
			wantStatutory:  []string{"gdpr.controller", "gdpr.data-subjects", "gdpr.supervisory-authority"},
			wantPI:         true,
			wantExceptions: []string{},
			wantFindings: []string{
				"org-policy personal-information (policy definition): met by ssn (without a name)",
				"us-tx sensitive-personal-information: not met",
			},
		},
		{
			name: "rule=gdpr.supervisory-authority/case=72 hours after awareness, exact",
			facts: domain.Facts{
				DataElements: els(domain.ElementEmailAddress),
				Affected:     aff("DE", 5, "NO", 1), DiscoveredAt: time.Date(2026, 2, 27, 23, 30, 15, 0, time.UTC),
			},
			wantStatutory:  []string{"gdpr.controller", "gdpr.supervisory-authority"},
			wantPI:         false,
			wantExceptions: []string{},
			wantDeadlines: map[string]time.Time{
				"gdpr.supervisory-authority": time.Date(2026, 3, 2, 23, 30, 15, 0, time.UTC),
				"gdpr.controller":            {},
			},
			wantReasons: map[string]string{"gdpr.supervisory-authority": "6 EEA and Swiss residents"},
		},
		{
			name: "rule=gdpr.data-subjects/case=encrypted with an uncompromised key is not high risk",
			facts: domain.Facts{
				DataElements: nameSSN, EncryptedElements: els(domain.ElementSSN),
				Affected: aff("DE-BY", 40), DiscoveredAt: discovered,
			},
			wantStatutory:  []string{"gdpr.controller", "gdpr.supervisory-authority"},
			wantPI:         true,
			wantExceptions: []string{"encryption"},
			wantFindings:   []string{"gdpr personal-data: met by name, ssn; encryption is not an exception under this definition"},
		},
		{
			name: "rule=us-ca.individuals/case=e-mail address with password counts without a name",
			facts: domain.Facts{
				DataElements: els(domain.ElementEmailAddress, domain.ElementPassword),
				Affected:     aff("US-CA", 10, "US-TX", 10), DiscoveredAt: discovered,
			},
			wantStatutory:  []string{"us-ca.individuals"},
			wantPI:         false,
			wantExceptions: []string{},
			wantReasons:    map[string]string{"us-ca.individuals": "personal-information met by email_address + password"},
		},
		{
			name: "rule=multi-state/case=TX and CA packs fire, DE has no pack and is flagged",
			facts: domain.Facts{
				DataElements: nameSSN,
				Affected:     aff("US-TX", 312, "US-CA", 501, "US-DE", 40), DiscoveredAt: discovered,
			},
			wantStatutory:  []string{"us-ca.attorney-general", "us-ca.individuals", "us-tx.attorney-general", "us-tx.individuals"},
			wantPI:         true,
			wantExceptions: []string{},
			wantReasons: map[string]string{
				"us-tx.attorney-general": "312 Texas residents ≥ 250",
				"us-ca.attorney-general": "501 California residents > 500",
			},
			wantFindings: []string{"US-DE: 40 affected residents, but no rule pack covers this jurisdiction"},
		},
		{
			name: "rule=org-policy/case=no personal information still gets the policy's obligations",
			facts: domain.Facts{
				DataElements: els(domain.ElementPhoneNumber), DiscoveredAt: discovered,
			},
			wantStatutory:  nil,
			wantPI:         false,
			wantExceptions: []string{},
			wantDeadlines: map[string]time.Time{
				"org-policy.executive-management": discovered,
				"org-policy.response-team":        discovered,
				"org-policy.insurer":              {},
				"org-policy.law-enforcement-fbi":  {},
				"org-policy.law-enforcement-sapd": {},
				"org-policy.hosting-provider":     {},
				"org-policy.customers":            {},
			},
			wantReasons: map[string]string{
				"org-policy.law-enforcement-fbi":  "San Antonio Field Office",
				"org-policy.law-enforcement-sapd": "San Antonio Police Department",
				"org-policy.hosting-provider":     "Rackspace",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := e.Assess(tt.facts, discovered.Add(time.Hour))
			if err != nil {
				t.Fatalf("Assess: %v", err)
			}
			if got := statutory(d); !slices.Equal(got, tt.wantStatutory) {
				t.Errorf("statutory obligations = %v, want %v", got, tt.wantStatutory)
			}
			if d.PersonalInformation != tt.wantPI {
				t.Errorf("personal_information = %v, want %v; findings: %q", d.PersonalInformation, tt.wantPI, d.Findings)
			}
			if got := exceptionKinds(d); !slices.Equal(got, tt.wantExceptions) {
				t.Errorf("exceptions = %v, want %v", got, tt.wantExceptions)
			}
			for id, want := range tt.wantDeadlines {
				if got := obligation(t, d, id).Deadline; !got.Equal(want) {
					t.Errorf("%s deadline = %v, want %v", id, got, want)
				}
			}
			for id, want := range tt.wantReasons {
				if got := obligation(t, d, id).Reason; !strings.Contains(got, want) {
					t.Errorf("%s reason = %q, want it to contain %q", id, got, want)
				}
			}
			for _, want := range tt.wantFindings {
				if !slices.ContainsFunc(d.Findings, func(f string) bool { return strings.Contains(f, want) }) {
					t.Errorf("findings %q lack %q", d.Findings, want)
				}
			}
			policy := len(d.Obligations) - len(statutory(d))
			if policy != 7 {
				t.Errorf("org-policy obligations = %d, want 7 on every assessment", policy)
			}
		})
	}
}

func TestEvaluate_obligationFields(t *testing.T) {
	t.Parallel()
	d, err := engine(t).Assess(domain.Facts{
		DataElements: els(domain.ElementName, domain.ElementSSN),
		Affected:     aff("US-TX", 312),
		DiscoveredAt: discovered,
	}, discovered)
	if err != nil {
		t.Fatalf("Assess: %v", err)
	}
	want := domain.Obligation{
		ObligationID:    "us-tx.attorney-general",
		RulePack:        "us-tx",
		RulePackVersion: "2026.1",
		RuleID:          "attorney-general",
		Jurisdiction:    "US-TX",
		Audience:        domain.AudienceRegulator,
		Deadline:        discovered.AddDate(0, 0, 30),
		DeadlineText:    "as soon as practicable and not later than the 30th day after the date on which the breach was determined (§ 521.053(i)); computed from discovered_at",
		Reason:          "notify the Texas Attorney General, using the electronic form on the AG's website; 312 Texas residents ≥ 250; sensitive-personal-information met by name + ssn",
		Citation:        "Tex. Bus. & Com. Code § 521.053(i), as amended by SB 768 (2023)",
		AffectedCount:   312,
	}
	if got := obligation(t, d, "us-tx.attorney-general"); got != want {
		t.Errorf("obligation =\n%+v\nwant\n%+v", got, want)
	}
	wantPacks := []domain.RulePackRef{{Pack: "gdpr", Version: "2026.1"}, {Pack: "org-policy", Version: "2026.1"}, {Pack: "us-ca", Version: "2026.1"}, {Pack: "us-tx", Version: "2026.1"}}
	if !slices.Equal(d.RulePacks, wantPacks) {
		t.Errorf("rule packs = %v, want %v", d.RulePacks, wantPacks)
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
	a, _ := e.Assess(f, discovered)
	b, _ := e.Assess(shuffled, discovered)
	if !slices.Equal(a.Obligations, b.Obligations) || !slices.Equal(a.Findings[1:], b.Findings[1:]) {
		t.Fatalf("same facts in another order gave another decision:\n%v\n%v", a.Obligations, b.Obligations)
	}
	for i := 1; i < len(a.Obligations); i++ {
		prev, cur := a.Obligations[i-1], a.Obligations[i]
		if !prev.Deadline.IsZero() && !cur.Deadline.IsZero() && prev.Deadline.After(cur.Deadline) {
			t.Errorf("obligation %s (%v) sorted before earlier %s (%v)", prev.ObligationID, prev.Deadline, cur.ObligationID, cur.Deadline)
		}
		if prev.Deadline.IsZero() && !cur.Deadline.IsZero() {
			t.Errorf("obligation without deadline %s sorted before %s", prev.ObligationID, cur.ObligationID)
		}
	}
}

func TestEngine_reproduceWithStoredVersions(t *testing.T) {
	t.Parallel()
	e := engine(t)
	f := domain.Facts{DataElements: els(domain.ElementName, domain.ElementSSN), Affected: aff("US-TX", 312), DiscoveredAt: discovered}
	first, err := e.Assess(f, discovered)
	if err != nil {
		t.Fatalf("Assess: %v", err)
	}
	again, err := e.Reproduce(f, first.RulePacks)
	if err != nil {
		t.Fatalf("Reproduce: %v", err)
	}
	if !slices.Equal(first.Obligations, again.Obligations) || !slices.Equal(first.Findings, again.Findings) {
		t.Errorf("reproduction differs:\n%v\n%v", first.Obligations, again.Obligations)
	}
	if _, err := e.Reproduce(f, []domain.RulePackRef{{Pack: "us-tx", Version: "1999.1"}}); err == nil {
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
