package domain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongox"
)

// SensitiveType is a kind of data the hosted service must not store (the
// hosted-service policy: Social Security numbers, HIPAA-protected
// information, bank account numbers, credit/debit card numbers).
type SensitiveType string

// Sensitive data types.
const (
	SensitiveSSN             SensitiveType = "ssn"
	SensitivePaymentCard     SensitiveType = "payment_card"
	SensitiveBankAccount     SensitiveType = "bank_account"
	SensitiveRoutingNumber   SensitiveType = "routing_number"
	SensitiveIBAN            SensitiveType = "iban"
	SensitiveMedicalRecord   SensitiveType = "medical_record_number"
	SensitiveHealthInsurance SensitiveType = "health_insurance_id"
	SensitiveProviderID      SensitiveType = "provider_id"
)

// sensitiveOrder is the canonical order of the types (the proto enum order).
var sensitiveOrder = []SensitiveType{
	SensitiveSSN, SensitivePaymentCard, SensitiveBankAccount, SensitiveRoutingNumber,
	SensitiveIBAN, SensitiveMedicalRecord, SensitiveHealthInsurance, SensitiveProviderID,
}

// Valid reports whether t is a known type.
func (t SensitiveType) Valid() bool { return slices.Contains(sensitiveOrder, t) }

// RemovalStatus is where a removal request is.
type RemovalStatus string

// Removal request statuses. OPEN → REMOVED_BY_CUSTOMER, or OPEN →
// FLAGGED_FOR_REMOVAL (deadline passed) → REMOVED_BY_US (or
// REMOVED_BY_CUSTOMER when the customer still acts). The removed states are
// final.
const (
	RemovalOpen              RemovalStatus = "open"
	RemovalFlagged           RemovalStatus = "flagged_for_removal"
	RemovalRemovedByCustomer RemovalStatus = "removed_by_customer"
	RemovalRemovedByUs       RemovalStatus = "removed_by_us"
)

// Valid reports whether s is a known status.
func (s RemovalStatus) Valid() bool {
	switch s {
	case RemovalOpen, RemovalFlagged, RemovalRemovedByCustomer, RemovalRemovedByUs:
		return true
	}
	return false
}

// Remover is who removed the data.
type Remover string

// Removers.
const (
	RemoverCustomer  Remover = "customer"
	RemoverProcessor Remover = "processor"
)

// Removal records the removal of the data.
type Removal struct {
	RemovedBy  Remover
	RemoveTime time.Time
	Evidence   string
	RecordTime time.Time
	RequestID  string
}

// RemovalRequest asks a customer to remove sensitive data it stored with us.
// It never holds the data: only its kinds, count and where it was found.
type RemovalRequest struct {
	ID           string
	CustomerID   string
	FoundTypes   []SensitiveType
	Location     string
	FindingCount int64
	Source       string
	Status       RemovalStatus
	OpenTime     time.Time
	Deadline     time.Time
	// NotifyCustomerPending says the customer has not been told yet; the
	// removal-notice worker clears it once dispatch accepted the e-mail.
	NotifyCustomerPending bool
	// NotifyTime is when dispatch accepted the e-mail (NoticeID) telling
	// the customer.
	NotifyTime time.Time
	NoticeID   string
	// NotificationEmail is the customer's address when the request opened.
	NotificationEmail string
	FlagTime          time.Time
	Removal           *Removal
	UpdateTime        time.Time
	// Version counts changes; every change is fenced on it.
	Version int64
}

// RemovalQuery selects removal requests for a list page.
type RemovalQuery struct {
	After      string
	CustomerID string
	Status     RemovalStatus
	// OverdueAt, when set, keeps only OPEN or FLAGGED requests whose
	// deadline is at or before it.
	OverdueAt time.Time
	Limit     int
}

