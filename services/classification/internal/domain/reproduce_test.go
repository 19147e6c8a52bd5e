package domain_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/breachline/breachline/services/classification/internal/domain"
)

func TestCompare_namesEachDifferingField(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	stored := domain.Decision{
		PersonalInformation: true,
		Obligations: []domain.Obligation{
			{ObligationID: "us-tx.attorney-general", Notify: true, Deadline: at.AddDate(0, 0, 30), Reason: "300 Texas residents ≥ 250"},
			{ObligationID: "us-tx.individuals", Notify: true, Deadline: at.AddDate(0, 0, 60)},
		},
		RulePacks: []domain.RulePackRef{{Pack: "us-tx", Version: "2026.1"}},
	}
	again := domain.Decision{
		PersonalInformation: true,
		Obligations: []domain.Obligation{
			{ObligationID: "us-tx.attorney-general", Reason: "not required: 300 Texas residents, threshold ≥ 500 not met"},
			// the same instant in another zone is the same deadline
			{ObligationID: "us-tx.individuals", Notify: true, Deadline: at.AddDate(0, 0, 60).In(time.FixedZone("CST", -6*3600))},
			{ObligationID: "us-tx.consumer-reporting-agencies"},
		},
		RulePacks: []domain.RulePackRef{{Pack: "us-tx", Version: "2026.2"}},
	}
	var got []string
	for _, d := range domain.Compare(stored, again) {
		got = append(got, d.ObligationID+" "+d.Field+": "+d.Stored+" → "+d.Reproduced)
	}
	want := []string{
		` rule_packs: ["us-tx@2026.1"] → ["us-tx@2026.2"]`,
		"us-tx.attorney-general notify: true → false",
		"us-tx.attorney-general reason: 300 Texas residents ≥ 250 → not required: 300 Texas residents, threshold ≥ 500 not met",
		"us-tx.attorney-general deadline: 2026-03-31T10:00:00Z → unset",
		"us-tx.consumer-reporting-agencies obligation: absent → present",
	}
	if !slices.Equal(got, want) {
		t.Errorf("differences =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
