package server_test

import (
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
	"github.com/breachline/breachline/services/dispatch/internal/server"
	"github.com/breachline/breachline/services/dispatch/internal/store"
)

var now = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// newClient serves DispatchService with the real interceptor chain and a
// fresh store on a loopback port, and returns a client for it. The server
// stops when the test ends.
func newClient(t *testing.T) dispatchv1.DispatchServiceClient {
	t.Helper()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	handler := server.New(domain.NewService(store.New(db), func() time.Time { return now }))
	srv := grpcx.NewServer(grpcx.Options{Service: "dispatch", ShutdownGrace: time.Second, Validator: handler})
	dispatchv1.RegisterDispatchServiceServer(srv.GRPC(), handler)
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan error, 1)
	// t.Context() is cancelled just before cleanups run, which stops Serve.
	go func() { done <- srv.ServeListener(t.Context(), lis) }()
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	conn, err := grpcx.Dial(lis.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return dispatchv1.NewDispatchServiceClient(conn)
}

// obligation returns a valid obligation for audience.
func obligation(id string, audience classificationv1.Audience) *classificationv1.Obligation {
	return &classificationv1.Obligation{
		ObligationId:    id,
		RulePack:        "us-tx",
		RulePackVersion: "2026.1",
		RuleId:          "ag-250",
		Jurisdiction:    "US-TX",
		Audience:        audience,
		Deadline:        &timestamppb.Timestamp{Seconds: now.Add(30 * 24 * time.Hour).Unix(), Nanos: 123456789},
		DeadlineText:    "not later than the 30th day after the determination",
		Reason:          "breach affects at least 250 Texas residents",
		Citation:        "Tex. Bus. & Com. Code 521.053(i)",
		AffectedCount:   300,
	}
}

func draftRequest(inc, asm string, obligations ...*classificationv1.Obligation) *dispatchv1.CreateDraftCampaignsRequest {
	return &dispatchv1.CreateDraftCampaignsRequest{IncidentId: inc, AssessmentId: asm, Obligations: obligations}
}

func campaignIDs(cs []*dispatchv1.Campaign) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.GetCampaignId()
	}
	return out
}

// listAll pages through ListCampaigns for incident with pageSize.
func listAll(t *testing.T, c dispatchv1.DispatchServiceClient, incident string, pageSize int32) []*dispatchv1.Campaign {
	t.Helper()
	var all []*dispatchv1.Campaign
	req := &dispatchv1.ListCampaignsRequest{IncidentId: incident, PageSize: pageSize}
	for range 1000 {
		resp, err := c.ListCampaigns(t.Context(), req)
		if err != nil {
			t.Fatalf("ListCampaigns: %v", err)
		}
		all = append(all, resp.GetCampaigns()...)
		if resp.GetNextPageToken() == "" {
			return all
		}
		req.PageToken = resp.GetNextPageToken()
	}
	t.Fatal("ListCampaigns never returned a last page")
	return nil
}

// fieldViolations returns the BadRequest field paths of an InvalidArgument
// error, failing the test for any other error.
func fieldViolations(t *testing.T, err error) []string {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		t.Fatalf("error = %v, want InvalidArgument", err)
	}
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetDescription() == "" {
					t.Errorf("violation of %s has no description", v.GetField())
				}
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

