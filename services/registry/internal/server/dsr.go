package server

import (
	"context"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// DataSubjectRequestServer implements registryv1.DataSubjectRequestService.
type DataSubjectRequestServer struct {
	registryv1.UnimplementedDataSubjectRequestServiceServer
	svc *domain.Service
}

// SubmitDataSubjectRequest implements registryv1.DataSubjectRequestServiceServer.
func (s *DataSubjectRequestServer) SubmitDataSubjectRequest(ctx context.Context, req *registryv1.SubmitDataSubjectRequestRequest) (*registryv1.SubmitDataSubjectRequestResponse, error) {
	d, err := s.svc.SubmitDataSubjectRequest(ctx, submitParamsFromProto(req))
	if err != nil {
		return nil, err
	}
	return &registryv1.SubmitDataSubjectRequestResponse{DataSubjectRequest: dsrToProto(d)}, nil
}

// GetDataSubjectRequest implements registryv1.DataSubjectRequestServiceServer.
func (s *DataSubjectRequestServer) GetDataSubjectRequest(ctx context.Context, req *registryv1.GetDataSubjectRequestRequest) (*registryv1.GetDataSubjectRequestResponse, error) {
	d, err := s.svc.GetDataSubjectRequest(ctx, req.GetDsrId())
	if err != nil {
		return nil, err
	}
	return &registryv1.GetDataSubjectRequestResponse{DataSubjectRequest: dsrToProto(d)}, nil
}

// submitParamsFromProto converts a SubmitDataSubjectRequestRequest.
func submitParamsFromProto(req *registryv1.SubmitDataSubjectRequestRequest) domain.SubmitDataSubjectRequestParams {
	return domain.SubmitDataSubjectRequestParams{
		RequestID:  req.GetRequestId(),
		CustomerID: req.GetCustomerId(),
		Type:       dsrTypes.domain(req.GetType()),
		Subject: domain.DataSubject{
			Name:       req.GetSubject().GetName(),
			Email:      req.GetSubject().GetEmail(),
			AccountRef: req.GetSubject().GetAccountRef(),
		},
		Details:     req.GetDetails(),
		ReceiveTime: timeOf(req.GetReceiveTime()),
	}
}

func dsrToProto(d domain.DataSubjectRequest) *registryv1.DataSubjectRequest {
	out := &registryv1.DataSubjectRequest{
		DsrId:      d.ID,
		CustomerId: d.CustomerID,
		Type:       dsrTypes.proto(d.Type),
		Subject: &registryv1.DataSubject{
			Name:       d.Subject.Name,
			Email:      d.Subject.Email,
			AccountRef: d.Subject.AccountRef,
		},
		Details:           d.Details,
		ReceiveTime:       timestamp(d.ReceiveTime),
		DueTime:           timestamp(d.DueTime),
		Status:            dsrStatuses.proto(d.Status),
		CreateTime:        timestamp(d.CreateTime),
		NotificationEmail: d.NotificationEmail,
		ForwardPending:    d.ForwardPending,
		ForwardTime:       timestamp(d.ForwardTime),
		ForwardNoticeId:   d.ForwardNoticeID,
		OriginalDueTime:   timestamp(d.OriginalDueTime),
		UpdateTime:        timestamp(d.UpdateTime),
		ReminderTime:      timestamp(d.ReminderTime),
		ReminderNoticeId:  d.ReminderNoticeID,
	}
	for _, e := range d.Extensions {
		out.Extensions = append(out.Extensions, &registryv1.DueDateExtension{
			Months: e.Months, Reason: e.Reason, PreviousDueTime: timestamp(e.PreviousDue), NewDueTime: timestamp(e.NewDue),
			RecordTime: timestamp(e.RecordTime), Actor: e.Actor, RequestId: e.RequestID,
		})
	}
	for _, c := range d.StatusHistory {
		out.StatusHistory = append(out.StatusHistory, &registryv1.DataSubjectRequestStatusChange{
			From: dsrStatuses.proto(c.From), To: dsrStatuses.proto(c.To), Reason: c.Reason, Time: timestamp(c.Time),
			Actor: c.Actor, RequestId: c.RequestID,
		})
	}
	for _, a := range d.Assistance {
		out.Assistance = append(out.Assistance, &registryv1.AssistanceRecord{
			Description: a.Description, RecordTime: timestamp(a.RecordTime), Actor: a.Actor, RequestId: a.RequestID,
		})
	}
	for _, t := range d.Tasks {
		out.AssistanceTasks = append(out.AssistanceTasks, taskToProto(t))
	}
	return out
}

func taskToProto(t domain.AssistanceTask) *registryv1.AssistanceTask {
	return &registryv1.AssistanceTask{
		TaskId: t.ID, Kind: taskKinds.proto(t.Kind), Description: t.Description, System: t.System,
		CreateTime: timestamp(t.CreateTime), CompleteTime: timestamp(t.CompleteTime), Evidence: t.Evidence,
		ArtefactSha256: t.ArtefactSHA256, CreatedBy: t.CreatedBy, CompletedBy: t.CompletedBy,
	}
}

var taskKinds = newEnumMap(map[registryv1.AssistanceTaskKind]domain.TaskKind{
	registryv1.AssistanceTaskKind_ASSISTANCE_TASK_KIND_EXPORT:   domain.TaskExport,
	registryv1.AssistanceTaskKind_ASSISTANCE_TASK_KIND_ERASE:    domain.TaskErase,
	registryv1.AssistanceTaskKind_ASSISTANCE_TASK_KIND_RECTIFY:  domain.TaskRectify,
	registryv1.AssistanceTaskKind_ASSISTANCE_TASK_KIND_RESTRICT: domain.TaskRestrict,
	registryv1.AssistanceTaskKind_ASSISTANCE_TASK_KIND_OTHER:    domain.TaskOther,
})

// ListDataSubjectRequests implements registryv1.DataSubjectRequestServiceServer.
func (s *DataSubjectRequestServer) ListDataSubjectRequests(ctx context.Context, req *registryv1.ListDataSubjectRequestsRequest) (*registryv1.ListDataSubjectRequestsResponse, error) {
	list, next, err := s.svc.ListDataSubjectRequests(ctx, listDSRFromProto(req))
	if err != nil {
		return nil, err
	}
	resp := &registryv1.ListDataSubjectRequestsResponse{NextPageToken: next}
	for _, d := range list {
		resp.DataSubjectRequests = append(resp.DataSubjectRequests, dsrToProto(d))
	}
	return resp, nil
}

func listDSRFromProto(req *registryv1.ListDataSubjectRequestsRequest) domain.ListDSRParams {
	return domain.ListDSRParams{
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), CustomerID: req.GetCustomerId(),
		Status: dsrStatuses.domain(req.GetStatus()), DueBefore: timeOf(req.GetDueBefore()),
		DueWithinDays: req.GetDueWithinDays(), OverdueOnly: req.GetOverdueOnly(),
	}
}

