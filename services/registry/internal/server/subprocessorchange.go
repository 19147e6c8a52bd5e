package server

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

var (
	changeKinds = newEnumMap(map[registryv1.SubprocessorChangeKind]domain.ChangeKind{
		registryv1.SubprocessorChangeKind_SUBPROCESSOR_CHANGE_KIND_ADDITION:    domain.ChangeAddition,
		registryv1.SubprocessorChangeKind_SUBPROCESSOR_CHANGE_KIND_REPLACEMENT: domain.ChangeReplacement,
	})
	customerChangeStatuses = newEnumMap(map[registryv1.CustomerChangeStatus]domain.CustomerChangeStatus{
		registryv1.CustomerChangeStatus_CUSTOMER_CHANGE_STATUS_PENDING:   domain.ChangePending,
		registryv1.CustomerChangeStatus_CUSTOMER_CHANGE_STATUS_EFFECTIVE: domain.ChangeEffective,
		registryv1.CustomerChangeStatus_CUSTOMER_CHANGE_STATUS_BLOCKED:   domain.ChangeBlocked,
	})
	objectionOutcomes = newEnumMap(map[registryv1.ObjectionOutcome]domain.ObjectionOutcome{
		registryv1.ObjectionOutcome_OBJECTION_OUTCOME_WITHDRAWN: domain.OutcomeWithdrawn,
		registryv1.ObjectionOutcome_OBJECTION_OUTCOME_ADDRESSED: domain.OutcomeAddressed,
		registryv1.ObjectionOutcome_OBJECTION_OUTCOME_UPHELD:    domain.OutcomeUpheld,
	})
	checkReasons = newEnumMap(map[registryv1.CheckReason]domain.CheckReason{
		registryv1.CheckReason_CHECK_REASON_ALLOWED:                    domain.CheckAllowed,
		registryv1.CheckReason_CHECK_REASON_UNKNOWN_SUBPROCESSOR:       domain.CheckUnknown,
		registryv1.CheckReason_CHECK_REASON_NOT_ACTIVE:                 domain.CheckNotActive,
		registryv1.CheckReason_CHECK_REASON_NOT_SERVING_PRODUCT:        domain.CheckNotServingProduct,
		registryv1.CheckReason_CHECK_REASON_TRANSFER_MECHANISM_MISSING: domain.CheckTransferMissing,
		registryv1.CheckReason_CHECK_REASON_OBJECTION_WINDOW_OPEN:      domain.CheckObjectionWindowOpen,
		registryv1.CheckReason_CHECK_REASON_CUSTOMER_OBJECTED:          domain.CheckCustomerObjected,
	})
)

// ProposeSubprocessorChange implements registryv1.SubprocessorServiceServer.
func (s *SubprocessorServer) ProposeSubprocessorChange(ctx context.Context, req *registryv1.ProposeSubprocessorChangeRequest) (*registryv1.ProposeSubprocessorChangeResponse, error) {
	c, err := s.svc.ProposeSubprocessorChange(ctx, proposeFromProto(req))
	if err != nil {
		return nil, err
	}
	return &registryv1.ProposeSubprocessorChangeResponse{Change: changeToProto(c)}, nil
}

// GetSubprocessorChange implements registryv1.SubprocessorServiceServer.
func (s *SubprocessorServer) GetSubprocessorChange(ctx context.Context, req *registryv1.GetSubprocessorChangeRequest) (*registryv1.GetSubprocessorChangeResponse, error) {
	c, entries, err := s.svc.GetSubprocessorChange(ctx, req.GetChangeId())
	if err != nil {
		return nil, err
	}
	now := s.svc.Now()
	resp := &registryv1.GetSubprocessorChangeResponse{Change: changeToProto(c)}
	for _, e := range entries {
		resp.Customers = append(resp.Customers, changeCustomerToProto(c, e, now))
	}
	return resp, nil
}

// ListSubprocessorChanges implements registryv1.SubprocessorServiceServer.
func (s *SubprocessorServer) ListSubprocessorChanges(ctx context.Context, req *registryv1.ListSubprocessorChangesRequest) (*registryv1.ListSubprocessorChangesResponse, error) {
	list, next, err := s.svc.ListSubprocessorChanges(ctx, domain.ListChangesParams{
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), SubprocessorID: req.GetSubprocessorId(),
	})
	if err != nil {
		return nil, err
	}
	resp := &registryv1.ListSubprocessorChangesResponse{NextPageToken: next}
	for _, c := range list {
		resp.Changes = append(resp.Changes, changeToProto(c))
	}
	return resp, nil
}

// ObjectToSubprocessorChange implements registryv1.SubprocessorServiceServer.
func (s *SubprocessorServer) ObjectToSubprocessorChange(ctx context.Context, req *registryv1.ObjectToSubprocessorChangeRequest) (*registryv1.ObjectToSubprocessorChangeResponse, error) {
	c, e, err := s.svc.ObjectToSubprocessorChange(ctx, objectFromProto(req))
	if err != nil {
		return nil, err
	}
	return &registryv1.ObjectToSubprocessorChangeResponse{Customer: changeCustomerToProto(c, e, s.svc.Now())}, nil
}

