package domain_test

import (
	"slices"
	"testing"

	"github.com/breachline/breachline/services/intake/internal/domain"
)

func TestParseCorrelationKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []domain.CorrelationKey
		wantErr bool
	}{
		{in: "asset,type", want: []domain.CorrelationKey{domain.CorrelateAsset, domain.CorrelateType}},
		{in: " customer , asset ", want: []domain.CorrelationKey{domain.CorrelateCustomer, domain.CorrelateAsset}},
		{in: "", wantErr: true},
		{in: "asset,asset", wantErr: true},
		{in: "host", wantErr: true},
	}
	for _, tc := range tests {
		t.Run("case="+tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := domain.ParseCorrelationKeys(tc.in)
			if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
				t.Errorf("ParseCorrelationKeys(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestCorrelationKeyOf(t *testing.T) {
	t.Parallel()
	c := domain.Correlation{Keys: []domain.CorrelationKey{domain.CorrelateType, domain.CorrelateAsset}, Window: 1}
	reordered := domain.Correlation{Keys: []domain.CorrelationKey{domain.CorrelateAsset, domain.CorrelateType}, Window: 1}
	a := domain.Signal{Asset: "db-1", Type: domain.IncidentTypePersonalInformationBreach}
	b := a
	b.Asset = "db-2"
	switch {
	case c.KeyOf(a) == "" || c.KeyOf(a) != reordered.KeyOf(a):
		t.Errorf("KeyOf(a) = %q, want a non-empty key independent of the keys' order", c.KeyOf(a))
	case c.KeyOf(a) == c.KeyOf(b):
		t.Error("different assets share a key")
	case (domain.Correlation{Keys: c.Keys}).KeyOf(a) != "":
		t.Error("a zero window gives a key")
	}
}
