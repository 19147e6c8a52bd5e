package domain_test

import (
	"testing"
	"time"

	"github.com/breachline/breachline/services/registry/internal/domain"
)

func TestDueTime(t *testing.T) {
	t.Parallel()
	at := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 15, 0, 0, time.UTC) }
	cases := []struct {
		name          string
		receive, want time.Time
	}{
		{"same_day_next_month", at(2026, 1, 15, 9), at(2026, 2, 15, 9)},
		{"jan31_to_feb28", at(2026, 1, 31, 9), at(2026, 2, 28, 9)},
		{"jan31_to_feb29_leap", at(2028, 1, 31, 9), at(2028, 2, 29, 9)},
		{"jan30_to_feb28", at(2026, 1, 30, 9), at(2026, 2, 28, 9)},
		{"jan29_leap", at(2028, 1, 29, 9), at(2028, 2, 29, 9)},
		{"mar31_to_apr30", at(2026, 3, 31, 9), at(2026, 4, 30, 9)},
		{"aug31_to_sep30", at(2026, 8, 31, 9), at(2026, 9, 30, 9)},
		{"dec31_to_jan31", at(2026, 12, 31, 23), at(2027, 1, 31, 23)},
		{"feb28_to_mar28", at(2026, 2, 28, 9), at(2026, 3, 28, 9)},
		{"non_utc_input", time.Date(2026, 1, 31, 23, 30, 0, 0, time.FixedZone("CET", 3600)), time.Date(2026, 2, 28, 22, 30, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run("case="+tc.name, func(t *testing.T) {
			t.Parallel()
			if got := domain.DueTime(tc.receive); !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Fatalf("DueTime(%v) = %v, want %v (UTC)", tc.receive, got, tc.want)
			}
		})
	}
}

func TestInEUEEACH(t *testing.T) {
	t.Parallel()
	for country, want := range map[string]bool{
		"DE": true, "GR": true, "IS": true, "LI": true, "NO": true, "CH": true, "RE": true,
		"GB": false, "US": false, "EL": false, "de": false, "SJ": false,
	} {
		if got := domain.InEUEEACH(country); got != want {
			t.Errorf("InEUEEACH(%q) = %v, want %v", country, got, want)
		}
	}
}