func TestCreateDraftCampaigns(t *testing.T) {
	t.Parallel()

	t.Run("method=CreateDraftCampaigns/case=create_then_list", func(t *testing.T) {
		t.Parallel()
		c := newClient(t)
		req := draftRequest("inc_a", "asm_a",
			obligation("us-tx.individuals", classificationv1.Audience_AUDIENCE_INDIVIDUALS),
			obligation("us-tx.ag", classificationv1.Audience_AUDIENCE_REGULATOR),
			obligation("org.media", classificationv1.Audience_AUDIENCE_MEDIA),
			obligation("us.cra", classificationv1.Audience_AUDIENCE_CONSUMER_REPORTING_AGENCIES),
		)
		req.Obligations[0].Deadline = nil // "without unreasonable delay"
		other := draftRequest("inc_b", "asm_b", obligation("eu.sa", classificationv1.Audience_AUDIENCE_SUPERVISORY_AUTHORITY))
		if _, err := c.CreateDraftCampaigns(t.Context(), other); err != nil {
			t.Fatalf("CreateDraftCampaigns(other): %v", err)
		}

		resp, err := c.CreateDraftCampaigns(t.Context(), req)
		if err != nil {
			t.Fatalf("CreateDraftCampaigns: %v", err)
		}
		if resp.GetCreatedCount() != 4 {
			t.Errorf("created_count = %d, want 4", resp.GetCreatedCount())
		}
		wantChannels := []dispatchv1.Channel{
			dispatchv1.Channel_CHANNEL_EMAIL,
			dispatchv1.Channel_CHANNEL_REGULATOR_PACKET,
			dispatchv1.Channel_CHANNEL_MEDIA_RELEASE,
			dispatchv1.Channel_CHANNEL_LETTER,
		}
		if len(resp.GetCampaigns()) != len(req.GetObligations()) {
			t.Fatalf("got %d campaigns, want %d", len(resp.GetCampaigns()), len(req.GetObligations()))
		}
		for i, got := range resp.GetCampaigns() {
			want := &dispatchv1.Campaign{
				CampaignId:   got.GetCampaignId(),
				IncidentId:   "inc_a",
				AssessmentId: "asm_a",
				Obligation:   req.GetObligations()[i],
				State:        dispatchv1.CampaignState_CAMPAIGN_STATE_DRAFT,
				Channel:      wantChannels[i],
				CreateTime:   timestamppb.New(now),
				// A new draft is version 1, drafted by the system, with its
				// hash and the approvals its audience's policy asks for.
				Version:          1,
				ContentHash:      got.GetContentHash(),
				DraftedBy:        domain.SystemDrafter,
				MissingApprovals: got.GetMissingApprovals(),
			}
			if len(got.GetContentHash()) != 64 || len(got.GetMissingApprovals()) == 0 {
				t.Errorf("campaigns[%d] hash %q, missing approvals %v; want a SHA-256 and the policy's roles", i, got.GetContentHash(), got.GetMissingApprovals())
			}
			if !ids.Valid(domain.IDPrefix, got.GetCampaignId()) {
				t.Errorf("campaigns[%d].campaign_id = %q, not a campaign id", i, got.GetCampaignId())
			}
			if !proto.Equal(got, want) {
				t.Errorf("campaigns[%d] =\n%v\nwant\n%v", i, got, want)
			}
		}

		listed := listAll(t, c, "inc_a", 0)
		if len(listed) != len(resp.GetCampaigns()) {
			t.Fatalf("listed %d campaigns of inc_a, want %d", len(listed), len(resp.GetCampaigns()))
		}
		for i := range listed {
			if !proto.Equal(listed[i], resp.GetCampaigns()[i]) {
				t.Errorf("listed[%d] =\n%v\nwant the drafted\n%v", i, listed[i], resp.GetCampaigns()[i])
			}
		}
	})

	t.Run("method=CreateDraftCampaigns/case=repeat", func(t *testing.T) {
		t.Parallel()
		c := newClient(t)
		req := draftRequest("inc_a", "asm_a",
			obligation("a", classificationv1.Audience_AUDIENCE_INDIVIDUALS),
			obligation("b", classificationv1.Audience_AUDIENCE_INSURER),
		)
		first, err := c.CreateDraftCampaigns(t.Context(), req)
		if err != nil {
			t.Fatalf("first call: %v", err)
		}
		again, err := c.CreateDraftCampaigns(t.Context(), req)
		if err != nil {
			t.Fatalf("second call: %v", err)
		}
		if again.GetCreatedCount() != 0 {
			t.Errorf("repeat created_count = %d, want 0", again.GetCreatedCount())
		}
		if g, w := campaignIDs(again.GetCampaigns()), campaignIDs(first.GetCampaigns()); !reflect.DeepEqual(g, w) {
			t.Errorf("repeat campaign ids = %v, want %v", g, w)
		}
		if n := len(listAll(t, c, "", 0)); n != 2 {
			t.Errorf("stored %d campaigns, want 2", n)
		}
	})

	t.Run("method=CreateDraftCampaigns/case=concurrent_duplicates", func(t *testing.T) {
		t.Parallel()
		c := newClient(t)
		var obligations []*classificationv1.Obligation
		for i := range 20 {
			obligations = append(obligations, obligation(fmt.Sprintf("o%02d", i), classificationv1.Audience_AUDIENCE_INDIVIDUALS))
		}
		req := draftRequest("inc_a", "asm_a", obligations...)
		var (
			wg    sync.WaitGroup
			resps [2]*dispatchv1.CreateDraftCampaignsResponse
			errs  [2]error
		)
		for i := range resps {
			wg.Go(func() { resps[i], errs[i] = c.CreateDraftCampaigns(t.Context(), req) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("caller %d: %v", i, err)
			}
		}
		if total := resps[0].GetCreatedCount() + resps[1].GetCreatedCount(); total != 20 {
			t.Errorf("created_count sum = %d, want 20", total)
		}
		if g, w := campaignIDs(resps[1].GetCampaigns()), campaignIDs(resps[0].GetCampaigns()); !reflect.DeepEqual(g, w) {
			t.Errorf("callers got different campaigns:\n%v\n%v", g, w)
		}
		stored := listAll(t, c, "inc_a", 0)
		seen := map[string]bool{}
		for _, s := range stored {
			id := s.GetObligation().GetObligationId()
			if seen[id] {
				t.Errorf("obligation %s has more than one campaign", id)
			}
			seen[id] = true
		}
		if len(stored) != 20 {
			t.Errorf("stored %d campaigns, want 20", len(stored))
		}
	})

	t.Run("method=CreateDraftCampaigns/case=no_obligations", func(t *testing.T) {
		t.Parallel()
		c := newClient(t)
		resp, err := c.CreateDraftCampaigns(t.Context(), draftRequest("inc_a", "asm_a"))
		if err != nil {
			t.Fatalf("CreateDraftCampaigns: %v", err)
		}
		if len(resp.GetCampaigns()) != 0 || resp.GetCreatedCount() != 0 {
			t.Errorf("got %v, want no campaigns", resp)
		}
	})
}

func TestCreateDraftCampaignsInvalid(t *testing.T) {
	t.Parallel()
	valid := func(id string) *classificationv1.Obligation {
		return obligation(id, classificationv1.Audience_AUDIENCE_REGULATOR)
	}
	with := func(o *classificationv1.Obligation, change func(*classificationv1.Obligation)) *classificationv1.Obligation {
		change(o)
		return o
	}
	tooMany := make([]*classificationv1.Obligation, domain.MaxObligations+1)
	for i := range tooMany {
		tooMany[i] = valid(fmt.Sprintf("o%d", i))
	}
	long := strings.Repeat("x", 129)

	tests := []struct {
		name string
		req  *dispatchv1.CreateDraftCampaignsRequest
		want []string
	}{
		{
			name: "every_obligation_rule",
			req: draftRequest(long, "asm_a",
				valid("a"),
				with(valid(""), func(o *classificationv1.Obligation) {
					o.Audience = classificationv1.Audience_AUDIENCE_UNSPECIFIED
					o.Jurisdiction = ""
				}),
				with(valid("c"), func(o *classificationv1.Obligation) { o.Audience = 99 }),
				with(valid("a"), func(o *classificationv1.Obligation) { o.AffectedCount = -1 }),
				with(valid("e"), func(o *classificationv1.Obligation) {
					o.Deadline = timestamppb.New(time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC))
					o.Reason = strings.Repeat("r", domain.MaxReasonLen+1)
				}),
			),
			want: []string{
				"incident_id",
				"obligations[1].obligation_id",
				"obligations[1].jurisdiction",
				"obligations[1].audience",
				"obligations[2].audience",
				"obligations[3].obligation_id",
				"obligations[3].affected_count",
				"obligations[4].deadline",
				"obligations[4].reason",
			},
		},
		{
			name: "malformed_deadline",
			req: draftRequest("inc_a", long,
				with(valid("a"), func(o *classificationv1.Obligation) { o.Deadline.Nanos = 1_000_000_000 }),
			),
			want: []string{"assessment_id", "obligations[0].deadline"},
		},
		{
			name: "too_many_obligations",
			req:  draftRequest("inc_a", "asm_a", tooMany...),
			want: []string{"obligations"},
		},
		{
			// REQUIRED fields are checked by the interceptor chain before
			// the handler runs.
			name: "missing_ids",
			req:  draftRequest("", "", valid("a")),
			want: []string{"incident_id", "assessment_id"},
		},
	}
	for _, tt := range tests {
		t.Run("method=CreateDraftCampaigns/case="+tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t)
			_, err := c.CreateDraftCampaigns(t.Context(), tt.req)
			if got := fieldViolations(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("field violations = %q, want %q", got, tt.want)
			}
			if n := len(listAll(t, c, "", 0)); n != 0 {
				t.Errorf("stored %d campaigns after a rejected request, want 0", n)
			}
		})
	}
}

