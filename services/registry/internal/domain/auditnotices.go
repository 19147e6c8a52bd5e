package domain

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
)

// AudienceController is the audience (dispatch's and classification's enum
// name) of the notices a customer receives as the controller of the data.
const AudienceController = "AUDIENCE_CONTROLLER"

// IncidentCampaign is a dispatch campaign of an incident, as the audit
// export needs it.
type IncidentCampaign struct {
	ID                  string
	IncidentID          string
	ObligationID        string
	Audience            string // the obligation's audience (enum name)
	ObligationRecipient string // who the obligation names, e.g. "Acme <dpo@acme.example>"
	State               string
	Channel             string
	CreateTime          time.Time
	Version             int64
	SentVersion         int64
	Approvals           []CampaignApproval
	MissingApprovals    []string
	Deliveries          []CampaignDelivery
}

// CampaignApproval is one person's approval of a campaign version.
type CampaignApproval struct {
	Approver, Role string
	Version        int64
	ApproveTime    time.Time
}

// CampaignDelivery is one recipient's delivery of a campaign's sent
// version.
type CampaignDelivery struct {
	Address, Channel, Status, Outcome string
	MessageID, ProviderMessageID      string
	Version                           int64
	Attempts                          int32
	Bounces                           []DeliveryBounce
}

// DeliveryBounce is a bounce or complaint recorded against a delivery.
type DeliveryBounce struct {
	Type, Diagnostic string
	RecordTime       time.Time
}

// Campaigns reads an incident's notice campaigns from dispatch.
// IncidentCampaigns returns every campaign of the incident, without
// deliveries; CampaignDeliveries returns the deliveries of a campaign's
// sent version, at most limit+1.
type Campaigns interface {
	IncidentCampaigns(ctx context.Context, incidentID string) ([]IncidentCampaign, error)
	CampaignDeliveries(ctx context.Context, campaignID string, limit int) ([]CampaignDelivery, error)
}

// WithCampaigns makes the audit export read incident notices through c.
func WithCampaigns(c Campaigns) Option {
	return func(s *Service) { s.campaigns = c }
}

// forCustomer reports whether c notified cust: a controller-audience
// campaign whose obligation is the customer's (classification ends a
// per-customer obligation id in the customer id) or names its Notification
// Email Address.
func (c IncidentCampaign) forCustomer(cust Customer) bool {
	if c.Audience != AudienceController {
		return false
	}
	if strings.HasSuffix(c.ObligationID, "."+cust.ID) {
		return true
	}
	addr := c.ObligationRecipient
	if a, err := mail.ParseAddress(addr); err == nil {
		addr = a.Address
	}
	return cust.NotificationEmail != "" && strings.EqualFold(strings.TrimSpace(addr), cust.NotificationEmail)
}

// customerCampaigns returns, for each incident, the campaigns addressed to
// the customer with their deliveries; truncated when a delivery list was
// cut. Dispatch being down fails with UNAVAILABLE rather than leaving the
// notices out.
func (s *Service) customerCampaigns(ctx context.Context, cust Customer, incidents []IncidentSummary) (map[string][]IncidentCampaign, bool, error) {
	if len(incidents) == 0 {
		return nil, false, nil
	}
	if s.campaigns == nil {
		return nil, false, fmt.Errorf("audit export: no dispatch configured: %w", apperr.ErrUnavailable)
	}
	out := map[string][]IncidentCampaign{}
	truncated := false
	for _, inc := range incidents {
		cs, err := s.campaigns.IncidentCampaigns(ctx, inc.ID)
		if err != nil {
			return nil, false, fmt.Errorf("audit campaigns of %s: %w", inc.ID, err)
		}
		for _, c := range cs {
			if !c.forCustomer(cust) {
				continue
			}
			ds, err := s.campaigns.CampaignDeliveries(ctx, c.ID, maxAuditItems)
			if err != nil {
				return nil, false, fmt.Errorf("audit deliveries of %s: %w", c.ID, err)
			}
			if len(ds) > maxAuditItems {
				ds, truncated = ds[:maxAuditItems], true
			}
			c.Deliveries = ds
			out[inc.ID] = append(out[inc.ID], c)
		}
	}
	return out, truncated, nil
}
