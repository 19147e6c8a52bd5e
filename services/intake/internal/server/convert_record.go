package server

import (
	"google.golang.org/protobuf/types/known/durationpb"

	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/protoconv"
)

// incidentFromProto converts the incident of an UpdateIncident request.
// Enum numbers pass through unchanged (domain rejects unknown ones).
func incidentFromProto(p *intakev1.Incident) domain.Incident {
	inc := domain.Incident{
		ID:          p.GetIncidentId(),
		Title:       p.GetTitle(),
		Description: p.GetDescription(),
		Type:        domain.IncidentType(p.GetType()),
		Severity:    domain.Severity(p.GetSeverity()),
		CustomerIDs: p.GetCustomerIds(),
		Asset:       p.GetAsset(),
		Record:      recordFromProto(p.GetRecord()),
	}
	if p.GetFacts() != nil {
		inc.Facts = protoconv.FactsFromProto(p.GetFacts())
	}
	return inc
}

func recordFromProto(r *intakev1.IncidentRecord) domain.IncidentRecord {
	out := domain.IncidentRecord{
		OccurredStart: protoconv.TimeFromProto(r.GetOccurredStartTime()),
		OccurredEnd:   protoconv.TimeFromProto(r.GetOccurredEndTime()),
		Location:      r.GetLocation(),
		Discovery: domain.Discovery{
			DiscoveredAt: protoconv.TimeFromProto(r.GetDiscovery().GetDiscoveredAt()),
			DiscoveredBy: r.GetDiscovery().GetDiscoveredBy(),
			How:          r.GetDiscovery().GetHow(),
		},
		Intrusion: domain.Intrusion{
			Method:             r.GetIntrusion().GetMethod(),
			EntryPoints:        r.GetIntrusion().GetEntryPoints(),
			ExitPoints:         r.GetIntrusion().GetExitPoints(),
			Paths:              r.GetIntrusion().GetPaths(),
			CompromisedSystems: r.GetIntrusion().GetCompromisedSystems(),
		},
		DataImpact: domain.DataImpact{
			Deleted:  domain.Determination(r.GetDataImpact().GetDeleted()),
			Modified: domain.Determination(r.GetDataImpact().GetModified()),
			Viewed:   domain.Determination(r.GetDataImpact().GetViewed()),
		},
		PhysicalAssetsMissing: r.GetPhysicalAssetsMissing(),
		RecordsForm:           domain.RecordsForm(r.GetRecordsForm()),
		CompromisedData: domain.CompromisedData{
			DataFields:      protoconv.ElementsFromProto(r.GetCompromisedData().GetDataFields()),
			EncryptedFields: protoconv.ElementsFromProto(r.GetCompromisedData().GetEncryptedFields()),
			RecordCount:     r.GetCompromisedData().GetRecordCount(),
		},
	}
	for _, rel := range r.GetCompromisedData().GetRelationships() {
		out.CompromisedData.Relationships = append(out.CompromisedData.Relationships, domain.Relationship(rel))
	}
	return out
}

func recordToProto(r domain.IncidentRecord) *intakev1.IncidentRecord {
	out := &intakev1.IncidentRecord{
		OccurredStartTime: protoconv.TimeToProto(r.OccurredStart),
		OccurredEndTime:   protoconv.TimeToProto(r.OccurredEnd),
		Location:          r.Location,
		Discovery: &intakev1.Discovery{
			DiscoveredAt: protoconv.TimeToProto(r.Discovery.DiscoveredAt),
			DiscoveredBy: r.Discovery.DiscoveredBy,
			How:          r.Discovery.How,
		},
		Intrusion: &intakev1.Intrusion{
			Method:             r.Intrusion.Method,
			EntryPoints:        r.Intrusion.EntryPoints,
			ExitPoints:         r.Intrusion.ExitPoints,
			Paths:              r.Intrusion.Paths,
			CompromisedSystems: r.Intrusion.CompromisedSystems,
		},
		DataImpact: &intakev1.DataImpact{
			Deleted:  intakev1.Determination(r.DataImpact.Deleted),
			Modified: intakev1.Determination(r.DataImpact.Modified),
			Viewed:   intakev1.Determination(r.DataImpact.Viewed),
		},
		PhysicalAssetsMissing: r.PhysicalAssetsMissing,
		RecordsForm:           intakev1.RecordsForm(r.RecordsForm),
		CompromisedData: &intakev1.CompromisedData{
			DataFields:      protoconv.ElementsToProto(r.CompromisedData.DataFields),
			EncryptedFields: protoconv.ElementsToProto(r.CompromisedData.EncryptedFields),
			RecordCount:     r.CompromisedData.RecordCount,
		},
	}
	for _, rel := range r.CompromisedData.Relationships {
		out.CompromisedData.Relationships = append(out.CompromisedData.Relationships, intakev1.Relationship(rel))
	}
	if d := r.Duration(); d != 0 {
		out.Duration = durationpb.New(d)
	}
	return out
}

// EntryToProto converts a timeline entry. It is exported for the
// verify-export tool's tests, which build exports the way the server does.
func EntryToProto(e domain.TimelineEntry) *intakev1.TimelineEntry {
	out := &intakev1.TimelineEntry{
		IncidentId:    e.IncidentID,
		Seq:           e.Seq,
		Time:          protoconv.TimeToProto(e.Time),
		Actor:         &intakev1.Actor{Kind: intakev1.ActorKind(e.Actor.Kind), Subject: e.Actor.Subject},
		Action:        e.Action,
		Summary:       e.Summary,
		Note:          e.Note,
		RequestId:     e.RequestID,
		CorrelationId: e.CorrelationID,
		IncidentEtag:  domain.Incident{Version: e.IncidentVersion}.Etag(),
		PrevHash:      e.PrevHash,
		Hash:          e.Hash,
	}
	for _, c := range e.Changes {
		out.Changes = append(out.Changes, &intakev1.FieldChange{Field: c.Field, OldValue: c.OldValue, NewValue: c.NewValue})
	}
	return out
}

func entryFromProto(e *intakev1.TimelineEntry) domain.TimelineEntry {
	out := domain.TimelineEntry{Action: e.GetAction(), Summary: e.GetSummary(), Note: e.GetNote()}
	for _, c := range e.GetChanges() {
		out.Changes = append(out.Changes, domain.Change{Field: c.GetField(), OldValue: c.GetOldValue(), NewValue: c.GetNewValue()})
	}
	return out
}

func entryPtrToProto(e *domain.TimelineEntry) *intakev1.TimelineEntry {
	if e == nil {
		return nil
	}
	return EntryToProto(*e)
}

func verificationToProto(v domain.Verification) *intakev1.VerifyTimelineResponse {
	out := &intakev1.VerifyTimelineResponse{
		Ok:             v.OK,
		EntriesChecked: v.EntriesChecked,
		HeadSeq:        v.HeadSeq,
		HeadHash:       v.HeadHash,
	}
	if b := v.FirstBreak; b != nil {
		out.FirstBreak = &intakev1.TimelineBreak{
			Seq:          b.Seq,
			Kind:         intakev1.TimelineBreakKind(b.Kind),
			ExpectedHash: b.ExpectedHash,
			FoundHash:    b.FoundHash,
			Description:  b.Description,
		}
	}
	return out
}
