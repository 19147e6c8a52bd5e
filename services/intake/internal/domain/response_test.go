package domain_test

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/services/intake/internal/domain"
)

func TestPlaybooks(t *testing.T) {
	t.Parallel()
	pbs, err := domain.LoadPlaybooks()
	if err != nil {
		t.Fatalf("LoadPlaybooks: %v", err)
	}

	tests := []struct {
		name string
		typ  domain.IncidentType
		form domain.RecordsForm
		want []string
	}{
		{"pi_electronic", domain.IncidentTypePersonalInformationBreach, domain.RecordsFormElectronic, []string{"pi-breach-electronic"}},
		{"pi_form_unknown", domain.IncidentTypePersonalInformationBreach, domain.RecordsFormUnspecified, []string{"pi-breach-electronic"}},
		{"pi_physical", domain.IncidentTypePersonalInformationBreach, domain.RecordsFormPhysical, []string{"pi-breach-physical"}},
		{"pi_both", domain.IncidentTypePersonalInformationBreach, domain.RecordsFormBoth, []string{"pi-breach-electronic", "pi-breach-physical"}},
		{"improper_disposal", domain.IncidentTypeImproperDisposal, domain.RecordsFormPhysical, []string{"pi-breach-physical"}},
		{"ransomware", domain.IncidentTypeRansomware, domain.RecordsFormUnspecified, []string{"ransomware"}},
		{"type_unknown", domain.IncidentTypeUnspecified, domain.RecordsFormUnspecified, []string{"triage"}},
	}
	for _, tt := range tests {
		t.Run("method=Select/case="+tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, p := range pbs.Select(tt.typ, tt.form) {
				got = append(got, p.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Select = %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("method=TasksFor/case=both_forms_merge_by_key_and_start_at_discovery", func(t *testing.T) {
		t.Parallel()
		discovered := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
		inc := domain.Incident{ID: "inc_1", Type: domain.IncidentTypePersonalInformationBreach}
		inc.Record.RecordsForm = domain.RecordsFormBoth
		inc.Record.Discovery.DiscoveredAt = discovered
		tasks := pbs.TasksFor(inc, discovered.Add(time.Hour))
		keys := map[string]int{}
		for i, task := range tasks {
			keys[task.Key]++
			if task.Order != i || task.State != domain.TaskStateOpen || task.Version != 1 {
				t.Errorf("task %s: order %d state %s version %d", task.Key, task.Order, task.State, task.Version)
			}
		}
		for _, k := range []string{"alert_team", "technical_analysis", "physical_analysis", "review_surveillance", "legal_analysis"} {
			if keys[k] != 1 {
				t.Errorf("task %s appears %d times, want once", k, keys[k])
			}
		}
		if tasks[0].Key != "alert_team" || !tasks[0].DueTime.Equal(discovered.Add(time.Hour)) {
			t.Errorf("first task %s due %s, want alert_team due an hour after discovery", tasks[0].Key, tasks[0].DueTime)
		}
	})

	t.Run("method=Get/case=unknown_and_newest", func(t *testing.T) {
		t.Parallel()
		if _, err := pbs.Get("no-such-playbook", ""); !strings.Contains(err.Error(), "not found") {
			t.Errorf("Get unknown = %v, want not found", err)
		}
		p, err := pbs.Get("ransomware", "")
		if err != nil || p.Version == "" || len(p.Tasks) == 0 {
			t.Errorf("Get ransomware = %v, %v", p, err)
		}
	})
}

func TestParsePlaybooksRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, want string
	}{
		{"unknown_role", "id: x-y\nversion: '1'\ntitle: T\nincident_types: [unspecified]\ntasks:\n  - {key: a_b, title: A, owner: janitor, due_after: 1h}\n", "not a team role"},
		{"bad_duration", "id: x-y\nversion: '1'\ntitle: T\nincident_types: [unspecified]\ntasks:\n  - {key: a_b, title: A, owner: legal, due_after: soon}\n", "due_after"},
		{"unknown_field", "id: x-y\nversion: '1'\ntitle: T\nowner: legal\nincident_types: [unspecified]\ntasks: []\n", "not found"},
		{"uncovered_types", "id: x-y\nversion: '1'\ntitle: T\nincident_types: [unspecified]\ntasks:\n  - {key: a_b, title: A, owner: legal, due_after: 1h}\n", "no playbook for incident type ransomware"},
	}
	for _, tt := range tests {
		t.Run("method=ParsePlaybooks/case="+tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := domain.ParsePlaybooks(fstest.MapFS{"p.yaml": {Data: []byte(tt.file)}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParsePlaybooks = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func violationFields(t *testing.T, err error) []string {
	t.Helper()
	ie, ok := apperr.AsInvalid(err)
	if !ok {
		t.Fatalf("error %v is not invalid argument", err)
	}
	var fields []string
	for _, v := range ie.Violations {
		fields = append(fields, v.Field)
	}
	return fields
}

func TestResponseValidation(t *testing.T) {
	t.Parallel()
	t.Run("method=ValidateMember/case=every_problem_at_once", func(t *testing.T) {
		t.Parallel()
		err := domain.ValidateMember(domain.MemberPut{Etag: "x", Member: domain.TeamMember{
			ID: "Bad Id", Roles: []domain.TeamRole{domain.RoleLegal, domain.RoleLegal, 99}, DeputyOf: "Bad Id",
			Email: "not-an-address", Phone: "555", Subject: "a b",
		}})
		want := []string{"member.member_id", "member.name", "member.roles[1]", "member.roles[2]", "member.deputy_of",
			"member.email", "member.phone", "member.subject", "member.etag"}
		if got := violationFields(t, err); !slices.Equal(got, want) {
			t.Errorf("violations %v, want %v", got, want)
		}
	})
	t.Run("method=ValidateTaskChange/case=complete_without_evidence", func(t *testing.T) {
		t.Parallel()
		err := domain.ValidateTaskChange(domain.TaskChange{IncidentID: "x", Key: "Contain!", Action: domain.TaskComplete, Evidence: " ", Etag: "-1", RequestID: "a b"})
		want := []string{"incident_id", "task_key", "evidence", "etag", "request_id"}
		if got := violationFields(t, err); !slices.Equal(got, want) {
			t.Errorf("violations %v, want %v", got, want)
		}
	})
	t.Run("method=ValidateAnalysis/case=content_must_match_kind", func(t *testing.T) {
		t.Parallel()
		err := domain.ValidateAnalysis(domain.AnalysisSave{IncidentID: "inc_65f0c2a1b2c3d4e5f6a7b8c9", Kind: domain.AnalysisTechnical,
			Content: domain.AnalysisContent{Legal: &domain.LegalAnalysis{Summary: "x", Laws: []string{"y"}}}})
		if got := violationFields(t, err); !slices.Equal(got, []string{"analysis.content"}) {
			t.Errorf("violations %v", got)
		}
	})
	t.Run("method=ValidateAnalysis/case=technical_required_fields", func(t *testing.T) {
		t.Parallel()
		err := domain.ValidateAnalysis(domain.AnalysisSave{IncidentID: "inc_65f0c2a1b2c3d4e5f6a7b8c9", Kind: domain.AnalysisTechnical,
			Content: domain.AnalysisContent{Technical: &domain.TechnicalAnalysis{DataElements: []domain.DataElement{0}, Parties: []string{""}}}})
		want := []string{"analysis.technical.nature_and_extent", "analysis.technical.data_elements[0]",
			"analysis.technical.identity_theft_likelihood", "analysis.technical.parties[0]"}
		if got := violationFields(t, err); !slices.Equal(got, want) {
			t.Errorf("violations %v, want %v", got, want)
		}
	})
	t.Run("method=ValidateAnalysis/case=legal_authorities_named", func(t *testing.T) {
		t.Parallel()
		err := domain.ValidateAnalysis(domain.AnalysisSave{IncidentID: "inc_65f0c2a1b2c3d4e5f6a7b8c9", Kind: domain.AnalysisLegal,
			Content: domain.AnalysisContent{Legal: &domain.LegalAnalysis{AuthoritiesMustBeNotified: true, LawEnforcementDelayRequested: true, Summary: "s"}}})
		want := []string{"analysis.legal.laws", "analysis.legal.authorities", "analysis.legal.law_enforcement_delay_details"}
		if got := violationFields(t, err); !slices.Equal(got, want) {
			t.Errorf("violations %v, want %v", got, want)
		}
	})
}

func TestRequiredAnalyses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		form domain.RecordsForm
		want []domain.AnalysisKind
	}{
		{domain.RecordsFormUnspecified, []domain.AnalysisKind{domain.AnalysisTechnical, domain.AnalysisLegal}},
		{domain.RecordsFormElectronic, []domain.AnalysisKind{domain.AnalysisTechnical, domain.AnalysisLegal}},
		{domain.RecordsFormPhysical, []domain.AnalysisKind{domain.AnalysisPhysical, domain.AnalysisLegal}},
		{domain.RecordsFormBoth, []domain.AnalysisKind{domain.AnalysisTechnical, domain.AnalysisPhysical, domain.AnalysisLegal}},
	}
	for _, tt := range tests {
		t.Run("method=RequiredAnalyses/case="+tt.form.String(), func(t *testing.T) {
			t.Parallel()
			if got := domain.RequiredAnalyses(tt.form); !slices.Equal(got, tt.want) {
				t.Errorf("RequiredAnalyses = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestContentHash(t *testing.T) {
	t.Parallel()
	a := domain.AnalysisContent{Technical: &domain.TechnicalAnalysis{NatureAndExtent: "x", DataElements: []domain.DataElement{domain.DataElementSSN}}}
	b := domain.AnalysisContent{Technical: &domain.TechnicalAnalysis{NatureAndExtent: "x", DataElements: []domain.DataElement{domain.DataElementSSN}}}
	c := domain.AnalysisContent{Technical: &domain.TechnicalAnalysis{NatureAndExtent: "x."}}
	if domain.ContentHash(a) != domain.ContentHash(b) || domain.ContentHash(a) == domain.ContentHash(c) || len(domain.ContentHash(a)) != 64 {
		t.Errorf("hashes: %s %s %s", domain.ContentHash(a), domain.ContentHash(b), domain.ContentHash(c))
	}
}
