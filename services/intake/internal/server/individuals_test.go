package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	commonv1 "github.com/breachline/breachline/pkg/gen/breachline/common/v1"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/store"
)

// small batches and chunks so that a few hundred rows exercise the pipeline:
// several chunks, several concurrent batches, progress saved many times.
var testImportOptions = domain.ImportOptions{BatchSize: 7, ChunkRows: 20, Writers: 2}

func person(n int, jurisdiction string, elements ...commonv1.DataElement) *intakev1.AffectedIndividual {
	return &intakev1.AffectedIndividual{
		ExternalId:   fmt.Sprintf("E%05d", n),
		FullName:     fmt.Sprintf("Person %d", n),
		Email:        fmt.Sprintf("p%d@example.org", n),
		Jurisdiction: jurisdiction,
		Relationship: intakev1.Relationship_RELATIONSHIP_CUSTOMER,
		DataElements: elements,
	}
}

// importRows streams rows (numbered from line 2, as under a CSV header) in
// batches of 10 and returns the summary.
func importRows(t *testing.T, c intakev1.AffectedIndividualsServiceClient, incident, requestID string, inds []*intakev1.AffectedIndividual) (*intakev1.Import, error) {
	t.Helper()
	stream, err := c.ImportAffectedIndividuals(t.Context())
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&intakev1.ImportAffectedIndividualsRequest{Message: &intakev1.ImportAffectedIndividualsRequest_Header{
		Header: &intakev1.ImportHeader{IncidentId: incident, RequestId: requestID, SourceName: "test"},
	}}); err != nil {
		return nil, err
	}
	for start := 0; start < len(inds); start += 10 {
		var rows []*intakev1.AffectedIndividualRow
		for i := start; i < min(start+10, len(inds)); i++ {
			rows = append(rows, &intakev1.AffectedIndividualRow{Line: int64(i + 2), Individual: inds[i]})
		}
		err := stream.Send(&intakev1.ImportAffectedIndividualsRequest{Message: &intakev1.ImportAffectedIndividualsRequest_Batch{
			Batch: &intakev1.AffectedIndividualBatch{Rows: rows},
		}})
		if errors.Is(err, io.EOF) {
			break // the server answered early; CloseAndRecv has it
		}
		if err != nil {
			return nil, err
		}
	}
	resp, err := stream.CloseAndRecv()
	return resp.GetImport(), err
}

func counts(t *testing.T, c intakev1.AffectedIndividualsServiceClient, incident string) *intakev1.GetAffectedCountsResponse {
	t.Helper()
	resp, err := c.GetAffectedCounts(t.Context(), &intakev1.GetAffectedCountsRequest{IncidentId: incident})
	if err != nil {
		t.Fatalf("GetAffectedCounts: %v", err)
	}
	return resp
}

