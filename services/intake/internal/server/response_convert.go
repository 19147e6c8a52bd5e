package server

import (
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/breachline/breachline/pkg/gen/breachline/common/v1"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/services/intake/internal/domain"
)

func optTimestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func tsTime(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime().UTC()
}

func memberPutFromProto(r *intakev1.PutTeamMemberRequest) domain.MemberPut {
	m := r.GetMember()
	out := domain.MemberPut{Etag: m.GetEtag(), Member: domain.TeamMember{
		ID: m.GetMemberId(), Name: m.GetName(), DeputyOf: m.GetDeputyOf(), Email: m.GetEmail(),
		Phone: m.GetPhone(), Subject: m.GetSubject(),
	}}
	for _, role := range m.GetRoles() {
		out.Member.Roles = append(out.Member.Roles, domain.TeamRole(role))
	}
	return out
}

func memberToProto(m domain.TeamMember) *intakev1.TeamMember {
	p := &intakev1.TeamMember{
		MemberId: m.ID, Name: m.Name, DeputyOf: m.DeputyOf, Email: m.Email, Phone: m.Phone, Subject: m.Subject,
		Etag: strconv.FormatInt(m.Version, 10), UpdateTime: optTimestamp(m.UpdateTime),
	}
	for _, role := range m.Roles {
		p.Roles = append(p.Roles, intakev1.TeamRole(role))
	}
	return p
}

func playbookToProto(p domain.Playbook) *intakev1.Playbook {
	out := &intakev1.Playbook{
		PlaybookId: p.ID, Version: p.Version, Title: p.Title, Description: p.Description, Source: p.Source,
		RecordsForm: intakev1.RecordsForm(p.Form),
	}
	for _, t := range p.IncidentTypes {
		out.IncidentTypes = append(out.IncidentTypes, intakev1.IncidentType(t))
	}
	for _, t := range p.Tasks {
		out.Tasks = append(out.Tasks, &intakev1.PlaybookTask{
			Key: t.Key, Title: t.Title, Description: t.Description, OwnerRole: intakev1.TeamRole(t.Owner),
			DueAfter: durationpb.New(t.DueAfter),
		})
	}
	return out
}

func taskToProto(t domain.Task) *intakev1.Task {
	return &intakev1.Task{
		IncidentId: t.IncidentID, TaskKey: t.Key, Title: t.Title, Description: t.Description,
		OwnerRole: intakev1.TeamRole(t.OwnerRole), PlaybookId: t.PlaybookID, PlaybookVersion: t.PlaybookVersion,
		State: intakev1.TaskState(t.State), Assignee: t.Assignee, DueTime: optTimestamp(t.DueTime),
		EscalateTime: optTimestamp(t.EscalateTime), BlockReason: t.BlockReason, Evidence: t.Evidence,
		CompletedBy: t.CompletedBy, CompleteTime: optTimestamp(t.CompleteTime), CreateTime: optTimestamp(t.CreateTime),
		UpdateTime: optTimestamp(t.UpdateTime), Etag: strconv.FormatInt(t.Version, 10),
	}
}

// taskRequest is what every task-change request has.
type taskRequest interface {
	GetIncidentId() string
	GetTaskKey() string
	GetEtag() string
	GetRequestId() string
}

func taskChangeFromProto(r taskRequest) domain.TaskChange {
	c := domain.TaskChange{IncidentID: r.GetIncidentId(), Key: r.GetTaskKey(), Etag: r.GetEtag(), RequestID: r.GetRequestId()}
	switch x := r.(type) {
	case *intakev1.AssignTaskRequest:
		c.Action, c.Assignee = domain.TaskAssign, x.GetAssignee()
	case *intakev1.StartTaskRequest:
		c.Action = domain.TaskStart
	case *intakev1.CompleteTaskRequest:
		c.Action, c.Evidence = domain.TaskComplete, x.GetEvidence()
	case *intakev1.BlockTaskRequest:
		c.Action, c.Reason = domain.TaskBlock, x.GetReason()
	case *intakev1.ReopenTaskRequest:
		c.Action, c.Reason = domain.TaskReopen, x.GetReason()
	}
	return c
}

func elementsFromProto(es []commonv1.DataElement) []domain.DataElement {
	out := make([]domain.DataElement, 0, len(es))
	for _, e := range es {
		out = append(out, domain.DataElement(e))
	}
	return out
}

func elementsToProto(es []domain.DataElement) []commonv1.DataElement {
	out := make([]commonv1.DataElement, 0, len(es))
	for _, e := range es {
		out = append(out, commonv1.DataElement(e))
	}
	return out
}

