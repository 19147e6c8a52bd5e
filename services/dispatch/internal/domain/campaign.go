// Package domain holds dispatch's campaigns: what a notice campaign is, which
// channel each audience is proposed, the rules a draft request must satisfy,
// and the narrow Store the rest of the service persists them through.
package domain

import (
	"fmt"
	"time"
)

// IDPrefix starts every campaign id ("cmp_<objectid hex>"), so a campaign id
// is recognisable in logs and on the timeline and malformed ids are rejected
// before they reach the store.
const IDPrefix = "cmp"

// Audience is who an obligation requires to be told. The values equal the
// numbers of breachline.classification.v1.Audience so that obligations pass
// from classification to dispatch without a lossy mapping; the server checks
// the two stay in step.
type Audience int

// Audiences, in proto order.
const (
	AudienceUnspecified Audience = iota
	AudienceIndividuals
	AudienceRegulator
	AudienceSupervisoryAuthority
	AudienceController
	AudienceConsumerReportingAgencies
	AudienceLawEnforcement
	AudienceInsurer
	AudienceHostingProvider
	AudienceMedia
	AudienceExecutiveManagement
	AudienceResponseTeam
)

// audienceCodes are the stable names stored in the database and shown in
// errors; a renamed Go constant must not change stored records.
var audienceCodes = map[Audience]string{
	AudienceIndividuals:               "individuals",
	AudienceRegulator:                 "regulator",
	AudienceSupervisoryAuthority:      "supervisory_authority",
	AudienceController:                "controller",
	AudienceConsumerReportingAgencies: "consumer_reporting_agencies",
	AudienceLawEnforcement:            "law_enforcement",
	AudienceInsurer:                   "insurer",
	AudienceHostingProvider:           "hosting_provider",
	AudienceMedia:                     "media",
	AudienceExecutiveManagement:       "executive_management",
	AudienceResponseTeam:              "response_team",
}

// Known reports whether a is a defined, non-zero audience.
func (a Audience) Known() bool {
	_, ok := audienceCodes[a]
	return ok
}

// String returns the stable code of a ("individuals"), or a numeric form for
// values outside the enum.
func (a Audience) String() string {
	if c, ok := audienceCodes[a]; ok {
		return c
	}
	return fmt.Sprintf("audience(%d)", int(a))
}

// ParseAudience reverses String for known audiences, so stored records
// decode back to the same value.
func ParseAudience(code string) (Audience, error) {
	for a, c := range audienceCodes {
		if c == code {
			return a, nil
		}
	}
	return AudienceUnspecified, fmt.Errorf("unknown audience %q", code)
}

// Channel is how a campaign's notices are delivered. The values equal the
// numbers of breachline.dispatch.v1.Channel.
type Channel int

// Channels, in proto order.
const (
	ChannelUnspecified Channel = iota
	ChannelEmail
	ChannelWebhook
	ChannelLetter
	ChannelWebsite
	ChannelMediaRelease
	ChannelRegulatorPacket
)

var channelCodes = map[Channel]string{
	ChannelEmail:           "email",
	ChannelWebhook:         "webhook",
	ChannelLetter:          "letter",
	ChannelWebsite:         "website",
	ChannelMediaRelease:    "media_release",
	ChannelRegulatorPacket: "regulator_packet",
}

// String returns the stable code of c ("email"), as stored.
func (c Channel) String() string {
	if s, ok := channelCodes[c]; ok {
		return s
	}
	return fmt.Sprintf("channel(%d)", int(c))
}

// ParseChannel reverses String for known channels.
func ParseChannel(code string) (Channel, error) {
	for c, s := range channelCodes {
		if s == code {
			return c, nil
		}
	}
	return ChannelUnspecified, fmt.Errorf("unknown channel %q", code)
}

// proposedChannels is the channel a draft campaign proposes for each
// audience. It is only a proposal: the response team may change it before
// approval (e.g. substitute notice on the website when a breach is too large
// for letters, as the nonprofit procedure allows).
//
//	audience                            channel           why
//	individuals                         EMAIL             "Email notice" is a listed delivery method and the fastest; written notice is the fallback
//	regulator, supervisory authority    REGULATOR_PACKET  attorneys general and GDPR authorities take a portal or form submission
//	media                               MEDIA_RELEASE     "notification to major media"; needs Legal + Executive Director + an Officer first
//	controller, executive management,   EMAIL             named contacts (the customer's Notification Email Address, the team)
//	response team, insurer, law
//	enforcement, hosting provider
//	consumer reporting agencies         LETTER            the nationwide agencies take written notice
var proposedChannels = map[Audience]Channel{
	AudienceIndividuals:               ChannelEmail,
	AudienceRegulator:                 ChannelRegulatorPacket,
	AudienceSupervisoryAuthority:      ChannelRegulatorPacket,
	AudienceMedia:                     ChannelMediaRelease,
	AudienceController:                ChannelEmail,
	AudienceExecutiveManagement:       ChannelEmail,
	AudienceResponseTeam:              ChannelEmail,
	AudienceInsurer:                   ChannelEmail,
	AudienceLawEnforcement:            ChannelEmail,
	AudienceHostingProvider:           ChannelEmail,
	AudienceConsumerReportingAgencies: ChannelLetter,
}

