package grpcx_test

import (
	"context"
	"log/slog"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/breachline/breachline/pkg/auth"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
)

// whoami answers GetIncident with the caller it saw, or relays the call to
// next when set.
type whoami struct {
	intakev1.UnimplementedIntakeServiceServer
	next intakev1.IntakeServiceClient
}

func (w whoami) GetIncident(ctx context.Context, req *intakev1.GetIncidentRequest) (*intakev1.GetIncidentResponse, error) {
	if w.next != nil {
		return w.next.GetIncident(ctx, req)
	}
	id, _ := auth.FromContext(ctx)
	return &intakev1.GetIncidentResponse{Incident: &intakev1.Incident{IncidentId: id.Subject + " for " + id.OnBehalfOf}}, nil
}

// allowAll authorises everything, to isolate authentication.
type allowAll struct{}

func (allowAll) Authorize(context.Context, string, any) error { return nil }
func (allowAll) Filter(context.Context, string, any) error    { return nil }

func serve(t *testing.T, o grpcx.Options, impl intakev1.IntakeServiceServer) string {
	t.Helper()
	srv := grpcx.NewServer(o)
	intakev1.RegisterIntakeServiceServer(srv.GRPC(), impl)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, lis) }()
	t.Cleanup(func() { cancel(); <-done })
	return lis.Addr().String()
}

func client(t *testing.T, addr string, opts ...grpc.DialOption) intakev1.IntakeServiceClient {
	t.Helper()
	conn, err := grpcx.Dial(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return intakev1.NewIntakeServiceClient(conn)
}

// TestServiceCallsCarryTheirTokenAndThePerson: a person calls service A,
// A calls B with its own machine token, and B sees A acting for the person.
func TestServiceCallsCarryTheirTokenAndThePerson(t *testing.T) {
	t.Parallel()
	const token = "service-a-token-0123456789abcdef0123456789"
	authn, err := auth.New(auth.Config{
		Mode: auth.ModeOIDC, OIDCIssuer: "http://127.0.0.1:1", OIDCAudience: "x",
		MachineTokens: "svc:a service:a " + auth.HashToken(token),
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	b := serve(t, grpcx.Options{Service: "b", Authenticator: authn, Authorizer: allowAll{}}, whoami{})
	a := serve(t, grpcx.Options{Service: "a"}, whoami{next: client(t, b, grpcx.ServiceToken(token))})

	ctx := metadata.AppendToOutgoingContext(t.Context(), auth.DevSubjectHeader, "alice")
	resp, err := client(t, a).GetIncident(ctx, &intakev1.GetIncidentRequest{IncidentId: "inc_1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetIncident().GetIncidentId(); got != "svc:a for alice" {
		t.Fatalf("B saw %q, want %q", got, "svc:a for alice")
	}
	// Without the token B refuses the call.
	_, err = client(t, b).GetIncident(ctx, &intakev1.GetIncidentRequest{IncidentId: "inc_1"})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("B without a token: %v, want Unauthenticated", err)
	}
}

func TestPermissionDeniedBeforeValidation(t *testing.T) {
	t.Parallel()
	c := client(t, serve(t, grpcx.Options{Service: "test"}, fakeIntake{}))
	ctx := metadata.AppendToOutgoingContext(t.Context(), auth.DevRolesHeader, "siem")
	_, err := c.GetIncident(ctx, &intakev1.GetIncidentRequest{IncidentId: "inc_1"})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("siem GetIncident: %v, want PermissionDenied", err)
	}
	// A SIEM reporting an incomplete signal learns about the fields: it may report.
	_, err = c.ReportSignal(ctx, &intakev1.ReportSignalRequest{Signal: &intakev1.Signal{}})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("siem ReportSignal: %v, want InvalidArgument", err)
	}
}
