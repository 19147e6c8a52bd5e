// Package server implements breachline.intake.v1.IntakeService: it converts
// between protobuf and domain types and calls the domain, nothing more.
// Errors are returned unchanged; pkg/grpcx maps them to gRPC statuses.
package server

import (
	"context"

	"github.com/breachline/breachline/pkg/auth"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/services/intake/internal/domain"
)

// Handler serves IntakeService.
type Handler struct {
	intakev1.UnimplementedIntakeServiceServer
	intake *domain.Intake
}

var _ intakev1.IntakeServiceServer = (*Handler)(nil)

// New returns the handler over the intake use cases.
func New(intake *domain.Intake) *Handler {
	return &Handler{intake: intake}
}

// ReportSignal implements IntakeService.ReportSignal.
func (h *Handler) ReportSignal(ctx context.Context, req *intakev1.ReportSignalRequest) (*intakev1.ReportSignalResponse, error) {
	res, err := h.intake.ReportSignal(ctx, caller(ctx, domain.ActorKindService), signalFromProto(req.GetSignal()))
	if err != nil {
		return nil, err
	}
	return &intakev1.ReportSignalResponse{
		SignalId: res.SignalID,
		Outcome:  intakev1.ReportSignalOutcome(res.Outcome),
		Incident: incidentToProto(res.Incident),
	}, nil
}

// GetIncident implements IntakeService.GetIncident.
func (h *Handler) GetIncident(ctx context.Context, req *intakev1.GetIncidentRequest) (*intakev1.GetIncidentResponse, error) {
	inc, err := h.intake.GetIncident(ctx, req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	return &intakev1.GetIncidentResponse{Incident: incidentToProto(inc)}, nil
}

// ListIncidents implements IntakeService.ListIncidents.
func (h *Handler) ListIncidents(ctx context.Context, req *intakev1.ListIncidentsRequest) (*intakev1.ListIncidentsResponse, error) {
	page, err := h.intake.ListIncidents(ctx,
		domain.IncidentFilter{State: domain.IncidentState(req.GetState()), CustomerID: req.GetCustomerId()},
		req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &intakev1.ListIncidentsResponse{
		Incidents:     make([]*intakev1.Incident, 0, len(page.Incidents)),
		NextPageToken: page.NextPageToken,
	}
	for _, inc := range page.Incidents {
		resp.Incidents = append(resp.Incidents, incidentToProto(inc))
	}
	return resp, nil
}

// caller is who is calling, for the timeline. The RPC decides the kind:
// SIEMs report signals and services append entries; people update,
// transition and write notes. A service acting for a person is recorded as
// "<service> on behalf of <person>", so the entry names both.
func caller(ctx context.Context, kind domain.ActorKind) domain.Caller {
	subject := "anonymous"
	if id, ok := auth.FromContext(ctx); ok && id.Subject != "" {
		subject = id.Subject
		if id.OnBehalfOf != "" {
			subject += " on behalf of " + id.OnBehalfOf
		}
	}
	return domain.Caller{Actor: domain.Actor{Kind: kind, Subject: subject}, CorrelationID: grpcx.RequestID(ctx)}
}
