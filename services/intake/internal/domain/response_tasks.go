package domain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
)

// Timeline actions of the response workflow. The "response." namespace is
// reserved to intake.
const (
	ActionTasksOpened        = "response.tasks_opened"
	ActionTeamAlerted        = "response.team_alerted"
	ActionTaskAssigned       = "response.task_assigned"
	ActionTaskStarted        = "response.task_started"
	ActionTaskCompleted      = "response.task_completed"
	ActionTaskBlocked        = "response.task_blocked"
	ActionTaskReopened       = "response.task_reopened"
	ActionTaskOverdue        = "response.task_overdue"
	ActionAnalysisSaved      = "response.analysis_saved"
	ActionAnalysisSignedOff  = "response.analysis_signed_off"
	ActionNotificationDecide = "response.notification_decided"
)

// Limits of task inputs.
const (
	MaxEvidenceBytes = 4000
	MaxReasonBytes   = 2000
)

// TaskAction is a change a responder (or the escalation worker) makes to a
// task.
type TaskAction int

// TaskAction values.
const (
	TaskAssign TaskAction = iota + 1
	TaskStart
	TaskComplete
	TaskBlock
	TaskReopen
	TaskEscalate
)

// TaskChange is one requested change of a task.
type TaskChange struct {
	IncidentID string
	Key        string
	Action     TaskAction
	Assignee   string // TaskAssign
	Evidence   string // TaskComplete
	Reason     string // TaskBlock, TaskReopen
	// Etag, when set, must be the task's current etag.
	Etag string
	// RequestID is the idempotency key; a retry returns the task as it is.
	RequestID string
}

// ValidateTaskChange checks c without the store.
func ValidateTaskChange(c TaskChange) error {
	var v apperr.Violations
	addIDViolation(&v, "incident_id", c.IncidentID)
	if !taskKeyPattern.MatchString(c.Key) {
		v.Add("task_key", "must be a task key such as %q", "contain_preserve")
	}
	switch c.Action {
	case TaskAssign:
		if !memberIDPattern.MatchString(c.Assignee) {
			v.Add("assignee", "must be a team member id")
		}
	case TaskComplete:
		checkText(&v, "evidence", c.Evidence, MaxEvidenceBytes)
	case TaskBlock, TaskReopen:
		checkText(&v, "reason", c.Reason, MaxReasonBytes)
	case TaskStart, TaskEscalate:
	default:
		v.Add("action", "unknown task action %d", c.Action)
	}
	if c.Etag != "" {
		if n, err := strconv.ParseInt(c.Etag, 10, 64); err != nil || n <= 0 {
			v.Add("etag", "must be an etag returned by the service")
		}
	}
	if c.RequestID != "" && !requestIDPattern.MatchString(c.RequestID) {
		v.Add("request_id", "must be 1 to 128 letters, digits, '.', '_', ':' or '-'")
	}
	return v.Err()
}

func checkText(v *apperr.Violations, field, s string, maxBytes int) {
	switch {
	case strings.TrimSpace(s) == "":
		v.Add(field, "is required and must not be blank")
	case len(s) > maxBytes:
		v.Add(field, "must be at most %d bytes", maxBytes)
	}
}

