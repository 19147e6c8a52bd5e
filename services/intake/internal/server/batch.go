package server

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/breachline/breachline/pkg/apperr"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/validate"
	"github.com/breachline/breachline/services/intake/internal/domain"
)

// MaxBatchSignals is the most signals one ReportSignals call may carry.
const MaxBatchSignals = 500

var _ grpcx.ItemValidator = (*Handler)(nil)

// ValidatesItems implements grpcx.ItemValidator: ReportSignals checks each
// signal on its own, so one incomplete signal does not fail the batch.
func (h *Handler) ValidatesItems(req any) bool {
	_, ok := req.(*intakev1.ReportSignalsRequest)
	return ok
}

// validateBatch checks what makes a whole ReportSignals call invalid.
func validateBatch(r *intakev1.ReportSignalsRequest) error {
	switch n := len(r.GetSignals()); {
	case n == 0:
		return apperr.Invalid("signals", "is required: 1 to %d signals", MaxBatchSignals)
	case n > MaxBatchSignals:
		return apperr.Invalid("signals", "must have at most %d signals, has %d", MaxBatchSignals, n)
	}
	return nil
}

// ReportSignals implements IntakeService.ReportSignals: each signal goes
// through ReportSignal's path on its own. An invalid signal becomes an error
// result; any other error (the store failing) fails the call, and the
// client's retry of the batch returns the signals already reported as
// duplicates.
func (h *Handler) ReportSignals(ctx context.Context, req *intakev1.ReportSignalsRequest) (*intakev1.ReportSignalsResponse, error) {
	if err := validateBatch(req); err != nil {
		return nil, err
	}
	c := caller(ctx, domain.ActorKindService)
	resp := &intakev1.ReportSignalsResponse{Results: make([]*intakev1.ReportSignalsResult, 0, len(req.GetSignals()))}
	for _, sig := range req.GetSignals() {
		res, err := h.reportOne(ctx, c, sig)
		if ie, ok := apperr.AsInvalid(err); ok {
			resp.Results = append(resp.Results, &intakev1.ReportSignalsResult{Error: signalError(ie)})
			continue
		}
		if err != nil {
			return nil, err
		}
		resp.Results = append(resp.Results, &intakev1.ReportSignalsResult{
			SignalId:   res.SignalID,
			Outcome:    intakev1.ReportSignalOutcome(res.Outcome),
			IncidentId: res.Incident.ID,
		})
	}
	return resp, nil
}

// reportOne checks one signal as the interceptors check a ReportSignal call
// (REQUIRED fields, then the domain's rules, all violations at once) and
// reports it.
func (h *Handler) reportOne(ctx context.Context, c domain.Caller, sig *intakev1.Signal) (domain.ReportResult, error) {
	one := &intakev1.ReportSignalRequest{Signal: sig}
	if err := validate.Required(one); err != nil {
		ie, _ := apperr.AsInvalid(err)
		v := append(apperr.Violations(nil), ie.Violations...)
		if de, ok := apperr.AsInvalid(h.intake.Validate(signalFromProto(sig))); ok {
			for _, fv := range de.Violations {
				if !covered(fv.Field, v) {
					v = append(v, fv)
				}
			}
		}
		return domain.ReportResult{}, v.Err()
	}
	return h.intake.ReportSignal(ctx, c, signalFromProto(sig))
}

// covered reports whether field is, or is inside, a field v already names.
func covered(field string, v apperr.Violations) bool {
	for _, have := range v {
		if field == have.Field || strings.HasPrefix(field, have.Field+".") || strings.HasPrefix(field, have.Field+"[") {
			return true
		}
	}
	return false
}

func signalError(ie *apperr.InvalidError) *intakev1.SignalError {
	out := &intakev1.SignalError{Code: int32(codes.InvalidArgument), Message: ie.Error()}
	for _, fv := range ie.Violations {
		out.FieldViolations = append(out.FieldViolations, &intakev1.SignalFieldViolation{Field: fv.Field, Description: fv.Description})
	}
	return out
}
