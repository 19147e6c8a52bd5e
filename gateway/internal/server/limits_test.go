package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/breachline/breachline/gateway/internal/server"
	"github.com/breachline/breachline/pkg/auth"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
)

// deadlineBackend answers GetIncident and ExportIncident with the deadline
// the call arrived with (as the remaining duration in the title or the
// format), standing in for intake: the test is about what the gateway
// sends, not what intake does with it.
type deadlineBackend struct {
	intakev1.UnimplementedIntakeServiceServer
}

func remaining(ctx context.Context) string {
	d, ok := ctx.Deadline()
	if !ok {
		return "none"
	}
	return time.Until(d).String()
}

func (deadlineBackend) GetIncident(ctx context.Context, _ *intakev1.GetIncidentRequest) (*intakev1.GetIncidentResponse, error) {
	return &intakev1.GetIncidentResponse{Incident: &intakev1.Incident{Title: remaining(ctx)}}, nil
}

func (deadlineBackend) ExportIncident(ctx context.Context, _ *intakev1.ExportIncidentRequest) (*intakev1.ExportIncidentResponse, error) {
	return &intakev1.ExportIncidentResponse{Format: remaining(ctx)}, nil
}

// limitsGateway starts the gateway in front of deadlineBackend.
func limitsGateway(t *testing.T, opts server.Options) string {
	t.Helper()
	srv := grpc.NewServer()
	intakev1.RegisterIntakeServiceServer(srv, deadlineBackend{})
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpcx.Dial(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	h, err := server.New(context.Background(), server.Backends{Intake: conn, Classification: conn, Registry: conn, Dispatch: conn}, opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}

type reply struct {
	code   int
	header http.Header
	body   map[string]any
}

func call(t *testing.T, method, url string, header ...string) reply {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	return reply{resp.StatusCode, resp.Header, body}
}

// detail returns the first detail of an error body whose @type ends in typ.
func detail(body map[string]any, typ string) map[string]any {
	ds, _ := body["details"].([]any)
	for _, d := range ds {
		m, _ := d.(map[string]any)
		if s, _ := m["@type"].(string); strings.HasSuffix(s, typ) {
			return m
		}
	}
	return nil
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	const path = "/v1/incidents/inc_1"

	t.Run("case=per-subject", func(t *testing.T) {
		t.Parallel()
		base := limitsGateway(t, server.Options{RateLimitRPS: 0.5, RateLimitBurst: 2, Authenticator: auth.Dev{}})
		for i := range 2 {
			if r := call(t, http.MethodGet, base+path, auth.DevSubjectHeader, "alice"); r.code != http.StatusOK {
				t.Fatalf("alice call %d within the burst = %d %v", i, r.code, r.body)
			}
		}
		r := call(t, http.MethodGet, base+path, auth.DevSubjectHeader, "alice")
		if r.code != http.StatusTooManyRequests || r.body["code"] != float64(8) {
			t.Fatalf("alice over the burst = %d %v; want 429 RESOURCE_EXHAUSTED", r.code, r.body)
		}
		secs, err := strconv.Atoi(r.header.Get("Retry-After"))
		if err != nil || secs < 1 || secs > 2 {
			t.Errorf("Retry-After = %q; want 1..2 seconds at 0.5 rps", r.header.Get("Retry-After"))
		}
		ri := detail(r.body, "google.rpc.RetryInfo")
		if d, err := time.ParseDuration(ri["retryDelay"].(string)); ri == nil || err != nil || d <= 0 || d > 2*time.Second {
			t.Errorf("RetryInfo = %v; want a retryDelay in (0, 2s]", ri)
		}
		if ei := detail(r.body, "google.rpc.ErrorInfo"); ei["reason"] != "RATE_LIMITED" {
			t.Errorf("ErrorInfo = %v; want reason RATE_LIMITED", ei)
		}
		if r := call(t, http.MethodGet, base+path, auth.DevSubjectHeader, "bob"); r.code != http.StatusOK {
			t.Errorf("bob, another subject = %d; want his own budget", r.code)
		}
	})

	t.Run("case=unauthenticated-callers-share-their-address", func(t *testing.T) {
		t.Parallel()
		// No authenticator: the gateway cannot tell callers apart, so a
		// made-up subject does not buy a fresh budget.
		base := limitsGateway(t, server.Options{RateLimitRPS: 0.5, RateLimitBurst: 1})
		if r := call(t, http.MethodGet, base+path, auth.DevSubjectHeader, "mallory-1"); r.code != http.StatusOK {
			t.Fatalf("first call = %d", r.code)
		}
		if r := call(t, http.MethodGet, base+path, auth.DevSubjectHeader, "mallory-2"); r.code != http.StatusTooManyRequests {
			t.Fatalf("second call from the same address under another name = %d; want 429", r.code)
		}
	})

	t.Run("case=health-is-exempt", func(t *testing.T) {
		t.Parallel()
		base := limitsGateway(t, server.Options{RateLimitRPS: 0.5, RateLimitBurst: 1})
		for range 3 {
			if r := call(t, http.MethodGet, base+"/healthz"); r.code == http.StatusTooManyRequests {
				t.Fatalf("/healthz = 429; probes must never be limited")
			}
		}
	})
}

func TestDeadlines(t *testing.T) {
	t.Parallel()
	base := limitsGateway(t, server.Options{CallTimeout: 7 * time.Second, ExportTimeout: 90 * time.Second})
	for _, tc := range []struct {
		name, path, field string
		header            []string
		min, max          time.Duration
	}{
		{"default", "/v1/incidents/inc_1", "incident", nil, 6 * time.Second, 7 * time.Second},
		{"client-timeout", "/v1/incidents/inc_1", "incident", []string{"Grpc-Timeout", "2S"}, time.Second, 2 * time.Second},
		{"export", "/v1/incidents/inc_1:export", "format", nil, 89 * time.Second, 90 * time.Second},
	} {
		t.Run("case="+tc.name, func(t *testing.T) {
			t.Parallel()
			r := call(t, http.MethodGet, base+tc.path, tc.header...)
			got, _ := r.body[tc.field].(string)
			if m, ok := r.body[tc.field].(map[string]any); ok {
				got, _ = m["title"].(string)
			}
			d, err := time.ParseDuration(got)
			if r.code != http.StatusOK || err != nil || d < tc.min || d > tc.max {
				t.Fatalf("%s: %d, deadline at the service %q; want within [%v, %v]", tc.path, r.code, got, tc.min, tc.max)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	base := limitsGateway(t, server.Options{RateLimitRPS: 0.5, RateLimitBurst: 2, HSTSMaxAge: 365 * 24 * time.Hour})
	want := map[string]string{
		"X-Content-Type-Options":    "nosniff",
		"Cache-Control":             "no-store",
		"Content-Security-Policy":   "default-src 'none'; frame-ancestors 'none'",
		"Referrer-Policy":           "no-referrer",
		"X-Frame-Options":           "DENY",
		"Strict-Transport-Security": "max-age=31536000; includeSubDomains",
	}
	// An answer, a backend error, a gateway error (413) and a rate-limited
	// call all carry the headers.
	replies := map[string]reply{
		"ok":       call(t, http.MethodGet, base+"/v1/incidents/inc_1"),
		"no-route": call(t, http.MethodGet, base+"/v1/nothing-here"),
		"429":      call(t, http.MethodGet, base+"/openapi.json"),
	}
	for name, r := range replies {
		for k, v := range want {
			if got := r.header.Get(k); got != v {
				t.Errorf("case=%s (%d): %s = %q, want %q", name, r.code, k, got, v)
			}
		}
	}
	if replies["429"].code != http.StatusTooManyRequests {
		t.Errorf("third call = %d, want 429", replies["429"].code)
	}
	plain := limitsGateway(t, server.Options{})
	if r := call(t, http.MethodGet, plain+"/v1/incidents/inc_1"); r.header.Get("Strict-Transport-Security") != "" {
		t.Errorf("HSTS without HSTSMaxAge = %q, want none", r.header.Get("Strict-Transport-Security"))
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	const app, evil = "https://app.example.com", "https://evil.example.net"
	locked := limitsGateway(t, server.Options{CORSAllowedOrigins: []string{app}})
	closed := limitsGateway(t, server.Options{})
	preflight := []string{"Origin", "", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type"}
	with := func(origin string, h []string) []string {
		out := append([]string(nil), h...)
		out[1] = origin
		return out
	}
	for _, tc := range []struct {
		name, base, method, origin string
		header                     []string
		wantCode                   int
		wantACAO                   string
	}{
		{"listed-origin", locked, http.MethodGet, app, []string{"Origin", app}, http.StatusOK, app},
		{"unlisted-origin", locked, http.MethodGet, evil, []string{"Origin", evil}, http.StatusOK, ""},
		{"no-origins-configured", closed, http.MethodGet, app, []string{"Origin", app}, http.StatusOK, ""},
		{"preflight-listed", locked, http.MethodOptions, app, with(app, preflight), http.StatusNoContent, app},
		{"preflight-unlisted", locked, http.MethodOptions, evil, with(evil, preflight), http.StatusForbidden, ""},
	} {
		t.Run("case="+tc.name, func(t *testing.T) {
			t.Parallel()
			r := call(t, tc.method, tc.base+"/v1/incidents/inc_1", tc.header...)
			if r.code != tc.wantCode || r.header.Get("Access-Control-Allow-Origin") != tc.wantACAO {
				t.Fatalf("%s from %s = %d, Access-Control-Allow-Origin %q; want %d, %q",
					tc.method, tc.origin, r.code, r.header.Get("Access-Control-Allow-Origin"), tc.wantCode, tc.wantACAO)
			}
			if tc.wantACAO == "" && r.header.Get("Access-Control-Allow-Methods") != "" {
				t.Errorf("Access-Control-Allow-Methods = %q for a refused origin", r.header.Get("Access-Control-Allow-Methods"))
			}
		})
	}
}
