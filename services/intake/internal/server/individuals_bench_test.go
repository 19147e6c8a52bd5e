package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/protobuf/encoding/protojson"

	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/intake/internal/domain"
)

// BenchmarkImport1M measures intake.import_1m_s: one upload of a
// 1,000,000-row CSV file (generated in memory beforehand) over HTTP to the
// CSV import handler (pkg/csvimport, the gateway's route), which streams it
// over loopback gRPC to AffectedIndividualsService on the real interceptor
// chain, which stores it in the embedded store (FerretDB over SQLite, in
// its own process, as `make run` has it) — from the first byte sent to the
// import's summary received.
// It does the whole workload once whatever b.N is.
func BenchmarkImport1M(b *testing.B) {
	const rows = 1_000_000
	csv := genCSV(rows, 10_000)
	s := startIndividuals(b, devstoreProcess(b), domain.ImportOptions{})
	incident := s.newIncident(b)

	b.ResetTimer()
	start := time.Now()
	req, err := http.NewRequestWithContext(b.Context(), http.MethodPost, s.csvURL(incident), bytes.NewReader(csv))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Idempotency-Key", "bench-1m")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("upload: %d %s %v", resp.StatusCode, body, err)
	}
	var out intakev1.ImportAffectedIndividualsResponse
	if err := protojson.Unmarshal(body, &out); err != nil {
		b.Fatal(err)
	}
	imp := out.GetImport()
	if imp.GetRowsRead() != rows || imp.GetRowsAccepted()+imp.GetRowsRejected()+imp.GetRowsDuplicate() != rows {
		b.Fatalf("import summary does not add up: %v", imp)
	}
	b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
	fmt.Fprintf(os.Stdout, "bench: intake.import_1m_s %.1f s\n", elapsed.Seconds())
}

// devstoreProcess builds and starts the devstore binary on a free loopback
// port with its files in a temp dir, and returns a database on it. A
// separate process keeps the store's garbage collection apart from the
// service's, as in a real deployment.
func devstoreProcess(b *testing.B) *mongo.Database {
	b.Helper()
	dir := b.TempDir()
	bin := filepath.Join(dir, "devstore")
	build := exec.CommandContext(b.Context(), "go", "build", "-o", bin, "github.com/breachline/breachline/pkg/cmd/devstore")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build devstore: %v\n%s", err, out)
	}
	lis, err := (&net.ListenConfig{}).Listen(b.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	proc := exec.Command(bin) //nolint:noctx // stopped by signal in Cleanup, so it can shut down cleanly
	proc.Env = append(os.Environ(), "DEVSTORE_ADDR="+addr, "DEVSTORE_DIR="+filepath.Join(dir, "data"))
	if err := proc.Start(); err != nil {
		b.Fatalf("start devstore: %v", err)
	}
	b.Cleanup(func() {
		_ = proc.Process.Signal(os.Interrupt)
		_ = proc.Wait()
	})
	client, err := mongox.Connect(b.Context(), "mongodb://"+addr+"/")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client.Database("bench_intake")
}
