package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
)

// TestCorrectedVersion sends version 1 of an e-mail campaign, records a
// hard bounce for one recipient, then edits, re-approves and sends the
// corrected version: every other recipient gets each approved version
// exactly once, the bounced address is not tried again (recorded as
// skipped with the reason), and progress and the timeline show it.
func TestCorrectedVersion(t *testing.T) {
	t.Parallel()
	s := newChannelStack(t, nil)
	ctx := t.Context()
	const n, bounced = 12, 4 // p4 has no postal address: no fallback letter
	cmp := s.prepare(t, dispatchv1.Channel_CHANNEL_EMAIL, emailRecipients(n), obligation("us-tx.individuals", classificationv1.Audience_AUDIENCE_INDIVIDUALS))
	id := cmp.GetCampaignId()
	v1 := s.deliveries(t, &dispatchv1.ListDeliveriesRequest{CampaignId: id})
	if _, err := s.c.RecordBounce(ctx, &dispatchv1.RecordBounceRequest{RequestId: "bounce-v1", MessageId: v1[bounced].GetMessageId(),
		Type: dispatchv1.BounceType_BOUNCE_TYPE_HARD, Diagnostic: "550 5.1.1 user unknown"}); err != nil {
		t.Fatalf("RecordBounce: %v", err)
	}

	t.Run("method=GetCampaignProgress/case=hard_bounce_is_sent_not_delivered", func(t *testing.T) {
		p, err := s.c.GetCampaignProgress(ctx, &dispatchv1.GetCampaignProgressRequest{CampaignId: id})
		if err != nil {
			t.Fatal(err)
		}
		if p.GetVersion() != cmp.GetVersion() || p.GetSent() != n || p.GetBounced() != 1 || p.GetDelivered() != n-1 || p.GetQueued() != 0 || p.GetSkipped() != 0 {
			t.Fatalf("progress = %v; want %d sent, 1 bounced, %d delivered", p, n, n-1)
		}
	})

	r, err := s.c.UpdateCampaign(as(ctx, "drafter"), &dispatchv1.UpdateCampaignRequest{
		Campaign: &dispatchv1.Campaign{CampaignId: id, Content: map[string]string{
			"what_happened":        "On March 1 an attacker accessed a file server (corrected: and a backup).",
			"information_involved": testContent["information_involved"],
			"what_we_are_doing":    testContent["what_we_are_doing"],
		}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"content"}},
	})
	if err != nil {
		t.Fatalf("UpdateCampaign of the completed campaign: %v", err)
	}
	v2 := approveAll(t, s.c, r.GetCampaign())
	if v2.GetVersion() != cmp.GetVersion()+1 {
		t.Fatalf("corrected version %d, want %d", v2.GetVersion(), cmp.GetVersion()+1)
	}
	for range 2 { // a repeated send is a no-op
		if _, err := s.c.SendCampaign(ctx, &dispatchv1.SendCampaignRequest{CampaignId: id, Version: v2.GetVersion()}); err != nil {
			t.Fatalf("SendCampaign(v%d): %v", v2.GetVersion(), err)
		}
	}
	p := waitState(t, s.c, id, dispatchv1.CampaignState_CAMPAIGN_STATE_COMPLETED)

	t.Run("method=SendCampaign/case=each_version_once_bounced_address_skipped", func(t *testing.T) {
		counts := s.mail.Counts()
		for i := range n {
			want := 2
			if i == bounced {
				want = 1
			}
			if got := counts[fmt.Sprintf("p%d@example.org", i)]; got != want {
				t.Errorf("p%d received %d notices over two versions, want %d", i, got, want)
			}
		}
	})
	t.Run("method=GetCampaignProgress/case=skipped_counted", func(t *testing.T) {
		if p.GetVersion() != v2.GetVersion() || p.GetSent() != n-1 || p.GetSkipped() != 1 || p.GetDelivered() != n-1 || p.GetQueued() != 0 || p.GetFailed() != 0 {
			t.Fatalf("progress = %v; want %d sent and delivered, 1 skipped", p, n-1)
		}
	})
	t.Run("method=ListDeliveries/case=skipped_with_reason", func(t *testing.T) {
		got := s.deliveries(t, &dispatchv1.ListDeliveriesRequest{CampaignId: id, Status: dispatchv1.DeliveryStatus_DELIVERY_STATUS_SKIPPED})
		if len(got) != 1 || got[0].GetAddress() != fmt.Sprintf("p%d@example.org", bounced) || got[0].GetMessageId() != "" ||
			!strings.Contains(got[0].GetOutcome(), fmt.Sprintf("version %d", cmp.GetVersion())) || !strings.Contains(got[0].GetOutcome(), "user unknown") {
			t.Fatalf("SKIPPED deliveries = %v; want p%d, naming version %d and the diagnostic", got, bounced, cmp.GetVersion())
		}
	})
	t.Run("method=RelayTimeline/case=both_versions_completed", func(t *testing.T) {
		want := fmt.Sprintf("dispatch.%s.v%d.completed", id, v2.GetVersion())
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(20 * time.Second)
		for {
			s.intake.mu.Lock()
			e1 := s.intake.entries[fmt.Sprintf("dispatch.%s.v%d.completed", id, cmp.GetVersion())]
			e2 := s.intake.entries[want]
			s.intake.mu.Unlock()
			if e1 != nil && e2 != nil {
				if sum := e2.GetEntry().GetSummary(); !strings.Contains(sum, "1 skipped") {
					t.Fatalf("completion summary %q does not report the skipped recipient", sum)
				}
				return
			}
			select {
			case <-tick.C:
			case <-deadline:
				t.Fatalf("timeline lacks the completion of both versions (%v)", keys(s.intake.actions()))
			}
		}
	})
}

