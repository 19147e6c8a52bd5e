package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	commonv1 "github.com/breachline/breachline/pkg/gen/breachline/common/v1"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
)

func breachSignal(eventID string, discovered time.Time) *intakev1.ReportSignalRequest {
	return &intakev1.ReportSignalRequest{Signal: &intakev1.Signal{
		Source:        "splunk-prod",
		SourceEventId: eventID,
		Title:         "Customer database exfiltration",
		Severity:      intakev1.Severity_SEVERITY_CRITICAL,
		Type:          intakev1.IncidentType_INCIDENT_TYPE_PERSONAL_INFORMATION_BREACH,
		ObservedAt:    timestamppb.New(discovered.Add(-time.Hour)),
		Asset:         "db-eu-1",
		Exposure: &commonv1.BreachFacts{
			DataElements: []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_NAME, commonv1.DataElement_DATA_ELEMENT_SSN},
			Affected: []*commonv1.JurisdictionCount{
				{Jurisdiction: "US-TX", Count: 300},
				{Jurisdiction: "DE", Count: 40},
			},
			DiscoveredAt: timestamppb.New(discovered),
		},
	}}
}

func httpDo(t *testing.T, method, url string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: response is not JSON: %v\n%s", method, url, err, raw)
	}
	return resp.StatusCode, out
}

