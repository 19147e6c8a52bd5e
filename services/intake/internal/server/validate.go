package server

import (
	"context"

	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
)

var _ grpcx.RequestValidator = (*Handler)(nil)

// ValidateRequest implements grpcx.RequestValidator, so a signal that misses
// REQUIRED fields is told about every other problem in the same answer.
func (h *Handler) ValidateRequest(_ context.Context, req any) error {
	if r, ok := req.(*intakev1.ReportSignalRequest); ok && r.GetSignal() != nil {
		return h.intake.Validate(signalFromProto(r.GetSignal()))
	}
	return nil
}
