package domain_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
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

const (
	benchRecipients = 100_000
	benchWorkers    = 16
)

// BenchmarkDispatch100k measures the full engine against a bare SMTP client
// loop on the same real SMTP server on loopback, with the same number of
// persistent sessions, in one run:
//
//	bench: dispatch.100k_s      seconds from SendCampaign until the SMTP server has accepted all 100,000
//	bench: dispatch.smtp_ratio  that time / the bare loop's time for 100,000 messages
//
// DISPATCH_BENCH_RECIPIENTS=1000000 is the opt-in goal run: the same bench
// with a 1,000,000-recipient campaign (and a bare loop of as many
// messages), printing dispatch.1m_s instead of dispatch.100k_s. It takes
// tens of minutes on a loaded machine; run it with -timeout 0.
func BenchmarkDispatch100k(b *testing.B) {
	ctx := b.Context()
	n, name := benchRecipients, "100k"
	if v, err := strconv.Atoi(os.Getenv("DISPATCH_BENCH_RECIPIENTS")); err == nil && v > 0 {
		n, name = v, benchName(v)
	}
	mail := smtptest.Start(b)
	tr := channel.SMTP{Addr: mail.Addr(), From: "notices@example.org"}

	// (1) bare loop: benchWorkers sessions, each sending its share.
	msg := domain.Message{CampaignID: "cmp_bare", Version: 1, Subject: "Notice of Data Breach", Body: sampleBody(b)}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range benchWorkers {
		wg.Go(func() {
			s, err := tr.Open(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			defer func() { _ = s.Close() }()
			for i := w; i < n; i += benchWorkers {
				m := msg
				m.To = fmt.Sprintf("bare%d@example.org", i)
				m.RecipientKey = domain.RecipientKey(m.To)
				if err := s.Send(ctx, m); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	bare := time.Since(start)

	// (2) the engine: a 100,000-recipient campaign in the embedded store.
	db := mongotest.DB(b)
	if err := mongox.EnsureIndexes(ctx, db, store.Indexes()); err != nil {
		b.Fatal(err)
	}
	svc := domain.NewService(store.New(db), time.Now)
	setup := time.Now()
	id, version := approvedCampaign(b, svc, n)
	setupDur := time.Since(setup)
	engine := domain.NewEngine(svc, domain.EngineConfig{Owner: "bench", Workers: benchWorkers, Idle: 20 * time.Millisecond},
		map[domain.Channel]domain.Transport{domain.ChannelEmail: tr}, slog.New(slog.DiscardHandler))
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	before := mail.Total()
	start = time.Now()
	if _, err := svc.Send(ctx, id, version); err != nil {
		b.Fatal(err)
	}
	go engine.Run(runCtx)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	// A generous bound (5 minutes per 100,000) so a stuck engine fails
	// the run instead of hanging it.
	deadline := time.After(time.Duration(max(1, n/benchRecipients)) * 5 * time.Minute)
	for mail.Total()-before < int64(n) {
		select {
		case <-tick.C:
		case <-deadline:
			b.Fatalf("only %d of %d delivered", mail.Total()-before, n)
		}
	}
	full := time.Since(start)
	cancel()
	dups := 0
	for _, n := range mail.Counts() {
		dups += max(0, n-1)
	}
	_, _ = fmt.Fprintf(os.Stdout, "bench: dispatch.setup_%s_recipients_s %.2f s\n", name, setupDur.Seconds())
	_, _ = fmt.Fprintf(os.Stdout, "bench: dispatch.bare_smtp_%s_s %.2f s\n", name, bare.Seconds())
	_, _ = fmt.Fprintf(os.Stdout, "bench: dispatch.%s_s %.2f s\n", name, full.Seconds())
	_, _ = fmt.Fprintf(os.Stdout, "bench: dispatch.smtp_ratio %.2f x\n", full.Seconds()/bare.Seconds())
	_, _ = fmt.Fprintf(os.Stdout, "bench: dispatch.duplicates %d messages\n", dups)
}

// benchName is how figures name a campaign size: 100k, 1m, or the number.
func benchName(n int) string {
	switch {
	case n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "m"
	case n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

func sampleBody(tb testing.TB) string {
	tb.Helper()
	ts, err := domain.LoadTemplates()
	if err != nil {
		tb.Fatal(err)
	}
	t, _ := ts.Resolve("", domain.AudienceIndividuals, "US-CA")
	_, body, err := t.Render(domain.RenderData{Recipient: domain.RecipientData{Name: "Person"}, Content: content})
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

var content = map[string]string{
	"what_happened":        "On March 1 an attacker accessed a file server.",
	"information_involved": "Names and Social Security numbers.",
	"what_we_are_doing":    "We closed the access and engaged investigators.",
}

// approvedCampaign drafts an individuals campaign with n recipients and
// the quorum's approvals, and returns its id and version.
func approvedCampaign(tb testing.TB, svc *domain.Service, n int) (string, int64) {
	tb.Helper()
	ctx := tb.Context()
	res, err := svc.CreateDrafts(ctx, domain.DraftRequest{IncidentID: "inc_bench", AssessmentID: "asm_bench", Obligations: []domain.Obligation{{
		ID: "us-ca.individuals", Jurisdiction: "US-CA", Audience: domain.AudienceIndividuals,
	}}})
	if err != nil {
		tb.Fatal(err)
	}
	id := res.Campaigns[0].ID
	if _, err := svc.UpdateCampaign(ctx, domain.Edit{CampaignID: id, Mask: []string{"content"}, Content: content, Actor: "drafter"}); err != nil {
		tb.Fatal(err)
	}
	for start := 0; start < n; start += domain.MaxRecipients {
		rs := make([]domain.Recipient, 0, domain.MaxRecipients)
		for i := start; i < min(n, start+domain.MaxRecipients); i++ {
			rs = append(rs, domain.Recipient{Name: fmt.Sprintf("Person %d", i), Address: fmt.Sprintf("p%d@example.org", i)})
		}
		if _, _, err := svc.AddRecipients(ctx, id, fmt.Sprintf("r%d", start), "drafter", rs); err != nil {
			tb.Fatal(err)
		}
	}
	c, err := svc.GetCampaign(ctx, id)
	if err != nil {
		tb.Fatal(err)
	}
	for _, a := range [][2]string{{"lee", "legal"}, {"austin", "executive_director"}, {"olga", "officer"}} {
		if c, err = svc.Approve(ctx, id, c.Version, c.ContentHash, a[1], domain.Approver{Subject: a[0], Roles: []string{a[1]}}); err != nil {
			tb.Fatal(err)
		}
	}
	return id, c.Version
}
