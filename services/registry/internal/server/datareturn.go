package server

import (
	"context"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// DataReturnServer implements registryv1.DataReturnService.
type DataReturnServer struct {
	registryv1.UnimplementedDataReturnServiceServer
	svc *domain.Service
}

var (
	returnActions = newEnumMap(map[registryv1.DataReturnAction]domain.ReturnAction{
		registryv1.DataReturnAction_DATA_RETURN_ACTION_RETURN: domain.ReturnActionReturn,
		registryv1.DataReturnAction_DATA_RETURN_ACTION_DELETE: domain.ReturnActionDelete,
	})
	returnStatuses = newEnumMap(map[registryv1.DataReturnStatus]domain.ReturnStatus{
		registryv1.DataReturnStatus_DATA_RETURN_STATUS_OPEN:      domain.ReturnOpen,
		registryv1.DataReturnStatus_DATA_RETURN_STATUS_COMPLETED: domain.ReturnCompleted,
	})
	dispositionKinds = newEnumMap(map[registryv1.DispositionKind]domain.DispositionKind{
		registryv1.DispositionKind_DISPOSITION_KIND_RETURNED:  domain.DispositionReturned,
		registryv1.DispositionKind_DISPOSITION_KIND_DESTROYED: domain.DispositionDestroyed,
	})
)

// OpenDataReturnRequest implements registryv1.DataReturnServiceServer.
func (s *DataReturnServer) OpenDataReturnRequest(ctx context.Context, req *registryv1.OpenDataReturnRequestRequest) (*registryv1.OpenDataReturnRequestResponse, error) {
	r, err := s.svc.OpenDataReturnRequest(ctx, openReturnFromProto(req))
	if err != nil {
		return nil, err
	}
	return &registryv1.OpenDataReturnRequestResponse{DataReturnRequest: returnToProto(r)}, nil
}

// GetDataReturnRequest implements registryv1.DataReturnServiceServer.
func (s *DataReturnServer) GetDataReturnRequest(ctx context.Context, req *registryv1.GetDataReturnRequestRequest) (*registryv1.GetDataReturnRequestResponse, error) {
	r, err := s.svc.GetDataReturnRequest(ctx, req.GetDataReturnRequestId())
	if err != nil {
		return nil, err
	}
	return &registryv1.GetDataReturnRequestResponse{DataReturnRequest: returnToProto(r)}, nil
}

// ListDataReturnRequests implements registryv1.DataReturnServiceServer.
func (s *DataReturnServer) ListDataReturnRequests(ctx context.Context, req *registryv1.ListDataReturnRequestsRequest) (*registryv1.ListDataReturnRequestsResponse, error) {
	list, next, err := s.svc.ListDataReturnRequests(ctx, domain.ListDataReturnParams{
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), CustomerID: req.GetCustomerId(),
		Status: returnStatuses.domain(req.GetStatus()),
	})
	if err != nil {
		return nil, err
	}
	resp := &registryv1.ListDataReturnRequestsResponse{NextPageToken: next}
	for _, r := range list {
		resp.DataReturnRequests = append(resp.DataReturnRequests, returnToProto(r))
	}
	return resp, nil
}

// RecordDataDisposition implements registryv1.DataReturnServiceServer.
func (s *DataReturnServer) RecordDataDisposition(ctx context.Context, req *registryv1.RecordDataDispositionRequest) (*registryv1.RecordDataDispositionResponse, error) {
	r, err := s.svc.RecordDataDisposition(ctx, dispositionFromProto(req))
	if err != nil {
		return nil, err
	}
	return &registryv1.RecordDataDispositionResponse{DataReturnRequest: returnToProto(r)}, nil
}

// RecordDataRetention implements registryv1.DataReturnServiceServer.
func (s *DataReturnServer) RecordDataRetention(ctx context.Context, req *registryv1.RecordDataRetentionRequest) (*registryv1.RecordDataRetentionResponse, error) {
	r, err := s.svc.RecordDataRetention(ctx, retentionFromProto(req))
	if err != nil {
		return nil, err
	}
	return &registryv1.RecordDataRetentionResponse{DataReturnRequest: returnToProto(r)}, nil
}

// IssueDeletionCertificate implements registryv1.DataReturnServiceServer.
func (s *DataReturnServer) IssueDeletionCertificate(ctx context.Context, req *registryv1.IssueDeletionCertificateRequest) (*registryv1.IssueDeletionCertificateResponse, error) {
	r, err := s.svc.IssueDeletionCertificate(ctx, req.GetDataReturnRequestId())
	if err != nil {
		return nil, err
	}
	return &registryv1.IssueDeletionCertificateResponse{DataReturnRequest: returnToProto(r)}, nil
}

