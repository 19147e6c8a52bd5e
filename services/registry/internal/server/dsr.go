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
	return &registryv1.DataSubjectRequest{
		DsrId:      d.ID,
		CustomerId: d.CustomerID,
		Type:       dsrTypes.proto(d.Type),
		Subject: &registryv1.DataSubject{
			Name:       d.Subject.Name,
			Email:      d.Subject.Email,
			AccountRef: d.Subject.AccountRef,
		},
		Details:     d.Details,
		ReceiveTime: timestamp(d.ReceiveTime),
		DueTime:     timestamp(d.DueTime),
		Status:      dsrStatuses.proto(d.Status),
		CreateTime:  timestamp(d.CreateTime),
	}
}
