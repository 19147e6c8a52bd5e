package peers_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/registry/internal/domain"
	"github.com/breachline/breachline/services/registry/internal/peers"
	"github.com/breachline/breachline/services/registry/internal/store"
)

// fakeDispatch is dispatch's SendNotice as the registry uses it: one notice
// per request id. down makes it answer UNAVAILABLE; lose makes it store the
// notice and then fail, as when the answer is lost on the way back.
type fakeDispatch struct {
	dispatchv1.UnimplementedDispatchServiceServer
	mu      sync.Mutex
	down    bool
	lose    bool
	calls   int
	notices map[string]*dispatchv1.SendNoticeRequest
}

func (f *fakeDispatch) SendNotice(_ context.Context, req *dispatchv1.SendNoticeRequest) (*dispatchv1.SendNoticeResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down {
		return nil, status.Error(codes.Unavailable, "down")
	}
	if _, ok := f.notices[req.GetRequestId()]; !ok {
		f.notices[req.GetRequestId()] = req
	}
	if f.lose {
		f.lose = false
		return nil, status.Error(codes.DeadlineExceeded, "answer lost")
	}
	return &dispatchv1.SendNoticeResponse{Notice: &dispatchv1.Notice{NoticeId: "ntc_" + req.GetRequestId(), RequestId: req.GetRequestId()}}, nil
}

func (f *fakeDispatch) set(down, lose bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down, f.lose = down, lose
}

func (f *fakeDispatch) snapshot() (int, map[string]*dispatchv1.SendNoticeRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]*dispatchv1.SendNoticeRequest, len(f.notices))
	for k, v := range f.notices {
		out[k] = v
	}
	return f.calls, out
}

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

type relayEnv struct {
	svc      *domain.Service
	dispatch *fakeDispatch
	clock    *clock
	step     func(context.Context) (bool, error)
}

// newRelayEnv runs the stand-in dispatch on a real gRPC server on loopback
// and a registry service over a fresh store that talks to it.
func newRelayEnv(t *testing.T) *relayEnv {
	t.Helper()
	fake := &fakeDispatch{notices: map[string]*dispatchv1.SendNoticeRequest{}}
	srv := grpcx.NewServer(grpcx.Options{Service: "dispatch", ShutdownGrace: time.Second})
	dispatchv1.RegisterDispatchServiceServer(srv.GRPC(), fake)
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeListener(t.Context(), lis) }()
	t.Cleanup(func() { <-served })
	conn, err := grpcx.Dial(lis.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })

	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	svc := domain.NewService(store.New(db), clk.Now, domain.WithNotifier(peers.NewDispatch(conn)))
	if _, err := svc.CreateCustomer(t.Context(), "", domain.Customer{
		ID: "acme", DisplayName: "Acme", Region: domain.RegionUS, NotificationEmail: "privacy@acme.example",
		Products: []string{"admin"}, EmployeeNotification: domain.EmployeeNotificationCustomer, NotifyWithinHours: 48,
	}); err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	return &relayEnv{svc: svc, dispatch: fake, clock: clk, step: svc.NotifyRemovalCustomers("test")}
}

func (e *relayEnv) open(t *testing.T) domain.RemovalRequest {
	t.Helper()
	r, err := e.svc.OpenRemovalRequest(t.Context(), domain.OpenRemovalParams{
		CustomerID: "acme", FoundTypes: []domain.SensitiveType{domain.SensitiveSSN, domain.SensitivePaymentCard},
		Location: "admin / table students / column notes", FindingCount: 3, Source: "scan:42",
	})
	if err != nil {
		t.Fatalf("OpenRemovalRequest: %v", err)
	}
	if !r.NotifyCustomerPending {
		t.Fatal("new request is not pending notification")
	}
	return r
}

// wantStep runs one step and checks whether it found work and failed.
func (e *relayEnv) wantStep(t *testing.T, found, failed bool) {
	t.Helper()
	got, err := e.step(t.Context())
	if got != found || (err != nil) != failed {
		t.Fatalf("step = %v, %v; want found %v, failed %v", got, err, found, failed)
	}
}

