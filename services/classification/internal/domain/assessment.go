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
	maxCustomers      = 100
	maxHolds          = 50
	maxTextLen        = 500
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

// Engine turns facts and contractual terms into a decision. It must be
// deterministic: the same input and pack versions give the same decision.
type Engine interface {
	// Assess decides with the rule pack versions in force at now.
	Assess(in Input, now time.Time) (Decision, error)
	// Reproduce decides with exactly the pack versions in refs, as stored
	// on an assessment. A version that is not loaded is an error wrapping
	// apperr.ErrFailedPrecondition that names it.
	Reproduce(in Input, refs []RulePackRef) (Decision, error)
}

// Customers reads customers' contractual notification terms from the
// registry. Lookup returns one CustomerTerms per id, in order; an unknown id
// is Found=false, not an error. An error means the registry could not
// answer, and the assessment must not be made without the contractual
// duties: it fails with apperr.ErrUnavailable so the caller retries.
type Customers interface {
	Lookup(ctx context.Context, ids []string) ([]CustomerTerms, error)
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
	store     Store
	engine    Engine
	customers Customers
	now       func() time.Time
}

// NewService returns a Service. now is the clock; tests pass a fixed one.
func NewService(store Store, engine Engine, customers Customers, now func() time.Time) *Service {
	return &Service{store: store, engine: engine, customers: customers, now: now}
}

// decide reads the customers' terms and runs the engine.
func (s *Service) decide(ctx context.Context, f Facts, now time.Time) (Input, Decision, error) {
	in := Input{Facts: f}
	if len(f.CustomerIDs) > 0 {
		if s.customers == nil {
			return Input{}, Decision{}, fmt.Errorf("no registry to read customer terms from: %w", apperr.ErrUnavailable)
		}
		terms, err := s.customers.Lookup(ctx, f.CustomerIDs)
		if err != nil {
			return Input{}, Decision{}, fmt.Errorf("read customer terms: %w: %w", apperr.ErrUnavailable, err)
		}
		in.Customers = terms
	}
	d, err := s.engine.Assess(in, now)
	if err != nil {
		return Input{}, Decision{}, err
	}
	return in, d, nil
}

// AssessHypothetical decides on hypothetical facts ("what if") exactly as
// Assess would, reading the registry, but stores nothing: the result has no
// id and no side effect follows.
func (s *Service) AssessHypothetical(ctx context.Context, f Facts) (Assessment, error) {
	now := s.now().UTC()
	f = normalizeFacts(f)
	var v apperr.Violations
	v.Merge("facts", validateFacts(f, now))
	if err := v.Err(); err != nil {
		return Assessment{}, err
	}
	in, decision, err := s.decide(ctx, f, now)
	if err != nil {
		return Assessment{}, fmt.Errorf("assess hypothetical facts: %w", err)
	}
	return Assessment{Facts: f, Customers: in.Customers, Decision: decision}, nil
}

