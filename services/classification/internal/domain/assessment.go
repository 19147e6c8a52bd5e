package domain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
)

// IDPrefix prefixes assessment ids ("asm_<objectid hex>").
const IDPrefix = "asm"

// Limits on request sizes; beyond them a request is bad input, not work.
const (
	maxIDLen          = 128
	maxElements       = 64
	maxJurisdictions  = 500
	maxCount          = 10_000_000_000
	defaultPageSize   = 50
	maxPageSize       = 500
	futureClockSkew   = 5 * time.Minute
	timestampResolved = time.Millisecond
)

// earliestDiscovery rejects timestamps that can only be a client bug (an
// unset proto timestamp, an epoch default).
var earliestDiscovery = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

// jurisdictionPattern is an ISO 3166-1 alpha-2 country or an ISO 3166-2
// subdivision code, e.g. "DE", "US-TX", "GB-SCT".
var jurisdictionPattern = regexp.MustCompile(`^[A-Z]{2}(-[A-Z0-9]{1,3})?$`)

// ValidJurisdiction reports whether code is a country or subdivision code.
func ValidJurisdiction(code string) bool { return jurisdictionPattern.MatchString(code) }

// Store persists assessments and the pending hand-over of their obligations
// to dispatch. Implementations must make Create idempotent on RequestID with
// a unique index.
type Store interface {
	// Create stores a and reports created=true, or, when an assessment with
	// a.RequestID already exists, returns that one unchanged with
	// created=false. A new assessment starts with campaigns pending.
	Create(ctx context.Context, a Assessment) (stored Assessment, created bool, err error)
	// Get returns the assessment with id, or an error wrapping apperr.ErrNotFound.
	Get(ctx context.Context, id string) (Assessment, error)
	// List returns one page, newest first, and the token of the next page
	// ("" on the last).
	List(ctx context.Context, q ListQuery) ([]Assessment, string, error)
	// ClaimPendingCampaigns leases the oldest assessment whose campaigns are
	// pending and due at now, for leaseFor; ok=false when none is due.
	ClaimPendingCampaigns(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (p PendingCampaigns, ok bool, err error)
	// CompleteCampaigns clears the pending flag of an assessment leased by owner.
	CompleteCampaigns(ctx context.Context, id, owner string) error
	// RetryCampaigns records a failed hand-over by owner and makes it due
	// again at next.
	RetryCampaigns(ctx context.Context, id, owner, lastError string, next time.Time) error
}

// Engine turns facts into a decision using the rule packs in force at now.
// It must be deterministic: the same facts, packs and now give the same
// decision.
type Engine interface {
	Assess(f Facts, now time.Time) (Decision, error)
}

// AssessRequest asks for an assessment of one incident's facts.
type AssessRequest struct {
	RequestID  string
	IncidentID string
	Facts      Facts
}

// ListQuery selects a page of assessments.
type ListQuery struct {
	// PageSize is the normalised page size (Service.List fills it).
	PageSize int
	// PageToken is the opaque token of a previous page.
	PageToken  string
	IncidentID string
}

// Service is the classification use cases, over a Store and an Engine.
type Service struct {
	store  Store
	engine Engine
	now    func() time.Time
}

// NewService returns a Service. now is the clock; tests pass a fixed one.
func NewService(store Store, engine Engine, now func() time.Time) *Service {
	return &Service{store: store, engine: engine, now: now}
}

// Assess validates req, decides on its facts and stores the assessment.
// Idempotent on RequestID: a retry returns the stored assessment unchanged,
// even if the rule packs changed since, so a caller never sees two different
// decisions for one request. Reusing a RequestID for different facts is
// rejected with apperr.ErrAlreadyExists.
func (s *Service) Assess(ctx context.Context, req AssessRequest) (Assessment, error) {
	now := s.now().UTC()
	req.Facts = normalizeFacts(req.Facts)
	if err := validateAssess(req, now); err != nil {
		return Assessment{}, err
	}
	decision, err := s.engine.Assess(req.Facts, now)
	if err != nil {
		return Assessment{}, fmt.Errorf("assess incident %s: %w", req.IncidentID, err)
	}
	a := Assessment{
		ID:          ids.New(IDPrefix),
		RequestID:   req.RequestID,
		IncidentID:  req.IncidentID,
		RequestHash: fingerprint(req),
		Facts:       req.Facts,
		Decision:    decision,
		CreateTime:  now.Truncate(timestampResolved),
	}
	stored, created, err := s.store.Create(ctx, a)
	if err != nil {
		return Assessment{}, err
	}
	if !created && stored.RequestHash != a.RequestHash {
		return Assessment{}, fmt.Errorf("request_id %q was used for a different request: %w", req.RequestID, apperr.ErrAlreadyExists)
	}
	return stored, nil
}

// Get returns one assessment.
func (s *Service) Get(ctx context.Context, id string) (Assessment, error) {
	if !ids.Valid(IDPrefix, id) {
		return Assessment{}, apperr.Invalid("assessment_id", "must be an assessment id (%s_...)", IDPrefix)
	}
	return s.store.Get(ctx, id)
}

// List returns a page of assessments, newest first. pageSize follows
// AIP-158: 0 means 50, above 500 means 500, negative is invalid.
func (s *Service) List(ctx context.Context, pageSize int32, pageToken, incidentID string) ([]Assessment, string, error) {
	var v apperr.Violations
	if pageSize < 0 {
		v.Add("page_size", "must not be negative")
	}
	if incidentID != "" {
		checkID(&v, "incident_id", incidentID)
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	size := int(pageSize)
	switch {
	case size == 0:
		size = defaultPageSize
	case size > maxPageSize:
		size = maxPageSize
	}
	return s.store.List(ctx, ListQuery{PageSize: size, PageToken: pageToken, IncidentID: incidentID})
}

func normalizeFacts(f Facts) Facts {
	if !f.DiscoveredAt.IsZero() {
		f.DiscoveredAt = f.DiscoveredAt.UTC().Truncate(timestampResolved)
	}
	return f
}

// Validate checks req the way Assess does, without touching the store.
func (s *Service) Validate(req AssessRequest) error {
	req.Facts = normalizeFacts(req.Facts)
	return validateAssess(req, s.now().UTC())
}

// validateAssess reports every violation of req at once.
func validateAssess(req AssessRequest, now time.Time) error {
	var v apperr.Violations
	checkID(&v, "request_id", req.RequestID)
	checkID(&v, "incident_id", req.IncidentID)
	v.Merge("facts", validateFacts(req.Facts, now))
	return v.Err()
}

func checkID(v *apperr.Violations, field, s string) {
	switch {
	case s == "":
		v.Add(field, "is required")
	case !utf8.ValidString(s):
		v.Add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(s) > maxIDLen:
		v.Add(field, "must be at most %d characters", maxIDLen)
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }):
		v.Add(field, "must not contain spaces or control characters")
	}
}

