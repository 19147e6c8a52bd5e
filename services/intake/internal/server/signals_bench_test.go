package server_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/grpc"

	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/server"
	"github.com/breachline/breachline/services/intake/internal/store"
)

const (
	// signalClients is how many goroutines send signals at once in the
	// throughput runs, spread over signalConns connections.
	signalClients = 32
	signalConns   = 4
	signalWarmup  = time.Second
	signalRun     = 10 * time.Second
	// pacedRate is the offered load of the latency run, in signals/s.
	pacedRate = 1000
)

// BenchmarkReportSignal measures, on the embedded store (FerretDB over
// SQLite in its own process, as `make run` has it) and the real interceptor
// chain over loopback gRPC:
//
//   - intake.signals_per_s: sustained ReportSignal throughput of unique
//     signals (distinct source event and asset, so each opens an incident
//     under the default correlation), every one durably stored before the
//     ack, with signalClients concurrent callers;
//   - intake.p50_ms_at_1000 and intake.p99_ms_at_1000: latency of an open
//     loop offering 1,000 signals/s, and intake.rate_at_1000, the rate it
//     actually completed them at;
//   - intake.noop_signals_per_s and intake.noop_ratio: the same throughput
//     loop against a handler that returns at once, on the same chain, and
//     how many times faster than intake that is;
//   - intake.docs_per_signal: documents the store holds per stored signal
//     after the runs (every collection counted), what one report costs;
//   - intake.store_ceiling_docs_per_s: what the same store process accepts
//     at most, measured in the same run by group-committed InsertMany
//     batches of 256 small documents from one writer with nothing else
//     running — the bound any design that writes docs_per_signal
//     documents per signal on this store stays under.
//
// It does the whole workload once whatever b.N is.
func BenchmarkReportSignal(b *testing.B) {
	db := devstoreProcess(b)
	if err := mongox.EnsureIndexes(b.Context(), db, store.Indexes()); err != nil {
		b.Fatalf("EnsureIndexes: %v", err)
	}
	handler := server.New(domain.NewIntake(store.New(db), time.Now).WithCorrelation(domain.Correlation{
		Keys:   []domain.CorrelationKey{domain.CorrelateAsset, domain.CorrelateType},
		Window: time.Hour,
	}))
	intake := serveSignals(b, handler, handler)
	noop := serveSignals(b, noopIntake{}, handler)
	var seq atomic.Int64

	b.ResetTimer()
	rate := signalThroughput(b, intake, &seq)
	p50, p99, achieved, failures := pacedLatency(b, intake, &seq)
	noopRate := signalThroughput(b, noop, &seq)
	docsPerSignal := storedDocsPerSignal(b, db)
	ceiling := storeCeiling(b, db)
	b.StopTimer()

	b.ReportMetric(rate, "signals/s")
	fmt.Fprintf(os.Stdout, "bench: intake.signals_per_s %.0f 1/s\n", rate)
	fmt.Fprintf(os.Stdout, "bench: intake.p50_ms_at_1000 %.1f ms\n", p50)
	fmt.Fprintf(os.Stdout, "bench: intake.p99_ms_at_1000 %.1f ms\n", p99)
	fmt.Fprintf(os.Stdout, "bench: intake.rate_at_1000 %.0f 1/s\n", achieved)
	fmt.Fprintf(os.Stdout, "bench: intake.errors_at_1000 %d calls\n", failures)
	fmt.Fprintf(os.Stdout, "bench: intake.noop_signals_per_s %.0f 1/s\n", noopRate)
	fmt.Fprintf(os.Stdout, "bench: intake.noop_ratio %.1f x\n", noopRate/rate)
	fmt.Fprintf(os.Stdout, "bench: intake.docs_per_signal %.2f docs\n", docsPerSignal)
	fmt.Fprintf(os.Stdout, "bench: intake.store_ceiling_docs_per_s %.0f 1/s\n", ceiling)
}

// storedDocsPerSignal counts every document of every collection of db and
// divides by the stored signals.
func storedDocsPerSignal(b *testing.B, db *mongo.Database) float64 {
	b.Helper()
	names, err := db.ListCollectionNames(b.Context(), bson.D{})
	if err != nil {
		b.Fatalf("ListCollectionNames: %v", err)
	}
	var total, signals int64
	for _, name := range names {
		n, err := db.Collection(name).CountDocuments(b.Context(), bson.D{})
		if err != nil {
			b.Fatalf("count %s: %v", name, err)
		}
		total += n
		if name == store.SignalsCollection {
			signals = n
		}
	}
	if signals == 0 {
		b.Fatal("no signals stored")
	}
	return float64(total) / float64(signals)
}

