package server_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/breachline/breachline/pkg/gen/breachline/common/v1"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/server"
	"github.com/breachline/breachline/services/intake/internal/store"
)

// start serves IntakeService over bufconn with the platform's real
// interceptor chain and a real store, and returns a client and the store.
func start(t *testing.T) (intakev1.IntakeServiceClient, *store.Store) {
	t.Helper()
	return startWith(t, domain.Correlation{})
}

// startWith is start with signal correlation configured as c.
func startWith(t *testing.T, c domain.Correlation) (intakev1.IntakeServiceClient, *store.Store) {
	t.Helper()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	st := store.New(db)
	handler := server.New(domain.NewIntake(st, time.Now).WithCorrelation(c))
	srv := grpcx.NewServer(grpcx.Options{Service: "intake", Validator: handler})
	intakev1.RegisterIntakeServiceServer(srv.GRPC(), handler)

	lis := bufconn.Listen(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.ServeListener(ctx, lis)
	}()
	conn, err := grpc.NewClient("passthrough:///intake",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		<-served
	})
	return intakev1.NewIntakeServiceClient(conn), st
}

func signal(eventID string) *intakev1.Signal {
	raw, _ := structpb.NewStruct(map[string]any{"search": "exfil", "result": map[string]any{"count": 42.0}})
	return &intakev1.Signal{
		Source:        "splunk-prod",
		SourceEventId: eventID,
		Title:         "Bulk export from HR database",
		Description:   "10k rows exported at night",
		Severity:      intakev1.Severity_SEVERITY_HIGH,
		Type:          intakev1.IncidentType_INCIDENT_TYPE_PERSONAL_INFORMATION_BREACH,
		ObservedAt:    timestamppb.New(time.Now().Add(-time.Hour)),
		Asset:         "hr-db-01",
		CustomerIds:   []string{"acme"},
		Exposure: &commonv1.BreachFacts{
			DataElements:      []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_NAME, commonv1.DataElement_DATA_ELEMENT_SSN},
			EncryptedElements: []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_SSN},
			Affected:          []*commonv1.JurisdictionCount{{Jurisdiction: "US-TX", Count: 600}},
		},
		Raw: raw,
	}
}

func report(t *testing.T, c intakev1.IntakeServiceClient, s *intakev1.Signal) *intakev1.ReportSignalResponse {
	t.Helper()
	resp, err := c.ReportSignal(t.Context(), &intakev1.ReportSignalRequest{Signal: s})
	if err != nil {
		t.Fatalf("ReportSignal: %v", err)
	}
	return resp
}

// badRequestFields returns the code of err and the fields of its BadRequest.
func badRequestFields(t *testing.T, err error) (codes.Code, []string) {
	t.Helper()
	st := status.Convert(err)
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return st.Code(), fields
}

