package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

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

// channelStack is dispatch with every channel wired as cmd/dispatch wires
// it: e-mail and media releases to a real SMTP server on loopback, signed
// webhooks, letters printed with the real PDF printer, notice pages
// published to a directory, and the fallback-letter worker.
type channelStack struct {
	c       dispatchv1.DispatchServiceClient
	mail    *smtptest.Server
	intake  *fakeIntake
	webDir  string
	secrets *channel.Endpoints
}

func newChannelStack(t *testing.T, endpoints *channel.Endpoints) channelStack {
	t.Helper()
	intake := &fakeIntake{entries: map[string]*intakev1.AppendTimelineEntryRequest{}}
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
	mail.QueueIDs()
	webDir := t.TempDir()
	svc := domain.NewService(store.New(db), time.Now).WithPeers(peer, peer).WithPrinter(channel.PDF{}).
		WithWebsite(channel.WebsiteDir{Dir: webDir})
	email := channel.SMTP{Addr: mail.Addr(), From: "notices@example.org"}
	engine := domain.NewEngine(svc, domain.EngineConfig{Owner: "test", Workers: 2, FlushEvery: 10, Idle: 50 * time.Millisecond},
		map[domain.Channel]domain.Transport{
			domain.ChannelEmail:        email,
			domain.ChannelMediaRelease: email,
			domain.ChannelWebhook:      channel.Webhook{Secret: []byte("deployment-wide-secret"), Endpoints: endpoints},
		}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { engine.Run(ctx) })
	wg.Go(func() {
		worker.Run(ctx, slog.New(slog.DiscardHandler), "timeline", 20*time.Millisecond, svc.RelayTimeline("test"))
	})
	wg.Go(func() {
		worker.Run(ctx, slog.New(slog.DiscardHandler), "fallbacks", 20*time.Millisecond, svc.FallbackStep)
	})
	t.Cleanup(func() { cancel(); wg.Wait() })

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
	return channelStack{c: dispatchv1.NewDispatchServiceClient(conn), mail: mail, intake: intake, webDir: webDir, secrets: endpoints}
}

var testContent = map[string]string{
	"what_happened":        "On March 1 an attacker accessed a file server.",
	"information_involved": "Names and Social Security numbers.",
	"what_we_are_doing":    "We closed the access and engaged investigators.",
}

// prepare drafts the obligations (the first is the campaign under test),
// sets its channel and content, adds recipients, approves it with the full
// quorum and sends it.
func (s channelStack) prepare(t *testing.T, ch dispatchv1.Channel, rs []*dispatchv1.Recipient, obs ...*classificationv1.Obligation) *dispatchv1.Campaign {
	t.Helper()
	ctx := t.Context()
	d, err := s.c.CreateDraftCampaigns(ctx, draftRequest("inc_"+strings.ReplaceAll(t.Name(), "/", "_"), "asm_1", obs...))
	if err != nil {
		t.Fatalf("CreateDraftCampaigns: %v", err)
	}
	id := d.GetCampaigns()[0].GetCampaignId()
	if _, err := s.c.UpdateCampaign(as(ctx, "drafter"), &dispatchv1.UpdateCampaignRequest{
		Campaign:   &dispatchv1.Campaign{CampaignId: id, Channel: ch, Content: testContent},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"channel", "content"}},
	}); err != nil {
		t.Fatalf("UpdateCampaign: %v", err)
	}
	if rs != nil {
		if _, err := s.c.AddRecipients(as(ctx, "drafter"), &dispatchv1.AddRecipientsRequest{CampaignId: id, RequestId: "r1", Recipients: rs}); err != nil {
			t.Fatalf("AddRecipients: %v", err)
		}
	} else if _, err := s.c.ResolveRecipients(as(ctx, "drafter"), &dispatchv1.ResolveRecipientsRequest{CampaignId: id}); err != nil {
		t.Fatalf("ResolveRecipients: %v", err)
	}
	g, err := s.c.GetCampaign(ctx, &dispatchv1.GetCampaignRequest{CampaignId: id})
	if err != nil {
		t.Fatal(err)
	}
	cmp := approveAll(t, s.c, g.GetCampaign())
	if _, err := s.c.SendCampaign(ctx, &dispatchv1.SendCampaignRequest{CampaignId: id, Version: cmp.GetVersion()}); err != nil {
		t.Fatalf("SendCampaign: %v", err)
	}
	waitState(t, s.c, id, dispatchv1.CampaignState_CAMPAIGN_STATE_COMPLETED)
	return cmp
}

