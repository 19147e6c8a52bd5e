package server_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/services/registry/internal/domain"
	"github.com/breachline/breachline/services/registry/internal/peers"
)

// fakeCampaigns is dispatch's ListCampaigns and ListDeliveries as the
// audit export uses them, one item per page so the export must page. down
// makes both answer UNAVAILABLE.
type fakeCampaigns struct {
	dispatchv1.UnimplementedDispatchServiceServer
	campaigns  []*dispatchv1.Campaign
	deliveries map[string][]*dispatchv1.Delivery
	down       bool

	mu     sync.Mutex
	listed map[string]int // ListDeliveries calls per campaign
}

func page[T any](items []T, token string) ([]T, string) {
	start, _ := strconv.Atoi(token)
	if start >= len(items) {
		return nil, ""
	}
	if start+1 < len(items) {
		return items[start : start+1], strconv.Itoa(start + 1)
	}
	return items[start:], ""
}

func (f *fakeCampaigns) ListCampaigns(_ context.Context, req *dispatchv1.ListCampaignsRequest) (*dispatchv1.ListCampaignsResponse, error) {
	if f.down {
		return nil, status.Error(codes.Unavailable, "down")
	}
	var mine []*dispatchv1.Campaign
	for _, c := range f.campaigns {
		if c.GetIncidentId() == req.GetIncidentId() {
			mine = append(mine, c)
		}
	}
	got, next := page(mine, req.GetPageToken())
	return &dispatchv1.ListCampaignsResponse{Campaigns: got, NextPageToken: next}, nil
}

func (f *fakeCampaigns) ListDeliveries(_ context.Context, req *dispatchv1.ListDeliveriesRequest) (*dispatchv1.ListDeliveriesResponse, error) {
	if f.down {
		return nil, status.Error(codes.Unavailable, "down")
	}
	f.mu.Lock()
	f.listed[req.GetCampaignId()]++
	f.mu.Unlock()
	got, next := page(f.deliveries[req.GetCampaignId()], req.GetPageToken())
	return &dispatchv1.ListDeliveriesResponse{Deliveries: got, NextPageToken: next, Version: 1}, nil
}

func (f *fakeCampaigns) listedDeliveries(campaignID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.listed[campaignID]
}

// serveCampaigns runs f on a real gRPC server on loopback and returns the
// registry's dispatch peer over it.
func serveCampaigns(t *testing.T, f *fakeCampaigns) domain.Campaigns {
	t.Helper()
	f.listed = map[string]int{}
	srv := grpcx.NewServer(grpcx.Options{Service: "dispatch", ShutdownGrace: time.Second})
	dispatchv1.RegisterDispatchServiceServer(srv.GRPC(), f)
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeListener(t.Context(), lis) }()
	t.Cleanup(func() { <-served })
	conn, err := grpcx.Dial(lis.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return peers.NewDispatch(conn)
}

func controllerCampaign(id, incidentID, obligationID, recipient string) *dispatchv1.Campaign {
	return &dispatchv1.Campaign{
		CampaignId: id, IncidentId: incidentID, State: dispatchv1.CampaignState_CAMPAIGN_STATE_COMPLETED,
		Channel: dispatchv1.Channel_CHANNEL_EMAIL, CreateTime: timestamppb.New(now.AddDate(0, 0, -4)), Version: 2, SentVersion: 2,
		Obligation: &classificationv1.Obligation{
			ObligationId: obligationID, Audience: classificationv1.Audience_AUDIENCE_CONTROLLER, Recipient: recipient,
		},
		Approvals: []*dispatchv1.Approval{
			{Approver: "lee", Role: "legal", Version: 2, ApproveTime: timestamppb.New(now.AddDate(0, 0, -3))},
			{Approver: "olga", Role: "officer", Version: 2, ApproveTime: timestamppb.New(now.AddDate(0, 0, -3))},
		},
	}
}