// TestBreachFlowEndToEnd reports a signal and follows it through every
// service: incident, assessment with obligations, draft campaigns — and reads
// it all back over REST.
func TestBreachFlowEndToEnd(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.startStore(t)
	s.startDispatch(t)
	s.startRegistry(t)
	s.startClassification(t)
	s.startIntake(t)
	s.startGateway(t)
	base := "http://" + s.gateway

	intake := intakev1.NewIntakeServiceClient(dial(t, s.intake))
	classification := classificationv1.NewClassificationServiceClient(dial(t, s.classification))
	dispatch := dispatchv1.NewDispatchServiceClient(dial(t, s.dispatch))

	discovered := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	first, err := intake.ReportSignal(t.Context(), breachSignal("evt-1001", discovered))
	if err != nil {
		t.Fatalf("ReportSignal: %v", err)
	}
	if first.GetOutcome() != intakev1.ReportSignalOutcome_REPORT_SIGNAL_OUTCOME_INCIDENT_CREATED {
		t.Fatalf("outcome = %v, want INCIDENT_CREATED", first.GetOutcome())
	}
	incidentID := first.GetIncident().GetIncidentId()

	t.Run("case=retry-is-duplicate", func(t *testing.T) {
		again, err := intake.ReportSignal(t.Context(), breachSignal("evt-1001", discovered))
		if err != nil {
			t.Fatalf("ReportSignal retry: %v", err)
		}
		if again.GetIncident().GetIncidentId() != incidentID || again.GetOutcome() != intakev1.ReportSignalOutcome_REPORT_SIGNAL_OUTCOME_DUPLICATE {
			t.Fatalf("retry gave incident %s outcome %v; want %s DUPLICATE", again.GetIncident().GetIncidentId(), again.GetOutcome(), incidentID)
		}
		list, err := intake.ListIncidents(t.Context(), &intakev1.ListIncidentsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(list.GetIncidents()); n != 1 {
			t.Fatalf("incidents after retry = %d, want 1", n)
		}
	})

	var assessmentID string
	eventually(t, 60*time.Second, func(ctx context.Context) error {
		resp, err := intake.GetIncident(ctx, &intakev1.GetIncidentRequest{IncidentId: incidentID})
		if err != nil {
			return err
		}
		if resp.GetIncident().GetAssessmentStatus() != intakev1.AssessmentStatus_ASSESSMENT_STATUS_COMPLETED {
			return fmt.Errorf("assessment status %v", resp.GetIncident().GetAssessmentStatus())
		}
		assessmentID = resp.GetIncident().GetAssessmentId()
		return nil
	})

	got, err := classification.GetAssessment(t.Context(), &classificationv1.GetAssessmentRequest{AssessmentId: assessmentID})
	if err != nil {
		t.Fatalf("GetAssessment: %v", err)
	}
	a := got.GetAssessment()
	if !a.GetPersonalInformation() {
		t.Fatalf("personal_information = false for name+SSN; findings %v", a.GetFindings())
	}
	checkObligations(t, a, discovered)

	eventually(t, 60*time.Second, func(ctx context.Context) error {
		resp, err := dispatch.ListCampaigns(ctx, &dispatchv1.ListCampaignsRequest{IncidentId: incidentID, PageSize: 500})
		if err != nil {
			return err
		}
		if len(resp.GetCampaigns()) != notifyCount(a) {
			return fmt.Errorf("%d campaigns for %d obligations to notify", len(resp.GetCampaigns()), notifyCount(a))
		}
		for _, c := range resp.GetCampaigns() {
			if c.GetState() != dispatchv1.CampaignState_CAMPAIGN_STATE_DRAFT {
				return fmt.Errorf("campaign %s state %v", c.GetCampaignId(), c.GetState())
			}
		}
		return nil
	})

	t.Run("case=rest-reads", func(t *testing.T) {
		code, inc := httpDo(t, http.MethodGet, base+"/v1/incidents/"+incidentID, nil)
		if code != http.StatusOK || inc["incident"].(map[string]any)["assessmentId"] != assessmentID {
			t.Fatalf("GET incident: %d %v", code, inc)
		}
		code, as := httpDo(t, http.MethodGet, base+"/v1/assessments/"+assessmentID, nil)
		if code != http.StatusOK || len(as["assessment"].(map[string]any)["obligations"].([]any)) != len(a.GetObligations()) {
			t.Fatalf("GET assessment: %d %v", code, as)
		}
		code, cs := httpDo(t, http.MethodGet, base+"/v1/campaigns?incidentId="+incidentID+"&pageSize=500", nil)
		if code != http.StatusOK || len(cs["campaigns"].([]any)) != notifyCount(a) {
			t.Fatalf("GET campaigns: %d %v", code, cs)
		}
	})

	t.Run("case=rest-reproduce-assessment", func(t *testing.T) {
		code, r := httpDo(t, http.MethodPost, base+"/v1/assessments/"+assessmentID+":reproduce", map[string]any{})
		again, _ := r["assessment"].(map[string]any)
		if code != http.StatusOK || r["identical"] != true || r["differences"] != nil && len(r["differences"].([]any)) != 0 ||
			again["assessmentId"] != assessmentID || len(again["obligations"].([]any)) != len(a.GetObligations()) {
			t.Fatalf("POST :reproduce: %d %v", code, r)
		}
		if code, r := httpDo(t, http.MethodPost, base+"/v1/assessments/not-an-id:reproduce", map[string]any{}); code != http.StatusBadRequest ||
			!slices.Contains(violationFields(r), "assessment_id") {
			t.Fatalf("POST :reproduce with a malformed id: %d %v, want 400 with a violation on assessment_id", code, r)
		}
		if code, r := httpDo(t, http.MethodPost, base+"/v1/assessments/asm_0123456789abcdef01234567:reproduce", map[string]any{}); code != http.StatusNotFound {
			t.Fatalf("POST :reproduce with an unknown id: %d %v, want 404", code, r)
		}
	})

	t.Run("case=rest-rule-dates-and-sources", func(t *testing.T) {
		code, p := httpDo(t, http.MethodGet, base+"/v1/rulePacks/org-policy", nil)
		pack, _ := p["rulePack"].(map[string]any)
		rules, _ := pack["rules"].([]any)
		if code != http.StatusOK || len(rules) == 0 {
			t.Fatalf("GET rulePacks/org-policy: %d %v", code, p)
		}
		for _, r := range rules {
			rule := r.(map[string]any)
			sources, _ := rule["sources"].([]any)
			if rule["citation"] == "" || rule["effectiveDate"] == nil || len(sources) == 0 {
				t.Errorf("rule %v lacks a citation, effective date or source", rule["ruleId"])
			}
		}
	})

	t.Run("case=rest-working-an-incident", func(t *testing.T) {
		url := base + "/v1/incidents/" + incidentID
		_, got := httpDo(t, http.MethodGet, url, nil)
		etag := got["incident"].(map[string]any)["etag"]
		// No update_mask: the gateway derives it from the fields in the body.
		code, upd := httpDo(t, http.MethodPatch, url, map[string]any{
			"etag": etag,
			"record": map[string]any{
				"location":  "eu-central-1, VPC prod",
				"discovery": map[string]any{"discoveredBy": "SOC analyst on duty"},
				"intrusion": map[string]any{"entryPoints": []string{"vpn-gw-2"}},
			},
		})
		if rec, _ := upd["incident"].(map[string]any)["record"].(map[string]any); code != http.StatusOK || rec["location"] != "eu-central-1, VPC prod" {
			t.Fatalf("PATCH incident: %d %v", code, upd)
		}
		if code, stale := httpDo(t, http.MethodPatch, url, map[string]any{"etag": etag, "title": "stale"}); code != http.StatusConflict {
			t.Fatalf("PATCH with stale etag: %d %v, want 409", code, stale)
		}
		if code, n := httpDo(t, http.MethodPost, url+"/notes", map[string]any{"note": "Rotated VPN keys.", "requestId": "e2e-note-1"}); code != http.StatusOK {
			t.Fatalf("POST note: %d %v", code, n)
		}
		if code, tr := httpDo(t, http.MethodPost, url+":transition", map[string]any{"state": "INCIDENT_STATE_INVESTIGATING", "reason": "skip triage"}); code != http.StatusBadRequest {
			t.Fatalf("POST bad transition: %d %v, want 400 (FAILED_PRECONDITION)", code, tr)
		}
		code, tl := httpDo(t, http.MethodGet, url+"/timeline", nil)
		entries, _ := tl["entries"].([]any)
		if code != http.StatusOK || len(entries) < 3 || entries[0].(map[string]any)["action"] != "incident.created" {
			t.Fatalf("GET timeline: %d %v", code, tl)
		}
		code, v := httpDo(t, http.MethodGet, url+"/timeline:verify", nil)
		if code != http.StatusOK || v["ok"] != true {
			t.Fatalf("GET timeline:verify: %d %v", code, v)
		}
		// Services keep appending (the response workflow, dispatch's
		// relays), so the export may be longer than the timeline read
		// above: it must extend it entry for entry and end at its own head.
		code, x := httpDo(t, http.MethodGet, url+":export", nil)
		exported, _ := x["timeline"].([]any)
		if code != http.StatusOK || len(exported) < len(entries) {
			t.Fatalf("GET export: %d %v", code, x)
		}
		for i, e := range entries {
			if got, want := exported[i].(map[string]any)["hash"], e.(map[string]any)["hash"]; got != want || want == nil {
				t.Fatalf("export entry %d hash %v, timeline had %v", i+1, got, want)
			}
		}
		if head := exported[len(exported)-1].(map[string]any)["hash"]; x["headHash"] != head {
			t.Fatalf("export headHash %v, last exported entry %v", x["headHash"], head)
		}
	})

	t.Run("case=rest-malformed-signal", func(t *testing.T) {
		code, body := httpDo(t, http.MethodPost, base+"/v1/signals", map[string]any{
			"signal": map[string]any{"source": "Bad Source!", "title": "x", "observedAt": "2026-11-20T09:00:00Z"},
		})
		if code != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400: %v", code, body)
		}
		// The missing REQUIRED field and the malformed source come back in
		// one answer, each named exactly.
		fields := violationFields(body)
		for _, want := range []string{"signal.source", "signal.source_event_id"} {
			if !slices.Contains(fields, want) {
				t.Errorf("field violations %q lack %s", fields, want)
			}
		}
	})

	t.Run("case=rest-siem-webhooks", func(t *testing.T) {
		// A Splunk webhook alert action posts its own JSON; the gateway
		// forwards the body verbatim.
		splunk := `{"sid": "scheduler__admin__search__RMD5_at_1779440000_42", "search_name": "Excessive failed logins",
			"app": "search", "owner": "admin", "results_link": "https://splunk.example.com/app/search/@go?sid=x",
			"result": {"_time": "1779440000", "host": "vpn-gw-01", "user": "jdoe", "urgency": "high"}}`
		url := base + "/v1/siem/splunk-prod:ingest?format=SIEM_FORMAT_SPLUNK_WEBHOOK"
		code, body := httpRaw(t, url, splunk)
		if code != http.StatusOK || body["outcome"] != "REPORT_SIGNAL_OUTCOME_INCIDENT_CREATED" {
			t.Fatalf("POST splunk webhook: %d %v", code, body)
		}
		inc, _ := body["incident"].(map[string]any)
		if inc["title"] != "Excessive failed logins" || inc["asset"] != "vpn-gw-01" || inc["severity"] != "SEVERITY_HIGH" {
			t.Errorf("incident = %v", inc)
		}
		code, again := httpRaw(t, url, splunk)
		if code != http.StatusOK || again["outcome"] != "REPORT_SIGNAL_OUTCOME_DUPLICATE" {
			t.Errorf("retry: %d %v", code, again)
		}

		broken := `{"sid": "1", "search_name": "s", "result": {"user": "jdoe"`
		code, body = httpRaw(t, url, broken)
		if code != http.StatusBadRequest || !slices.Equal(violationFields(body), []string{"payload"}) {
			t.Fatalf("POST broken payload: %d %v", code, body)
		}
		msg, _ := body["message"].(string)
		id := regexp.MustCompile(`qpl_[0-9a-z]+`).FindString(msg)
		if id == "" || strings.Contains(msg, "jdoe") {
			t.Fatalf("message %q: want the quarantine id and no payload", msg)
		}
		code, q := httpDo(t, http.MethodGet, base+"/v1/quarantinedPayloads/"+id, nil)
		qp, _ := q["quarantinedPayload"].(map[string]any)
		if code != http.StatusOK || qp["payload"] != base64.StdEncoding.EncodeToString([]byte(broken)) ||
			qp["format"] != "SIEM_FORMAT_SPLUNK_WEBHOOK" || qp["source"] != "splunk-prod" {
			t.Errorf("GET quarantined payload: %d %v", code, q)
		}
	})

	t.Run("case=rest-customer-and-dsr", func(t *testing.T) {
		code, c := httpDo(t, http.MethodPost, base+"/v1/customers", map[string]any{
			"customerId": "lycee-lumiere", "displayName": "Lycée Lumière", "region": "REGION_EU_EEA_CH",
			"notificationEmail": "dpo@lycee-lumiere.example", "employeeNotification": "EMPLOYEE_NOTIFICATION_PROCESSOR",
		})
		if code != http.StatusOK {
			t.Fatalf("POST customer: %d %v", code, c)
		}
		code, d := httpDo(t, http.MethodPost, base+"/v1/customers/lycee-lumiere/dataSubjectRequests", map[string]any{
			"type": "DATA_SUBJECT_REQUEST_TYPE_ACCESS", "subject": map[string]any{"name": "A. Student"},
		})
		if code != http.StatusOK || d["dataSubjectRequest"].(map[string]any)["dueTime"] == nil {
			t.Fatalf("POST DSR: %d %v", code, d)
		}
	})

	t.Run("case=rest-sensitive-data-removal", func(t *testing.T) {
		code, c := httpDo(t, http.MethodPost, base+"/v1/customers", map[string]any{
			"customerId": "hosted-acme", "displayName": "Acme", "region": "REGION_US",
			"notificationEmail": "privacy@acme.example", "employeeNotification": "EMPLOYEE_NOTIFICATION_CUSTOMER",
		})
		if code != http.StatusOK {
			t.Fatalf("POST customer: %d %v", code, c)
		}
		code, scan := httpDo(t, http.MethodPost, base+"/v1/scans", map[string]any{
			"text": "employee SSN: 536-22-1947", "customerId": "hosted-acme", "location": "hr / people / notes",
		})
		if code != http.StatusOK || scan["removalRequestPending"] != true {
			t.Fatalf("POST scan: %d %v", code, scan)
		}
		eventually(t, 60*time.Second, func(context.Context) error {
			code, l := httpDo(t, http.MethodGet, base+"/v1/customers/hosted-acme/removalRequests", nil)
			list, _ := l["removalRequests"].([]any)
			if code != http.StatusOK || len(list) != 1 {
				return fmt.Errorf("GET removalRequests: %d %v", code, l)
			}
			r, _ := list[0].(map[string]any)
			if r["status"] != "REMOVAL_REQUEST_STATUS_OPEN" || r["deadline"] == nil {
				return fmt.Errorf("removal request %v", r)
			}
			return nil
		})
		// The registry's removal-notice worker has dispatch e-mail the
		// customer; the e2e dispatch writes the e-mail as an .eml file.
		var noticeID string
		eventually(t, 60*time.Second, func(context.Context) error {
			_, l := httpDo(t, http.MethodGet, base+"/v1/customers/hosted-acme/removalRequests", nil)
			list, _ := l["removalRequests"].([]any)
			if len(list) != 1 {
				return fmt.Errorf("GET removalRequests: %v", l)
			}
			r, _ := list[0].(map[string]any)
			if r["notifyTime"] == nil || r["notifyCustomerPending"] == true {
				return fmt.Errorf("customer not told yet: %v", r)
			}
			noticeID, _ = r["noticeId"].(string)
			return nil
		})
		eventually(t, 60*time.Second, func(context.Context) error {
			eml, err := os.ReadFile(filepath.Join(s.data, "outbox", noticeID, "v1", "notice.eml"))
			if err != nil {
				return err
			}
			if !bytes.Contains(eml, []byte("To: privacy@acme.example")) || !bytes.Contains(eml, []byte("hr / people / notes")) ||
				bytes.Contains(eml, []byte("536-22-1947")) {
				return fmt.Errorf("notice e-mail:\n%s", eml)
			}
			return nil
		})
	})

	t.Run("case=rest-import-affected-individuals", func(t *testing.T) {
		root, err := repoRoot()
		if err != nil {
			t.Fatal(err)
		}
		file, err := os.ReadFile(filepath.Join(root, "docs", "examples", "affected.csv")) // the README's example
		if err != nil {
			t.Fatal(err)
		}
		url := base + "/v1/incidents/" + incidentID + "/affectedIndividuals:importCsv"
		for range 2 { // the same upload twice (same Idempotency-Key) has one effect
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(file))
			req.Header.Set("Content-Type", "text/csv")
			req.Header.Set("Idempotency-Key", "e2e-affected-1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var out map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&out)
			_ = resp.Body.Close()
			imp, _ := out["import"].(map[string]any)
			if resp.StatusCode != http.StatusOK || imp["rowsAccepted"] != "5" || imp["rowsDuplicate"] != "1" || imp["rowsRejected"] != "1" {
				t.Fatalf("POST importCsv: %d %v", resp.StatusCode, out)
			}
		}
		code, c := httpDo(t, http.MethodGet, base+"/v1/incidents/"+incidentID+"/affectedCounts", nil)
		if code != http.StatusOK || c["total"] != "5" || fmt.Sprint(c["byJurisdiction"]) != "[map[count:1 jurisdiction:DE] map[count:1 jurisdiction:US-CA] map[count:1 jurisdiction:US-NY] map[count:2 jurisdiction:US-TX]]" {
			t.Fatalf("GET affectedCounts: %d %v", code, c)
		}
		code, l := httpDo(t, http.MethodGet, base+"/v1/incidents/"+incidentID+"/affectedIndividuals?jurisdiction=US-TX", nil)
		if people, _ := l["affectedIndividuals"].([]any); code != http.StatusOK || len(people) != 2 {
			t.Fatalf("GET affectedIndividuals: %d %v", code, l)
		}
	})

	t.Run("case=healthz-and-openapi", func(t *testing.T) {
		code, h := httpDo(t, http.MethodGet, base+"/healthz", nil)
		if code != http.StatusOK || h["status"] != "ok" {
			t.Fatalf("healthz: %d %v", code, h)
		}
		code, spec := httpDo(t, http.MethodGet, base+"/openapi.json", nil)
		if code != http.StatusOK || spec["paths"].(map[string]any)["/v1/signals"] == nil {
			t.Fatalf("openapi: %d", code)
		}
	})
}

