package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/breachline/breachline/pkg/auth"
	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/pkg/worker"
	"github.com/breachline/breachline/services/dispatch/internal/channel"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
	"github.com/breachline/breachline/services/dispatch/internal/peers"
	"github.com/breachline/breachline/services/dispatch/internal/server"
	"github.com/breachline/breachline/services/dispatch/internal/smtptest"
	"github.com/breachline/breachline/services/dispatch/internal/store"
)

// fakeIntake is intake's gRPC surface as dispatch uses it: it records
// timeline entries (once per request id, as intake does) and serves
// affected individuals.
type fakeIntake struct {
	intakev1.UnimplementedIntakeServiceServer
	intakev1.UnimplementedAffectedIndividualsServiceServer

	mu          sync.Mutex
	entries     map[string]*intakev1.AppendTimelineEntryRequest
	individuals []*intakev1.AffectedIndividual
}

func (f *fakeIntake) AppendTimelineEntry(_ context.Context, r *intakev1.AppendTimelineEntryRequest) (*intakev1.AppendTimelineEntryResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.entries[r.GetRequestId()]; !ok {
		f.entries[r.GetRequestId()] = r
	}
	return &intakev1.AppendTimelineEntryResponse{Entry: r.GetEntry()}, nil
}

func (f *fakeIntake) ListAffectedIndividuals(_ context.Context, r *intakev1.ListAffectedIndividualsRequest) (*intakev1.ListAffectedIndividualsResponse, error) {
	start, _ := strconv.Atoi(r.GetPageToken())
	out := &intakev1.ListAffectedIndividualsResponse{}
	for i := start; i < len(f.individuals) && len(out.AffectedIndividuals) < 2; i++ {
		if f.individuals[i].GetJurisdiction() == r.GetJurisdiction() {
			out.AffectedIndividuals = append(out.AffectedIndividuals, f.individuals[i])
		}
		if i+1 < len(f.individuals) {
			out.NextPageToken = strconv.Itoa(i + 1)
		} else {
			out.NextPageToken = ""
		}
	}
	return out, nil
}

// actions returns the recorded timeline actions by request id.
func (f *fakeIntake) actions() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for id, e := range f.entries {
		out[id] = e.GetEntry().GetAction()
	}
	return out
}

func serveIntake(t *testing.T, f *fakeIntake) string {
	t.Helper()
	srv := grpcx.NewServer(grpcx.Options{Service: "intake", ShutdownGrace: time.Second})
	intakev1.RegisterIntakeServiceServer(srv.GRPC(), f)
	intakev1.RegisterAffectedIndividualsServiceServer(srv.GRPC(), f)
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeListener(t.Context(), lis) }()
	t.Cleanup(func() { <-served })
	return lis.Addr().String()
}

// newStack serves DispatchService with a running outbox engine that
// delivers e-mail to a real SMTP server on loopback, and a timeline relay
// to an intake on loopback.
func newStack(t *testing.T, ratePerSec float64) (dispatchv1.DispatchServiceClient, *smtptest.Server) {
	c, mail, _ := newStackWithIntake(t, ratePerSec)
	return c, mail
}