func TestImportAffectedIndividuals(t *testing.T) {
	t.Parallel()
	s := startIndividuals(t, mongotest.DB(t), testImportOptions)
	ssn, pan := commonv1.DataElement_DATA_ELEMENT_SSN, commonv1.DataElement_DATA_ELEMENT_PAYMENT_CARD
	name := commonv1.DataElement_DATA_ELEMENT_NAME

	// 100 good people: 60 in Texas (NAME+SSN), 30 in California (NAME+card), 10 in Germany (NAME).
	var inds []*intakev1.AffectedIndividual
	for i := range 100 {
		switch {
		case i < 60:
			inds = append(inds, person(i, "us-tx", ssn, name, ssn))
		case i < 90:
			inds = append(inds, person(i, "US-CA", pan, name))
		default:
			inds = append(inds, person(i, "DE", name))
		}
	}
	// Bad rows at known lines (index i is line i+2).
	bad := map[int64][]string{}
	add := func(ind *intakev1.AffectedIndividual, fields ...string) {
		inds = append(inds, ind)
		bad[int64(len(inds)+1)] = fields
	}
	noName := person(1000, "US-TX", name)
	noName.FullName = ""
	add(noName, "full_name")
	add(person(1001, "US-ZZ", name), "jurisdiction")
	add(person(1002, "US-TX", name, commonv1.DataElement(99)), "data_elements[1]")
	noElems := person(1003, "US-TX")
	noRel := person(1004, "US-TX", name)
	noRel.Relationship = intakev1.Relationship_RELATIONSHIP_UNSPECIFIED
	add(noElems, "data_elements")
	add(noRel, "relationship")
	const secretSSN, secretCard = "123-45-6789", "4111 1111 1111 1111"
	withSSN := person(1005, "US-TX", ssn)
	withSSN.FullName = "Pat " + secretSSN
	add(withSSN, "full_name")
	withCard := person(1006, "US-TX", pan)
	withCard.AddressLines = []string{"card " + secretCard}
	add(withCard, "address_lines")
	// A duplicate of person 5 (same external id, different case and spacing).
	dup := person(5, "US-TX", ssn, name)
	dup.ExternalId = " e00005 "
	inds = append(inds, dup)

	incident := s.newIncident(t)
	imp, err := importRows(t, s.client, incident, "req-1", inds)
	if err != nil {
		t.Fatalf("import: %v", err)
	}

	t.Run("method=ImportAffectedIndividuals/case=summary", func(t *testing.T) {
		t.Parallel()
		want := []int64{int64(len(inds)), 100, 1, int64(len(bad))}
		got := []int64{imp.GetRowsRead(), imp.GetRowsAccepted(), imp.GetRowsDuplicate(), imp.GetRowsRejected()}
		if fmt.Sprint(got) != fmt.Sprint(want) || imp.GetStatus() != intakev1.ImportStatus_IMPORT_STATUS_COMPLETED || imp.GetFinishTime() == nil {
			t.Fatalf("read/accepted/duplicate/rejected = %v, want %v; %v", got, want, imp)
		}
	})

	t.Run("method=ListImportErrors/case=lines-fields-no-values", func(t *testing.T) {
		t.Parallel()
		got := map[int64][]string{}
		token := ""
		for pages := 0; ; pages++ {
			resp, err := s.client.ListImportErrors(t.Context(), &intakev1.ListImportErrorsRequest{
				IncidentId: incident, ImportId: imp.GetImportId(), PageSize: 3, PageToken: token,
			})
			if err != nil {
				t.Fatalf("ListImportErrors: %v", err)
			}
			for _, e := range resp.GetErrors() {
				got[e.GetLine()] = append(got[e.GetLine()], e.GetField())
				if strings.Contains(e.GetReason(), "6789") || strings.Contains(e.GetReason(), "1111") {
					t.Errorf("line %d: reason %q quotes the value", e.GetLine(), e.GetReason())
				}
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(bad) {
			t.Fatalf("errors by line = %v, want %v", got, bad)
		}
	})

	t.Run("method=GetAffectedCounts/case=exact", func(t *testing.T) {
		t.Parallel()
		c := counts(t, s.client, incident)
		want := `total:100 by_jurisdiction:{jurisdiction:"DE" count:10} by_jurisdiction:{jurisdiction:"US-CA" count:30} ` +
			`by_jurisdiction:{jurisdiction:"US-TX" count:60} by_data_element:{data_element:DATA_ELEMENT_NAME count:100} ` +
			`by_data_element:{data_element:DATA_ELEMENT_SSN count:60} by_data_element:{data_element:DATA_ELEMENT_PAYMENT_CARD count:30} ` +
			`by_relationship:{relationship:RELATIONSHIP_CUSTOMER count:100}`
		if got := strings.Join(strings.Fields(c.String()), " "); got != want {
			t.Fatalf("counts:\n got %s\nwant %s", got, want)
		}
	})

	t.Run("method=ImportAffectedIndividuals/case=sensitive-values-never-stored", func(t *testing.T) {
		t.Parallel()
		for _, coll := range []string{store.IndividualsCollection, store.ImportErrorsCollection, store.ImportsCollection} {
			cur, err := s.db.Collection(coll).Find(t.Context(), bson.D{})
			if err != nil {
				t.Fatal(err)
			}
			var docs []bson.Raw
			if err := cur.All(t.Context(), &docs); err != nil {
				t.Fatal(err)
			}
			for _, d := range docs {
				if text := d.String(); strings.Contains(text, "6789") || strings.Contains(text, "1111 1111") {
					t.Fatalf("%s holds a sensitive value: %s", coll, text)
				}
			}
		}
	})

	t.Run("method=ImportAffectedIndividuals/case=same-request-id-returns-the-import", func(t *testing.T) {
		t.Parallel()
		again, err := importRows(t, s.client, incident, "req-1", inds[:3])
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		if again.GetImportId() != imp.GetImportId() || again.GetRowsRead() != imp.GetRowsRead() {
			t.Fatalf("retry = %v, want the original %v", again, imp)
		}
	})

	t.Run("method=ListAffectedIndividuals/case=filter-and-pages", func(t *testing.T) {
		t.Parallel()
		seen := map[string]bool{}
		token := ""
		for {
			resp, err := s.client.ListAffectedIndividuals(t.Context(), &intakev1.ListAffectedIndividualsRequest{
				IncidentId: incident, Jurisdiction: "US-CA", PageSize: 7, PageToken: token,
			})
			if err != nil {
				t.Fatalf("ListAffectedIndividuals: %v", err)
			}
			for _, ind := range resp.GetAffectedIndividuals() {
				if ind.GetJurisdiction() != "US-CA" || seen[ind.GetIndividualId()] || ind.GetImportId() != imp.GetImportId() ||
					len(ind.GetDataElements()) != 2 || ind.GetEmail() == "" {
					t.Fatalf("unexpected %v (seen before: %v)", ind, seen[ind.GetIndividualId()])
				}
				seen[ind.GetIndividualId()] = true
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if len(seen) != 30 {
			t.Fatalf("listed %d Californians, want 30", len(seen))
		}
	})

	t.Run("method=GetImport/case=other-incident", func(t *testing.T) {
		t.Parallel()
		_, err := s.client.GetImport(t.Context(), &intakev1.GetImportRequest{IncidentId: s.newIncident(t), ImportId: imp.GetImportId()})
		if status.Code(err) != codes.NotFound {
			t.Fatalf("GetImport under another incident: %v, want NotFound", err)
		}
	})
}

func TestReimportCreatesNoDuplicates(t *testing.T) {
	t.Parallel()
	s := startIndividuals(t, mongotest.DB(t), testImportOptions)
	incident := s.newIncident(t)
	var inds []*intakev1.AffectedIndividual
	for i := range 50 {
		p := person(i, "US-NY", commonv1.DataElement_DATA_ELEMENT_NAME)
		if i%2 == 0 { // half identified by name and contact details only
			p.ExternalId = ""
		}
		inds = append(inds, p)
	}
	first, err := importRows(t, s.client, incident, "", inds)
	if err != nil || first.GetRowsAccepted() != 50 {
		t.Fatalf("first import: %v %v", first, err)
	}
	before := counts(t, s.client, incident)
	// The same file again, without a request id: a new import of nothing new.
	second, err := importRows(t, s.client, incident, "", inds)
	if err != nil {
		t.Fatalf("second import: %v", err)
	}
	if second.GetImportId() == first.GetImportId() || second.GetRowsAccepted() != 0 || second.GetRowsDuplicate() != 50 {
		t.Fatalf("second import = %v, want a new import with 50 duplicates", second)
	}
	if after := counts(t, s.client, incident); after.String() != before.String() || after.GetTotal() != 50 {
		t.Fatalf("counts changed: before %v after %v", before, after)
	}
}

func TestImportStreamErrors(t *testing.T) {
	t.Parallel()
	s := startIndividuals(t, mongotest.DB(t), testImportOptions)
	for _, tc := range []struct {
		name string
		msgs []*intakev1.ImportAffectedIndividualsRequest
		want codes.Code
	}{
		{"no-header", nil, codes.InvalidArgument},
		{"batch-first", []*intakev1.ImportAffectedIndividualsRequest{{Message: &intakev1.ImportAffectedIndividualsRequest_Batch{}}}, codes.InvalidArgument},
		{"unknown-incident", []*intakev1.ImportAffectedIndividualsRequest{{Message: &intakev1.ImportAffectedIndividualsRequest_Header{
			Header: &intakev1.ImportHeader{IncidentId: "inc_65f0c2a1b2c3d4e5f6a7b8c9"},
		}}}, codes.NotFound},
		{"bad-header", []*intakev1.ImportAffectedIndividualsRequest{{Message: &intakev1.ImportAffectedIndividualsRequest_Header{
			Header: &intakev1.ImportHeader{IncidentId: "nope", RequestId: "a b"},
		}}}, codes.InvalidArgument},
	} {
		t.Run("method=ImportAffectedIndividuals/case="+tc.name, func(t *testing.T) {
			t.Parallel()
			stream, err := s.client.ImportAffectedIndividuals(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range tc.msgs {
				_ = stream.Send(m)
			}
			_, err = stream.CloseAndRecv()
			if status.Code(err) != tc.want {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestCSVUpload drives the gateway's CSV route handler (pkg/csvimport) in
// front of the real service: 10,000 rows, some bad, then the same file again.
func TestCSVUpload(t *testing.T) {
	t.Parallel()
	s := startIndividuals(t, mongotest.DB(t), domain.ImportOptions{BatchSize: 1000, ChunkRows: 4000})
	incident := s.newIncident(t)
	file := genCSV(10_000, 1000) // rows 1000, 2000, … have an unknown element: 10 bad rows
	// A row with too few fields, and one with an SSN in the name, appended.
	file = append(file, "C99999998,Short,Row\n"...)
	file = append(file, "C99999999,Pat,123-45-6789,p@example.org,,,,TX,,US,CUSTOMER,SSN\n"...)

	post := func(t *testing.T, body []byte, contentType, key string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.csvURL(incident), bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	decode := func(t *testing.T, b []byte) *intakev1.Import {
		t.Helper()
		var r intakev1.ImportAffectedIndividualsResponse
		if err := protojson.Unmarshal(b, &r); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		return r.GetImport()
	}

	code, body := post(t, file, "text/csv", "upload-1")
	if code != http.StatusOK {
		t.Fatalf("upload: %d %s", code, body)
	}
	imp := decode(t, body)
	if imp.GetRowsRead() != 10_002 || imp.GetRowsAccepted() != 9_990 || imp.GetRowsRejected() != 12 {
		t.Fatalf("upload summary: %v", imp)
	}
	errs, err := s.client.ListImportErrors(t.Context(), &intakev1.ListImportErrorsRequest{IncidentId: incident, ImportId: imp.GetImportId(), PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range errs.GetErrors() {
		lines = append(lines, fmt.Sprintf("%d:%s", e.GetLine(), e.GetField()))
	}
	want := "[1001:data_elements[1] 2001:data_elements[1] 3001:data_elements[1] 4001:data_elements[1] 5001:data_elements[1] " +
		"6001:data_elements[1] 7001:data_elements[1] 8001:data_elements[1] 9001:data_elements[1] 10001:data_elements[1] 10002:row 10003:family_name]"
	if fmt.Sprint(lines) != want {
		t.Fatalf("errors:\n got %v\nwant %s", lines, want)
	}
	total := counts(t, s.client, incident).GetTotal()

	t.Run("case=reupload-adds-nobody", func(t *testing.T) {
		code, body := post(t, file, "text/csv; charset=utf-8", "upload-2")
		if again := decode(t, body); code != http.StatusOK || again.GetRowsAccepted() != 0 || again.GetRowsDuplicate() != 9_990 {
			t.Fatalf("re-upload: %d %v", code, again)
		}
		if c := counts(t, s.client, incident); c.GetTotal() != total {
			t.Fatalf("total after re-upload %d, want %d", c.GetTotal(), total)
		}
	})

	t.Run("case=refused-files", func(t *testing.T) {
		for _, tc := range []struct {
			name, body, contentType string
			code                    int
			want                    string
		}{
			{"sensitive-column", "full_name,ssn,state,relationship,data_elements\nPat,123-45-6789,TX,CUSTOMER,SSN\n", "text/csv", 400, `\"ssn\" looks like it holds sensitive values`},
			{"unknown-column", "full_name,shoe,state,relationship,data_elements\n", "text/csv", 400, `column 2 \"shoe\" is not a known column`},
			{"missing-columns", "full_name\n", "text/csv", 400, "a relationship column is required"},
			{"empty", "", "text/csv", 400, "a header row is required"},
			{"not-csv", "{}", "application/json", 415, "text/csv"},
		} {
			code, body := post(t, []byte(tc.body), tc.contentType, "")
			if code != tc.code || !strings.Contains(string(body), tc.want) {
				t.Errorf("case=%s: %d %s, want %d containing %s", tc.name, code, body, tc.code, tc.want)
			}
			if strings.Contains(string(body), "6789") {
				t.Errorf("case=%s: the answer echoes a sensitive value", tc.name)
			}
		}
		var m map[string]any
		_, body := post(t, []byte("full_name,ssn\n"), "text/csv", "")
		if err := json.Unmarshal(body, &m); err != nil || m["code"] != float64(codes.InvalidArgument) {
			t.Errorf("error shape: %s", body)
		}
	})
}

func TestImportProgressVisibleWhileRunning(t *testing.T) {
	t.Parallel()
	s := startIndividuals(t, mongotest.DB(t), domain.ImportOptions{BatchSize: 5, ChunkRows: 5})
	incident := s.newIncident(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stream, err := s.client.ImportAffectedIndividuals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = stream.Send(&intakev1.ImportAffectedIndividualsRequest{Message: &intakev1.ImportAffectedIndividualsRequest_Header{
		Header: &intakev1.ImportHeader{IncidentId: incident, RequestId: "progress"},
	}})
	var rows []*intakev1.AffectedIndividualRow
	for i := range 12 {
		rows = append(rows, &intakev1.AffectedIndividualRow{Individual: person(i, "US-WA", commonv1.DataElement_DATA_ELEMENT_NAME)})
	}
	_ = stream.Send(&intakev1.ImportAffectedIndividualsRequest{Message: &intakev1.ImportAffectedIndividualsRequest_Batch{Batch: &intakev1.AffectedIndividualBatch{Rows: rows}}})
	importID := domain.ImportIDFor(incident, "progress")
	// The stream stays open; two full chunks (10 rows) must become visible.
	waitFor(t, func() bool {
		imp, err := s.client.GetImport(t.Context(), &intakev1.GetImportRequest{IncidentId: incident, ImportId: importID})
		return err == nil && imp.GetImport().GetStatus() == intakev1.ImportStatus_IMPORT_STATUS_RUNNING && imp.GetImport().GetRowsAccepted() == 10
	})
	if c := counts(t, s.client, incident); c.GetRunningImports() != 1 || c.GetTotal() != 10 {
		t.Fatalf("counts while running: %v", c)
	}
	// The client goes away: the import fails, and a retry with the same
	// request id resumes it, skipping who is already stored.
	cancel()
	waitFor(t, func() bool {
		imp, err := s.client.GetImport(t.Context(), &intakev1.GetImportRequest{IncidentId: incident, ImportId: importID})
		return err == nil && imp.GetImport().GetStatus() == intakev1.ImportStatus_IMPORT_STATUS_FAILED
	})
	var inds []*intakev1.AffectedIndividual
	for _, r := range rows {
		inds = append(inds, r.GetIndividual())
	}
	resumed, err := importRows(t, s.client, incident, "progress", inds)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if resumed.GetAttempts() != 2 || resumed.GetRowsAccepted() != 2 || resumed.GetRowsDuplicate() != 10 {
		t.Fatalf("resumed import: %v", resumed)
	}
	if c := counts(t, s.client, incident); c.GetTotal() != 12 || c.GetRunningImports() != 0 {
		t.Fatalf("counts after resume: %v", c)
	}
}
