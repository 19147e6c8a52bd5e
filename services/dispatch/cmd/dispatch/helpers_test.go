package main_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
	"github.com/breachline/breachline/services/dispatch/internal/smtptest"
	"github.com/breachline/breachline/services/dispatch/internal/store"
)

// killRig is what the process-level tests share: the dispatch binary, a
// real SMTP server, and a fresh database (uri, db) on the embedded store
// with the service over it, for setting up campaigns in-process.
type killRig struct {
	bin     string
	mail    *smtptest.Server
	uri, db string
	svc     *domain.Service
}

// newKillRig builds the dispatch binary and prepares the rig.
func newKillRig(t *testing.T) killRig {
	t.Helper()
	r := killRig{bin: filepath.Join(t.TempDir(), "dispatch")}
	build := exec.CommandContext(t.Context(), "go", "build", "-o", r.bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	r.mail = smtptest.Start(t)
	r.uri, r.db = mongotest.URI(t), mongotest.DBName(t)
	client, err := mongo.Connect(options.Client().ApplyURI(r.uri))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.Database(r.db).Drop(context.Background())
		_ = client.Disconnect(context.Background())
	})
	db := client.Database(r.db)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatal(err)
	}
	r.svc = domain.NewService(store.New(db), time.Now)
	return r
}

// approvedCampaign drafts an individuals campaign with n recipients and the
// quorum's approvals, and returns its id and version.
func approvedCampaign(tb testing.TB, svc *domain.Service, n int) (string, int64) {
	tb.Helper()
	ctx := tb.Context()
	res, err := svc.CreateDrafts(ctx, domain.DraftRequest{IncidentID: "inc_kill", AssessmentID: "asm_kill", Obligations: []domain.Obligation{{
		ID: "us-ca.individuals", Jurisdiction: "US-CA", Audience: domain.AudienceIndividuals,
	}}})
	if err != nil {
		tb.Fatal(err)
	}
	id := res.Campaigns[0].ID
	content := map[string]string{"what_happened": "x", "information_involved": "y", "what_we_are_doing": "z"}
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
