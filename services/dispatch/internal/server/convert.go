package server

import (
	"fmt"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/breachline/breachline/pkg/apperr"
	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// The domain enums carry the proto numbers (enums_test.go checks every
// value), so conversions are plain casts; unknown numbers pass through and
// the domain rejects them with a field violation.

// draftRequestFromProto converts req. The violations are the conversions
// that failed (malformed timestamps); the domain validates everything else.
func draftRequestFromProto(req *dispatchv1.CreateDraftCampaignsRequest) (domain.DraftRequest, apperr.Violations) {
	var bad apperr.Violations
	in := domain.DraftRequest{
		IncidentID:   req.GetIncidentId(),
		AssessmentID: req.GetAssessmentId(),
		Obligations:  make([]domain.Obligation, len(req.GetObligations())),
	}
	for i, o := range req.GetObligations() {
		in.Obligations[i] = obligationFromProto(o)
		if d := o.GetDeadline(); d != nil {
			if err := d.CheckValid(); err != nil {
				bad.Add(fmt.Sprintf("obligations[%d].deadline", i), "is not a valid timestamp")
			} else {
				in.Obligations[i].Deadline = d.AsTime()
			}
		}
	}
	return in, bad
}

// obligationFromProto converts everything but the deadline, which needs
// validating first.
func obligationFromProto(o *classificationv1.Obligation) domain.Obligation {
	return domain.Obligation{
		ID:              o.GetObligationId(),
		RulePack:        o.GetRulePack(),
		RulePackVersion: o.GetRulePackVersion(),
		RuleID:          o.GetRuleId(),
		Jurisdiction:    o.GetJurisdiction(),
		Audience:        domain.Audience(o.GetAudience()),
		DeadlineText:    o.GetDeadlineText(),
		Reason:          o.GetReason(),
		Citation:        o.GetCitation(),
		AffectedCount:   o.GetAffectedCount(),
		Recipient:       o.GetRecipient(),
	}
}

func obligationToProto(o domain.Obligation) *classificationv1.Obligation {
	out := &classificationv1.Obligation{
		ObligationId:    o.ID,
		RulePack:        o.RulePack,
		RulePackVersion: o.RulePackVersion,
		RuleId:          o.RuleID,
		Jurisdiction:    o.Jurisdiction,
		Audience:        classificationv1.Audience(o.Audience),
		DeadlineText:    o.DeadlineText,
		Reason:          o.Reason,
		Citation:        o.Citation,
		AffectedCount:   o.AffectedCount,
		Recipient:       o.Recipient,
	}
	if !o.Deadline.IsZero() {
		out.Deadline = timestamppb.New(o.Deadline)
	}
	return out
}

func campaignToProto(c domain.Campaign) *dispatchv1.Campaign {
	return &dispatchv1.Campaign{
		CampaignId:     c.ID,
		IncidentId:     c.IncidentID,
		AssessmentId:   c.AssessmentID,
		Obligation:     obligationToProto(c.Obligation),
		State:          dispatchv1.CampaignState(c.State),
		Channel:        dispatchv1.Channel(c.Channel),
		CreateTime:     timestamppb.New(c.CreateTime),
		TemplateId:     c.TemplateID,
		Content:        c.Content,
		Version:        c.Version,
		ContentHash:    c.ContentHash,
		DraftedBy:      c.DraftedBy,
		RecipientCount: c.RecipientCount,
		SentVersion:    c.SentVersion,
		Approvals:      approvalsToProto(c.Approvals),
	}
}

func approvalsToProto(as []domain.Approval) []*dispatchv1.Approval {
	out := make([]*dispatchv1.Approval, len(as))
	for i, a := range as {
		out[i] = &dispatchv1.Approval{Approver: a.Approver, Role: a.Role, Version: a.Version, ContentHash: a.ContentHash, ApproveTime: timestamppb.New(a.Time)}
	}
	return out
}