// storeCeiling inserts small documents (an _id and a 200-byte field) in
// unordered batches of 256 into a scratch collection for three seconds and
// returns the documents stored per second.
func storeCeiling(b *testing.B, db *mongo.Database) float64 {
	b.Helper()
	coll := db.Collection("bench_store_ceiling")
	pad := strings.Repeat("x", 200)
	var n int
	start := time.Now()
	for time.Since(start) < 3*time.Second {
		docs := make([]any, 256)
		for i := range docs {
			docs[i] = bson.D{{Key: "_id", Value: "doc_" + strconv.Itoa(n)}, {Key: "pad", Value: pad}}
			n++
		}
		if _, err := coll.InsertMany(b.Context(), docs, options.InsertMany().SetOrdered(false)); err != nil {
			b.Fatalf("InsertMany: %v", err)
		}
	}
	rate := float64(n) / time.Since(start).Seconds()
	if err := coll.Drop(b.Context()); err != nil {
		b.Fatalf("drop: %v", err)
	}
	return rate
}

// noopIntake answers ReportSignal at once without storing anything: the
// cost of gRPC, the interceptor chain and the client loop alone.
type noopIntake struct {
	intakev1.UnimplementedIntakeServiceServer
}

func (noopIntake) ReportSignal(context.Context, *intakev1.ReportSignalRequest) (*intakev1.ReportSignalResponse, error) {
	return &intakev1.ReportSignalResponse{
		SignalId: "sig_65f0c2a1b2c3d4e5f6a7b8c9",
		Outcome:  intakev1.ReportSignalOutcome_REPORT_SIGNAL_OUTCOME_INCIDENT_CREATED,
	}, nil
}

// serveSignals serves impl as IntakeService on loopback TCP with the
// platform's interceptor chain (validating with v) and returns clients on
// signalConns separate connections.
func serveSignals(b *testing.B, impl intakev1.IntakeServiceServer, v grpcx.RequestValidator) []intakev1.IntakeServiceClient {
	b.Helper()
	srv := grpcx.NewServer(grpcx.Options{Service: "intake", Validator: v})
	intakev1.RegisterIntakeServiceServer(srv.GRPC(), impl)
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
	var conns []*grpc.ClientConn
	clients := make([]intakev1.IntakeServiceClient, 0, signalConns)
	for range signalConns {
		conn, err := grpcx.Dial(lis.Addr().String())
		if err != nil {
			b.Fatalf("dial: %v", err)
		}
		conns = append(conns, conn)
		clients = append(clients, intakev1.NewIntakeServiceClient(conn))
	}
	b.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
		cancel()
		<-served
	})
	return clients
}

// uniqueSignal is a valid signal no other call of the run shares a source
// event or an asset with.
func uniqueSignal(seq *atomic.Int64) *intakev1.ReportSignalRequest {
	n := strconv.FormatInt(seq.Add(1), 10)
	s := signal("bench-" + n)
	s.Asset = "asset-" + n
	return &intakev1.ReportSignalRequest{Signal: s}
}

// signalThroughput runs signalClients callers flat out for signalWarmup,
// then counts the acks of the next signalRun, and returns them per second.
// Any failed call fails the benchmark.
func signalThroughput(b *testing.B, clients []intakev1.IntakeServiceClient, seq *atomic.Int64) float64 {
	b.Helper()
	var (
		counting atomic.Bool
		acked    atomic.Int64
		failed   atomic.Pointer[error]
		wg       sync.WaitGroup
	)
	stop := make(chan struct{})
	for i := range signalClients {
		c := clients[i%len(clients)]
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.ReportSignal(b.Context(), uniqueSignal(seq)); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				if counting.Load() {
					acked.Add(1)
				}
			}
		})
	}
	warm := time.NewTimer(signalWarmup)
	<-warm.C
	counting.Store(true)
	start := time.Now()
	run := time.NewTimer(signalRun)
	<-run.C
	counting.Store(false)
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatalf("ReportSignal: %v", *err)
	}
	return float64(acked.Load()) / elapsed.Seconds()
}

// pacedLatency offers pacedRate signals/s for signalRun, each call on its
// own goroutine started when it is due whatever the others are doing, and
// returns the median and 99th percentile latency in milliseconds and the
// rate the calls completed at (first due to last answer). A call that fails
// (such as one that waited longer than the store client lets it for a
// connection, when the service falls behind) counts with the time it took
// to fail, a lower bound, and in failures.
func pacedLatency(b *testing.B, clients []intakev1.IntakeServiceClient, seq *atomic.Int64) (p50, p99, rate float64, failures int64) {
	b.Helper()
	total := int(signalRun.Seconds() * pacedRate)
	interval := time.Second / pacedRate
	lat := make([]time.Duration, total)
	var (
		failed atomic.Int64
		wg     sync.WaitGroup
	)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	start := time.Now()
	for sent := 0; sent < total; {
		now := <-tick.C
		// Catch up on every call due by now, so a late tick does not
		// lower the offered rate.
		for ; sent < total && !start.Add(time.Duration(sent)*interval).After(now); sent++ {
			i, c, req := sent, clients[sent%len(clients)], uniqueSignal(seq)
			wg.Go(func() {
				t0 := time.Now()
				if _, err := c.ReportSignal(b.Context(), req); err != nil {
					failed.Add(1)
				}
				lat[i] = time.Since(t0)
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	ms := func(q float64) float64 {
		return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000
	}
	return ms(0.50), ms(0.99), float64(total) / elapsed.Seconds(), failed.Load()
}
