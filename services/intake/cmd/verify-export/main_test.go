package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/server"
	"github.com/breachline/breachline/services/intake/internal/store"
)

// export builds a real export: an incident reported, updated and annotated
// through the domain over the real store, exported by the real handler.
func export(t *testing.T) *intakev1.ExportIncidentResponse {
	t.Helper()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatal(err)
	}
	in := domain.NewIntake(store.New(db), time.Now)
	svc := domain.Caller{Actor: domain.Actor{Kind: domain.ActorKindService, Subject: "splunk-prod"}}
	res, err := in.ReportSignal(t.Context(), svc, domain.Signal{
		Source: "splunk-prod", SourceEventID: "e-1", Title: "Laptop stolen — «ünïcode»",
		ObservedAt: time.Now().Add(-time.Hour), Type: domain.IncidentTypeLostOrStolenDevice,
	})
	if err != nil {
		t.Fatal(err)
	}
	person := domain.Caller{Actor: domain.Actor{Kind: domain.ActorKindPerson, Subject: "alice"}, CorrelationID: "c1"}
	if _, err := in.AddNote(t.Context(), person, domain.Note{IncidentID: res.Incident.ID, Text: "Police report filed.\nCase 42 <&>"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := in.UpdateIncident(t.Context(), person, domain.IncidentUpdate{
		Incident: domain.Incident{ID: res.Incident.ID, Record: domain.IncidentRecord{PhysicalAssetsMissing: []string{"ThinkPad T14, asset 0042"}}},
		Paths:    []string{"record.physical_assets_missing"}, Etag: res.Incident.Etag(),
	}); err != nil {
		t.Fatal(err)
	}
	x, err := server.New(in).ExportIncident(t.Context(), &intakev1.ExportIncidentRequest{IncidentId: res.Incident.ID})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func verifyFile(t *testing.T, data []byte) (int, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "export.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run(path, nil, &out, &errOut)
	return code, out.String() + errOut.String()
}

func TestVerifyExport(t *testing.T) {
	t.Parallel()
	x := export(t)

	for _, tc := range []struct {
		name   string
		tamper func(x *intakev1.ExportIncidentResponse)
		code   int
		want   string
	}{
		{"untouched", func(*intakev1.ExportIncidentResponse) {}, 0, "OK: incident " + x.GetIncident().GetIncidentId() + ", 3 entries, head hash " + x.GetHeadHash()},
		{"altered_note", func(x *intakev1.ExportIncidentResponse) { x.GetTimeline()[1].Note = "No police report." }, 1, "seq 2 ALTERED"},
		{"altered_change", func(x *intakev1.ExportIncidentResponse) { x.GetTimeline()[2].GetChanges()[0].NewValue = "[]" }, 1, "seq 3 ALTERED"},
		{"removed_entry", func(x *intakev1.ExportIncidentResponse) {
			x.Timeline = append(x.GetTimeline()[:1], x.GetTimeline()[2:]...)
		}, 1, "seq 2 MISSING"},
		{"removed_tail", func(x *intakev1.ExportIncidentResponse) { x.Timeline = x.GetTimeline()[:2] }, 1, "head hash"},
		{"reordered", func(x *intakev1.ExportIncidentResponse) {
			x.Timeline[1], x.Timeline[2] = x.GetTimeline()[2], x.GetTimeline()[1]
		}, 1, "MISSING"},
	} {
		t.Run("case="+tc.name, func(t *testing.T) {
			t.Parallel()
			y := cloneExport(t, x)
			tc.tamper(y)
			data, err := protojson.Marshal(y)
			if err != nil {
				t.Fatal(err)
			}
			code, out := verifyFile(t, data)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("verify-export = %d %q, want %d containing %q", code, out, tc.code, tc.want)
			}
		})
	}

	t.Run("case=not_an_export", func(t *testing.T) {
		t.Parallel()
		if code, _ := verifyFile(t, []byte(`{"hello":`)); code != 2 {
			t.Errorf("exit = %d, want 2", code)
		}
	})
}

func cloneExport(t *testing.T, x *intakev1.ExportIncidentResponse) *intakev1.ExportIncidentResponse {
	t.Helper()
	b, err := protojson.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	var y intakev1.ExportIncidentResponse
	if err := protojson.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return &y
}
