package rules

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/breachline/breachline/services/classification/internal/domain"
	"github.com/breachline/breachline/services/classification/internal/rules/packgen"
)

// TestPacks_everyRuleIsCitedDatedAndSourced is the lawyer's checklist: every
// pack has an effective date and sources; every rule of every pack version
// carries a citation, an effective date and at least one source (its own or
// its pack's, as GetRulePack shows them); and all 54 US jurisdictions have
// an individual-notice rule.
func TestPacks_everyRuleIsCitedDatedAndSourced(t *testing.T) {
	t.Parallel()
	lib, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, p := range lib.All() {
		if p.EffectiveDate == "" || len(p.Sources) == 0 || p.Verified == nil {
			t.Errorf("pack %s: effective_date %q, %d sources, verified %v", p, p.EffectiveDate, len(p.Sources), p.Verified)
		}
		if !*p.Verified && len(p.Notes) == 0 {
			t.Errorf("pack %s is unverified without notes", p)
		}
		for i := range p.Rules {
			r := &p.Rules[i]
			if strings.TrimSpace(r.Citation) == "" {
				t.Errorf("pack %s rule %s has no citation", p, r.ID)
			}
			if d := p.RuleEffectiveDate(r); d == "" {
				t.Errorf("pack %s rule %s has no effective date", p, r.ID)
			} else if _, err := time.Parse(time.DateOnly, d); err != nil {
				t.Errorf("pack %s rule %s effective date %q: %v", p, r.ID, d, err)
			}
			srcs := p.RuleSources(r)
			if len(srcs) == 0 {
				t.Errorf("pack %s rule %s has no source", p, r.ID)
			}
			for _, s := range srcs {
				if s.URL == "" && s.Document == "" {
					t.Errorf("pack %s rule %s has an empty source", p, r.ID)
				}
			}
			if r.Audience == domain.AudienceIndividuals && strings.HasPrefix(p.Jurisdiction, "US-") {
				covered[p.Jurisdiction] = true
			}
		}
	}
	for _, code := range packgen.US {
		if !covered["US-"+code] {
			t.Errorf("no individual-notice rule for US-%s", code)
		}
	}
	if len(packgen.US) != 54 {
		t.Errorf("packgen.US has %d codes, want 54", len(packgen.US))
	}
}

func TestCalendar_usFederalHolidays2026(t *testing.T) {
	t.Parallel()
	cals, err := loadCalendars()
	if err != nil {
		t.Fatal(err)
	}
	c := cals["us-federal"]
	var got []string
	for d := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC); d.Year() == 2026; d = d.AddDate(0, 0, 1) {
		if c.Holiday(d) != "" {
			got = append(got, d.Format("01-02"))
		}
	}
	// OPM's 2026 list: Independence Day (Saturday) is observed Friday 3 July.
	want := []string{"01-01", "01-19", "02-16", "05-25", "06-19", "07-03", "09-07", "10-12", "11-11", "11-26", "12-25"}
	if !slices.Equal(got, want) {
		t.Errorf("2026 holidays = %v, want %v", got, want)
	}
	if h := c.Holiday(time.Date(2021, 12, 31, 12, 0, 0, 0, time.UTC)); h != "New Year's Day" {
		t.Errorf("2021-12-31 = %q, want New Year's Day 2022 observed on the Friday before", h)
	}
}

const extraPack = `id: test-extra
version: "1"
title: A pack from RULE_PACKS_DIR
jurisdiction: US-TX
effective_date: "2020-01-01"
sources: [{url: "https://example.org/law"}]
verified: true
rules:
  - id: note
    title: Tell the team
    audience: response_team
    citation: Test § 1
    scope: {jurisdictions: ["*"], always: true}
    deadline: {within: "0", text: immediately}
`

func TestReloader_badPackKeepsTheActiveSet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("test-extra.1.yaml", extraPack)
	e := engine(t)
	r := NewReloader(e, dir, discardLogger())
	if err := r.Load(); err != nil {
		t.Fatalf("Load: %v", err)
	}
	has := func(id string) bool { return e.Library().Get(id, "", time.Now()) != nil }
	if !has("test-extra") || !has("us-tx") {
		t.Fatal("directory pack or embedded packs missing after Load")
	}
	if p := e.Library().Get("test-extra", "1", time.Now()); p.Origin() != OriginDirectory {
		t.Errorf("origin = %q, want %q", p.Origin(), OriginDirectory)
	}

	write("test-extra.1.yaml", strings.Replace(extraPack, "citation: Test § 1", "citation: \"\"", 1))
	reloaded, err := r.Step(t.Context())
	if err != nil || reloaded {
		t.Fatalf("Step with a bad pack = %v, %v; want rejected", reloaded, err)
	}
	if p := e.Library().Get("test-extra", "1", time.Now()); p == nil || p.Rules[0].Citation != "Test § 1" {
		t.Fatal("a rejected reload changed the active set")
	}

	write("test-extra.1.yaml", strings.Replace(extraPack, "title: Tell the team", "title: Tell the whole team", 1))
	if reloaded, err := r.Step(t.Context()); err != nil || !reloaded {
		t.Fatalf("Step with a fixed pack = %v, %v; want reloaded", reloaded, err)
	}
	if got := e.Library().Get("test-extra", "1", time.Now()).Rules[0].Title; got != "Tell the whole team" {
		t.Errorf("title after reload = %q", got)
	}
	if reloaded, _ := r.Step(t.Context()); reloaded {
		t.Error("Step without a change reloaded")
	}
}