// TestTransientFailuresRetried has the SMTP server defer two recipients
// (451, as greylisting does): one is accepted on the third attempt, the
// other is still deferred after every attempt and recorded as failed.
func TestTransientFailuresRetried(t *testing.T) {
	t.Parallel()
	s := newChannelStack(t, nil)
	s.mail.Defer("p1@example.org", 2)
	s.mail.Defer("p2@example.org", 100)
	cmp := s.prepare(t, dispatchv1.Channel_CHANNEL_EMAIL, emailRecipients(4), obligation("us-tx.individuals", classificationv1.Audience_AUDIENCE_INDIVIDUALS))
	got := s.deliveries(t, &dispatchv1.ListDeliveriesRequest{CampaignId: cmp.GetCampaignId()})
	tests := []struct {
		name     string
		idx      int
		status   dispatchv1.DeliveryStatus
		attempts int32
		outcome  string
	}{
		{"accepted_first_time", 0, dispatchv1.DeliveryStatus_DELIVERY_STATUS_SENT, 1, "accepted"},
		{"accepted_after_two_deferrals", 1, dispatchv1.DeliveryStatus_DELIVERY_STATUS_SENT, 3, "accepted"},
		{"retries_exhausted", 2, dispatchv1.DeliveryStatus_DELIVERY_STATUS_FAILED, 5, "retries exhausted"},
	}
	for _, tt := range tests {
		t.Run("method=ListDeliveries/case="+tt.name, func(t *testing.T) {
			d := got[tt.idx]
			if d.GetStatus() != tt.status || d.GetAttempts() != tt.attempts || !strings.Contains(d.GetOutcome(), tt.outcome) {
				t.Fatalf("delivery %d = %v; want %s after %d attempts (%q)", tt.idx, d, tt.status, tt.attempts, tt.outcome)
			}
		})
	}
	if c := s.mail.Counts(); c["p1@example.org"] != 1 || c["p2@example.org"] != 0 {
		t.Fatalf("accepted %d for p1 and %d for p2, want 1 and 0", c["p1@example.org"], c["p2@example.org"])
	}
}

