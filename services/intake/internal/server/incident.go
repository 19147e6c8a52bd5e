package server

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/services/intake/internal/domain"
)

// ExportFormat names the format of ExportIncidentResponse documents.
const ExportFormat = "breachline.incident-export.v1"

func updateFromProto(req *intakev1.UpdateIncidentRequest) domain.IncidentUpdate {
	return domain.IncidentUpdate{
		Incident: incidentFromProto(req.GetIncident()),
		Paths:    req.GetUpdateMask().GetPaths(),
		Etag:     req.GetIncident().GetEtag(),
	}
}

func transitionFromProto(req *intakev1.TransitionIncidentRequest) domain.Transition {
	return domain.Transition{
		IncidentID: req.GetIncidentId(),
		To:         domain.IncidentState(req.GetState()),
		Reason:     req.GetReason(),
		Etag:       req.GetEtag(),
	}
}

func noteFromProto(req *intakev1.AddIncidentNoteRequest) domain.Note {
	return domain.Note{IncidentID: req.GetIncidentId(), Text: req.GetNote(), RequestID: req.GetRequestId()}
}

// UpdateIncident implements IntakeService.UpdateIncident.
func (h *Handler) UpdateIncident(ctx context.Context, req *intakev1.UpdateIncidentRequest) (*intakev1.UpdateIncidentResponse, error) {
	inc, e, err := h.intake.UpdateIncident(ctx, caller(ctx, domain.ActorKindPerson), updateFromProto(req))
	if err != nil {
		return nil, err
	}
	return &intakev1.UpdateIncidentResponse{Incident: incidentToProto(inc), Entry: entryPtrToProto(e)}, nil
}

// TransitionIncident implements IntakeService.TransitionIncident.
func (h *Handler) TransitionIncident(ctx context.Context, req *intakev1.TransitionIncidentRequest) (*intakev1.TransitionIncidentResponse, error) {
	inc, e, err := h.intake.TransitionIncident(ctx, caller(ctx, domain.ActorKindPerson), transitionFromProto(req))
	if err != nil {
		return nil, err
	}
	return &intakev1.TransitionIncidentResponse{Incident: incidentToProto(inc), Entry: entryPtrToProto(e)}, nil
}

// AddIncidentNote implements IntakeService.AddIncidentNote.
func (h *Handler) AddIncidentNote(ctx context.Context, req *intakev1.AddIncidentNoteRequest) (*intakev1.AddIncidentNoteResponse, error) {
	e, err := h.intake.AddNote(ctx, caller(ctx, domain.ActorKindPerson), noteFromProto(req))
	if err != nil {
		return nil, err
	}
	return &intakev1.AddIncidentNoteResponse{Entry: EntryToProto(e)}, nil
}

// AppendTimelineEntry implements IntakeService.AppendTimelineEntry.
func (h *Handler) AppendTimelineEntry(ctx context.Context, req *intakev1.AppendTimelineEntryRequest) (*intakev1.AppendTimelineEntryResponse, error) {
	e, err := h.intake.AppendEntry(ctx, caller(ctx, domain.ActorKindService), req.GetIncidentId(), req.GetRequestId(), entryFromProto(req.GetEntry()))
	if err != nil {
		return nil, err
	}
	return &intakev1.AppendTimelineEntryResponse{Entry: EntryToProto(e)}, nil
}

// ListTimeline implements IntakeService.ListTimeline.
func (h *Handler) ListTimeline(ctx context.Context, req *intakev1.ListTimelineRequest) (*intakev1.ListTimelineResponse, error) {
	page, err := h.intake.ListTimeline(ctx, req.GetIncidentId(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &intakev1.ListTimelineResponse{
		Entries:       make([]*intakev1.TimelineEntry, 0, len(page.Entries)),
		NextPageToken: page.NextPageToken,
	}
	for _, e := range page.Entries {
		resp.Entries = append(resp.Entries, EntryToProto(e))
	}
	return resp, nil
}

// VerifyTimeline implements IntakeService.VerifyTimeline.
func (h *Handler) VerifyTimeline(ctx context.Context, req *intakev1.VerifyTimelineRequest) (*intakev1.VerifyTimelineResponse, error) {
	v, err := h.intake.VerifyTimeline(ctx, req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	return verificationToProto(v), nil
}

// ExportIncident implements IntakeService.ExportIncident.
func (h *Handler) ExportIncident(ctx context.Context, req *intakev1.ExportIncidentRequest) (*intakev1.ExportIncidentResponse, error) {
	x, err := h.intake.ExportIncident(ctx, req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	resp := &intakev1.ExportIncidentResponse{
		Format:       ExportFormat,
		ExportTime:   timestamppb.New(x.ExportTime),
		Incident:     incidentToProto(x.Incident),
		Timeline:     make([]*intakev1.TimelineEntry, 0, len(x.Timeline)),
		HeadHash:     x.Verification.HeadHash,
		HashScheme:   domain.HashScheme,
		Verification: verificationToProto(x.Verification),
	}
	for _, e := range x.Timeline {
		resp.Timeline = append(resp.Timeline, EntryToProto(e))
	}
	return resp, nil
}