// ExtendDataSubjectRequest implements registryv1.DataSubjectRequestServiceServer.
func (s *DataSubjectRequestServer) ExtendDataSubjectRequest(ctx context.Context, req *registryv1.ExtendDataSubjectRequestRequest) (*registryv1.ExtendDataSubjectRequestResponse, error) {
	d, err := s.svc.ExtendDataSubjectRequest(ctx, extendFromProto(req))
	if err != nil {
		return nil, err
	}
	return &registryv1.ExtendDataSubjectRequestResponse{DataSubjectRequest: dsrToProto(d)}, nil
}

func extendFromProto(req *registryv1.ExtendDataSubjectRequestRequest) domain.ExtendDSRParams {
	return domain.ExtendDSRParams{ID: req.GetDsrId(), Months: req.GetMonths(), Reason: req.GetReason(), RequestID: req.GetRequestId()}
}

// TransitionDataSubjectRequest implements registryv1.DataSubjectRequestServiceServer.
func (s *DataSubjectRequestServer) TransitionDataSubjectRequest(ctx context.Context, req *registryv1.TransitionDataSubjectRequestRequest) (*registryv1.TransitionDataSubjectRequestResponse, error) {
	d, err := s.svc.TransitionDataSubjectRequest(ctx, transitionFromProto(req))
	if err != nil {
		return nil, err
	}
	return &registryv1.TransitionDataSubjectRequestResponse{DataSubjectRequest: dsrToProto(d)}, nil
}

func transitionFromProto(req *registryv1.TransitionDataSubjectRequestRequest) domain.TransitionDSRParams {
	return domain.TransitionDSRParams{ID: req.GetDsrId(), Status: dsrStatuses.domain(req.GetStatus()), Reason: req.GetReason(), RequestID: req.GetRequestId()}
}

// RecordDataSubjectRequestAssistance implements registryv1.DataSubjectRequestServiceServer.
func (s *DataSubjectRequestServer) RecordDataSubjectRequestAssistance(ctx context.Context, req *registryv1.RecordDataSubjectRequestAssistanceRequest) (*registryv1.RecordDataSubjectRequestAssistanceResponse, error) {
	d, err := s.svc.RecordDataSubjectRequestAssistance(ctx, assistanceFromProto(req))
	if err != nil {
		return nil, err
	}
	return &registryv1.RecordDataSubjectRequestAssistanceResponse{DataSubjectRequest: dsrToProto(d)}, nil
}

