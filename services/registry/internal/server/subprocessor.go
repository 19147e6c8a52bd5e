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
		AsOf:      timeOf(req.GetAsOfTime()),
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
		Version:           sp.Version,
		Etag:              sp.Etag(),
	}
}

// UpdateSubprocessor implements registryv1.SubprocessorServiceServer.
func (s *SubprocessorServer) UpdateSubprocessor(ctx context.Context, req *registryv1.UpdateSubprocessorRequest) (*registryv1.UpdateSubprocessorResponse, error) {
	sp, err := s.svc.UpdateSubprocessor(ctx, subprocessorUpdateFromProto(req))
	if err != nil {
		return nil, err
	}
	return &registryv1.UpdateSubprocessorResponse{Subprocessor: subprocessorToProto(sp)}, nil
}

func subprocessorUpdateFromProto(req *registryv1.UpdateSubprocessorRequest) domain.SubprocessorUpdate {
	return domain.SubprocessorUpdate{
		Subprocessor: subprocessorFromProto(req.GetSubprocessor()),
		Paths:        req.GetUpdateMask().GetPaths(),
		Etag:         req.GetSubprocessor().GetEtag(),
	}
}

// ListSubprocessorRevisions implements registryv1.SubprocessorServiceServer.
func (s *SubprocessorServer) ListSubprocessorRevisions(ctx context.Context, req *registryv1.ListSubprocessorRevisionsRequest) (*registryv1.ListSubprocessorRevisionsResponse, error) {
	list, next, err := s.svc.ListSubprocessorRevisions(ctx, domain.ListRevisionsParams{
		Start:          timeOf(req.GetStartTime()),
		End:            timeOf(req.GetEndTime()),
		SubprocessorID: req.GetSubprocessorId(),
		PageSize:       req.GetPageSize(),
		PageToken:      req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	resp := &registryv1.ListSubprocessorRevisionsResponse{NextPageToken: next}
	for _, r := range list {
		resp.Revisions = append(resp.Revisions, &registryv1.SubprocessorRevision{
			SubprocessorId: r.Snapshot.ID,
			Version:        r.Version,
			Time:           timestamp(r.Time),
			Subprocessor:   subprocessorToProto(r.Snapshot),
			ChangedFields:  r.ChangedFields,
		})
	}
	return resp, nil
}

// ListCustomerSubprocessors implements registryv1.SubprocessorServiceServer.
func (s *SubprocessorServer) ListCustomerSubprocessors(ctx context.Context, req *registryv1.ListCustomerSubprocessorsRequest) (*registryv1.ListCustomerSubprocessorsResponse, error) {
	list, next, err := s.svc.ListCustomerSubprocessors(ctx, domain.ListCustomerSubprocessorsParams{
		CustomerID: req.GetCustomerId(),
		PageSize:   req.GetPageSize(),
		PageToken:  req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	resp := &registryv1.ListCustomerSubprocessorsResponse{NextPageToken: next}
	for _, e := range list {
		resp.Subprocessors = append(resp.Subprocessors, &registryv1.CustomerSubprocessor{
			Subprocessor: subprocessorToProto(e.Subprocessor),
			Products:     e.Products,
			InUse:        e.InUse,
			Reason:       checkReasons.proto(e.Reason),
			ChangeId:     e.ChangeID,
		})
	}
	return resp, nil
}

// CheckSubprocessor implements registryv1.SubprocessorServiceServer.
func (s *SubprocessorServer) CheckSubprocessor(ctx context.Context, req *registryv1.CheckSubprocessorRequest) (*registryv1.CheckSubprocessorResponse, error) {
	r, err := s.svc.CheckSubprocessor(ctx, checkFromProto(req))
	if err != nil {
		return nil, err
	}
	return &registryv1.CheckSubprocessorResponse{
		Allowed:         r.Allowed,
		Reason:          checkReasons.proto(r.Reason),
		Message:         r.Message,
		ChangeId:        r.ChangeID,
		RegistryVersion: r.RegistryVersion,
	}, nil
}

func checkFromProto(req *registryv1.CheckSubprocessorRequest) domain.CheckParams {
	return domain.CheckParams{
		SubprocessorID: req.GetSubprocessorId(),
		Product:        req.GetProduct(),
		Region:         regions.domain(req.GetRegion()),
		CustomerID:     req.GetCustomerId(),
		At:             timeOf(req.GetAt()),
	}
}
