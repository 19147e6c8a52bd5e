package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/registry/internal/domain"
	"github.com/breachline/breachline/services/registry/internal/server"
	"github.com/breachline/breachline/services/registry/internal/store"
)

const (
	// checkClients callers run at once, over checkConns connections.
	checkClients = 32
	checkConns   = 4
	checkWarmup  = time.Second
	checkRun     = 5 * time.Second
	// Registry size of the run.
	benchSubprocessors = 200
	benchCustomers     = 300
	// pacedRate is the offered load of the latency run, in checks/s: the
	// issue's target ("20,000 queries/s with p99 under 5 ms" is a latency
	// at that load); pacedRun is its length, pacedCallers the callers that
	// share the schedule (each may take pacedCallers/pacedRate = 1.6 ms per
	// call before it falls behind). The p99 grows with the callers, for the
	// no-op handler as much as for the real one (16: ~5 ms but the schedule
	// slips to ~19,300/s; 32: ~7 ms at ~19,800/s; 64: ~11 ms at ~19,900/s,
	// on this machine): at this rate the tail is the burstiness of the
	// callers' wake-ups on two cores, not the handler. 32 keeps the
	// schedule within about 1%.
	pacedRate    = 20000
	pacedRun     = 5 * time.Second
	pacedCallers = 32
	// benchWriteEvery is how often the run changes the registry, so the
	// measured checks include cache invalidations and reloads.
	benchWriteEvery = time.Second
)

var benchProducts = []string{"admin", "teacher", "parent", "student", "analytics"}

// BenchmarkCheckSubprocessor measures CheckSubprocessor as internal services
// call it: real gRPC over loopback TCP with the platform's interceptor chain
// (logging every call as JSON), the registry over the embedded store
// (FerretDB over SQLite), 200 subprocessors, 300 customers and proposed
// changes with objections, and the registry changed every second during the
// run (each change bumps the version and reloads the snapshot; a real
// registry changes a few times a day). It prints
//
//   - registry.check_per_s: completed checks per second with checkClients
//     concurrent callers, flat out (the throughput figure);
//   - registry.check_p99_ms: the latency figure, the 99th
//     percentile of an open loop offering 20,000 checks/s (pacedRate) from
//     pacedCallers callers, each call timed from when it is sent, and
//     registry.check_rate_at_20000, the rate it completed them at (below
//     20,000 means the machine could not keep the schedule, and the p99 is
//     then not a p99 at 20,000/s);
//   - registry.check_p99_ms_from_schedule: the same calls timed from the
//     slot the schedule gave them, so it also counts every delay of the
//     load generator (timer wake-ups, scheduling on two cores shared with
//     the server and the store, a caller still busy with its previous
//     call): an upper bound that does not hide a stalled server behind a
//     late sender (coordinated omission);
//   - registry.check_p99_ms_saturated: the 99th percentile of the flat-out
//     run. It is not the figure: at saturation every call queues
//     behind checkClients others, so it measures the queue the load
//     generator builds, not the service at a stated load;
//   - registry.check_noop_per_s and registry.check_noop_p99_ms: the same two
//     loops against a handler that answers at once, on the same chain: the
//     ceiling and the floor gRPC, the interceptors, the client loop and the
//     machine's other load leave;
//   - registry.check_bare_grpc_p99_ms: the open loop against that no-op
//     handler on a bare grpc.NewServer (no interceptors, no telemetry): the
//     floor of grpc-go and the load generator alone on this machine.
//
// It does the whole workload once whatever b.N is.
func BenchmarkCheckSubprocessor(b *testing.B) {
	db := mongotest.DB(b)
	if err := mongox.EnsureIndexes(b.Context(), db, store.Indexes()); err != nil {
		b.Fatalf("EnsureIndexes: %v", err)
	}
	st := store.New(db)
	svc := domain.NewService(st, time.Now, domain.WithObjectionWindow(time.Hour))
	seedRegistry(b, svc, st)
	clients := serveRegistry(b, server.NewValidator(svc), func(r grpc.ServiceRegistrar) { server.Register(r, svc) })
	noop := serveRegistry(b, server.NewValidator(svc), func(r grpc.ServiceRegistrar) {
		registryv1.RegisterSubprocessorServiceServer(r, noopChecks{})
	})

	ctx, stop := context.WithCancel(b.Context())
	writes := make(chan int, 1)
	go func() { writes <- keepWriting(ctx, svc) }()

	b.ResetTimer()
	rate, saturatedP99 := checkLoad(b, clients)
	p99, fromSchedule, achieved := pacedLatency(b, clients)
	noopRate, _ := checkLoad(b, noop)
	noopP99, _, _ := pacedLatency(b, noop)
	bareP99, _, _ := pacedLatency(b, serveBare(b))
	b.StopTimer()
	stop()
	n := <-writes

	b.ReportMetric(rate, "checks/s")
	fmt.Fprintf(os.Stdout, "bench: registry.check_per_s %.0f 1/s\n", rate)
	fmt.Fprintf(os.Stdout, "bench: registry.check_p99_ms %.2f ms\n", p99)
	fmt.Fprintf(os.Stdout, "bench: registry.check_rate_at_20000 %.0f 1/s\n", achieved)
	fmt.Fprintf(os.Stdout, "bench: registry.check_p99_ms_from_schedule %.2f ms\n", fromSchedule)
	fmt.Fprintf(os.Stdout, "bench: registry.check_p99_ms_saturated %.2f ms\n", saturatedP99)
	fmt.Fprintf(os.Stdout, "bench: registry.check_noop_per_s %.0f 1/s\n", noopRate)
	fmt.Fprintf(os.Stdout, "bench: registry.check_noop_p99_ms %.2f ms\n", noopP99)
	fmt.Fprintf(os.Stdout, "bench: registry.check_bare_grpc_p99_ms %.2f ms\n", bareP99)
	if n == 0 {
		b.Fatal("no registry change happened during the run")
	}
}

