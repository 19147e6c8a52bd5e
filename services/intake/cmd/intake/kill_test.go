package main_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/porttest"
)

const (
	killSignals = 3000
	killSenders = 16
	killCount   = 3
	// Every killAttachEvery-th signal shares its asset with the one before
	// it, so the load exercises the attach path as well as the open path.
	killAttachEvery = 5
)

// ack is what a sender learned when intake acknowledged one signal.
type ack struct {
	signalID, incidentID string
	outcome              intakev1.ReportSignalOutcome
}

// TestSIGKILLDuringSignalLoad builds the intake binary, sends a stream of
// signals from concurrent senders that retry each signal until it is
// acknowledged (as a SIEM does), SIGKILLs intake several times mid-load
// and restarts it, and then checks against the database and the restarted
// service: every acknowledged signal is stored exactly once, with the
// incident its acknowledgement named; every signal that opened an
// incident opened exactly one; no retry created a second signal or
// incident.
func TestSIGKILLDuringSignalLoad(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "intake")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	uri := mongotest.URI(t)
	dbName := mongotest.DBName(t)
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.Database(dbName).Drop(context.Background())
		_ = client.Disconnect(context.Background())
	})
	addr := porttest.FreeAddrs(t, 1)[0]
	start := func() *exec.Cmd {
		cmd := exec.CommandContext(t.Context(), bin)
		cmd.Env = append(os.Environ(),
			"LISTEN_ADDR="+addr, "MONGODB_URI="+uri, "MONGODB_DATABASE="+dbName, "LOG_LEVEL=error", "DISPATCH_ADDR=127.0.0.1:1",
			"CLASSIFICATION_ADDR=127.0.0.1:1", "OTEL_SDK_DISABLED=true", "RELAY_INTERVAL=1h")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	var (
		mu  sync.Mutex
		cmd = start()
	)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	conn, err := grpcx.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	api := intakev1.NewIntakeServiceClient(conn)

	observed := time.Now().Add(-time.Minute)
	signalFor := func(i int) *intakev1.Signal {
		asset := i
		if i%killAttachEvery == killAttachEvery-1 {
			asset = i - 1
		}
		return &intakev1.Signal{
			Source:        "kill-test",
			SourceEventId: fmt.Sprintf("evt-%05d", i),
			Title:         "Port scan burst",
			Severity:      intakev1.Severity_SEVERITY_LOW,
			Type:          intakev1.IncidentType_INCIDENT_TYPE_PORT_SCAN,
			ObservedAt:    timestamppb.New(observed),
			Asset:         fmt.Sprintf("host-%05d", asset),
		}
	}

	acks := make([]ack, killSignals)
	ready := make([]chan struct{}, killSignals)
	for i := range ready {
		ready[i] = make(chan struct{})
	}
	var (
		next, acked, retries atomic.Int64
		wg                   sync.WaitGroup
	)
	failed := make(chan error, killSenders)
	// abort closes when a sender gives up, so that a sender waiting for
	// that sender's signal (an attaching pair) stops too instead of
	// blocking wg.Wait forever.
	abort := make(chan struct{})
	var abortOnce sync.Once
	for range killSenders {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= killSignals {
					return
				}
				// The pair of an attaching signal must be stored first.
				if i%killAttachEvery == killAttachEvery-1 {
					select {
					case <-ready[i-1]:
					case <-abort:
						return
					case <-t.Context().Done():
						return
					}
				}
				giveUp := time.Now().Add(2 * time.Minute)
				for {
					ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
					resp, err := api.ReportSignal(ctx, &intakev1.ReportSignalRequest{Signal: signalFor(i)})
					cancel()
					if err == nil {
						acks[i] = ack{signalID: resp.GetSignalId(), incidentID: resp.GetIncident().GetIncidentId(), outcome: resp.GetOutcome()}
						acked.Add(1)
						close(ready[i])
						break
					}
					if time.Now().After(giveUp) {
						failed <- fmt.Errorf("signal %d not acknowledged within 2m: %w", i, err)
						abortOnce.Do(func() { close(abort) })
						return
					}
					retries.Add(1)
					waitBriefly()
				}
			}
		})
	}

	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for k := 1; k <= killCount; k++ {
		target := int64(killSignals) * int64(k) / (killCount + 1)
		for acked.Load() < target {
			select {
			case err := <-failed:
				t.Fatal(err)
			case <-tick.C:
			}
		}
		mu.Lock()
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		t.Logf("kill %d after %d acknowledgements", k, acked.Load())
		cmd = start()
		mu.Unlock()
	}
	wg.Wait()
	close(failed)
	for err := range failed {
		t.Fatal(err)
	}
	t.Logf("%d signals acknowledged after %d failed attempts across %d kills", acked.Load(), retries.Load(), killCount)

	db := client.Database(dbName)
	ctx := t.Context()
	count := func(coll string, filter bson.D) int64 {
		t.Helper()
		n, err := db.Collection(coll).CountDocuments(ctx, filter)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("signals", bson.D{}); n != killSignals {
		t.Errorf("signals stored: got %d, want %d (one per source event)", n, killSignals)
	}
	opening := killSignals - killSignals/killAttachEvery
	if n := count("incidents", bson.D{}); n != int64(opening) {
		t.Errorf("incidents stored: got %d, want %d (one per signal about a new asset)", n, opening)
	}
	type storedSignal struct {
		ID         string `bson:"_id"`
		EventID    string `bson:"source_event_id"`
		IncidentID string `bson:"incident_id"`
	}
	cur, err := db.Collection("signals").Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var stored []storedSignal
	if err := cur.All(ctx, &stored); err != nil {
		t.Fatal(err)
	}
	byEvent := make(map[string]storedSignal, len(stored))
	for _, s := range stored {
		byEvent[s.EventID] = s
	}
	for i, a := range acks {
		s, ok := byEvent[fmt.Sprintf("evt-%05d", i)]
		switch {
		case !ok:
			t.Errorf("signal %d was acknowledged as %s but is not stored", i, a.signalID)
		case s.ID != a.signalID || s.IncidentID != a.incidentID:
			t.Errorf("signal %d: acknowledged as %s on %s, stored as %s on %s", i, a.signalID, a.incidentID, s.ID, s.IncidentID)
		}
		if i%killAttachEvery == killAttachEvery-1 && a.incidentID != acks[i-1].incidentID {
			t.Errorf("signal %d about the asset of signal %d: incident %s, want %s", i, i-1, a.incidentID, acks[i-1].incidentID)
		}
	}
	// Every incident a pair shares is whole when read through the restarted
	// service, and counts each of its two signals once.
	for i := killAttachEvery - 1; i < killSignals; i += killAttachEvery {
		resp, err := api.GetIncident(ctx, &intakev1.GetIncidentRequest{IncidentId: acks[i].incidentID})
		if err != nil {
			t.Fatalf("GetIncident %s: %v", acks[i].incidentID, err)
		}
		if got := resp.GetIncident().GetSignalCount(); got != 2 {
			t.Errorf("incident %s of signals %d and %d counts %d signals, want 2", acks[i].incidentID, i-1, i, got)
		}
	}
	verify, err := api.VerifyTimeline(ctx, &intakev1.VerifyTimelineRequest{IncidentId: acks[killAttachEvery-2].incidentID})
	if err != nil {
		t.Fatal(err)
	}
	if !verify.GetOk() {
		t.Errorf("timeline of %s does not verify: %v", acks[killAttachEvery-2].incidentID, verify)
	}
}

// waitBriefly pauses a sender between attempts without time.Sleep.
func waitBriefly() {
	tm := time.NewTimer(5 * time.Millisecond)
	<-tm.C
}
