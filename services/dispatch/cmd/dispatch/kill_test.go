package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/porttest"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// Engine settings of the process under test; the duplicate bound follows
// from them (domain.Engine.InFlightBound).
const (
	killWorkers    = 16
	killFlushEvery = 50
	kills          = 3
)

// TestSIGKILLDuringCampaign builds the dispatch binary, starts a campaign,
// SIGKILLs the process several times mid-send (restarting it each time) and
// then counts at the SMTP server: every recipient received the notice, and
// duplicates are at most the messages that can be in flight at each kill.
// DISPATCH_KILL_RECIPIENTS=100000 runs it at the full size.
func TestSIGKILLDuringCampaign(t *testing.T) {
	t.Parallel()
	n := 10_000
	if v, err := strconv.Atoi(os.Getenv("DISPATCH_KILL_RECIPIENTS")); err == nil && v > 0 {
		n = v
	}
	rig := newKillRig(t)
	bin, mail, uri, dbName, svc := rig.bin, rig.mail, rig.uri, rig.db, rig.svc
	id, version := approvedCampaign(t, svc, n)

	addr := porttest.FreeAddrs(t, 1)[0]
	start := func() *exec.Cmd {
		cmd := exec.CommandContext(t.Context(), bin)
		cmd.Env = append(os.Environ(),
			"LISTEN_ADDR="+addr, "MONGODB_URI="+uri, "MONGODB_DATABASE="+dbName, "SMTP_ADDR="+mail.Addr(),
			"OUTBOX_LEASE=2s", "LOG_LEVEL=warn", "INTAKE_ADDR=127.0.0.1:1", "OTEL_SDK_DISABLED=true",
			fmt.Sprintf("OUTBOX_WORKERS=%d", killWorkers), fmt.Sprintf("OUTBOX_FLUSH_EVERY=%d", killFlushEvery))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	cmd := start()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	conn, err := grpcx.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	api := dispatchv1.NewDispatchServiceClient(conn)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Minute)
	wait := func(what string, done func() bool) {
		t.Helper()
		for !done() {
			select {
			case <-tick.C:
			case <-deadline:
				t.Fatalf("timed out waiting for %s (%d accepted)", what, mail.Total())
			}
		}
	}
	wait("the server", func() bool {
		_, err := api.SendCampaign(t.Context(), &dispatchv1.SendCampaignRequest{CampaignId: id, Version: version})
		return err == nil
	})
	for k := 1; k <= kills; k++ {
		target := int64(n) * int64(k) / (kills + 1)
		wait("progress before a kill", func() bool { return mail.Total() >= target })
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		t.Logf("kill %d after %d messages accepted", k, mail.Total())
		cmd = start()
	}
	wait("completion", func() bool {
		p, err := svc.Progress(t.Context(), id)
		return err == nil && p.State == domain.StateCompleted
	})
	counts := mail.Counts()
	dups, missing := 0, 0
	for i := range n {
		c := counts[fmt.Sprintf("p%d@example.org", i)]
		if c == 0 {
			missing++
		}
		dups += max(0, c-1)
	}
	bound := kills * killWorkers * (killFlushEvery + 1)
	t.Logf("recipients %d, accepted %d, duplicates %d, bound %d (= %d kills x %d workers x (%d per checkpoint + 1 mid-transaction))",
		n, mail.Total(), dups, bound, kills, killWorkers, killFlushEvery)
	if missing > 0 {
		t.Errorf("%d recipients never received the notice", missing)
	}
	if dups > bound {
		t.Errorf("%d duplicates exceed the in-flight bound %d", dups, bound)
	}
}