// seedRegistry fills the registry: subprocessors serving two products each
// (some in the EU, most outside with a mechanism, every tenth retired),
// customers across regions, and two proposed changes, each with an
// objection.
//
// Subprocessors go straight into the store (with their history) and are
// announced with one version bump: through the service every create would
// reload the snapshot, which makes the set-up quadratic for nothing.
func seedRegistry(b *testing.B, svc *domain.Service, st *store.Store) {
	b.Helper()
	ctx := b.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i := range benchSubprocessors {
		sp := domain.Subprocessor{
			ID: fmt.Sprintf("vendor-%03d", i), LegalName: "Vendor " + strconv.Itoa(i), Country: "US", Purpose: "Processing",
			Products:          []string{benchProducts[i%len(benchProducts)], benchProducts[(i+1)%len(benchProducts)]},
			TransferMechanism: domain.TransferSCC, Status: domain.SubprocessorActive,
		}
		switch {
		case i%10 == 0:
			sp.Status = domain.SubprocessorRetired
		case i%7 == 0:
			sp.Country, sp.TransferMechanism = "DE", domain.TransferNone
		case i < 3:
			sp.Status = domain.SubprocessorProposed
		}
		sp.CreateTime, sp.UpdateTime, sp.Version = now, now, 1
		if _, err := st.CreateSubprocessor(ctx, sp, domain.Idempotency{}); err != nil {
			b.Fatalf("CreateSubprocessor: %v", err)
		}
	}
	if err := st.BumpRegistryVersion(ctx); err != nil {
		b.Fatalf("BumpRegistryVersion: %v", err)
	}
	regions := []domain.Region{domain.RegionEUEEACH, domain.RegionEUEEACH, domain.RegionUS, domain.RegionUK}
	for i := range benchCustomers {
		if _, err := svc.CreateCustomer(ctx, "", domain.Customer{
			ID: fmt.Sprintf("customer-%03d", i), DisplayName: "Customer", Region: regions[i%len(regions)],
			NotificationEmail: "dpo@customer.example", Products: []string{benchProducts[i%len(benchProducts)]},
		}); err != nil {
			b.Fatalf("CreateCustomer: %v", err)
		}
	}
	for i := 1; i < 3; i++ {
		c, err := svc.ProposeSubprocessorChange(ctx, domain.ProposeParams{Kind: domain.ChangeAddition, SubprocessorID: fmt.Sprintf("vendor-%03d", i)})
		if err != nil {
			b.Fatalf("ProposeSubprocessorChange: %v", err)
		}
		_, cs, err := svc.GetSubprocessorChange(ctx, c.ID)
		if err != nil || len(cs) == 0 {
			b.Fatalf("change customers: %d, %v", len(cs), err)
		}
		if _, _, err := svc.ObjectToSubprocessorChange(ctx, domain.ObjectParams{ChangeID: c.ID, CustomerID: cs[0].CustomerID, Reason: "no"}); err != nil {
			b.Fatalf("ObjectToSubprocessorChange: %v", err)
		}
	}
}

