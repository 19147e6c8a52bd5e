package domain

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/auth"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongox"
)

// Limits of the changes to a data subject request. They keep one request
// document small: every change rewrites it.
const (
	maxReasonLen        = 2000
	maxSystemLen        = 200
	maxExtensionMonths  = 2
	maxAssistanceItems  = 200
	maxAssistanceTasks  = 100
	maxDueWithinDays    = 366
	taskIDPrefix        = "tsk"
	relayActor          = "svc:registry"
	anonymousActor      = "anonymous"
	dsrChangeRetries    = maxUpdateRetries
	dsrForwardKind      = "data-subject-request"
	dsrReminderKind     = "data-subject-request-reminder"
	dsrRelayRetry       = time.Second
	dsrRelayMaxWait     = 5 * time.Minute
	defaultReminderDays = 7
)

// sha256RE is a lowercase hex SHA-256.
var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// dsrMoves is the status transition table of a data subject request: the
// statuses each status may move to through TransitionDataSubjectRequest.
// RECEIVED → FORWARDED is not in it: only the forwarding relay makes it,
// once dispatch has taken the e-mail to the controller. COMPLETED and
// REJECTED are final.
var dsrMoves = map[DSRStatus][]DSRStatus{
	DSRReceived:   nil,
	DSRForwarded:  {DSRInProgress, DSRCompleted, DSRRejected},
	DSRInProgress: {DSRCompleted, DSRRejected},
	DSRCompleted:  nil,
	DSRRejected:   nil,
}

// Valid reports whether s is a known status.
func (s DSRStatus) Valid() bool {
	_, ok := dsrMoves[s]
	return ok
}

// Final reports whether s is COMPLETED or REJECTED.
func (s DSRStatus) Final() bool { return s == DSRCompleted || s == DSRRejected }

// openDSRStatuses are the statuses of requests still to be answered.
var openDSRStatuses = []DSRStatus{DSRReceived, DSRForwarded, DSRInProgress}

// OpenDSRStatuses returns the statuses of requests still to be answered.
func OpenDSRStatuses() []DSRStatus { return slices.Clone(openDSRStatuses) }

// actor names the caller for the record: the authenticated subject (or the
// person an internal service acts for).
func actor(ctx context.Context) string {
	id, ok := auth.FromContext(ctx)
	switch {
	case !ok || id.Subject == "":
		return anonymousActor
	case id.OnBehalfOf != "":
		return id.OnBehalfOf
	}
	return id.Subject
}

// changeDSR reads request id, asks change for its next state (or none),
// and writes it fenced on the version read, retrying when another writer
// got there first.
func (s *Service) changeDSR(ctx context.Context, id string, change func(DataSubjectRequest) (DataSubjectRequest, bool, error)) (DataSubjectRequest, error) {
	for range dsrChangeRetries {
		cur, err := s.store.GetDataSubjectRequest(ctx, id)
		if err != nil {
			return DataSubjectRequest{}, err
		}
		next, changed, err := change(cloneDSR(cur))
		if err != nil || !changed {
			return next, err
		}
		next.Version = cur.Version + 1
		next.UpdateTime = s.now()
		out, err := s.store.UpdateDataSubjectRequest(ctx, next, cur.Version)
		if errors.Is(err, apperr.ErrConflict) {
			continue
		}
		return out, err
	}
	return DataSubjectRequest{}, fmt.Errorf("data subject request %s changed concurrently: %w", id, apperr.ErrConflict)
}

// cloneDSR copies d's lists, so a change function can append without
// touching the state it was given.
func cloneDSR(d DataSubjectRequest) DataSubjectRequest {
	d.Extensions = slices.Clone(d.Extensions)
	d.StatusHistory = slices.Clone(d.StatusHistory)
	d.Assistance = slices.Clone(d.Assistance)
	d.Tasks = slices.Clone(d.Tasks)
	return d
}

// checkDSRID validates a data subject request id field.
func checkDSRID(v *apperr.Violations, id string) {
	if !ids.Valid(dsrIDPrefix, id) {
		v.Add("dsr_id", "is not a data subject request id")
	}
}

// ListDSRParams are the inputs of ListDataSubjectRequests.
type ListDSRParams struct {
	PageSize      int32
	PageToken     string
	CustomerID    string
	Status        DSRStatus
	DueBefore     time.Time
	DueWithinDays int32
	OverdueOnly   bool
}

