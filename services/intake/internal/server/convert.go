package server

import (
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/protoconv"
)

// signalFromProto converts a reported signal. Enum numbers pass through
// unchanged (domain rejects unknown ones); the raw Struct becomes a plain
// JSON-shaped map.
func signalFromProto(s *intakev1.Signal) domain.Signal {
	out := domain.Signal{
		Source:        s.GetSource(),
		SourceEventID: s.GetSourceEventId(),
		Title:         s.GetTitle(),
		Description:   s.GetDescription(),
		Severity:      domain.Severity(s.GetSeverity()),
		Type:          domain.IncidentType(s.GetType()),
		ObservedAt:    protoconv.TimeFromProto(s.GetObservedAt()),
		Asset:         s.GetAsset(),
		CustomerIDs:   s.GetCustomerIds(),
	}
	if s.GetExposure() != nil {
		f := protoconv.FactsFromProto(s.GetExposure())
		out.Exposure = &f
	}
	if s.GetRaw() != nil {
		out.Raw = s.GetRaw().AsMap()
	}
	return out
}

func incidentToProto(i domain.Incident) *intakev1.Incident {
	return &intakev1.Incident{
		IncidentId:       i.ID,
		Title:            i.Title,
		Description:      i.Description,
		Type:             intakev1.IncidentType(i.Type),
		State:            intakev1.IncidentState(i.State),
		Severity:         intakev1.Severity(i.Severity),
		CustomerIds:      i.CustomerIDs,
		Asset:            i.Asset,
		Facts:            protoconv.FactsToProto(i.Facts),
		SignalCount:      i.SignalCount,
		AssessmentStatus: intakev1.AssessmentStatus(i.AssessmentStatus),
		AssessmentId:     i.AssessmentID,
		CreateTime:       protoconv.TimeToProto(i.CreateTime),
		UpdateTime:       protoconv.TimeToProto(i.UpdateTime),
		Etag:             i.Etag(),
		Record:           recordToProto(i.Record),
	}
}