// keepWriting changes a subprocessor's purpose every benchWriteEvery until
// ctx ends and returns how many changes it made.
func keepWriting(ctx context.Context, svc *domain.Service) int {
	tick := time.NewTicker(benchWriteEvery)
	defer tick.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return n
		case <-tick.C:
		}
		if _, err := svc.UpdateSubprocessor(ctx, domain.SubprocessorUpdate{
			Subprocessor: domain.Subprocessor{ID: "vendor-005", Purpose: "Processing, revision " + strconv.Itoa(n)},
			Paths:        []string{"purpose"},
		}); err == nil {
			n++
		}
	}
}

// noopChecks answers CheckSubprocessor at once: the cost of gRPC, the
// interceptor chain and the client loop alone.
type noopChecks struct {
	registryv1.UnimplementedSubprocessorServiceServer
}

func (noopChecks) CheckSubprocessor(context.Context, *registryv1.CheckSubprocessorRequest) (*registryv1.CheckSubprocessorResponse, error) {
	return &registryv1.CheckSubprocessorResponse{Allowed: true, Reason: reasonAllowed, Message: "Vendor 1 may process admin data", RegistryVersion: 7}, nil
}

// serveBare serves noopChecks on a bare grpc-go server (no interceptors,
// no stats handler) on loopback TCP and returns clients on checkConns
// connections.
func serveBare(b *testing.B) []registryv1.SubprocessorServiceClient {
	b.Helper()
	srv := grpc.NewServer()
	registryv1.RegisterSubprocessorServiceServer(srv, noopChecks{})
	lis, err := (&net.ListenConfig{}).Listen(b.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatalf("listen: %v", err)
	}
	go func() { _ = srv.Serve(lis) }()
	b.Cleanup(srv.Stop)
	return dialClients(b, lis.Addr().String())
}

// serveRegistry serves what register registers on loopback TCP with the
// platform's interceptor chain and returns clients on checkConns
// connections.
func serveRegistry(b *testing.B, v grpcx.RequestValidator, register func(grpc.ServiceRegistrar)) []registryv1.SubprocessorServiceClient {
	b.Helper()
	logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv := grpcx.NewServer(grpcx.Options{Service: "registry", Logger: logger, Validator: v, QuietMethods: server.QuietMethods})
	register(srv.GRPC())
	lis, err := (&net.ListenConfig{}).Listen(b.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.ServeListener(ctx, lis)
	}()
	b.Cleanup(func() {
		cancel()
		<-served
	})
	return dialClients(b, lis.Addr().String())
}

// dialClients returns clients of addr on checkConns connections, closed
// when the benchmark ends (before the server stops: cleanups run last
// first).
func dialClients(b *testing.B, addr string) []registryv1.SubprocessorServiceClient {
	b.Helper()
	clients := make([]registryv1.SubprocessorServiceClient, 0, checkConns)
	for range checkConns {
		// A bare client: the load generator shares the two cores with the
		// server, so it should cost as little as it can (an internal
		// service's own grpcx client runs on its own machine).
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatalf("dial: %v", err)
		}
		b.Cleanup(func() { _ = conn.Close() })
		clients = append(clients, registryv1.NewSubprocessorServiceClient(conn))
	}
	return clients
}

// benchRequest is the n-th check of a caller: subprocessors, products,
// regions and customers vary, so every branch of the decision is taken.
func benchRequest(n int) *registryv1.CheckSubprocessorRequest {
	req := &registryv1.CheckSubprocessorRequest{
		SubprocessorId: fmt.Sprintf("vendor-%03d", n%(benchSubprocessors+5)), // a few unknown ids
		Product:        benchProducts[n%len(benchProducts)],
		Region:         []registryv1.Region{regionEU, regionUS, regionEU}[n%3],
	}
	if n%2 == 0 {
		req.CustomerId = fmt.Sprintf("customer-%03d", n%benchCustomers)
	}
	return req
}