func TestReportSignal(t *testing.T) {
	t.Parallel()

	t.Run("method=ReportSignal/case=created_then_duplicate", func(t *testing.T) {
		t.Parallel()
		c, st := start(t)
		first := report(t, c, signal("evt-1"))
		inc := first.GetIncident()
		if first.GetOutcome() != intakev1.ReportSignalOutcome_REPORT_SIGNAL_OUTCOME_INCIDENT_CREATED ||
			!ids.Valid(domain.SignalPrefix, first.GetSignalId()) || !ids.Valid(domain.IncidentPrefix, inc.GetIncidentId()) ||
			inc.GetState() != intakev1.IncidentState_INCIDENT_STATE_REPORTED ||
			inc.GetAssessmentStatus() != intakev1.AssessmentStatus_ASSESSMENT_STATUS_PENDING ||
			inc.GetSignalCount() != 1 || inc.GetEtag() == "" || inc.GetFacts().GetDiscoveredAt() == nil ||
			inc.GetFacts().GetAffected()[0].GetCount() != 600 || inc.GetTitle() != "Bulk export from HR database" {
			t.Errorf("first report = %v", first)
		}

		second := report(t, c, signal("evt-1"))
		if second.GetOutcome() != intakev1.ReportSignalOutcome_REPORT_SIGNAL_OUTCOME_DUPLICATE ||
			second.GetSignalId() != first.GetSignalId() || second.GetIncident().GetIncidentId() != inc.GetIncidentId() ||
			second.GetIncident().GetEtag() != inc.GetEtag() {
			t.Errorf("retry = %v, want DUPLICATE of %s", second, inc.GetIncidentId())
		}
		list, err := c.ListIncidents(t.Context(), &intakev1.ListIncidentsRequest{})
		if err != nil || len(list.GetIncidents()) != 1 {
			t.Errorf("ListIncidents after retry = %d incidents, %v; want 1", len(list.GetIncidents()), err)
		}

		stored, err := st.SignalBySourceEvent(t.Context(), "splunk-prod", "evt-1")
		if err != nil {
			t.Fatalf("SignalBySourceEvent: %v", err)
		}
		result, _ := stored.Raw["result"].(map[string]any)
		if stored.Raw["search"] != "exfil" || result["count"] != 42.0 {
			t.Errorf("stored raw payload = %v", stored.Raw)
		}
	})

	t.Run("method=ReportSignal/case=invalid_lists_every_field", func(t *testing.T) {
		t.Parallel()
		c, _ := start(t)
		s := signal("evt-1")
		s.Source = "Splunk Prod"
		s.Severity = 42
		s.ObservedAt = timestamppb.New(time.Now().Add(48 * time.Hour))
		s.CustomerIds = []string{"acme", "ACME"}
		s.Exposure.DataElements = []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_NAME}
		s.Exposure.Affected = []*commonv1.JurisdictionCount{
			{Jurisdiction: "US-TX", Count: 1},
			{Jurisdiction: "texas", Count: -3},
		}
		_, err := c.ReportSignal(t.Context(), &intakev1.ReportSignalRequest{Signal: s})
		code, fields := badRequestFields(t, err)
		want := []string{
			"signal.source",
			"signal.severity",
			"signal.observed_at",
			"signal.customer_ids[1]",
			"signal.exposure.encrypted_elements[0]",
			"signal.exposure.affected[1].jurisdiction",
			"signal.exposure.affected[1].count",
		}
		if code != codes.InvalidArgument || !slices.Equal(fields, want) {
			t.Errorf("error = %v %v, want InvalidArgument on %v", code, fields, want)
		}
		list, err := c.ListIncidents(t.Context(), &intakev1.ListIncidentsRequest{})
		if err != nil || len(list.GetIncidents()) != 0 {
			t.Errorf("incidents after invalid report = %d, %v; want none", len(list.GetIncidents()), err)
		}
	})

	t.Run("method=ReportSignal/case=missing_required", func(t *testing.T) {
		t.Parallel()
		c, _ := start(t)
		_, err := c.ReportSignal(t.Context(), &intakev1.ReportSignalRequest{Signal: &intakev1.Signal{}})
		code, fields := badRequestFields(t, err)
		want := []string{"signal.source", "signal.source_event_id", "signal.title", "signal.observed_at"}
		if code != codes.InvalidArgument || !slices.Equal(fields, want) {
			t.Errorf("error = %v %v, want InvalidArgument on %v", code, fields, want)
		}
	})
}

func TestGetIncident(t *testing.T) {
	t.Parallel()
	c, _ := start(t)

	created := report(t, c, signal("evt-1")).GetIncident()
	got, err := c.GetIncident(t.Context(), &intakev1.GetIncidentRequest{IncidentId: created.GetIncidentId()})
	if err != nil || got.GetIncident().GetIncidentId() != created.GetIncidentId() || got.GetIncident().GetEtag() != created.GetEtag() {
		t.Errorf("method=GetIncident/case=found: %v, %v", got, err)
	}

	unknown := ids.New(domain.IncidentPrefix)
	_, err = c.GetIncident(t.Context(), &intakev1.GetIncidentRequest{IncidentId: unknown})
	if st := status.Convert(err); st.Code() != codes.NotFound || !strings.Contains(st.Message(), unknown) {
		t.Errorf("method=GetIncident/case=not_found: %v, want NotFound naming %s", err, unknown)
	}

	_, err = c.GetIncident(t.Context(), &intakev1.GetIncidentRequest{IncidentId: "INC-1"})
	if code, fields := badRequestFields(t, err); code != codes.InvalidArgument || !slices.Equal(fields, []string{"incident_id"}) {
		t.Errorf("method=GetIncident/case=malformed: %v %v, want InvalidArgument on incident_id", code, fields)
	}
}