func validateFacts(f Facts, now time.Time) apperr.Violations {
	var v apperr.Violations
	switch {
	case f.DiscoveredAt.IsZero():
		v.Add("discovered_at", "is required")
	case f.DiscoveredAt.Before(earliestDiscovery):
		v.Add("discovered_at", "must not be before %s", earliestDiscovery.Format(time.DateOnly))
	case f.DiscoveredAt.After(now.Add(futureClockSkew)):
		v.Add("discovered_at", "must not be in the future")
	}
	checkElements(&v, "data_elements", f.DataElements)
	checkElements(&v, "encrypted_elements", f.EncryptedElements)
	for i, e := range f.EncryptedElements {
		if e.Known() && !slices.Contains(f.DataElements, e) {
			v.Add(fmt.Sprintf("encrypted_elements[%d]", i), "%s is not listed in data_elements", e)
		}
	}
	if len(f.Affected) > maxJurisdictions {
		v.Add("affected", "must have at most %d entries", maxJurisdictions)
	}
	seen := make(map[string]int, len(f.Affected))
	for i, a := range f.Affected {
		path := fmt.Sprintf("affected[%d]", i)
		switch {
		case !ValidJurisdiction(a.Jurisdiction):
			v.Add(path+".jurisdiction", "must be an ISO 3166 country or subdivision code like \"DE\" or \"US-TX\"")
		default:
			if j, dup := seen[a.Jurisdiction]; dup {
				v.Add(path+".jurisdiction", "%s already appears at affected[%d]", a.Jurisdiction, j)
			}
			seen[a.Jurisdiction] = i
		}
		switch {
		case a.Count <= 0:
			v.Add(path+".count", "must be positive")
		case a.Count > maxCount:
			v.Add(path+".count", "must be at most %d", int64(maxCount))
		}
	}
	return v
}

func checkElements(v *apperr.Violations, field string, es []Element) {
	if len(es) > maxElements {
		v.Add(field, "must have at most %d entries", maxElements)
		return
	}
	for i, e := range es {
		path := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case e == "":
			v.Add(path, "must not be unspecified")
		case !e.Known():
			v.Add(path, "must be a known data element, not %q", string(e))
		}
	}
}

// fingerprint identifies what a request asks, independent of list order, so
// a retry can be told apart from a reused request id.
func fingerprint(req AssessRequest) string {
	f := req.Facts
	f.DataElements = slices.Sorted(slices.Values(f.DataElements))
	f.EncryptedElements = slices.Sorted(slices.Values(f.EncryptedElements))
	f.Affected = slices.SortedFunc(slices.Values(f.Affected), func(a, b JurisdictionCount) int {
		return strings.Compare(a.Jurisdiction, b.Jurisdiction)
	})
	b, _ := json.Marshal(struct {
		IncidentID string
		Facts      Facts
	}{req.IncidentID, f}) // marshalling plain strings, bools, ints and a time cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