func TestGetCampaign(t *testing.T) {
	t.Parallel()

	t.Run("method=GetCampaign/case=deadline_round_trip", func(t *testing.T) {
		t.Parallel()
		c := newClient(t)
		withDeadline := obligation("a", classificationv1.Audience_AUDIENCE_SUPERVISORY_AUTHORITY)
		withDeadline.Deadline = &timestamppb.Timestamp{Seconds: 1_780_000_000, Nanos: 987_654_321}
		noDeadline := obligation("b", classificationv1.Audience_AUDIENCE_INDIVIDUALS)
		noDeadline.Deadline = nil
		created, err := c.CreateDraftCampaigns(t.Context(), draftRequest("inc_a", "asm_a", withDeadline, noDeadline))
		if err != nil {
			t.Fatalf("CreateDraftCampaigns: %v", err)
		}
		for i, want := range []*classificationv1.Obligation{withDeadline, noDeadline} {
			resp, err := c.GetCampaign(t.Context(), &dispatchv1.GetCampaignRequest{CampaignId: created.GetCampaigns()[i].GetCampaignId()})
			if err != nil {
				t.Fatalf("GetCampaign: %v", err)
			}
			if got := resp.GetCampaign().GetObligation(); !proto.Equal(got, want) {
				t.Errorf("obligation =\n%v\nwant exactly\n%v", got, want)
			}
			if !proto.Equal(resp.GetCampaign(), created.GetCampaigns()[i]) {
				t.Errorf("GetCampaign =\n%v\nwant the drafted\n%v", resp.GetCampaign(), created.GetCampaigns()[i])
			}
		}
	})

	t.Run("method=GetCampaign/case=not_found", func(t *testing.T) {
		t.Parallel()
		c := newClient(t)
		_, err := c.GetCampaign(t.Context(), &dispatchv1.GetCampaignRequest{CampaignId: ids.New(domain.IDPrefix)})
		if status.Code(err) != codes.NotFound {
			t.Errorf("error = %v, want NotFound", err)
		}
	})

	t.Run("method=GetCampaign/case=malformed_id", func(t *testing.T) {
		t.Parallel()
		c := newClient(t)
		_, err := c.GetCampaign(t.Context(), &dispatchv1.GetCampaignRequest{CampaignId: "inc_65f0c2aa11bb22cc33dd44ee"})
		if got := fieldViolations(t, err); !reflect.DeepEqual(got, []string{"campaign_id"}) {
			t.Errorf("field violations = %q, want [campaign_id]", got)
		}
	})
}

