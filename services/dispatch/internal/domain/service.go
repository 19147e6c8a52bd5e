package domain

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
)

// Limits on a draft request. They keep one request, one stored campaign and
// one response (at most MaxObligations campaigns) well inside gRPC's 4 MiB
// message limit.
const (
	MaxIDLen           = 128
	MaxObligations     = 1000
	MaxJurisdictionLen = 16
	MaxRulePackLen     = 64
	MaxRuleIDLen       = 128
	MaxDeadlineTextLen = 500
	MaxReasonLen       = 2000
	MaxCitationLen     = 500
)

// Page sizes (AIP-158).
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Deadlines outside [minDeadline, maxDeadline) are rejected as nonsense: a
// notification clock cannot have run out before the software existed or run
// for centuries.
var (
	minDeadline = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDeadline = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Store persists campaigns. Implementations must make CreateDrafts
// idempotent on (assessment id, obligation id) with a unique index, so that
// concurrent and repeated calls never create a second campaign.
type Store interface {
	// CreateDrafts stores each draft unless a campaign for its (assessment id,
	// obligation id) already exists. It returns, in input order, the stored
	// campaign for every draft (the existing one where there was one) and how
	// many drafts this call inserted.
	CreateDrafts(ctx context.Context, drafts []Campaign) ([]Campaign, int, error)
	// Get returns one campaign, or an error wrapping apperr.ErrNotFound.
	Get(ctx context.Context, id string) (Campaign, error)
	// List returns up to q.Limit campaigns with ids greater than q.After (all
	// when After is empty), of q.IncidentID when set, in id order.
	List(ctx context.Context, q ListQuery) ([]Campaign, error)
	// UpdateCampaign replaces the editable fields of c (template, content,
	// channel, version, hash, drafter, approvals, recipients, state) if the
	// stored version is still prevVersion, else returns ErrConflict.
	UpdateCampaign(ctx context.Context, c Campaign, prevVersion int64) error
	// SetState moves a campaign from one of from to to (setting
	// SentVersion when sentVersion > 0); ErrFailedPrecondition otherwise.
	SetState(ctx context.Context, id string, from []State, to State, sentVersion int64) error
	// AddApproval appends a to the campaign if its version is a.Version;
	// ErrConflict otherwise.
	AddApproval(ctx context.Context, id string, a Approval) error
	// ListByState returns every campaign in state.
	ListByState(ctx context.Context, state State) ([]Campaign, error)

	// ClaimRecipientKeys records that each key belongs to chunkID unless
	// the campaign already has it in another chunk; it reports, per key,
	// whether chunkID owns it.
	ClaimRecipientKeys(ctx context.Context, campaignID, chunkID string, keys []string) ([]bool, error)
	// InsertChunk stores a chunk of recipients (no-op if it exists).
	InsertChunk(ctx context.Context, chunkID, campaignID string, rs []Recipient) error
	// GetChunk returns a chunk's recipients in order.
	GetChunk(ctx context.Context, chunkID string) ([]Recipient, error)

	// CreateHold stores h unless a hold with its RequestID exists, and
	// returns the stored hold.
	CreateHold(ctx context.Context, h Hold) (Hold, error)
	// ReleaseHold marks a hold released (keeping the first release).
	ReleaseHold(ctx context.Context, id, by string, at time.Time) (Hold, error)
	// ListHolds returns holds of an incident (all when empty), oldest first.
	ListHolds(ctx context.Context, incidentID string) ([]Hold, error)
	// ActiveHolds returns unreleased holds on the incident or the campaign.
	ActiveHolds(ctx context.Context, incidentID, campaignID string) ([]Hold, error)

	OutboxStore
	ArtifactStore
	BounceStore

	// EnqueueTimeline records a pending timeline entry unless one with its
	// RequestID exists.
	EnqueueTimeline(ctx context.Context, e TimelineEntry) error
	// ClaimTimeline leases one due pending entry to owner.
	ClaimTimeline(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (TimelineEntry, bool, error)
	// CompleteTimeline clears the pending flag of an entry owner holds.
	CompleteTimeline(ctx context.Context, requestID, owner string) error
	// InsertEscalation records an escalation fence, reporting false when it
	// exists; DeleteEscalation removes it.
	InsertEscalation(ctx context.Context, key string, at time.Time) (bool, error)
	DeleteEscalation(ctx context.Context, key string) error
	// RetryTimeline releases an entry to be tried again at next.
	RetryTimeline(ctx context.Context, requestID, owner string, next time.Time) error
}

// ListQuery selects one page of campaigns for the store.
type ListQuery struct {
	IncidentID string
	After      string
	Limit      int
}

// Service is dispatch's use-case layer: it validates requests, drafts
// campaigns and pages through them. Handlers call it; it calls the Store.
type Service struct {
	store     Store
	now       func() time.Time
	templates *Templates
	policy    Policy
	org       OrgData
	contacts  Contacts

	individuals Individuals
	timeline    Timeline
	printer     Printer
	website     WebsitePublisher
	substitute  SubstituteRules
}

// NewService returns a Service over store; now is the clock (time.Now in
// production, fixed in tests). It panics if the embedded templates or
// policy are broken, which their tests rule out.
func NewService(store Store, now func() time.Time) *Service {
	ts, err := LoadTemplates()
	if err != nil {
		panic(err)
	}
	p, err := LoadPolicy()
	if err != nil {
		panic(err)
	}
	cs, err := LoadContacts()
	if err != nil {
		panic(err)
	}
	sub, err := LoadSubstituteRules()
	if err != nil {
		panic(err)
	}
	return &Service{store: store, now: now, templates: ts, policy: p, org: DefaultOrg, contacts: cs, substitute: sub}
}

// DefaultOrg is the organisation shown in notices unless configured.
var DefaultOrg = OrgData{Name: "Breachline Example Org", Phone: "1-800-555-0100", Email: "privacy@example.org", Website: "https://example.org"}

// WithOrg sets the organisation shown in notices.
func (s *Service) WithOrg(o OrgData) *Service { s.org = o; return s }

// Templates returns the template catalogue.
func (s *Service) Templates() *Templates { return s.templates }

// DraftRequest asks for one draft campaign per obligation of an assessment.
type DraftRequest struct {
	IncidentID   string
	AssessmentID string
	Obligations  []Obligation
}

// DraftResult is the campaigns for a DraftRequest, in request order.
type DraftResult struct {
	Campaigns []Campaign
	// Created is how many of them this call created; the rest existed.
	Created int
}

// Validate returns every violation in r, with proto field paths
// ("obligations[2].audience"). An empty result means r is valid.
func (r DraftRequest) Validate() apperr.Violations {
	var v apperr.Violations
	checkID(&v, "incident_id", r.IncidentID)
	checkID(&v, "assessment_id", r.AssessmentID)
	if len(r.Obligations) > MaxObligations {
		// Checking each of an oversized list would only bury this one
		// actionable violation.
		v.Add("obligations", "must have at most %d obligations, has %d", MaxObligations, len(r.Obligations))
		return v
	}
	first := make(map[string]int, len(r.Obligations))
	for i, o := range r.Obligations {
		p := fmt.Sprintf("obligations[%d].", i)
		checkID(&v, p+"obligation_id", o.ID)
		if j, dup := first[o.ID]; dup && o.ID != "" {
			v.Add(p+"obligation_id", "duplicates obligations[%d].obligation_id", j)
		} else if o.ID != "" {
			first[o.ID] = i
		}
		checkLen(&v, p+"rule_pack", o.RulePack, MaxRulePackLen)
		checkLen(&v, p+"rule_pack_version", o.RulePackVersion, MaxRulePackLen)
		checkLen(&v, p+"rule_id", o.RuleID, MaxRuleIDLen)
		if o.Jurisdiction == "" {
			v.Add(p+"jurisdiction", "is required")
		} else {
			checkLen(&v, p+"jurisdiction", o.Jurisdiction, MaxJurisdictionLen)
		}
		switch {
		case o.Audience == AudienceUnspecified:
			v.Add(p+"audience", "is required")
		case !o.Audience.Known():
			v.Add(p+"audience", "unknown value %d", int(o.Audience))
		}
		if !o.Deadline.IsZero() && (o.Deadline.Before(minDeadline) || !o.Deadline.Before(maxDeadline)) {
			v.Add(p+"deadline", "must be between %s and %s", minDeadline.Format(time.DateOnly), maxDeadline.Format(time.DateOnly))
		}
		checkLen(&v, p+"deadline_text", o.DeadlineText, MaxDeadlineTextLen)
		checkLen(&v, p+"reason", o.Reason, MaxReasonLen)
		checkLen(&v, p+"citation", o.Citation, MaxCitationLen)
		checkLen(&v, p+"recipient", o.Recipient, MaxCitationLen)
		if o.AffectedCount < 0 {
			v.Add(p+"affected_count", "must not be negative")
		}
	}
	return v
}

func checkID(v *apperr.Violations, field, s string) {
	if s == "" {
		v.Add(field, "is required")
		return
	}
	checkLen(v, field, s, MaxIDLen)
}

func checkLen(v *apperr.Violations, field, s string, maxLen int) {
	if n := utf8.RuneCountInString(s); n > maxLen {
		v.Add(field, "must be at most %d characters, has %d", maxLen, n)
	}
}

// CreateDrafts drafts one campaign per obligation, each proposing the
// channel for its audience. A campaign is identified by (assessment id,
// obligation id): repeating the request, or racing it, creates nothing more
// and returns the existing campaigns.
func (s *Service) CreateDrafts(ctx context.Context, r DraftRequest) (DraftResult, error) {
	if err := r.Validate().Err(); err != nil {
		return DraftResult{}, err
	}
	if len(r.Obligations) == 0 {
		return DraftResult{Campaigns: []Campaign{}}, nil
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	drafts := make([]Campaign, len(r.Obligations))
	for i, o := range r.Obligations {
		if !o.Deadline.IsZero() {
			o.Deadline = o.Deadline.UTC()
		}
		drafts[i] = Campaign{
			ID:           ids.New(IDPrefix),
			IncidentID:   r.IncidentID,
			AssessmentID: r.AssessmentID,
			Obligation:   o,
			State:        StateDraft,
			Channel:      ProposedChannel(o.Audience),
			CreateTime:   now,
			Version:      1,
			DraftedBy:    SystemDrafter,
		}
		if t, ok := s.templates.Resolve("", o.Audience, o.Jurisdiction); ok {
			drafts[i].ContentHash = ContentHash(t, drafts[i])
		}
	}
	stored, created, err := s.store.CreateDrafts(ctx, drafts)
	if err != nil {
		return DraftResult{}, fmt.Errorf("create drafts for assessment %s: %w", r.AssessmentID, err)
	}
	return DraftResult{Campaigns: stored, Created: created}, nil
}

// GetCampaign returns one campaign. A malformed id is bad input rather than
// "not found", so a caller can tell a typo from a deleted campaign.
func (s *Service) GetCampaign(ctx context.Context, id string) (Campaign, error) {
	if !ids.Valid(IDPrefix, id) {
		return Campaign{}, apperr.Invalid("campaign_id", "must be a campaign id (%s_ followed by 24 hex digits)", IDPrefix)
	}
	c, err := s.store.Get(ctx, id)
	if err != nil {
		return Campaign{}, fmt.Errorf("campaign %s: %w", id, err)
	}
	return c, nil
}

// ListRequest asks for a page of campaigns (AIP-158).
type ListRequest struct {
	PageSize   int32
	PageToken  string
	IncidentID string
}

// ListResult is one page of campaigns.
type ListResult struct {
	Campaigns     []Campaign
	NextPageToken string
}

// pageToken is the cursor inside an opaque page token. It carries the filter
// it was made for, so a token cannot be replayed against another filter.
type pageToken struct {
	After      string `json:"a"`
	IncidentID string `json:"i,omitempty"`
}

// ListCampaigns returns campaigns in drafting order (id order), a page at a
// time. Pages use a cursor on the id, so campaigns drafted while a caller
// pages are neither skipped nor repeated.
func (s *Service) ListCampaigns(ctx context.Context, r ListRequest) (ListResult, error) {
	var v apperr.Violations
	size := DefaultPageSize
	switch {
	case r.PageSize < 0:
		v.Add("page_size", "must not be negative")
	case r.PageSize > MaxPageSize:
		size = MaxPageSize
	case r.PageSize > 0:
		size = int(r.PageSize)
	}
	checkLen(&v, "incident_id", r.IncidentID, MaxIDLen)
	var tok pageToken
	if r.PageToken != "" {
		var err error
		if tok, err = decodePageToken(r.PageToken); err != nil || !ids.Valid(IDPrefix, tok.After) {
			v.Add("page_token", "is not a token returned by a previous page")
		} else if tok.IncidentID != r.IncidentID {
			v.Add("page_token", "was made for a different incident_id filter")
		}
	}
	if err := v.Err(); err != nil {
		return ListResult{}, err
	}
	// One extra tells whether another page follows without a count query.
	page, err := s.store.List(ctx, ListQuery{IncidentID: r.IncidentID, After: tok.After, Limit: size + 1})
	if err != nil {
		return ListResult{}, fmt.Errorf("list campaigns: %w", err)
	}
	res := ListResult{Campaigns: page}
	if len(page) > size {
		res.Campaigns = page[:size]
		res.NextPageToken = encodePageToken(pageToken{After: page[size-1].ID, IncidentID: r.IncidentID})
	}
	return res, nil
}

func encodePageToken(t pageToken) string {
	b, _ := json.Marshal(t) // two strings: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(s string) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return t, err
	}
	return t, json.Unmarshal(b, &t)
}