// artifacts lists the campaign's artefacts and downloads each, checking
// the recorded SHA-256 against the content.
func (s channelStack) artifacts(t *testing.T, id string) map[string][]byte {
	t.Helper()
	l, err := s.c.ListArtifacts(t.Context(), &dispatchv1.ListArtifactsRequest{CampaignId: id})
	if err != nil {
		t.Fatalf("ListArtifacts: %v", err)
	}
	out := map[string][]byte{}
	for _, a := range l.GetArtifacts() {
		g, err := s.c.GetArtifact(t.Context(), &dispatchv1.GetArtifactRequest{CampaignId: id, Name: a.GetName()})
		if err != nil {
			t.Fatalf("GetArtifact(%s): %v", a.GetName(), err)
		}
		sum := sha256.Sum256(g.GetContent())
		if hex.EncodeToString(sum[:]) != a.GetSha256() || int64(len(g.GetContent())) != a.GetSizeBytes() {
			t.Fatalf("artifact %s: content does not match its recorded sha256/size", a.GetName())
		}
		out[a.GetName()] = g.GetContent()
	}
	return out
}

func (s channelStack) deliveries(t *testing.T, req *dispatchv1.ListDeliveriesRequest) []*dispatchv1.Delivery {
	t.Helper()
	var all []*dispatchv1.Delivery
	for range 100 {
		r, err := s.c.ListDeliveries(t.Context(), req)
		if err != nil {
			t.Fatalf("ListDeliveries: %v", err)
		}
		all = append(all, r.GetDeliveries()...)
		if r.GetNextPageToken() == "" {
			return all
		}
		req.PageToken = r.GetNextPageToken()
	}
	t.Fatal("ListDeliveries never ended")
	return nil
}