// dsrCursor is a ListDataSubjectRequests page token bound to its filters.
// due_within_days is kept as days (not as a time), so the window moves with
// the clock between pages but the filter stays the same.
type dsrCursor struct {
	After     string    `json:"a"`
	Customer  string    `json:"c,omitempty"`
	Status    DSRStatus `json:"s,omitempty"`
	DueBefore time.Time `json:"d,omitzero"`
	Within    int32     `json:"w,omitempty"`
	Overdue   bool      `json:"o,omitempty"`
}

// ValidateListDataSubjectRequests reports every problem of the input (pure).
func (s *Service) ValidateListDataSubjectRequests(p ListDSRParams) error {
	_, _, err := validateListDSR(p)
	return err
}

func validateListDSR(p ListDSRParams) (int, dsrCursor, error) {
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
	switch {
	case p.DueWithinDays < 0 || p.DueWithinDays > maxDueWithinDays:
		v.Add("due_within_days", "must be 1 to %d", maxDueWithinDays)
	case p.DueWithinDays > 0 && !p.DueBefore.IsZero():
		v.Add("due_within_days", "must not be set together with due_before")
	}
	cur := dsrCursor{}
	if p.PageToken != "" {
		err := mongox.DecodePageToken(p.PageToken, &cur)
		if err != nil || cur.Customer != p.CustomerID || cur.Status != p.Status || !cur.DueBefore.Equal(storedTime(p.DueBefore)) ||
			cur.Within != p.DueWithinDays || cur.Overdue != p.OverdueOnly {
			v.Add("page_token", "not a token returned by a previous page with the same filter")
		}
	}
	return size, cur, v.Err()
}

// ListDataSubjectRequests returns one page of requests in id (receipt)
// order and the next page's token. The due filters keep only open requests:
// due_before and due_within_days those due before a time, overdue_only
// those whose due time has passed; of several, the earliest bound applies.
func (s *Service) ListDataSubjectRequests(ctx context.Context, p ListDSRParams) ([]DataSubjectRequest, string, error) {
	size, cur, err := validateListDSR(p)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	q := DSRQuery{After: cur.After, CustomerID: p.CustomerID, Status: p.Status, Limit: size + 1}
	bound := func(t time.Time) {
		if q.DueBefore.IsZero() || t.Before(q.DueBefore) {
			q.DueBefore = t
		}
	}
	if !p.DueBefore.IsZero() {
		bound(storedTime(p.DueBefore))
	}
	if p.DueWithinDays > 0 {
		bound(now.AddDate(0, 0, int(p.DueWithinDays)))
	}
	if p.OverdueOnly {
		bound(now)
	}
	list, err := s.store.ListDataSubjectRequests(ctx, q)
	if err != nil {
		return nil, "", fmt.Errorf("list data subject requests: %w", err)
	}
	if len(list) <= size {
		return list, "", nil
	}
	list = list[:size]
	next, err := mongox.EncodePageToken(dsrCursor{
		After: list[size-1].ID, Customer: p.CustomerID, Status: p.Status, DueBefore: storedTime(p.DueBefore),
		Within: p.DueWithinDays, Overdue: p.OverdueOnly,
	})
	if err != nil {
		return nil, "", err
	}
	return list, next, nil
}

// ExtendDSRParams are the inputs of ExtendDataSubjectRequest.
type ExtendDSRParams struct {
	ID        string
	Months    int32
	Reason    string
	RequestID string
}

// ValidateExtendDataSubjectRequest reports every problem of the input (pure).
func (s *Service) ValidateExtendDataSubjectRequest(p ExtendDSRParams) error {
	var v apperr.Violations
	checkDSRID(&v, p.ID)
	if p.Months < 1 || p.Months > maxExtensionMonths {
		v.Add("months", "must be 1 or 2")
	}
	checkText(&v, "reason", p.Reason, true, maxReasonLen)
	checkRequestID(&v, "request_id", p.RequestID)
	return v.Err()
}

