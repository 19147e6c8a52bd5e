package grpcx_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/breachline/breachline/pkg/apperr"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
)

// fakeIntake answers GetIncident according to the requested id, so each case
// drives one branch of the real interceptor chain over a real connection.
type fakeIntake struct {
	intakev1.UnimplementedIntakeServiceServer
}

func (fakeIntake) GetIncident(_ context.Context, req *intakev1.GetIncidentRequest) (*intakev1.GetIncidentResponse, error) {
	switch req.GetIncidentId() {
	case "missing":
		return nil, fmt.Errorf("incident missing: %w", apperr.ErrNotFound)
	case "stale":
		return nil, fmt.Errorf("incident stale: %w", apperr.ErrConflict)
	case "bad":
		var v apperr.Violations
		v.Add("incident_id", "must look like inc_<hex>")
		return nil, v.Err()
	case "boom":
		return nil, fmt.Errorf("driver said: connection to 10.1.2.3 refused")
	case "panic":
		panic("handler bug")
	}
	return &intakev1.GetIncidentResponse{Incident: &intakev1.Incident{IncidentId: req.GetIncidentId()}}, nil
}

// sourceValidator reports a bad signal source, standing in for a service's
// own semantic validation.
type sourceValidator struct{}

func (sourceValidator) ValidateRequest(_ context.Context, req any) error {
	var v apperr.Violations
	if r, ok := req.(*intakev1.ReportSignalRequest); ok && r.GetSignal().GetSource() == "Bad Source!" {
		v.Add("signal.source", "must be lowercase")
		v.Add("signal.title", "duplicate of the REQUIRED violation; must be dropped")
	}
	return v.Err()
}

func start(t *testing.T, opts ...func(*grpcx.Options)) intakev1.IntakeServiceClient {
	t.Helper()
	o := grpcx.Options{Service: "test"}
	for _, f := range opts {
		f(&o)
	}
	srv := grpcx.NewServer(o)
	intakev1.RegisterIntakeServiceServer(srv.GRPC(), fakeIntake{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, lis) }()
	conn, err := grpcx.Dial(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return intakev1.NewIntakeServiceClient(conn)
}

func TestChain(t *testing.T) {
	t.Parallel()
	client := start(t)
	cases := []struct {
		id   string
		code codes.Code
	}{
		{"inc_1", codes.OK},
		{"missing", codes.NotFound},
		{"stale", codes.Aborted},
		{"bad", codes.InvalidArgument},
		{"boom", codes.Internal},
		{"panic", codes.Internal},
	}
	for _, tc := range cases {
		t.Run("case="+tc.id, func(t *testing.T) {
			t.Parallel()
			_, err := client.GetIncident(t.Context(), &intakev1.GetIncidentRequest{IncidentId: tc.id})
			if got := status.Code(err); got != tc.code {
				t.Fatalf("code = %v, want %v (err %v)", got, tc.code, err)
			}
		})
	}
}

func TestInternalErrorsAreMasked(t *testing.T) {
	t.Parallel()
	client := start(t)
	_, err := client.GetIncident(t.Context(), &intakev1.GetIncidentRequest{IncidentId: "boom"})
	st, _ := status.FromError(err)
	if want := "internal error; request id "; len(st.Message()) <= len(want) || st.Message()[:len(want)] != want {
		t.Fatalf("message = %q, want it to start %q and carry only a request id", st.Message(), want)
	}
}

func TestRequiredFieldsFromProto(t *testing.T) {
	t.Parallel()
	client := start(t)
	_, err := client.ReportSignal(t.Context(), &intakev1.ReportSignalRequest{Signal: &intakev1.Signal{Source: "splunk"}})
	st, _ := status.FromError(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("code = %v, want InvalidArgument", st.Code())
	}
	var got []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				got = append(got, v.GetField())
			}
		}
	}
	want := []string{"signal.source_event_id", "signal.title", "signal.observed_at"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("violations = %v, want %v", got, want)
	}
}

func TestRequiredMergedWithServiceValidation(t *testing.T) {
	t.Parallel()
	client := start(t, func(o *grpcx.Options) { o.Validator = sourceValidator{} })
	_, err := client.ReportSignal(t.Context(), &intakev1.ReportSignalRequest{Signal: &intakev1.Signal{Source: "Bad Source!"}})
	st, _ := status.FromError(err)
	var got []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				got = append(got, v.GetField()+": "+v.GetDescription())
			}
		}
	}
	want := []string{
		"signal.source_event_id: is required", "signal.title: is required", "signal.observed_at: is required",
		"signal.source: must be lowercase",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("violations = %v, want %v", got, want)
	}
}

func TestHealthIsServing(t *testing.T) {
	t.Parallel()
	srv := grpcx.NewServer(grpcx.Options{Service: "test"})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = srv.ServeListener(ctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecureCreds()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	resp, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v; want SERVING", resp.GetStatus(), err)
	}
}

// batchValidator checks ReportSignals requests itself, item by item.
type batchValidator struct{ sourceValidator }

func (batchValidator) ValidatesItems(req any) bool {
	_, ok := req.(*intakev1.ReportSignalsRequest)
	return ok
}

func TestItemValidatorSkipsRequiredCheck(t *testing.T) {
	t.Parallel()
	client := start(t, func(o *grpcx.Options) { o.Validator = batchValidator{} })
	incomplete := &intakev1.Signal{Source: "splunk"}
	// The fake does not implement ReportSignals: reaching it is UNIMPLEMENTED.
	_, err := client.ReportSignals(t.Context(), &intakev1.ReportSignalsRequest{Signals: []*intakev1.Signal{incomplete}})
	if got := status.Code(err); got != codes.Unimplemented {
		t.Errorf("ReportSignals code = %v, want Unimplemented (the handler reached)", got)
	}
	_, err = client.ReportSignal(t.Context(), &intakev1.ReportSignalRequest{Signal: incomplete})
	if got := status.Code(err); got != codes.InvalidArgument {
		t.Errorf("ReportSignal code = %v, want InvalidArgument", got)
	}
}
