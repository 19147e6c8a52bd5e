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
	// DueTime is the controller's statutory deadline to answer: one month
	// after receipt (GDPR Art. 12(3)), moved by extensions; see DueTime.
	DueTime time.Time
	// OriginalDueTime is the due time before any extension.
	OriginalDueTime time.Time
	Status          DSRStatus
	CreateTime      time.Time
	UpdateTime      time.Time
	// NotificationEmail is the customer's Notification Email Address when
	// the request was received: where it is forwarded.
	NotificationEmail string
	// ForwardPending says the controller has not been sent the request yet;
	// the forwarding relay clears it once dispatch took the e-mail
	// (ForwardTime, ForwardNoticeID).
	ForwardPending  bool
	ForwardTime     time.Time
	ForwardNoticeID string
	// ReminderTime and ReminderNoticeID record the one reminder sent when
	// the due date came near.
	ReminderTime     time.Time
	ReminderNoticeID string
	Extensions       []DueDateExtension
	StatusHistory    []DSRStatusChange
	Assistance       []AssistanceRecord
	Tasks            []AssistanceTask
	// Version counts changes; every change after the create is fenced on
	// it (see DataSubjectRequestStore.UpdateDataSubjectRequest).
	Version int64
}

// DueDateExtension is one extension of a request's due date.
type DueDateExtension struct {
	Months      int32
	Reason      string
	PreviousDue time.Time
	NewDue      time.Time
	RecordTime  time.Time
	Actor       string
	RequestID   string
}

// DSRStatusChange is one status change of a request.
type DSRStatusChange struct {
	From      DSRStatus
	To        DSRStatus
	Reason    string
	Time      time.Time
	Actor     string
	RequestID string
}

// AssistanceRecord is assistance given to the controller (DPA 3.1).
type AssistanceRecord struct {
	Description string
	RecordTime  time.Time
	Actor       string
	RequestID   string
}

// TaskKind is what an assistance task does.
type TaskKind string

// Assistance task kinds.
const (
	TaskExport   TaskKind = "export"
	TaskErase    TaskKind = "erase"
	TaskRectify  TaskKind = "rectify"
	TaskRestrict TaskKind = "restrict"
	TaskOther    TaskKind = "other"
)

// Valid reports whether k is a known kind.
func (k TaskKind) Valid() bool {
	switch k {
	case TaskExport, TaskErase, TaskRectify, TaskRestrict, TaskOther:
		return true
	}
	return false
}

// AssistanceTask is work we do for the controller on one request, e.g.
// export or erase the data subject's records in one of our stores.
type AssistanceTask struct {
	ID          string
	Kind        TaskKind
	Description string
	System      string
	CreateTime  time.Time
	CreatedBy   string
	// RequestID is the idempotency key of the AddAssistanceTask call.
	RequestID string
	// Fingerprint tells a retry of that call from a reuse of its key.
	Fingerprint    string
	CompleteTime   time.Time
	CompletedBy    string
	Evidence       string
	ArtefactSHA256 string
	// CompleteRequestID is the idempotency key of the completing call.
	CompleteRequestID string
}

// DSRQuery selects data subject requests for a list page.
type DSRQuery struct {
	After      string
	CustomerID string
	Status     DSRStatus
	// DueBefore, when set, keeps only open requests (not completed or
	// rejected) due before it.
	DueBefore time.Time
	// ReceivedFrom and ReceivedTo, when set, keep requests received in
	// [ReceivedFrom, ReceivedTo).
	ReceivedFrom, ReceivedTo time.Time
	Limit                    int
}

// DataSubjectRequestStore keeps data subject requests.
type DataSubjectRequestStore interface {
	// CreateDataSubjectRequest inserts d. When a request made with the same
	// idempotency key and fingerprint exists, it returns that one; a key
	// reused for a different request fails with RequestReusedError.
	CreateDataSubjectRequest(ctx context.Context, d DataSubjectRequest, idem Idempotency) (DataSubjectRequest, error)
	// GetDataSubjectRequest returns one request or ErrNotFound.
	GetDataSubjectRequest(ctx context.Context, id string) (DataSubjectRequest, error)
	// ListDataSubjectRequests returns up to q.Limit requests in id order.
	ListDataSubjectRequests(ctx context.Context, q DSRQuery) ([]DataSubjectRequest, error)
	// UpdateDataSubjectRequest moves a request from version from to next
	// (whose Version is from+1). It fails with ErrConflict when another
	// writer moved it first; exactly one writer wins each version, on
	// MongoDB and FerretDB alike.
	UpdateDataSubjectRequest(ctx context.Context, next DataSubjectRequest, from int64) (DataSubjectRequest, error)
	// ClaimDSRForward leases one request still to be forwarded to owner
	// until now+leaseFor (mongox.Claim), with the number of claims so far.
	ClaimDSRForward(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (DataSubjectRequest, int, bool, error)
	// ClaimDSRReminder leases one open, forwarded request due before
	// dueBefore whose reminder has not been sent.
	ClaimDSRReminder(ctx context.Context, owner string, now, dueBefore time.Time, leaseFor time.Duration) (DataSubjectRequest, int, bool, error)
	// RetryDSRLease keeps a request owner holds leased until next, so it is
	// tried again then.
	RetryDSRLease(ctx context.Context, id, owner string, next time.Time) error
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
// two further months (Art. 12(3)) are counted the same way from receipt
// (MonthsAfter(receive, 1+extension)), never from the previous due date:
// 31 January extended by two months is due 31 March, not 28 March.
func DueTime(receive time.Time) time.Time { return MonthsAfter(receive, 1) }

// MonthsAfter is t plus n calendar months, clamped to the last day of the
// target month when it has no such day (see DueTime), in UTC.
func MonthsAfter(t time.Time, n int) time.Time {
	r := t.UTC()
	y, m, d := r.Date()
	first := time.Date(y, m+time.Month(n), 1, r.Hour(), r.Minute(), r.Second(), r.Nanosecond(), time.UTC)
	// Day 0 of the month after the target is the target's last day.
	last := time.Date(first.Year(), first.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), r.Hour(), r.Minute(), r.Second(), r.Nanosecond(), time.UTC)
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
// customer's attention, computes its due date, sets it RECEIVED and marks
// it to be forwarded to the customer's Notification Email Address (the
// forwarding relay, ForwardDataSubjectRequests, does that).
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
	cust, err := s.store.GetCustomer(ctx, p.CustomerID)
	if err != nil {
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
	in.OriginalDueTime = in.DueTime
	in.Status = DSRReceived
	in.CreateTime = now
	in.UpdateTime = now
	in.NotificationEmail = cust.NotificationEmail
	in.ForwardPending = true
	in.StatusHistory = []DSRStatusChange{{To: DSRReceived, Time: now, Actor: actor(ctx), RequestID: p.RequestID}}
	in.Version = 1
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
