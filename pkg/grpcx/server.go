// Package grpcx is the gRPC bootstrap every Breachline service shares: one
// ordered interceptor chain, health and reflection, OpenTelemetry stats
// handlers, graceful shutdown, and the client dialer services use to call
// each other.
package grpcx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/breachline/breachline/pkg/auth"
	"github.com/breachline/breachline/pkg/authz"
	"github.com/breachline/breachline/pkg/ratelimit"
)

// Options configure a Server.
type Options struct {
	// Service names the service, e.g. "intake".
	Service string
	// Logger receives one line per RPC and every internal error; it should
	// already carry the service name (config.NewLogger adds it).
	Logger *slog.Logger
	// Authenticator verifies callers; nil means auth.Dev (development only).
	Authenticator auth.Authenticator
	// Authorizer decides what callers may do; nil means authz.Default(),
	// the suite's permission table.
	Authorizer Authorizer
	// ShutdownGrace bounds graceful shutdown before in-flight calls are cut;
	// 0 means 10s.
	ShutdownGrace time.Duration
	// DrainDelay is how long the server keeps serving after reporting
	// NOT_SERVING, so load balancers stop sending new calls; 0 means none.
	DrainDelay time.Duration
	// MaxRecvBytes bounds a request message; 0 means 4 MiB.
	MaxRecvBytes int
	// Validator, when set, completes the list of violations of a request
	// that misses REQUIRED fields (see RequestValidator).
	Validator RequestValidator
	// QuietMethods are full method names (e.g.
	// "/breachline.registry.v1.SubprocessorService/CheckSubprocessor")
	// whose successful calls are logged at Debug rather than Info: hot
	// internal queries that would otherwise write thousands of lines a
	// second. Failures are logged as for every method.
	QuietMethods []string
	// RateLimit bounds each authenticated caller's calls (services
	// exempt); the zero value means no limit.
	RateLimit RateLimit
	// Creds secures the listener (tlsx.Config.ServerCredentials); nil
	// serves plaintext, as `make run` and the tests on loopback do.
	Creds credentials.TransportCredentials
	// HealthAddr, when set, also serves the health service alone, in
	// plaintext, on this address: Kubernetes' gRPC probes cannot speak TLS,
	// so with Creds set the probes go there. It reports the same status as
	// the main listener.
	HealthAddr string
}

// Server is a gRPC server with the platform's chain, health and reflection.
type Server struct {
	grpc        *grpc.Server
	health      *health.Server
	logger      *slog.Logger
	authn       auth.Authenticator
	authz       Authorizer
	grace       time.Duration
	drain       time.Duration
	validator   RequestValidator
	quietHealth bool
	quiet       map[string]bool
	limits      *ratelimit.Keyed
	healthAddr  string
	healthOnly  *grpc.Server
}

// NewServer builds a Server. Register services on GRPC(), then call Serve.
func NewServer(opts Options) *Server {
	s := &Server{
		logger:      opts.Logger,
		authn:       opts.Authenticator,
		authz:       opts.Authorizer,
		grace:       opts.ShutdownGrace,
		drain:       opts.DrainDelay,
		validator:   opts.Validator,
		health:      health.NewServer(),
		quietHealth: true,
		quiet:       make(map[string]bool, len(opts.QuietMethods)),
		limits:      newLimiters(opts.RateLimit),
		healthAddr:  opts.HealthAddr,
	}
	for _, m := range opts.QuietMethods {
		s.quiet[m] = true
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.authn == nil {
		s.authn = auth.Dev{}
	}
	if s.authz == nil {
		s.authz = authz.Default()
	}
	if s.grace == 0 {
		s.grace = 10 * time.Second
	}
	maxRecv := opts.MaxRecvBytes
	if maxRecv == 0 {
		maxRecv = 4 << 20
	}
	serverOpts := []grpc.ServerOption{
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.ChainUnaryInterceptor(s.unaryChain()...),
		grpc.ChainStreamInterceptor(s.streamChain()...),
		grpc.MaxRecvMsgSize(maxRecv),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}
	if opts.Creds != nil {
		serverOpts = append(serverOpts, grpc.Creds(opts.Creds))
	}
	s.grpc = grpc.NewServer(serverOpts...)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	if s.healthAddr != "" {
		s.healthOnly = grpc.NewServer()
		healthpb.RegisterHealthServer(s.healthOnly, s.health)
	}
	reflection.Register(s.grpc)
	return s
}

// GRPC returns the underlying server for service registration.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Health returns the health server, e.g. to mark a dependency down.
func (s *Server) Health() *health.Server { return s.health }

// Serve listens on addr and serves until ctx is done, then shuts down
// gracefully (see ServeListener).
func (s *Server) Serve(ctx context.Context, addr string) error {
	lis, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return s.ServeListener(ctx, lis)
}

// ServeListener serves on lis until ctx is done. Shutdown order: health
// reports NOT_SERVING, a short drain lets balancers notice, GracefulStop lets
// in-flight calls finish, and Stop cuts them after ShutdownGrace.
func (s *Server) ServeListener(ctx context.Context, lis net.Listener) error {
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	for name := range s.grpc.GetServiceInfo() {
		s.health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	if s.healthOnly != nil {
		hlis, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.healthAddr)
		if err != nil {
			_ = lis.Close()
			return fmt.Errorf("listen %s (health): %w", s.healthAddr, err)
		}
		s.logger.InfoContext(ctx, "health probes served", "addr", hlis.Addr().String())
		go func() { _ = s.healthOnly.Serve(hlis) }()
		// The probe listener outlives the drain below, so probes see
		// NOT_SERVING rather than a refused connection while it lasts.
		defer s.healthOnly.Stop()
	}
	s.logger.InfoContext(ctx, "listening", "addr", lis.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- s.grpc.Serve(lis) }()
	select {
	case err := <-errc:
		if errors.Is(err, grpc.ErrServerStopped) {
			return nil
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.health.Shutdown()
	if s.drain > 0 {
		t := time.NewTimer(s.drain)
		<-t.C
	}
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	t := time.NewTimer(s.grace)
	defer t.Stop()
	select {
	case <-stopped:
	case <-t.C:
		s.logger.Warn("graceful stop timed out; stopping")
		s.grpc.Stop()
		<-stopped
	}
	s.logger.Info("stopped")
	return nil
}