// checkLoad runs checkClients callers flat out for checkWarmup, then
// measures checkRun: completed calls per second and the p99 latency in ms.
// Any failed call fails the benchmark.
func checkLoad(b *testing.B, clients []registryv1.SubprocessorServiceClient) (rate, p99 float64) {
	b.Helper()
	reqs := make([]*registryv1.CheckSubprocessorRequest, 4096)
	for i := range reqs {
		reqs[i] = benchRequest(i * 7919)
	}
	var (
		counting  atomic.Bool
		failed    atomic.Pointer[error]
		wg        sync.WaitGroup
		mu        sync.Mutex
		latencies []time.Duration
	)
	ctx, cancel := context.WithCancel(b.Context())
	for g := range checkClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := clients[g%len(clients)]
			mine := make([]time.Duration, 0, 1<<16)
			for i := g; ctx.Err() == nil; i++ {
				start := time.Now()
				_, err := client.CheckSubprocessor(ctx, reqs[i%len(reqs)])
				d := time.Since(start)
				if err != nil {
					if ctx.Err() == nil {
						failed.CompareAndSwap(nil, &err)
						cancel()
					}
					break
				}
				if counting.Load() {
					mine = append(mine, d)
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	warm := time.NewTimer(checkWarmup)
	<-warm.C
	counting.Store(true)
	begin := time.Now()
	run := time.NewTimer(checkRun)
	select {
	case <-run.C:
	case <-ctx.Done():
	}
	counting.Store(false)
	elapsed := time.Since(begin)
	cancel()
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatalf("CheckSubprocessor: %v", *err)
	}
	if len(latencies) == 0 {
		b.Fatal("no check completed")
	}
	slices.Sort(latencies)
	p := latencies[len(latencies)*99/100]
	return float64(len(latencies)) / elapsed.Seconds(), float64(p) / float64(time.Millisecond)
}

// pacedLatency offers pacedRate checks/s for pacedRun and returns the p99
// latency in ms timed from when each call is sent and timed from its slot
// in the schedule, and the rate the calls completed at. Each of
// pacedCallers goroutines owns every pacedCallers-th slot of the schedule
// and sends when its slot comes (at once when it is late). From-send is
// the service's latency at that load: on two cores shared by client,
// server and store, the load generator's own timer and scheduling delays
// are as large as the server's, and from-slot counts them too (so it is
// reported beside it, as the bound). A stalled server shows in both: every
// call in flight during the stall records it, and the completed rate
// drops.
func pacedLatency(b *testing.B, clients []registryv1.SubprocessorServiceClient) (p99, fromSlot, achieved float64) {
	b.Helper()
	total := int(pacedRun / time.Second * pacedRate)
	var (
		failed    atomic.Pointer[error]
		wg        sync.WaitGroup
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, total)
		late      = make([]time.Duration, 0, total)
	)
	start := time.Now().Add(10 * time.Millisecond)
	for g := range pacedCallers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := clients[g%len(clients)]
			mine := make([]time.Duration, 0, total/pacedCallers+1)
			mineLate := make([]time.Duration, 0, total/pacedCallers+1)
			timer := time.NewTimer(time.Hour)
			defer timer.Stop()
			for slot := g; slot < total; slot += pacedCallers {
				at := start.Add(time.Duration(slot) * time.Second / pacedRate)
				if wait := time.Until(at); wait > 0 {
					timer.Reset(wait)
					<-timer.C
				}
				sent := time.Now()
				if _, err := client.CheckSubprocessor(b.Context(), benchRequest(slot*7919)); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				mine = append(mine, time.Since(sent))
				mineLate = append(mineLate, time.Since(at))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			late = append(late, mineLate...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := failed.Load(); err != nil {
		b.Fatalf("CheckSubprocessor: %v", *err)
	}
	slices.Sort(latencies)
	slices.Sort(late)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return ms(latencies[len(latencies)*99/100]), ms(late[len(late)*99/100]), float64(len(latencies)) / elapsed.Seconds()
}
