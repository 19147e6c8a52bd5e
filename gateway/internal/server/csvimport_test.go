package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/breachline/breachline/gateway/internal/server"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
)

// recordingBackend is an AffectedIndividualsService that counts the rows it
// receives and remembers the request id it was called with. It stands in
// for intake here because this test is about the gateway's plumbing (route,
// body limits, headers); the import itself is tested against the real
// service in services/intake.
type recordingBackend struct {
	intakev1.UnimplementedAffectedIndividualsServiceServer
	mu        sync.Mutex
	rows      int64
	requestID string
}

func (b *recordingBackend) ImportAffectedIndividuals(stream grpc.ClientStreamingServer[intakev1.ImportAffectedIndividualsRequest, intakev1.ImportAffectedIndividualsResponse]) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	var rows int64
	var hdr *intakev1.ImportHeader
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if h := m.GetHeader(); h != nil {
			hdr = h
		}
		rows += int64(len(m.GetBatch().GetRows()))
	}
	b.mu.Lock()
	b.rows, b.requestID = rows, strings.Join(md.Get(grpcx.RequestIDHeader), ",")
	b.mu.Unlock()
	return stream.SendAndClose(&intakev1.ImportAffectedIndividualsResponse{Import: &intakev1.Import{
		IncidentId: hdr.GetIncidentId(), RequestId: hdr.GetRequestId(), RowsRead: rows,
	}})
}

func startGateway(t *testing.T, opts server.Options) (string, *recordingBackend) {
	t.Helper()
	backend := &recordingBackend{}
	srv := grpc.NewServer()
	intakev1.RegisterAffectedIndividualsServiceServer(srv, backend)
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
	return hs.URL, backend
}

func post(t *testing.T, url, contentType string, body []byte, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// bigCSV is a CSV file of n rows, each about 100 bytes.
func bigCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("full_name,email,state,country,relationship,data_elements\n")
	for range n {
		b.WriteString("Jane Doe With A Fairly Long Name,jane.doe.long.address@example.org,TX,US,CUSTOMER,SSN;NAME;EMAIL\n")
	}
	return b.Bytes()
}

func TestCSVImportRoute(t *testing.T) {
	t.Parallel()
	const incident = "inc_65f0c2a1b2c3d4e5f6a7b8c9"

	t.Run("case=larger-than-the-global-limit", func(t *testing.T) {
		t.Parallel()
		base, backend := startGateway(t, server.Options{})
		file := bigCSV(30_000) // ~3 MB, over the 1 MiB default body limit
		code, body := post(t, base+"/v1/incidents/"+incident+"/affectedIndividuals:importCsv?requestId=k1", "text/csv", file,
			"X-Request-Id", "rid-csv-1")
		if code != http.StatusOK || !strings.Contains(body, `"rowsRead":"30000"`) || !strings.Contains(body, `"requestId":"k1"`) {
			t.Fatalf("upload: %d %s", code, body)
		}
		backend.mu.Lock()
		defer backend.mu.Unlock()
		if backend.rows != 30_000 || backend.requestID != "rid-csv-1" {
			t.Fatalf("backend saw %d rows, request id %q", backend.rows, backend.requestID)
		}
	})

	t.Run("case=other-routes-keep-the-global-limit", func(t *testing.T) {
		t.Parallel()
		base, _ := startGateway(t, server.Options{})
		code, body := post(t, base+"/v1/signals", "application/json", bytes.Repeat([]byte(" "), 2<<20))
		if code != http.StatusRequestEntityTooLarge {
			t.Fatalf("2 MiB JSON: %d %s, want 413", code, body)
		}
	})

	t.Run("case=import-limit", func(t *testing.T) {
		t.Parallel()
		base, _ := startGateway(t, server.Options{MaxImportBytes: 64 << 10})
		code, body := post(t, base+"/v1/incidents/"+incident+"/affectedIndividuals:importCsv", "text/csv", bigCSV(2000))
		if code != http.StatusRequestEntityTooLarge {
			t.Fatalf("upload over MaxImportBytes: %d %s, want 413", code, body)
		}
	})
}
