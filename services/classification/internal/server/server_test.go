package server_test

import (
	"context"
	"maps"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	commonv1 "github.com/breachline/breachline/pkg/gen/breachline/common/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/classification/internal/domain"
	"github.com/breachline/breachline/services/classification/internal/rules"
	"github.com/breachline/breachline/services/classification/internal/server"
	"github.com/breachline/breachline/services/classification/internal/store"
)

var (
	discovered = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	now        = discovered.Add(2 * time.Hour)
)

// engineFunc adapts a function to domain.Engine, to stand in for rule packs
// that changed after an assessment was stored.
type engineFunc func(domain.Facts, time.Time) (domain.Decision, error)

func (f engineFunc) Assess(in domain.Input, at time.Time) (domain.Decision, error) {
	return f(in.Facts, at)
}

// Reproduce decides as the stand-in does now: it has no versions.
func (f engineFunc) Reproduce(in domain.Input, _ []domain.RulePackRef) (domain.Decision, error) {
	return f(in.Facts, time.Time{})
}

func realEngine(t *testing.T) domain.Engine {
	t.Helper()
	return rulesEngine(t)
}

func rulesEngine(t *testing.T) *rules.Engine {
	t.Helper()
	lib, err := rules.Embedded()
	if err != nil {
		t.Fatalf("load packs: %v", err)
	}
	return rules.NewEngine(lib)
}

func newStore(t *testing.T) *store.Store {
	t.Helper()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	return store.New(db)
}

// serve runs the handlers behind the real grpcx server (the full interceptor
// chain) on a loopback port and returns a client.
func serve(t *testing.T, st domain.Store, engine domain.Engine) classificationv1.ClassificationServiceClient {
	t.Helper()
	return serveWith(t, st, engine, registryStandIn(t, nil))
}

// serveWith is serve with the customers' registry given.
func serveWith(t *testing.T, st domain.Store, engine domain.Engine, customers domain.Customers) classificationv1.ClassificationServiceClient {
	t.Helper()
	svc := domain.NewService(st, engine, customers, func() time.Time { return now })
	handler := server.New(svc, rulesEngine(t), func() time.Time { return now })
	srv := grpcx.NewServer(grpcx.Options{Service: "classification", Validator: handler})
	classificationv1.RegisterClassificationServiceServer(srv.GRPC(), handler)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, lis) }()
	conn, err := grpcx.Dial(lis.Addr().String())
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
	return classificationv1.NewClassificationServiceClient(conn)
}

func assessReq(requestID, incidentID string, texans int64) *classificationv1.AssessIncidentRequest {
	return &classificationv1.AssessIncidentRequest{
		RequestId:  requestID,
		IncidentId: incidentID,
		Facts: &commonv1.BreachFacts{
			DataElements: []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_NAME, commonv1.DataElement_DATA_ELEMENT_SSN},
			Affected:     []*commonv1.JurisdictionCount{{Jurisdiction: "US-TX", Count: texans}},
			DiscoveredAt: timestamppb.New(discovered),
		},
	}
}

func obligationIDs(a *classificationv1.Assessment) []string {
	var out []string
	for _, o := range a.GetObligations() {
		out = append(out, o.GetObligationId())
	}
	return out
}

