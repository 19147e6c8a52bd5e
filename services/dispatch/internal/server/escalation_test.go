package server_test

import (
	"testing"
	"time"

	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/dispatch/internal/channel"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
	"github.com/breachline/breachline/services/dispatch/internal/peers"
	"github.com/breachline/breachline/services/dispatch/internal/smtptest"
	"github.com/breachline/breachline/services/dispatch/internal/store"
)

func TestDeadlineEscalation(t *testing.T) {
	t.Parallel()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatal(err)
	}
	mail := smtptest.Start(t)
	intake := &fakeIntake{entries: map[string]*intakev1.AppendTimelineEntryRequest{}}
	conn, err := grpcx.Dial(serveIntake(t, intake))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	peer := peers.NewIntake(conn)
	svc := domain.NewService(store.New(db), func() time.Time { return now }).WithPeers(peer, peer)
	esc := domain.NewEscalator(svc, map[domain.Channel]domain.Transport{domain.ChannelEmail: channel.SMTP{Addr: mail.Addr(), From: "alerts@example.org"}}, 24*time.Hour)

	// A GDPR 72-hour clock with 20 hours left is alerted; a deadline 48
	// hours out is not yet.
	in := domain.DraftRequest{IncidentID: "inc_e", AssessmentID: "asm_e", Obligations: []domain.Obligation{
		{ID: "gdpr.sa", Jurisdiction: "EU", Audience: domain.AudienceSupervisoryAuthority, Deadline: now.Add(20 * time.Hour)},
		{ID: "us-tx.ag", Jurisdiction: "US-TX", Audience: domain.AudienceRegulator, Deadline: now.Add(48 * time.Hour)},
	}}
	if _, err := svc.CreateDrafts(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second pass alerts nobody again
		if _, err := esc.Step(t.Context()); err != nil {
			t.Fatalf("Step: %v", err)
		}
	}
	counts := mail.Counts()
	team := []string{"austin.wheelock@example.org", "karen.perwitz@example.org", "evelyn.livoti@example.org"}
	for _, addr := range team {
		if counts[addr] != 1 {
			t.Errorf("%s got %d alerts, want 1 (for the GDPR campaign only)", addr, counts[addr])
		}
	}
	if mail.Total() != int64(len(team)) {
		t.Errorf("%d alerts in total, want %d", mail.Total(), len(team))
	}
	// The alert is on the incident's timeline, once.
	relay := svc.RelayTimeline("test")
	for more := true; more; {
		if more, err = relay(t.Context()); err != nil {
			t.Fatalf("RelayTimeline: %v", err)
		}
	}
	got := 0
	for _, a := range intake.actions() {
		if a == "dispatch.escalation" {
			got++
		}
	}
	if got != 1 {
		t.Errorf("%d escalations on the timeline (%v), want 1", got, intake.actions())
	}
}
