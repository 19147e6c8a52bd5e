package server_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	commonv1 "github.com/breachline/breachline/pkg/gen/breachline/common/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/services/classification/internal/scanner"
	"github.com/breachline/breachline/services/classification/internal/server"
)

// serveScanner runs the ScannerService behind the real grpcx server (the
// full interceptor chain, the receive limit main sets) on a loopback port.
func serveScanner(t *testing.T) classificationv1.ScannerServiceClient {
	t.Helper()
	handler := server.NewScanner(scanner.New())
	srv := grpcx.NewServer(grpcx.Options{
		Service: "classification", Validator: server.Validators{handler},
		MaxRecvBytes: scanner.MaxContentBytes + 1<<20,
	})
	classificationv1.RegisterScannerServiceServer(srv.GRPC(), handler)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, lis) }()
	conn, err := grpcx.Dial(lis.Addr().String(), grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
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
	return classificationv1.NewScannerServiceClient(conn)
}

// scanViolations returns the field violations of an INVALID_ARGUMENT error.
func scanViolations(t *testing.T, err error) map[string]string {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		t.Fatalf("error = %v, want InvalidArgument", err)
	}
	out := map[string]string{}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out[v.GetField()] = v.GetDescription()
			}
		}
	}
	return out
}

const sample = "Name: Jane Doe\nSSN: 536-22-1947\nCard 4111 1111 1111 1111\nemail jane.doe@example.com"

func TestScanContent(t *testing.T) {
	t.Parallel()
	c := serveScanner(t)
	t.Run("method=ScanContent/case=text", func(t *testing.T) {
		t.Parallel()
		resp, err := c.ScanContent(t.Context(), &classificationv1.ScanContentRequest{Content: &classificationv1.ScanContentRequest_Text{Text: sample}})
		if err != nil {
			t.Fatalf("ScanContent: %v", err)
		}
		var types []string
		for _, f := range resp.GetFindings() {
			types = append(types, f.GetType().String())
			if f.GetEndOffset() > int64(len(sample)) || f.GetStartOffset() >= f.GetEndOffset() {
				t.Errorf("finding %v has bad offsets", f)
			}
			if v := sample[f.GetStartOffset():f.GetEndOffset()]; len(v) > 4 && strings.Contains(f.GetMaskedValue(), v) {
				t.Errorf("finding %v carries its raw value", f)
			}
		}
		want := "PERSONAL_DATA_TYPE_PERSON_NAME PERSONAL_DATA_TYPE_SSN PERSONAL_DATA_TYPE_PAYMENT_CARD PERSONAL_DATA_TYPE_EMAIL_ADDRESS"
		if strings.Join(types, " ") != want {
			t.Errorf("finding types = %v, want %s", types, want)
		}
		ssn := resp.GetFindings()[1]
		if ssn.GetMaskedValue() != "***-**-1947" || ssn.GetConfidence() < 0.9 || ssn.GetContextWords()[0] != "ssn" ||
			ssn.GetDataElements()[0] != commonv1.DataElement_DATA_ELEMENT_SSN {
			t.Errorf("ssn finding = %v", ssn)
		}
		if !resp.GetProhibitedForHostedStorage() || len(resp.GetProhibitedTypes()) != 2 ||
			resp.GetScannedBytes() != int64(len(sample)) || len(resp.GetCounts()) != 4 || len(resp.GetDataElements()) != 4 {
			t.Errorf("summary = prohibited %v %v, bytes %d, counts %v, elements %v", resp.GetProhibitedForHostedStorage(),
				resp.GetProhibitedTypes(), resp.GetScannedBytes(), resp.GetCounts(), resp.GetDataElements())
		}
	})
	t.Run("method=ScanContent/case=bytes without personal information", func(t *testing.T) {
		t.Parallel()
		resp, err := c.ScanContent(t.Context(), &classificationv1.ScanContentRequest{
			Content:     &classificationv1.ScanContentRequest_Data{Data: []byte("2024-05-01T12:00:00Z INFO GET /healthz 200 3ms")},
			ContentName: "app.log",
		})
		if err != nil {
			t.Fatalf("ScanContent: %v", err)
		}
		if len(resp.GetFindings()) != 0 || resp.GetProhibitedForHostedStorage() {
			t.Errorf("response = %v, want nothing found", resp)
		}
	})
	t.Run("method=ScanContent/case=content over 8 MiB", func(t *testing.T) {
		t.Parallel()
		_, err := c.ScanContent(t.Context(), &classificationv1.ScanContentRequest{
			Content: &classificationv1.ScanContentRequest_Data{Data: make([]byte, scanner.MaxContentBytes+1)},
		})
		v := scanViolations(t, err)
		if !strings.Contains(v["data"], "8388608 bytes (8 MiB)") {
			t.Errorf("violations = %v, want data limited to 8 MiB", v)
		}
	})
	t.Run("method=ScanContent/case=no content and a long name", func(t *testing.T) {
		t.Parallel()
		_, err := c.ScanContent(t.Context(), &classificationv1.ScanContentRequest{ContentName: strings.Repeat("x", 2000)})
		v := scanViolations(t, err)
		if len(v) != 2 || v["content"] == "" || v["content_name"] == "" {
			t.Errorf("violations = %v, want content and content_name", v)
		}
	})
}

