package domain_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/dispatch/internal/channel"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
	"github.com/breachline/breachline/services/dispatch/internal/smtptest"
	"github.com/breachline/breachline/services/dispatch/internal/store"
)

// TestReplicasShareCampaign runs two dispatch replicas (each its own
// service and engine over the same database) on one campaign: the leases
// split its units between them and every recipient gets the notice
// exactly once.
func TestReplicasShareCampaign(t *testing.T) {
	t.Parallel()
	const n = 2500 // three units (chunks of 1,000)
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatal(err)
	}
	mail := smtptest.Start(t)
	tr := map[domain.Channel]domain.Transport{domain.ChannelEmail: channel.SMTP{Addr: mail.Addr(), From: "notices@example.org"}}
	first := domain.NewService(store.New(db), time.Now)
	id, version := approvedCampaign(t, first, n)
	if _, err := first.Send(t.Context(), id, version); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for _, owner := range []string{"replica-a", "replica-b"} {
		e := domain.NewEngine(domain.NewService(store.New(db), time.Now), domain.EngineConfig{Owner: owner, Workers: 3, FlushEvery: 20, Idle: 20 * time.Millisecond}, tr, slog.New(slog.DiscardHandler))
		wg.Go(func() { e.Run(ctx) })
	}
	defer func() { cancel(); wg.Wait() }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(time.Minute)
	for {
		p, err := first.Progress(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if p.State == domain.StateCompleted {
			if p.Sent != n || p.Queued != 0 {
				t.Fatalf("progress = %+v, want %d sent", p, n)
			}
			break
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("campaign not completed: %+v", p)
		}
	}
	counts := mail.Counts()
	for i := range n {
		if got := counts[fmt.Sprintf("p%d@example.org", i)]; got != 1 {
			t.Fatalf("p%d received %d notices from two replicas, want 1", i, got)
		}
	}
}
