// Package registryclient reads customers' contractual notification terms
// from the registry's CustomerService for the contractual obligations.
package registryclient

import (
	"context"
	"errors"
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
	c      registryv1.CustomerServiceClient
	logger *slog.Logger
}

// errNoAnswer is what callers see; the cause (addresses, transport detail)
// is logged here and never reaches a client.
var errNoAnswer = errors.New("the registry did not answer")

var _ domain.Customers = (*Client)(nil)

// New returns a Client on conn (from grpcx.Dial in production).
func New(conn grpc.ClientConnInterface, logger *slog.Logger) *Client {
	return &Client{c: registryv1.NewCustomerServiceClient(conn), logger: logger}
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
