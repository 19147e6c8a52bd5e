// Package domain holds intake's business rules: what a valid signal is, how a
// signal opens an incident exactly once, and how the breach assessment owed
// for each incident is obtained from classification. It knows nothing of
// protobuf or BSON; the server and store packages translate at the edges.
package domain

import (
	"strconv"
	"time"
)

// Severity is the source's rating of a signal. The numbers equal those of
// breachline.intake.v1.Severity so the server converts by a plain cast; a
// server test keeps the two in step.
type Severity int32

// Severity values, as in the proto.
const (
	SeverityUnspecified Severity = iota
	SeverityInfo
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

// Valid reports whether s is a defined severity (unspecified included: a
// source need not rate its signals).
func (s Severity) Valid() bool { return s >= SeverityUnspecified && s <= SeverityCritical }

// IncidentType is the kind of incident; numbers equal breachline.intake.v1.IncidentType.
type IncidentType int32

// IncidentType values, as in the proto.
const (
	IncidentTypeUnspecified IncidentType = iota
	IncidentTypePersonalInformationBreach
	IncidentTypePortScan
	IncidentTypeFirewallBreach
	IncidentTypeVirusOutbreak
	IncidentTypeRansomware
	IncidentTypeLostOrStolenDevice
	IncidentTypeImproperDisposal
	IncidentTypeThirdParty
)

// Valid reports whether t is a defined type (unspecified included: triage
// decides the type when the source does not know it).
func (t IncidentType) Valid() bool {
	return t >= IncidentTypeUnspecified && t <= IncidentTypeThirdParty
}

// IncidentState is where an incident is in its lifecycle; numbers equal
// breachline.intake.v1.IncidentState.
type IncidentState int32

// IncidentState values, as in the proto.
const (
	IncidentStateUnspecified IncidentState = iota
	IncidentStateReported
	IncidentStateTriage
	IncidentStateInvestigating
	IncidentStateContained
	IncidentStateNotifying
	IncidentStateClosed
)

// Valid reports whether s is a state a stored incident can be in (never
// unspecified).
func (s IncidentState) Valid() bool {
	return s >= IncidentStateReported && s <= IncidentStateClosed
}

// AssessmentStatus tracks the assessment intake owes classification a request
// for; numbers equal breachline.intake.v1.AssessmentStatus.
type AssessmentStatus int32

// AssessmentStatus values, as in the proto.
const (
	AssessmentStatusUnspecified AssessmentStatus = iota
	AssessmentStatusPending
	AssessmentStatusCompleted
)

// DataElement is a kind of personal information; numbers equal
// breachline.common.v1.DataElement.
type DataElement int32

// DataElementUnspecified is the zero value, rejected wherever an element is
// required. DataElementTaxID is the highest defined element.
const (
	DataElementUnspecified DataElement = 0
	DataElementName        DataElement = 1
	DataElementSSN         DataElement = 2
	DataElementTaxID       DataElement = 18
)

// Valid reports whether e is a defined, non-zero element.
func (e DataElement) Valid() bool { return e > DataElementUnspecified && e <= DataElementTaxID }

// JurisdictionCount is the number of affected individuals residing in one
// ISO 3166 jurisdiction ("DE", "US-TX").
type JurisdictionCount struct {
	Jurisdiction string `json:"jurisdiction"`
	Count        int64  `json:"count"`
}

// BreachFacts are the facts the breach assessment decides on. They are copied
// verbatim into every assessment request so a decision can be reproduced.
type BreachFacts struct {
	DataElements             []DataElement
	EncryptedElements        []DataElement
	EncryptionKeyCompromised bool
	Affected                 []JurisdictionCount
	RetrievedBeforeMisuse    bool
	ProperlyDisposed         bool
	PublicRecordsOnly        bool
	// DiscoveredAt starts the statutory clocks. Zero on a signal means the
	// source did not say; the incident then uses the time intake received it.
	DiscoveredAt time.Time
}

// Signal is one security signal as a SIEM reported it, plus what intake
// assigned on receipt. The stored signal carries everything needed to rebuild
// its incident, which is what makes opening the incident crash-safe.
type Signal struct {
	// ID, IncidentID and ReceivedAt are assigned by intake.
	ID         string
	IncidentID string
	ReceivedAt time.Time

	Source        string
	SourceEventID string
	Title         string
	Description   string
	Severity      Severity
	Type          IncidentType
	ObservedAt    time.Time
	Asset         string
	CustomerIDs   []string
	// Exposure is nil when the source said nothing about exposed data.
	Exposure *BreachFacts
	// Raw is the source's original payload (a JSON object), kept for the
	// record; nil when none was sent.
	Raw map[string]any

	// CorrelationKey is Correlation.KeyOf the signal when it was received
	// (empty: correlation was off); the incident it opens carries it.
	CorrelationKey string
	// Attached is true when the signal joined an existing incident instead
	// of opening IncidentID.
	Attached bool
}

// Incident is the case the response is organised around. It also carries the
// bookkeeping of the pending assessment request (attempts, next attempt,
// last error), so that side effect lives on its owning document until done.
type Incident struct {
	ID          string
	Title       string
	Description string
	Type        IncidentType
	State       IncidentState
	Severity    Severity
	CustomerIDs []string
	Asset       string
	// Facts are what classification reads. Their data elements, encrypted
	// elements and discovery time are copies of Record (see SyncFacts); the
	// other facts are set directly.
	Facts       BreachFacts
	Record      IncidentRecord
	SignalCount int64
	// CorrelationKey is the key of the signal that opened the incident
	// (empty: not correlated); signals with the same key may attach to it.
	CorrelationKey string
	// LastSignalAt is the latest observed_at of its signals; zero on
	// incidents from before correlation, which then use CreateTime.
	LastSignalAt     time.Time
	AssessmentStatus AssessmentStatus
	AssessmentID     string
	CreateTime       time.Time
	UpdateTime       time.Time
	// Version increases on every update; the etag is its decimal form.
	Version int64
	// FactsVersion increases whenever Facts change, so each version of the
	// facts gets its own idempotent assessment request.
	FactsVersion int64

	// Assessment relay bookkeeping.
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
}

// Etag is the opaque version clients send back for optimistic concurrency.
func (i Incident) Etag() string { return strconv.FormatInt(i.Version, 10) }

// AssessmentRequestID is the idempotency key of the assessment request for
// the incident's current facts: a retry after a crash or lost reply asks for
// the same assessment and classification returns the stored one.
func (i Incident) AssessmentRequestID() string {
	return i.ID + ":facts:" + strconv.FormatInt(i.FactsVersion, 10)
}

// NewIncident is the incident a signal opens. It depends only on the stored
// signal, so re-deriving it after a crash yields the same document. The
// record starts with what the signal tells: when the activity was observed,
// the affected asset, who discovered it (the SIEM) and the exposed data.
func NewIncident(s Signal) Incident {
	facts := BreachFacts{DiscoveredAt: s.ReceivedAt}
	if s.Exposure != nil {
		facts = *s.Exposure
		if facts.DiscoveredAt.IsZero() {
			facts.DiscoveredAt = s.ReceivedAt
		}
	}
	rec := IncidentRecord{
		OccurredStart: s.ObservedAt,
		Discovery: Discovery{
			DiscoveredAt: facts.DiscoveredAt,
			DiscoveredBy: "siem:" + s.Source,
			How:          "Reported by " + s.Source + " as event " + s.SourceEventID + ".",
		},
		CompromisedData: CompromisedData{
			DataFields:      facts.DataElements,
			EncryptedFields: facts.EncryptedElements,
		},
	}
	if s.Asset != "" {
		rec.Intrusion.CompromisedSystems = []string{s.Asset}
	}
	if s.Type == IncidentTypeImproperDisposal {
		rec.RecordsForm = RecordsFormPhysical
	}
	return Incident{
		ID:               s.IncidentID,
		Title:            s.Title,
		Description:      s.Description,
		Type:             s.Type,
		State:            IncidentStateReported,
		Severity:         s.Severity,
		CustomerIDs:      s.CustomerIDs,
		Asset:            s.Asset,
		Facts:            facts,
		Record:           rec,
		SignalCount:      1,
		CorrelationKey:   s.CorrelationKey,
		LastSignalAt:     s.ObservedAt,
		AssessmentStatus: AssessmentStatusPending,
		CreateTime:       s.ReceivedAt,
		UpdateTime:       s.ReceivedAt,
		Version:          1,
		FactsVersion:     1,
		NextAttemptAt:    s.ReceivedAt,
	}
}

// SyncFacts copies the record's data fields, encrypted fields and discovery
// time into Facts, so that the record is the one place they are edited and
// classification always reads what the record says.
func (i *Incident) SyncFacts() {
	i.Facts.DataElements = i.Record.CompromisedData.DataFields
	i.Facts.EncryptedElements = i.Record.CompromisedData.EncryptedFields
	i.Facts.DiscoveredAt = i.Record.Discovery.DiscoveredAt
}

// ReportOutcome says what reporting a signal did.
type ReportOutcome int32

// ReportOutcome values; numbers equal breachline.intake.v1.ReportSignalOutcome.
const (
	ReportOutcomeUnspecified ReportOutcome = iota
	ReportOutcomeIncidentCreated
	ReportOutcomeDuplicate
	ReportOutcomeAttached
)

// ReportResult is the result of ReportSignal.
type ReportResult struct {
	SignalID string
	// Signal is the stored signal (the first report's, on a duplicate).
	Signal   Signal
	Outcome  ReportOutcome
	Incident Incident
}

// IncidentFilter narrows ListIncidents. Zero fields do not filter.
type IncidentFilter struct {
	State      IncidentState
	CustomerID string
}

// PageRequest is one AIP-158 page request after validation.
type PageRequest struct {
	Size  int
	Token string
}

// IncidentPage is one page of incidents, newest first.
type IncidentPage struct {
	Incidents     []Incident
	NextPageToken string
}