func TestAssessIncident(t *testing.T) {
	t.Parallel()
	t.Run("method=AssessIncident/case=stores the decision", func(t *testing.T) {
		t.Parallel()
		c := serve(t, newStore(t), realEngine(t))
		resp, err := c.AssessIncident(t.Context(), assessReq("req-1", "inc_1", 312))
		if err != nil {
			t.Fatalf("AssessIncident: %v", err)
		}
		a := resp.GetAssessment()
		if !strings.HasPrefix(a.GetAssessmentId(), "asm_") || !a.GetPersonalInformation() || !a.GetCreateTime().AsTime().Equal(now) {
			t.Errorf("assessment = %v", a)
		}
		i := slices.Index(obligationIDs(a), "us-tx.attorney-general")
		if i < 0 {
			t.Fatalf("obligations %v lack us-tx.attorney-general", obligationIDs(a))
		}
		ag := a.GetObligations()[i]
		if ag.GetAudience() != classificationv1.Audience_AUDIENCE_REGULATOR || !ag.GetDeadline().AsTime().Equal(discovered.AddDate(0, 0, 30)) ||
			ag.GetRulePackVersion() != "2026.1" || ag.GetAffectedCount() != 312 {
			t.Errorf("us-tx.attorney-general = %v", ag)
		}
		if !proto.Equal(a.GetFacts(), assessReq("", "", 312).GetFacts()) {
			t.Errorf("stored facts = %v, want the request's", a.GetFacts())
		}
		got, err := c.GetAssessment(t.Context(), &classificationv1.GetAssessmentRequest{AssessmentId: a.GetAssessmentId()})
		if err != nil {
			t.Fatalf("GetAssessment: %v", err)
		}
		if !proto.Equal(got.GetAssessment(), a) {
			t.Errorf("GetAssessment =\n%v\nwant\n%v", got.GetAssessment(), a)
		}
	})
	t.Run("method=AssessIncident/case=retry returns the stored assessment even after the packs changed", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		first, err := serve(t, st, realEngine(t)).AssessIncident(t.Context(), assessReq("req-1", "inc_1", 312))
		if err != nil {
			t.Fatalf("AssessIncident: %v", err)
		}
		changed := engineFunc(func(domain.Facts, time.Time) (domain.Decision, error) {
			return domain.Decision{Findings: []string{"new packs"}, RulePacks: []domain.RulePackRef{{Pack: "us-tx", Version: "2027.1"}}}, nil
		})
		retry, err := serve(t, st, changed).AssessIncident(t.Context(), assessReq("req-1", "inc_1", 312))
		if err != nil {
			t.Fatalf("AssessIncident retry: %v", err)
		}
		if !proto.Equal(retry.GetAssessment(), first.GetAssessment()) {
			t.Errorf("retry =\n%v\nwant the stored\n%v", retry.GetAssessment(), first.GetAssessment())
		}
	})
	t.Run("method=AssessIncident/case=request id reused for other facts", func(t *testing.T) {
		t.Parallel()
		c := serve(t, newStore(t), realEngine(t))
		if _, err := c.AssessIncident(t.Context(), assessReq("req-1", "inc_1", 312)); err != nil {
			t.Fatal(err)
		}
		_, err := c.AssessIncident(t.Context(), assessReq("req-1", "inc_1", 313))
		if status.Code(err) != codes.AlreadyExists {
			t.Errorf("reuse = %v, want AlreadyExists", err)
		}
	})
}

func violations(t *testing.T, err error) map[string]string {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
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

func TestAssessIncident_invalid(t *testing.T) {
	t.Parallel()
	c := serve(t, newStore(t), realEngine(t))
	tests := []struct {
		name       string
		req        *classificationv1.AssessIncidentRequest
		wantFields []string
	}{
		{
			name: "case=every violation reported at once",
			req: &classificationv1.AssessIncidentRequest{
				RequestId:  strings.Repeat("r", 129),
				IncidentId: "inc 1",
				Facts: &commonv1.BreachFacts{
					DataElements:      []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_NAME, 0, 99},
					EncryptedElements: []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_SSN},
					Affected: []*commonv1.JurisdictionCount{
						{Jurisdiction: "Texas", Count: 3},
						{Jurisdiction: "US-CA", Count: -5},
						{Jurisdiction: "US-CA", Count: 1},
					},
				},
			},
			wantFields: []string{
				"facts.affected[0].jurisdiction",
				"facts.affected[1].count",
				"facts.affected[2].jurisdiction",
				"facts.data_elements[1]",
				"facts.data_elements[2]",
				"facts.discovered_at",
				"facts.encrypted_elements[0]",
				"incident_id",
				"request_id",
			},
		},
		{
			name: "case=discovered in the future",
			req: func() *classificationv1.AssessIncidentRequest {
				r := assessReq("req-1", "inc_1", 3)
				r.Facts.DiscoveredAt = timestamppb.New(now.Add(time.Hour))
				return r
			}(),
			wantFields: []string{"facts.discovered_at"},
		},
		{
			name:       "case=required fields missing",
			req:        &classificationv1.AssessIncidentRequest{},
			wantFields: []string{"facts", "incident_id", "request_id"},
		},
	}
	t.Run("method=AssessIncident", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				_, err := c.AssessIncident(t.Context(), tt.req)
				got := violations(t, err)
				fields := slices.Sorted(maps.Keys(got))
				if !slices.Equal(fields, tt.wantFields) {
					t.Errorf("violations = %v, want fields %v", got, tt.wantFields)
				}
			})
		}
	})
	// The parallel cases above have finished: none may have stored anything.
	list, err := c.ListAssessments(t.Context(), &classificationv1.ListAssessmentsRequest{})
	if err != nil || len(list.GetAssessments()) != 0 {
		t.Errorf("invalid requests stored something: %v, %v", list.GetAssessments(), err)
	}
}