func TestLetterChannel(t *testing.T) {
	t.Parallel()
	s := newChannelStack(t, nil)
	rs := []*dispatchv1.Recipient{
		{Name: "Ana Ruiz", Address: "12 Elm St\nAustin TX 78701", Jurisdiction: "US-TX"},
		{Name: "Zoë Brontë", Address: "3 Oak Ave\nDallas TX 75201", Jurisdiction: "US-TX"},
		{Name: "Cy Dee", Address: "9 Pine Rd\nWaco TX 76701", Jurisdiction: "US-TX"},
		// E-mail recipients of a campaign switched to letters: printed to
		// the postal address, or failed without one.
		{Name: "Eve Ng", Address: "eve@example.org", PostalAddress: "5 Bay Rd\nHouston TX 77002", Jurisdiction: "US-TX"},
		{Name: "Ed Fox", Address: "ed@example.org", Jurisdiction: "US-TX"},
	}
	cmp := s.prepare(t, dispatchv1.Channel_CHANNEL_LETTER, rs, obligation("us-tx.individuals", classificationv1.Audience_AUDIENCE_INDIVIDUALS))
	id := cmp.GetCampaignId()
	files := s.artifacts(t, id)
	name := fmt.Sprintf("v%d-letters-001.pdf", cmp.GetVersion())
	pdf, ok := files[name]
	if !ok || len(files) != 1 {
		t.Fatalf("artifacts = %v, want only %s", keys(files), name)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || bytes.Count(pdf, []byte("/Type /Page\n")) < len(rs)-1 {
		t.Fatalf("%s is not a PDF with a page per letter (%d pages)", name, bytes.Count(pdf, []byte("/Type /Page\n")))
	}
	ds := s.deliveries(t, &dispatchv1.ListDeliveriesRequest{CampaignId: id})
	if len(ds) != len(rs) {
		t.Fatalf("got %d deliveries, want %d", len(ds), len(rs))
	}
	for i, d := range ds[:4] {
		addr := rs[i].GetAddress()
		if rs[i].GetPostalAddress() != "" {
			addr = rs[i].GetPostalAddress()
		}
		if d.GetStatus() != dispatchv1.DeliveryStatus_DELIVERY_STATUS_SENT || d.GetChannel() != dispatchv1.Channel_CHANNEL_LETTER ||
			d.GetMessageId() != fmt.Sprintf("%s#%d", name, i+1) || d.GetAddress() != addr {
			t.Fatalf("delivery %d = %v; want SENT letter %s#%d to %q", i, d, name, i+1, addr)
		}
	}
	if d := ds[4]; d.GetStatus() != dispatchv1.DeliveryStatus_DELIVERY_STATUS_FAILED || d.GetOutcome() != "no postal address" {
		t.Fatalf("delivery without a postal address = %v, want FAILED", d)
	}
}

func TestRegulatorPacketChannel(t *testing.T) {
	t.Parallel()
	s := newChannelStack(t, nil)
	reg := obligation("us-tx.ag", classificationv1.Audience_AUDIENCE_REGULATOR)
	ind := obligation("us-tx.individuals", classificationv1.Audience_AUDIENCE_INDIVIDUALS)
	ind.AffectedCount = 1200
	indCA := obligation("us-ca.individuals", classificationv1.Audience_AUDIENCE_INDIVIDUALS)
	indCA.Jurisdiction, indCA.AffectedCount = "US-CA", 40
	cmp := s.prepare(t, dispatchv1.Channel_CHANNEL_REGULATOR_PACKET, nil, reg, ind, indCA)
	files := s.artifacts(t, cmp.GetCampaignId())
	if len(files) != 1 {
		t.Fatalf("artifacts = %v, want one packet (Texas Attorney General)", keys(files))
	}
	for name, b := range files {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%s is not a ZIP: %v", name, err)
		}
		got := map[string]string{}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(rc)
			_ = rc.Close()
			got[f.Name] = string(body)
		}
		if !strings.Contains(got["notice.txt"], "Texas Attorney General") || !strings.Contains(got["sample-individual-notice.txt"], "1-877-IDTHEFT") {
			t.Fatalf("packet notice/sample wrong: %q / %q", got["notice.txt"], got["sample-individual-notice.txt"])
		}
		var sum struct {
			AffectedTotal  int64             `json:"affected_total"`
			ByJurisdiction map[string]int64  `json:"affected_by_jurisdiction"`
			Dates          map[string]string `json:"dates"`
			Approvals      []string          `json:"approvals"`
			Contact        struct{ Phone string }
		}
		if err := json.Unmarshal([]byte(got["summary.json"]), &sum); err != nil {
			t.Fatalf("summary.json: %v", err)
		}
		if sum.AffectedTotal != 1240 || sum.ByJurisdiction["US-TX"] != 1200 || len(sum.Approvals) != 3 || sum.Contact.Phone == "" || sum.Dates["packet_created"] == "" {
			t.Fatalf("summary = %+v; want 1240 affected (1200 in US-TX), 3 approvals, contact and dates", sum)
		}
	}
}

