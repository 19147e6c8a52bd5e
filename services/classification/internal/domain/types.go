// Package domain holds the classification service's model and logic: the
// breach facts an assessment decides on, the obligations it produces, request
// validation, the idempotent assess flow, and the relay that hands new
// obligations to dispatch. It knows nothing of proto or bson; the rules
// engine that turns facts into obligations plugs in through Engine.
package domain

import (
	"slices"
	"time"
)

// Element is a kind of personal data an incident may have exposed. The
// values are the lower-case names rule packs use, so a lawyer reading a pack
// sees the same words the engine uses.
type Element string

// The data elements of common.v1.DataElement. Only the kind of data is ever
// carried, never a value.
const (
	ElementName                Element = "name"
	ElementSSN                 Element = "ssn"
	ElementDriversLicense      Element = "drivers_license"
	ElementGovernmentID        Element = "government_id"
	ElementPassport            Element = "passport"
	ElementFinancialAccount    Element = "financial_account"
	ElementPaymentCard         Element = "payment_card"
	ElementFinancialAccessCode Element = "financial_access_code"
	ElementPassword            Element = "password"
	ElementOnlineCredentials   Element = "online_credentials"
	ElementHomeAddress         Element = "home_address"
	ElementEmailAddress        Element = "email_address"
	ElementMedical             Element = "medical"
	ElementHealthInsurance     Element = "health_insurance"
	ElementBiometric           Element = "biometric"
	ElementDateOfBirth         Element = "date_of_birth"
	ElementPhoneNumber         Element = "phone_number"
	ElementTaxID               Element = "tax_id"
)

// Elements lists every known element in proto enum order; validation and
// pack loading accept nothing else.
var Elements = []Element{
	ElementName, ElementSSN, ElementDriversLicense, ElementGovernmentID,
	ElementPassport, ElementFinancialAccount, ElementPaymentCard,
	ElementFinancialAccessCode, ElementPassword, ElementOnlineCredentials,
	ElementHomeAddress, ElementEmailAddress, ElementMedical,
	ElementHealthInsurance, ElementBiometric, ElementDateOfBirth,
	ElementPhoneNumber, ElementTaxID,
}

// Known reports whether e is one of Elements.
func (e Element) Known() bool { return slices.Contains(Elements, e) }

// Audience is who an obligation requires to be told.
type Audience string

// The audiences of classification.v1.Audience, named as rule packs name them.
const (
	AudienceIndividuals               Audience = "individuals"
	AudienceRegulator                 Audience = "regulator"
	AudienceSupervisoryAuthority      Audience = "supervisory_authority"
	AudienceController                Audience = "controller"
	AudienceConsumerReportingAgencies Audience = "consumer_reporting_agencies"
	AudienceLawEnforcement            Audience = "law_enforcement"
	AudienceInsurer                   Audience = "insurer"
	AudienceHostingProvider           Audience = "hosting_provider"
	AudienceMedia                     Audience = "media"
	AudienceExecutiveManagement       Audience = "executive_management"
	AudienceResponseTeam              Audience = "response_team"
)

// Audiences lists every known audience in proto enum order.
var Audiences = []Audience{
	AudienceIndividuals, AudienceRegulator, AudienceSupervisoryAuthority,
	AudienceController, AudienceConsumerReportingAgencies,
	AudienceLawEnforcement, AudienceInsurer, AudienceHostingProvider,
	AudienceMedia, AudienceExecutiveManagement, AudienceResponseTeam,
}

// Known reports whether a is one of Audiences.
func (a Audience) Known() bool { return slices.Contains(Audiences, a) }

// JurisdictionCount is how many affected individuals reside in one
// jurisdiction (an ISO 3166 country or subdivision code such as "US-TX").
type JurisdictionCount struct {
	Jurisdiction string
	Count        int64
}

// Facts are what an assessment decides on. They are stored with the
// assessment so the decision can be reproduced.
type Facts struct {
	DataElements             []Element
	EncryptedElements        []Element
	EncryptionKeyCompromised bool
	Affected                 []JurisdictionCount
	RetrievedBeforeMisuse    bool
	ProperlyDisposed         bool
	PublicRecordsOnly        bool
	// DiscoveredAt starts the statutory clocks. Stored at millisecond
	// precision (MongoDB's), so Normalize truncates it before any decision.
	DiscoveredAt time.Time
	// DeterminedAt starts the clocks the law runs from determination of the
	// breach; zero means DiscoveredAt (see ClockStart).
	DeterminedAt time.Time
	// CustomerIDs are the registry customers (controllers) involved.
	CustomerIDs []string
	// Role is our role for the data: RoleController, RoleProcessor or ""
	// (unknown: both duties are produced).
	Role string
	// HIPAARole is HIPAACoveredEntity, HIPAABusinessAssociate or "" (HIPAA
	// does not apply).
	HIPAARole string
	// NIS2Entity is NIS2None, NIS2Essential, NIS2Important or "" (unknown).
	NIS2Entity string
	// SECRegistrant: we file Form 8-K.
	SECRegistrant bool
	// MaterialityDeterminedAt starts the SEC Item 1.05 clock; zero when the
	// incident is not (yet) determined material.
	MaterialityDeterminedAt time.Time
	// Holds are law-enforcement requests to delay notice.
	Holds []Hold
	// NoticeCostUSD estimates the cost of individual notice; 0 is unknown.
	NoticeCostUSD int64
}