func analysisSaveFromProto(r *intakev1.SaveAnalysisRequest) domain.AnalysisSave {
	a := r.GetAnalysis()
	s := domain.AnalysisSave{
		IncidentID: a.GetIncidentId(), Kind: domain.AnalysisKind(a.GetAnalysisId()), Etag: a.GetEtag(), RequestID: r.GetRequestId(),
	}
	if t := a.GetTechnical(); t != nil {
		s.Content.Technical = &domain.TechnicalAnalysis{
			NatureAndExtent: t.GetNatureAndExtent(), DataElements: elementsFromProto(t.GetDataElements()),
			Likelihood: domain.Likelihood(t.GetIdentityTheftLikelihood()), LikelihoodRationale: t.GetLikelihoodRationale(),
			Parties: t.GetParties(), Mitigation: t.GetMitigation(),
		}
	}
	if p := a.GetPhysical(); p != nil {
		s.Content.Physical = &domain.PhysicalAnalysis{
			NatureAndExtent: p.GetNatureAndExtent(), Department: p.GetDepartment(), Access: p.GetAccess(),
			Protection: p.GetProtection(), Investigation: p.GetInvestigation(), DisclosedTo: p.GetDisclosedTo(),
			DataElements: elementsFromProto(p.GetDataElements()),
		}
	}
	if l := a.GetLegal(); l != nil {
		s.Content.Legal = &domain.LegalAnalysis{
			Laws: l.GetLaws(), AuthoritiesMustBeNotified: l.GetAuthoritiesMustBeNotified(), Authorities: l.GetAuthorities(),
			LawEnforcementDelayRequested: l.GetLawEnforcementDelayRequested(),
			LawEnforcementDelayDetails:   l.GetLawEnforcementDelayDetails(), Summary: l.GetSummary(),
		}
	}
	return s
}

func analysisToProto(a domain.Analysis) *intakev1.Analysis {
	p := &intakev1.Analysis{
		IncidentId: a.IncidentID, AnalysisId: string(a.Kind), OwnerRole: intakev1.TeamRole(a.Kind.Owner()),
		Version: a.Version, ContentHash: a.ContentHash, Author: a.Author, CreateTime: optTimestamp(a.CreateTime),
		Etag: a.Etag(),
	}
	switch c := a.Content; {
	case c.Technical != nil:
		t := c.Technical
		p.Content = &intakev1.Analysis_Technical{Technical: &intakev1.TechnicalAnalysis{
			NatureAndExtent: t.NatureAndExtent, DataElements: elementsToProto(t.DataElements),
			IdentityTheftLikelihood: intakev1.IdentityTheftLikelihood(t.Likelihood), LikelihoodRationale: t.LikelihoodRationale,
			Parties: t.Parties, Mitigation: t.Mitigation,
		}}
	case c.Physical != nil:
		ph := c.Physical
		p.Content = &intakev1.Analysis_Physical{Physical: &intakev1.PhysicalAnalysis{
			NatureAndExtent: ph.NatureAndExtent, Department: ph.Department, Access: ph.Access, Protection: ph.Protection,
			Investigation: ph.Investigation, DisclosedTo: ph.DisclosedTo, DataElements: elementsToProto(ph.DataElements),
		}}
	case c.Legal != nil:
		l := c.Legal
		p.Content = &intakev1.Analysis_Legal{Legal: &intakev1.LegalAnalysis{
			Laws: l.Laws, AuthoritiesMustBeNotified: l.AuthoritiesMustBeNotified, Authorities: l.Authorities,
			LawEnforcementDelayRequested: l.LawEnforcementDelayRequested, LawEnforcementDelayDetails: l.LawEnforcementDelayDetails,
			Summary: l.Summary,
		}}
	}
	if s := a.SignOff; s != nil {
		p.SignOff = &intakev1.SignOff{
			Version: s.Version, ContentHash: s.ContentHash, Signer: s.Signer, MemberId: s.MemberID,
			Role: intakev1.TeamRole(s.Role), SignTime: optTimestamp(s.Time),
		}
	}
	return p
}

func decisionToProto(d domain.Decision) *intakev1.NotificationDecision {
	p := &intakev1.NotificationDecision{
		IncidentId: d.IncidentID, Notify: d.Notify, Rationale: d.Rationale, DecidedBy: d.DecidedBy, DecideTime: optTimestamp(d.Time),
	}
	for _, a := range d.Analyses {
		p.Analyses = append(p.Analyses, &intakev1.AnalysisRef{AnalysisId: string(a.Kind), Version: a.Version, ContentHash: a.ContentHash, Signer: a.Signer})
	}
	return p
}

func statsToProto(s domain.DurationStats) *intakev1.DurationStats {
	p := &intakev1.DurationStats{Count: s.Count}
	if s.Count > 0 {
		p.Mean, p.Median, p.P90, p.Max = durationpb.New(s.Mean), durationpb.New(s.Median), durationpb.New(s.P90), durationpb.New(s.Max)
	}
	return p
}

func metricsToProto(m domain.ResponseMetrics) *intakev1.GetResponseMetricsResponse {
	p := &intakev1.GetResponseMetricsResponse{
		StartTime: optTimestamp(m.Start), EndTime: optTimestamp(m.End), Incidents: m.Incidents,
		TimeToContain: statsToProto(m.Contain), TimeToDecide: statsToProto(m.Decide),
		TaskDeadlinesMet: m.TasksMet, TaskDeadlinesMissed: m.TasksMissed, TasksOpen: m.TasksOpenNotDue,
	}
	for _, a := range m.Notify {
		p.TimeToNotify = append(p.TimeToNotify, &intakev1.AudienceNotifyStats{Audience: a.Audience, TimeToNotify: statsToProto(a.Notify)})
	}
	return p
}