func (e *relayEnv) wantNotified(t *testing.T, id string) domain.RemovalRequest {
	t.Helper()
	r, err := e.svc.GetRemovalRequest(t.Context(), id)
	if err != nil {
		t.Fatalf("GetRemovalRequest: %v", err)
	}
	if r.NotifyCustomerPending || r.NotifyTime.IsZero() || r.NoticeID != "ntc_removal-notice:"+id {
		t.Fatalf("request = %+v, want notified", r)
	}
	return r
}

func TestNotifyRemovalCustomers(t *testing.T) {
	t.Parallel()

	t.Run("method=NotifyRemovalCustomers/case=delivers", func(t *testing.T) {
		t.Parallel()
		e := newRelayEnv(t)
		r := e.open(t)
		e.wantStep(t, true, false)
		e.wantStep(t, false, false)
		got := e.wantNotified(t, r.ID)
		if got.Status != domain.RemovalOpen || got.Version != 2 {
			t.Fatalf("request = %+v, want OPEN at version 2", got)
		}
		calls, notices := e.dispatch.snapshot()
		n := notices[domain.RemovalNoticeRequestID(r.ID)]
		if calls != 1 || n == nil {
			t.Fatalf("dispatch calls = %d, notices = %v", calls, notices)
		}
		if n.GetTo() != "privacy@acme.example" || n.GetKind() != "sensitive-data-removal" || n.GetCustomerId() != "acme" {
			t.Fatalf("notice = %v", n)
		}
		for _, want := range []string{"Social Security numbers", "credit or debit card numbers", r.Location, "2026-03-16", "not be stored"} {
			if !strings.Contains(n.GetBody(), want) {
				t.Errorf("body lacks %q:\n%s", want, n.GetBody())
			}
		}
	})

	t.Run("method=NotifyRemovalCustomers/case=retries-while-dispatch-down", func(t *testing.T) {
		t.Parallel()
		e := newRelayEnv(t)
		r := e.open(t)
		e.dispatch.set(true, false)
		e.wantStep(t, true, true)
		// Backing off: not due again before the retry delay.
		e.wantStep(t, false, false)
		if got, _ := e.svc.GetRemovalRequest(t.Context(), r.ID); !got.NotifyCustomerPending || !got.NotifyTime.IsZero() {
			t.Fatalf("request = %+v, want still pending", got)
		}
		e.clock.Advance(2 * time.Second)
		e.wantStep(t, true, true) // still down
		e.dispatch.set(false, false)
		e.clock.Advance(5 * time.Second)
		e.wantStep(t, true, false)
		e.wantNotified(t, r.ID)
	})

	t.Run("method=NotifyRemovalCustomers/case=lost-answer-sends-once", func(t *testing.T) {
		t.Parallel()
		e := newRelayEnv(t)
		r := e.open(t)
		e.dispatch.set(false, true)
		e.wantStep(t, true, true)
		e.clock.Advance(2 * time.Second)
		e.wantStep(t, true, false)
		e.wantNotified(t, r.ID)
		calls, notices := e.dispatch.snapshot()
		if calls != 2 || len(notices) != 1 {
			t.Fatalf("dispatch calls = %d, notices = %d; want 2 calls with one key", calls, len(notices))
		}
	})

	t.Run("method=NotifyRemovalCustomers/case=removed-before-told", func(t *testing.T) {
		t.Parallel()
		e := newRelayEnv(t)
		r := e.open(t)
		if _, err := e.svc.RecordRemoval(t.Context(), domain.RecordRemovalParams{ID: r.ID, RemovedBy: domain.RemoverCustomer, Evidence: "customer deleted the column"}); err != nil {
			t.Fatalf("RecordRemoval: %v", err)
		}
		e.wantStep(t, true, false)
		got, err := e.svc.GetRemovalRequest(t.Context(), r.ID)
		if err != nil || got.NotifyCustomerPending || !got.NotifyTime.IsZero() {
			t.Fatalf("request = %+v, %v; want no longer pending, not notified", got, err)
		}
		if calls, _ := e.dispatch.snapshot(); calls != 0 {
			t.Fatalf("dispatch called %d times for a removed request", calls)
		}
	})
}