func newStackWithIntake(t *testing.T, ratePerSec float64) (dispatchv1.DispatchServiceClient, *smtptest.Server, *fakeIntake) {
	t.Helper()
	intake := &fakeIntake{entries: map[string]*intakev1.AppendTimelineEntryRequest{}, individuals: []*intakev1.AffectedIndividual{
		{IndividualId: "ind_1", FullName: "Ana Ruiz", Email: "ana@example.org", Jurisdiction: "US-TX"},
		{IndividualId: "ind_2", FullName: "Bo Li", Email: "bo@example.org", Jurisdiction: "US-CA"},
		{IndividualId: "ind_3", FullName: "Cy Dee", Jurisdiction: "US-TX"},
		{IndividualId: "ind_4", FullName: "Di Eve", Email: "di@example.org", Jurisdiction: "US-TX"},
		{IndividualId: "ind_5", FullName: "Ed Fox", Email: "ed@example.org", Jurisdiction: "US-TX"},
	}}
	intakeConn, err := grpcx.Dial(serveIntake(t, intake))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = intakeConn.Close() })
	peer := peers.NewIntake(intakeConn)
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	mail := smtptest.Start(t)
	svc := domain.NewService(store.New(db), time.Now).WithPeers(peer, peer)
	engine := domain.NewEngine(svc, domain.EngineConfig{Owner: "test", Workers: 4, FlushEvery: 10, Idle: 50 * time.Millisecond,
		RatePerSec: map[domain.Channel]float64{domain.ChannelEmail: ratePerSec}},
		map[domain.Channel]domain.Transport{domain.ChannelEmail: channel.SMTP{Addr: mail.Addr(), From: "notices@example.org"}},
		slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { engine.Run(ctx); close(done) }()
	relayDone := make(chan struct{})
	go func() {
		worker.Run(ctx, slog.New(slog.DiscardHandler), "timeline", 20*time.Millisecond, svc.RelayTimeline("test"))
		close(relayDone)
	}()
	t.Cleanup(func() { cancel(); <-done; <-relayDone })

	handler := server.New(svc)
	srv := grpcx.NewServer(grpcx.Options{Service: "dispatch", ShutdownGrace: time.Second, Validator: handler})
	dispatchv1.RegisterDispatchServiceServer(srv.GRPC(), handler)
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeListener(t.Context(), lis) }()
	t.Cleanup(func() { <-served })
	conn, err := grpcx.Dial(lis.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return dispatchv1.NewDispatchServiceClient(conn), mail, intake
}

// as returns ctx calling as subject (the development authenticator).
func as(ctx context.Context, subject string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, auth.DevSubjectHeader, subject)
}

// asRoles calls as subject holding roles (a comma list of authz roles).
func asRoles(ctx context.Context, subject, roles string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, auth.DevSubjectHeader, subject, auth.DevRolesHeader, roles)
}

// approvers are the people of the approval quorum: subject, the approval
// role claimed, and the role their credentials carry.
var approvers = [][3]string{{"lee", "legal", "legal"}, {"austin", "executive_director", "executive"}, {"olga", "officer", "officer"}}

func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("error = %v, want %s", err, code)
	}
}

// draftIndividuals drafts an individuals campaign with content and n
// recipients (one of whom the SMTP server rejects when reject is set).
func draftIndividuals(t *testing.T, c dispatchv1.DispatchServiceClient, n int) *dispatchv1.Campaign {
	t.Helper()
	ctx := t.Context()
	ob := obligation("us-ca.individuals", classificationv1.Audience_AUDIENCE_INDIVIDUALS)
	ob.Jurisdiction = "US-CA"
	d, err := c.CreateDraftCampaigns(ctx, draftRequest("inc_"+t.Name(), "asm_1", ob))
	if err != nil {
		t.Fatalf("CreateDraftCampaigns: %v", err)
	}
	id := d.GetCampaigns()[0].GetCampaignId()
	_, err = c.UpdateCampaign(as(ctx, "drafter"), &dispatchv1.UpdateCampaignRequest{
		Campaign: &dispatchv1.Campaign{CampaignId: id, Content: map[string]string{
			"what_happened":        "On March 1 an attacker accessed a file server.",
			"information_involved": "Names and Social Security numbers.",
			"what_we_are_doing":    "We closed the access and engaged investigators.",
		}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"content"}},
	})
	if err != nil {
		t.Fatalf("UpdateCampaign: %v", err)
	}
	for start := 0; start < n; start += 1000 {
		var rs []*dispatchv1.Recipient
		for i := start; i < min(n, start+1000); i++ {
			rs = append(rs, &dispatchv1.Recipient{Name: fmt.Sprintf("Person %d", i), Address: fmt.Sprintf("p%d@example.org", i), Jurisdiction: "US-CA"})
		}
		if _, err := c.AddRecipients(as(ctx, "drafter"), &dispatchv1.AddRecipientsRequest{CampaignId: id, RequestId: fmt.Sprintf("r%d", start), Recipients: rs}); err != nil {
			t.Fatalf("AddRecipients: %v", err)
		}
	}
	g, err := c.GetCampaign(ctx, &dispatchv1.GetCampaignRequest{CampaignId: id})
	if err != nil {
		t.Fatalf("GetCampaign: %v", err)
	}
	return g.GetCampaign()
}