// ValidateFacts checks hypothetical facts the way AssessHypothetical does.
func (s *Service) ValidateFacts(f Facts) error {
	var v apperr.Violations
	v.Merge("facts", validateFacts(normalizeFacts(f), s.now().UTC()))
	return v.Err()
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
	in, decision, err := s.decide(ctx, req.Facts, now)
	if err != nil {
		return Assessment{}, fmt.Errorf("assess incident %s: %w", req.IncidentID, err)
	}
	a := Assessment{
		ID:          ids.New(IDPrefix),
		RequestID:   req.RequestID,
		IncidentID:  req.IncidentID,
		RequestHash: fingerprint(req),
		Facts:       req.Facts,
		Customers:   in.Customers,
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
	f.DiscoveredAt = normTime(f.DiscoveredAt)
	f.DeterminedAt = normTime(f.DeterminedAt)
	f.MaterialityDeterminedAt = normTime(f.MaterialityDeterminedAt)
	if len(f.Holds) > 0 {
		holds := make([]Hold, len(f.Holds))
		for i, h := range f.Holds {
			h.Start, h.End = normTime(h.Start), normTime(h.End)
			holds[i] = h
		}
		f.Holds = holds
	}
	return f
}

func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(timestampResolved)
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
	checkTime(&v, "determined_at", f.DeterminedAt, now)
	if !f.DeterminedAt.IsZero() && !f.DiscoveredAt.IsZero() && f.DeterminedAt.Before(f.DiscoveredAt) {
		v.Add("determined_at", "must not be before discovered_at")
	}
	checkTime(&v, "materiality_determined_at", f.MaterialityDeterminedAt, now)
	if !f.MaterialityDeterminedAt.IsZero() && !f.SECRegistrant {
		v.Add("materiality_determined_at", "is only meaningful for an SEC registrant (set sec_registrant)")
	}
	checkEnum(&v, "role", f.Role, RoleController, RoleProcessor)
	checkEnum(&v, "hipaa_role", f.HIPAARole, HIPAACoveredEntity, HIPAABusinessAssociate)
	checkEnum(&v, "nis2_entity", f.NIS2Entity, NIS2None, NIS2Essential, NIS2Important)
	if f.NoticeCostUSD < 0 {
		v.Add("notice_cost_estimate_usd", "must not be negative")
	}
	if len(f.CustomerIDs) > maxCustomers {
		v.Add("customer_ids", "must have at most %d entries", maxCustomers)
	}
	seenCustomer := map[string]int{}
	for i, id := range f.CustomerIDs {
		path := fmt.Sprintf("customer_ids[%d]", i)
		checkID(&v, path, id)
		if j, dup := seenCustomer[id]; dup {
			v.Add(path, "%s already appears at customer_ids[%d]", id, j)
		}
		seenCustomer[id] = i
	}
	validateHolds(&v, f.Holds, now)
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

func checkTime(v *apperr.Violations, field string, t, now time.Time) {
	switch {
	case t.IsZero():
	case t.Before(earliestDiscovery):
		v.Add(field, "must not be before %s", earliestDiscovery.Format(time.DateOnly))
	case t.After(now.Add(futureClockSkew)):
		v.Add(field, "must not be in the future")
	}
}

func checkEnum(v *apperr.Violations, field, s string, known ...string) {
	if s != "" && !slices.Contains(known, s) {
		v.Add(field, "must be one of %s, not %q", strings.Join(known, ", "), s)
	}
}

// holdLabel is a jurisdiction label a hold may scope: a code, EU or ORG.
var holdLabel = regexp.MustCompile(`^(ORG|EU|[A-Z]{2}(-[A-Z0-9]{1,3})?)$`)

func validateHolds(v *apperr.Violations, holds []Hold, now time.Time) {
	if len(holds) > maxHolds {
		v.Add("law_enforcement_holds", "must have at most %d entries", maxHolds)
		return
	}
	seen := map[string]int{}
	for i, h := range holds {
		path := fmt.Sprintf("law_enforcement_holds[%d]", i)
		checkID(v, path+".hold_id", h.ID)
		if j, dup := seen[h.ID]; dup && h.ID != "" {
			v.Add(path+".hold_id", "%s already appears at law_enforcement_holds[%d]", h.ID, j)
		}
		seen[h.ID] = i
		switch {
		case strings.TrimSpace(h.RequestedBy) == "":
			v.Add(path+".requested_by", "is required")
		case utf8.RuneCountInString(h.RequestedBy) > maxTextLen:
			v.Add(path+".requested_by", "must be at most %d characters", maxTextLen)
		}
		if utf8.RuneCountInString(h.Reason) > maxTextLen {
			v.Add(path+".reason", "must be at most %d characters", maxTextLen)
		}
		if h.Start.IsZero() {
			v.Add(path+".start_time", "is required")
		}
		checkTime(v, path+".start_time", h.Start, now)
		checkTime(v, path+".end_time", h.End, now)
		if !h.End.IsZero() && !h.Start.IsZero() && !h.End.After(h.Start) {
			v.Add(path+".end_time", "must be after start_time")
		}
		for j, code := range h.Jurisdictions {
			if !holdLabel.MatchString(code) {
				v.Add(fmt.Sprintf("%s.jurisdictions[%d]", path, j), "must be a jurisdiction code like \"US-TX\", \"EU\" or \"ORG\"")
			}
		}
		for j, a := range h.Audiences {
			if !a.Known() {
				v.Add(fmt.Sprintf("%s.audiences[%d]", path, j), "must be a known audience, not %q", string(a))
			}
		}
	}
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
	f.CustomerIDs = slices.Sorted(slices.Values(f.CustomerIDs))
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