// ExtendDataSubjectRequest extends the due date by one or two months with
// a reason (GDPR Art. 12(3): "by two further months where necessary, taking
// into account the complexity and number of the requests"). The extensions
// together are at most two months; the controller must tell the data
// subject within one month of receipt, so an extension is refused once the
// original due date has passed; completed or rejected requests are not
// extended. The new due date is counted from receipt (MonthsAfter), so
// clamping at a short month does not accumulate.
func (s *Service) ExtendDataSubjectRequest(ctx context.Context, p ExtendDSRParams) (DataSubjectRequest, error) {
	if err := s.ValidateExtendDataSubjectRequest(p); err != nil {
		return DataSubjectRequest{}, err
	}
	who := actor(ctx)
	return s.changeDSR(ctx, p.ID, func(cur DataSubjectRequest) (DataSubjectRequest, bool, error) {
		if p.RequestID != "" {
			for _, e := range cur.Extensions {
				if e.RequestID == p.RequestID {
					if e.Months != p.Months || e.Reason != p.Reason {
						return DataSubjectRequest{}, false, RequestReusedError()
					}
					return cur, false, nil
				}
			}
		}
		now := s.now()
		used := int32(0)
		for _, e := range cur.Extensions {
			used += e.Months
		}
		switch {
		case cur.Status.Final():
			return DataSubjectRequest{}, false, fmt.Errorf("data subject request %s is %s and cannot be extended: %w", cur.ID, cur.Status, apperr.ErrFailedPrecondition)
		case used+p.Months > maxExtensionMonths:
			return DataSubjectRequest{}, false, fmt.Errorf("data subject request %s is already extended by %d month(s); at most %d in all: %w", cur.ID, used, maxExtensionMonths, apperr.ErrFailedPrecondition)
		case now.After(cur.OriginalDueTime):
			return DataSubjectRequest{}, false, fmt.Errorf("data subject request %s: an extension must be decided within one month of receipt (by %s): %w",
				cur.ID, cur.OriginalDueTime.Format(time.RFC3339), apperr.ErrFailedPrecondition)
		}
		due := MonthsAfter(cur.ReceiveTime, int(1+used+p.Months))
		cur.Extensions = append(cur.Extensions, DueDateExtension{
			Months: p.Months, Reason: p.Reason, PreviousDue: cur.DueTime, NewDue: due,
			RecordTime: now, Actor: who, RequestID: p.RequestID,
		})
		cur.DueTime = due
		return cur, true, nil
	})
}

// TransitionDSRParams are the inputs of TransitionDataSubjectRequest.
type TransitionDSRParams struct {
	ID        string
	Status    DSRStatus
	Reason    string
	RequestID string
}

// ValidateTransitionDataSubjectRequest reports every problem of the input
// (pure).
func (s *Service) ValidateTransitionDataSubjectRequest(p TransitionDSRParams) error {
	var v apperr.Violations
	checkDSRID(&v, p.ID)
	switch {
	case p.Status == "":
		v.Add("status", "is required")
	case !p.Status.Valid():
		v.Add("status", "is not a known status")
	}
	checkText(&v, "reason", p.Reason, p.Status == DSRRejected, maxReasonLen)
	checkRequestID(&v, "request_id", p.RequestID)
	return v.Err()
}

// TransitionDataSubjectRequest moves a request along dsrMoves; any other
// move is FAILED_PRECONDITION naming the allowed ones. A retry (same
// request id) returns the request unchanged.
func (s *Service) TransitionDataSubjectRequest(ctx context.Context, p TransitionDSRParams) (DataSubjectRequest, error) {
	if err := s.ValidateTransitionDataSubjectRequest(p); err != nil {
		return DataSubjectRequest{}, err
	}
	who := actor(ctx)
	return s.changeDSR(ctx, p.ID, func(cur DataSubjectRequest) (DataSubjectRequest, bool, error) {
		if p.RequestID != "" {
			for _, c := range cur.StatusHistory {
				if c.RequestID == p.RequestID {
					if c.To != p.Status || c.Reason != p.Reason {
						return DataSubjectRequest{}, false, RequestReusedError()
					}
					return cur, false, nil
				}
			}
		}
		if !slices.Contains(dsrMoves[cur.Status], p.Status) {
			return DataSubjectRequest{}, false, fmt.Errorf("data subject request %s cannot move from %s to %s; %s: %w",
				cur.ID, cur.Status, p.Status, allowedMoves(cur.Status), apperr.ErrFailedPrecondition)
		}
		cur.StatusHistory = append(cur.StatusHistory, DSRStatusChange{
			From: cur.Status, To: p.Status, Reason: p.Reason, Time: s.now(), Actor: who, RequestID: p.RequestID,
		})
		cur.Status = p.Status
		return cur, true, nil
	})
}

