// Package server holds the ClassificationService gRPC handlers: proto to
// domain conversion and back, nothing else. Errors are returned unchanged;
// pkg/grpcx maps them to statuses with details.
package server

import (
	"context"
	"time"

	"github.com/breachline/breachline/pkg/grpcx"

	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	"github.com/breachline/breachline/services/classification/internal/domain"
	"github.com/breachline/breachline/services/classification/internal/protoconv"
	"github.com/breachline/breachline/services/classification/internal/rules"
)

// Server implements classificationv1.ClassificationServiceServer over the
// domain service.
type Server struct {
	classificationv1.UnimplementedClassificationServiceServer
	svc    *domain.Service
	engine *rules.Engine
	now    func() time.Time
}

var _ classificationv1.ClassificationServiceServer = (*Server)(nil)

// New returns the handlers for svc; engine serves the rule packs it uses.
func New(svc *domain.Service, engine *rules.Engine, now func() time.Time) *Server {
	return &Server{svc: svc, engine: engine, now: now}
}

// AssessHypothetical decides on hypothetical facts without storing anything.
func (s *Server) AssessHypothetical(ctx context.Context, req *classificationv1.AssessHypotheticalRequest) (*classificationv1.AssessHypotheticalResponse, error) {
	a, err := s.svc.AssessHypothetical(ctx, protoconv.FactsFromProto(req.GetFacts()))
	if err != nil {
		return nil, err
	}
	return &classificationv1.AssessHypotheticalResponse{Assessment: protoconv.AssessmentToProto(a)}, nil
}

// AssessIncident assesses an incident's facts; idempotent on request_id.
func (s *Server) AssessIncident(ctx context.Context, req *classificationv1.AssessIncidentRequest) (*classificationv1.AssessIncidentResponse, error) {
	a, err := s.svc.Assess(ctx, assessRequestFromProto(req))
	if err != nil {
		return nil, err
	}
	return &classificationv1.AssessIncidentResponse{Assessment: protoconv.AssessmentToProto(a)}, nil
}

// GetAssessment returns one stored assessment.
func (s *Server) GetAssessment(ctx context.Context, req *classificationv1.GetAssessmentRequest) (*classificationv1.GetAssessmentResponse, error) {
	a, err := s.svc.Get(ctx, req.GetAssessmentId())
	if err != nil {
		return nil, err
	}
	return &classificationv1.GetAssessmentResponse{Assessment: protoconv.AssessmentToProto(a)}, nil
}

// ListAssessments returns a page of assessments, newest first.
func (s *Server) ListAssessments(ctx context.Context, req *classificationv1.ListAssessmentsRequest) (*classificationv1.ListAssessmentsResponse, error) {
	page, next, err := s.svc.List(ctx, req.GetPageSize(), req.GetPageToken(), req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	resp := &classificationv1.ListAssessmentsResponse{NextPageToken: next}
	for _, a := range page {
		resp.Assessments = append(resp.Assessments, protoconv.AssessmentToProto(a))
	}
	return resp, nil
}

// ReproduceAssessment decides a stored assessment again with the pack
// versions it names and compares the result with the stored decision.
func (s *Server) ReproduceAssessment(ctx context.Context, req *classificationv1.ReproduceAssessmentRequest) (*classificationv1.ReproduceAssessmentResponse, error) {
	r, err := s.svc.Reproduce(ctx, req.GetAssessmentId())
	if err != nil {
		return nil, err
	}
	resp := &classificationv1.ReproduceAssessmentResponse{
		Assessment: protoconv.AssessmentToProto(r.Assessment),
		Identical:  r.Identical(),
	}
	for _, d := range r.Differences {
		resp.Differences = append(resp.Differences, &classificationv1.AssessmentDifference{
			ObligationId: d.ObligationID, Field: d.Field, Stored: d.Stored, Reproduced: d.Reproduced,
		})
	}
	return resp, nil
}

func assessRequestFromProto(req *classificationv1.AssessIncidentRequest) domain.AssessRequest {
	return domain.AssessRequest{
		RequestID:  req.GetRequestId(),
		IncidentID: req.GetIncidentId(),
		Facts:      protoconv.FactsFromProto(req.GetFacts()),
	}
}

var _ grpcx.RequestValidator = (*Server)(nil)

// ValidateRequest implements grpcx.RequestValidator, so a request that
// misses REQUIRED fields is told about every other problem in one answer.
func (s *Server) ValidateRequest(_ context.Context, req any) error {
	switch r := req.(type) {
	case *classificationv1.AssessIncidentRequest:
		return s.svc.Validate(assessRequestFromProto(r))
	case *classificationv1.AssessHypotheticalRequest:
		return s.svc.ValidateFacts(protoconv.FactsFromProto(r.GetFacts()))
	}
	return nil
}
