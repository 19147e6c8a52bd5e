package grpcx

import (
	"context"
	"fmt"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/breachline/breachline/pkg/auth"
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
// and the caller's own durable retry takes over. Services authenticate to
// each other with ServiceToken. The transport is plaintext unless an extra
// option is Transport with TLS credentials (tlsx.Config.ClientCredentials),
// as the production overlay configures.
func Dial(target string, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
		grpc.WithDefaultServiceConfig(retryPolicy),
		grpc.WithUnaryInterceptor(propagateUnary),
		grpc.WithStreamInterceptor(propagateStream),
	}, extra...)
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	return conn, nil
}

// propagate forwards the caller's request id, so one id follows a step
// across services in the logs, and the person the call serves: the
// authenticated person of the incoming call, or the person an incoming
// service call named. The callee honours the latter only from services.
func propagate(ctx context.Context) context.Context {
	if rid := RequestID(ctx); rid != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, RequestIDHeader, rid)
	}
	if id, ok := auth.FromContext(ctx); ok {
		person := id.OnBehalfOf
		if person == "" && !id.Machine {
			person = id.Subject
		}
		if person != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, auth.OnBehalfOfHeader, person)
		}
	}
	return ctx
}

func propagateUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return invoker(propagate(ctx), method, req, reply, cc, opts...)
}

func propagateStream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return streamer(propagate(ctx), desc, cc, method, opts...)
}

// Transport makes the connection use creds (TLS, see tlsx); nil keeps the
// plaintext default.
func Transport(creds credentials.TransportCredentials) grpc.DialOption {
	if creds == nil {
		return grpc.EmptyDialOption{}
	}
	return grpc.WithTransportCredentials(creds)
}

// ServiceToken makes every call on the connection carry token as its bearer
// credential: a service's own machine token (config SERVICE_TOKEN). An empty
// token (dev mode) adds nothing.
func ServiceToken(token string) grpc.DialOption {
	if token == "" {
		return grpc.EmptyDialOption{}
	}
	return grpc.WithPerRPCCredentials(bearerToken(token))
}

type bearerToken string

func (t bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

// RequireTransportSecurity is false: `make run` and the tests call over
// plaintext loopback; production adds TLS with Transport.
func (bearerToken) RequireTransportSecurity() bool { return false }
