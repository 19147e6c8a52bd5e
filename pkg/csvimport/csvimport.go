// Package csvimport turns an uploaded CSV file of affected individuals into
// the client stream of AffectedIndividualsService.ImportAffectedIndividuals.
// The gateway serves it as POST
// /v1/incidents/{incident_id}/affectedIndividuals:importCsv; intake's
// benchmark drives the same handler.
//
// The body is read as it arrives (encoding/csv over a buffered reader) and
// forwarded in batches, so a file of any size takes constant memory. The
// header row decides the layout (see ColumnNames); a header that names a
// column of sensitive values (SSNs, card numbers, passwords) refuses the
// whole file before anything is stored. Row problems are intake's to judge
// and report by line; only a file that is not CSV any more stops the upload.
package csvimport

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
)

// Defaults of Options.
const (
	DefaultBatchRows    = 1000
	DefaultMaxBodyBytes = 1 << 30
	DefaultTimeout      = time.Hour
)

// Options configure Stream and Handler.
type Options struct {
	// BatchRows is how many rows go in one stream message; 0 means 1000
	// (about 200 KB, far below the 4 MiB message limit).
	BatchRows int
	// MaxBodyBytes bounds the uploaded file; 0 means 1 GiB.
	MaxBodyBytes int64
	// Timeout bounds one upload, replacing the HTTP server's read and write
	// timeouts for this route; 0 means one hour.
	Timeout time.Duration
	// ForwardHeaders are request headers passed to intake as gRPC metadata
	// (request id, credentials).
	ForwardHeaders []string
}

