package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/classification/internal/domain"
	"github.com/breachline/breachline/services/classification/internal/registryclient"
	"github.com/breachline/breachline/services/classification/internal/scanner"
	"github.com/breachline/breachline/services/classification/internal/server"
	"github.com/breachline/breachline/services/classification/internal/store"
)

// removalRegistry stands in for the registry's SensitiveDataRemovalService:
// the real gRPC stack on loopback, idempotent on request_id like the real
// one, knowing the customers in known.
type removalRegistry struct {
	registryv1.UnimplementedSensitiveDataRemovalServiceServer
	known map[string]bool
	mu    sync.Mutex
	byKey map[string]*registryv1.OpenRemovalRequestRequest
}

func (r *removalRegistry) OpenRemovalRequest(_ context.Context, req *registryv1.OpenRemovalRequestRequest) (*registryv1.OpenRemovalRequestResponse, error) {
	if !r.known[req.GetCustomerId()] {
		return nil, apperr.ErrNotFound
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byKey[req.GetRequestId()] = req
	return &registryv1.OpenRemovalRequestResponse{RemovalRequest: &registryv1.RemovalRequest{
		RemovalRequestId: "rmr_for_" + req.GetRequestId(), CustomerId: req.GetCustomerId(),
	}}, nil
}

func (r *removalRegistry) received() map[string]*registryv1.OpenRemovalRequestRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]*registryv1.OpenRemovalRequestRequest, len(r.byKey))
	for k, v := range r.byKey {
		out[k] = v
	}
	return out
}

// serveRemovalRegistry serves a removalRegistry on 127.0.0.1.
func serveRemovalRegistry(t *testing.T, known ...string) (*removalRegistry, *registryclient.Client) {
	t.Helper()
	reg := &removalRegistry{known: map[string]bool{}, byKey: map[string]*registryv1.OpenRemovalRequestRequest{}}
	for _, k := range known {
		reg.known[k] = true
	}
	srv := grpcx.NewServer(grpcx.Options{Service: "registry"})
	registryv1.RegisterSensitiveDataRemovalServiceServer(srv.GRPC(), reg)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, lis) }()
	conn, err := grpcx.Dial(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("registry serve: %v", err)
		}
	})
	return reg, registryclient.New(conn, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// serveScannerWithHandovers runs the ScannerService recording hand-overs
// in a fresh database.
func serveScannerWithHandovers(t *testing.T) (classificationv1.ScannerServiceClient, *store.Handovers) {
	t.Helper()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	hs := store.NewHandovers(db)
	handler := server.NewScanner(scanner.New()).WithHandovers(hs, func() time.Time { return now })
	srv := grpcx.NewServer(grpcx.Options{Service: "classification", Validator: server.Validators{handler}})
	classificationv1.RegisterScannerServiceServer(srv.GRPC(), handler)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, lis) }()
	conn, err := grpcx.Dial(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return classificationv1.NewScannerServiceClient(conn), hs
}

func customerScan(text, customerID, location string) *classificationv1.ScanContentRequest {
	return &classificationv1.ScanContentRequest{
		Content:    &classificationv1.ScanContentRequest_Text{Text: text},
		CustomerId: customerID,
		Location:   location,
	}
}