// notifyCount is the number of obligations that become campaigns: those
// with notify=false only explain a duty that did not fire.
func notifyCount(a *classificationv1.Assessment) int {
	n := 0
	for _, o := range a.GetObligations() {
		if o.GetNotify() {
			n++
		}
	}
	return n
}

// checkObligations asserts the three regimes the foundation must cover.
func checkObligations(t *testing.T, a *classificationv1.Assessment, discovered time.Time) {
	t.Helper()
	var gdpr, texasAG, execs, insurer bool
	for _, o := range a.GetObligations() {
		switch {
		case o.GetAudience() == classificationv1.Audience_AUDIENCE_INSURER:
			// org-policy 2026.2 (in force from 2026-11-22): the playbooks'
			// internal target, 24 h after discovery.
			insurer = true
			if want := discovered.Add(24 * time.Hour); !o.GetDeadline().AsTime().Equal(want) || o.GetRulePackVersion() != "2026.2" {
				t.Errorf("insurer deadline = %v (org-policy %s), want %v from 2026.2", o.GetDeadline().AsTime(), o.GetRulePackVersion(), want)
			}
		case o.GetAudience() == classificationv1.Audience_AUDIENCE_LAW_ENFORCEMENT:
			if want := discovered.Add(48 * time.Hour); !o.GetDeadline().AsTime().Equal(want) {
				t.Errorf("%s deadline = %v, want %v", o.GetObligationId(), o.GetDeadline().AsTime(), want)
			}
		case o.GetAudience() == classificationv1.Audience_AUDIENCE_SUPERVISORY_AUTHORITY:
			gdpr = true
			if want := discovered.Add(72 * time.Hour); !o.GetDeadline().AsTime().Equal(want) {
				t.Errorf("GDPR Art. 33 deadline = %v, want %v", o.GetDeadline().AsTime(), want)
			}
		case o.GetAudience() == classificationv1.Audience_AUDIENCE_REGULATOR && o.GetJurisdiction() == "US-TX":
			texasAG = true
			if o.GetDeadline() == nil || o.GetCitation() == "" {
				t.Errorf("Texas AG obligation lacks deadline or citation: %v", o)
			}
		case o.GetAudience() == classificationv1.Audience_AUDIENCE_EXECUTIVE_MANAGEMENT:
			execs = true
		}
	}
	if !gdpr || !texasAG || !execs || !insurer {
		t.Fatalf("obligations missing: gdpr=%v texas-ag=%v executive-management=%v insurer=%v in %v", gdpr, texasAG, execs, insurer, a.GetObligations())
	}
}

