package server

import (
	"context"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

var _ grpcx.RequestValidator = (*Validator)(nil)

// Validator implements grpcx.RequestValidator for the registry's three
// services, so a request that misses REQUIRED fields is told about every
// other problem in the same answer. It runs the domain's pure checks (the
// same ones the use cases run) and never touches the store.
type Validator struct {
	svc *domain.Service
}

// NewValidator returns the request validator of the services backed by svc.
func NewValidator(svc *domain.Service) *Validator {
	return &Validator{svc: svc}
}

// ValidateRequest implements grpcx.RequestValidator.
func (v *Validator) ValidateRequest(_ context.Context, req any) error {
	switch r := req.(type) {
	case *registryv1.CreateCustomerRequest:
		return v.svc.ValidateCreateCustomer(r.GetRequestId(), customerFromProto(r.GetCustomer()))
	case *registryv1.UpdateCustomerRequest:
		return v.svc.ValidateUpdateCustomer(customerUpdateFromProto(r))
	case *registryv1.ConfirmNotificationEmailRequest:
		return v.svc.ValidateConfirmNotificationEmail(r.GetCustomerId(), r.GetNotificationEmail())
	case *registryv1.CreateSubprocessorRequest:
		return v.svc.ValidateCreateSubprocessor(r.GetRequestId(), subprocessorFromProto(r.GetSubprocessor()))
	case *registryv1.SubmitDataSubjectRequestRequest:
		return v.svc.ValidateSubmitDataSubjectRequest(submitParamsFromProto(r))
	case *registryv1.OpenRemovalRequestRequest:
		return v.svc.ValidateOpenRemovalRequest(openRemovalFromProto(r))
	case *registryv1.RecordRemovalRequest:
		return v.svc.ValidateRecordRemoval(recordRemovalFromProto(r))
	}
	if ok, err := v.validateDSRRequest(req); ok {
		return err
	}
	if ok, err := v.validateSubprocessorRequest(req); ok {
		return err
	}
	return nil
}
