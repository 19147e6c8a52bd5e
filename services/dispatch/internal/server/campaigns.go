// Package server is dispatch's gRPC surface: each handler converts the proto
// request to domain types, calls the domain Service and converts the result
// back. Errors are returned unchanged; pkg/grpcx maps them to statuses.
package server

import (
	"context"

	"github.com/breachline/breachline/pkg/grpcx"

	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// Server implements dispatchv1.DispatchServiceServer over a domain Service.
type Server struct {
	dispatchv1.UnimplementedDispatchServiceServer
	svc     *domain.Service
	notices *domain.Notices
}

// New returns a Server backed by svc.
func New(svc *domain.Service) *Server {
	return &Server{svc: svc}
}

// WithNotices serves SendNotice and GetNotice from n.
func (s *Server) WithNotices(n *domain.Notices) *Server {
	s.notices = n
	return s
}

// CreateDraftCampaigns drafts one campaign per obligation (idempotent on
// assessment and obligation id).
func (s *Server) CreateDraftCampaigns(ctx context.Context, req *dispatchv1.CreateDraftCampaignsRequest) (*dispatchv1.CreateDraftCampaignsResponse, error) {
	in, bad := draftRequestFromProto(req)
	if len(bad) > 0 {
		// A malformed timestamp cannot be converted; report it together with
		// everything else wrong in the request.
		return nil, append(in.Validate(), bad...).Err()
	}
	res, err := s.svc.CreateDrafts(ctx, in)
	if err != nil {
		return nil, err
	}
	out := &dispatchv1.CreateDraftCampaignsResponse{
		Campaigns:    make([]*dispatchv1.Campaign, len(res.Campaigns)),
		CreatedCount: int32(res.Created),
	}
	for i, c := range res.Campaigns {
		if out.Campaigns[i], err = s.view(ctx, c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GetCampaign returns one campaign.
func (s *Server) GetCampaign(ctx context.Context, req *dispatchv1.GetCampaignRequest) (*dispatchv1.GetCampaignResponse, error) {
	c, err := s.svc.GetCampaign(ctx, req.GetCampaignId())
	if err != nil {
		return nil, err
	}
	out, err := s.view(ctx, c)
	return &dispatchv1.GetCampaignResponse{Campaign: out}, err
}

// ListCampaigns returns a page of campaigns in drafting order.
func (s *Server) ListCampaigns(ctx context.Context, req *dispatchv1.ListCampaignsRequest) (*dispatchv1.ListCampaignsResponse, error) {
	res, err := s.svc.ListCampaigns(ctx, domain.ListRequest{
		PageSize:   req.GetPageSize(),
		PageToken:  req.GetPageToken(),
		IncidentID: req.GetIncidentId(),
	})
	if err != nil {
		return nil, err
	}
	out := &dispatchv1.ListCampaignsResponse{
		Campaigns:     make([]*dispatchv1.Campaign, len(res.Campaigns)),
		NextPageToken: res.NextPageToken,
	}
	for i, c := range res.Campaigns {
		if out.Campaigns[i], err = s.view(ctx, c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

var _ grpcx.RequestValidator = (*Server)(nil)

// ValidateRequest implements grpcx.RequestValidator, so a request that
// misses REQUIRED fields is told about every other problem in one answer.
func (s *Server) ValidateRequest(_ context.Context, req any) error {
	if r, ok := req.(*dispatchv1.CreateDraftCampaignsRequest); ok {
		in, bad := draftRequestFromProto(r)
		return append(in.Validate(), bad...).Err()
	}
	if r, ok := req.(*dispatchv1.SendNoticeRequest); ok {
		return noticeParams(r).Validate()
	}
	return nil
}
