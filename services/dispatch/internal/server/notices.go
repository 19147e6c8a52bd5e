package server

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/auth"
	"github.com/breachline/breachline/pkg/authz"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// actor is the authenticated caller; the interceptor chain guarantees one.
func actor(ctx context.Context) (string, error) {
	id, ok := auth.FromContext(ctx)
	if !ok || id.Subject == "" {
		return "", fmt.Errorf("no caller identity: %w", apperr.ErrUnauthenticated)
	}
	return id.Subject, nil
}

func (s *Server) view(ctx context.Context, c domain.Campaign) (*dispatchv1.Campaign, error) {
	v, err := s.svc.Describe(ctx, c)
	if err != nil {
		return nil, err
	}
	out := campaignToProto(c)
	out.MissingApprovals = v.MissingApprovals
	out.ActiveHoldIds = v.ActiveHolds
	return out, nil
}

// UpdateCampaign edits a draft and makes a new version.
func (s *Server) UpdateCampaign(ctx context.Context, req *dispatchv1.UpdateCampaignRequest) (*dispatchv1.UpdateCampaignResponse, error) {
	who, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	c := req.GetCampaign()
	c2, err := s.svc.UpdateCampaign(ctx, domain.Edit{
		CampaignID: c.GetCampaignId(), Mask: req.GetUpdateMask().GetPaths(),
		Channel: domain.Channel(c.GetChannel()), TemplateID: c.GetTemplateId(), Content: c.GetContent(), Actor: who,
	})
	if err != nil {
		return nil, err
	}
	out, err := s.view(ctx, c2)
	return &dispatchv1.UpdateCampaignResponse{Campaign: out}, err
}

// PreviewCampaign renders the current version for a sample recipient.
func (s *Server) PreviewCampaign(ctx context.Context, req *dispatchv1.PreviewCampaignRequest) (*dispatchv1.PreviewCampaignResponse, error) {
	r := req.GetRecipient()
	out, err := s.svc.Preview(ctx, req.GetCampaignId(), domain.Recipient{Name: r.GetName(), Address: r.GetAddress(), Jurisdiction: r.GetJurisdiction()})
	if err != nil {
		return nil, err
	}
	return &dispatchv1.PreviewCampaignResponse{Subject: out.Subject, Body: out.Body, Version: out.Version, ContentHash: out.ContentHash}, nil
}

// ListTemplates lists the template catalogue.
func (s *Server) ListTemplates(_ context.Context, req *dispatchv1.ListTemplatesRequest) (*dispatchv1.ListTemplatesResponse, error) {
	out := &dispatchv1.ListTemplatesResponse{}
	for _, t := range s.svc.Templates().All() {
		if (req.GetAudience() != "" && req.GetAudience() != t.Audience) || (req.GetJurisdiction() != "" && req.GetJurisdiction() != t.Jurisdiction) {
			continue
		}
		out.Templates = append(out.Templates, &dispatchv1.Template{
			TemplateId: t.ID(), Audience: t.Audience, Jurisdiction: t.Jurisdiction, Version: t.Version,
			Subject: t.Subject, Body: t.Body, RequiredPhrases: t.RequiredPhrases,
		})
	}
	return out, nil
}

// AddRecipients adds recipients to a draft.
func (s *Server) AddRecipients(ctx context.Context, req *dispatchv1.AddRecipientsRequest) (*dispatchv1.AddRecipientsResponse, error) {
	who, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	rs := make([]domain.Recipient, len(req.GetRecipients()))
	for i, r := range req.GetRecipients() {
		rs[i] = domain.Recipient{Name: r.GetName(), Address: r.GetAddress(), Jurisdiction: r.GetJurisdiction(), PostalAddress: r.GetPostalAddress()}
	}
	n, c, err := s.svc.AddRecipients(ctx, req.GetCampaignId(), req.GetRequestId(), who, rs)
	if err != nil {
		return nil, err
	}
	out, err := s.view(ctx, c)
	return &dispatchv1.AddRecipientsResponse{AddedCount: int32(n), Campaign: out}, err
}

// ApproveCampaign records the caller's approval of a version. The approver
// is the authenticated subject, and the role it claims must be one its
// credentials hold (authz.ApprovalRoles).
func (s *Server) ApproveCampaign(ctx context.Context, req *dispatchv1.ApproveCampaignRequest) (*dispatchv1.ApproveCampaignResponse, error) {
	who, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	id, _ := auth.FromContext(ctx)
	approver := domain.Approver{Subject: who, Roles: authz.ApprovalRoles(id.Roles)}
	c, err := s.svc.Approve(ctx, req.GetCampaignId(), req.GetVersion(), req.GetContentHash(), req.GetRole(), approver)
	if err != nil {
		return nil, err
	}
	out, err := s.view(ctx, c)
	return &dispatchv1.ApproveCampaignResponse{Campaign: out}, err
}

