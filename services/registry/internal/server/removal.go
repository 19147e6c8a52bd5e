package server

import (
	"context"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// SensitiveDataRemovalServer implements registryv1.SensitiveDataRemovalService.
type SensitiveDataRemovalServer struct {
	registryv1.UnimplementedSensitiveDataRemovalServiceServer
	svc *domain.Service
}

// OpenRemovalRequest implements registryv1.SensitiveDataRemovalServiceServer.
func (s *SensitiveDataRemovalServer) OpenRemovalRequest(ctx context.Context, req *registryv1.OpenRemovalRequestRequest) (*registryv1.OpenRemovalRequestResponse, error) {
	r, err := s.svc.OpenRemovalRequest(ctx, openRemovalFromProto(req))
	if err != nil {
		return nil, err
	}
	return &registryv1.OpenRemovalRequestResponse{RemovalRequest: removalToProto(r)}, nil
}

// GetRemovalRequest implements registryv1.SensitiveDataRemovalServiceServer.
func (s *SensitiveDataRemovalServer) GetRemovalRequest(ctx context.Context, req *registryv1.GetRemovalRequestRequest) (*registryv1.GetRemovalRequestResponse, error) {
	r, err := s.svc.GetRemovalRequest(ctx, req.GetRemovalRequestId())
	if err != nil {
		return nil, err
	}
	return &registryv1.GetRemovalRequestResponse{RemovalRequest: removalToProto(r)}, nil
}

// ListRemovalRequests implements registryv1.SensitiveDataRemovalServiceServer.
func (s *SensitiveDataRemovalServer) ListRemovalRequests(ctx context.Context, req *registryv1.ListRemovalRequestsRequest) (*registryv1.ListRemovalRequestsResponse, error) {
	list, next, err := s.svc.ListRemovalRequests(ctx, domain.ListRemovalParams{
		PageSize:    req.GetPageSize(),
		PageToken:   req.GetPageToken(),
		CustomerID:  req.GetCustomerId(),
		Status:      removalStatuses.domain(req.GetStatus()),
		OverdueOnly: req.GetOverdueOnly(),
	})
	if err != nil {
		return nil, err
	}
	resp := &registryv1.ListRemovalRequestsResponse{NextPageToken: next}
	for _, r := range list {
		resp.RemovalRequests = append(resp.RemovalRequests, removalToProto(r))
	}
	return resp, nil
}

// RecordRemoval implements registryv1.SensitiveDataRemovalServiceServer.
func (s *SensitiveDataRemovalServer) RecordRemoval(ctx context.Context, req *registryv1.RecordRemovalRequest) (*registryv1.RecordRemovalResponse, error) {
	r, err := s.svc.RecordRemoval(ctx, recordRemovalFromProto(req))
	if err != nil {
		return nil, err
	}
	return &registryv1.RecordRemovalResponse{RemovalRequest: removalToProto(r)}, nil
}

func openRemovalFromProto(req *registryv1.OpenRemovalRequestRequest) domain.OpenRemovalParams {
	p := domain.OpenRemovalParams{
		RequestID:    req.GetRequestId(),
		CustomerID:   req.GetCustomerId(),
		Location:     req.GetLocation(),
		FindingCount: req.GetFindingCount(),
		Source:       req.GetSource(),
		Deadline:     timeOf(req.GetDeadline()),
	}
	for _, t := range req.GetFoundTypes() {
		p.FoundTypes = append(p.FoundTypes, sensitiveTypes.domain(t))
	}
	return p
}

func recordRemovalFromProto(req *registryv1.RecordRemovalRequest) domain.RecordRemovalParams {
	return domain.RecordRemovalParams{
		ID:         req.GetRemovalRequestId(),
		RemovedBy:  removers.domain(req.GetRemovedBy()),
		RemoveTime: timeOf(req.GetRemoveTime()),
		Evidence:   req.GetEvidence(),
		RequestID:  req.GetRequestId(),
	}
}

func removalToProto(r domain.RemovalRequest) *registryv1.RemovalRequest {
	out := &registryv1.RemovalRequest{
		RemovalRequestId:      r.ID,
		CustomerId:            r.CustomerID,
		Location:              r.Location,
		FindingCount:          r.FindingCount,
		Source:                r.Source,
		Status:                removalStatuses.proto(r.Status),
		OpenTime:              timestamp(r.OpenTime),
		Deadline:              timestamp(r.Deadline),
		NotifyCustomerPending: r.NotifyCustomerPending,
		NotificationEmail:     r.NotificationEmail,
		FlagTime:              timestamp(r.FlagTime),
		UpdateTime:            timestamp(r.UpdateTime),
		NotifyTime:            timestamp(r.NotifyTime),
		NoticeId:              r.NoticeID,
	}
	for _, t := range r.FoundTypes {
		out.FoundTypes = append(out.FoundTypes, sensitiveTypes.proto(t))
	}
	if m := r.Removal; m != nil {
		out.Removal = &registryv1.Removal{
			RemovedBy:  removers.proto(m.RemovedBy),
			RemoveTime: timestamp(m.RemoveTime),
			Evidence:   m.Evidence,
			RecordTime: timestamp(m.RecordTime),
			RequestId:  m.RequestID,
		}
	}
	return out
}
