package grpcx

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/breachline/breachline/pkg/auth"
	"github.com/breachline/breachline/pkg/ratelimit"
)

// RateLimit bounds how fast one caller may call a server: a token bucket
// per authenticated subject, so a SIEM or another machine client talking
// gRPC directly cannot flood a service (the gateway limits REST callers the
// same way before their calls get here). Breachline's own services
// (auth.Identity.IsService) are exempt: their relays pace themselves, and
// only they hold service tokens. A caller over its budget gets
// RESOURCE_EXHAUSTED carrying google.rpc.RetryInfo with the exact wait and
// ErrorInfo reason RATE_LIMITED.
type RateLimit struct {
	// RPS is each caller's sustained rate in calls per second; 0 means no
	// limit.
	RPS float64
	// Burst is how many calls a caller may make at once after being idle;
	// 0 means twice RPS.
	Burst int
}

// newLimiters returns nil when rl sets no limit.
func newLimiters(rl RateLimit) *ratelimit.Keyed {
	if rl.RPS <= 0 {
		return nil
	}
	burst := rl.Burst
	if burst < 1 {
		burst = int(math.Max(1, math.Ceil(2*rl.RPS)))
	}
	return ratelimit.NewKeyed(rl.RPS, burst)
}

// admit charges the caller in ctx one call, or returns RESOURCE_EXHAUSTED.
// Calls without an identity (health, reflection) and services pass.
func (s *Server) admit(ctx context.Context) error {
	if s.limits == nil {
		return nil
	}
	id, ok := auth.FromContext(ctx)
	if !ok || id.IsService() {
		return nil
	}
	wait := s.limits.Reserve(id.Subject, time.Now())
	if wait <= 0 {
		return nil
	}
	return withDetails(codes.ResourceExhausted,
		fmt.Sprintf("rate limit exceeded; retry after %s", wait.Round(time.Millisecond)),
		&errdetails.ErrorInfo{Reason: "RATE_LIMITED", Domain: ErrorDomain, Metadata: map[string]string{
			"limit_rps": strconv.FormatFloat(s.limits.Rate(), 'f', -1, 64), "burst": strconv.Itoa(s.limits.Burst()),
		}},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)})
}

func (s *Server) rateLimitUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := s.admit(ctx); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (s *Server) rateLimitStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := s.admit(ss.Context()); err != nil {
		return err
	}
	return handler(srv, ss)
}