// allowedMoves says where a request in status from may go.
func allowedMoves(from DSRStatus) string {
	switch {
	case from == DSRReceived:
		return "it moves to forwarded when the forwarding relay has sent it to the controller"
	case len(dsrMoves[from]) == 0:
		return string(from) + " is final"
	}
	names := make([]string, 0, len(dsrMoves[from]))
	for _, s := range dsrMoves[from] {
		names = append(names, string(s))
	}
	return "allowed: " + strings.Join(names, ", ")
}

// RecordAssistanceParams are the inputs of RecordDataSubjectRequestAssistance.
type RecordAssistanceParams struct {
	ID          string
	Description string
	RequestID   string
}

// ValidateRecordAssistance reports every problem of the input (pure).
func (s *Service) ValidateRecordAssistance(p RecordAssistanceParams) error {
	var v apperr.Violations
	checkDSRID(&v, p.ID)
	checkText(&v, "description", p.Description, true, maxReasonLen)
	checkRequestID(&v, "request_id", p.RequestID)
	return v.Err()
}

// RecordDataSubjectRequestAssistance records assistance given to the
// controller for a request, in any status (help may follow the answer).
func (s *Service) RecordDataSubjectRequestAssistance(ctx context.Context, p RecordAssistanceParams) (DataSubjectRequest, error) {
	if err := s.ValidateRecordAssistance(p); err != nil {
		return DataSubjectRequest{}, err
	}
	who := actor(ctx)
	return s.changeDSR(ctx, p.ID, func(cur DataSubjectRequest) (DataSubjectRequest, bool, error) {
		if p.RequestID != "" {
			for _, a := range cur.Assistance {
				if a.RequestID == p.RequestID {
					if a.Description != p.Description {
						return DataSubjectRequest{}, false, RequestReusedError()
					}
					return cur, false, nil
				}
			}
		}
		if len(cur.Assistance) >= maxAssistanceItems {
			return DataSubjectRequest{}, false, fmt.Errorf("data subject request %s has %d assistance records, the most it can hold: %w", cur.ID, maxAssistanceItems, apperr.ErrFailedPrecondition)
		}
		cur.Assistance = append(cur.Assistance, AssistanceRecord{Description: p.Description, RecordTime: s.now(), Actor: who, RequestID: p.RequestID})
		return cur, true, nil
	})
}

// AddTaskParams are the inputs of AddAssistanceTask.
type AddTaskParams struct {
	ID          string
	Kind        TaskKind
	Description string
	System      string
	RequestID   string
}

// ValidateAddAssistanceTask reports every problem of the input (pure).
func (s *Service) ValidateAddAssistanceTask(p AddTaskParams) error {
	var v apperr.Violations
	checkDSRID(&v, p.ID)
	switch {
	case p.Kind == "":
		v.Add("kind", "is required")
	case !p.Kind.Valid():
		v.Add("kind", "is not a known task kind")
	}
	checkText(&v, "description", p.Description, true, maxReasonLen)
	if p.System != "" {
		checkName(&v, "system", p.System, maxSystemLen)
	}
	checkRequestID(&v, "request_id", p.RequestID)
	return v.Err()
}

