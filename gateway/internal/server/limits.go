package server

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rs/cors"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/breachline/breachline/pkg/auth"
	"github.com/breachline/breachline/pkg/ratelimit"
)

// errorDomain is the google.rpc.ErrorInfo domain of the errors the gateway
// raises itself, the same as the services'.
const errorDomain = "breachline.dev"

// Defaults of Options.
const (
	DefaultMaxBodyBytes  = 1 << 20
	DefaultCallTimeout   = 30 * time.Second
	DefaultExportTimeout = 5 * time.Minute
)

// writeStatus writes st in grpc-gateway's error shape (google.rpc.Status as
// protojson: code, message, details), so a client parses the gateway's own
// errors (413, 429, 400 from the input checks, 403 for a foreign preflight)
// exactly like a service's.
func writeStatus(w http.ResponseWriter, httpCode int, st *status.Status) {
	b, err := protojson.Marshal(st.Proto())
	if err != nil {
		httpCode, b = http.StatusInternalServerError, []byte(`{"code":13,"message":"internal error","details":[]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpCode)
	_, _ = w.Write(b) //nolint:gosec // protojson of a google.rpc.Status, served as application/json, not HTML
}

// withDetails returns a status with an ErrorInfo (reason, metadata) and
// any further details.
func withDetails(code codes.Code, msg, reason string, md map[string]string, more ...protoadapt.MessageV1) *status.Status {
	st := status.New(code, msg)
	details := append([]protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: errorDomain, Metadata: md}}, more...)
	out, err := st.WithDetails(details...)
	if err != nil {
		return st
	}
	return out
}

// securityHeaders sets the response headers every API answer carries: the
// body is data, never a page to render, frame, sniff, cache or refer from.
// hsts, when positive, adds Strict-Transport-Security (only meaningful when
// clients reach the gateway over TLS, e.g. behind a TLS-terminating
// ingress).
func securityHeaders(hsts time.Duration, next http.Handler) http.Handler {
	hstsValue := ""
	if hsts > 0 {
		hstsValue = fmt.Sprintf("max-age=%d; includeSubDomains", int64(hsts.Seconds()))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if hstsValue != "" {
			h.Set("Strict-Transport-Security", hstsValue)
		}
		next.ServeHTTP(w, r)
	})
}

// withCORS lets browsers on the listed origins call the API (rs/cors does
// the header negotiation). With no origins configured it adds nothing: no
// CORS headers at all, so browsers keep cross-origin pages out. A preflight
// from an origin not on the list is refused with 403 rather than answered.
func withCORS(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	allowed := map[string]bool{}
	for _, o := range origins {
		allowed[o] = true
	}
	c := cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete},
		AllowedHeaders: []string{"Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id", "Grpc-Timeout"},
		ExposedHeaders: []string{"X-Request-Id", "Retry-After"},
		MaxAge:         600,
	}).Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" && !allowed[r.Header.Get("Origin")] {
			writeStatus(w, http.StatusForbidden, withDetails(codes.PermissionDenied,
				"cross-origin requests from this origin are not allowed", "CORS_ORIGIN_NOT_ALLOWED", nil))
			return
		}
		c.ServeHTTP(w, r)
	})
}

func newLimiters(rps float64, burst int) *ratelimit.Keyed {
	if burst < 1 {
		burst = int(math.Max(1, math.Ceil(rps)))
	}
	return ratelimit.NewKeyed(rps, burst)
}

// rateLimitKey names the caller a request counts against: the
// authenticated subject when the credentials verify (so one person or
// machine gets one budget across addresses), else the client address (so
// unauthenticated or forged credentials cannot mint fresh budgets).
func rateLimitKey(ctx context.Context, authn auth.Authenticator, r *http.Request) string {
	if authn != nil {
		md := metadata.MD{}
		for _, h := range []string{"authorization", auth.DevSubjectHeader, auth.DevRolesHeader, auth.DevCustomersHeader} {
			if v := r.Header.Get(h); v != "" {
				md.Set(h, v)
			}
		}
		if id, err := authn.Authenticate(ctx, md); err == nil {
			return "sub:" + id.Subject
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ip:" + host
}

// withRateLimit applies per-caller token buckets to every request but the
// health check. A caller over its budget gets 429 with Retry-After (whole
// seconds, rounded up) and a RESOURCE_EXHAUSTED body carrying
// google.rpc.RetryInfo with the exact delay. rps <= 0 turns it off.
func withRateLimit(rps float64, burst int, authn auth.Authenticator, next http.Handler) http.Handler {
	if rps <= 0 {
		return next
	}
	l := newLimiters(rps, burst)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		wait := l.Reserve(rateLimitKey(r.Context(), authn, r), time.Now())
		if wait <= 0 {
			next.ServeHTTP(w, r)
			return
		}
		secs := int64(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		st := withDetails(codes.ResourceExhausted, fmt.Sprintf("rate limit exceeded; retry after %s", wait.Round(time.Millisecond)),
			"RATE_LIMITED", map[string]string{"limit_rps": strconv.FormatFloat(rps, 'f', -1, 64), "burst": strconv.Itoa(l.Burst())},
			&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)})
		writeStatus(w, http.StatusTooManyRequests, st)
	})
}

// isExportRoute reports whether the route streams a large export and gets
// the longer deadline.
func isExportRoute(r *http.Request) bool {
	return r.Method == http.MethodGet && (strings.HasSuffix(r.URL.Path, ":export") || strings.HasSuffix(r.URL.Path, ":auditExport"))
}

// withDeadline gives every call a deadline: a client that sends
// Grpc-Timeout gets what it asked for (grpc-gateway applies it); otherwise
// the call gets callTimeout, or exportTimeout on the export routes (which
// also extend the connection's write deadline past the server's default).
// The deadline travels to the services as the gRPC deadline.
func withDeadline(callTimeout, exportTimeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Grpc-Timeout") != "" {
			next.ServeHTTP(w, r)
			return
		}
		d := callTimeout
		if isExportRoute(r) {
			d = exportTimeout
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d + 5*time.Second))
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
