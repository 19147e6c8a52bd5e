package server_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
)

// TestApproveCampaignRoleFromCredentials checks that the approval role a
// request claims is one the caller's credentials hold, and that the
// approver recorded is the authenticated subject. A refused approval
// changes nothing.
func TestApproveCampaignRoleFromCredentials(t *testing.T) {
	t.Parallel()
	c, _ := newStack(t, 0)
	cmp := draftIndividuals(t, c, 1)
	approve := func(t *testing.T, subject, roles, claim string) (*dispatchv1.Campaign, error) {
		t.Helper()
		r, err := c.ApproveCampaign(asRoles(t.Context(), subject, roles), &dispatchv1.ApproveCampaignRequest{
			CampaignId: cmp.GetCampaignId(), Version: cmp.GetVersion(), ContentHash: cmp.GetContentHash(), Role: claim})
		return r.GetCampaign(), err
	}
	approvals := func(t *testing.T) []*dispatchv1.Approval {
		t.Helper()
		g, err := c.GetCampaign(t.Context(), &dispatchv1.GetCampaignRequest{CampaignId: cmp.GetCampaignId()})
		if err != nil {
			t.Fatalf("GetCampaign: %v", err)
		}
		return g.GetCampaign().GetApprovals()
	}

	// Refusals run first and in order, so "nothing changed" is exact.
	refused := []struct {
		name, subject, roles, claim string
		code                        codes.Code
	}{
		{"officer_claims_legal", "olga", "officer", "legal", codes.PermissionDenied},
		{"legal_claims_executive_director", "lee", "legal", "executive_director", codes.PermissionDenied},
		{"admin_holds_no_approval_role", "root", "admin", "legal", codes.PermissionDenied},
		// communications holds the marketing capacity but may not call ApproveCampaign.
		{"communications_may_not_approve", "mia", "communications", "marketing", codes.PermissionDenied},
		{"unknown_role", "olga", "officer", "ceo", codes.InvalidArgument},
	}
	for _, tt := range refused {
		t.Run("method=ApproveCampaign/case="+tt.name, func(t *testing.T) {
			_, err := approve(t, tt.subject, tt.roles, tt.claim)
			wantCode(t, err, tt.code)
			if tt.code == codes.InvalidArgument && !violations(err)["role"] {
				t.Fatalf("violations %v lack role", violations(err))
			}
			if got := approvals(t); len(got) != 0 {
				t.Fatalf("approvals after a refused approval: %v", got)
			}
		})
	}

	t.Run("method=ApproveCampaign/case=role_held_approver_is_subject", func(t *testing.T) {
		got, err := approve(t, "olga", "legal,officer", "officer")
		if err != nil {
			t.Fatalf("ApproveCampaign: %v", err)
		}
		list := got.GetApprovals()
		if len(list) != 1 || list[0].GetApprover() != "olga" || list[0].GetRole() != "officer" {
			t.Fatalf("approvals = %v, want olga as officer", list)
		}
	})
}
