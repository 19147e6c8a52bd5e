// Package protoconv converts the breach facts shared with other services
// (breachline.common.v1.BreachFacts) to and from intake's domain type. Both
// the IntakeService handlers and the classification client need it.
package protoconv

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/breachline/breachline/pkg/gen/breachline/common/v1"
	"github.com/breachline/breachline/services/intake/internal/domain"
)

// FactsFromProto converts facts received from a client. Enum numbers are
// carried over unchanged so that domain validation can reject unknown ones.
func FactsFromProto(f *commonv1.BreachFacts) domain.BreachFacts {
	out := domain.BreachFacts{
		DataElements:             ElementsFromProto(f.GetDataElements()),
		EncryptedElements:        ElementsFromProto(f.GetEncryptedElements()),
		EncryptionKeyCompromised: f.GetEncryptionKeyCompromised(),
		RetrievedBeforeMisuse:    f.GetRetrievedBeforeMisuse(),
		ProperlyDisposed:         f.GetProperlyDisposed(),
		PublicRecordsOnly:        f.GetPublicRecordsOnly(),
		DiscoveredAt:             TimeFromProto(f.GetDiscoveredAt()),
	}
	for _, a := range f.GetAffected() {
		out.Affected = append(out.Affected, domain.JurisdictionCount{
			Jurisdiction: a.GetJurisdiction(), Count: a.GetCount(),
		})
	}
	return out
}

// FactsToProto converts domain facts for a response or an outgoing call.
func FactsToProto(f domain.BreachFacts) *commonv1.BreachFacts {
	out := &commonv1.BreachFacts{
		DataElements:             ElementsToProto(f.DataElements),
		EncryptedElements:        ElementsToProto(f.EncryptedElements),
		EncryptionKeyCompromised: f.EncryptionKeyCompromised,
		RetrievedBeforeMisuse:    f.RetrievedBeforeMisuse,
		ProperlyDisposed:         f.ProperlyDisposed,
		PublicRecordsOnly:        f.PublicRecordsOnly,
		DiscoveredAt:             TimeToProto(f.DiscoveredAt),
	}
	for _, a := range f.Affected {
		out.Affected = append(out.Affected, &commonv1.JurisdictionCount{
			Jurisdiction: a.Jurisdiction, Count: a.Count,
		})
	}
	return out
}

// TimeFromProto maps an unset timestamp to the zero time.
func TimeFromProto(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

// TimeToProto maps the zero time to an unset timestamp.
func TimeToProto(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// ElementsFromProto converts data elements; the enums share their numbers.
func ElementsFromProto(es []commonv1.DataElement) []domain.DataElement {
	if len(es) == 0 {
		return nil
	}
	out := make([]domain.DataElement, len(es))
	for i, e := range es {
		out[i] = domain.DataElement(e)
	}
	return out
}

// ElementsToProto converts data elements; the enums share their numbers.
func ElementsToProto(es []domain.DataElement) []commonv1.DataElement {
	if len(es) == 0 {
		return nil
	}
	out := make([]commonv1.DataElement, len(es))
	for i, e := range es {
		out[i] = commonv1.DataElement(e)
	}
	return out
}