// ListTasks returns an incident's tasks in playbook order. It reads the task
// documents; a change whose writer died before updating its document shows
// once the task is next read or changed (as ListIncidents).
func (r *Response) ListTasks(ctx context.Context, incidentID string) ([]Task, error) {
	if err := checkIncidentID("incident_id", incidentID); err != nil {
		return nil, err
	}
	tasks, err := r.rs.ListTasks(ctx, incidentID)
	if err != nil {
		return nil, err
	}
	if len(tasks) == 0 {
		if _, err := r.load(ctx, incidentID); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(tasks, func(a, b Task) int {
		if a.Order != b.Order {
			return a.Order - b.Order
		}
		return strings.Compare(a.Key, b.Key)
	})
	return tasks, nil
}

// GetTask returns one task, completing a change its writer left half done.
func (r *Response) GetTask(ctx context.Context, incidentID, key string) (Task, error) {
	var v apperr.Violations
	addIDViolation(&v, "incident_id", incidentID)
	if !taskKeyPattern.MatchString(key) {
		v.Add("task_key", "must be a task key such as %q", "contain_preserve")
	}
	if err := v.Err(); err != nil {
		return Task{}, err
	}
	return r.loadTask(ctx, incidentID, key)
}

// loadTask returns the task as its newest event says, first finishing that
// event (timeline entry, then document) if its writer did not.
func (r *Response) loadTask(ctx context.Context, incidentID, key string) (Task, error) {
	t, err := r.rs.GetTask(ctx, incidentID, key)
	if err != nil {
		return Task{}, err
	}
	ev, ok, err := r.rs.LatestTaskEvent(ctx, t.ID())
	if err != nil {
		return Task{}, err
	}
	if ok && ev.Task.Version > t.Version {
		if err := r.finishTaskEvent(ctx, ev); err != nil {
			return Task{}, err
		}
		return ev.Task, nil
	}
	return t, nil
}

// finishTaskEvent commits the event's timeline entry and then applies the
// task to its document; both are idempotent.
func (r *Response) finishTaskEvent(ctx context.Context, ev TaskEvent) error {
	if err := r.owe(ctx, ev.Task.IncidentID, ev.Owed); err != nil {
		return err
	}
	return r.rs.ApplyTask(ctx, ev.Task)
}

// ChangeTask applies c to the task for caller. The task's next version is
// fenced by the unique id of its event, so of concurrent changes based on
// the same version one wins and the others re-read (or, with an etag,
// fail with ABORTED).
func (r *Response) ChangeTask(ctx context.Context, caller Caller, c TaskChange) (Task, error) {
	if err := ValidateTaskChange(c); err != nil {
		return Task{}, err
	}
	if c.Action == TaskAssign {
		if _, err := r.rs.GetMember(ctx, c.Assignee); errors.Is(err, apperr.ErrNotFound) {
			return Task{}, apperr.Invalid("assignee", "names no team member")
		} else if err != nil {
			return Task{}, err
		}
	}
	for range maxAppendAttempts {
		t, err := r.loadTask(ctx, c.IncidentID, c.Key)
		if err != nil {
			return Task{}, err
		}
		if c.RequestID != "" {
			if _, done, err := r.rs.TaskEventByRequest(ctx, t.ID(), c.RequestID); err != nil {
				return Task{}, err
			} else if done {
				return t, nil
			}
		}
		if c.Etag != "" && c.Etag != strconv.FormatInt(t.Version, 10) {
			return Task{}, fmt.Errorf("task %s changed since it was read (etag %s, now %d): %w", t.Key, c.Etag, t.Version, apperr.ErrConflict)
		}
		now := r.clock()
		next, entry, err := applyTaskAction(t, c, caller, now)
		if err != nil || entry == nil {
			return next, err
		}
		next.Version = t.Version + 1
		next.UpdateTime = now
		ev := TaskEvent{
			Task:      next,
			RequestID: c.RequestID,
			Time:      now,
			Owed: Owed{
				RequestID: "response.task:" + next.ID() + ":v" + strconv.FormatInt(next.Version, 10),
				Caller:    caller,
				Entry:     *entry,
			},
		}
		switch err := r.rs.InsertTaskEvent(ctx, ev); {
		case errors.Is(err, apperr.ErrConflict):
			continue
		case err != nil:
			return Task{}, err
		}
		if err := r.finishTaskEvent(context.WithoutCancel(ctx), ev); err != nil {
			// Stored: the next read finishes it.
			r.log.WarnContext(ctx, "task change stored; timeline entry pending", "task_id", next.ID(), "error", err.Error())
		}
		r.metrics.taskChanged(ctx, next, c.Action)
		return next, nil
	}
	return Task{}, fmt.Errorf("task %s: busy, try again: %w", c.Key, apperr.ErrConflict)
}

// applyTaskAction is the task state machine. It returns the task after the
// change and its timeline entry, or a nil entry when nothing changes.
func applyTaskAction(t Task, c TaskChange, caller Caller, now time.Time) (Task, *TimelineEntry, error) {
	next := t
	name := "Task " + t.Key + " (" + t.Title + ")"
	by := caller.Actor.Subject
	refuse := func(verb string, allowed ...TaskState) error {
		names := make([]string, len(allowed))
		for i, s := range allowed {
			names[i] = s.String()
		}
		return fmt.Errorf("task %s is %s; it can be %s only when %s: %w", t.Key, t.State, verb, strings.Join(names, " or "), apperr.ErrFailedPrecondition)
	}
	stateChange := func(to TaskState) Change {
		return Change{Field: "state", OldValue: t.State.String(), NewValue: to.String()}
	}
	switch c.Action {
	case TaskAssign:
		if t.State == TaskStateDone {
			return t, nil, refuse("assigned", TaskStateOpen, TaskStateInProgress, TaskStateBlocked)
		}
		if t.Assignee == c.Assignee {
			return t, nil, nil
		}
		next.Assignee = c.Assignee
		return next, &TimelineEntry{
			Action:  ActionTaskAssigned,
			Summary: cutSummary(name + " assigned to " + c.Assignee + " by " + by),
			Changes: []Change{{Field: "assignee", OldValue: t.Assignee, NewValue: c.Assignee}},
		}, nil
	case TaskStart:
		if t.State != TaskStateOpen && t.State != TaskStateBlocked {
			return t, nil, refuse("started", TaskStateOpen, TaskStateBlocked)
		}
		next.State, next.BlockReason = TaskStateInProgress, ""
		return next, &TimelineEntry{
			Action:  ActionTaskStarted,
			Summary: cutSummary(name + " started by " + by),
			Changes: []Change{stateChange(next.State)},
		}, nil
	case TaskComplete:
		if t.State == TaskStateDone {
			return t, nil, refuse("completed", TaskStateOpen, TaskStateInProgress, TaskStateBlocked)
		}
		next.State, next.BlockReason = TaskStateDone, ""
		next.Evidence, next.CompletedBy, next.CompleteTime = c.Evidence, by, now
		deadline := "by its due time"
		if now.After(t.DueTime) {
			deadline = "after its due time " + t.DueTime.Format(time.RFC3339)
		}
		return next, &TimelineEntry{
			Action:  ActionTaskCompleted,
			Summary: cutSummary(name + " completed by " + by + ", " + deadline),
			Note:    c.Evidence,
			Changes: []Change{stateChange(next.State)},
		}, nil
	case TaskBlock:
		if t.State != TaskStateOpen && t.State != TaskStateInProgress {
			return t, nil, refuse("blocked", TaskStateOpen, TaskStateInProgress)
		}
		next.State, next.BlockReason = TaskStateBlocked, c.Reason
		return next, &TimelineEntry{
			Action:  ActionTaskBlocked,
			Summary: cutSummary(name + " blocked by " + by),
			Note:    c.Reason,
			Changes: []Change{stateChange(next.State)},
		}, nil
	case TaskReopen:
		if t.State != TaskStateDone {
			return t, nil, refuse("reopened", TaskStateDone)
		}
		next.State = TaskStateOpen
		next.Evidence, next.CompletedBy, next.CompleteTime = "", "", time.Time{}
		return next, &TimelineEntry{
			Action:  ActionTaskReopened,
			Summary: cutSummary(name + " reopened by " + by),
			Note:    c.Reason,
			Changes: []Change{stateChange(next.State)},
		}, nil
	case TaskEscalate:
		if t.State == TaskStateDone || !t.EscalateTime.IsZero() {
			return t, nil, nil
		}
		next.EscalateTime = now
		return next, &TimelineEntry{
			Action: ActionTaskOverdue,
			Summary: cutSummary(name + " is overdue (due " + t.DueTime.Format(time.RFC3339) + ", " + t.State.String() +
				"); escalated to " + t.OwnerRole.String()),
			Changes: []Change{{Field: "escalate_time", OldValue: "", NewValue: now.Format(time.RFC3339)}},
		}, nil
	}
	return t, nil, fmt.Errorf("unknown task action %d: %w", c.Action, apperr.ErrFailedPrecondition)
}
