package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/porttest"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// Settings of the replicas under test. The duplicate bound of the outbox
// follows from them (domain.Engine.InFlightBound of the killed replica).
const (
	replicaWorkers    = 4
	replicaFlushEvery = 10
	replicaRecipients = 1200
	replicaNotices    = 24
	replicaDeadlines  = 6
)

// TestReplicasShareWorkAndSurviveAKill runs three dispatch replicas as real
// processes against one store, with their e-mail going to a real SMTP
// server, and SIGKILLs one of them while all three work on:
//
//   - a campaign being sent by the outbox workers (units leased per chunk);
//   - operational notices (SendNotice, delivered by the notice worker);
//   - unsent drafts whose deadline is near (the deadline escalation, which
//     every replica runs when it starts).
//
// Judged at the SMTP server: every recipient of the campaign got the
// notice, with no more duplicates than the killed replica could have had
// in flight; every operational notice arrived, once (bar the one the killed
// replica may have had in flight: its claim expires and a survivor delivers
// it); and the response
// team got exactly one alarm per near-deadline draft although three
// replicas checked them at once.
func TestReplicasShareWorkAndSurviveAKill(t *testing.T) {
	t.Parallel()
	rig := newKillRig(t)
	bin, mail, uri, dbName, svc := rig.bin, rig.mail, rig.uri, rig.db, rig.svc
	campaignID, version := approvedCampaign(t, svc, replicaRecipients)
	var near []domain.Obligation
	for i := range replicaDeadlines {
		near = append(near, domain.Obligation{
			ID: fmt.Sprintf("us-tx.ag.%d", i), Jurisdiction: "US-TX", Audience: domain.AudienceRegulator,
			Deadline: time.Now().Add(2 * time.Hour), DeadlineText: "within 30 days",
		})
	}
	if _, err := svc.CreateDrafts(t.Context(), domain.DraftRequest{IncidentID: "inc_near", AssessmentID: "asm_near", Obligations: near}); err != nil {
		t.Fatal(err)
	}

	addrs := porttest.FreeAddrs(t, 3)
	replicas := make([]*exec.Cmd, 3)
	for i, addr := range addrs {
		cmd := exec.CommandContext(t.Context(), bin)
		cmd.Env = append(os.Environ(),
			"LISTEN_ADDR="+addr, "MONGODB_URI="+uri, "MONGODB_DATABASE="+dbName, "SMTP_ADDR="+mail.Addr(),
			"OUTBOX_LEASE=2s", "NOTICE_LEASE=3s", "RELAY_INTERVAL=200ms", "LOG_LEVEL=warn", "LOG_FORMAT=text",
			"INTAKE_ADDR=127.0.0.1:1", "OTEL_SDK_DISABLED=true",
			fmt.Sprintf("OUTBOX_WORKERS=%d", replicaWorkers), fmt.Sprintf("OUTBOX_FLUSH_EVERY=%d", replicaFlushEvery))
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		replicas[i] = cmd
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("--- replica %d output ---\n%s", i+1, out.String())
			}
		})
	}
	apis := make([]dispatchv1.DispatchServiceClient, 3)
	for i, addr := range addrs {
		conn, err := grpcx.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		apis[i] = dispatchv1.NewDispatchServiceClient(conn)
	}

	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(3 * time.Minute)
	wait := func(what string, done func() bool) {
		t.Helper()
		for !done() {
			select {
			case <-tick.C:
			case <-deadline:
				t.Fatalf("timed out waiting for %s (%d messages accepted)", what, mail.Total())
			}
		}
	}
	start := time.Now()
	wait("the replicas", func() bool {
		for _, api := range apis {
			if _, err := api.GetCampaign(t.Context(), &dispatchv1.GetCampaignRequest{CampaignId: campaignID}); err != nil {
				return false
			}
		}
		return true
	})
	for i := range replicaNotices {
		if _, err := apis[i%3].SendNotice(t.Context(), &dispatchv1.SendNoticeRequest{
			RequestId: fmt.Sprintf("replica-notice-%d", i), To: fmt.Sprintf("notice-%d@example.org", i),
			Subject: "Replica test notice", Body: "One of several.", Kind: "replica-test",
		}); err != nil {
			t.Fatalf("SendNotice %d: %v", i, err)
		}
	}
	if _, err := apis[0].SendCampaign(t.Context(), &dispatchv1.SendCampaignRequest{CampaignId: campaignID, Version: version}); err != nil {
		t.Fatalf("SendCampaign: %v", err)
	}
	wait("progress before the kill", func() bool { return mail.Total() >= replicaRecipients/4 })
	if err := replicas[1].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = replicas[1].Wait()
	t.Logf("%.1fs: killed replica 2 after %d messages accepted", time.Since(start).Seconds(), mail.Total())

	wait("the campaign to complete", func() bool {
		p, err := svc.Progress(t.Context(), campaignID)
		return err == nil && p.State == domain.StateCompleted
	})
	counts := func() (recipients, notices, team map[string]int) {
		recipients, notices, team = map[string]int{}, map[string]int{}, map[string]int{}
		for addr, n := range mail.Counts() {
			switch {
			case strings.HasPrefix(addr, "notice-"):
				notices[addr] = n
			case strings.HasPrefix(addr, "p") && strings.HasSuffix(addr, "@example.org"):
				recipients[addr] = n
			default:
				team[addr] = n
			}
		}
		return recipients, notices, team
	}
	wait("every notice", func() bool {
		_, notices, _ := counts()
		return len(notices) == replicaNotices
	})
	t.Logf("%.1fs: campaign completed and every notice delivered", time.Since(start).Seconds())

	recipients, notices, team := counts()
	dups, missing := 0, 0
	for i := range replicaRecipients {
		c := recipients[fmt.Sprintf("p%d@example.org", i)]
		if c == 0 {
			missing++
		}
		dups += max(0, c-1)
	}
	bound := replicaWorkers * (replicaFlushEvery + 1)
	t.Logf("campaign: %d recipients, %d duplicates (bound %d = %d workers x (%d per checkpoint + 1))",
		replicaRecipients, dups, bound, replicaWorkers, replicaFlushEvery)
	if missing > 0 {
		t.Errorf("%d recipients never received the campaign", missing)
	}
	if dups > bound {
		t.Errorf("%d duplicates exceed the killed replica's in-flight bound %d", dups, bound)
	}
	// A notice is marked sent after the SMTP server accepted it, so the
	// one notice the killed replica may have had in flight can arrive
	// twice; any other would be a notice worked by two replicas.
	noticeDups := 0
	for _, n := range notices {
		noticeDups += n - 1
	}
	t.Logf("notices: %d delivered, %d duplicates; deadline alarms: %v per team member", len(notices), noticeDups, team)
	if noticeDups > 1 {
		t.Errorf("%d duplicate notices, want at most the killed replica's one in flight", noticeDups)
	}
	if len(team) == 0 {
		t.Fatal("no deadline alarm reached the response team")
	}
	for addr, n := range team {
		if n != replicaDeadlines {
			t.Errorf("response-team member %s got %d deadline alarms, want exactly %d (one per near-deadline draft)", addr, n, replicaDeadlines)
		}
	}
}

// syncBuffer collects a process's output for the failure report.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