// ResolveObjection implements registryv1.SubprocessorServiceServer.
func (s *SubprocessorServer) ResolveObjection(ctx context.Context, req *registryv1.ResolveObjectionRequest) (*registryv1.ResolveObjectionResponse, error) {
	c, e, err := s.svc.ResolveObjection(ctx, resolveFromProto(req))
	if err != nil {
		return nil, err
	}
	return &registryv1.ResolveObjectionResponse{Customer: changeCustomerToProto(c, e, s.svc.Now())}, nil
}

func proposeFromProto(req *registryv1.ProposeSubprocessorChangeRequest) domain.ProposeParams {
	c := req.GetChange()
	var window time.Duration
	if d := c.GetObjectionWindow(); d != nil {
		window = d.AsDuration()
	}
	return domain.ProposeParams{
		RequestID:       req.GetRequestId(),
		Kind:            changeKinds.domain(c.GetKind()),
		SubprocessorID:  c.GetSubprocessorId(),
		ReplacesID:      c.GetReplacesSubprocessorId(),
		Description:     c.GetDescription(),
		EffectiveTime:   timeOf(c.GetEffectiveTime()),
		ObjectionWindow: window,
	}
}

func objectFromProto(req *registryv1.ObjectToSubprocessorChangeRequest) domain.ObjectParams {
	return domain.ObjectParams{
		RequestID: req.GetRequestId(), ChangeID: req.GetChangeId(), CustomerID: req.GetCustomerId(), Reason: req.GetReason(),
	}
}

func resolveFromProto(req *registryv1.ResolveObjectionRequest) domain.ResolveParams {
	return domain.ResolveParams{
		RequestID: req.GetRequestId(), ChangeID: req.GetChangeId(), CustomerID: req.GetCustomerId(),
		Outcome: objectionOutcomes.domain(req.GetOutcome()), Note: req.GetNote(),
	}
}

func changeToProto(c domain.SubprocessorChange) *registryv1.SubprocessorChange {
	return &registryv1.SubprocessorChange{
		ChangeId:               c.ID,
		Kind:                   changeKinds.proto(c.Kind),
		SubprocessorId:         c.SubprocessorID,
		ReplacesSubprocessorId: c.ReplacesID,
		Description:            c.Description,
		EffectiveTime:          timestamp(c.EffectiveTime),
		ObjectionWindow:        durationpb.New(c.ObjectionWindow),
		Products:               c.Products,
		AffectedCustomerCount:  c.AffectedCount,
		CreateTime:             timestamp(c.CreateTime),
		ProposedBy:             c.ProposedBy,
	}
}

func changeCustomerToProto(c domain.SubprocessorChange, e domain.ChangeCustomer, now time.Time) *registryv1.SubprocessorChangeCustomer {
	st, effective := domain.CustomerStatus(c, e, now)
	out := &registryv1.SubprocessorChangeCustomer{
		CustomerId:        e.CustomerID,
		NotificationEmail: e.NotificationEmail,
		NotifyTime:        timestamp(e.NotifyTime),
		NoticeId:          e.NoticeID,
		WindowEndTime:     timestamp(e.WindowEnd),
		Status:            customerChangeStatuses.proto(st),
		EffectiveTime:     timestamp(effective),
	}
	if o := e.Objection; o != nil {
		out.Objection = &registryv1.Objection{Reason: o.Reason, ObjectTime: timestamp(o.ObjectTime), ObjectedBy: o.ObjectedBy}
		if r := o.Resolution; r != nil {
			out.Objection.Resolution = &registryv1.ObjectionResolution{
				Outcome: objectionOutcomes.proto(r.Outcome), Note: r.Note, ResolveTime: timestamp(r.ResolveTime), ResolvedBy: r.ResolvedBy,
			}
		}
	}
	return out
}

// validateSubprocessorRequest runs the domain's pure checks of the
// subprocessor registry's requests (beyond CreateSubprocessor), so a request
// missing a REQUIRED field learns every other problem in the same answer.
func (v *Validator) validateSubprocessorRequest(req any) (bool, error) {
	switch r := req.(type) {
	case *registryv1.UpdateSubprocessorRequest:
		return true, v.svc.ValidateUpdateSubprocessor(subprocessorUpdateFromProto(r))
	case *registryv1.ProposeSubprocessorChangeRequest:
		return true, v.svc.ValidateProposeSubprocessorChange(proposeFromProto(r))
	case *registryv1.ObjectToSubprocessorChangeRequest:
		return true, v.svc.ValidateObject(objectFromProto(r))
	case *registryv1.ResolveObjectionRequest:
		return true, v.svc.ValidateResolve(resolveFromProto(r))
	case *registryv1.CheckSubprocessorRequest:
		return true, v.svc.ValidateCheck(checkFromProto(r))
	}
	return false, nil
}
