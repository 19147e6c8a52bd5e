// Package notify adapts dispatch's SendNotice to the response workflow's
// domain.Notifier, so the domain never sees generated types.
package notify

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/breachline/breachline/pkg/auth"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/services/intake/internal/domain"
)

// Subject is how intake names itself to dispatch.
const Subject = "svc:intake"

// Dispatch e-mails team alerts and escalations through dispatch's
// SendNotice (idempotent on the notice's request id).
type Dispatch struct {
	client dispatchv1.DispatchServiceClient
}

var _ domain.Notifier = (*Dispatch)(nil)

// NewDispatch returns a Dispatch over conn.
func NewDispatch(conn grpc.ClientConnInterface) *Dispatch {
	return &Dispatch{client: dispatchv1.NewDispatchServiceClient(conn)}
}

// SendNotice implements domain.Notifier.
func (d *Dispatch) SendNotice(ctx context.Context, n domain.Notice) error {
	// The development authenticator names the caller from this header; a
	// real deployment authenticates intake with its service token.
	ctx = metadata.AppendToOutgoingContext(ctx, auth.DevSubjectHeader, Subject)
	_, err := d.client.SendNotice(ctx, &dispatchv1.SendNoticeRequest{
		RequestId: n.RequestID, To: n.To, Subject: n.Subject, Body: n.Body, Kind: n.Kind, IncidentId: n.IncidentID,
	})
	if err != nil {
		return fmt.Errorf("dispatch SendNotice: %w", err)
	}
	return nil
}
