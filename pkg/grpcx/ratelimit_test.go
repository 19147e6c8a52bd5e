package grpcx_test

import (
	"context"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/breachline/breachline/pkg/auth"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
)

// TestRateLimitPerIdentity drives the limit over a real connection: a
// caller gets its burst, then RESOURCE_EXHAUSTED with RetryInfo; another
// caller and a Breachline service are unaffected.
func TestRateLimitPerIdentity(t *testing.T) {
	t.Parallel()
	// One call per minute: nothing refills during the test.
	c := client(t, serve(t, grpcx.Options{Service: "test", RateLimit: grpcx.RateLimit{RPS: 1.0 / 60, Burst: 2}}, fakeIntake{}))
	as := func(subject string) context.Context {
		return metadata.AppendToOutgoingContext(t.Context(), auth.DevSubjectHeader, subject)
	}
	get := func(ctx context.Context) error {
		_, err := c.GetIncident(ctx, &intakev1.GetIncidentRequest{IncidentId: "inc_1"})
		return err
	}

	for i := range 2 {
		if err := get(as("siem:splunk")); err != nil {
			t.Fatalf("call %d within the burst: %v", i+1, err)
		}
	}
	t.Run("case=over-budget", func(t *testing.T) {
		err := get(as("siem:splunk"))
		st := status.Convert(err)
		if st.Code() != codes.ResourceExhausted {
			t.Fatalf("third call: %v, want ResourceExhausted", err)
		}
		var retry *errdetails.RetryInfo
		var reason string
		for _, d := range st.Details() {
			switch d := d.(type) {
			case *errdetails.RetryInfo:
				retry = d
			case *errdetails.ErrorInfo:
				reason = d.GetReason()
			}
		}
		if retry == nil || retry.GetRetryDelay().AsDuration() <= 0 || reason != "RATE_LIMITED" {
			t.Fatalf("details = %v, want RetryInfo with a positive delay and reason RATE_LIMITED", st.Details())
		}
	})
	t.Run("case=denied-calls-count", func(t *testing.T) {
		// The limit comes before authorisation: probing what one may not
		// do spends the budget too.
		ctx := metadata.AppendToOutgoingContext(t.Context(), auth.DevSubjectHeader, "mallory", auth.DevRolesHeader, "siem")
		for i, want := range []codes.Code{codes.PermissionDenied, codes.PermissionDenied, codes.ResourceExhausted} {
			if err := get(ctx); status.Code(err) != want {
				t.Fatalf("call %d: %v, want %s", i+1, err, want)
			}
		}
	})
	t.Run("case=other-caller-has-own-budget", func(t *testing.T) {
		if err := get(as("alice")); err != nil {
			t.Fatalf("alice: %v", err)
		}
	})
	t.Run("case=services-exempt", func(t *testing.T) {
		for i := range 5 {
			// svc:intake is a service identity (role service:intake) in dev mode;
			// allowed by the test server's authorizer or not, it is never throttled.
			if err := get(as("svc:intake")); status.Code(err) == codes.ResourceExhausted {
				t.Fatalf("service call %d throttled: %v", i+1, err)
			}
		}
	})
}
