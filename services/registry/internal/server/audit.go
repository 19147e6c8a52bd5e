package server

import (
	"context"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// AuditServer implements registryv1.AuditService.
type AuditServer struct {
	registryv1.UnimplementedAuditServiceServer
	svc *domain.Service
}

// ExportCustomerAudit implements registryv1.AuditServiceServer.
func (s *AuditServer) ExportCustomerAudit(ctx context.Context, req *registryv1.ExportCustomerAuditRequest) (*registryv1.ExportCustomerAuditResponse, error) {
	a, err := s.svc.ExportCustomerAudit(ctx, auditFromProto(req))
	if err != nil {
		return nil, err
	}
	out := &registryv1.ExportCustomerAuditResponse{
		Customer: customerToProto(a.Customer), StartTime: timestamp(a.Start), EndTime: timestamp(a.End),
		GenerateTime: timestamp(a.GenerateTime), Truncated: a.Truncated,
	}
	for _, d := range a.DataSubjectRequests {
		out.DataSubjectRequests = append(out.DataSubjectRequests, dsrToProto(d))
	}
	for _, r := range a.DataReturnRequests {
		out.DataReturnRequests = append(out.DataReturnRequests, returnToProto(r))
	}
	for _, r := range a.RemovalRequests {
		out.RemovalRequests = append(out.RemovalRequests, removalToProto(r))
	}
	for _, c := range a.SubprocessorChanges {
		out.SubprocessorChanges = append(out.SubprocessorChanges, &registryv1.AuditSubprocessorChange{
			Change: changeToProto(c.Change), Customer: changeCustomerToProto(c.Change, c.Customer, a.GenerateTime),
		})
	}
	for _, i := range a.Incidents {
		out.Incidents = append(out.Incidents, &registryv1.AuditIncident{
			IncidentId: i.ID, Title: i.Title, State: i.State, Severity: i.Severity,
			CreateTime: timestamp(i.CreateTime), UpdateTime: timestamp(i.UpdateTime), Campaigns: auditCampaignsToProto(i.Campaigns),
		})
	}
	return out, nil
}

func auditCampaignsToProto(cs []domain.IncidentCampaign) []*registryv1.AuditCampaign {
	var out []*registryv1.AuditCampaign
	for _, c := range cs {
		pc := &registryv1.AuditCampaign{
			CampaignId: c.ID, ObligationId: c.ObligationID, State: c.State, Channel: c.Channel, CreateTime: timestamp(c.CreateTime),
			Version: c.Version, SentVersion: c.SentVersion, MissingApprovals: c.MissingApprovals,
		}
		for _, a := range c.Approvals {
			pc.Approvals = append(pc.Approvals, &registryv1.AuditApproval{
				Approver: a.Approver, Role: a.Role, Version: a.Version, ApproveTime: timestamp(a.ApproveTime),
			})
		}
		for _, d := range c.Deliveries {
			pd := &registryv1.AuditDelivery{
				Address: d.Address, Channel: d.Channel, Version: d.Version, Status: d.Status, Attempts: d.Attempts,
				Outcome: d.Outcome, MessageId: d.MessageID, ProviderMessageId: d.ProviderMessageID,
			}
			for _, b := range d.Bounces {
				pd.Bounces = append(pd.Bounces, &registryv1.AuditBounce{Type: b.Type, Diagnostic: b.Diagnostic, RecordTime: timestamp(b.RecordTime)})
			}
			pc.Deliveries = append(pc.Deliveries, pd)
		}
		out = append(out, pc)
	}
	return out
}

func auditFromProto(req *registryv1.ExportCustomerAuditRequest) domain.AuditParams {
	return domain.AuditParams{CustomerID: req.GetCustomerId(), Start: timeOf(req.GetStartTime()), End: timeOf(req.GetEndTime())}
}
