package domain_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/services/intake/internal/classify"
	"github.com/breachline/breachline/services/intake/internal/domain"
)

// classification is a stand-in ClassificationService on a real loopback
// listener: idempotent on request_id like the real one, and able to hold a
// call open so tests can observe a lease.
type classification struct {
	classificationv1.UnimplementedClassificationServiceServer

	mu       sync.Mutex
	requests []*classificationv1.AssessIncidentRequest
	byKey    map[string]string
	// entered, when set, receives each call as it starts; release, when
	// set, is waited on before answering.
	entered chan struct{}
	release chan struct{}
}

func (c *classification) AssessIncident(ctx context.Context, req *classificationv1.AssessIncidentRequest) (*classificationv1.AssessIncidentResponse, error) {
	if c.entered != nil {
		c.entered <- struct{}{}
	}
	if c.release != nil {
		select {
		case <-c.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests = append(c.requests, req)
	id, ok := c.byKey[req.GetRequestId()]
	if !ok {
		id = "asm_" + req.GetIncidentId()
		c.byKey[req.GetRequestId()] = id
	}
	return &classificationv1.AssessIncidentResponse{Assessment: &classificationv1.Assessment{
		AssessmentId: id, IncidentId: req.GetIncidentId(), Facts: req.GetFacts(),
	}}, nil
}

func (c *classification) received() []*classificationv1.AssessIncidentRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*classificationv1.AssessIncidentRequest(nil), c.requests...)
}

// serveClassification serves c on lis until the test ends.
func serveClassification(t *testing.T, lis net.Listener, c *classification) {
	t.Helper()
	c.byKey = map[string]string{}
	srv := grpc.NewServer()
	classificationv1.RegisterClassificationServiceServer(srv, c)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
}

func dialAssessor(t *testing.T, addr string) *classify.Client {
	t.Helper()
	conn, err := grpcx.Dial(addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return classify.New(conn)
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestRelay(t *testing.T) {
	t.Parallel()

	t.Run("method=Step/case=retries_until_classification_is_up", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		clk := &clock{t: now}
		rep, err := domain.NewIntake(st, clk.Now).ReportSignal(t.Context(), testCaller, validSignal())
		if err != nil {
			t.Fatalf("ReportSignal: %v", err)
		}
		incID := rep.Incident.ID

		// Reserve a port and close it: classification is down.
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("Listen: %v", err)
		}
		addr := lis.Addr().String()
		_ = lis.Close()

		down := domain.NewRelay(st, dialAssessor(t, addr), clk.Now, quietLogger(), domain.RelayOptions{Owner: "relay-1"})
		for attempt := 1; attempt <= 2; attempt++ {
			did, err := down.Step(t.Context())
			if err != nil || !did {
				t.Fatalf("attempt %d: Step = %v, %v; want work done", attempt, did, err)
			}
			inc, err := st.GetIncident(t.Context(), incID)
			if err != nil {
				t.Fatalf("GetIncident: %v", err)
			}
			wantNext := clk.Now().Add(time.Duration(1<<(attempt-1)) * time.Second)
			if inc.AssessmentStatus != domain.AssessmentStatusPending || inc.Attempts != attempt ||
				!inc.NextAttemptAt.Equal(wantNext) || !strings.Contains(inc.LastError, "Unavailable") {
				t.Fatalf("attempt %d: incident = status %d attempts %d next %v error %q; want pending, next at %v",
					attempt, inc.AssessmentStatus, inc.Attempts, inc.NextAttemptAt, inc.LastError, wantNext)
			}
			// Not due again until the backoff has passed.
			if did, err := down.Step(t.Context()); err != nil || did {
				t.Fatalf("attempt %d: Step before backoff = %v, %v; want nothing due", attempt, did, err)
			}
			clk.Advance(wantNext.Sub(clk.Now()))
		}

		// Classification comes up on that address and intake restarts: a new
		// relay with a new connection picks up the pending request.
		lis, err = net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("port %s was taken meanwhile: %v", addr, err)
		}
		cls := &classification{}
		serveClassification(t, lis, cls)
		up := domain.NewRelay(st, dialAssessor(t, addr), clk.Now, quietLogger(), domain.RelayOptions{Owner: "relay-2"})
		if did, err := up.Step(t.Context()); err != nil || !did {
			t.Fatalf("Step with classification up = %v, %v", did, err)
		}

		inc, err := st.GetIncident(t.Context(), incID)
		if err != nil {
			t.Fatalf("GetIncident: %v", err)
		}
		if inc.AssessmentStatus != domain.AssessmentStatusCompleted || inc.AssessmentID != "asm_"+incID || inc.LastError != "" {
			t.Errorf("incident = status %d assessment %q error %q; want completed", inc.AssessmentStatus, inc.AssessmentID, inc.LastError)
		}
		reqs := cls.received()
		if len(reqs) != 1 {
			t.Fatalf("classification got %d requests, want 1", len(reqs))
		}
		if got, want := reqs[0].GetRequestId(), incID+":facts:1"; got != want {
			t.Errorf("request_id = %q, want %q", got, want)
		}
		if f := reqs[0].GetFacts(); !f.GetDiscoveredAt().AsTime().Equal(now) || len(f.GetAffected()) != 2 || len(f.GetDataElements()) != 2 {
			t.Errorf("facts sent = %v", f)
		}
		if did, err := up.Step(t.Context()); err != nil || did {
			t.Errorf("Step after completion = %v, %v; want nothing due", did, err)
		}
	})

	t.Run("method=Step/case=lease_blocks_second_claimer", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		clk := &clock{t: now}
		if _, err := domain.NewIntake(st, clk.Now).ReportSignal(t.Context(), testCaller, validSignal()); err != nil {
			t.Fatalf("ReportSignal: %v", err)
		}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("Listen: %v", err)
		}
		cls := &classification{entered: make(chan struct{}, 1), release: make(chan struct{})}
		serveClassification(t, lis, cls)
		assessor := dialAssessor(t, lis.Addr().String())
		a := domain.NewRelay(st, assessor, clk.Now, quietLogger(), domain.RelayOptions{Owner: "a"})
		b := domain.NewRelay(st, assessor, clk.Now, quietLogger(), domain.RelayOptions{Owner: "b"})

		type result struct {
			did bool
			err error
		}
		done := make(chan result, 1)
		go func() {
			did, err := a.Step(t.Context())
			done <- result{did, err}
		}()
		select {
		case <-cls.entered: // a holds the lease and is inside the call
		case <-t.Context().Done():
			t.Fatal("relay a never called classification")
		}
		if did, err := b.Step(t.Context()); err != nil || did {
			t.Errorf("second claimer Step = %v, %v; want nothing due while a holds the lease", did, err)
		}
		close(cls.release)
		if r := <-done; r.err != nil || !r.did {
			t.Fatalf("relay a Step = %v, %v", r.did, r.err)
		}
		if n := len(cls.received()); n != 1 {
			t.Errorf("classification answered %d calls, want 1", n)
		}
	})
}
