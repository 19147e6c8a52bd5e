// Package server is the REST gateway: grpc-gateway routes for every service,
// the OpenAPI document, and /healthz that reflects the backends.
package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/breachline/breachline/gateway/openapi"
	"github.com/breachline/breachline/pkg/auth"
	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/pkg/grpcx"
)

// Backends are the client connections to the services behind the gateway.
type Backends struct {
	Intake         grpc.ClientConnInterface
	Classification grpc.ClientConnInterface
	Registry       grpc.ClientConnInterface
	Dispatch       grpc.ClientConnInterface
}

func (b Backends) named() map[string]grpc.ClientConnInterface {
	return map[string]grpc.ClientConnInterface{
		"intake": b.Intake, "classification": b.Classification, "registry": b.Registry, "dispatch": b.Dispatch,
	}
}

// Options configure the handler.
type Options struct {
	Logger *slog.Logger
	// MaxBodyBytes bounds a request body; 0 means 1 MiB.
	MaxBodyBytes int64
	// MaxImportBytes bounds a CSV upload of affected individuals (the one
	// route exempt from MaxBodyBytes); 0 means 1 GiB.
	MaxImportBytes int64
	// RateLimitRPS and RateLimitBurst size each caller's token bucket
	// (see withRateLimit); RateLimitRPS <= 0 turns rate limiting off.
	RateLimitRPS   float64
	RateLimitBurst int
	// Authenticator identifies callers for their rate-limit budget only
	// (the services still authenticate every call); nil counts every
	// request against its client address.
	Authenticator auth.Authenticator
	// CallTimeout is the deadline of a call whose client sent no
	// Grpc-Timeout; 0 means 30s. ExportTimeout replaces it on the export
	// routes; 0 means 5m.
	CallTimeout   time.Duration
	ExportTimeout time.Duration
	// CORSAllowedOrigins are the browser origins allowed to call the API
	// cross-origin; empty means none (no CORS headers are ever sent).
	CORSAllowedOrigins []string
	// HSTSMaxAge, when positive, adds Strict-Transport-Security to every
	// response: set it when clients reach the gateway over TLS.
	HSTSMaxAge time.Duration
}

// New returns the gateway's HTTP handler.
func New(ctx context.Context, b Backends, opts Options) (http.Handler, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	maxBody := cmp.Or(opts.MaxBodyBytes, DefaultMaxBodyBytes)
	callTimeout := cmp.Or(opts.CallTimeout, DefaultCallTimeout)
	exportTimeout := cmp.Or(opts.ExportTimeout, DefaultExportTimeout)
	gw := runtime.NewServeMux(
		runtime.WithIncomingHeaderMatcher(headerMatcher),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, marshaler()),
	)
	regs := []error{
		intakev1.RegisterIntakeServiceHandlerClient(ctx, gw, intakev1.NewIntakeServiceClient(b.Intake)),
		intakev1.RegisterAffectedIndividualsServiceHandlerClient(ctx, gw, intakev1.NewAffectedIndividualsServiceClient(b.Intake)),
		intakev1.RegisterResponseServiceHandlerClient(ctx, gw, intakev1.NewResponseServiceClient(b.Intake)),
		classificationv1.RegisterClassificationServiceHandlerClient(ctx, gw, classificationv1.NewClassificationServiceClient(b.Classification)),
		classificationv1.RegisterScannerServiceHandlerClient(ctx, gw, classificationv1.NewScannerServiceClient(b.Classification)),
		registryv1.RegisterCustomerServiceHandlerClient(ctx, gw, registryv1.NewCustomerServiceClient(b.Registry)),
		registryv1.RegisterSubprocessorServiceHandlerClient(ctx, gw, registryv1.NewSubprocessorServiceClient(b.Registry)),
		registryv1.RegisterDataSubjectRequestServiceHandlerClient(ctx, gw, registryv1.NewDataSubjectRequestServiceClient(b.Registry)),
		registryv1.RegisterSensitiveDataRemovalServiceHandlerClient(ctx, gw, registryv1.NewSensitiveDataRemovalServiceClient(b.Registry)),
		registryv1.RegisterDataReturnServiceHandlerClient(ctx, gw, registryv1.NewDataReturnServiceClient(b.Registry)),
		registryv1.RegisterAuditServiceHandlerClient(ctx, gw, registryv1.NewAuditServiceClient(b.Registry)),
		dispatchv1.RegisterDispatchServiceHandlerClient(ctx, gw, dispatchv1.NewDispatchServiceClient(b.Dispatch)),
	}
	for _, err := range regs {
		if err != nil {
			return nil, fmt.Errorf("register gateway handlers: %w", err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", gw)
	mux.HandleFunc("GET /healthz", healthz(b))
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.Spec)
	})
	// Outermost first: every response gets a request id, a log line and the
	// security headers; CORS answers preflights before they spend a token;
	// the rate limit applies to every route (the CSV import included); the
	// CSV import streams with its own size limit and deadline; every other
	// route gets the body limit, the JSON checks and a deadline.
	h := withDeadline(callTimeout, exportTimeout, mux)
	h = limitBody(maxBody, h)
	h = withCSVImport(b, opts, h)
	h = withRateLimit(opts.RateLimitRPS, opts.RateLimitBurst, opts.Authenticator, h)
	h = withCORS(opts.CORSAllowedOrigins, h)
	h = securityHeaders(opts.HSTSMaxAge, h)
	return withRequestID(logged(logger, h)), nil
}

// headerMatcher forwards the request id and the development identity
// headers to the services as gRPC metadata, besides grpc-gateway's defaults
// (which include Authorization: the services verify the bearer token). The
// development headers mean something only to services in AUTH_MODE=dev.
func headerMatcher(key string) (string, bool) {
	switch k := strings.ToLower(key); k {
	case grpcx.RequestIDHeader, auth.DevSubjectHeader, auth.DevRolesHeader, auth.DevCustomersHeader:
		return k, true
	}
	return runtime.DefaultHeaderMatcher(key)
}

// healthz answers 200 when every backend reports SERVING and 503 otherwise,
// with each backend's state in the body.
func healthz(b Backends) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		states := map[string]string{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for name, conn := range b.named() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				state := "SERVING"
				resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
				switch {
				case err != nil:
					state = "UNREACHABLE"
				case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
					state = resp.GetStatus().String()
				}
				mu.Lock()
				states[name] = state
				mu.Unlock()
			}()
		}
		wg.Wait()
		code, overall := http.StatusOK, "ok"
		for _, s := range states {
			if s != "SERVING" {
				code, overall = http.StatusServiceUnavailable, "degraded"
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": overall, "backends": states})
	}
}

func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rid := r.Header.Get(grpcx.RequestIDHeader)
		if rid == "" || len(rid) > 128 {
			var b [8]byte
			_, _ = rand.Read(b[:])
			rid = hex.EncodeToString(b[:])
			r.Header.Set(grpcx.RequestIDHeader, rid)
		}
		w.Header().Set("X-Request-Id", rid)
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func logged(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		if r.URL.Path == "/healthz" && rec.code == http.StatusOK {
			return
		}
		logger.LogAttrs(r.Context(), slog.LevelInfo, "http",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", rec.code),
			slog.Duration("duration", time.Since(start)), slog.String("request_id", r.Header.Get(grpcx.RequestIDHeader)))
	})
}