// ProposedChannel returns the channel a new draft for audience proposes, or
// ChannelUnspecified for an unknown audience (which validation rejects).
func ProposedChannel(a Audience) Channel {
	return proposedChannels[a]
}

// State is where a campaign is in its lifecycle.
type State int

// States, in proto order. DRAFT → SENDING ⇄ PAUSED → COMPLETED; a completed
// campaign may be edited (back to DRAFT) to send a corrected version.
const (
	StateUnspecified State = iota
	StateDraft
	StateSending
	StatePaused
	StateCompleted
)

var stateCodes = map[State]string{
	StateDraft:     "draft",
	StateSending:   "sending",
	StatePaused:    "paused",
	StateCompleted: "completed",
}

// String returns the stable code of s ("draft"), as stored.
func (s State) String() string {
	if c, ok := stateCodes[s]; ok {
		return c
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// ParseState reverses String for known states.
func ParseState(code string) (State, error) {
	for s, c := range stateCodes {
		if c == code {
			return s, nil
		}
	}
	return StateUnspecified, fmt.Errorf("unknown state %q", code)
}

// Obligation is the duty a campaign fulfils, copied from classification's
// assessment so that the campaign shows exactly what was decided even if
// rule packs change later.
type Obligation struct {
	// ID is stable within the assessment, e.g. "us-tx.ag"; with the
	// assessment id it identifies the campaign.
	ID              string
	RulePack        string
	RulePackVersion string
	RuleID          string
	Jurisdiction    string
	Audience        Audience
	// Deadline is the latest time notice may be given, in UTC with full
	// precision; zero when the law sets no fixed period (see DeadlineText).
	Deadline      time.Time
	DeadlineText  string
	Reason        string
	Citation      string
	AffectedCount int64
	// Recipient is who exactly is told, as classification resolved it
	// (e.g. a customer's Notification Email Address).
	Recipient string
}

// Campaign is the notice to one audience for one obligation.
type Campaign struct {
	ID           string
	IncidentID   string
	AssessmentID string
	Obligation   Obligation
	State        State
	Channel      Channel
	// CreateTime is when the campaign was drafted, UTC, millisecond precision
	// (what the store keeps).
	CreateTime time.Time

	// TemplateID names the template version; empty resolves the newest for
	// the audience and jurisdiction.
	TemplateID string
	// Content fills the template's content keys.
	Content map[string]string
	// Version is the rendered version (1 at drafting, +1 per edit).
	Version int64
	// ContentHash fingerprints Version (see ContentHash).
	ContentHash string
	// DraftedBy made Version and cannot approve it.
	DraftedBy string
	// Approvals of Version only; an edit clears them.
	Approvals []Approval
	// RecipientChunks are the ids of the recipient chunks, in order; each
	// chunk is one unit of outbox work.
	RecipientChunks []string
	RecipientCount  int64
	// SentVersion is the version being or last sent.
	SentVersion int64
}

// Approval is one person's approval of one exact version.
type Approval struct {
	Approver    string
	Role        string
	Version     int64
	ContentHash string
	Time        time.Time
}

// Hold is a law-enforcement hold on an incident or a campaign.
type Hold struct {
	ID          string
	RequestID   string
	IncidentID  string
	CampaignID  string
	RequestedBy string
	Reason      string
	PlacedBy    string
	PlaceTime   time.Time
	ReleasedBy  string
	ReleaseTime time.Time
}

// Active reports whether h still holds.
func (h Hold) Active() bool { return h.ReleaseTime.IsZero() }

// Recipient is one addressee.
type Recipient struct {
	// Key identifies the recipient within the campaign (a hash of the
	// normalised address), so the outbox can name it without the address.
	Key          string
	Name         string
	Address      string
	Jurisdiction string
	// PostalAddress (lines joined by newlines) is where a printed letter
	// goes when an e-mail to Address hard-bounces.
	PostalAddress string
}
