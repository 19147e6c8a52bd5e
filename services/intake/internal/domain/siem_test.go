package domain_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/breachline/breachline/services/intake/internal/domain"
)

var siemNow = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "siem", name))
	if err != nil {
		t.Fatalf("read sample: %v", err)
	}
	return b
}

func TestMapSiemPayload(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatalf("parse %s: %v", s, err)
		}
		return v
	}
	cases := []struct {
		name, file string
		format     domain.SiemFormat
		want       domain.Signal
	}{
		{"ocsf-detection", "ocsf_detection.json", domain.SiemFormatOCSF, domain.Signal{
			SourceEventID: "fnd-2026-0001", Title: "Mass file download by service account",
			Description: `3,212 files read from \\hr-fs-01\payroll within 4 minutes`,
			Severity:    domain.SeverityHigh, ObservedAt: at("2026-02-24T12:00:00Z"), Asset: "hr-fs-01",
		}},
		{"ocsf-data-security", "ocsf_data_security.json", domain.SiemFormatOCSF, domain.Signal{
			SourceEventID: "arn:aws:macie2:eu-west-1:111122223333:finding/7ab3", Title: "S3 object holds SSNs",
			Severity: domain.SeverityCritical, Type: domain.IncidentTypePersonalInformationBreach,
			ObservedAt: at("2026-02-24T12:00:00Z"), Asset: "s3://acme-exports/2026/customers.csv",
		}},
		{"ecs-kibana-alert", "ecs_kibana_alert.json", domain.SiemFormatECS, domain.Signal{
			SourceEventID: "b7e1c4a0f3d2", Title: "Unusual Network Connection via RunDLL32",
			Description: "network event with process rundll32.exe on WS-0042 created medium alert",
			Severity:    domain.SeverityMedium, ObservedAt: at("2026-02-24T12:00:00Z"), Asset: "ws-0042",
		}},
		{"ecs-event", "ecs_event.json", domain.SiemFormatECS, domain.Signal{
			SourceEventID: "8a4f500d", Title: "ET SCAN Nmap Scripting Engine User-Agent",
			Description: "Port scan from 203.0.113.9", ObservedAt: at("2026-02-24T11:59:58.412Z"), Asset: "edge-fw-02",
		}},
		{"elastic-webhook-alerts", "elastic_webhook_alerts.json", domain.SiemFormatElasticWebhook, domain.Signal{
			SourceEventID: "c91e0d", Title: "Credential Dumping - LSASS", Description: "lsass memory read on dc-01",
			Severity: domain.SeverityCritical, ObservedAt: at("2026-02-24T12:00:00Z"), Asset: "dc-01",
		}},
		{"elastic-webhook-single", "ecs_kibana_alert.json", domain.SiemFormatElasticWebhook, domain.Signal{
			SourceEventID: "b7e1c4a0f3d2", Title: "Unusual Network Connection via RunDLL32",
			Description: "network event with process rundll32.exe on WS-0042 created medium alert",
			Severity:    domain.SeverityMedium, ObservedAt: at("2026-02-24T12:00:00Z"), Asset: "ws-0042",
		}},
		{"splunk-webhook", "splunk_webhook.json", domain.SiemFormatSplunkWebhook, domain.Signal{
			SourceEventID: "scheduler__admin__search__RMD5e0a1b2c3d4_at_1771934400_123:12:4711",
			Title:         "Excessive failed logins followed by success",
			Description:   "Splunk saved search in app search owned by admin fired. Results: https://splunk.example.com:8000/app/search/@go?sid=scheduler__admin__search__RMD5e0a1b2c3d4_at_1771934400_123",
			Severity:      domain.SeverityHigh, ObservedAt: at("2026-02-24T11:59:55Z"), Asset: "vpn-gw-01",
		}},
		{"sentinel-incident", "sentinel_incident.json", domain.SiemFormatSentinelWebhook, domain.Signal{
			SourceEventID: "3177", Title: "Mass download by a single user",
			Description: "A user downloaded an unusual number of files from SharePoint.",
			Severity:    domain.SeverityHigh, ObservedAt: at("2026-02-24T11:40:00Z"), Asset: "sp-frontend-03",
		}},
		{"sentinel-alert", "sentinel_alert.json", domain.SiemFormatSentinelWebhook, domain.Signal{
			SourceEventID: "2518098760779999999_8b1e", Title: "Ransomware activity detected",
			Description: "Files encrypted with known ransomware extension",
			Severity:    domain.SeverityHigh, ObservedAt: at("2026-02-24T11:58:00Z"), Asset: "fin-ws-17",
		}},
	}
	for _, c := range cases {
		t.Run("case="+c.name, func(t *testing.T) {
			t.Parallel()
			got, _, v := domain.MapSiemPayload(c.format, "siem-1", readSample(t, c.file), siemNow)
			if len(v) > 0 {
				t.Fatalf("violations: %v", v)
			}
			if got.Raw == nil {
				t.Fatal("raw payload not kept")
			}
			if err := domain.ValidateSignal(got, siemNow); err != nil {
				t.Fatalf("mapped signal invalid: %v", err)
			}
			got.Raw = nil
			c.want.Source = "siem-1"
			if !got.ObservedAt.Equal(c.want.ObservedAt) {
				t.Errorf("observed_at = %v, want %v", got.ObservedAt, c.want.ObservedAt)
			}
			got.ObservedAt, c.want.ObservedAt = time.Time{}, time.Time{}
			if got.SourceEventID != c.want.SourceEventID || got.Title != c.want.Title ||
				got.Description != c.want.Description || got.Severity != c.want.Severity ||
				got.Type != c.want.Type || got.Asset != c.want.Asset || got.Source != c.want.Source {
				t.Errorf("signal =\n%+v\nwant\n%+v", got, c.want)
			}
		})
	}
}

func TestMapSiemPayloadRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		format  domain.SiemFormat
		payload string
		fields  []string
	}{
		{"invalid-json", domain.SiemFormatOCSF, `{"class_uid": 2004,`, []string{"payload"}},
		{"not-an-object", domain.SiemFormatSplunkWebhook, `[{"sid": "1"}]`, []string{"payload"}},
		{"empty", domain.SiemFormatECS, ``, []string{"payload"}},
		{"no-format", domain.SiemFormatUnspecified, `{}`, []string{"format"}},
		{"ocsf-wrong-class", domain.SiemFormatOCSF, `{"class_uid": 4001, "time": 1}`, []string{"payload.class_uid"}},
		{"ocsf-wrong-class-name", domain.SiemFormatOCSF, `{"class_name": "Network Activity"}`, []string{"payload.class_name"}},
		{"ocsf-missing-everything", domain.SiemFormatOCSF, `{"class_uid": 2004}`,
			[]string{"payload.finding_info.uid", "payload.finding_info.title", "payload.time"}},
		{"ocsf-bad-types", domain.SiemFormatOCSF, `{"class_uid": 2005, "metadata": {"uid": 7}, "finding_info": {"uid": true, "title": "x"}, "time": "soon", "severity_id": 42}`,
			[]string{"payload.finding_info.uid", "payload.time", "payload.severity_id"}},
		{"ecs-missing", domain.SiemFormatECS, `{"host": {"name": "a"}}`,
			[]string{"payload.kibana.alert.uuid", "payload.kibana.alert.rule.name", "payload.@timestamp"}},
		{"ecs-bad-time-and-severity", domain.SiemFormatECS, `{"event": {"id": "1"}, "rule": {"name": "r"}, "@timestamp": "yesterday", "kibana.alert.severity": "apocalyptic"}`,
			[]string{"payload.@timestamp", "payload.kibana.alert.severity"}},
		{"elastic-many-alerts", domain.SiemFormatElasticWebhook, `{"alerts": [{}, {}]}`, []string{"payload.alerts"}},
		{"elastic-alert-missing-id", domain.SiemFormatElasticWebhook, `{"alerts": [{"@timestamp": "2026-02-24T12:00:00Z", "rule": {"name": "r"}}]}`,
			[]string{"payload.alerts[0].kibana.alert.uuid"}},
		{"splunk-missing-sid", domain.SiemFormatSplunkWebhook, `{"search_name": "s", "result": {"_time": "abc"}}`,
			[]string{"payload.sid", "payload.result._time"}},
		{"splunk-result-not-object", domain.SiemFormatSplunkWebhook, `{"sid": "1", "search_name": "s", "result": "x"}`,
			[]string{"payload.result"}},
		{"sentinel-unknown-shape", domain.SiemFormatSentinelWebhook, `{"foo": 1}`, []string{"payload.properties"}},
		{"sentinel-incident-missing", domain.SiemFormatSentinelWebhook, `{"object": {"properties": {"severity": "High"}}}`,
			[]string{"payload.object.name", "payload.object.properties.title", "payload.object.properties.createdTimeUtc"}},
	}
	for _, c := range cases {
		t.Run("case="+c.name, func(t *testing.T) {
			t.Parallel()
			_, _, v := domain.MapSiemPayload(c.format, "siem-1", []byte(c.payload), siemNow)
			var fields []string
			for _, fv := range v {
				fields = append(fields, fv.Field)
				if strings.Contains(fv.Description, "jdoe") {
					t.Errorf("description quotes the payload: %q", fv.Description)
				}
			}
			slices.Sort(fields)
			want := slices.Clone(c.fields)
			slices.Sort(want)
			if !slices.Equal(fields, want) {
				t.Errorf("violation fields = %v, want %v (%v)", fields, want, v)
			}
		})
	}
}
