package server

import (
	"strings"
	"testing"

	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// TestEnumsMatchProto guards the casts in convert.go: every proto enum value
// must have the domain value of the same number and name.
func TestEnumsMatchProto(t *testing.T) {
	t.Parallel()
	for n, name := range classificationv1.Audience_name {
		if n == 0 {
			continue
		}
		want := strings.ToLower(strings.TrimPrefix(name, "AUDIENCE_"))
		if got := domain.Audience(n).String(); got != want {
			t.Errorf("Audience %d: domain %q, proto %s", n, got, name)
		}
	}
	for n, name := range dispatchv1.Channel_name {
		if n == 0 {
			continue
		}
		want := strings.ToLower(strings.TrimPrefix(name, "CHANNEL_"))
		if got := domain.Channel(n).String(); got != want {
			t.Errorf("Channel %d: domain %q, proto %s", n, got, name)
		}
	}
	for n, name := range dispatchv1.CampaignState_name {
		if n == 0 {
			continue
		}
		want := strings.ToLower(strings.TrimPrefix(name, "CAMPAIGN_STATE_"))
		if got := domain.State(n).String(); got != want {
			t.Errorf("CampaignState %d: domain %q, proto %s", n, got, name)
		}
	}
}