// AddAssistanceTask adds a task to a request that is not final and returns
// the request and the task. A retry (same request id and input) returns the
// task the first call added.
func (s *Service) AddAssistanceTask(ctx context.Context, p AddTaskParams) (DataSubjectRequest, AssistanceTask, error) {
	if err := s.ValidateAddAssistanceTask(p); err != nil {
		return DataSubjectRequest{}, AssistanceTask{}, err
	}
	who := actor(ctx)
	fp := fingerprint("task", struct {
		Kind             TaskKind
		Description, Sys string
	}{p.Kind, p.Description, p.System})
	var task AssistanceTask
	d, err := s.changeDSR(ctx, p.ID, func(cur DataSubjectRequest) (DataSubjectRequest, bool, error) {
		if p.RequestID != "" {
			for _, t := range cur.Tasks {
				if t.RequestID == p.RequestID {
					if t.Fingerprint != fp {
						return DataSubjectRequest{}, false, RequestReusedError()
					}
					task = t
					return cur, false, nil
				}
			}
		}
		switch {
		case cur.Status.Final():
			return DataSubjectRequest{}, false, fmt.Errorf("data subject request %s is %s: %w", cur.ID, cur.Status, apperr.ErrFailedPrecondition)
		case len(cur.Tasks) >= maxAssistanceTasks:
			return DataSubjectRequest{}, false, fmt.Errorf("data subject request %s has %d tasks, the most it can hold: %w", cur.ID, maxAssistanceTasks, apperr.ErrFailedPrecondition)
		}
		task = AssistanceTask{
			ID: ids.New(taskIDPrefix), Kind: p.Kind, Description: p.Description, System: p.System,
			CreateTime: s.now(), CreatedBy: who, RequestID: p.RequestID, Fingerprint: fp,
		}
		cur.Tasks = append(cur.Tasks, task)
		return cur, true, nil
	})
	if err != nil {
		return DataSubjectRequest{}, AssistanceTask{}, err
	}
	return d, task, nil
}

// CompleteTaskParams are the inputs of CompleteAssistanceTask.
type CompleteTaskParams struct {
	ID             string
	TaskID         string
	Evidence       string
	ArtefactSHA256 string
	RequestID      string
}

// ValidateCompleteAssistanceTask reports every problem of the input (pure).
func (s *Service) ValidateCompleteAssistanceTask(p CompleteTaskParams) error {
	var v apperr.Violations
	checkDSRID(&v, p.ID)
	if !ids.Valid(taskIDPrefix, p.TaskID) {
		v.Add("task_id", "is not an assistance task id")
	}
	checkText(&v, "evidence", p.Evidence, true, maxReasonLen)
	checkSHA256(&v, "artefact_sha256", p.ArtefactSHA256)
	checkRequestID(&v, "request_id", p.RequestID)
	return v.Err()
}

// checkSHA256 validates an optional lowercase hex SHA-256.
func checkSHA256(v *apperr.Violations, field, s string) {
	if s != "" && !sha256RE.MatchString(s) {
		v.Add(field, "must be 64 lowercase hexadecimal characters")
	}
}

// CompleteAssistanceTask records a task as done with its evidence. Tasks
// may be completed on a final request too: the work may finish after the
// controller answered. A completed task is FAILED_PRECONDITION, unless this
// is a retry (same request id).
func (s *Service) CompleteAssistanceTask(ctx context.Context, p CompleteTaskParams) (DataSubjectRequest, AssistanceTask, error) {
	if err := s.ValidateCompleteAssistanceTask(p); err != nil {
		return DataSubjectRequest{}, AssistanceTask{}, err
	}
	who := actor(ctx)
	var task AssistanceTask
	d, err := s.changeDSR(ctx, p.ID, func(cur DataSubjectRequest) (DataSubjectRequest, bool, error) {
		i := slices.IndexFunc(cur.Tasks, func(t AssistanceTask) bool { return t.ID == p.TaskID })
		if i < 0 {
			return DataSubjectRequest{}, false, fmt.Errorf("assistance task %s of data subject request %s: %w", p.TaskID, cur.ID, apperr.ErrNotFound)
		}
		t := cur.Tasks[i]
		if !t.CompleteTime.IsZero() {
			if p.RequestID != "" && t.CompleteRequestID == p.RequestID {
				task = t
				return cur, false, nil
			}
			return DataSubjectRequest{}, false, fmt.Errorf("assistance task %s was completed at %s: %w", t.ID, t.CompleteTime.Format(time.RFC3339), apperr.ErrFailedPrecondition)
		}
		t.CompleteTime, t.CompletedBy, t.Evidence, t.ArtefactSHA256, t.CompleteRequestID = s.now(), who, p.Evidence, p.ArtefactSHA256, p.RequestID
		cur.Tasks[i] = t
		task = t
		return cur, true, nil
	})
	if err != nil {
		return DataSubjectRequest{}, AssistanceTask{}, err
	}
	return d, task, nil
}