func assistanceFromProto(req *registryv1.RecordDataSubjectRequestAssistanceRequest) domain.RecordAssistanceParams {
	return domain.RecordAssistanceParams{ID: req.GetDsrId(), Description: req.GetDescription(), RequestID: req.GetRequestId()}
}

// AddAssistanceTask implements registryv1.DataSubjectRequestServiceServer.
func (s *DataSubjectRequestServer) AddAssistanceTask(ctx context.Context, req *registryv1.AddAssistanceTaskRequest) (*registryv1.AddAssistanceTaskResponse, error) {
	d, t, err := s.svc.AddAssistanceTask(ctx, addTaskFromProto(req))
	if err != nil {
		return nil, err
	}
	return &registryv1.AddAssistanceTaskResponse{DataSubjectRequest: dsrToProto(d), Task: taskToProto(t)}, nil
}

func addTaskFromProto(req *registryv1.AddAssistanceTaskRequest) domain.AddTaskParams {
	return domain.AddTaskParams{
		ID: req.GetDsrId(), Kind: taskKinds.domain(req.GetKind()), Description: req.GetDescription(),
		System: req.GetSystem(), RequestID: req.GetRequestId(),
	}
}

// CompleteAssistanceTask implements registryv1.DataSubjectRequestServiceServer.
func (s *DataSubjectRequestServer) CompleteAssistanceTask(ctx context.Context, req *registryv1.CompleteAssistanceTaskRequest) (*registryv1.CompleteAssistanceTaskResponse, error) {
	d, t, err := s.svc.CompleteAssistanceTask(ctx, completeTaskFromProto(req))
	if err != nil {
		return nil, err
	}
	return &registryv1.CompleteAssistanceTaskResponse{DataSubjectRequest: dsrToProto(d), Task: taskToProto(t)}, nil
}

func completeTaskFromProto(req *registryv1.CompleteAssistanceTaskRequest) domain.CompleteTaskParams {
	return domain.CompleteTaskParams{
		ID: req.GetDsrId(), TaskID: req.GetTaskId(), Evidence: req.GetEvidence(),
		ArtefactSHA256: req.GetArtefactSha256(), RequestID: req.GetRequestId(),
	}
}

// validateDSRRequest runs the domain's pure checks of the data subject
// request, data return and audit RPCs (see Validator); ok is false for
// other requests.
func (v *Validator) validateDSRRequest(req any) (bool, error) {
	switch r := req.(type) {
	case *registryv1.SubmitDataSubjectRequestRequest:
		return true, v.svc.ValidateSubmitDataSubjectRequest(submitParamsFromProto(r))
	case *registryv1.ListDataSubjectRequestsRequest:
		return true, v.svc.ValidateListDataSubjectRequests(listDSRFromProto(r))
	case *registryv1.ExtendDataSubjectRequestRequest:
		return true, v.svc.ValidateExtendDataSubjectRequest(extendFromProto(r))
	case *registryv1.TransitionDataSubjectRequestRequest:
		return true, v.svc.ValidateTransitionDataSubjectRequest(transitionFromProto(r))
	case *registryv1.RecordDataSubjectRequestAssistanceRequest:
		return true, v.svc.ValidateRecordAssistance(assistanceFromProto(r))
	case *registryv1.AddAssistanceTaskRequest:
		return true, v.svc.ValidateAddAssistanceTask(addTaskFromProto(r))
	case *registryv1.CompleteAssistanceTaskRequest:
		return true, v.svc.ValidateCompleteAssistanceTask(completeTaskFromProto(r))
	case *registryv1.OpenDataReturnRequestRequest:
		return true, v.svc.ValidateOpenDataReturnRequest(openReturnFromProto(r))
	case *registryv1.RecordDataDispositionRequest:
		return true, v.svc.ValidateRecordDataDisposition(dispositionFromProto(r))
	case *registryv1.RecordDataRetentionRequest:
		return true, v.svc.ValidateRecordDataRetention(retentionFromProto(r))
	case *registryv1.VerifyDeletionCertificateRequest:
		return true, v.svc.ValidateVerifyDeletionCertificate(r.GetDocument(), r.GetSignature())
	case *registryv1.ExportCustomerAuditRequest:
		return true, v.svc.ValidateExportCustomerAudit(auditFromProto(r))
	}
	return false, nil
}
