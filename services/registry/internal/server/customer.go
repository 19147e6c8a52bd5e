package server

import (
	"context"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// CustomerServer implements registryv1.CustomerService.
type CustomerServer struct {
	registryv1.UnimplementedCustomerServiceServer
	svc *domain.Service
}

// CreateCustomer implements registryv1.CustomerServiceServer.
func (s *CustomerServer) CreateCustomer(ctx context.Context, req *registryv1.CreateCustomerRequest) (*registryv1.CreateCustomerResponse, error) {
	c, err := s.svc.CreateCustomer(ctx, req.GetRequestId(), customerFromProto(req.GetCustomer()))
	if err != nil {
		return nil, err
	}
	return &registryv1.CreateCustomerResponse{Customer: customerToProto(c)}, nil
}

// GetCustomer implements registryv1.CustomerServiceServer.
func (s *CustomerServer) GetCustomer(ctx context.Context, req *registryv1.GetCustomerRequest) (*registryv1.GetCustomerResponse, error) {
	c, err := s.svc.GetCustomer(ctx, req.GetCustomerId())
	if err != nil {
		return nil, err
	}
	return &registryv1.GetCustomerResponse{Customer: customerToProto(c)}, nil
}

// ListCustomers implements registryv1.CustomerServiceServer.
func (s *CustomerServer) ListCustomers(ctx context.Context, req *registryv1.ListCustomersRequest) (*registryv1.ListCustomersResponse, error) {
	list, next, err := s.svc.ListCustomers(ctx, domain.ListCustomersParams{
		PageSize:  req.GetPageSize(),
		PageToken: req.GetPageToken(),
		Region:    regions.domain(req.GetRegion()),
	})
	if err != nil {
		return nil, err
	}
	resp := &registryv1.ListCustomersResponse{NextPageToken: next}
	for _, c := range list {
		resp.Customers = append(resp.Customers, customerToProto(c))
	}
	return resp, nil
}

// UpdateCustomer implements registryv1.CustomerServiceServer.
func (s *CustomerServer) UpdateCustomer(ctx context.Context, req *registryv1.UpdateCustomerRequest) (*registryv1.UpdateCustomerResponse, error) {
	c, err := s.svc.UpdateCustomer(ctx, customerUpdateFromProto(req))
	if err != nil {
		return nil, err
	}
	return &registryv1.UpdateCustomerResponse{Customer: customerToProto(c)}, nil
}

// customerFromProto takes the client-settable fields; output-only ones are
// ignored as AIP-203 asks.
func customerFromProto(c *registryv1.Customer) domain.Customer {
	return domain.Customer{
		ID:                   c.GetCustomerId(),
		DisplayName:          c.GetDisplayName(),
		Region:               regions.domain(c.GetRegion()),
		NotificationEmail:    c.GetNotificationEmail(),
		Products:             c.GetProducts(),
		EmployeeNotification: employeeNotifications.domain(c.GetEmployeeNotification()),
		NotifyWithinHours:    c.GetNotifyWithinHours(),
		Contacts:             contactsFromProto(c.GetContacts()),
	}
}

func contactsFromProto(list []*registryv1.Contact) []domain.Contact {
	var out []domain.Contact
	for _, c := range list {
		out = append(out, domain.Contact{Name: c.GetName(), Role: c.GetRole(), Email: c.GetEmail(), Phone: c.GetPhone()})
	}
	return out
}

// customerUpdateFromProto converts an UpdateCustomerRequest.
func customerUpdateFromProto(req *registryv1.UpdateCustomerRequest) domain.CustomerUpdate {
	return domain.CustomerUpdate{
		Customer: customerFromProto(req.GetCustomer()),
		Paths:    req.GetUpdateMask().GetPaths(),
		Etag:     req.GetCustomer().GetEtag(),
	}
}

func customerToProto(c domain.Customer) *registryv1.Customer {
	return &registryv1.Customer{
		CustomerId:                   c.ID,
		DisplayName:                  c.DisplayName,
		Region:                       regions.proto(c.Region),
		NotificationEmail:            c.NotificationEmail,
		NotificationEmailConfirmTime: timestamp(c.NotificationEmailConfirmTime),
		Products:                     c.Products,
		EmployeeNotification:         employeeNotifications.proto(c.EmployeeNotification),
		NotifyWithinHours:            c.NotifyWithinHours,
		CreateTime:                   timestamp(c.CreateTime),
		UpdateTime:                   timestamp(c.UpdateTime),
		Etag:                         c.Etag(),
		Contacts:                     contactsToProto(c.Contacts),
	}
}

func contactsToProto(list []domain.Contact) []*registryv1.Contact {
	var out []*registryv1.Contact
	for _, c := range list {
		out = append(out, &registryv1.Contact{Name: c.Name, Role: c.Role, Email: c.Email, Phone: c.Phone})
	}
	return out
}

// ConfirmNotificationEmail implements registryv1.CustomerServiceServer.
func (s *CustomerServer) ConfirmNotificationEmail(ctx context.Context, req *registryv1.ConfirmNotificationEmailRequest) (*registryv1.ConfirmNotificationEmailResponse, error) {
	c, err := s.svc.ConfirmNotificationEmail(ctx, req.GetCustomerId(), req.GetNotificationEmail())
	if err != nil {
		return nil, err
	}
	return &registryv1.ConfirmNotificationEmailResponse{Customer: customerToProto(c)}, nil
}
