package domain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
)

// DSRType is the GDPR right a data subject exercises.
type DSRType string

// Data subject request types (GDPR Art. 15-21). The zero value means "not
// given" and is rejected.
const (
	DSRAccess        DSRType = "access"
	DSRRectification DSRType = "rectification"
	DSRErasure       DSRType = "erasure"
	DSRRestriction   DSRType = "restriction"
	DSRPortability   DSRType = "portability"
	DSRObjection     DSRType = "objection"
)

// Valid reports whether t is a known, non-empty type.
func (t DSRType) Valid() bool {
	switch t {
	case DSRAccess, DSRRectification, DSRErasure, DSRRestriction, DSRPortability, DSRObjection:
		return true
	}
	return false
}

// DSRStatus is where a data subject request is. The processor's duty (DPA
// 3.1) is to tell the controller promptly and then assist it.
type DSRStatus string

// Data subject request statuses.
const (
	DSRReceived   DSRStatus = "received"
	DSRForwarded  DSRStatus = "forwarded"
	DSRInProgress DSRStatus = "in_progress"
	DSRCompleted  DSRStatus = "completed"
	DSRRejected   DSRStatus = "rejected"
)

// DataSubject is the person making a request, as they identified themselves.
// Every field is personal data: it is stored, never logged, and never echoed
// in error messages.
type DataSubject struct {
	Name       string
	Email      string
	AccountRef string
}

// DataSubjectRequest is one request of a data subject to exercise a GDPR
// right over data we process for a customer (the controller).
type DataSubjectRequest struct {
	ID          string
	CustomerID  string
	Type        DSRType
	Subject     DataSubject
	Details     string
	ReceiveTime time.Time
	// DueTime is the controller's statutory deadline to answer, one month
	// after receipt (GDPR Art. 12(3)); see DueTime.
	DueTime    time.Time
	Status     DSRStatus
	CreateTime time.Time
}

// DataSubjectRequestStore keeps data subject requests.
type DataSubjectRequestStore interface {
	// CreateDataSubjectRequest inserts d. When a request made with the same
	// idempotency key and fingerprint exists, it returns that one; a key
	// reused for a different request fails with RequestReusedError.
	CreateDataSubjectRequest(ctx context.Context, d DataSubjectRequest, idem Idempotency) (DataSubjectRequest, error)
	// GetDataSubjectRequest returns one request or ErrNotFound.
	GetDataSubjectRequest(ctx context.Context, id string) (DataSubjectRequest, error)
}

// Limits of a data subject request.
const (
	maxSubjectNameLen = 200
	maxAccountRefLen  = 200
	maxDetailsBytes   = 8 << 10
	// maxReceiveAge is how far back a receive time may be recorded: a
	// request older than a year is long overdue and almost surely a typo.
	maxReceiveAge = 1 // years
)

// dsrIDPrefix prefixes data subject request ids ("dsr_<objectid>").
const dsrIDPrefix = "dsr"

// DueTime is the statutory due date of a request received at receive: one
// calendar month later (GDPR Art. 12(3)), in UTC.
//
// Months are counted as Regulation (EEC, Euratom) No 1182/71 Art. 3(2)(c)
// counts them: the period ends on the same day of the next month or, when
// that month has no such day, on its last day. time.AddDate alone would
// normalise 31 January + 1 month to 3 March (2 March in leap years), which
// would be later than the law allows; so the day is clamped instead:
//
//	2026-01-31 → 2026-02-28,  2028-01-31 → 2028-02-29,  2026-03-31 → 2026-04-30,
//	2026-01-15 → 2026-02-15,  2026-12-31 → 2027-01-31.
//
// The clock time of receipt is kept. The regulation lets the period run to
// the end of that day, so this is the conservative reading. Extensions by
// two further months (Art. 12(3)) are a later change of the due time.
func DueTime(receive time.Time) time.Time {
	r := receive.UTC()
	due := r.AddDate(0, 1, 0)
	wantMonth := (int(r.Month()) % 12) + 1
	if int(due.Month()) != wantMonth {
		// AddDate overflowed into the month after; go back to the last
		// day of the intended month (day 0 of due's month).
		due = time.Date(due.Year(), due.Month(), 0, r.Hour(), r.Minute(), r.Second(), r.Nanosecond(), time.UTC)
	}
	return due
}