func TestGetAssessment_errors(t *testing.T) {
	t.Parallel()
	c := serve(t, newStore(t), realEngine(t))
	tests := []struct {
		name string
		id   string
		want codes.Code
	}{
		{"case=not found", "asm_65f0c2a1b2c3d4e5f6a7b8c9", codes.NotFound},
		{"case=malformed id", "inc_65f0c2a1b2c3d4e5f6a7b8c9", codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run("method=GetAssessment/"+tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := c.GetAssessment(t.Context(), &classificationv1.GetAssessmentRequest{AssessmentId: tt.id})
			if status.Code(err) != tt.want {
				t.Errorf("GetAssessment(%s) = %v, want %v", tt.id, err, tt.want)
			}
		})
	}
}

func TestListAssessments(t *testing.T) {
	t.Parallel()
	c := serve(t, newStore(t), realEngine(t))
	var ids []string
	for i, inc := range []string{"inc_a", "inc_b", "inc_a"} {
		resp, err := c.AssessIncident(t.Context(), assessReq("req-"+string(rune('0'+i)), inc, 10))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.GetAssessment().GetAssessmentId())
	}
	t.Run("method=ListAssessments/case=newest first in pages", func(t *testing.T) {
		t.Parallel()
		first, err := c.ListAssessments(t.Context(), &classificationv1.ListAssessmentsRequest{PageSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		second, err := c.ListAssessments(t.Context(), &classificationv1.ListAssessmentsRequest{PageSize: 2, PageToken: first.GetNextPageToken()})
		if err != nil {
			t.Fatal(err)
		}
		got := []string{}
		for _, a := range append(first.GetAssessments(), second.GetAssessments()...) {
			got = append(got, a.GetAssessmentId())
		}
		if want := []string{ids[2], ids[1], ids[0]}; !slices.Equal(got, want) || second.GetNextPageToken() != "" {
			t.Errorf("pages = %v (next %q), want %v", got, second.GetNextPageToken(), want)
		}
	})
	t.Run("method=ListAssessments/case=filter by incident", func(t *testing.T) {
		t.Parallel()
		resp, err := c.ListAssessments(t.Context(), &classificationv1.ListAssessmentsRequest{IncidentId: "inc_a"})
		if err != nil {
			t.Fatal(err)
		}
		got := []string{}
		for _, a := range resp.GetAssessments() {
			got = append(got, a.GetAssessmentId())
		}
		if want := []string{ids[2], ids[0]}; !slices.Equal(got, want) {
			t.Errorf("inc_a = %v, want %v", got, want)
		}
	})
	t.Run("method=ListAssessments/case=negative page size", func(t *testing.T) {
		t.Parallel()
		_, err := c.ListAssessments(t.Context(), &classificationv1.ListAssessmentsRequest{PageSize: -1})
		if got := violations(t, err); got["page_size"] == "" {
			t.Errorf("violations = %v, want page_size", got)
		}
	})
}
