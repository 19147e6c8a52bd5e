package domain_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/breachline/breachline/services/registry/internal/domain"
)

func TestMonthsAfter(t *testing.T) {
	t.Parallel()
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 9, 30, 0, 0, time.UTC) }
	cases := []struct {
		from time.Time
		n    int
		want time.Time
	}{
		{d(2026, 1, 31), 1, d(2026, 2, 28)},
		{d(2026, 1, 31), 2, d(2026, 3, 31)},
		{d(2026, 1, 31), 3, d(2026, 4, 30)},
		{d(2028, 1, 31), 1, d(2028, 2, 29)},
		{d(2026, 11, 30), 3, d(2027, 2, 28)},
		{d(2026, 12, 31), 1, d(2027, 1, 31)},
	}
	for _, tc := range cases {
		t.Run("case="+tc.from.Format("2006-01-02")+"+"+strconv.Itoa(tc.n), func(t *testing.T) {
			t.Parallel()
			if got := domain.MonthsAfter(tc.from, tc.n); !got.Equal(tc.want) {
				t.Fatalf("MonthsAfter(%v, %d) = %v, want %v", tc.from, tc.n, got, tc.want)
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{`{"b": 1, "a": {"d": [1, 2], "c": "x<y"}}`, `{"a":{"c":"x<y","d":[1,2]},"b":1}`},
		{`{"n": 12345678901234567890}`, `{"n":12345678901234567890}`},
		{` "é" `, `"é"`},
	}
	for _, tc := range cases {
		got, err := domain.Canonical([]byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("Canonical(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if _, err := domain.Canonical([]byte(`{} {}`)); err == nil {
		t.Error("trailing value accepted")
	}
}