// httpRaw posts body verbatim as JSON, as a SIEM webhook does.
func httpRaw(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("POST %s: response is not JSON: %v\n%s", url, err, raw)
	}
	return resp.StatusCode, out
}

func violationFields(body map[string]any) []string {
	var fields []string
	details, _ := body["details"].([]any)
	for _, d := range details {
		dm, _ := d.(map[string]any)
		fvs, _ := dm["fieldViolations"].([]any)
		for _, fv := range fvs {
			f, _ := fv.(map[string]any)
			fields = append(fields, fmt.Sprint(f["field"]))
		}
	}
	return fields
}

// TestStepsSurvivePeerOutage reports a signal while classification and
// dispatch are down: nothing is lost, and each step completes once its peer
// comes up.
func TestStepsSurvivePeerOutage(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.startStore(t)
	s.startIntake(t)
	intake := intakev1.NewIntakeServiceClient(dial(t, s.intake))
	dispatch := dispatchv1.NewDispatchServiceClient(dial(t, s.dispatch))

	resp, err := intake.ReportSignal(t.Context(), breachSignal("evt-outage", time.Now().UTC().Truncate(time.Second)))
	if err != nil {
		t.Fatalf("ReportSignal with peers down: %v", err)
	}
	incidentID := resp.GetIncident().GetIncidentId()
	if st := resp.GetIncident().GetAssessmentStatus(); st != intakev1.AssessmentStatus_ASSESSMENT_STATUS_PENDING {
		t.Fatalf("assessment status = %v, want PENDING while classification is down", st)
	}

	s.startGateway(t)
	code, h := httpDo(t, http.MethodGet, "http://"+s.gateway+"/healthz", nil)
	if backends, _ := h["backends"].(map[string]any); code != http.StatusServiceUnavailable || backends["classification"] != "UNREACHABLE" || backends["intake"] != "SERVING" {
		t.Fatalf("healthz with classification down = %d %v; want 503 naming it", code, h)
	}

	s.startClassification(t)
	eventually(t, 90*time.Second, func(ctx context.Context) error {
		r, err := intake.GetIncident(ctx, &intakev1.GetIncidentRequest{IncidentId: incidentID})
		if err != nil {
			return err
		}
		if r.GetIncident().GetAssessmentStatus() != intakev1.AssessmentStatus_ASSESSMENT_STATUS_COMPLETED {
			return errors.New("assessment still pending")
		}
		return nil
	})

	s.startDispatch(t)
	eventually(t, 90*time.Second, func(ctx context.Context) error {
		r, err := dispatch.ListCampaigns(ctx, &dispatchv1.ListCampaignsRequest{IncidentId: incidentID})
		if err != nil {
			return err
		}
		if len(r.GetCampaigns()) == 0 {
			return errors.New("no campaigns yet")
		}
		return nil
	})
}

