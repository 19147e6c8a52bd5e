package server

import (
	"context"

	"github.com/breachline/breachline/pkg/auth"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/services/intake/internal/domain"
)

// ResponseHandler serves ResponseService.
type ResponseHandler struct {
	intakev1.UnimplementedResponseServiceServer
	resp *domain.Response
}

var (
	_ intakev1.ResponseServiceServer = (*ResponseHandler)(nil)
	_ grpcx.RequestValidator         = (*ResponseHandler)(nil)
)

// NewResponse returns the handler over the response use cases.
func NewResponse(resp *domain.Response) *ResponseHandler {
	return &ResponseHandler{resp: resp}
}

// PutTeamMember implements ResponseService.PutTeamMember.
func (h *ResponseHandler) PutTeamMember(ctx context.Context, req *intakev1.PutTeamMemberRequest) (*intakev1.PutTeamMemberResponse, error) {
	m, err := h.resp.PutMember(ctx, memberPutFromProto(req))
	if err != nil {
		return nil, err
	}
	return &intakev1.PutTeamMemberResponse{Member: memberToProto(m)}, nil
}

// ListTeamMembers implements ResponseService.ListTeamMembers.
func (h *ResponseHandler) ListTeamMembers(ctx context.Context, req *intakev1.ListTeamMembersRequest) (*intakev1.ListTeamMembersResponse, error) {
	page, err := h.resp.ListMembers(ctx, domain.TeamRole(req.GetRole()), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &intakev1.ListTeamMembersResponse{NextPageToken: page.NextPageToken, Members: make([]*intakev1.TeamMember, 0, len(page.Members))}
	for _, m := range page.Members {
		resp.Members = append(resp.Members, memberToProto(m))
	}
	return resp, nil
}

// ListPlaybooks implements ResponseService.ListPlaybooks.
func (h *ResponseHandler) ListPlaybooks(context.Context, *intakev1.ListPlaybooksRequest) (*intakev1.ListPlaybooksResponse, error) {
	resp := &intakev1.ListPlaybooksResponse{}
	for _, p := range h.resp.Playbooks().Current() {
		resp.Playbooks = append(resp.Playbooks, playbookToProto(p))
	}
	return resp, nil
}

// GetPlaybook implements ResponseService.GetPlaybook.
func (h *ResponseHandler) GetPlaybook(_ context.Context, req *intakev1.GetPlaybookRequest) (*intakev1.GetPlaybookResponse, error) {
	p, err := h.resp.Playbooks().Get(req.GetPlaybookId(), req.GetVersion())
	if err != nil {
		return nil, err
	}
	return &intakev1.GetPlaybookResponse{Playbook: playbookToProto(p)}, nil
}

// ListTasks implements ResponseService.ListTasks.
func (h *ResponseHandler) ListTasks(ctx context.Context, req *intakev1.ListTasksRequest) (*intakev1.ListTasksResponse, error) {
	tasks, err := h.resp.ListTasks(ctx, req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	resp := &intakev1.ListTasksResponse{Tasks: make([]*intakev1.Task, 0, len(tasks))}
	for _, t := range tasks {
		resp.Tasks = append(resp.Tasks, taskToProto(t))
	}
	return resp, nil
}

// GetTask implements ResponseService.GetTask.
func (h *ResponseHandler) GetTask(ctx context.Context, req *intakev1.GetTaskRequest) (*intakev1.GetTaskResponse, error) {
	t, err := h.resp.GetTask(ctx, req.GetIncidentId(), req.GetTaskKey())
	if err != nil {
		return nil, err
	}
	return &intakev1.GetTaskResponse{Task: taskToProto(t)}, nil
}

func (h *ResponseHandler) change(ctx context.Context, c domain.TaskChange) (*intakev1.Task, error) {
	t, err := h.resp.ChangeTask(ctx, caller(ctx, domain.ActorKindPerson), c)
	if err != nil {
		return nil, err
	}
	return taskToProto(t), nil
}

// AssignTask implements ResponseService.AssignTask.
func (h *ResponseHandler) AssignTask(ctx context.Context, req *intakev1.AssignTaskRequest) (*intakev1.AssignTaskResponse, error) {
	t, err := h.change(ctx, taskChangeFromProto(req))
	if err != nil {
		return nil, err
	}
	return &intakev1.AssignTaskResponse{Task: t}, nil
}

// StartTask implements ResponseService.StartTask.
func (h *ResponseHandler) StartTask(ctx context.Context, req *intakev1.StartTaskRequest) (*intakev1.StartTaskResponse, error) {
	t, err := h.change(ctx, taskChangeFromProto(req))
	if err != nil {
		return nil, err
	}
	return &intakev1.StartTaskResponse{Task: t}, nil
}

// CompleteTask implements ResponseService.CompleteTask.
func (h *ResponseHandler) CompleteTask(ctx context.Context, req *intakev1.CompleteTaskRequest) (*intakev1.CompleteTaskResponse, error) {
	t, err := h.change(ctx, taskChangeFromProto(req))
	if err != nil {
		return nil, err
	}
	return &intakev1.CompleteTaskResponse{Task: t}, nil
}

// BlockTask implements ResponseService.BlockTask.
func (h *ResponseHandler) BlockTask(ctx context.Context, req *intakev1.BlockTaskRequest) (*intakev1.BlockTaskResponse, error) {
	t, err := h.change(ctx, taskChangeFromProto(req))
	if err != nil {
		return nil, err
	}
	return &intakev1.BlockTaskResponse{Task: t}, nil
}

// ReopenTask implements ResponseService.ReopenTask.
func (h *ResponseHandler) ReopenTask(ctx context.Context, req *intakev1.ReopenTaskRequest) (*intakev1.ReopenTaskResponse, error) {
	t, err := h.change(ctx, taskChangeFromProto(req))
	if err != nil {
		return nil, err
	}
	return &intakev1.ReopenTaskResponse{Task: t}, nil
}

// SaveAnalysis implements ResponseService.SaveAnalysis.
func (h *ResponseHandler) SaveAnalysis(ctx context.Context, req *intakev1.SaveAnalysisRequest) (*intakev1.SaveAnalysisResponse, error) {
	a, err := h.resp.SaveAnalysis(ctx, caller(ctx, domain.ActorKindPerson), analysisSaveFromProto(req))
	if err != nil {
		return nil, err
	}
	return &intakev1.SaveAnalysisResponse{Analysis: analysisToProto(a)}, nil
}

// GetAnalysis implements ResponseService.GetAnalysis.
func (h *ResponseHandler) GetAnalysis(ctx context.Context, req *intakev1.GetAnalysisRequest) (*intakev1.GetAnalysisResponse, error) {
	a, err := h.resp.GetAnalysis(ctx, req.GetIncidentId(), domain.AnalysisKind(req.GetAnalysisId()), req.GetVersion())
	if err != nil {
		return nil, err
	}
	return &intakev1.GetAnalysisResponse{Analysis: analysisToProto(a)}, nil
}

// ListAnalyses implements ResponseService.ListAnalyses.
func (h *ResponseHandler) ListAnalyses(ctx context.Context, req *intakev1.ListAnalysesRequest) (*intakev1.ListAnalysesResponse, error) {
	as, required, err := h.resp.ListAnalyses(ctx, req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	resp := &intakev1.ListAnalysesResponse{Analyses: make([]*intakev1.Analysis, 0, len(as))}
	for _, a := range as {
		resp.Analyses = append(resp.Analyses, analysisToProto(a))
	}
	for _, k := range required {
		resp.RequiredAnalyses = append(resp.RequiredAnalyses, string(k))
	}
	return resp, nil
}

// SignOffAnalysis implements ResponseService.SignOffAnalysis. The signer is
// the authenticated person (or the person a service acts for).
func (h *ResponseHandler) SignOffAnalysis(ctx context.Context, req *intakev1.SignOffAnalysisRequest) (*intakev1.SignOffAnalysisResponse, error) {
	signer := ""
	if id, ok := auth.FromContext(ctx); ok {
		signer = id.Subject
		if id.OnBehalfOf != "" {
			signer = id.OnBehalfOf
		}
	}
	a, err := h.resp.SignOffAnalysis(ctx, caller(ctx, domain.ActorKindPerson), domain.SignOffRequest{
		IncidentID: req.GetIncidentId(), Kind: domain.AnalysisKind(req.GetAnalysisId()),
		Version: req.GetVersion(), ContentHash: req.GetContentHash(), Signer: signer,
	})
	if err != nil {
		return nil, err
	}
	return &intakev1.SignOffAnalysisResponse{Analysis: analysisToProto(a)}, nil
}

// FinalizeNotificationDecision implements ResponseService.FinalizeNotificationDecision.
func (h *ResponseHandler) FinalizeNotificationDecision(ctx context.Context, req *intakev1.FinalizeNotificationDecisionRequest) (*intakev1.FinalizeNotificationDecisionResponse, error) {
	d, err := h.resp.FinalizeDecision(ctx, caller(ctx, domain.ActorKindPerson), domain.DecisionRequest{
		IncidentID: req.GetIncidentId(), Notify: req.GetNotify(), Rationale: req.GetRationale(),
	})
	if err != nil {
		return nil, err
	}
	return &intakev1.FinalizeNotificationDecisionResponse{Decision: decisionToProto(d)}, nil
}

// GetNotificationDecision implements ResponseService.GetNotificationDecision.
func (h *ResponseHandler) GetNotificationDecision(ctx context.Context, req *intakev1.GetNotificationDecisionRequest) (*intakev1.GetNotificationDecisionResponse, error) {
	d, err := h.resp.GetDecision(ctx, req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	return &intakev1.GetNotificationDecisionResponse{Decision: decisionToProto(d)}, nil
}

// GetResponseMetrics implements ResponseService.GetResponseMetrics.
func (h *ResponseHandler) GetResponseMetrics(ctx context.Context, req *intakev1.GetResponseMetricsRequest) (*intakev1.GetResponseMetricsResponse, error) {
	m, err := h.resp.Metrics(ctx, tsTime(req.GetStartTime()), tsTime(req.GetEndTime()))
	if err != nil {
		return nil, err
	}
	return metricsToProto(m), nil
}

// ValidateRequest implements grpcx.RequestValidator, so a request missing
// REQUIRED fields is told about every other problem in the same answer.
func (h *ResponseHandler) ValidateRequest(_ context.Context, req any) error {
	switch r := req.(type) {
	case *intakev1.PutTeamMemberRequest:
		return domain.ValidateMember(memberPutFromProto(r))
	case *intakev1.AssignTaskRequest:
		return domain.ValidateTaskChange(taskChangeFromProto(r))
	case *intakev1.StartTaskRequest:
		return domain.ValidateTaskChange(taskChangeFromProto(r))
	case *intakev1.CompleteTaskRequest:
		return domain.ValidateTaskChange(taskChangeFromProto(r))
	case *intakev1.BlockTaskRequest:
		return domain.ValidateTaskChange(taskChangeFromProto(r))
	case *intakev1.ReopenTaskRequest:
		return domain.ValidateTaskChange(taskChangeFromProto(r))
	case *intakev1.SaveAnalysisRequest:
		return domain.ValidateAnalysis(analysisSaveFromProto(r))
	}
	return nil
}

// Validators completes the REQUIRED check of the interceptor with the
// validators of every service a server registers: each returns nil for
// requests it does not know. It keeps grpcx.ItemValidator's per-item
// checks of the validators that provide them.
type Validators []grpcx.RequestValidator

var _ grpcx.ItemValidator = Validators(nil)

// ValidateRequest implements grpcx.RequestValidator.
func (vs Validators) ValidateRequest(ctx context.Context, req any) error {
	for _, v := range vs {
		if err := v.ValidateRequest(ctx, req); err != nil {
			return err
		}
	}
	return nil
}

// ValidatesItems implements grpcx.ItemValidator.
func (vs Validators) ValidatesItems(req any) bool {
	for _, v := range vs {
		if iv, ok := v.(grpcx.ItemValidator); ok && iv.ValidatesItems(req) {
			return true
		}
	}
	return false
}