func delivery(addr string, st dispatchv1.DeliveryStatus, bounces ...*dispatchv1.Bounce) *dispatchv1.Delivery {
	return &dispatchv1.Delivery{
		RecipientKey: "k-" + addr, Address: addr, Channel: dispatchv1.Channel_CHANNEL_EMAIL, Version: 2, Status: st,
		Attempts: 1, Outcome: "250 ok", MessageId: "<m." + addr + "@breachline>", ProviderMessageId: "q1", Bounces: bounces,
	}
}

func TestExportCustomerAuditNotices(t *testing.T) {
	t.Parallel()
	start := now.AddDate(0, 0, -30)
	intake := serveIntake(t, &fakeIntake{incidents: []*intakev1.Incident{
		incident("inc_shared", now.AddDate(0, 0, -5), "acme", "beta"),
		incident("inc_quiet", now.AddDate(0, 0, -10), "acme"),
	}})
	bounced := &dispatchv1.Bounce{Type: dispatchv1.BounceType_BOUNCE_TYPE_HARD, Diagnostic: "smtp; 550 5.1.1 user unknown", RecordTime: timestamppb.New(now.AddDate(0, 0, -2))}
	individuals := controllerCampaign("cmp_people", "inc_shared", "us-ca.individuals.us-ca", "")
	individuals.Obligation.Audience = classificationv1.Audience_AUDIENCE_INDIVIDUALS
	f := &fakeCampaigns{
		campaigns: []*dispatchv1.Campaign{
			individuals,
			controllerCampaign("cmp_beta", "inc_shared", "dpa.incident-notification.beta", "Lycée beta <dpo@beta.example.org>"),
			controllerCampaign("cmp_acme", "inc_shared", "dpa.incident-notification.acme", "Lycée acme <dpo@acme.example.org>"),
			// Matched by the Notification Email Address alone.
			controllerCampaign("cmp_acme_policy", "inc_shared", "org-policy.customer-courtesy", "DPO@acme.example.org"),
		},
		deliveries: map[string][]*dispatchv1.Delivery{
			"cmp_people": {delivery("ann@example.org", dispatchv1.DeliveryStatus_DELIVERY_STATUS_SENT)},
			"cmp_beta":   {delivery("dpo@beta.example.org", dispatchv1.DeliveryStatus_DELIVERY_STATUS_SENT)},
			"cmp_acme": {
				delivery("dpo@acme.example.org", dispatchv1.DeliveryStatus_DELIVERY_STATUS_SENT),
				delivery("ciso@acme.example.org", dispatchv1.DeliveryStatus_DELIVERY_STATUS_BOUNCED, bounced),
			},
			"cmp_acme_policy": {delivery("dpo@acme.example.org", dispatchv1.DeliveryStatus_DELIVERY_STATUS_FAILED)},
		},
	}
	e := newReturnEnv(t, domain.WithIncidents(intake), domain.WithCampaigns(serveCampaigns(t, f)))
	createCustomer(t, e, validCustomer("beta"))

	t.Run("method=ExportCustomerAudit/case=customer_notices", func(t *testing.T) {
		t.Parallel()
		got := must[*registryv1.ExportCustomerAuditResponse](t)(e.audits.ExportCustomerAudit(t.Context(), &registryv1.ExportCustomerAuditRequest{
			CustomerId: "acme", StartTime: timestamppb.New(start),
		}))
		approvals := []*registryv1.AuditApproval{
			{Approver: "lee", Role: "legal", Version: 2, ApproveTime: timestamppb.New(now.AddDate(0, 0, -3))},
			{Approver: "olga", Role: "officer", Version: 2, ApproveTime: timestamppb.New(now.AddDate(0, 0, -3))},
		}
		auditDelivery := func(addr, st string, bounces ...*registryv1.AuditBounce) *registryv1.AuditDelivery {
			return &registryv1.AuditDelivery{
				Address: addr, Channel: "CHANNEL_EMAIL", Version: 2, Status: st, Attempts: 1, Outcome: "250 ok",
				MessageId: "<m." + addr + "@breachline>", ProviderMessageId: "q1", Bounces: bounces,
			}
		}
		campaign := func(id, obligation string, ds ...*registryv1.AuditDelivery) *registryv1.AuditCampaign {
			return &registryv1.AuditCampaign{
				CampaignId: id, ObligationId: obligation, State: "CAMPAIGN_STATE_COMPLETED", Channel: "CHANNEL_EMAIL",
				CreateTime: timestamppb.New(now.AddDate(0, 0, -4)), Version: 2, SentVersion: 2, Approvals: approvals, Deliveries: ds,
			}
		}
		want := map[string][]*registryv1.AuditCampaign{
			"inc_shared": {
				campaign("cmp_acme", "dpa.incident-notification.acme",
					auditDelivery("dpo@acme.example.org", "DELIVERY_STATUS_SENT"),
					auditDelivery("ciso@acme.example.org", "DELIVERY_STATUS_BOUNCED", &registryv1.AuditBounce{
						Type: "BOUNCE_TYPE_HARD", Diagnostic: "smtp; 550 5.1.1 user unknown", RecordTime: timestamppb.New(now.AddDate(0, 0, -2)),
					})),
				campaign("cmp_acme_policy", "org-policy.customer-courtesy", auditDelivery("dpo@acme.example.org", "DELIVERY_STATUS_FAILED")),
			},
			"inc_quiet": nil,
		}
		gotByIncident := map[string][]*registryv1.AuditCampaign{}
		for _, i := range got.GetIncidents() {
			gotByIncident[i.GetIncidentId()] = i.GetCampaigns()
		}
		if d := cmp.Diff(want, gotByIncident, protocmp.Transform()); d != "" {
			t.Fatalf("campaigns per incident (-want +got):\n%s", d)
		}
		if n := f.listedDeliveries("cmp_people"); n != 0 {
			t.Fatalf("listed the individuals campaign's deliveries %d times", n)
		}
	})

	t.Run("method=ExportCustomerAudit/case=other_customer", func(t *testing.T) {
		t.Parallel()
		got := must[*registryv1.ExportCustomerAuditResponse](t)(e.audits.ExportCustomerAudit(t.Context(), &registryv1.ExportCustomerAuditRequest{
			CustomerId: "beta", StartTime: timestamppb.New(start),
		}))
		var ids []string
		for _, i := range got.GetIncidents() {
			for _, c := range i.GetCampaigns() {
				ids = append(ids, c.GetCampaignId())
				for _, d := range c.GetDeliveries() {
					if d.GetAddress() != "dpo@beta.example.org" {
						t.Errorf("beta's export has delivery to %s", d.GetAddress())
					}
				}
			}
		}
		if d := diff([]string{"cmp_beta"}, ids); d != "" {
			t.Fatal(d)
		}
	})

	t.Run("method=ExportCustomerAudit/case=dispatch_down", func(t *testing.T) {
		t.Parallel()
		e := newReturnEnv(t, domain.WithIncidents(intake), domain.WithCampaigns(serveCampaigns(t, &fakeCampaigns{down: true})))
		_, err := e.audits.ExportCustomerAudit(t.Context(), &registryv1.ExportCustomerAuditRequest{CustomerId: "acme", StartTime: timestamppb.New(start)})
		wantCode(t, err, codes.Unavailable)
	})

	t.Run("method=ExportCustomerAudit/case=no_dispatch", func(t *testing.T) {
		t.Parallel()
		e := newReturnEnv(t, domain.WithIncidents(intake))
		_, err := e.audits.ExportCustomerAudit(t.Context(), &registryv1.ExportCustomerAuditRequest{CustomerId: "acme", StartTime: timestamppb.New(start)})
		wantCode(t, err, codes.Unavailable)
	})
}
