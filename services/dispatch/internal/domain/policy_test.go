package domain_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

func TestQuorumMissing(t *testing.T) {
	t.Parallel()
	p, err := domain.LoadPolicy()
	if err != nil {
		t.Fatal(err)
	}
	a := func(who, role string) domain.Approval { return domain.Approval{Approver: who, Role: role} }
	tests := []struct {
		name      string
		audience  domain.Audience
		approvals []domain.Approval
		want      []string
	}{
		{"media_needs_all", domain.AudienceMedia, nil, []string{"legal", "executive_director", "one of officer"}},
		{"customer_quorum_met", domain.AudienceController, []domain.Approval{a("l", "legal"), a("e", "executive_director"), a("o", "officer")}, nil},
		{"one_person_counts_once", domain.AudienceIndividuals, []domain.Approval{a("l", "legal"), a("l", "executive_director"), a("l", "officer")}, []string{"executive_director", "one of officer"}},
		{"regulator_needs_legal", domain.AudienceRegulator, []domain.Approval{a("o", "officer")}, []string{"legal"}},
		{"regulator_with_legal", domain.AudienceRegulator, []domain.Approval{a("l", "legal")}, nil},
	}
	for _, tt := range tests {
		t.Run("case="+tt.name, func(t *testing.T) {
			t.Parallel()
			if got := p.QuorumFor(tt.audience).Missing(tt.approvals); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Missing = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTemplates(t *testing.T) {
	t.Parallel()
	ts, err := domain.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("case=california_headings_are_data", func(t *testing.T) {
		t.Parallel()
		tpl, ok := ts.Resolve("", domain.AudienceIndividuals, "US-CA")
		if !ok || tpl.ID() != "individuals.US-CA.v1" {
			t.Fatalf("Resolve(individuals, US-CA) = %v", tpl)
		}
		_, body, err := tpl.Render(domain.RenderData{Recipient: domain.RecipientData{Name: "Ana"}, Content: map[string]string{"what_happened": "A laptop was stolen."}})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"What Happened", "What Information Was Involved", "What We Are Doing", "What You Can Do", "For More Information", "A laptop was stolen.", "1-877-IDTHEFT", "12 to 24 months"} {
			if !strings.Contains(body, h) {
				t.Errorf("body lacks %q", h)
			}
		}
	})
	t.Run("case=fallbacks", func(t *testing.T) {
		t.Parallel()
		if tpl, _ := ts.Resolve("", domain.AudienceIndividuals, "US-TX"); tpl.ID() != "individuals.default.v1" {
			t.Errorf("individuals US-TX resolved %s", tpl.ID())
		}
		if tpl, _ := ts.Resolve("", domain.AudienceInsurer, "ORG"); tpl.ID() != "default.default.v1" {
			t.Errorf("insurer resolved %s", tpl.ID())
		}
	})
	t.Run("case=missing_content_is_reported", func(t *testing.T) {
		t.Parallel()
		tpl, _ := ts.Resolve("", domain.AudienceIndividuals, "US-CA")
		if got := tpl.MissingContent(map[string]string{"what_happened": "x"}); !reflect.DeepEqual(got, []string{"information_involved", "what_we_are_doing"}) {
			t.Errorf("MissingContent = %v", got)
		}
	})
}