func approveAll(t *testing.T, c dispatchv1.DispatchServiceClient, cmp *dispatchv1.Campaign) *dispatchv1.Campaign {
	t.Helper()
	var out *dispatchv1.Campaign
	for _, a := range approvers {
		r, err := c.ApproveCampaign(asRoles(t.Context(), a[0], a[2]), &dispatchv1.ApproveCampaignRequest{
			CampaignId: cmp.GetCampaignId(), Version: cmp.GetVersion(), ContentHash: cmp.GetContentHash(), Role: a[1]})
		if err != nil {
			t.Fatalf("ApproveCampaign(%s): %v", a[1], err)
		}
		out = r.GetCampaign()
	}
	return out
}

func waitState(t *testing.T, c dispatchv1.DispatchServiceClient, id string, want dispatchv1.CampaignState) *dispatchv1.GetCampaignProgressResponse {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		p, err := c.GetCampaignProgress(t.Context(), &dispatchv1.GetCampaignProgressRequest{CampaignId: id})
		if err != nil {
			t.Fatalf("GetCampaignProgress: %v", err)
		}
		if p.GetState() == want {
			return p
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("campaign stayed %s (%v), want %s", p.GetState(), p, want)
		}
	}
}

func TestApproveHoldSend(t *testing.T) {
	t.Parallel()
	c, mail, intake := newStackWithIntake(t, 0)
	ctx := t.Context()
	const n = 1200
	cmp := draftIndividuals(t, c, n)
	id := cmp.GetCampaignId()
	mail.Reject("p7@example.org")

	t.Run("method=AddRecipients/case=retry_and_duplicates_add_nothing", func(t *testing.T) {
		r, err := c.AddRecipients(as(ctx, "drafter"), &dispatchv1.AddRecipientsRequest{CampaignId: id, RequestId: "r0",
			Recipients: []*dispatchv1.Recipient{{Address: "p1@example.org"}}})
		if err != nil || r.GetAddedCount() != 0 || r.GetCampaign().GetRecipientCount() != n {
			t.Fatalf("retry = %v, %v; want 0 added, %d recipients", r, err, n)
		}
		r, err = c.AddRecipients(as(ctx, "drafter"), &dispatchv1.AddRecipientsRequest{CampaignId: id, RequestId: "dup",
			Recipients: []*dispatchv1.Recipient{{Address: "P1@example.org"}, {Address: "p2@example.org"}}})
		if err != nil || r.GetAddedCount() != 0 {
			t.Fatalf("duplicates = %v, %v; want 0 added", r, err)
		}
	})
	cmp = func() *dispatchv1.Campaign {
		g, err := c.GetCampaign(ctx, &dispatchv1.GetCampaignRequest{CampaignId: id})
		if err != nil {
			t.Fatal(err)
		}
		return g.GetCampaign()
	}()

	t.Run("method=ApproveCampaign/case=drafter_cannot_approve", func(t *testing.T) {
		_, err := c.ApproveCampaign(asRoles(ctx, "drafter", "legal"), &dispatchv1.ApproveCampaignRequest{CampaignId: id, Version: cmp.GetVersion(), ContentHash: cmp.GetContentHash(), Role: "legal"})
		wantCode(t, err, codes.PermissionDenied)
		if !strings.Contains(status.Convert(err).Message(), "cannot approve") {
			t.Fatalf("error = %v, want the drafter rule", err)
		}
	})
	t.Run("method=SendCampaign/case=refused_without_quorum", func(t *testing.T) {
		_, err := c.ApproveCampaign(asRoles(ctx, "lee", "legal"), &dispatchv1.ApproveCampaignRequest{CampaignId: id, Version: cmp.GetVersion(), ContentHash: cmp.GetContentHash(), Role: "legal"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.SendCampaign(ctx, &dispatchv1.SendCampaignRequest{CampaignId: id, Version: cmp.GetVersion()})
		wantCode(t, err, codes.FailedPrecondition)
	})
	t.Run("method=UpdateCampaign/case=edit_voids_approvals", func(t *testing.T) {
		r, err := c.UpdateCampaign(as(ctx, "drafter"), &dispatchv1.UpdateCampaignRequest{
			Campaign:   &dispatchv1.Campaign{CampaignId: id, TemplateId: "individuals.US-CA.v1"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"template_id"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if r.GetCampaign().GetVersion() != cmp.GetVersion()+1 || len(r.GetCampaign().GetApprovals()) != 0 {
			t.Fatalf("after edit: version %d approvals %d; want %d and none", r.GetCampaign().GetVersion(), len(r.GetCampaign().GetApprovals()), cmp.GetVersion()+1)
		}
		_, err = c.ApproveCampaign(asRoles(ctx, "olga", "officer"), &dispatchv1.ApproveCampaignRequest{CampaignId: id, Version: cmp.GetVersion(), ContentHash: cmp.GetContentHash(), Role: "officer"})
		wantCode(t, err, codes.FailedPrecondition)
		cmp = r.GetCampaign()
	})
	cmp = approveAll(t, c, cmp)
	if len(cmp.GetMissingApprovals()) != 0 {
		t.Fatalf("missing approvals %v after quorum", cmp.GetMissingApprovals())
	}

	var hold *dispatchv1.Hold
	t.Run("method=PlaceHold/case=incident_hold_blocks_send", func(t *testing.T) {
		r, err := c.PlaceHold(as(ctx, "karen"), &dispatchv1.PlaceHoldRequest{RequestId: "h1", Hold: &dispatchv1.Hold{
			IncidentId: cmp.GetIncidentId(), RequestedBy: "FBI San Antonio", Reason: "notice would impede the investigation"}})
		if err != nil {
			t.Fatal(err)
		}
		hold = r.GetHold()
		if len(hold.GetPausedDeadlines()) != 1 || hold.GetPlacedBy() != "karen" {
			t.Fatalf("hold = %v; want one paused deadline, placed by karen", hold)
		}
		_, err = c.SendCampaign(ctx, &dispatchv1.SendCampaignRequest{CampaignId: id, Version: cmp.GetVersion()})
		wantCode(t, err, codes.FailedPrecondition)
	})
	t.Run("method=ReleaseHold/case=send_then_completes", func(t *testing.T) {
		if _, err := c.ReleaseHold(as(ctx, "karen"), &dispatchv1.ReleaseHoldRequest{HoldId: hold.GetHoldId()}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SendCampaign(ctx, &dispatchv1.SendCampaignRequest{CampaignId: id, Version: cmp.GetVersion()}); err != nil {
			t.Fatalf("SendCampaign: %v", err)
		}
		// Repeating the send is a no-op.
		if _, err := c.SendCampaign(ctx, &dispatchv1.SendCampaignRequest{CampaignId: id, Version: cmp.GetVersion()}); err != nil {
			t.Fatalf("SendCampaign again: %v", err)
		}
		p := waitState(t, c, id, dispatchv1.CampaignState_CAMPAIGN_STATE_COMPLETED)
		if p.GetSent() != n-1 || p.GetFailed() != 1 || p.GetQueued() != 0 {
			t.Fatalf("progress = %v; want %d sent, 1 failed", p, n-1)
		}
		counts := mail.Counts()
		for i := range n {
			want := 1
			if i == 7 {
				want = 0
			}
			if got := counts[fmt.Sprintf("p%d@example.org", i)]; got != want {
				t.Fatalf("recipient %d received %d notices, want %d", i, got, want)
			}
		}
	})
	t.Run("method=RelayTimeline/case=every_step_on_the_incident_timeline", func(t *testing.T) {
		want := map[string]int{"dispatch.approval": 4, "dispatch.hold.placed": 1, "dispatch.hold.released": 1, "dispatch.send.started": 1, "dispatch.send.completed": 1}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(20 * time.Second)
		for {
			got := map[string]int{}
			for _, a := range intake.actions() {
				got[a]++
			}
			if reflect.DeepEqual(got, want) {
				return
			}
			select {
			case <-tick.C:
			case <-deadline:
				t.Fatalf("timeline actions = %v, want %v", got, want)
			}
		}
	})
}

func TestResolveRecipients(t *testing.T) {
	t.Parallel()
	c, _, _ := newStackWithIntake(t, 0)
	ctx := as(t.Context(), "evelyn")
	ind := obligation("us-tx.individuals", classificationv1.Audience_AUDIENCE_INDIVIDUALS)
	ins := obligation("org.insurer", classificationv1.Audience_AUDIENCE_INSURER)
	ctl := obligation("dpa.lycee", classificationv1.Audience_AUDIENCE_CONTROLLER)
	ctl.Recipient = "dpo@lycee.example"
	d, err := c.CreateDraftCampaigns(ctx, draftRequest("inc_r", "asm_r", ind, ins, ctl))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		idx    int
		source string
		added  int32
	}{
		{"intake_individuals_with_email_in_jurisdiction", 0, "intake", 3},
		{"organisation_contacts", 1, "contacts", 1},
		{"customer_notification_email_address", 2, "obligation", 1},
	}
	for _, tt := range tests {
		t.Run("method=ResolveRecipients/case="+tt.name, func(t *testing.T) {
			id := d.GetCampaigns()[tt.idx].GetCampaignId()
			for range 2 { // the second call adds nothing
				r, err := c.ResolveRecipients(ctx, &dispatchv1.ResolveRecipientsRequest{CampaignId: id})
				if err != nil {
					t.Fatalf("ResolveRecipients: %v", err)
				}
				if r.GetSource() != tt.source || r.GetCampaign().GetRecipientCount() != int64(tt.added) {
					t.Fatalf("got source %q, %d recipients; want %q, %d", r.GetSource(), r.GetCampaign().GetRecipientCount(), tt.source, tt.added)
				}
			}
		})
	}
}

func TestPauseResume(t *testing.T) {
	t.Parallel()
	c, mail := newStack(t, 400) // slow enough to pause mid-campaign
	ctx := t.Context()
	const n = 1000
	cmp := approveAll(t, c, draftIndividuals(t, c, n))
	id := cmp.GetCampaignId()
	if _, err := c.SendCampaign(ctx, &dispatchv1.SendCampaignRequest{CampaignId: id, Version: cmp.GetVersion()}); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for mail.Total() < 50 {
		<-tick.C
	}
	if _, err := c.PauseCampaign(ctx, &dispatchv1.PauseCampaignRequest{CampaignId: id}); err != nil {
		t.Fatal(err)
	}
	// Workers stop at their next checkpoint (at most FlushEvery messages
	// each); after that nothing more arrives while paused.
	settle := time.NewTimer(time.Second)
	<-settle.C
	paused := mail.Total()
	hold := time.NewTimer(500 * time.Millisecond)
	<-hold.C
	if got := mail.Total(); got != paused || got >= n {
		t.Fatalf("accepted %d then %d while paused; want no progress, fewer than %d", paused, got, n)
	}
	if _, err := c.ResumeCampaign(ctx, &dispatchv1.ResumeCampaignRequest{CampaignId: id}); err != nil {
		t.Fatal(err)
	}
	p := waitState(t, c, id, dispatchv1.CampaignState_CAMPAIGN_STATE_COMPLETED)
	if p.GetSent() != n {
		t.Fatalf("progress = %v, want %d sent", p, n)
	}
	for addr, k := range mail.Counts() {
		if k != 1 {
			t.Fatalf("%s received %d notices, want 1", addr, k)
		}
	}
}