func countHandovers(t *testing.T, hs *store.Handovers) int64 {
	t.Helper()
	n, err := hs.Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestScanContent_removalHandover(t *testing.T) {
	t.Parallel()

	t.Run("method=ScanContent/case=ssn_records_one_handover", func(t *testing.T) {
		t.Parallel()
		c, hs := serveScannerWithHandovers(t)
		req := customerScan("employee SSN: 536-22-1947", "acme", "hr / people / notes")
		first, err := c.ScanContent(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if !first.GetRemovalRequestPending() || first.GetRemovalHandoverId() == "" {
			t.Fatalf("no hand-over: %v", first)
		}
		again, err := c.ScanContent(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if again.GetRemovalHandoverId() != first.GetRemovalHandoverId() {
			t.Fatalf("second scan: hand-over %q, want %q", again.GetRemovalHandoverId(), first.GetRemovalHandoverId())
		}
		if n := countHandovers(t, hs); n != 1 {
			t.Fatalf("%d hand-overs, want 1", n)
		}
		h, err := hs.Get(t.Context(), first.GetRemovalHandoverId())
		if err != nil {
			t.Fatal(err)
		}
		if h.CustomerID != "acme" || h.Location != "hr / people / notes" || len(h.Types) != 1 || h.Types[0] != domain.SensitiveSSN || h.FindingCount != 1 {
			t.Fatalf("hand-over %+v", h)
		}
	})

	t.Run("method=ScanContent/case=nothing_prohibited", func(t *testing.T) {
		t.Parallel()
		c, hs := serveScannerWithHandovers(t)
		resp, err := c.ScanContent(t.Context(), customerScan("write to jane.doe@example.com", "acme", "crm / notes"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetRemovalRequestPending() || resp.GetRemovalHandoverId() != "" {
			t.Fatalf("unexpected hand-over: %v", resp)
		}
		if n := countHandovers(t, hs); n != 0 {
			t.Fatalf("%d hand-overs, want 0", n)
		}
	})

	t.Run("method=ScanContent/case=without_customer", func(t *testing.T) {
		t.Parallel()
		c, hs := serveScannerWithHandovers(t)
		resp, err := c.ScanContent(t.Context(), customerScan(sample, "", ""))
		if err != nil {
			t.Fatal(err)
		}
		if !resp.GetProhibitedForHostedStorage() || resp.GetRemovalRequestPending() || countHandovers(t, hs) != 0 {
			t.Fatalf("scan without customer recorded a hand-over: %v", resp)
		}
	})

	t.Run("method=ScanContent/case=invalid_target", func(t *testing.T) {
		t.Parallel()
		c, _ := serveScannerWithHandovers(t)
		for _, tc := range []struct {
			name string
			req  *classificationv1.ScanContentRequest
			want string
		}{
			{"location_without_customer", customerScan(sample, "", "crm"), "location"},
			{"customer_without_location", customerScan(sample, "acme", ""), "location"},
			{"bad_customer", customerScan(sample, "Acme Corp", "crm"), "customer_id"},
		} {
			_, err := c.ScanContent(t.Context(), tc.req)
			if v := scanViolations(t, err); v[tc.want] == "" || len(v) != 1 {
				t.Errorf("%s: violations %v, want only %s", tc.name, v, tc.want)
			}
		}
	})
}

func TestHandoverRelay(t *testing.T) {
	t.Parallel()

	record := func(t *testing.T, hs *store.Handovers, customerID string) domain.RemovalHandover {
		t.Helper()
		types := []domain.SensitiveType{domain.SensitiveSSN, domain.SensitivePaymentCard}
		h := domain.RemovalHandover{
			ID: domain.HandoverID(customerID, "crm / notes", types), CustomerID: customerID,
			Location: "crm / notes", Types: types, FindingCount: 2, CreateTime: now,
		}
		if _, created, err := hs.RecordHandover(t.Context(), h); err != nil || !created {
			t.Fatalf("RecordHandover: %v %v", created, err)
		}
		return h
	}
	newHandovers := func(t *testing.T) *store.Handovers {
		t.Helper()
		db := mongotest.DB(t)
		if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
			t.Fatal(err)
		}
		return store.NewHandovers(db)
	}
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))

	t.Run("method=Step/case=registry_down_then_delivered", func(t *testing.T) {
		t.Parallel()
		hs := newHandovers(t)
		h := record(t, hs, "acme")
		clk := now
		at := func() time.Time { return clk }

		down := domain.NewHandoverRelay(hs, downRegistry(t), at, "r1", discard).WithLease(3 * time.Second)
		if did, err := down.Step(t.Context()); err != nil || !did {
			t.Fatalf("down: did=%v err=%v", did, err)
		}
		if got, err := hs.Get(t.Context(), h.ID); err != nil || got.RemovalRequestID != "" {
			t.Fatalf("after failure: %+v %v", got, err)
		}
		if did, err := down.Step(t.Context()); err != nil || did {
			t.Fatalf("retried before its backoff: did=%v err=%v", did, err)
		}

		reg, client := serveRemovalRegistry(t, "acme")
		up := domain.NewHandoverRelay(hs, client, at, "r2", discard)
		clk = now.Add(2 * time.Minute)
		if did, err := up.Step(t.Context()); err != nil || !did {
			t.Fatalf("up: did=%v err=%v", did, err)
		}
		got, err := hs.Get(t.Context(), h.ID)
		if err != nil || got.RemovalRequestID != "rmr_for_"+h.ID {
			t.Fatalf("delivered: %+v %v", got, err)
		}
		req := reg.received()[h.ID]
		if req == nil || req.GetCustomerId() != "acme" || len(req.GetFoundTypes()) != 2 ||
			req.GetFoundTypes()[0] != registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_SSN || req.GetLocation() != "crm / notes" {
			t.Fatalf("registry got %v", req)
		}
		if did, err := up.Step(t.Context()); err != nil || did {
			t.Fatalf("after delivery: did=%v err=%v", did, err)
		}
	})

	t.Run("method=Step/case=unknown_customer_abandoned", func(t *testing.T) {
		t.Parallel()
		hs := newHandovers(t)
		h := record(t, hs, "nobody")
		_, client := serveRemovalRegistry(t, "acme")
		relay := domain.NewHandoverRelay(hs, client, func() time.Time { return now }, "r1", discard)
		if did, err := relay.Step(t.Context()); err != nil || !did {
			t.Fatalf("did=%v err=%v", did, err)
		}
		if did, err := relay.Step(t.Context()); err != nil || did {
			t.Fatalf("abandoned hand-over retried: did=%v err=%v", did, err)
		}
		if got, err := hs.Get(t.Context(), h.ID); err != nil || got.RemovalRequestID != "" {
			t.Fatalf("abandoned: %+v %v", got, err)
		}
	})
}