func TestClassifyDataset(t *testing.T) {
	t.Parallel()
	c := serveScanner(t)
	t.Run("method=ClassifyDataset/case=columns", func(t *testing.T) {
		t.Parallel()
		resp, err := c.ClassifyDataset(t.Context(), &classificationv1.ClassifyDatasetRequest{
			ColumnNames: []string{"id", "full_name", "ssn", "dob", "notes"},
			Rows: []*classificationv1.DatasetRow{
				{Values: []string{"1", "Jane Doe", "536-22-1947", "1985-03-14", "called back"}},
				{Values: []string{"2", "John Smith", "401732289", "1979-11-02"}},
			},
		})
		if err != nil {
			t.Fatalf("ClassifyDataset: %v", err)
		}
		cols := resp.GetColumns()
		if len(cols) != 5 {
			t.Fatalf("columns = %v", cols)
		}
		want := []classificationv1.PersonalDataType{
			classificationv1.PersonalDataType_PERSONAL_DATA_TYPE_UNSPECIFIED,
			classificationv1.PersonalDataType_PERSONAL_DATA_TYPE_PERSON_NAME,
			classificationv1.PersonalDataType_PERSONAL_DATA_TYPE_SSN,
			classificationv1.PersonalDataType_PERSONAL_DATA_TYPE_DATE_OF_BIRTH,
			classificationv1.PersonalDataType_PERSONAL_DATA_TYPE_UNSPECIFIED,
		}
		for i, col := range cols {
			var got classificationv1.PersonalDataType
			if len(col.GetElements()) > 0 {
				got = col.GetElements()[0].GetType()
			}
			if got != want[i] || col.GetColumnIndex() != int32(i) {
				t.Errorf("column %d %q = %v, want %v", i, col.GetColumnName(), col.GetElements(), want[i])
			}
		}
		ssn := cols[2].GetElements()[0]
		if !ssn.GetHeaderMatch() || ssn.GetHeaderKeyword() != "ssn" || ssn.GetValueMatchRatio() != 1 || ssn.GetSampledValues() != 2 {
			t.Errorf("ssn evidence = %v", ssn)
		}
		if !resp.GetProhibitedForHostedStorage() || resp.GetProhibitedTypes()[0] != classificationv1.PersonalDataType_PERSONAL_DATA_TYPE_SSN {
			t.Errorf("prohibited = %v %v", resp.GetProhibitedForHostedStorage(), resp.GetProhibitedTypes())
		}
	})
	t.Run("method=ClassifyDataset/case=bad input", func(t *testing.T) {
		t.Parallel()
		_, err := c.ClassifyDataset(t.Context(), &classificationv1.ClassifyDatasetRequest{
			Rows: []*classificationv1.DatasetRow{{Values: []string{strings.Repeat("x", scanner.MaxCellBytes+1)}}},
		})
		v := scanViolations(t, err)
		if v["column_names"] == "" || v["rows[0].values[0]"] == "" {
			t.Errorf("violations = %v, want column_names and rows[0].values[0]", v)
		}
	})
	t.Run("method=ClassifyDataset/case=too many values in a row", func(t *testing.T) {
		t.Parallel()
		_, err := c.ClassifyDataset(t.Context(), &classificationv1.ClassifyDatasetRequest{
			ColumnNames: []string{"a"},
			Rows:        []*classificationv1.DatasetRow{{Values: []string{"1", "2"}}},
		})
		if v := scanViolations(t, err); v["rows[0].values"] == "" {
			t.Errorf("violations = %v, want rows[0].values", v)
		}
	})
}