func TestWebsiteChannel(t *testing.T) {
	t.Parallel()
	s := newChannelStack(t, nil)
	tests := []struct {
		name         string
		jurisdiction string
		affected     int64
		substitute   bool
	}{
		{"substitute_notice_over_the_persons_threshold", "US-IL", 600000, true},
		{"posting_only_under_the_thresholds", "US-TX", 1000, false},
		{"default_threshold_where_the_reference_has_none", "US-CA", 300000, true}, // $300k of letters > $250k default
	}
	for _, tt := range tests {
		t.Run("method=SendCampaign/case="+tt.name, func(t *testing.T) {
			t.Parallel()
			ob := obligation("web."+tt.jurisdiction, classificationv1.Audience_AUDIENCE_INDIVIDUALS)
			ob.Jurisdiction, ob.AffectedCount = tt.jurisdiction, tt.affected
			cmp := s.prepare(t, dispatchv1.Channel_CHANNEL_WEBSITE, []*dispatchv1.Recipient{}, ob)
			l, err := s.c.ListArtifacts(t.Context(), &dispatchv1.ListArtifactsRequest{CampaignId: cmp.GetCampaignId()})
			if err != nil || len(l.GetArtifacts()) != 1 {
				t.Fatalf("ListArtifacts = %v, %v; want the notice page", l, err)
			}
			a := l.GetArtifacts()[0]
			page := s.artifacts(t, cmp.GetCampaignId())[a.GetName()]
			if a.GetKind() != domain.KindWebsiteNotice || a.GetCreateTime() == nil || !strings.Contains(string(page), "Posted ") {
				t.Fatalf("artifact %v: want a posted website notice", a)
			}
			if got := strings.Contains(string(page), "This is a substitute notice."); got != tt.substitute || strings.HasPrefix(a.GetNote(), "Substitute notice applies") != tt.substitute {
				t.Fatalf("substitute notice = %v (%q), want %v", got, a.GetNote(), tt.substitute)
			}
			published, err := os.ReadFile(filepath.Join(s.webDir, cmp.GetCampaignId(), a.GetName()))
			if err != nil || !bytes.Equal(published, page) {
				t.Fatalf("published page differs from the artefact (%v)", err)
			}
		})
	}
}

func TestMediaReleaseChannel(t *testing.T) {
	t.Parallel()
	s := newChannelStack(t, nil)
	media := obligation("us-tx.media", classificationv1.Audience_AUDIENCE_MEDIA)
	cmp := s.prepare(t, dispatchv1.Channel_CHANNEL_MEDIA_RELEASE, nil, media, obligation("us-tx.individuals", classificationv1.Audience_AUDIENCE_INDIVIDUALS))
	if got := s.mail.Counts(); got["news@texastribune.example"] != 1 || got["metro@chron.example"] != 1 || len(got) != 2 {
		t.Fatalf("outlets received %v; want the release once at each Texas outlet", got)
	}
	files := s.artifacts(t, cmp.GetCampaignId())
	rel := string(files[fmt.Sprintf("v%d-media-release.txt", cmp.GetVersion())])
	for _, want := range []string{"FOR IMMEDIATE RELEASE", "Affected jurisdictions: US-TX", "Texas Tribune news desk", testContent["what_happened"]} {
		if !strings.Contains(rel, want) {
			t.Fatalf("media release lacks %q:\n%s", want, rel)
		}
	}
}

// emailRecipients are n e-mail recipients; every other one has a postal
// address for a fallback letter.
func emailRecipients(n int) []*dispatchv1.Recipient {
	rs := make([]*dispatchv1.Recipient, n)
	for i := range rs {
		rs[i] = &dispatchv1.Recipient{Name: fmt.Sprintf("Person %d", i), Address: fmt.Sprintf("p%d@example.org", i), Jurisdiction: "US-TX"}
		if i%2 == 1 {
			rs[i].PostalAddress = fmt.Sprintf("%d Main St\nAustin TX 78701", i)
		}
	}
	return rs
}

func dsn(messageID, action, status, diag string) []byte {
	return []byte(strings.ReplaceAll(`From: MAILER-DAEMON@mx.example
To: notices@example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.
--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example

Final-Recipient: rfc822; someone@example.org
Action: `+action+`
Status: `+status+`
Diagnostic-Code: smtp; `+diag+`

--B
Content-Type: text/rfc822-headers

From: notices@example.org
Message-ID: `+messageID+`
Subject: Notice of Data Breach

--B--
`, "\n", "\r\n"))
}

