package peers

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/breachline/breachline/pkg/auth"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

var _ domain.Campaigns = (*Dispatch)(nil)

// Page sizes of the dispatch walks (dispatch's most).
const (
	campaignPageSize = 500
	deliveryPageSize = 1000
)

// IncidentCampaigns implements domain.Campaigns: every page of dispatch's
// ListCampaigns for the incident.
func (d *Dispatch) IncidentCampaigns(ctx context.Context, incidentID string) ([]domain.IncidentCampaign, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, auth.DevSubjectHeader, Subject)
	var out []domain.IncidentCampaign
	token := ""
	for {
		resp, err := d.client.ListCampaigns(ctx, &dispatchv1.ListCampaignsRequest{
			PageSize: campaignPageSize, PageToken: token, IncidentId: incidentID,
		})
		if err != nil {
			return nil, fmt.Errorf("dispatch ListCampaigns: %w", err)
		}
		for _, c := range resp.GetCampaigns() {
			out = append(out, campaignFromProto(c))
		}
		if token = resp.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}

// CampaignDeliveries implements domain.Campaigns: the pages of dispatch's
// ListDeliveries for the campaign, stopping after limit+1 deliveries.
func (d *Dispatch) CampaignDeliveries(ctx context.Context, campaignID string, limit int) ([]domain.CampaignDelivery, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, auth.DevSubjectHeader, Subject)
	var out []domain.CampaignDelivery
	token := ""
	for {
		resp, err := d.client.ListDeliveries(ctx, &dispatchv1.ListDeliveriesRequest{
			CampaignId: campaignID, PageSize: deliveryPageSize, PageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("dispatch ListDeliveries: %w", err)
		}
		for _, dl := range resp.GetDeliveries() {
			out = append(out, deliveryFromProto(dl))
		}
		if token = resp.GetNextPageToken(); token == "" || len(out) > limit {
			return out, nil
		}
	}
}

func campaignFromProto(c *dispatchv1.Campaign) domain.IncidentCampaign {
	out := domain.IncidentCampaign{
		ID: c.GetCampaignId(), IncidentID: c.GetIncidentId(), ObligationID: c.GetObligation().GetObligationId(),
		Audience: c.GetObligation().GetAudience().String(), ObligationRecipient: c.GetObligation().GetRecipient(),
		State: c.GetState().String(), Channel: c.GetChannel().String(), CreateTime: timeOf(c.GetCreateTime()),
		Version: c.GetVersion(), SentVersion: c.GetSentVersion(), MissingApprovals: c.GetMissingApprovals(),
	}
	for _, a := range c.GetApprovals() {
		out.Approvals = append(out.Approvals, domain.CampaignApproval{
			Approver: a.GetApprover(), Role: a.GetRole(), Version: a.GetVersion(), ApproveTime: timeOf(a.GetApproveTime()),
		})
	}
	return out
}

func deliveryFromProto(d *dispatchv1.Delivery) domain.CampaignDelivery {
	out := domain.CampaignDelivery{
		Address: d.GetAddress(), Channel: d.GetChannel().String(), Status: d.GetStatus().String(), Outcome: d.GetOutcome(),
		MessageID: d.GetMessageId(), ProviderMessageID: d.GetProviderMessageId(), Version: d.GetVersion(), Attempts: d.GetAttempts(),
	}
	for _, b := range d.GetBounces() {
		out.Bounces = append(out.Bounces, domain.DeliveryBounce{Type: b.GetType().String(), Diagnostic: b.GetDiagnostic(), RecordTime: timeOf(b.GetRecordTime())})
	}
	return out
}

// timeOf is t in UTC; zero when unset.
func timeOf(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime().UTC()
}
