// Package peers adapts the other services' gRPC clients to the narrow
// interfaces dispatch's domain declares (domain.Individuals,
// domain.Timeline), so the domain never sees generated types.
package peers

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/breachline/breachline/pkg/auth"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// Subject is how dispatch names itself to intake (the timeline actor).
const Subject = "svc:dispatch"

// Intake reads affected individuals from and writes timeline entries to
// intake.
type Intake struct {
	individuals intakev1.AffectedIndividualsServiceClient
	incidents   intakev1.IntakeServiceClient
}

var (
	_ domain.Individuals = (*Intake)(nil)
	_ domain.Timeline    = (*Intake)(nil)
)

// NewIntake returns an Intake over conn.
func NewIntake(conn grpc.ClientConnInterface) *Intake {
	return &Intake{individuals: intakev1.NewAffectedIndividualsServiceClient(conn), incidents: intakev1.NewIntakeServiceClient(conn)}
}

func outgoing(ctx context.Context) context.Context {
	// The development authenticator names the caller from this header; a
	// real deployment authenticates dispatch with its machine credentials.
	return metadata.AppendToOutgoingContext(ctx, auth.DevSubjectHeader, Subject)
}

// ListIndividuals implements domain.Individuals: one page of up to 500.
func (i *Intake) ListIndividuals(ctx context.Context, incidentID, jurisdiction, pageToken string) ([]domain.Recipient, string, string, error) {
	resp, err := i.individuals.ListAffectedIndividuals(outgoing(ctx), &intakev1.ListAffectedIndividualsRequest{
		IncidentId: incidentID, Jurisdiction: jurisdiction, PageSize: 500, PageToken: pageToken,
	})
	if err != nil {
		return nil, "", "", fmt.Errorf("list affected individuals: %w", err)
	}
	var out []domain.Recipient
	first := ""
	for _, a := range resp.GetAffectedIndividuals() {
		if first == "" {
			first = a.GetIndividualId()
		}
		name := a.GetFullName()
		if name == "" {
			name = strings.TrimSpace(a.GetGivenName() + " " + a.GetFamilyName())
		}
		out = append(out, domain.Recipient{Name: name, Address: a.GetEmail(), Jurisdiction: a.GetJurisdiction(), PostalAddress: postal(a)})
	}
	return out, first, resp.GetNextPageToken(), nil
}

// AppendTimelineEntry implements domain.Timeline.
func (i *Intake) AppendTimelineEntry(ctx context.Context, incidentID, requestID, action, summary string) error {
	_, err := i.incidents.AppendTimelineEntry(outgoing(ctx), &intakev1.AppendTimelineEntryRequest{
		IncidentId: incidentID, RequestId: requestID,
		Entry: &intakev1.TimelineEntry{Action: action, Summary: summary},
	})
	if err != nil {
		return fmt.Errorf("append timeline entry: %w", err)
	}
	return nil
}

// postal joins an individual's postal address into lines, empty when it
// has no street lines.
func postal(a *intakev1.AffectedIndividual) string {
	if len(a.GetAddressLines()) == 0 {
		return ""
	}
	lines := append([]string{}, a.GetAddressLines()...)
	if last := strings.TrimSpace(a.GetLocality() + " " + a.GetPostalCode()); last != "" {
		lines = append(lines, last)
	}
	return strings.Join(lines, "\n")
}