func TestListCampaigns(t *testing.T) {
	t.Parallel()

	t.Run("method=ListCampaigns/case=paging", func(t *testing.T) {
		t.Parallel()
		c := newClient(t)
		var want []string
		for a := range 3 {
			var obligations []*classificationv1.Obligation
			for o := range 3 {
				obligations = append(obligations, obligation(fmt.Sprintf("o%d", o), classificationv1.Audience_AUDIENCE_INDIVIDUALS))
			}
			resp, err := c.CreateDraftCampaigns(t.Context(), draftRequest("inc_a", fmt.Sprintf("asm_%d", a), obligations...))
			if err != nil {
				t.Fatalf("CreateDraftCampaigns: %v", err)
			}
			want = append(want, campaignIDs(resp.GetCampaigns())...)
			if _, err := c.CreateDraftCampaigns(t.Context(), draftRequest("inc_b", fmt.Sprintf("asm_b%d", a), obligations[0])); err != nil {
				t.Fatalf("CreateDraftCampaigns: %v", err)
			}
		}
		for _, size := range []int32{1, 2, 4, 9, 10} {
			if got := campaignIDs(listAll(t, c, "inc_a", size)); !reflect.DeepEqual(got, want) {
				t.Errorf("page_size %d: listed %v, want %v (drafting order, no overlap or loss)", size, got, want)
			}
		}
		if n := len(listAll(t, c, "", 2)); n != 12 {
			t.Errorf("unfiltered: listed %d campaigns, want 12", n)
		}
	})

	t.Run("method=ListCampaigns/case=bad_paging", func(t *testing.T) {
		t.Parallel()
		c := newClient(t)
		var obligations []*classificationv1.Obligation
		for o := range 3 {
			obligations = append(obligations, obligation(fmt.Sprintf("o%d", o), classificationv1.Audience_AUDIENCE_INDIVIDUALS))
		}
		if _, err := c.CreateDraftCampaigns(t.Context(), draftRequest("inc_a", "asm_a", obligations...)); err != nil {
			t.Fatalf("CreateDraftCampaigns: %v", err)
		}
		page, err := c.ListCampaigns(t.Context(), &dispatchv1.ListCampaignsRequest{IncidentId: "inc_a", PageSize: 1})
		if err != nil {
			t.Fatalf("ListCampaigns: %v", err)
		}
		_, err = c.ListCampaigns(t.Context(), &dispatchv1.ListCampaignsRequest{PageSize: 1, PageToken: page.GetNextPageToken()})
		if got := fieldViolations(t, err); !reflect.DeepEqual(got, []string{"page_token"}) {
			t.Errorf("token with another filter: violations = %q, want [page_token]", got)
		}
		_, err = c.ListCampaigns(t.Context(), &dispatchv1.ListCampaignsRequest{PageSize: -1, PageToken: "not-a-token"})
		if got := fieldViolations(t, err); !reflect.DeepEqual(got, []string{"page_size", "page_token"}) {
			t.Errorf("violations = %q, want [page_size page_token]", got)
		}
	})
}