func (o Options) withDefaults() Options {
	if o.BatchRows <= 0 {
		o.BatchRows = DefaultBatchRows
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// FileError is a problem with the file itself, not one of its rows: a bad
// header, or CSV that cannot be read on. Line is where it is (1 is the
// header).
type FileError struct {
	Line int64
	Msg  string
}

func (e *FileError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Stream reads a CSV file from body and imports it over client into the
// incident of hdr, returning the finished import. A *FileError means the
// file was refused (at the header: nothing stored) or broke off (rows
// before the line may be stored; the import is marked failed, and
// uploading the fixed file with the same request id resumes it). Other
// errors are gRPC statuses from intake.
func Stream(ctx context.Context, client intakev1.AffectedIndividualsServiceClient, hdr *intakev1.ImportHeader, body io.Reader, opts Options) (*intakev1.Import, error) {
	opts = opts.withDefaults()
	r := csv.NewReader(bufio.NewReaderSize(body, 256<<10))
	r.FieldsPerRecord = -1 // a row of the wrong length is a row error, not the end of the file
	r.LazyQuotes = true
	r.TrimLeadingSpace = true
	r.ReuseRecord = true

	head, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, &FileError{Line: 1, Msg: "the file is empty; a header row is required"}
	}
	if err != nil {
		return nil, fileError(err)
	}
	l, err := parseHeader(head)
	if err != nil {
		return nil, &FileError{Line: 1, Msg: err.Error()}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.ImportAffectedIndividuals(ctx)
	if err != nil {
		return nil, err
	}
	send := func(m *intakev1.ImportAffectedIndividualsRequest) (closed bool, err error) {
		err = stream.Send(m)
		if errors.Is(err, io.EOF) { // the server answered early: a finished import, or an error
			return true, nil
		}
		return false, err
	}
	closed, err := send(&intakev1.ImportAffectedIndividualsRequest{Message: &intakev1.ImportAffectedIndividualsRequest_Header{Header: hdr}})
	if err != nil {
		return nil, err
	}
	rows := make([]*intakev1.AffectedIndividualRow, 0, opts.BatchRows)
	flush := func() error {
		if len(rows) == 0 || closed {
			return nil
		}
		var err error
		closed, err = send(&intakev1.ImportAffectedIndividualsRequest{Message: &intakev1.ImportAffectedIndividualsRequest_Batch{
			Batch: &intakev1.AffectedIndividualBatch{Rows: rows},
		}})
		rows = make([]*intakev1.AffectedIndividualRow, 0, opts.BatchRows)
		return err
	}
	for !closed {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			cancel() // intake marks the import failed
			return nil, fileError(err)
		}
		line, _ := r.FieldPos(0)
		row := &intakev1.AffectedIndividualRow{Line: int64(line)}
		bad := slices.IndexFunc(rec, func(v string) bool { return !utf8.ValidString(v) })
		switch {
		case len(rec) != len(l.cols):
			row.SourceProblems = []*intakev1.RowProblem{{
				Field:  "row",
				Reason: fmt.Sprintf("has %d fields but the header has %d", len(rec), len(l.cols)),
			}}
		case bad >= 0:
			// Protobuf strings must be UTF-8: the row is reported, not sent.
			row.SourceProblems = []*intakev1.RowProblem{{
				Field:  fmt.Sprintf("column %d", bad+1),
				Reason: "is not valid UTF-8 (save the file as UTF-8)",
			}}
		default:
			row.Individual = l.row(rec)
		}
		rows = append(rows, row)
		if len(rows) >= opts.BatchRows {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, err
	}
	return resp.GetImport(), nil
}

func fileError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &FileError{Line: int64(pe.StartLine), Msg: "not valid CSV: " + pe.Err.Error()}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &FileError{Msg: fmt.Sprintf("the file exceeds %d bytes", mbe.Limit)}
	}
	return err
}

// Handler serves the CSV upload route. It must be mounted on a pattern
// with an {incident_id} wildcard. The request id (AIP-155) comes from the
// Idempotency-Key header or the requestId query parameter, the source name
// from sourceName (default: "csv upload"). It answers with the import as
// JSON, or with an error in grpc-gateway's shape: 400 for a refused file
// (with the line), 413 for a file over the limit, 415 for a body that is
// not text/csv, and the HTTP mapping of intake's status otherwise.
func Handler(client intakev1.AffectedIndividualsServiceClient, opts Options) http.Handler {
	opts = opts.withDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || (mt != "text/csv" && mt != "application/csv") {
			writeStatus(w, http.StatusUnsupportedMediaType, status.New(codes.InvalidArgument, "the body must be a CSV file with Content-Type text/csv"))
			return
		}
		if r.ContentLength > opts.MaxBodyBytes {
			writeStatus(w, http.StatusRequestEntityTooLarge, status.New(codes.InvalidArgument, fmt.Sprintf("the file exceeds %d bytes", opts.MaxBodyBytes)))
			return
		}
		// Large files take longer than the server's default timeouts; this
		// route sets its own (ignored where the writer cannot, as in tests).
		rc := http.NewResponseController(w)
		deadline := time.Now().Add(opts.Timeout)
		_ = rc.SetReadDeadline(deadline)
		_ = rc.SetWriteDeadline(deadline)
		ctx, cancel := context.WithDeadline(r.Context(), deadline)
		defer cancel()
		for _, h := range opts.ForwardHeaders {
			if v := r.Header.Get(h); v != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, strings.ToLower(h), v)
			}
		}
		requestID := r.Header.Get("Idempotency-Key")
		if requestID == "" {
			requestID = r.URL.Query().Get("requestId")
		}
		source := r.URL.Query().Get("sourceName")
		if source == "" {
			source = "csv upload"
		}
		hdr := &intakev1.ImportHeader{IncidentId: r.PathValue("incident_id"), RequestId: requestID, SourceName: source}
		body := http.MaxBytesReader(w, r.Body, opts.MaxBodyBytes)
		imp, err := Stream(ctx, client, hdr, body, opts)
		var fe *FileError
		switch {
		case errors.As(err, &fe) && fe.Line == 0:
			writeStatus(w, http.StatusRequestEntityTooLarge, status.New(codes.InvalidArgument, fe.Msg))
		case errors.As(err, &fe):
			st := status.New(codes.InvalidArgument, fe.Error())
			if d, derr := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{
				Field: fmt.Sprintf("line %d", fe.Line), Description: fe.Msg,
			}}}); derr == nil {
				st = d
			}
			writeStatus(w, http.StatusBadRequest, st)
		case err != nil:
			st := status.Convert(err)
			writeStatus(w, runtime.HTTPStatusFromCode(st.Code()), st)
		default:
			writeJSON(w, http.StatusOK, &intakev1.ImportAffectedIndividualsResponse{Import: imp})
		}
	})
}

func writeStatus(w http.ResponseWriter, code int, st *status.Status) {
	writeJSON(w, code, st.Proto())
}

func writeJSON(w http.ResponseWriter, code int, m proto.Message) {
	b, err := protojson.Marshal(m)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"code":13,"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
