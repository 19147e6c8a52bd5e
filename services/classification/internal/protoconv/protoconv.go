// Package protoconv converts between the classification domain and its proto
// messages. It is shared by the gRPC handlers and the dispatch client, so an
// obligation looks the same wherever it leaves the service.
package protoconv

import (
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	commonv1 "github.com/breachline/breachline/pkg/gen/breachline/common/v1"
	"github.com/breachline/breachline/services/classification/internal/domain"
)

// domain.Elements and domain.Audiences are in proto enum order (from 1), so
// enum number n is element n-1; a test pins the names against the enums.

// ElementFromProto maps an enum value to a domain element. The unspecified
// value becomes "" and an unknown number a name the domain rejects, so
// validation reports them with their field path.
func ElementFromProto(e commonv1.DataElement) domain.Element {
	switch {
	case e == commonv1.DataElement_DATA_ELEMENT_UNSPECIFIED:
		return ""
	case int(e) < 1 || int(e) > len(domain.Elements):
		return domain.Element(fmt.Sprintf("DATA_ELEMENT(%d)", int32(e)))
	default:
		return domain.Elements[e-1]
	}
}

// ElementToProto maps a known domain element to its enum value.
func ElementToProto(e domain.Element) commonv1.DataElement {
	return commonv1.DataElement(slices.Index(domain.Elements, e) + 1)
}

// AudienceToProto maps a known domain audience to its enum value.
func AudienceToProto(a domain.Audience) classificationv1.Audience {
	return classificationv1.Audience(slices.Index(domain.Audiences, a) + 1)
}

// FactsFromProto converts request facts; nil gives zero facts, which
// validation rejects (discovered_at is required).
func FactsFromProto(f *commonv1.BreachFacts) domain.Facts {
	out := domain.Facts{
		EncryptionKeyCompromised: f.GetEncryptionKeyCompromised(),
		RetrievedBeforeMisuse:    f.GetRetrievedBeforeMisuse(),
		ProperlyDisposed:         f.GetProperlyDisposed(),
		PublicRecordsOnly:        f.GetPublicRecordsOnly(),
	}
	for _, e := range f.GetDataElements() {
		out.DataElements = append(out.DataElements, ElementFromProto(e))
	}
	for _, e := range f.GetEncryptedElements() {
		out.EncryptedElements = append(out.EncryptedElements, ElementFromProto(e))
	}
	for _, a := range f.GetAffected() {
		out.Affected = append(out.Affected, domain.JurisdictionCount{Jurisdiction: a.GetJurisdiction(), Count: a.GetCount()})
	}
	out.DiscoveredAt = timeFrom(f.GetDiscoveredAt())
	out.DeterminedAt = timeFrom(f.GetDeterminedAt())
	out.MaterialityDeterminedAt = timeFrom(f.GetMaterialityDeterminedAt())
	out.CustomerIDs = f.GetCustomerIds()
	out.SECRegistrant = f.GetSecRegistrant()
	out.NoticeCostUSD = f.GetNoticeCostEstimateUsd()
	out.Role = enumName(int32(f.GetRole()), roles)
	out.HIPAARole = enumName(int32(f.GetHipaaRole()), hipaaRoles)
	out.NIS2Entity = enumName(int32(f.GetNis2Entity()), nis2Entities)
	for _, h := range f.GetLawEnforcementHolds() {
		hold := domain.Hold{
			ID: h.GetHoldId(), RequestedBy: h.GetRequestedBy(), Reason: h.GetReason(),
			Start: timeFrom(h.GetStartTime()), End: timeFrom(h.GetEndTime()),
			Jurisdictions: h.GetJurisdictions(),
		}
		for _, a := range h.GetAudiences() {
			hold.Audiences = append(hold.Audiences, domain.Audience(a))
		}
		out.Holds = append(out.Holds, hold)
	}
	return out
}

// Domain names of the fact enums, in proto enum order from 1; "" is the
// unspecified value and an unknown number a name validation rejects.
var (
	roles        = []string{domain.RoleController, domain.RoleProcessor}
	hipaaRoles   = []string{domain.HIPAACoveredEntity, domain.HIPAABusinessAssociate}
	nis2Entities = []string{domain.NIS2None, domain.NIS2Essential, domain.NIS2Important}
)

func enumName(n int32, names []string) string {
	switch {
	case n == 0:
		return ""
	case n < 0 || int(n) > len(names):
		return fmt.Sprintf("ENUM(%d)", n)
	default:
		return names[n-1]
	}
}

func enumNumber(name string, names []string) int32 {
	return int32(slices.Index(names, name) + 1)
}

func timeFrom(ts *timestamppb.Timestamp) time.Time {
	if ts == nil || !ts.IsValid() {
		return time.Time{}
	}
	return ts.AsTime()
}

