package main_test

import (
	"fmt"
	"testing"

	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

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
