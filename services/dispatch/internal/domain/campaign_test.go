package domain_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

func TestProposedChannel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		audience domain.Audience
		want     domain.Channel
	}{
		{domain.AudienceIndividuals, domain.ChannelEmail},
		{domain.AudienceRegulator, domain.ChannelRegulatorPacket},
		{domain.AudienceSupervisoryAuthority, domain.ChannelRegulatorPacket},
		{domain.AudienceController, domain.ChannelEmail},
		{domain.AudienceConsumerReportingAgencies, domain.ChannelLetter},
		{domain.AudienceLawEnforcement, domain.ChannelEmail},
		{domain.AudienceInsurer, domain.ChannelEmail},
		{domain.AudienceHostingProvider, domain.ChannelEmail},
		{domain.AudienceMedia, domain.ChannelMediaRelease},
		{domain.AudienceExecutiveManagement, domain.ChannelEmail},
		{domain.AudienceResponseTeam, domain.ChannelEmail},
		{domain.AudienceUnspecified, domain.ChannelUnspecified},
		{domain.Audience(99), domain.ChannelUnspecified},
	}
	for _, tt := range tests {
		t.Run("audience="+tt.audience.String(), func(t *testing.T) {
			t.Parallel()
			if got := domain.ProposedChannel(tt.audience); got != tt.want {
				t.Errorf("ProposedChannel(%s) = %s, want %s", tt.audience, got, tt.want)
			}
		})
	}
}

func TestEnumCodesRoundTrip(t *testing.T) {
	t.Parallel()
	for a := domain.AudienceIndividuals; a <= domain.AudienceResponseTeam; a++ {
		if got, err := domain.ParseAudience(a.String()); err != nil || got != a {
			t.Errorf("ParseAudience(%q) = %v, %v; want %v", a.String(), got, err, a)
		}
	}
	for c := domain.ChannelEmail; c <= domain.ChannelRegulatorPacket; c++ {
		if got, err := domain.ParseChannel(c.String()); err != nil || got != c {
			t.Errorf("ParseChannel(%q) = %v, %v; want %v", c.String(), got, err, c)
		}
	}
	if got, err := domain.ParseState(domain.StateDraft.String()); err != nil || got != domain.StateDraft {
		t.Errorf("ParseState(draft) = %v, %v", got, err)
	}
	if _, err := domain.ParseAudience("audience(99)"); err == nil {
		t.Error("ParseAudience accepted an unknown code")
	}
}

func TestDraftRequestValidate(t *testing.T) {
	t.Parallel()

	t.Run("case=at_limits", func(t *testing.T) {
		t.Parallel()
		// Limits count characters, not bytes: 128 three-byte runes fit.
		id := strings.Repeat("€", domain.MaxIDLen)
		r := domain.DraftRequest{IncidentID: id, AssessmentID: id}
		for i := range domain.MaxObligations {
			r.Obligations = append(r.Obligations, domain.Obligation{
				ID:           fmt.Sprintf("o%d", i),
				Jurisdiction: strings.Repeat("X", domain.MaxJurisdictionLen),
				Audience:     domain.AudienceResponseTeam,
				Reason:       strings.Repeat("é", domain.MaxReasonLen),
			})
		}
		if v := r.Validate(); len(v) != 0 {
			t.Errorf("Validate() = %v, want none", v)
		}
	})

	t.Run("case=duplicate_reported_once_per_repeat", func(t *testing.T) {
		t.Parallel()
		o := domain.Obligation{ID: "a", Jurisdiction: "US", Audience: domain.AudienceIndividuals}
		r := domain.DraftRequest{IncidentID: "inc", AssessmentID: "asm", Obligations: []domain.Obligation{o, o, o}}
		v := r.Validate()
		if len(v) != 2 || v[0].Field != "obligations[1].obligation_id" || v[1].Field != "obligations[2].obligation_id" {
			t.Errorf("Validate() = %v, want duplicates at obligations[1] and obligations[2]", v)
		}
		if !strings.Contains(v[1].Description, "obligations[0]") {
			t.Errorf("description %q should name the first occurrence", v[1].Description)
		}
	})
}
