package peers

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/breachline/breachline/pkg/auth"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// Intake reads a customer's incidents through intake's ListIncidents.
type Intake struct {
	client intakev1.IntakeServiceClient
}

var _ domain.Incidents = (*Intake)(nil)

// NewIntake returns an Intake over conn.
func NewIntake(conn grpc.ClientConnInterface) *Intake {
	return &Intake{client: intakev1.NewIntakeServiceClient(conn)}
}

// intakePageSize is the page size of the ListIncidents walk (intake's most).
const intakePageSize = 500

// CustomerIncidents implements domain.Incidents. ListIncidents returns the
// customer's incidents newest first, so the walk skips those opened at or
// after to and stops at the first opened before from.
func (i *Intake) CustomerIncidents(ctx context.Context, customerID string, from, to time.Time, limit int) ([]domain.IncidentSummary, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, auth.DevSubjectHeader, Subject)
	var out []domain.IncidentSummary
	token := ""
	for {
		resp, err := i.client.ListIncidents(ctx, &intakev1.ListIncidentsRequest{
			PageSize: intakePageSize, PageToken: token, CustomerId: customerID,
		})
		if err != nil {
			return nil, fmt.Errorf("intake ListIncidents: %w", err)
		}
		for _, inc := range resp.GetIncidents() {
			created := inc.GetCreateTime().AsTime()
			switch {
			case !created.Before(to):
				continue
			case created.Before(from):
				return out, nil
			}
			out = append(out, domain.IncidentSummary{
				ID: inc.GetIncidentId(), Title: inc.GetTitle(), State: inc.GetState().String(),
				Severity: inc.GetSeverity().String(), CreateTime: created.UTC(), UpdateTime: inc.GetUpdateTime().AsTime().UTC(),
			})
			if len(out) > limit {
				return out, nil
			}
		}
		token = resp.GetNextPageToken()
		if token == "" {
			return out, nil
		}
	}
}
