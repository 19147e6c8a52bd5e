package domain_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"

	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/classification/internal/dispatchclient"
	"github.com/breachline/breachline/services/classification/internal/domain"
	"github.com/breachline/breachline/services/classification/internal/rules"
	"github.com/breachline/breachline/services/classification/internal/store"
)

// fakeDispatch is a tiny real DispatchService: it records each
// CreateDraftCampaigns call and drafts nothing else.
type fakeDispatch struct {
	dispatchv1.UnimplementedDispatchServiceServer
	mu    sync.Mutex
	calls []*dispatchv1.CreateDraftCampaignsRequest
}

func (f *fakeDispatch) CreateDraftCampaigns(_ context.Context, req *dispatchv1.CreateDraftCampaignsRequest) (*dispatchv1.CreateDraftCampaignsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req)
	return &dispatchv1.CreateDraftCampaignsResponse{CreatedCount: int32(len(req.GetObligations()))}, nil
}

func (f *fakeDispatch) received() []*dispatchv1.CreateDraftCampaignsRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// relayDoc is an assessment's hand-over as queued (store.CampaignQueue);
// CampaignsPending is whether it is queued at all.
type relayDoc struct {
	CampaignsPending bool
	NextAttemptAt    time.Time `bson:"due_at"`
	Attempts         int       `bson:"attempts"`
	LastError        string    `bson:"last_error"`
}

func TestRelay_dispatchDownThenUp(t *testing.T) {
	t.Parallel()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatal(err)
	}
	st := store.New(db)
	state := func(id string) relayDoc {
		t.Helper()
		var d relayDoc
		err := db.Collection(store.CampaignQueue).FindOne(t.Context(), bson.D{{Key: "_id", Value: id}}).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return d
		}
		if err != nil {
			t.Fatalf("read %s: %v", id, err)
		}
		d.CampaignsPending = true
		return d
	}
	lib, err := rules.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	svc := domain.NewService(st, rules.NewEngine(lib), nil, clk.Now)
	a, err := svc.Assess(t.Context(), domain.AssessRequest{
		RequestID: "req-1", IncidentID: "inc_1",
		Facts: domain.Facts{
			DataElements: []domain.Element{domain.ElementName, domain.ElementSSN},
			Affected:     []domain.JurisdictionCount{{Jurisdiction: "US-TX", Count: 312}},
			DiscoveredAt: clk.Now().Add(-time.Hour),
		},
	})
	if err != nil {
		t.Fatalf("Assess: %v", err)
	}

	// Dispatch is down: reserve a loopback port and leave nothing listening.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	conn, err := grpcx.Dial(addr, grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 10 * time.Millisecond, Multiplier: 1, MaxDelay: 10 * time.Millisecond},
		MinConnectTimeout: time.Second,
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	relay := domain.NewRelay(st, dispatchclient.New(conn), clk.Now, "relay-test", slog.New(slog.DiscardHandler))

	for attempt, wantDelay := range []time.Duration{time.Second, 2 * time.Second} {
		did, err := relay.Step(t.Context())
		if err != nil || !did {
			t.Fatalf("attempt %d: Step = %v, %v; want the failure recorded", attempt+1, did, err)
		}
		s := state(a.ID)
		if !s.CampaignsPending || s.Attempts != attempt+1 || s.LastError == "" || !s.NextAttemptAt.Equal(clk.Now().Add(wantDelay)) {
			t.Fatalf("attempt %d: state = %+v, want pending with next attempt in %v", attempt+1, s, wantDelay)
		}
		if did, _ := relay.Step(t.Context()); did {
			t.Fatalf("attempt %d: Step retried before the backoff elapsed", attempt+1)
		}
		clk.Advance(wantDelay)
	}

	// Dispatch comes up on the same address.
	lis, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("loopback port %s was taken meanwhile: %v", addr, err)
	}
	fake := &fakeDispatch{}
	gs := grpc.NewServer()
	dispatchv1.RegisterDispatchServiceServer(gs, fake)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	waitReady(t, conn)

	did, err := relay.Step(t.Context())
	if err != nil || !did {
		t.Fatalf("Step with dispatch up = %v, %v", did, err)
	}
	calls := fake.received()
	if len(calls) != 1 {
		t.Fatalf("dispatch got %d calls, want 1", len(calls))
	}
	var gotIDs, wantIDs []string
	for _, o := range calls[0].GetObligations() {
		gotIDs = append(gotIDs, o.GetObligationId())
	}
	for _, o := range a.Obligations {
		if o.Notify { // notify=false obligations explain; they are never drafted
			wantIDs = append(wantIDs, o.ObligationID)
		}
	}
	if calls[0].GetIncidentId() != "inc_1" || calls[0].GetAssessmentId() != a.ID || !slices.Equal(gotIDs, wantIDs) {
		t.Errorf("dispatch got incident %s assessment %s obligations %v; want inc_1, %s, %v",
			calls[0].GetIncidentId(), calls[0].GetAssessmentId(), gotIDs, a.ID, wantIDs)
	}
	if s := state(a.ID); s.CampaignsPending || s.LastError != "" {
		t.Errorf("state after success = %+v, want done", s)
	}
	clk.Advance(time.Hour)
	if did, err := relay.Step(t.Context()); did || err != nil {
		t.Errorf("Step after success = %v, %v; want nothing to do", did, err)
	}
}

