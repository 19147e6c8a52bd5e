package server_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
)

func siemSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "domain", "testdata", "siem", name))
	if err != nil {
		t.Fatalf("read sample: %v", err)
	}
	return b
}

var quarantineIDPattern = regexp.MustCompile(`qpl_[0-9a-z]+`)

func TestIngestSiemPayload(t *testing.T) {
	t.Parallel()
	formats := []struct {
		name   string
		format intakev1.SiemFormat
		file   string
	}{
		{"ocsf", intakev1.SiemFormat_SIEM_FORMAT_OCSF, "ocsf_data_security.json"},
		{"ecs", intakev1.SiemFormat_SIEM_FORMAT_ECS, "ecs_kibana_alert.json"},
		{"splunk", intakev1.SiemFormat_SIEM_FORMAT_SPLUNK_WEBHOOK, "splunk_webhook.json"},
		{"elastic", intakev1.SiemFormat_SIEM_FORMAT_ELASTIC_WEBHOOK, "elastic_webhook_alerts.json"},
		{"sentinel", intakev1.SiemFormat_SIEM_FORMAT_SENTINEL_WEBHOOK, "sentinel_incident.json"},
	}
	for _, f := range formats {
		t.Run("method=IngestSiemPayload/case=created_then_duplicate_"+f.name, func(t *testing.T) {
			t.Parallel()
			client, _ := start(t)
			req := &intakev1.IngestSiemPayloadRequest{Source: "siem-" + f.name, Format: f.format, Payload: siemSample(t, f.file)}
			first, err := client.IngestSiemPayload(t.Context(), req)
			if err != nil {
				t.Fatalf("IngestSiemPayload: %v", err)
			}
			if first.GetOutcome() != intakev1.ReportSignalOutcome_REPORT_SIGNAL_OUTCOME_INCIDENT_CREATED {
				t.Fatalf("outcome = %v", first.GetOutcome())
			}
			if first.GetIncident().GetTitle() == "" || first.GetSignal().GetRaw() == nil {
				t.Fatalf("incident title %q, raw kept %v", first.GetIncident().GetTitle(), first.GetSignal().GetRaw() != nil)
			}
			again, err := client.IngestSiemPayload(t.Context(), req)
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if again.GetOutcome() != intakev1.ReportSignalOutcome_REPORT_SIGNAL_OUTCOME_DUPLICATE ||
				again.GetIncident().GetIncidentId() != first.GetIncident().GetIncidentId() ||
				again.GetSignalId() != first.GetSignalId() {
				t.Fatalf("retry = %v %s %s, want DUPLICATE of %s", again.GetOutcome(), again.GetIncident().GetIncidentId(), again.GetSignalId(), first.GetIncident().GetIncidentId())
			}
		})
	}

	t.Run("method=IngestSiemPayload/case=data_security_finding_is_pi_breach", func(t *testing.T) {
		t.Parallel()
		client, _ := start(t)
		resp, err := client.IngestSiemPayload(t.Context(), &intakev1.IngestSiemPayloadRequest{
			Source: "macie", Format: intakev1.SiemFormat_SIEM_FORMAT_OCSF, Payload: siemSample(t, "ocsf_data_security.json"),
		})
		if err != nil {
			t.Fatalf("IngestSiemPayload: %v", err)
		}
		if resp.GetIncident().GetType() != intakev1.IncidentType_INCIDENT_TYPE_PERSONAL_INFORMATION_BREACH ||
			resp.GetIncident().GetSeverity() != intakev1.Severity_SEVERITY_CRITICAL {
			t.Errorf("incident type %v severity %v", resp.GetIncident().GetType(), resp.GetIncident().GetSeverity())
		}
	})

	rejects := []struct {
		name    string
		source  string
		format  intakev1.SiemFormat
		payload []byte
		fields  []string
	}{
		{"broken_json", "splunk-prod", intakev1.SiemFormat_SIEM_FORMAT_SPLUNK_WEBHOOK, []byte(`{"sid": "1", "user": "jdoe"`), []string{"payload"}},
		{"missing_sid", "splunk-prod", intakev1.SiemFormat_SIEM_FORMAT_SPLUNK_WEBHOOK, []byte(`{"search_name": "s", "result": {"user": "jdoe"}}`), []string{"payload.sid"}},
		{"no_format_bad_source", "Bad Source", intakev1.SiemFormat_SIEM_FORMAT_UNSPECIFIED, []byte(`{"user": "jdoe"}`), []string{"format", "source"}},
		{"future_time_names_json_path", "ocsf", intakev1.SiemFormat_SIEM_FORMAT_OCSF,
			[]byte(`{"class_uid": 2004, "finding_info": {"uid": "f1", "title": "t"}, "time": 4102444800000, "actor": {"user": {"name": "jdoe"}}}`), []string{"payload.time"}},
	}
	for _, c := range rejects {
		t.Run("method=IngestSiemPayload/case="+c.name+"_is_quarantined", func(t *testing.T) {
			t.Parallel()
			client, _ := start(t)
			_, err := client.IngestSiemPayload(t.Context(), &intakev1.IngestSiemPayloadRequest{Source: c.source, Format: c.format, Payload: c.payload})
			code, fields := badRequestFields(t, err)
			slices.Sort(fields)
			if code != codes.InvalidArgument || !slices.Equal(fields, c.fields) {
				t.Fatalf("got %v %v, want INVALID_ARGUMENT %v (%v)", code, fields, c.fields, err)
			}
			msg := status.Convert(err).Message()
			if strings.Contains(msg, "jdoe") {
				t.Errorf("error message quotes the payload: %s", msg)
			}
			id := quarantineIDPattern.FindString(msg)
			if id == "" {
				t.Fatalf("message names no quarantine id: %s", msg)
			}
			got, err := client.GetQuarantinedPayload(t.Context(), &intakev1.GetQuarantinedPayloadRequest{QuarantinedPayloadId: id})
			if err != nil {
				t.Fatalf("GetQuarantinedPayload: %v", err)
			}
			q := got.GetQuarantinedPayload()
			if !bytes.Equal(q.GetPayload(), c.payload) || q.GetPayloadSize() != int64(len(c.payload)) || q.GetFormat() != c.format {
				t.Errorf("quarantined payload = %q (size %d, format %v), want it verbatim", q.GetPayload(), q.GetPayloadSize(), q.GetFormat())
			}
			var qfields []string
			for _, v := range q.GetViolations() {
				qfields = append(qfields, v.GetField())
				if v.GetDescription() == "" {
					t.Errorf("violation %s without description", v.GetField())
				}
			}
			slices.Sort(qfields)
			if !slices.Equal(qfields, c.fields) {
				t.Errorf("quarantined violations = %v, want %v", qfields, c.fields)
			}
			list, err := client.ListQuarantinedPayloads(t.Context(), &intakev1.ListQuarantinedPayloadsRequest{})
			if err != nil || len(list.GetQuarantinedPayloads()) != 1 || list.GetQuarantinedPayloads()[0].GetQuarantinedPayloadId() != id {
				t.Errorf("ListQuarantinedPayloads = %v, %v; want the one payload", list, err)
			}
		})
	}

	t.Run("method=ListQuarantinedPayloads/case=pages_newest_first", func(t *testing.T) {
		t.Parallel()
		client, _ := start(t)
		for range 3 {
			if _, err := client.IngestSiemPayload(t.Context(), &intakev1.IngestSiemPayloadRequest{
				Source: "ecs", Format: intakev1.SiemFormat_SIEM_FORMAT_ECS, Payload: []byte(`[]`),
			}); status.Code(err) != codes.InvalidArgument {
				t.Fatalf("want INVALID_ARGUMENT, got %v", err)
			}
		}
		var seen []string
		token := ""
		for {
			page, err := client.ListQuarantinedPayloads(t.Context(), &intakev1.ListQuarantinedPayloadsRequest{PageSize: 2, PageToken: token})
			if err != nil {
				t.Fatalf("ListQuarantinedPayloads: %v", err)
			}
			for _, q := range page.GetQuarantinedPayloads() {
				seen = append(seen, q.GetQuarantinedPayloadId())
			}
			if token = page.GetNextPageToken(); token == "" {
				break
			}
		}
		if len(seen) != 3 || !slices.IsSortedFunc(seen, func(a, b string) int { return strings.Compare(b, a) }) {
			t.Errorf("pages = %v, want 3 ids newest first", seen)
		}
	})

	t.Run("method=GetQuarantinedPayload/case=bad_and_unknown_id", func(t *testing.T) {
		t.Parallel()
		client, _ := start(t)
		_, err := client.GetQuarantinedPayload(t.Context(), &intakev1.GetQuarantinedPayloadRequest{QuarantinedPayloadId: "inc_1"})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("bad id: %v", err)
		}
		_, err = client.GetQuarantinedPayload(t.Context(), &intakev1.GetQuarantinedPayloadRequest{QuarantinedPayloadId: "qpl_65f0c2a1b2c3d4e5f6a7b8c9"})
		if status.Code(err) != codes.NotFound {
			t.Errorf("unknown id: %v", err)
		}
	})
}
