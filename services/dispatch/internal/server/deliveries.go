package server

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// ListDeliveries lists a page of a campaign's deliveries.
func (s *Server) ListDeliveries(ctx context.Context, req *dispatchv1.ListDeliveriesRequest) (*dispatchv1.ListDeliveriesResponse, error) {
	res, err := s.svc.ListDeliveries(ctx, domain.DeliveriesRequest{
		CampaignID: req.GetCampaignId(), PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
		Status: domain.DeliveryStatus(req.GetStatus()), Channel: domain.Channel(req.GetChannel()),
	})
	if err != nil {
		return nil, err
	}
	out := &dispatchv1.ListDeliveriesResponse{NextPageToken: res.NextPageToken, Version: res.Version,
		Deliveries: make([]*dispatchv1.Delivery, len(res.Deliveries))}
	for i, d := range res.Deliveries {
		out.Deliveries[i] = deliveryToProto(d)
	}
	return out, nil
}

func deliveryToProto(d domain.Delivery) *dispatchv1.Delivery {
	out := &dispatchv1.Delivery{
		RecipientKey: d.RecipientKey, Name: d.Name, Address: d.Address, Jurisdiction: d.Jurisdiction,
		Channel: dispatchv1.Channel(d.Channel), Version: d.Version, Status: dispatchv1.DeliveryStatus(d.Status),
		Attempts: int32(min(d.Attempts, 1<<30)), Outcome: d.Outcome, MessageId: d.MessageID, ProviderMessageId: d.Provider,
	}
	for _, b := range d.Bounces {
		out.Bounces = append(out.Bounces, &dispatchv1.Bounce{Type: dispatchv1.BounceType(b.Type), Diagnostic: b.Diagnostic, RecordTime: timestamppb.New(b.Time)})
	}
	return out
}

// RecordBounce records a bounce or complaint against a delivery.
func (s *Server) RecordBounce(ctx context.Context, req *dispatchv1.RecordBounceRequest) (*dispatchv1.RecordBounceResponse, error) {
	res, err := s.svc.RecordBounce(ctx, domain.BounceRequest{
		RequestID: req.GetRequestId(), MessageID: req.GetMessageId(), Type: domain.BounceType(req.GetType()),
		Diagnostic: req.GetDiagnostic(), DSN: req.GetDsn(),
	})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.RecordBounceResponse{Delivery: deliveryToProto(res.Delivery), CampaignId: res.CampaignID, LetterFallbackQueued: res.FallbackQueued}, nil
}

// ListArtifacts lists a campaign's artefacts.
func (s *Server) ListArtifacts(ctx context.Context, req *dispatchv1.ListArtifactsRequest) (*dispatchv1.ListArtifactsResponse, error) {
	as, err := s.svc.ListArtifacts(ctx, req.GetCampaignId())
	if err != nil {
		return nil, err
	}
	out := &dispatchv1.ListArtifactsResponse{Artifacts: make([]*dispatchv1.Artifact, len(as))}
	for i, a := range as {
		out.Artifacts[i] = artifactToProto(a)
	}
	return out, nil
}

// GetArtifact returns one artefact and its content.
func (s *Server) GetArtifact(ctx context.Context, req *dispatchv1.GetArtifactRequest) (*dispatchv1.GetArtifactResponse, error) {
	a, b, err := s.svc.GetArtifact(ctx, req.GetCampaignId(), req.GetName())
	if err != nil {
		return nil, err
	}
	return &dispatchv1.GetArtifactResponse{Artifact: artifactToProto(a), Content: b}, nil
}

func artifactToProto(a domain.Artifact) *dispatchv1.Artifact {
	return &dispatchv1.Artifact{
		Name: a.Name, CampaignId: a.CampaignID, Version: a.Version, Kind: a.Kind, ContentType: a.ContentType,
		SizeBytes: a.Size, Sha256: a.SHA256, CreateTime: timestamppb.New(a.CreateTime), RecipientCount: a.RecipientCount, Note: a.Note,
	}
}
