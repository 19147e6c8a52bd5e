// Package peers adapts other services' gRPC clients to the narrow
// interfaces the registry's domain declares, so the domain never sees
// generated types.
package peers

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/breachline/breachline/pkg/auth"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// Subject is how the registry names itself to dispatch.
const Subject = "svc:registry"

// Dispatch sends operational notices through dispatch's SendNotice.
type Dispatch struct {
	client dispatchv1.DispatchServiceClient
}

var _ domain.Notifier = (*Dispatch)(nil)

// NewDispatch returns a Dispatch over conn.
func NewDispatch(conn grpc.ClientConnInterface) *Dispatch {
	return &Dispatch{client: dispatchv1.NewDispatchServiceClient(conn)}
}

// SendNotice implements domain.Notifier.
func (d *Dispatch) SendNotice(ctx context.Context, n domain.Notice) (string, error) {
	// The development authenticator names the caller from this header; a
	// real deployment authenticates the registry with machine credentials.
	ctx = metadata.AppendToOutgoingContext(ctx, auth.DevSubjectHeader, Subject)
	resp, err := d.client.SendNotice(ctx, &dispatchv1.SendNoticeRequest{
		RequestId: n.RequestID, To: n.To, Subject: n.Subject, Body: n.Body, Kind: n.Kind, CustomerId: n.CustomerID,
	})
	if err != nil {
		return "", fmt.Errorf("dispatch SendNotice: %w", err)
	}
	return resp.GetNotice().GetNoticeId(), nil
}