// waitReady blocks until conn is connected, bounded by a deadline.
func waitReady(t *testing.T, conn *grpc.ClientConn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn.Connect()
	for s := conn.GetState(); s != connectivity.Ready; s = conn.GetState() {
		if !conn.WaitForStateChange(ctx, s) {
			t.Fatalf("dispatch connection not ready: %v", s)
		}
	}
}

func TestRelay_noObligationsClearsFlag(t *testing.T) {
	t.Parallel()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatal(err)
	}
	st := store.New(db)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	empty := engineFunc(func(domain.Facts, time.Time) (domain.Decision, error) { return domain.Decision{}, nil })
	svc := domain.NewService(st, empty, nil, func() time.Time { return now })
	if _, err := svc.Assess(t.Context(), domain.AssessRequest{
		RequestID: "req-1", IncidentID: "inc_1", Facts: domain.Facts{DiscoveredAt: now},
	}); err != nil {
		t.Fatal(err)
	}
	// A nil Dispatcher: calling it would panic and fail the test.
	relay := domain.NewRelay(st, nil, func() time.Time { return now }, "relay-test", slog.New(slog.DiscardHandler))
	if did, err := relay.Step(t.Context()); !did || err != nil {
		t.Fatalf("Step = %v, %v; want the flag cleared", did, err)
	}
	if did, err := relay.Step(t.Context()); did || err != nil {
		t.Errorf("second Step = %v, %v; want nothing pending", did, err)
	}
}

// engineFunc adapts a function to domain.Engine.
type engineFunc func(domain.Facts, time.Time) (domain.Decision, error)

func (f engineFunc) Assess(in domain.Input, at time.Time) (domain.Decision, error) {
	return f(in.Facts, at)
}

// Reproduce decides as the stand-in does now: it has no versions.
func (f engineFunc) Reproduce(in domain.Input, _ []domain.RulePackRef) (domain.Decision, error) {
	return f(in.Facts, time.Time{})
}

func TestAssess_retryWithReorderedFactsIsTheSameRequest(t *testing.T) {
	t.Parallel()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatal(err)
	}
	lib, err := rules.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	svc := domain.NewService(store.New(db), rules.NewEngine(lib), nil, func() time.Time { return now })
	req := domain.AssessRequest{RequestID: "req-1", IncidentID: "inc_1", Facts: domain.Facts{
		DataElements: []domain.Element{domain.ElementName, domain.ElementSSN},
		Affected:     []domain.JurisdictionCount{{Jurisdiction: "US-TX", Count: 3}, {Jurisdiction: "US-CA", Count: 4}},
		DiscoveredAt: now.Add(-time.Hour + 123456*time.Nanosecond),
	}}
	first, err := svc.Assess(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	req.Facts.DataElements = []domain.Element{domain.ElementSSN, domain.ElementName}
	req.Facts.Affected = []domain.JurisdictionCount{{Jurisdiction: "US-CA", Count: 4}, {Jurisdiction: "US-TX", Count: 3}}
	again, err := svc.Assess(t.Context(), req)
	if err != nil || again.ID != first.ID {
		t.Errorf("retry = %s, %v; want the stored %s", again.ID, err, first.ID)
	}
	if !first.Facts.DiscoveredAt.Equal(now.Add(-time.Hour)) {
		t.Errorf("discovered_at = %v, want it truncated to the millisecond MongoDB stores", first.Facts.DiscoveredAt)
	}
}
