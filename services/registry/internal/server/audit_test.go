package server_test

import (
	"context"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/services/registry/internal/domain"
	"github.com/breachline/breachline/services/registry/internal/peers"
)

// fakeIntake is intake's ListIncidents as the audit export uses it: the
// customer's incidents newest first, two per page.
type fakeIntake struct {
	intakev1.UnimplementedIntakeServiceServer
	incidents []*intakev1.Incident // newest first
	down      bool
}

func (f *fakeIntake) ListIncidents(_ context.Context, req *intakev1.ListIncidentsRequest) (*intakev1.ListIncidentsResponse, error) {
	if f.down {
		return nil, status.Error(codes.Unavailable, "down")
	}
	var mine []*intakev1.Incident
	for _, inc := range f.incidents {
		if slices.Contains(inc.GetCustomerIds(), req.GetCustomerId()) {
			mine = append(mine, inc)
		}
	}
	start, _ := strconv.Atoi(req.GetPageToken())
	end := min(start+2, len(mine))
	resp := &intakev1.ListIncidentsResponse{Incidents: mine[start:end]}
	if end < len(mine) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

// serveIntake runs f on a real gRPC server on loopback and returns the
// registry's intake peer over it.
func serveIntake(t *testing.T, f *fakeIntake) domain.Incidents {
	t.Helper()
	srv := grpcx.NewServer(grpcx.Options{Service: "intake", ShutdownGrace: time.Second})
	intakev1.RegisterIntakeServiceServer(srv.GRPC(), f)
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
	return peers.NewIntake(conn)
}

func incident(id string, created time.Time, customers ...string) *intakev1.Incident {
	return &intakev1.Incident{
		IncidentId: id, Title: "incident " + id, CustomerIds: customers, State: intakev1.IncidentState_INCIDENT_STATE_TRIAGE,
		CreateTime: timestamppb.New(created), UpdateTime: timestamppb.New(created.Add(time.Hour)),
	}
}

func TestExportCustomerAudit(t *testing.T) {
	t.Parallel()
	start := now.AddDate(0, 0, -30)
	f := &fakeIntake{incidents: []*intakev1.Incident{
		incident("inc_after", now.Add(time.Hour), "acme"),
		incident("inc_in2", now.AddDate(0, 0, -2), "acme", "beta"),
		incident("inc_beta", now.AddDate(0, 0, -3), "beta"),
		incident("inc_in1", now.AddDate(0, 0, -20), "acme"),
		incident("inc_before", now.AddDate(0, 0, -40), "acme"),
		incident("inc_older", now.AddDate(0, 0, -50), "acme"),
	}}
	e := newReturnEnv(t, domain.WithNotifier(&dsrNotices{}), domain.WithIncidents(serveIntake(t, f)), domain.WithCampaigns(serveCampaigns(t, &fakeCampaigns{})))
	createCustomer(t, e, validCustomer("beta"))
	submit(t, e, "acme", now.AddDate(0, 0, -45)) // before the period
	inPeriod := submit(t, e, "acme", now.AddDate(0, 0, -5))
	submit(t, e, "beta", now.AddDate(0, 0, -5)) // another customer
	forwardAll(t, e)
	ret := openReturn(t, e, actionDelete)
	dispose(t, e, ret.GetDataReturnRequestId(), destroyed, "all")
	must[*registryv1.IssueDeletionCertificateResponse](t)(e.returns.IssueDeletionCertificate(t.Context(),
		&registryv1.IssueDeletionCertificateRequest{DataReturnRequestId: ret.GetDataReturnRequestId()}))
	removal := must[*registryv1.OpenRemovalRequestResponse](t)(e.removals.OpenRemovalRequest(t.Context(), &registryv1.OpenRemovalRequestRequest{
		CustomerId: "acme", FoundTypes: []registryv1.SensitiveDataType{registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_SSN}, Location: "admin / notes",
	})).GetRemovalRequest()

	// The export's default end is now, exclusive: move past the writes.
	e.clock.Advance(time.Minute)

	t.Run("method=ExportCustomerAudit/case=period", func(t *testing.T) {
		t.Parallel()
		got := must[*registryv1.ExportCustomerAuditResponse](t)(e.audits.ExportCustomerAudit(t.Context(), &registryv1.ExportCustomerAuditRequest{
			CustomerId: "acme", StartTime: timestamppb.New(start),
		}))
		if got.GetCustomer().GetCustomerId() != "acme" || !got.GetEndTime().AsTime().Equal(now.Add(time.Minute)) || !got.GetStartTime().AsTime().Equal(start) || got.GetTruncated() {
			t.Fatalf("export header = %v", got)
		}
		var dsrs, returns, removals, incidents []string
		for _, d := range got.GetDataSubjectRequests() {
			dsrs = append(dsrs, d.GetDsrId())
		}
		for _, r := range got.GetDataReturnRequests() {
			returns = append(returns, r.GetDataReturnRequestId())
			if r.GetCertificate().GetSignature() == "" {
				t.Errorf("return request without its certificate: %v", r)
			}
		}
		for _, r := range got.GetRemovalRequests() {
			removals = append(removals, r.GetRemovalRequestId())
		}
		for _, i := range got.GetIncidents() {
			incidents = append(incidents, i.GetIncidentId())
			if i.GetState() != "INCIDENT_STATE_TRIAGE" || i.GetTitle() == "" {
				t.Errorf("incident = %v", i)
			}
		}
		want := [][]string{{inPeriod.GetDsrId()}, {ret.GetDataReturnRequestId()}, {removal.GetRemovalRequestId()}, {"inc_in2", "inc_in1"}}
		if d := diff(want, [][]string{dsrs, returns, removals, incidents}); d != "" {
			t.Fatal(d)
		}
		if st := got.GetDataSubjectRequests()[0].GetStatus(); st != stForwarded {
			t.Fatalf("exported status = %v", st)
		}
	})

	t.Run("method=ExportCustomerAudit/case=invalid", func(t *testing.T) {
		t.Parallel()
		_, err := e.audits.ExportCustomerAudit(t.Context(), &registryv1.ExportCustomerAuditRequest{CustomerId: "B"})
		wantViolations(t, err, "start_time", "customer_id")
		_, err = e.audits.ExportCustomerAudit(t.Context(), &registryv1.ExportCustomerAuditRequest{
			CustomerId: "acme", StartTime: timestamppb.New(now), EndTime: timestamppb.New(start),
		})
		wantViolations(t, err, "end_time")
		_, err = e.audits.ExportCustomerAudit(t.Context(), &registryv1.ExportCustomerAuditRequest{CustomerId: "nobody", StartTime: timestamppb.New(start)})
		wantCode(t, err, codes.NotFound)
	})

	t.Run("method=ExportCustomerAudit/case=intake_down", func(t *testing.T) {
		t.Parallel()
		e := newReturnEnv(t, domain.WithIncidents(serveIntake(t, &fakeIntake{down: true})))
		_, err := e.audits.ExportCustomerAudit(t.Context(), &registryv1.ExportCustomerAuditRequest{CustomerId: "acme", StartTime: timestamppb.New(start)})
		wantCode(t, err, codes.Unavailable)
	})
}