func (s *Server) holdToProto(ctx context.Context, h domain.Hold) (*dispatchv1.Hold, error) {
	out := &dispatchv1.Hold{
		HoldId: h.ID, IncidentId: h.IncidentID, CampaignId: h.CampaignID, RequestedBy: h.RequestedBy,
		Reason: h.Reason, PlacedBy: h.PlacedBy, PlaceTime: timestamppb.New(h.PlaceTime), ReleasedBy: h.ReleasedBy,
	}
	if !h.Active() {
		out.ReleaseTime = timestamppb.New(h.ReleaseTime)
	}
	ds, err := s.svc.PausedDeadlines(ctx, h)
	if err != nil {
		return nil, err
	}
	for id, d := range ds {
		pd := &dispatchv1.PausedDeadline{CampaignId: id}
		if !d.IsZero() {
			pd.Deadline = timestamppb.New(d)
		}
		out.PausedDeadlines = append(out.PausedDeadlines, pd)
	}
	return out, nil
}

// PlaceHold records a law-enforcement hold.
func (s *Server) PlaceHold(ctx context.Context, req *dispatchv1.PlaceHoldRequest) (*dispatchv1.PlaceHoldResponse, error) {
	who, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	h := req.GetHold()
	got, err := s.svc.PlaceHold(ctx, domain.Hold{
		RequestID: req.GetRequestId(), IncidentID: h.GetIncidentId(), CampaignID: h.GetCampaignId(),
		RequestedBy: h.GetRequestedBy(), Reason: h.GetReason(), PlacedBy: who,
	})
	if err != nil {
		return nil, err
	}
	out, err := s.holdToProto(ctx, got)
	return &dispatchv1.PlaceHoldResponse{Hold: out}, err
}

// ReleaseHold releases a hold.
func (s *Server) ReleaseHold(ctx context.Context, req *dispatchv1.ReleaseHoldRequest) (*dispatchv1.ReleaseHoldResponse, error) {
	who, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	h, err := s.svc.ReleaseHold(ctx, req.GetHoldId(), who)
	if err != nil {
		return nil, err
	}
	out, err := s.holdToProto(ctx, h)
	return &dispatchv1.ReleaseHoldResponse{Hold: out}, err
}

// ListHolds lists holds.
func (s *Server) ListHolds(ctx context.Context, req *dispatchv1.ListHoldsRequest) (*dispatchv1.ListHoldsResponse, error) {
	hs, err := s.svc.ListHolds(ctx, req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	out := &dispatchv1.ListHoldsResponse{}
	for _, h := range hs {
		p, err := s.holdToProto(ctx, h)
		if err != nil {
			return nil, err
		}
		out.Holds = append(out.Holds, p)
	}
	return out, nil
}

// SendCampaign starts sending an approved version.
func (s *Server) SendCampaign(ctx context.Context, req *dispatchv1.SendCampaignRequest) (*dispatchv1.SendCampaignResponse, error) {
	c, err := s.svc.Send(ctx, req.GetCampaignId(), req.GetVersion())
	if err != nil {
		return nil, err
	}
	out, err := s.view(ctx, c)
	return &dispatchv1.SendCampaignResponse{Campaign: out}, err
}

// PauseCampaign pauses sending.
func (s *Server) PauseCampaign(ctx context.Context, req *dispatchv1.PauseCampaignRequest) (*dispatchv1.PauseCampaignResponse, error) {
	c, err := s.svc.Pause(ctx, req.GetCampaignId())
	if err != nil {
		return nil, err
	}
	out, err := s.view(ctx, c)
	return &dispatchv1.PauseCampaignResponse{Campaign: out}, err
}

// ResumeCampaign resumes sending.
func (s *Server) ResumeCampaign(ctx context.Context, req *dispatchv1.ResumeCampaignRequest) (*dispatchv1.ResumeCampaignResponse, error) {
	c, err := s.svc.Resume(ctx, req.GetCampaignId())
	if err != nil {
		return nil, err
	}
	out, err := s.view(ctx, c)
	return &dispatchv1.ResumeCampaignResponse{Campaign: out}, err
}

// GetCampaignProgress counts deliveries.
func (s *Server) GetCampaignProgress(ctx context.Context, req *dispatchv1.GetCampaignProgressRequest) (*dispatchv1.GetCampaignProgressResponse, error) {
	p, err := s.svc.Progress(ctx, req.GetCampaignId())
	if err != nil {
		return nil, err
	}
	return &dispatchv1.GetCampaignProgressResponse{
		Version: p.Version, Total: p.Total, Queued: p.Queued, Sent: p.Sent, Failed: p.Failed,
		State: dispatchv1.CampaignState(p.State), Delivered: p.Delivered, Bounced: p.Bounced, Skipped: p.Skipped,
	}, nil
}

// ResolveRecipients adds the recipients the campaign's audience implies.
func (s *Server) ResolveRecipients(ctx context.Context, req *dispatchv1.ResolveRecipientsRequest) (*dispatchv1.ResolveRecipientsResponse, error) {
	who, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	n, source, c, err := s.svc.ResolveRecipients(ctx, req.GetCampaignId(), who)
	if err != nil {
		return nil, err
	}
	out, err := s.view(ctx, c)
	return &dispatchv1.ResolveRecipientsResponse{AddedCount: int32(n), Source: source, Campaign: out}, err
}
