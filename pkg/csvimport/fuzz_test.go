package csvimport_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/breachline/breachline/pkg/csvimport"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
)

// countingIntake receives import streams and remembers what the last one
// carried: the test is about the importer's parsing, the rows' judgement
// is intake's (tested there against the real service).
type countingIntake struct {
	intakev1.UnimplementedAffectedIndividualsServiceServer
	mu     sync.Mutex
	rows   []*intakev1.AffectedIndividualRow
	opened bool
}

func (c *countingIntake) ImportAffectedIndividuals(stream grpc.ClientStreamingServer[intakev1.ImportAffectedIndividualsRequest, intakev1.ImportAffectedIndividualsResponse]) error {
	var rows []*intakev1.AffectedIndividualRow
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		rows = append(rows, m.GetBatch().GetRows()...)
	}
	c.mu.Lock()
	c.rows, c.opened = rows, true
	c.mu.Unlock()
	return stream.SendAndClose(&intakev1.ImportAffectedIndividualsResponse{Import: &intakev1.Import{RowsRead: int64(len(rows))}})
}

func (c *countingIntake) take() ([]*intakev1.AffectedIndividualRow, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rows, opened := c.rows, c.opened
	c.rows, c.opened = nil, false
	return rows, opened
}

// FuzzStream feeds arbitrary files to the CSV importer over a real gRPC
// stream (in memory). It must never panic; every failure is a *FileError
// (the file) or nothing; a file refused at the header opens no import; and
// no more rows are sent than the file has lines, each with a line number
// inside the file.
func FuzzStream(f *testing.F) {
	for _, s := range []string{
		"full_name,email,state,country,relationship,data_elements\nJane Doe,jane@example.org,TX,US,CUSTOMER,SSN;NAME\n",
		"given_name,family_name,state\n\"Ann\",\"O\"\"Neil\",CA\nBob,,ON\n",
		"full_name,state\nJane,TX,extra\n\"unterminated,TX\n",
		"full_name,Social Security Number,state\nJane,123-45-6789,TX\n",
		"\ufefffull_name;state\nJane;TX\n",
		"",
		"full_name,state\r\nJane,TX\r\n",
	} {
		f.Add([]byte(s))
	}
	intake := &countingIntake{}
	srv := grpc.NewServer()
	intakev1.RegisterAffectedIndividualsServiceServer(srv, intake)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	f.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = conn.Close() })
	client := intakev1.NewAffectedIndividualsServiceClient(conn)

	f.Fuzz(func(t *testing.T, file []byte) {
		hdr := &intakev1.ImportHeader{IncidentId: "inc_1", RequestId: "fuzz"}
		_, err := csvimport.Stream(t.Context(), client, hdr, bytes.NewReader(file), csvimport.Options{BatchRows: 3})
		rows, opened := intake.take()
		var fe *csvimport.FileError
		switch {
		case err == nil:
		case errors.As(err, &fe):
			if fe.Line == 1 && opened {
				t.Fatalf("file refused at its header (%v) but an import was opened", fe)
			}
		default:
			t.Fatalf("Stream: %v; want nil or a *FileError", err)
		}
		lines := int64(bytes.Count(file, []byte("\n")) + 1)
		if int64(len(rows)) > lines {
			t.Fatalf("%d rows sent from a file of %d lines", len(rows), lines)
		}
		for _, r := range rows {
			if r.GetLine() < 2 || r.GetLine() > lines {
				t.Fatalf("row line %d outside 2..%d", r.GetLine(), lines)
			}
		}
	})
}
