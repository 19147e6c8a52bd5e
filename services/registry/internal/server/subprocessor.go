package server

import (
	"context"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// SubprocessorServer implements registryv1.SubprocessorService.
type SubprocessorServer struct {
	registryv1.UnimplementedSubprocessorServiceServer
	svc *domain.Service
}

// CreateSubprocessor implements registryv1.SubprocessorServiceServer.
func (s *SubprocessorServer) CreateSubprocessor(ctx context.Context, req *registryv1.CreateSubprocessorRequest) (*registryv1.CreateSubprocessorResponse, error) {
	sp, err := s.svc.CreateSubprocessor(ctx, req.GetRequestId(), subprocessorFromProto(req.GetSubprocessor()))
	if err != nil {
		return nil, err
	}
	return &registryv1.CreateSubprocessorResponse{Subprocessor: subprocessorToProto(sp)}, nil
}

// GetSubprocessor implements registryv1.SubprocessorServiceServer.
func (s *SubprocessorServer) GetSubprocessor(ctx context.Context, req *registryv1.GetSubprocessorRequest) (*registryv1.GetSubprocessorResponse, error) {
	sp, err := s.svc.GetSubprocessor(ctx, req.GetSubprocessorId())
	if err != nil {
		return nil, err
	}
	return &registryv1.GetSubprocessorResponse{Subprocessor: subprocessorToProto(sp)}, nil
}

// ListSubprocessors implements registryv1.SubprocessorServiceServer.
func (s *SubprocessorServer) ListSubprocessors(ctx context.Context, req *registryv1.ListSubprocessorsRequest) (*registryv1.ListSubprocessorsResponse, error) {
	list, next, err := s.svc.ListSubprocessors(ctx, domain.ListSubprocessorsParams{
		PageSize:  req.GetPageSize(),
		PageToken: req.GetPageToken(),
		Product:   req.GetProduct(),
		Status:    subprocessorStatuses.domain(req.GetStatus()),
	})
	if err != nil {
		return nil, err
	}
	resp := &registryv1.ListSubprocessorsResponse{NextPageToken: next}
	for _, sp := range list {
		resp.Subprocessors = append(resp.Subprocessors, subprocessorToProto(sp))
	}
	return resp, nil
}

func subprocessorFromProto(sp *registryv1.Subprocessor) domain.Subprocessor {
	return domain.Subprocessor{
		ID:                sp.GetSubprocessorId(),
		LegalName:         sp.GetLegalName(),
		Country:           sp.GetCountry(),
		Purpose:           sp.GetPurpose(),
		Products:          sp.GetProducts(),
		DataCategories:    sp.GetDataCategories(),
		TransferMechanism: transferMechanisms.domain(sp.GetTransferMechanism()),
		AgreementTime:     timeOf(sp.GetAgreementTime()),
		Status:            subprocessorStatuses.domain(sp.GetStatus()),
	}
}

func subprocessorToProto(sp domain.Subprocessor) *registryv1.Subprocessor {
	return &registryv1.Subprocessor{
		SubprocessorId:    sp.ID,
		LegalName:         sp.LegalName,
		Country:           sp.Country,
		Purpose:           sp.Purpose,
		Products:          sp.Products,
		DataCategories:    sp.DataCategories,
		TransferMechanism: transferMechanisms.proto(sp.TransferMechanism),
		AgreementTime:     timestamp(sp.AgreementTime),
		Status:            subprocessorStatuses.proto(sp.Status),
		CreateTime:        timestamp(sp.CreateTime),
		UpdateTime:        timestamp(sp.UpdateTime),
	}
}
