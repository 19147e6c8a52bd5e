// Package registryclient reads customers' contractual notification terms
// from the registry's CustomerService for the contractual obligations, and
// opens sensitive-data removal requests through its
// SensitiveDataRemovalService.
package registryclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	registryv1 "github.com/breachline/breachline/pkg/gen/breachline/registry/v1"
	"github.com/breachline/breachline/services/classification/internal/domain"
)

// callTimeout bounds one GetCustomer call, retries by the connection's
// service config (grpcx.Dial) included.
const callTimeout = 5 * time.Second

// Client implements domain.Customers over a gRPC connection.
type Client struct {
	c        registryv1.CustomerServiceClient
	removals registryv1.SensitiveDataRemovalServiceClient
	logger   *slog.Logger
}

// errNoAnswer is what callers see; the cause (addresses, transport detail)
// is logged here and never reaches a client.
var errNoAnswer = errors.New("the registry did not answer")

var (
	_ domain.Customers       = (*Client)(nil)
	_ domain.RemovalRequests = (*Client)(nil)
)

// New returns a Client on conn (from grpcx.Dial in production).
func New(conn grpc.ClientConnInterface, logger *slog.Logger) *Client {
	return &Client{
		c:        registryv1.NewCustomerServiceClient(conn),
		removals: registryv1.NewSensitiveDataRemovalServiceClient(conn),
		logger:   logger,
	}
}

// Lookup reads each customer. A customer the registry does not know (or an
// id it rejects) is Found=false; any other failure is an error, so the
// assessment is retried rather than made without the contractual duties.
func (c *Client) Lookup(ctx context.Context, ids []string) ([]domain.CustomerTerms, error) {
	out := make([]domain.CustomerTerms, 0, len(ids))
	for _, id := range ids {
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		resp, err := c.c.GetCustomer(callCtx, &registryv1.GetCustomerRequest{CustomerId: id})
		cancel()
		switch status.Code(err) {
		case codes.OK:
		case codes.NotFound, codes.InvalidArgument:
			out = append(out, domain.CustomerTerms{CustomerID: id})
			continue
		default:
			c.logger.WarnContext(ctx, "registry GetCustomer failed", "code", status.Code(err).String(), "error", err.Error())
			return nil, errNoAnswer
		}
		cust := resp.GetCustomer()
		out = append(out, domain.CustomerTerms{
			CustomerID:           id,
			Found:                true,
			DisplayName:          cust.GetDisplayName(),
			NotificationEmail:    cust.GetNotificationEmail(),
			NotifyWithinHours:    cust.GetNotifyWithinHours(),
			EmployeeNotification: employees(cust.GetEmployeeNotification()),
			Etag:                 cust.GetEtag(),
		})
	}
	return out, nil
}

func employees(e registryv1.EmployeeNotification) string {
	switch e {
	case registryv1.EmployeeNotification_EMPLOYEE_NOTIFICATION_CUSTOMER:
		return domain.EmployeesByCustomer
	case registryv1.EmployeeNotification_EMPLOYEE_NOTIFICATION_PROCESSOR:
		return domain.EmployeesByProcessor
	default:
		return ""
	}
}

// OpenRemovalRequest opens the registry's removal request for h, with
// request_id = h.ID so that a repeated hand-over opens one request. An
// unknown customer or input the registry rejects is domain.ErrRemovalRejected
// (not retried); anything else is retried by the relay.
func (c *Client) OpenRemovalRequest(ctx context.Context, h domain.RemovalHandover) (string, error) {
	req := &registryv1.OpenRemovalRequestRequest{
		RequestId:    h.ID,
		CustomerId:   h.CustomerID,
		Location:     h.Location,
		FindingCount: h.FindingCount,
		Source:       "scan:" + h.ID,
	}
	for _, t := range h.Types {
		req.FoundTypes = append(req.FoundTypes, sensitiveTypes[t])
	}
	resp, err := c.removals.OpenRemovalRequest(ctx, req)
	switch status.Code(err) {
	case codes.OK:
		return resp.GetRemovalRequest().GetRemovalRequestId(), nil
	case codes.NotFound, codes.InvalidArgument:
		return "", fmt.Errorf("%w: %s", domain.ErrRemovalRejected, status.Code(err))
	default:
		return "", fmt.Errorf("open removal request: %s", status.Code(err))
	}
}

// sensitiveTypes maps the domain's types to the registry's enum.
var sensitiveTypes = map[domain.SensitiveType]registryv1.SensitiveDataType{
	domain.SensitiveSSN:             registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_SSN,
	domain.SensitivePaymentCard:     registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_PAYMENT_CARD,
	domain.SensitiveBankAccount:     registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_BANK_ACCOUNT,
	domain.SensitiveRoutingNumber:   registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_ROUTING_NUMBER,
	domain.SensitiveIBAN:            registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_IBAN,
	domain.SensitiveMedicalRecord:   registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_MEDICAL_RECORD_NUMBER,
	domain.SensitiveHealthInsurance: registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_HEALTH_INSURANCE_ID,
	domain.SensitiveProviderID:      registryv1.SensitiveDataType_SENSITIVE_DATA_TYPE_PROVIDER_ID,
}