// TestDevstack runs the `make run` launcher: it must bring the whole suite up
// with a healthy gateway and stop cleanly on Ctrl-C (SIGINT).
func TestDevstack(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	cmd := exec.Command(filepath.Join(binaries(t), "devstack"))
	cmd.Env = append(cmd.Environ(), "BIN_DIR="+binaries(t), "DATA_DIR="+s.data,
		"DEVSTORE_ADDR="+s.store, "INTAKE_ADDR="+s.intake, "CLASSIFICATION_ADDR="+s.classification,
		"REGISTRY_ADDR="+s.registry, "DISPATCH_ADDR="+s.dispatch, "GATEWAY_ADDR="+s.gateway)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		if t.Failed() {
			t.Logf("devstack output:\n%s", out.String())
		}
	}()
	eventually(t, 120*time.Second, func(context.Context) error {
		if !strings.Contains(out.String(), "Breachline is running") {
			return errors.New("not running yet")
		}
		return nil
	})
	code, h := httpDo(t, http.MethodGet, "http://"+s.gateway+"/healthz", nil)
	if code != http.StatusOK {
		t.Fatalf("healthz = %d %v", code, h)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("devstack exit after SIGINT: %v", err)
		}
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("devstack did not stop within 90s of SIGINT")
	}
}