func TestListIncidents(t *testing.T) {
	t.Parallel()

	t.Run("method=ListIncidents/case=paging", func(t *testing.T) {
		t.Parallel()
		c, _ := start(t)
		var want []string
		for i := range 8 {
			inc := report(t, c, signal("evt-"+string(rune('a'+i)))).GetIncident()
			want = append([]string{inc.GetIncidentId()}, want...) // newest first
		}
		var got []string
		token := ""
		pages := 0
		for {
			resp, err := c.ListIncidents(t.Context(), &intakev1.ListIncidentsRequest{PageSize: 3, PageToken: token})
			if err != nil {
				t.Fatalf("ListIncidents page %d: %v", pages+1, err)
			}
			pages++
			for _, inc := range resp.GetIncidents() {
				got = append(got, inc.GetIncidentId())
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if pages != 3 || !slices.Equal(got, want) {
			t.Errorf("got %d pages %v, want 3 pages %v", pages, got, want)
		}
	})

	t.Run("method=ListIncidents/case=filters", func(t *testing.T) {
		t.Parallel()
		c, _ := start(t)
		a := signal("evt-a")
		a.CustomerIds = []string{"acme"}
		b := signal("evt-b")
		b.CustomerIds = []string{"globex", "initech"}
		idA := report(t, c, a).GetIncident().GetIncidentId()
		idB := report(t, c, b).GetIncident().GetIncidentId()

		for _, tc := range []struct {
			name string
			req  *intakev1.ListIncidentsRequest
			want []string
		}{
			{"customer", &intakev1.ListIncidentsRequest{CustomerId: "initech"}, []string{idB}},
			{"state", &intakev1.ListIncidentsRequest{State: intakev1.IncidentState_INCIDENT_STATE_REPORTED}, []string{idB, idA}},
			{"state_none", &intakev1.ListIncidentsRequest{State: intakev1.IncidentState_INCIDENT_STATE_CLOSED}, nil},
			{"unknown_customer", &intakev1.ListIncidentsRequest{CustomerId: "nobody"}, nil},
		} {
			resp, err := c.ListIncidents(t.Context(), tc.req)
			if err != nil {
				t.Fatalf("filter=%s: %v", tc.name, err)
			}
			var got []string
			for _, inc := range resp.GetIncidents() {
				got = append(got, inc.GetIncidentId())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("filter=%s: got %v, want %v", tc.name, got, tc.want)
			}
		}
	})

	t.Run("method=ListIncidents/case=invalid", func(t *testing.T) {
		t.Parallel()
		c, _ := start(t)
		_, err := c.ListIncidents(t.Context(), &intakev1.ListIncidentsRequest{
			PageSize: -1, State: 99, CustomerId: "Not A Customer",
		})
		code, fields := badRequestFields(t, err)
		if want := []string{"page_size", "state", "customer_id"}; code != codes.InvalidArgument || !slices.Equal(fields, want) {
			t.Errorf("error = %v %v, want InvalidArgument on %v", code, fields, want)
		}
		_, err = c.ListIncidents(t.Context(), &intakev1.ListIncidentsRequest{PageToken: "garbage!"})
		if code, fields := badRequestFields(t, err); code != codes.InvalidArgument || !slices.Equal(fields, []string{"page_token"}) {
			t.Errorf("bad token: %v %v, want InvalidArgument on page_token", code, fields)
		}
	})
}

// TestEnumsMatchProto keeps the domain's enum numbers, which the server
// converts by plain casts, in step with the proto definitions.
func TestEnumsMatchProto(t *testing.T) {
	t.Parallel()
	check := func(name string, values protoreflect.EnumValueDescriptors, zeroValid bool, valid func(int32) bool) {
		for n := int32(-2); n < int32(values.Len())+3; n++ {
			defined := values.ByNumber(protoreflect.EnumNumber(n)) != nil
			want := defined && (n != 0 || zeroValid)
			if got := valid(n); got != want {
				t.Errorf("%s %d: domain says valid=%v, proto says %v", name, n, got, want)
			}
		}
	}
	check("Severity", intakev1.Severity(0).Descriptor().Values(), true,
		func(n int32) bool { return domain.Severity(n).Valid() })
	check("IncidentType", intakev1.IncidentType(0).Descriptor().Values(), true,
		func(n int32) bool { return domain.IncidentType(n).Valid() })
	check("IncidentState", intakev1.IncidentState(0).Descriptor().Values(), false,
		func(n int32) bool { return domain.IncidentState(n).Valid() })
	check("DataElement", commonv1.DataElement(0).Descriptor().Values(), false,
		func(n int32) bool { return domain.DataElement(n).Valid() })

	outcomes := intakev1.ReportSignalOutcome(0).Descriptor().Values()
	if outcomes.ByNumber(protoreflect.EnumNumber(domain.ReportOutcomeDuplicate)).Name() != "REPORT_SIGNAL_OUTCOME_DUPLICATE" ||
		outcomes.ByNumber(protoreflect.EnumNumber(domain.ReportOutcomeIncidentCreated)).Name() != "REPORT_SIGNAL_OUTCOME_INCIDENT_CREATED" ||
		outcomes.ByNumber(protoreflect.EnumNumber(domain.ReportOutcomeAttached)).Name() != "REPORT_SIGNAL_OUTCOME_ATTACHED" {
		t.Error("ReportOutcome numbers differ from the proto")
	}
	statuses := intakev1.AssessmentStatus(0).Descriptor().Values()
	if statuses.ByNumber(protoreflect.EnumNumber(domain.AssessmentStatusPending)).Name() != "ASSESSMENT_STATUS_PENDING" ||
		statuses.ByNumber(protoreflect.EnumNumber(domain.AssessmentStatusCompleted)).Name() != "ASSESSMENT_STATUS_COMPLETED" {
		t.Error("AssessmentStatus numbers differ from the proto")
	}
}