// TestHoldWhileSending places a law-enforcement hold on a campaign in the
// middle of sending: the engine stops at its next checkpoint and sends
// nothing while held; the release resumes it and every recipient ends up
// with exactly one notice.
func TestHoldWhileSending(t *testing.T) {
	t.Parallel()
	c, mail := newStack(t, 150) // slow enough to hold mid-campaign
	ctx := t.Context()
	const n = 300
	cmp := approveAll(t, c, draftIndividuals(t, c, n))
	id := cmp.GetCampaignId()
	if _, err := c.SendCampaign(ctx, &dispatchv1.SendCampaignRequest{CampaignId: id, Version: cmp.GetVersion()}); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for mail.Total() < 30 {
		<-tick.C
	}
	h, err := c.PlaceHold(as(ctx, "karen"), &dispatchv1.PlaceHoldRequest{RequestId: "hold-mid-send", Hold: &dispatchv1.Hold{
		CampaignId: id, RequestedBy: "FBI San Antonio", Reason: "notice would impede the investigation"}})
	if err != nil {
		t.Fatal(err)
	}
	settle := time.NewTimer(time.Second) // workers stop at their next checkpoint
	<-settle.C
	held := mail.Total()
	wait := time.NewTimer(500 * time.Millisecond)
	<-wait.C
	if got := mail.Total(); got != held || got >= n {
		t.Fatalf("accepted %d then %d while held; want no progress, fewer than %d", held, got, n)
	}
	if p, err := c.GetCampaignProgress(ctx, &dispatchv1.GetCampaignProgressRequest{CampaignId: id}); err != nil || p.GetQueued() == 0 {
		t.Fatalf("progress while held = %v, %v; want recipients still queued", p, err)
	}
	if _, err := c.ReleaseHold(as(ctx, "karen"), &dispatchv1.ReleaseHoldRequest{HoldId: h.GetHold().GetHoldId()}); err != nil {
		t.Fatal(err)
	}
	p := waitState(t, c, id, dispatchv1.CampaignState_CAMPAIGN_STATE_COMPLETED)
	if p.GetSent() != n || p.GetQueued() != 0 {
		t.Fatalf("progress = %v, want %d sent", p, n)
	}
	for i := range n {
		if got := mail.Counts()[fmt.Sprintf("p%d@example.org", i)]; got != 1 {
			t.Fatalf("p%d received %d notices, want 1", i, got)
		}
	}
}

// TestEmailRateLimit checks the per-channel limiter: with r messages a
// second and a burst of one per worker, n messages cannot all be accepted
// sooner than (n - burst) / r after SendCampaign (a lower bound, so a slow
// machine cannot make it fail).
func TestEmailRateLimit(t *testing.T) {
	t.Parallel()
	const rate, n, workers = 50, 40, 4 // newStack runs 4 workers
	c, mail := newStack(t, rate)
	cmp := approveAll(t, c, draftIndividuals(t, c, n))
	start := time.Now()
	if _, err := c.SendCampaign(t.Context(), &dispatchv1.SendCampaignRequest{CampaignId: cmp.GetCampaignId(), Version: cmp.GetVersion()}); err != nil {
		t.Fatal(err)
	}
	waitState(t, c, cmp.GetCampaignId(), dispatchv1.CampaignState_CAMPAIGN_STATE_COMPLETED)
	_, last := mail.Span()
	if floor := time.Duration(n-workers) * time.Second / rate; last.Sub(start) < floor || mail.Total() != n {
		t.Fatalf("%d messages accepted within %v of SendCampaign; at %d/s they take at least %v", mail.Total(), last.Sub(start), rate, floor)
	}
}

// TestPreviewCampaign renders the current version for a sample recipient
// with the content the law requires for individuals, and names the
// version and hash an approval binds to.
func TestPreviewCampaign(t *testing.T) {
	t.Parallel()
	c, _ := newStack(t, 0)
	cmp := draftIndividuals(t, c, 1)
	p, err := c.PreviewCampaign(t.Context(), &dispatchv1.PreviewCampaignRequest{CampaignId: cmp.GetCampaignId(),
		Recipient: &dispatchv1.Recipient{Name: "Maria Lopez", Address: "maria@example.org", Jurisdiction: "US-CA"}})
	if err != nil {
		t.Fatalf("PreviewCampaign: %v", err)
	}
	if p.GetVersion() != cmp.GetVersion() || p.GetContentHash() != cmp.GetContentHash() {
		t.Fatalf("preview of version %d (%s), want %d (%s)", p.GetVersion(), p.GetContentHash(), cmp.GetVersion(), cmp.GetContentHash())
	}
	for _, want := range []string{"Maria Lopez", "What Happened", "attacker accessed a file server", "1-877-IDTHEFT", "12 to 24 months", "fraud alert"} {
		if !strings.Contains(p.GetBody(), want) {
			t.Errorf("preview body lacks %q:\n%s", want, p.GetBody())
		}
	}
}
