package grpcx

import (
	"context"
	"fmt"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// retryPolicy retries calls that failed before reaching a server that was
// starting or stopping. Only UNAVAILABLE is retried: every mutating RPC of the
// suite is idempotent on its request id, and other codes are answers.
const retryPolicy = `{
  "methodConfig": [{
    "name": [{}],
    "retryPolicy": {
      "maxAttempts": 4,
      "initialBackoff": "0.1s",
      "maxBackoff": "2s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}`

// Dial returns a client connection to target ("host:port"). Connections are
// lazy: Dial never fails because the peer is down; calls do, with UNAVAILABLE,
// and the caller's own durable retry takes over. Transport security between
// services arrives with the gateway-and-security work; until then this is
// for loopback and private networks only.
func Dial(target string, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
		grpc.WithDefaultServiceConfig(retryPolicy),
		grpc.WithUnaryInterceptor(propagateRequestID),
	}, extra...)
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	return conn, nil
}

// propagateRequestID forwards the caller's request id, so one id follows a
// step across services in the logs.
func propagateRequestID(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if rid := RequestID(ctx); rid != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, RequestIDHeader, rid)
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}