func TestDeliveriesAndBounces(t *testing.T) {
	t.Parallel()
	s := newChannelStack(t, nil)
	ctx := t.Context()
	const n = 25
	s.mail.Reject("p3@example.org")
	cmp := s.prepare(t, dispatchv1.Channel_CHANNEL_EMAIL, emailRecipients(n), obligation("us-tx.individuals", classificationv1.Audience_AUDIENCE_INDIVIDUALS))
	id := cmp.GetCampaignId()
	all := s.deliveries(t, &dispatchv1.ListDeliveriesRequest{CampaignId: id, PageSize: 10})
	t.Run("method=ListDeliveries/case=pages_cover_every_recipient_once", func(t *testing.T) {
		if len(all) != n {
			t.Fatalf("got %d deliveries over pages of 10, want %d", len(all), n)
		}
		for i, d := range all {
			wantStatus, wantID := dispatchv1.DeliveryStatus_DELIVERY_STATUS_SENT, domain.MessageID(id, cmp.GetVersion(), d.GetRecipientKey())
			if i == 3 {
				wantStatus = dispatchv1.DeliveryStatus_DELIVERY_STATUS_FAILED
			}
			if d.GetAddress() != fmt.Sprintf("p%d@example.org", i) || d.GetStatus() != wantStatus || d.GetMessageId() != wantID || d.GetAttempts() != 1 {
				t.Fatalf("delivery %d = %v; want %s, %s, 1 attempt", i, d, wantStatus, wantID)
			}
			if i != 3 && !strings.HasPrefix(d.GetProviderMessageId(), "Q") {
				t.Fatalf("delivery %d has provider id %q; want the SMTP server's queue id", i, d.GetProviderMessageId())
			}
		}
		if !strings.Contains(all[3].GetOutcome(), "550") {
			t.Fatalf("failed delivery outcome = %q, want the 550 reply", all[3].GetOutcome())
		}
	})
	t.Run("method=ListDeliveries/case=status_filter", func(t *testing.T) {
		got := s.deliveries(t, &dispatchv1.ListDeliveriesRequest{CampaignId: id, PageSize: 2, Status: dispatchv1.DeliveryStatus_DELIVERY_STATUS_FAILED})
		if len(got) != 1 || got[0].GetAddress() != "p3@example.org" {
			t.Fatalf("FAILED deliveries = %v, want p3 only", got)
		}
	})
	t.Run("method=ListDeliveries/case=token_bound_to_its_filters", func(t *testing.T) {
		r, err := s.c.ListDeliveries(ctx, &dispatchv1.ListDeliveriesRequest{CampaignId: id, PageSize: 5})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.c.ListDeliveries(ctx, &dispatchv1.ListDeliveriesRequest{CampaignId: id, PageToken: r.GetNextPageToken(), Status: dispatchv1.DeliveryStatus_DELIVERY_STATUS_SENT})
		wantCode(t, err, codes.InvalidArgument)
	})

	hard := all[5].GetMessageId() // p5 has a postal address
	t.Run("method=RecordBounce/case=hard_bounce_queues_a_letter", func(t *testing.T) {
		for range 2 { // a retried report records one bounce
			r, err := s.c.RecordBounce(ctx, &dispatchv1.RecordBounceRequest{RequestId: "b1", MessageId: hard, Type: dispatchv1.BounceType_BOUNCE_TYPE_HARD, Diagnostic: "550 5.1.1 user unknown"})
			if err != nil {
				t.Fatalf("RecordBounce: %v", err)
			}
			if r.GetDelivery().GetStatus() != dispatchv1.DeliveryStatus_DELIVERY_STATUS_BOUNCED || !r.GetLetterFallbackQueued() || len(r.GetDelivery().GetBounces()) != 1 {
				t.Fatalf("RecordBounce = %v; want BOUNCED with one bounce and a letter queued", r)
			}
		}
	})
	t.Run("method=RecordBounce/case=dsn_soft_bounce_keeps_it_sent", func(t *testing.T) {
		r, err := s.c.RecordBounce(ctx, &dispatchv1.RecordBounceRequest{RequestId: "b2", Dsn: dsn(all[6].GetMessageId(), "delayed", "4.2.2", "452 4.2.2 mailbox full")})
		if err != nil {
			t.Fatalf("RecordBounce(dsn): %v", err)
		}
		b := r.GetDelivery().GetBounces()
		if r.GetDelivery().GetStatus() != dispatchv1.DeliveryStatus_DELIVERY_STATUS_SENT || len(b) != 1 || b[0].GetType() != dispatchv1.BounceType_BOUNCE_TYPE_SOFT || !strings.Contains(b[0].GetDiagnostic(), "mailbox full") || r.GetLetterFallbackQueued() {
			t.Fatalf("RecordBounce(dsn) = %v; want SENT with one soft bounce", r)
		}
	})
	t.Run("method=RecordBounce/case=dsn_hard_bounce_without_postal_address", func(t *testing.T) {
		r, err := s.c.RecordBounce(ctx, &dispatchv1.RecordBounceRequest{RequestId: "b3", Dsn: dsn(all[8].GetMessageId(), "failed", "5.1.1", "550 5.1.1 no such user")})
		if err != nil {
			t.Fatalf("RecordBounce(dsn): %v", err)
		}
		if r.GetDelivery().GetStatus() != dispatchv1.DeliveryStatus_DELIVERY_STATUS_BOUNCED || r.GetLetterFallbackQueued() {
			t.Fatalf("RecordBounce(dsn) = %v; want BOUNCED, no letter (no postal address)", r)
		}
	})
	t.Run("method=RecordBounce/case=bad_input_lists_every_violation", func(t *testing.T) {
		_, err := s.c.RecordBounce(ctx, &dispatchv1.RecordBounceRequest{RequestId: "bad id", MessageId: "<someone@else>", Type: 9})
		wantCode(t, err, codes.InvalidArgument)
		fields := violations(err)
		for _, f := range []string{"request_id", "message_id", "type"} {
			if !fields[f] {
				t.Fatalf("violations %v lack %s", fields, f)
			}
		}
	})
	t.Run("method=RecordBounce/case=unknown_recipient_not_found", func(t *testing.T) {
		_, err := s.c.RecordBounce(ctx, &dispatchv1.RecordBounceRequest{RequestId: "b4", MessageId: domain.MessageID(id, 1, strings.Repeat("0", 24)), Type: dispatchv1.BounceType_BOUNCE_TYPE_HARD})
		wantCode(t, err, codes.NotFound)
	})
	t.Run("method=ListDeliveries/case=fallback_letter_printed", func(t *testing.T) {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(20 * time.Second)
		for {
			got := s.deliveries(t, &dispatchv1.ListDeliveriesRequest{CampaignId: id, Channel: dispatchv1.Channel_CHANNEL_LETTER})
			if len(got) == 1 && got[0].GetStatus() == dispatchv1.DeliveryStatus_DELIVERY_STATUS_SENT {
				if got[0].GetAddress() != "5 Main St\nAustin TX 78701" {
					t.Fatalf("fallback letter to %q, want p5's postal address", got[0].GetAddress())
				}
				name, _, _ := strings.Cut(got[0].GetMessageId(), "#")
				if pdf := s.artifacts(t, id)[name]; !bytes.HasPrefix(pdf, []byte("%PDF-")) {
					t.Fatalf("fallback artefact %s is not a PDF", name)
				}
				return
			}
			select {
			case <-tick.C:
			case <-deadline:
				t.Fatalf("LETTER deliveries = %v; want the printed fallback letter", got)
			}
		}
	})
	t.Run("method=RecordBounce/case=fallback_letter_waits_for_a_hold", func(t *testing.T) {
		h, err := s.c.PlaceHold(as(ctx, "karen"), &dispatchv1.PlaceHoldRequest{RequestId: "hold-fallback", Hold: &dispatchv1.Hold{
			CampaignId: id, RequestedBy: "FBI San Antonio", Reason: "no further contact for now"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.c.RecordBounce(ctx, &dispatchv1.RecordBounceRequest{RequestId: "b7", MessageId: all[7].GetMessageId(), Type: dispatchv1.BounceType_BOUNCE_TYPE_HARD}); err != nil {
			t.Fatal(err)
		}
		letter7 := func() *dispatchv1.Delivery {
			for _, d := range s.deliveries(t, &dispatchv1.ListDeliveriesRequest{CampaignId: id, Channel: dispatchv1.Channel_CHANNEL_LETTER}) {
				if d.GetRecipientKey() == all[7].GetRecipientKey() {
					return d
				}
			}
			return nil
		}
		held := time.NewTimer(500 * time.Millisecond) // many passes of the 20 ms fallback worker
		<-held.C
		if d := letter7(); d.GetStatus() != dispatchv1.DeliveryStatus_DELIVERY_STATUS_QUEUED {
			t.Fatalf("fallback under hold = %v, want QUEUED", d)
		}
		if _, err := s.c.ReleaseHold(as(ctx, "karen"), &dispatchv1.ReleaseHoldRequest{HoldId: h.GetHold().GetHoldId()}); err != nil {
			t.Fatal(err)
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(20 * time.Second)
		for letter7().GetStatus() != dispatchv1.DeliveryStatus_DELIVERY_STATUS_SENT {
			select {
			case <-tick.C:
			case <-deadline:
				t.Fatalf("fallback after release = %v, want SENT", letter7())
			}
		}
	})
}

func violations(err error) map[string]bool {
	out := map[string]bool{}
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out[v.GetField()] = true
			}
		}
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestWebhookEndpointSecrets sends a webhook campaign to two real HTTP
// receivers on loopback: one with its own secret being rotated (it
// accepts only the new one, so the old signature alone would fail), one
// on the deployment-wide secret.
func TestWebhookEndpointSecrets(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	got := map[string]string{} // path -> idempotency key
	recv := func(secret string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if !verifyAny([]byte(secret), r.Header.Get(channel.SignatureHeader), body) {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			mu.Lock()
			got[r.URL.Path] = r.Header.Get("Idempotency-Key")
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/acme/", recv("acme-new-secret-2026"))
	mux.Handle("/other/", recv("deployment-wide-secret"))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	env := map[string]string{"ACME_NEW": "acme-new-secret-2026", "ACME_OLD": "acme-old-secret-2025"}
	eps, err := channel.ParseEndpoints(fmt.Appendf(nil, "endpoints:\n  - url_prefix: %s/acme/\n    secrets: [env:ACME_NEW, env:ACME_OLD]\n", srv.URL),
		func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	s := newChannelStack(t, eps)
	cmp := s.prepare(t, dispatchv1.Channel_CHANNEL_WEBHOOK, []*dispatchv1.Recipient{
		{Name: "Acme", Address: srv.URL + "/acme/hook"}, {Name: "Other", Address: srv.URL + "/other/hook"},
	}, obligation("ctl.acme", classificationv1.Audience_AUDIENCE_CONTROLLER))
	ds := s.deliveries(t, &dispatchv1.ListDeliveriesRequest{CampaignId: cmp.GetCampaignId()})
	mu.Lock()
	defer mu.Unlock()
	for _, d := range ds {
		path := strings.TrimPrefix(d.GetAddress(), srv.URL)
		if d.GetStatus() != dispatchv1.DeliveryStatus_DELIVERY_STATUS_SENT || got[path] != d.GetMessageId() {
			t.Fatalf("delivery %v; receiver saw key %q", d, got[path])
		}
	}
}

// verifyAny accepts a signature header if any v1= entry is the HMAC of
// "<t>.<body>" under secret, as a receiver mid-rotation does.
func verifyAny(secret []byte, header string, body []byte) bool {
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	var sec int64
	if _, err := fmt.Sscan(ts, &sec); err != nil {
		return false
	}
	want := strings.TrimPrefix(channel.Sign(secret, body, time.Unix(sec, 0)), "t="+ts+",v1=")
	for _, s := range sigs {
		if s == want {
			return true
		}
	}
	return false
}