// Values of Facts.Role, Facts.HIPAARole and Facts.NIS2Entity, as rule packs
// name them in "when" conditions.
const (
	RoleController         = "controller"
	RoleProcessor          = "processor"
	HIPAACoveredEntity     = "covered_entity"
	HIPAABusinessAssociate = "business_associate"
	NIS2None               = "none"
	NIS2Essential          = "essential"
	NIS2Important          = "important"
)

// Hold is a law-enforcement request to delay notice. It pauses the clocks of
// the obligations in its scope from Start until End (zero while open).
type Hold struct {
	ID          string
	RequestedBy string
	Reason      string
	Start       time.Time
	End         time.Time
	// Jurisdictions in scope (obligation jurisdiction labels); empty = all.
	Jurisdictions []string
	// Audiences in scope; empty = DefaultHoldAudiences.
	Audiences []Audience
}

// DefaultHoldAudiences are the notices a hold without audiences pauses: the
// individual and public notices the statutes' delay clauses speak of.
var DefaultHoldAudiences = []Audience{AudienceIndividuals, AudienceConsumerReportingAgencies, AudienceMedia}

// Covers reports whether h pauses an obligation of audience a under
// jurisdiction j.
func (h Hold) Covers(j string, a Audience) bool {
	auds := h.Audiences
	if len(auds) == 0 {
		auds = DefaultHoldAudiences
	}
	return slices.Contains(auds, a) && (len(h.Jurisdictions) == 0 || slices.Contains(h.Jurisdictions, j))
}

// ClockStart is when clocks "from determination" start: DeterminedAt, or
// DiscoveredAt when it is unset.
func (f Facts) ClockStart() time.Time {
	if f.DeterminedAt.IsZero() {
		return f.DiscoveredAt
	}
	return f.DeterminedAt
}

// TotalAffected sums the affected counts.
func (f Facts) TotalAffected() int64 {
	var n int64
	for _, a := range f.Affected {
		n += a.Count
	}
	return n
}

// Obligation is one duty to notify one audience, with its clock and the
// reason it applies.
type Obligation struct {
	// ObligationID is stable for the same rule and jurisdiction across
	// assessments, e.g. "us-tx.attorney-general"; dispatch keys campaigns on it.
	ObligationID    string
	RulePack        string
	RulePackVersion string
	RuleID          string
	Jurisdiction    string
	Audience        Audience
	// Deadline is the latest time notice may be given; zero when the law
	// sets no fixed period (DeadlineText then says what it does set).
	Deadline      time.Time
	DeadlineText  string
	Reason        string
	Citation      string
	AffectedCount int64
	// Title is the rule's short title.
	Title string
	// Notify: notice is required. False obligations explain a duty that was
	// considered and did not fire; they never become campaigns.
	Notify bool
	// Paused: an open law-enforcement hold stops the clock (Deadline zero).
	Paused      bool
	PausedSince time.Time
	// HoldIDs are the holds that paused (or pause) the clock.
	HoldIDs            []string
	RequiredContent    []string
	ChannelConstraints []string
	Recipient          string
	// DeadlineBasis says what the deadline is computed from, and how.
	DeadlineBasis string
	// ManualReview: a fact the duty rests on is unknown.
	ManualReview bool
	// Unverified: the rule rests on a fact not verified at its source.
	Unverified bool
}

// CustomerTerms is the snapshot of one customer's contractual notification
// terms an assessment used.
type CustomerTerms struct {
	CustomerID string
	// Found is false when the registry does not know the customer.
	Found                bool
	DisplayName          string
	NotificationEmail    string
	NotifyWithinHours    int32
	EmployeeNotification string
	Etag                 string
}

// Values of CustomerTerms.EmployeeNotification.
const (
	EmployeesByCustomer  = "customer"
	EmployeesByProcessor = "processor"
)

// Input is everything a decision depends on: the facts and the contractual
// terms read for them.
type Input struct {
	Facts     Facts
	Customers []CustomerTerms
}

// RulePackRef names a rule pack at a version.
type RulePackRef struct {
	Pack    string
	Version string
}

// Decision is what the rules engine concludes from a set of facts.
type Decision struct {
	PersonalInformation bool
	Findings            []string
	Exceptions          []string
	Obligations         []Obligation
	RulePacks           []RulePackRef
}

// Assessment is a stored decision about one incident's facts.
type Assessment struct {
	ID         string
	RequestID  string
	IncidentID string
	// RequestHash fingerprints the request (incident and facts), so a reused
	// request id with a different request is told apart from a retry.
	RequestHash string
	Facts       Facts
	// Customers are the contractual terms the decision used.
	Customers []CustomerTerms
	Decision
	CreateTime time.Time
}

// PendingCampaigns is an assessment whose obligations still have to be
// handed to dispatch, as claimed by one relay replica.
type PendingCampaigns struct {
	Assessment Assessment
	// Attempts counts claims so far, this one included.
	Attempts int
}
