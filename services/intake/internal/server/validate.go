package server

import (
	"context"

	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/services/intake/internal/domain"
)

var _ grpcx.RequestValidator = (*Handler)(nil)

// ValidateRequest implements grpcx.RequestValidator, so a signal that misses
// REQUIRED fields is told about every other problem in the same answer.
func (h *Handler) ValidateRequest(_ context.Context, req any) error {
	switch r := req.(type) {
	case *intakev1.ReportSignalRequest:
		if r.GetSignal() != nil {
			return h.intake.Validate(signalFromProto(r.GetSignal()))
		}
	case *intakev1.ReportSignalsRequest:
		return validateBatch(r)
	case *intakev1.UpdateIncidentRequest:
		return h.intake.ValidateUpdate(updateFromProto(r))
	case *intakev1.TransitionIncidentRequest:
		return domain.ValidateTransition(transitionFromProto(r))
	case *intakev1.AddIncidentNoteRequest:
		return domain.ValidateNote(noteFromProto(r))
	case *intakev1.AppendTimelineEntryRequest:
		return domain.ValidateEntry(r.GetIncidentId(), r.GetRequestId(), entryFromProto(r.GetEntry()))
	}
	return nil
}