// RemovalRequestStore keeps removal requests.
type RemovalRequestStore interface {
	// CreateRemovalRequest inserts r, or returns the request made earlier
	// with the same idempotency key and fingerprint (RequestReusedError for
	// a key reused with other input).
	CreateRemovalRequest(ctx context.Context, r RemovalRequest, idem Idempotency) (RemovalRequest, error)
	// GetRemovalRequest returns one request or ErrNotFound.
	GetRemovalRequest(ctx context.Context, id string) (RemovalRequest, error)
	// ListRemovalRequests returns up to q.Limit requests in id order.
	ListRemovalRequests(ctx context.Context, q RemovalQuery) ([]RemovalRequest, error)
	// UpdateRemovalRequest moves a request from version from to next (whose
	// Version is from+1). It fails with ErrConflict when another writer
	// moved it first; exactly one writer wins each version, on MongoDB and
	// FerretDB alike.
	UpdateRemovalRequest(ctx context.Context, next RemovalRequest, from int64) (RemovalRequest, error)
	// NextOverdueRemovalRequest returns an OPEN request whose deadline is at
	// or before now (the earliest deadline first), if any.
	NextOverdueRemovalRequest(ctx context.Context, now time.Time) (RemovalRequest, bool, error)
	// ClaimRemovalNotice leases one request whose customer is still to be
	// told to owner until now+leaseFor (mongox.Claim), with the number of
	// claims so far.
	ClaimRemovalNotice(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (RemovalRequest, int, bool, error)
	// RetryRemovalNotice keeps a request owner holds leased until next, so
	// it is tried again then.
	RetryRemovalNotice(ctx context.Context, id, owner string, next time.Time) error
}

// Limits and defaults of removal requests.
const (
	maxLocationBytes = 1024
	maxSourceLen     = 200
	maxEvidenceLen   = 2000
	// DefaultRemovalWindow is the customer's time to remove the data when
	// REMOVAL_WINDOW is not set: "a reasonable timeframe".
	DefaultRemovalWindow = 14 * 24 * time.Hour
	removalIDPrefix      = "rmr"
)

// Option configures a Service.
type Option func(*Service)

// WithRemovalWindow sets the time a customer is given to remove sensitive
// data (default DefaultRemovalWindow).
func WithRemovalWindow(d time.Duration) Option {
	return func(s *Service) { s.removalWindow = d }
}

// OpenRemovalParams are the inputs of OpenRemovalRequest.
type OpenRemovalParams struct {
	RequestID    string
	CustomerID   string
	FoundTypes   []SensitiveType
	Location     string
	FindingCount int64
	Source       string
	// Deadline is optional; zero means now + the removal window.
	Deadline time.Time
}

// ValidateOpenRemovalRequest reports every problem of the input (pure).
func (s *Service) ValidateOpenRemovalRequest(p OpenRemovalParams) error {
	return s.validateOpenRemoval(p, s.now())
}

func (s *Service) validateOpenRemoval(p OpenRemovalParams, now time.Time) error {
	var v apperr.Violations
	checkRequestID(&v, "request_id", p.RequestID)
	checkSlug(&v, "customer_id", p.CustomerID)
	types := make([]string, len(p.FoundTypes))
	for i, t := range p.FoundTypes {
		types[i] = string(t)
	}
	if len(types) == 0 {
		v.Add("found_types", "is required")
	}
	checkList(&v, "found_types", types, func(t string) string {
		if !SensitiveType(t).Valid() {
			return "is not a known sensitive data type"
		}
		return ""
	})
	switch {
	case strings.TrimSpace(p.Location) == "":
		v.Add("location", "is required")
	case len(p.Location) > maxLocationBytes:
		v.Add("location", "must be at most %d bytes", maxLocationBytes)
	default:
		checkText(&v, "location", p.Location, true, maxLocationBytes)
	}
	if p.FindingCount < 0 {
		v.Add("finding_count", "must not be negative")
	}
	checkText(&v, "source", p.Source, false, maxSourceLen)
	if d := storedTime(p.Deadline); !d.IsZero() {
		switch {
		case !d.After(now):
			v.Add("deadline", "must be in the future")
		case d.After(now.Add(s.removalWindow)):
			v.Add("deadline", "must be at most the removal window (%s) from now", s.removalWindow)
		}
	}
	return v.Err()
}

// OpenRemovalRequest opens a removal request for sensitive data found in a
// customer's data: OPEN, with a deadline (now + the removal window, or the
// shorter one given) and the customer's Notification Email Address recorded
// as the one to tell. The customer must exist (NOT_FOUND). Idempotent on
// RequestID.
func (s *Service) OpenRemovalRequest(ctx context.Context, p OpenRemovalParams) (RemovalRequest, error) {
	now := s.now()
	if err := s.validateOpenRemoval(p, now); err != nil {
		return RemovalRequest{}, err
	}
	in := RemovalRequest{
		CustomerID:   p.CustomerID,
		FoundTypes:   canonicalTypes(p.FoundTypes),
		Location:     p.Location,
		FindingCount: p.FindingCount,
		Source:       p.Source,
		Deadline:     storedTime(p.Deadline),
	}
	idem := Idempotency{Key: p.RequestID, Fingerprint: fingerprint("removal", in)}
	cust, err := s.store.GetCustomer(ctx, p.CustomerID)
	if err != nil {
		if errors.Is(err, apperr.ErrNotFound) {
			return RemovalRequest{}, fmt.Errorf("removal request for customer %s: %w", p.CustomerID, apperr.ErrNotFound)
		}
		return RemovalRequest{}, err
	}
	if in.Deadline.IsZero() {
		in.Deadline = now.Add(s.removalWindow)
	}
	in.ID = ids.New(removalIDPrefix)
	in.Status = RemovalOpen
	in.OpenTime = now
	in.UpdateTime = now
	in.NotifyCustomerPending = true
	in.NotificationEmail = cust.NotificationEmail
	in.Version = 1
	out, err := s.store.CreateRemovalRequest(ctx, in, idem)
	if err != nil {
		return RemovalRequest{}, fmt.Errorf("open removal request: %w", err)
	}
	return out, nil
}

// canonicalTypes returns the types in enum order (validation has rejected
// repeats).
func canonicalTypes(ts []SensitiveType) []SensitiveType {
	out := make([]SensitiveType, 0, len(ts))
	for _, t := range sensitiveOrder {
		if slices.Contains(ts, t) {
			out = append(out, t)
		}
	}
	return out
}

// GetRemovalRequest returns one removal request.
func (s *Service) GetRemovalRequest(ctx context.Context, id string) (RemovalRequest, error) {
	if !ids.Valid(removalIDPrefix, id) {
		return RemovalRequest{}, apperr.Invalid("removal_request_id", "is not a removal request id")
	}
	return s.store.GetRemovalRequest(ctx, id)
}

// ListRemovalParams are the inputs of ListRemovalRequests.
type ListRemovalParams struct {
	PageSize    int32
	PageToken   string
	CustomerID  string
	Status      RemovalStatus
	OverdueOnly bool
}

// removalCursor is a ListRemovalRequests page token bound to its filters.
type removalCursor struct {
	After    string        `json:"a"`
	Customer string        `json:"c,omitempty"`
	Status   RemovalStatus `json:"s,omitempty"`
	Overdue  bool          `json:"o,omitempty"`
}

// ListRemovalRequests returns one page of removal requests in id (opening)
// order and the next page's token.
func (s *Service) ListRemovalRequests(ctx context.Context, p ListRemovalParams) ([]RemovalRequest, string, error) {
	var v apperr.Violations
	size, err := mongox.PageSize(p.PageSize, defaultPageSize, maxPageSize)
	if err != nil {
		v.Add("page_size", "must not be negative")
	}
	if p.CustomerID != "" {
		checkSlug(&v, "customer_id", p.CustomerID)
	}
	if p.Status != "" && !p.Status.Valid() {
		v.Add("status", "is not a known status")
	}
	var cur removalCursor
	if p.PageToken != "" {
		if err := mongox.DecodePageToken(p.PageToken, &cur); err != nil ||
			cur.Customer != p.CustomerID || cur.Status != p.Status || cur.Overdue != p.OverdueOnly {
			v.Add("page_token", "not a token returned by a previous page with the same filter")
		}
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	q := RemovalQuery{After: cur.After, CustomerID: p.CustomerID, Status: p.Status, Limit: size + 1}
	if p.OverdueOnly {
		q.OverdueAt = s.now()
	}
	list, err := s.store.ListRemovalRequests(ctx, q)
	if err != nil {
		return nil, "", fmt.Errorf("list removal requests: %w", err)
	}
	if len(list) <= size {
		return list, "", nil
	}
	list = list[:size]
	next, err := mongox.EncodePageToken(removalCursor{After: list[size-1].ID, Customer: p.CustomerID, Status: p.Status, Overdue: p.OverdueOnly})
	if err != nil {
		return nil, "", err
	}
	return list, next, nil
}

// RecordRemovalParams are the inputs of RecordRemoval.
type RecordRemovalParams struct {
	ID         string
	RemovedBy  Remover
	RemoveTime time.Time
	Evidence   string
	RequestID  string
}

// ValidateRecordRemoval reports every problem of the input (pure).
func (s *Service) ValidateRecordRemoval(p RecordRemovalParams) error {
	return validateRecordRemoval(p, s.now())
}

func validateRecordRemoval(p RecordRemovalParams, now time.Time) error {
	var v apperr.Violations
	if !ids.Valid(removalIDPrefix, p.ID) {
		v.Add("removal_request_id", "is not a removal request id")
	}
	switch p.RemovedBy {
	case RemoverCustomer, RemoverProcessor:
	case "":
		v.Add("removed_by", "is required")
	default:
		v.Add("removed_by", "is not a known remover")
	}
	if t := storedTime(p.RemoveTime); !t.IsZero() && t.After(now.Add(timeSkew)) {
		v.Add("remove_time", "must not be in the future")
	}
	checkText(&v, "evidence", p.Evidence, true, maxEvidenceLen)
	checkRequestID(&v, "request_id", p.RequestID)
	return v.Err()
}

// RecordRemoval records that the data was removed: by the customer (from
// OPEN or FLAGGED_FOR_REMOVAL) or by us (only once flagged: the customer has
// until the deadline). A retry with the same request id returns the request
// unchanged; any other change to a removed request is FAILED_PRECONDITION.
func (s *Service) RecordRemoval(ctx context.Context, p RecordRemovalParams) (RemovalRequest, error) {
	now := s.now()
	if err := validateRecordRemoval(p, now); err != nil {
		return RemovalRequest{}, err
	}
	return s.transition(ctx, p.ID, func(cur RemovalRequest) (RemovalRequest, bool, error) {
		if cur.Removal != nil {
			if p.RequestID != "" && cur.Removal.RequestID == p.RequestID {
				return cur, false, nil
			}
			return RemovalRequest{}, false, fmt.Errorf("removal request %s is already %s: %w", cur.ID, cur.Status, apperr.ErrFailedPrecondition)
		}
		next := cur
		switch p.RemovedBy {
		case RemoverCustomer:
			next.Status = RemovalRemovedByCustomer
		case RemoverProcessor:
			if cur.Status != RemovalFlagged {
				return RemovalRequest{}, false, fmt.Errorf("removal request %s: we remove the data only once it is flagged for removal: %w", cur.ID, apperr.ErrFailedPrecondition)
			}
			next.Status = RemovalRemovedByUs
		}
		removed := storedTime(p.RemoveTime)
		if removed.IsZero() {
			removed = now
		}
		if removed.Before(cur.OpenTime) {
			return RemovalRequest{}, false, apperr.Invalid("remove_time", "must not be before the request was opened")
		}
		next.Removal = &Removal{RemovedBy: p.RemovedBy, RemoveTime: removed, Evidence: p.Evidence, RecordTime: now, RequestID: p.RequestID}
		next.UpdateTime = now
		return next, true, nil
	})
}

// FlagOverdueRemovals is one step of the deadline worker: it flags one OPEN
// request whose deadline has passed as FLAGGED_FOR_REMOVAL and reports
// whether it found one. Replicas may run it together: each change is fenced
// on the request's version, so a request is flagged exactly once.
func (s *Service) FlagOverdueRemovals(ctx context.Context) (bool, error) {
	now := s.now()
	r, ok, err := s.store.NextOverdueRemovalRequest(ctx, now)
	if err != nil || !ok {
		return false, err
	}
	_, err = s.transition(ctx, r.ID, func(cur RemovalRequest) (RemovalRequest, bool, error) {
		if cur.Status != RemovalOpen || cur.Deadline.After(now) {
			return cur, false, nil
		}
		next := cur
		next.Status = RemovalFlagged
		next.FlagTime = now
		next.UpdateTime = now
		return next, true, nil
	})
	if err != nil {
		return true, fmt.Errorf("flag removal request %s: %w", r.ID, err)
	}
	return true, nil
}

// transition reads request id, asks change for its next state (or none),
// and writes it fenced on the version read, retrying when another writer
// got there first.
func (s *Service) transition(ctx context.Context, id string, change func(RemovalRequest) (RemovalRequest, bool, error)) (RemovalRequest, error) {
	for range maxUpdateRetries {
		cur, err := s.store.GetRemovalRequest(ctx, id)
		if err != nil {
			return RemovalRequest{}, err
		}
		next, changed, err := change(cur)
		if err != nil || !changed {
			return next, err
		}
		next.Version = cur.Version + 1
		out, err := s.store.UpdateRemovalRequest(ctx, next, cur.Version)
		if errors.Is(err, apperr.ErrConflict) {
			continue
		}
		return out, err
	}
	return RemovalRequest{}, fmt.Errorf("removal request %s changed concurrently: %w", id, apperr.ErrConflict)
}
