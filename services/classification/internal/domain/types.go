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
