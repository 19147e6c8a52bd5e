package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/registry/internal/domain"
	"github.com/breachline/breachline/services/registry/internal/server"
	"github.com/breachline/breachline/services/registry/internal/store"
)

// now is the pinned start time of every test server's clock.
var now = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer collects log output written from server goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is one registry server on a real gRPC stack (bufconn, the grpcx
// interceptor chain) over a fresh database on the embedded MongoDB server.
type env struct {
	customers     registryv1.CustomerServiceClient
	subprocessors registryv1.SubprocessorServiceClient
	dsrs          registryv1.DataSubjectRequestServiceClient
	removals      registryv1.SensitiveDataRemovalServiceClient
	returns       registryv1.DataReturnServiceClient
	audits        registryv1.AuditServiceClient
	svc           *domain.Service
	st            *store.Store
	clock         *clock
	logs          *syncBuffer
}

func newEnv(t *testing.T, opts ...domain.Option) *env {
	t.Helper()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	clk := &clock{t: now}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st := store.New(db)
	svc := domain.NewService(st, clk.Now, opts...)
	srv := grpcx.NewServer(grpcx.Options{Service: "registry", Logger: logger, Validator: server.NewValidator(svc)})
	server.Register(srv.GRPC(), svc)

	lis := bufconn.Listen(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, lis) }()
	conn, err := grpc.NewClient("passthrough:///registry",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeListener: %v", err)
		}
	})
	return &env{
		customers:     registryv1.NewCustomerServiceClient(conn),
		subprocessors: registryv1.NewSubprocessorServiceClient(conn),
		dsrs:          registryv1.NewDataSubjectRequestServiceClient(conn),
		removals:      registryv1.NewSensitiveDataRemovalServiceClient(conn),
		returns:       registryv1.NewDataReturnServiceClient(conn),
		audits:        registryv1.NewAuditServiceClient(conn),
		svc:           svc,
		st:            st,
		clock:         clk,
		logs:          logs,
	}
}

// wantCode fails unless err is a status with code c.
func wantCode(t *testing.T, err error, c codes.Code) {
	t.Helper()
	if got := status.Code(err); got != c {
		t.Fatalf("got code %v (%v), want %v", got, err, c)
	}
}

// violations returns the BadRequest field violations of an INVALID_ARGUMENT
// error as "field" strings, in order.
func violations(t *testing.T, err error) []string {
	t.Helper()
	wantCode(t, err, codes.InvalidArgument)
	st, _ := status.FromError(err)
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if len(fields) == 0 {
		t.Fatalf("INVALID_ARGUMENT without field violations: %v", err)
	}
	return fields
}

// wantViolations fails unless err has exactly the field violations want.
func wantViolations(t *testing.T, err error, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, violations(t, err)); diff != "" {
		t.Fatalf("field violations (-want +got):\n%s", diff)
	}
}

// wantProto fails unless got equals want.
func wantProto(t *testing.T, got, want proto.Message) {
	t.Helper()
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

// diff compares plain values.
func diff(want, got any) string {
	if d := cmp.Diff(want, got); d != "" {
		return "(-want +got):\n" + d
	}
	return ""
}
