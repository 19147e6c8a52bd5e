package server

import (
	"context"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/protoconv"
)

// IngestSiemPayload implements IntakeService.IngestSiemPayload.
func (h *Handler) IngestSiemPayload(ctx context.Context, req *intakev1.IngestSiemPayloadRequest) (*intakev1.IngestSiemPayloadResponse, error) {
	res, err := h.intake.IngestSiemPayload(ctx, caller(ctx, domain.ActorKindService), domain.SiemPayload{
		Source: req.GetSource(),
		Format: domain.SiemFormat(req.GetFormat()),
		Data:   req.GetPayload(),
	})
	if err != nil {
		return nil, err
	}
	return &intakev1.IngestSiemPayloadResponse{
		SignalId: res.SignalID,
		Outcome:  intakev1.ReportSignalOutcome(res.Outcome),
		Incident: incidentToProto(res.Incident),
		Signal:   signalToProto(res.Signal),
	}, nil
}

// GetQuarantinedPayload implements IntakeService.GetQuarantinedPayload.
func (h *Handler) GetQuarantinedPayload(ctx context.Context, req *intakev1.GetQuarantinedPayloadRequest) (*intakev1.GetQuarantinedPayloadResponse, error) {
	q, err := h.intake.GetQuarantinedPayload(ctx, req.GetQuarantinedPayloadId())
	if err != nil {
		return nil, err
	}
	return &intakev1.GetQuarantinedPayloadResponse{QuarantinedPayload: quarantinedToProto(q)}, nil
}

// ListQuarantinedPayloads implements IntakeService.ListQuarantinedPayloads.
func (h *Handler) ListQuarantinedPayloads(ctx context.Context, req *intakev1.ListQuarantinedPayloadsRequest) (*intakev1.ListQuarantinedPayloadsResponse, error) {
	page, err := h.intake.ListQuarantinedPayloads(ctx, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &intakev1.ListQuarantinedPayloadsResponse{
		QuarantinedPayloads: make([]*intakev1.QuarantinedPayload, 0, len(page.Payloads)),
		NextPageToken:       page.NextPageToken,
	}
	for _, q := range page.Payloads {
		resp.QuarantinedPayloads = append(resp.QuarantinedPayloads, quarantinedToProto(q))
	}
	return resp, nil
}

func quarantinedToProto(q domain.QuarantinedPayload) *intakev1.QuarantinedPayload {
	out := &intakev1.QuarantinedPayload{
		QuarantinedPayloadId: q.ID,
		ReceiveTime:          timestamppb.New(q.ReceivedAt),
		Source:               q.Source,
		Format:               intakev1.SiemFormat(q.Format),
		Payload:              q.Payload,
		PayloadSize:          q.Size,
		PayloadTruncated:     q.Truncated,
		RequestId:            q.RequestID,
	}
	for _, v := range q.Violations {
		out.Violations = append(out.Violations, &intakev1.PayloadViolation{Field: v.Field, Description: v.Description})
	}
	return out
}

// signalToProto converts a stored signal. A raw payload that does not fit
// a Struct (it always does: it was decoded from JSON) is left out.
func signalToProto(s domain.Signal) *intakev1.Signal {
	out := &intakev1.Signal{
		Source:        s.Source,
		SourceEventId: s.SourceEventID,
		Title:         s.Title,
		Description:   s.Description,
		Severity:      intakev1.Severity(s.Severity),
		Type:          intakev1.IncidentType(s.Type),
		ObservedAt:    protoconv.TimeToProto(s.ObservedAt),
		Asset:         s.Asset,
		CustomerIds:   s.CustomerIDs,
	}
	if s.Exposure != nil {
		out.Exposure = protoconv.FactsToProto(*s.Exposure)
	}
	if s.Raw != nil {
		if raw, err := structpb.NewStruct(s.Raw); err == nil {
			out.Raw = raw
		}
	}
	return out
}
