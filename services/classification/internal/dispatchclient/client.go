// Package dispatchclient is the relay's way to DispatchService: it turns an
// assessment's obligations into a CreateDraftCampaigns call.
package dispatchclient

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/services/classification/internal/domain"
	"github.com/breachline/breachline/services/classification/internal/protoconv"
)

// maxPerCall is CreateDraftCampaigns' limit on obligations per request.
const maxPerCall = 1000

// Client implements domain.Dispatcher over a gRPC connection.
type Client struct {
	c dispatchv1.DispatchServiceClient
}

var _ domain.Dispatcher = (*Client)(nil)

// New returns a Client on conn (from grpcx.Dial in production).
func New(conn grpc.ClientConnInterface) *Client {
	return &Client{c: dispatchv1.NewDispatchServiceClient(conn)}
}

// CreateDraftCampaigns drafts one campaign per obligation, in chunks of the
// RPC's limit. Dispatch is idempotent on (assessment_id, obligation_id), so a
// retry after a partial failure re-sends the chunks that succeeded harmlessly.
func (c *Client) CreateDraftCampaigns(ctx context.Context, incidentID, assessmentID string, obligations []domain.Obligation) error {
	for start := 0; start < len(obligations); start += maxPerCall {
		chunk := obligations[start:min(start+maxPerCall, len(obligations))]
		_, err := c.c.CreateDraftCampaigns(ctx, &dispatchv1.CreateDraftCampaignsRequest{
			IncidentId:   incidentID,
			AssessmentId: assessmentID,
			Obligations:  protoconv.ObligationsToProto(chunk),
		})
		if err != nil {
			return fmt.Errorf("dispatch CreateDraftCampaigns: %w", err)
		}
	}
	return nil
}
