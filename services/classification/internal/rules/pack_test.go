package rules

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/breachline/breachline/services/classification/internal/domain"
)

// validPack is a minimal pack every validation case breaks in one way.
const validPack = `
id: test
version: "1"
title: Test pack
jurisdiction: US-TX
effective_date: "2024-01-01"
sources:
  - url: https://example.org/statute
verified: true
definitions:
  - id: pi
    citation: Test Code § 1
    with_name: [ssn]
rules:
  - id: individuals
    title: Notify individuals
    audience: individuals
    citation: Test Code § 2
    scope:
      jurisdictions: [US-TX]
    requires: pi
    deadline:
      within: 60d
      text: within 60 days
`

func TestParsePack_rejectsInvalidPacks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(string) string
		wantErr string
	}{
		{"case=unknown field", func(s string) string { return s + "colour: blue\n" }, `unknown field "colour"`},
		{"case=unknown rule field", func(s string) string {
			return strings.Replace(s, "    title: Notify individuals", "    title: Notify individuals\n    deadlines: {}", 1)
		}, `unknown field "deadlines"`},
		{"case=unknown audience", func(s string) string {
			return strings.Replace(s, "audience: individuals", "audience: attorney_general", 1)
		}, `rules[0].audience: unknown audience "attorney_general"`},
		{"case=unknown element", func(s string) string { return strings.Replace(s, "with_name: [ssn]", "with_name: [social]", 1) }, `definitions[0].with_name[0]: unknown data element "social"`},
		{"case=missing citation", func(s string) string { return strings.Replace(s, "    citation: Test Code § 2\n", "", 1) }, "rules[0].citation: is required"},
		{"case=missing effective date", func(s string) string { return strings.Replace(s, `effective_date: "2024-01-01"`, "", 1) }, "effective_date: is required"},
		{"case=bad effective date", func(s string) string { return strings.Replace(s, `"2024-01-01"`, `"01/01/2024"`, 1) }, "effective_date: must be a date YYYY-MM-DD"},
		{"case=bad rule effective date", func(s string) string {
			return strings.Replace(s, "    citation: Test Code § 2\n", "    citation: Test Code § 2\n    effective_date: \"2024-13-01\"\n", 1)
		}, `test.yaml: rules[0].effective_date: must be a date YYYY-MM-DD, not "2024-13-01"`},
		{"case=rule effective after its pack", func(s string) string {
			return strings.Replace(s, "    citation: Test Code § 2\n", "    citation: Test Code § 2\n    effective_date: \"2025-01-01\"\n", 1)
		}, "rules[0].effective_date: 2025-01-01 is after the pack's effective_date 2024-01-01"},
		{"case=bad rule source", func(s string) string {
			return strings.Replace(s, "    citation: Test Code § 2\n", "    citation: Test Code § 2\n    sources: [{url: \"ftp://example.org/x\"}]\n", 1)
		}, `rules[0].sources[0].url: must be an http(s) URL, not "ftp://example.org/x"`},
		{"case=no sources", func(s string) string {
			return strings.Replace(s, "sources:\n  - url: https://example.org/statute\n", "", 1)
		}, "sources: at least one source is required"},
		{"case=unverified without notes", func(s string) string { return strings.Replace(s, "verified: true", "verified: false", 1) }, "notes: are required when verified is false"},
		{"case=verified missing", func(s string) string { return strings.Replace(s, "verified: true\n", "", 1) }, "verified: is required"},
		{"case=unknown exception", func(s string) string {
			return strings.Replace(s, "with_name: [ssn]", "with_name: [ssn]\n    exceptions: [harmless]", 1)
		}, `unknown exception "harmless"`},
		{"case=unknown definition", func(s string) string { return strings.Replace(s, "requires: pi", "requires: phi", 1) }, `rules[0].requires: names no definition of this pack: "phi"`},
		{"case=bad threshold operator", func(s string) string {
			return strings.Replace(s, "    requires: pi", "    requires: pi\n    thresholds: [{op: \"=>\", value: 250}]", 1)
		}, "rules[0].thresholds[0].op: must be one of"},
		{"case=bad clock", func(s string) string { return strings.Replace(s, "within: 60d", "within: 2 months", 1) }, "rules[0].deadline.within: must be 0, <n>h, <n>d, <n>bd, <n>m or contract"},
		{"case=missing deadline text", func(s string) string { return strings.Replace(s, "      text: within 60 days\n", "", 1) }, "rules[0].deadline.text: is required"},
		{"case=bad scope code", func(s string) string { return strings.Replace(s, "[US-TX]", "[Texas]", 1) }, `rules[0].scope.jurisdictions[0]: must be an ISO 3166 code or "*", not "Texas"`},
		{"case=deadline refers to itself", func(s string) string {
			return strings.Replace(s, "      within: 60d", "      from: rule:individuals\n      within: 60d", 1)
		}, "deadline references form a cycle"},
		{"case=same obligation twice in force", func(s string) string {
			return s + `  - id: individuals-again
    obligation: individuals
    title: Notify individuals
    audience: individuals
    citation: Test Code § 3
    scope: {jurisdictions: [US-TX]}
    deadline: {text: promptly}
`
		}, `obligation "individuals" is also produced by rule "individuals"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePack("test.yaml", []byte(tt.edit(validPack)))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParsePack error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestPack_ruleDateAndSourcesFallBackToThePack(t *testing.T) {
	t.Parallel()
	own := strings.Replace(validPack+`  - id: regulator
    title: Notify the regulator
    audience: regulator
    citation: Test Code § 3
    effective_date: "2020-07-01"
    source_date: "2023-05-01"
    sources:
      - document: amendment.txt
    scope: {jurisdictions: [US-TX]}
    deadline: {text: promptly}
`, "verified: true", "verified: true\nsource_date: \"2024-02-01\"", 1)
	p, err := ParsePack("test.yaml", []byte(own))
	if err != nil {
		t.Fatal(err)
	}
	inherits, overrides := &p.Rules[0], &p.Rules[1]
	if got := p.RuleEffectiveDate(inherits); got != "2024-01-01" {
		t.Errorf("inherited effective date = %q, want the pack's 2024-01-01", got)
	}
	if got := p.RuleSources(inherits); len(got) != 1 || got[0].URL != "https://example.org/statute" || p.RuleSourceDate(inherits) != "2024-02-01" {
		t.Errorf("inherited sources = %+v (checked %q), want the pack's", got, p.RuleSourceDate(inherits))
	}
	if got := p.RuleEffectiveDate(overrides); got != "2020-07-01" {
		t.Errorf("own effective date = %q, want 2020-07-01", got)
	}
	if got := p.RuleSources(overrides); len(got) != 1 || got[0].Document != "amendment.txt" || p.RuleSourceDate(overrides) != "2023-05-01" {
		t.Errorf("own sources = %+v (checked %q), want amendment.txt checked 2023-05-01", got, p.RuleSourceDate(overrides))
	}
}

func TestParsePack_reportsEveryProblem(t *testing.T) {
	t.Parallel()
	bad := strings.NewReplacer("audience: individuals", "audience: everyone", "    citation: Test Code § 2\n", "").Replace(validPack)
	_, err := ParsePack("test.yaml", []byte(bad))
	if err == nil || !strings.Contains(err.Error(), "unknown audience") || !strings.Contains(err.Error(), "citation: is required") {
		t.Fatalf("ParsePack error = %v, want both the audience and the citation reported", err)
	}
}

func TestLibrary_currentPicksNewestEffectiveVersion(t *testing.T) {
	t.Parallel()
	v2 := strings.NewReplacer(`version: "1"`, `version: "2"`, `"2024-01-01"`, `"2025-06-01"`, "within: 60d", "within: 30d").Replace(validPack)
	base := strings.NewReplacer("id: test", "id: base", "jurisdiction: US-TX", "jurisdiction: ORG", "definitions:", "baseline_definition: pi\ndefinitions:").Replace(validPack)
	lib, err := Load(fstest.MapFS{
		"test.1.yaml": {Data: []byte(validPack)},
		"test.2.yaml": {Data: []byte(v2)},
		"base.yaml":   {Data: []byte(base)},
		"README.md":   {Data: []byte("not a pack")},
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	tests := []struct {
		name string
		now  time.Time
		want []domain.RulePackRef
	}{
		{"case=before any version", time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), nil},
		{"case=first version", time.Date(2025, 5, 31, 0, 0, 0, 0, time.UTC), []domain.RulePackRef{{Pack: "base", Version: "1"}, {Pack: "test", Version: "1"}}},
		{"case=second version", time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), []domain.RulePackRef{{Pack: "base", Version: "1"}, {Pack: "test", Version: "2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []domain.RulePackRef
			for _, p := range lib.Current(tt.now) {
				got = append(got, p.Ref())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Current(%v) = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
}

func TestNewLibrary_requiresOneBaseline(t *testing.T) {
	t.Parallel()
	p, err := ParsePack("test.yaml", []byte(validPack))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewLibrary(p); err == nil || !strings.Contains(err.Error(), "exactly one pack must set baseline_definition") {
		t.Fatalf("NewLibrary without a baseline = %v, want an error", err)
	}
}

func TestClock_add(t *testing.T) {
	t.Parallel()
	friday := time.Date(2026, 3, 6, 17, 0, 0, 0, time.UTC)
	tests := []struct {
		within string
		want   time.Time
	}{
		{"0", friday},
		{"72h", time.Date(2026, 3, 9, 17, 0, 0, 0, time.UTC)},
		{"30d", time.Date(2026, 4, 5, 17, 0, 0, 0, time.UTC)},
		{"4bd", time.Date(2026, 3, 12, 17, 0, 0, 0, time.UTC)},
		{"1bd", time.Date(2026, 3, 9, 17, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run("within="+tt.within, func(t *testing.T) {
			t.Parallel()
			c, err := parseWithin(tt.within)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.add(friday, nil); !got.Equal(tt.want) {
				t.Errorf("add(%v) = %v, want %v", friday, got, tt.want)
			}
		})
	}
}