// VerifyDeletionCertificate implements registryv1.DataReturnServiceServer.
func (s *DataReturnServer) VerifyDeletionCertificate(ctx context.Context, req *registryv1.VerifyDeletionCertificateRequest) (*registryv1.VerifyDeletionCertificateResponse, error) {
	v, err := s.svc.VerifyDeletionCertificate(ctx, req.GetDocument(), req.GetSignature())
	if err != nil {
		return nil, err
	}
	return &registryv1.VerifyDeletionCertificateResponse{
		Valid: v.Valid, Reason: v.Reason, KeyId: v.KeyID, CertificateId: v.CertificateID, OnRecord: v.OnRecord,
	}, nil
}

// GetSigningKeys implements registryv1.DataReturnServiceServer.
func (s *DataReturnServer) GetSigningKeys(context.Context, *registryv1.GetSigningKeysRequest) (*registryv1.GetSigningKeysResponse, error) {
	resp := &registryv1.GetSigningKeysResponse{}
	for _, k := range s.svc.SigningKeys() {
		st := registryv1.SigningKeyStatus_SIGNING_KEY_STATUS_RETIRED
		if k.Current {
			st = registryv1.SigningKeyStatus_SIGNING_KEY_STATUS_CURRENT
		}
		resp.Keys = append(resp.Keys, &registryv1.SigningKey{
			KeyId: k.KeyID, PublicKey: k.Encoded(), Algorithm: domain.CertificateAlgorithm, Status: st,
		})
	}
	return resp, nil
}

func openReturnFromProto(req *registryv1.OpenDataReturnRequestRequest) domain.OpenDataReturnParams {
	return domain.OpenDataReturnParams{
		RequestID: req.GetRequestId(), CustomerID: req.GetCustomerId(), Action: returnActions.domain(req.GetAction()),
		Products: req.GetProducts(), ScopeDescription: req.GetScopeDescription(), RequestedBy: req.GetRequestedBy(),
		RequestTime: timeOf(req.GetRequestTime()), TerminationTime: timeOf(req.GetTerminationTime()),
	}
}

func dispositionFromProto(req *registryv1.RecordDataDispositionRequest) domain.RecordDispositionParams {
	return domain.RecordDispositionParams{
		ID: req.GetDataReturnRequestId(), Kind: dispositionKinds.domain(req.GetKind()), DataDescription: req.GetDataDescription(),
		System: req.GetSystem(), Method: req.GetMethod(), RecordCount: req.GetRecordCount(),
		DispositionTime: timeOf(req.GetDispositionTime()), Evidence: req.GetEvidence(),
		ArtefactSHA256: req.GetArtefactSha256(), RequestID: req.GetRequestId(),
	}
}

func retentionFromProto(req *registryv1.RecordDataRetentionRequest) domain.RecordRetentionParams {
	return domain.RecordRetentionParams{
		ID: req.GetDataReturnRequestId(), DataDescription: req.GetDataDescription(), LegalBasis: req.GetLegalBasis(),
		RetainUntil: timeOf(req.GetRetainUntil()), RequestID: req.GetRequestId(),
	}
}

func returnToProto(r domain.DataReturnRequest) *registryv1.DataReturnRequest {
	out := &registryv1.DataReturnRequest{
		DataReturnRequestId: r.ID, CustomerId: r.CustomerID, Action: returnActions.proto(r.Action), Products: r.Products,
		ScopeDescription: r.ScopeDescription, RequestedBy: r.RequestedBy, RequestTime: timestamp(r.RequestTime),
		TerminationTime: timestamp(r.TerminationTime), Status: returnStatuses.proto(r.Status),
		CreateTime: timestamp(r.CreateTime), UpdateTime: timestamp(r.UpdateTime),
	}
	for _, d := range r.Dispositions {
		out.Dispositions = append(out.Dispositions, &registryv1.DataDisposition{
			Kind: dispositionKinds.proto(d.Kind), DataDescription: d.DataDescription, System: d.System, Method: d.Method,
			RecordCount: d.RecordCount, DispositionTime: timestamp(d.DispositionTime), Evidence: d.Evidence,
			ArtefactSha256: d.ArtefactSHA256, RecordTime: timestamp(d.RecordTime), Actor: d.Actor, RequestId: d.RequestID,
		})
	}
	for _, x := range r.Retentions {
		out.Retentions = append(out.Retentions, &registryv1.DataRetention{
			DataDescription: x.DataDescription, LegalBasis: x.LegalBasis, RetainUntil: timestamp(x.RetainUntil),
			RecordTime: timestamp(x.RecordTime), Actor: x.Actor, RequestId: x.RequestID,
		})
	}
	if c := r.Certificate; c != nil {
		out.Certificate = &registryv1.DeletionCertificate{
			CertificateId: c.ID, Document: c.Document, Signature: c.Signature, Algorithm: c.Algorithm,
			PublicKey: c.PublicKey, KeyId: c.KeyID, IssueTime: timestamp(c.IssueTime),
		}
	}
	return out
}