// SubmitDataSubjectRequestParams are the inputs of SubmitDataSubjectRequest.
type SubmitDataSubjectRequestParams struct {
	RequestID  string
	CustomerID string
	Type       DSRType
	Subject    DataSubject
	Details    string
	// ReceiveTime is when the request reached us; zero means now.
	ReceiveTime time.Time
}

// ValidateSubmitDataSubjectRequest reports every problem of a
// SubmitDataSubjectRequest input as an *apperr.InvalidError, or nil. It is
// pure: no store is read, so an unknown customer is not detected here.
func (s *Service) ValidateSubmitDataSubjectRequest(p SubmitDataSubjectRequestParams) error {
	return validateSubmitDataSubjectRequest(p, s.now())
}

// validateSubmitDataSubjectRequest checks a data subject request at time now.
func validateSubmitDataSubjectRequest(p SubmitDataSubjectRequestParams, now time.Time) error {
	var v apperr.Violations
	checkRequestID(&v, "request_id", p.RequestID)
	checkSlug(&v, "customer_id", p.CustomerID)
	if !p.Type.Valid() {
		v.Add("type", "is not a known request type")
	}
	checkName(&v, "subject.name", p.Subject.Name, maxSubjectNameLen)
	if p.Subject.Email != "" {
		checkEmail(&v, "subject.email", p.Subject.Email)
	}
	checkText(&v, "subject.account_ref", p.Subject.AccountRef, false, maxAccountRefLen)
	if len(p.Details) > maxDetailsBytes {
		v.Add("details", "must be at most %d bytes", maxDetailsBytes)
	} else {
		checkText(&v, "details", p.Details, false, maxDetailsBytes)
	}
	receive := storedTime(p.ReceiveTime)
	if !receive.IsZero() {
		switch {
		case receive.After(now.Add(timeSkew)):
			v.Add("receive_time", "must not be in the future")
		case receive.Before(now.AddDate(-maxReceiveAge, 0, 0)):
			v.Add("receive_time", "must not be more than a year ago")
		}
	}
	return v.Err()
}

// SubmitDataSubjectRequest records a request from a data subject for the
// customer's attention, computes its due date and sets it RECEIVED.
//
// The customer must exist: a request for an unknown customer fails with
// NOT_FOUND (the customer is the request's parent resource in its URL,
// /v1/customers/{customer_id}/dataSubjectRequests, and AIP-133 answers an
// absent parent with NOT_FOUND). Customers are never deleted, so checking
// before inserting has no race.
func (s *Service) SubmitDataSubjectRequest(ctx context.Context, p SubmitDataSubjectRequestParams) (DataSubjectRequest, error) {
	now := s.now()
	if err := validateSubmitDataSubjectRequest(p, now); err != nil {
		return DataSubjectRequest{}, err
	}
	receive := storedTime(p.ReceiveTime)
	in := DataSubjectRequest{
		CustomerID:  p.CustomerID,
		Type:        p.Type,
		Subject:     p.Subject,
		Details:     p.Details,
		ReceiveTime: receive,
	}
	idem := Idempotency{Key: p.RequestID, Fingerprint: fingerprint("dsr", in)}
	if _, err := s.store.GetCustomer(ctx, p.CustomerID); err != nil {
		if errors.Is(err, apperr.ErrNotFound) {
			return DataSubjectRequest{}, fmt.Errorf("data subject request for customer %s: %w", p.CustomerID, apperr.ErrNotFound)
		}
		return DataSubjectRequest{}, err
	}
	if in.ReceiveTime.IsZero() {
		in.ReceiveTime = now
	}
	in.ID = ids.New(dsrIDPrefix)
	in.DueTime = DueTime(in.ReceiveTime)
	in.Status = DSRReceived
	in.CreateTime = now
	out, err := s.store.CreateDataSubjectRequest(ctx, in, idem)
	if err != nil {
		return DataSubjectRequest{}, fmt.Errorf("submit data subject request: %w", err)
	}
	return out, nil
}

// GetDataSubjectRequest returns one data subject request.
func (s *Service) GetDataSubjectRequest(ctx context.Context, id string) (DataSubjectRequest, error) {
	if !ids.Valid(dsrIDPrefix, id) {
		return DataSubjectRequest{}, apperr.Invalid("dsr_id", "is not a data subject request id")
	}
	return s.store.GetDataSubjectRequest(ctx, id)
}
