package server_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/breachline/breachline/pkg/auth"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
)

func TestWorkingAnIncident(t *testing.T) {
	t.Parallel()
	c, _ := start(t)
	inc := report(t, c, signal("evt-work")).GetIncident()
	id := inc.GetIncidentId()
	if inc.GetRecord().GetDiscovery().GetDiscoveredBy() != "siem:splunk-prod" ||
		inc.GetRecord().GetIntrusion().GetCompromisedSystems()[0] != "hr-db-01" {
		t.Errorf("record from signal = %v", inc.GetRecord())
	}
	as := func(subject string) metadata.MD { return metadata.Pairs(auth.DevSubjectHeader, subject) }

	t.Run("method=UpdateIncident/case=ok", func(t *testing.T) {
		ctx := metadata.NewOutgoingContext(t.Context(), as("alice"))
		resp, err := c.UpdateIncident(ctx, &intakev1.UpdateIncidentRequest{
			Incident: &intakev1.Incident{IncidentId: id, Etag: inc.GetEtag(), Record: &intakev1.IncidentRecord{
				Location:    "Frankfurt DC",
				RecordsForm: intakev1.RecordsForm_RECORDS_FORM_ELECTRONIC,
				DataImpact:  &intakev1.DataImpact{Viewed: intakev1.Determination_DETERMINATION_YES},
			}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"record.location", "record.records_form", "record.data_impact.viewed", "etag"}},
		})
		if err != nil {
			t.Fatalf("UpdateIncident: %v", err)
		}
		got := resp.GetIncident()
		if got.GetRecord().GetLocation() != "Frankfurt DC" || got.GetEtag() == inc.GetEtag() ||
			resp.GetEntry().GetActor().GetSubject() != "alice" || len(resp.GetEntry().GetChanges()) != 3 ||
			resp.GetEntry().GetIncidentEtag() != got.GetEtag() || resp.GetEntry().GetCorrelationId() == "" {
			t.Errorf("response = %v", resp)
		}
		_, err = c.UpdateIncident(ctx, &intakev1.UpdateIncidentRequest{
			Incident:   &intakev1.Incident{IncidentId: id, Etag: inc.GetEtag(), Title: "stale"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}},
		})
		if status.Code(err) != codes.Aborted {
			t.Errorf("stale etag: %v, want Aborted", err)
		}
	})

	t.Run("method=UpdateIncident/case=invalid", func(t *testing.T) {
		_, err := c.UpdateIncident(t.Context(), &intakev1.UpdateIncidentRequest{
			Incident:   &intakev1.Incident{IncidentId: id},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"state", "nope"}},
		})
		code, fields := badRequestFields(t, err)
		if want := []string{"incident.etag", "update_mask", "update_mask"}; code != codes.InvalidArgument || !slices.Equal(fields, want) {
			t.Errorf("error = %v %v, want InvalidArgument on %v", code, fields, want)
		}
	})

	t.Run("method=TransitionIncident/case=allowed_and_refused", func(t *testing.T) {
		ctx := metadata.NewOutgoingContext(t.Context(), as("bob"))
		resp, err := c.TransitionIncident(ctx, &intakev1.TransitionIncidentRequest{
			IncidentId: id, State: intakev1.IncidentState_INCIDENT_STATE_TRIAGE, Reason: "looking at it",
		})
		if err != nil || resp.GetIncident().GetState() != intakev1.IncidentState_INCIDENT_STATE_TRIAGE || resp.GetEntry().GetNote() != "looking at it" {
			t.Fatalf("TransitionIncident = %v, %v", resp, err)
		}
		_, err = c.TransitionIncident(ctx, &intakev1.TransitionIncidentRequest{
			IncidentId: id, State: intakev1.IncidentState_INCIDENT_STATE_NOTIFYING, Reason: "skip ahead",
		})
		st := status.Convert(err)
		var reason string
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok {
				reason = info.GetReason()
			}
		}
		if st.Code() != codes.FailedPrecondition || reason != "FAILED_PRECONDITION" ||
			!strings.Contains(st.Message(), "allowed next states: INVESTIGATING, CLOSED") {
			t.Errorf("refused transition = %v (reason %q)", err, reason)
		}
	})

	t.Run("method=AddIncidentNote/case=idempotent", func(t *testing.T) {
		ctx := metadata.NewOutgoingContext(t.Context(), as("carol"))
		req := &intakev1.AddIncidentNoteRequest{IncidentId: id, Note: "Reset the VPN credentials of j.doe.", RequestId: "n-1"}
		first, err := c.AddIncidentNote(ctx, req)
		if err != nil || first.GetEntry().GetActor().GetKind() != intakev1.ActorKind_ACTOR_KIND_PERSON || first.GetEntry().GetActor().GetSubject() != "carol" {
			t.Fatalf("AddIncidentNote = %v, %v", first, err)
		}
		again, err := c.AddIncidentNote(ctx, req)
		if err != nil || again.GetEntry().GetHash() != first.GetEntry().GetHash() {
			t.Errorf("retry = %v, %v", again, err)
		}
		_, err = c.AddIncidentNote(ctx, &intakev1.AddIncidentNoteRequest{IncidentId: id, Note: strings.Repeat("x", 16<<10+1)})
		if code, fields := badRequestFields(t, err); code != codes.InvalidArgument || !slices.Equal(fields, []string{"note"}) {
			t.Errorf("oversized note: %v %v", code, fields)
		}
	})

	t.Run("method=AppendTimelineEntry/case=service_entry", func(t *testing.T) {
		ctx := metadata.NewOutgoingContext(t.Context(), as("svc-dispatch"))
		resp, err := c.AppendTimelineEntry(ctx, &intakev1.AppendTimelineEntryRequest{
			IncidentId: id, RequestId: "camp-1:approved",
			Entry: &intakev1.TimelineEntry{Action: "dispatch.campaign_approved", Summary: "Campaign approved"},
		})
		if err != nil || resp.GetEntry().GetActor().GetKind() != intakev1.ActorKind_ACTOR_KIND_SERVICE {
			t.Fatalf("AppendTimelineEntry = %v, %v", resp, err)
		}
		_, err = c.AppendTimelineEntry(ctx, &intakev1.AppendTimelineEntryRequest{
			IncidentId: id, Entry: &intakev1.TimelineEntry{Action: "note.added"},
		})
		if code, fields := badRequestFields(t, err); code != codes.InvalidArgument || !slices.Equal(fields, []string{"request_id", "entry.action"}) {
			t.Errorf("reserved action without request id: %v %v", code, fields)
		}
	})

	t.Run("method=ListTimeline+VerifyTimeline+ExportIncident", func(t *testing.T) {
		list, err := c.ListTimeline(t.Context(), &intakev1.ListTimelineRequest{IncidentId: id})
		if err != nil {
			t.Fatalf("ListTimeline: %v", err)
		}
		var acts []string
		for _, e := range list.GetEntries() {
			acts = append(acts, e.GetAction())
		}
		want := []string{"incident.created", "incident.updated", "incident.transitioned", "note.added", "dispatch.campaign_approved"}
		if !slices.Equal(acts, want) {
			t.Errorf("timeline = %v, want %v", acts, want)
		}
		v, err := c.VerifyTimeline(t.Context(), &intakev1.VerifyTimelineRequest{IncidentId: id})
		if err != nil || !v.GetOk() || v.GetEntriesChecked() != 5 || v.GetHeadHash() != list.GetEntries()[4].GetHash() {
			t.Errorf("VerifyTimeline = %v, %v", v, err)
		}
		x, err := c.ExportIncident(t.Context(), &intakev1.ExportIncidentRequest{IncidentId: id})
		if err != nil || x.GetFormat() != "breachline.incident-export.v1" || len(x.GetTimeline()) != 5 ||
			x.GetHeadHash() != v.GetHeadHash() || !strings.HasPrefix(x.GetHashScheme(), "sha256-netstring-v1:") ||
			x.GetIncident().GetRecord().GetLocation() != "Frankfurt DC" {
			t.Errorf("ExportIncident = %v, %v", x, err)
		}
	})
}
