package domain_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/services/intake/internal/domain"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func validSignal() domain.Signal {
	return domain.Signal{
		Source:        "splunk-prod",
		SourceEventID: "evt-1",
		Title:         "Bulk export from HR database",
		Severity:      domain.SeverityHigh,
		Type:          domain.IncidentTypePersonalInformationBreach,
		ObservedAt:    now.Add(-time.Hour),
		CustomerIDs:   []string{"acme", "globex-eu"},
		Exposure: &domain.BreachFacts{
			DataElements:      []domain.DataElement{domain.DataElementName, domain.DataElementSSN},
			EncryptedElements: []domain.DataElement{domain.DataElementSSN},
			Affected:          []domain.JurisdictionCount{{Jurisdiction: "US-TX", Count: 10}, {Jurisdiction: "DE", Count: 1}},
		},
		Raw: map[string]any{"rule": "exfil-1"},
	}
}

func fields(err error) []string {
	ie, ok := apperr.AsInvalid(err)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(ie.Violations))
	for _, v := range ie.Violations {
		out = append(out, v.Field)
	}
	return out
}

func TestValidateSignal(t *testing.T) {
	t.Parallel()

	if err := domain.ValidateSignal(validSignal(), now); err != nil {
		t.Fatalf("valid signal: %v", err)
	}

	tooMany := make([]string, domain.MaxCustomerIDs+1)
	for i := range tooMany {
		tooMany[i] = "cust-" + strings.Repeat("a", i%5+1)
	}

	tests := []struct {
		name   string
		change func(*domain.Signal)
		want   []string
	}{
		{"empty", func(s *domain.Signal) { *s = domain.Signal{} },
			[]string{"signal.source", "signal.source_event_id", "signal.title", "signal.observed_at"}},
		{"source format", func(s *domain.Signal) { s.Source = "Splunk Prod" }, []string{"signal.source"}},
		{"source too long", func(s *domain.Signal) { s.Source = strings.Repeat("a", 65) }, []string{"signal.source"}},
		{"event id too long", func(s *domain.Signal) { s.SourceEventID = strings.Repeat("é", 257) }, []string{"signal.source_event_id"}},
		{"event id at limit", func(s *domain.Signal) { s.SourceEventID = strings.Repeat("é", 256) }, nil},
		{"blank title", func(s *domain.Signal) { s.Title = "   " }, []string{"signal.title"}},
		{"title too long", func(s *domain.Signal) { s.Title = strings.Repeat("x", 513) }, []string{"signal.title"}},
		{"description too long", func(s *domain.Signal) { s.Description = strings.Repeat("x", 16<<10+1) }, []string{"signal.description"}},
		{"unknown enums", func(s *domain.Signal) { s.Severity = 6; s.Type = -1 }, []string{"signal.severity", "signal.type"}},
		{"observed far future", func(s *domain.Signal) { s.ObservedAt = now.Add(25 * time.Hour) }, []string{"signal.observed_at"}},
		{"observed slight skew", func(s *domain.Signal) { s.ObservedAt = now.Add(23 * time.Hour) }, nil},
		{"observed before epoch", func(s *domain.Signal) { s.ObservedAt = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) }, []string{"signal.observed_at"}},
		{"asset too long", func(s *domain.Signal) { s.Asset = strings.Repeat("x", 257) }, []string{"signal.asset"}},
		{"customer ids", func(s *domain.Signal) { s.CustomerIDs = []string{"acme", "Acme", "ab", "acme"} },
			[]string{"signal.customer_ids[1]", "signal.customer_ids[2]", "signal.customer_ids[3]"}},
		{"too many customers", func(s *domain.Signal) { s.CustomerIDs = tooMany }, []string{"signal.customer_ids"}},
		{"data elements", func(s *domain.Signal) {
			s.Exposure.DataElements = []domain.DataElement{0, domain.DataElementName, 19, domain.DataElementName}
			s.Exposure.EncryptedElements = []domain.DataElement{domain.DataElementSSN, -3}
		}, []string{
			"signal.exposure.data_elements[0]", "signal.exposure.data_elements[2]", "signal.exposure.data_elements[3]",
			"signal.exposure.encrypted_elements[0]", "signal.exposure.encrypted_elements[1]",
		}},
		{"affected", func(s *domain.Signal) {
			s.Exposure.Affected = []domain.JurisdictionCount{
				{Jurisdiction: "US-TX", Count: 1},
				{Jurisdiction: "us-tx", Count: 0},
				{Jurisdiction: "US-TX", Count: -2},
				{Jurisdiction: "USA", Count: 4},
				{Jurisdiction: "GB-LND", Count: 4},
			}
		}, []string{
			"signal.exposure.affected[1].jurisdiction", "signal.exposure.affected[1].count",
			"signal.exposure.affected[2].jurisdiction", "signal.exposure.affected[2].count",
			"signal.exposure.affected[3].jurisdiction",
		}},
		{"discovered far future", func(s *domain.Signal) { s.Exposure.DiscoveredAt = now.Add(48 * time.Hour) },
			[]string{"signal.exposure.discovered_at"}},
		{"raw too large", func(s *domain.Signal) { s.Raw = map[string]any{"x": strings.Repeat("a", 256<<10)} }, []string{"signal.raw"}},
		{"raw not json", func(s *domain.Signal) { s.Raw = map[string]any{"x": math.NaN()} }, []string{"signal.raw"}},
	}
	for _, tc := range tests {
		t.Run("case="+tc.name, func(t *testing.T) {
			t.Parallel()
			s := validSignal()
			tc.change(&s)
			err := domain.ValidateSignal(s, now)
			if got := fields(err); !slices.Equal(got, tc.want) {
				t.Errorf("violations = %v (%v), want %v", got, err, tc.want)
			}
		})
	}
}