// FactsToProto converts stored facts.
func FactsToProto(f domain.Facts) *commonv1.BreachFacts {
	out := &commonv1.BreachFacts{
		EncryptionKeyCompromised: f.EncryptionKeyCompromised,
		RetrievedBeforeMisuse:    f.RetrievedBeforeMisuse,
		ProperlyDisposed:         f.ProperlyDisposed,
		PublicRecordsOnly:        f.PublicRecordsOnly,
		DiscoveredAt:             timestamp(f.DiscoveredAt),
		DeterminedAt:             timestamp(f.DeterminedAt),
		MaterialityDeterminedAt:  timestamp(f.MaterialityDeterminedAt),
		CustomerIds:              f.CustomerIDs,
		SecRegistrant:            f.SECRegistrant,
		NoticeCostEstimateUsd:    f.NoticeCostUSD,
		Role:                     commonv1.DataRole(enumNumber(f.Role, roles)),
		HipaaRole:                commonv1.HipaaRole(enumNumber(f.HIPAARole, hipaaRoles)),
		Nis2Entity:               commonv1.Nis2Entity(enumNumber(f.NIS2Entity, nis2Entities)),
	}
	for _, h := range f.Holds {
		ph := &commonv1.LawEnforcementHold{
			HoldId: h.ID, RequestedBy: h.RequestedBy, Reason: h.Reason,
			StartTime: timestamp(h.Start), EndTime: timestamp(h.End), Jurisdictions: h.Jurisdictions,
		}
		for _, a := range h.Audiences {
			ph.Audiences = append(ph.Audiences, string(a))
		}
		out.LawEnforcementHolds = append(out.LawEnforcementHolds, ph)
	}
	for _, e := range f.DataElements {
		out.DataElements = append(out.DataElements, ElementToProto(e))
	}
	for _, e := range f.EncryptedElements {
		out.EncryptedElements = append(out.EncryptedElements, ElementToProto(e))
	}
	for _, a := range f.Affected {
		out.Affected = append(out.Affected, &commonv1.JurisdictionCount{Jurisdiction: a.Jurisdiction, Count: a.Count})
	}
	return out
}

// ObligationToProto converts one obligation; a zero deadline stays unset.
func ObligationToProto(o domain.Obligation) *classificationv1.Obligation {
	return &classificationv1.Obligation{
		ObligationId:       o.ObligationID,
		RulePack:           o.RulePack,
		RulePackVersion:    o.RulePackVersion,
		RuleId:             o.RuleID,
		Jurisdiction:       o.Jurisdiction,
		Audience:           AudienceToProto(o.Audience),
		Deadline:           timestamp(o.Deadline),
		DeadlineText:       o.DeadlineText,
		Reason:             o.Reason,
		Citation:           o.Citation,
		AffectedCount:      o.AffectedCount,
		Title:              o.Title,
		Notify:             o.Notify,
		Paused:             o.Paused,
		PausedSince:        timestamp(o.PausedSince),
		HoldIds:            o.HoldIDs,
		RequiredContent:    o.RequiredContent,
		ChannelConstraints: o.ChannelConstraints,
		Recipient:          o.Recipient,
		DeadlineBasis:      o.DeadlineBasis,
		ManualReview:       o.ManualReview,
		Unverified:         o.Unverified,
	}
}

// ObligationsToProto converts a list of obligations.
func ObligationsToProto(obs []domain.Obligation) []*classificationv1.Obligation {
	out := make([]*classificationv1.Obligation, len(obs))
	for i, o := range obs {
		out[i] = ObligationToProto(o)
	}
	return out
}

// AssessmentToProto converts a stored assessment. The request hash and the
// relay state are internal and not exposed.
func AssessmentToProto(a domain.Assessment) *classificationv1.Assessment {
	out := &classificationv1.Assessment{
		AssessmentId:        a.ID,
		IncidentId:          a.IncidentID,
		Facts:               FactsToProto(a.Facts),
		PersonalInformation: a.PersonalInformation,
		Findings:            a.Findings,
		Exceptions:          a.Exceptions,
		Obligations:         ObligationsToProto(a.Obligations),
		CreateTime:          timestamp(a.CreateTime),
	}
	for _, r := range a.RulePacks {
		out.RulePacks = append(out.RulePacks, &classificationv1.RulePackRef{Pack: r.Pack, Version: r.Version})
	}
	for _, c := range a.Customers {
		out.CustomerTerms = append(out.CustomerTerms, &classificationv1.CustomerTerms{
			CustomerId: c.CustomerID, Found: c.Found, DisplayName: c.DisplayName, NotificationEmail: c.NotificationEmail,
			NotifyWithinHours: c.NotifyWithinHours, EmployeeNotification: c.EmployeeNotification, Etag: c.Etag,
		})
	}
	return out
}

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
