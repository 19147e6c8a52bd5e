package domain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/breachline/breachline/pkg/mongox"
)

// OpenStep opens the response of one queued incident (a worker.Step): the
// playbook's tasks, with ids "<incident>/<key>" so a rerun opens nothing
// twice, a "response.tasks_opened" entry, the team alert (recorded as
// "response.team_alerted" with the recipients, then e-mailed through the
// Notifier when one is wired).
// Every step is idempotent, so an attempt that dies part-way is simply
// repeated when its lease runs out; a failure (dispatch down) is retried
// with backoff. The queue entry is then deleted; a SIEM retrying the
// incident's first signal later queues it again, and the opener repeats its
// idempotent steps (nothing is opened or recorded twice).
func (r *Response) OpenStep(ctx context.Context) (bool, error) {
	now := r.now().UTC()
	id, attempts, ok, err := r.rs.ClaimOpened(ctx, r.opts.Owner, now, r.opts.Lease)
	if err != nil || !ok {
		return false, err
	}
	if err := r.openResponse(ctx, id); err != nil {
		next := now.Add(mongox.Backoff(attempts, time.Second, 5*time.Minute))
		return true, errors.Join(fmt.Errorf("open response of %s: %w", id, err),
			r.rs.RetryOpened(context.WithoutCancel(ctx), id, r.opts.Owner, next))
	}
	return true, r.rs.DeleteOpened(context.WithoutCancel(ctx), id, r.opts.Owner)
}

func (r *Response) openResponse(ctx context.Context, id string) error {
	v, err := r.load(ctx, id)
	if err != nil {
		return err
	}
	inc := v.inc
	team, err := r.rs.ListMembers(ctx, RoleUnspecified, "", 0)
	if err != nil {
		return err
	}
	now := r.clock()
	tasks := r.playbooks.TasksFor(inc, now)
	alerted := alertEvidence(team)
	for i := range tasks {
		if tasks[i].Key == AlertTaskKey {
			tasks[i].State = TaskStateDone
			tasks[i].Evidence = alerted
			tasks[i].CompletedBy = ResponseActor.Subject
			tasks[i].CompleteTime = now
		}
	}
	if err := r.rs.InsertTasks(ctx, tasks); err != nil {
		return err
	}
	caller := Caller{Actor: ResponseActor}
	var note strings.Builder
	var books []string
	for _, t := range tasks {
		fmt.Fprintf(&note, "%s: %s (owner %s, due %s)\n", t.Key, t.Title, t.OwnerRole, t.DueTime.Format(time.RFC3339))
		if b := t.PlaybookID + " " + t.PlaybookVersion; !containsString(books, b) {
			books = append(books, b)
		}
	}
	err = r.owe(ctx, id, Owed{RequestID: "response.open:" + id, Caller: caller, Entry: TimelineEntry{
		Action:  ActionTasksOpened,
		Summary: cutSummary("Opened " + strconv.Itoa(len(tasks)) + " response tasks from playbook " + strings.Join(books, ", ")),
		Note:    truncate(note.String(), MaxNoteBytes),
	}})
	if err != nil {
		return err
	}
	summary := "Response team alerted: " + strconv.Itoa(len(team)) + " members"
	if r.opts.Notifier == nil {
		summary += " (recorded; e-mail delivery is not configured)"
	} else {
		summary += " by e-mail"
	}
	if len(team) == 0 {
		summary = "No response team members are configured: nobody could be alerted"
	}
	firstAlert, err := r.oweOnce(ctx, id, Owed{RequestID: "response.alert:" + id, Caller: caller, Entry: TimelineEntry{
		Action: ActionTeamAlerted, Summary: summary, Note: truncate(alerted, MaxNoteBytes),
	}})
	if err != nil {
		return err
	}
	if firstAlert {
		r.metrics.teamAlerted(ctx, inc, len(team))
	}
	if r.opts.Notifier != nil {
		for _, m := range team {
			err := r.opts.Notifier.SendNotice(ctx, Notice{
				RequestID:  noticeKey("response-alert", id, m.ID),
				To:         m.Email,
				Subject:    truncate("[Breachline] Possible data security breach: "+oneLine(inc.Title), 200),
				Body:       alertBody(inc, m, tasks),
				Kind:       "response-team-alert",
				IncidentID: id,
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// alertEvidence lists who the alert went to: name, roles and address.
func alertEvidence(team []TeamMember) string {
	if len(team) == 0 {
		return "No team members configured."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Alerted %d team members:\n", len(team))
	for _, m := range team {
		roles := make([]string, len(m.Roles))
		for i, role := range m.Roles {
			roles[i] = role.String()
		}
		fmt.Fprintf(&b, "%s (%s) <%s>\n", m.Name, strings.Join(roles, ", "), m.Email)
	}
	return b.String()
}

func alertBody(inc Incident, m TeamMember, tasks []Task) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Dear %s,\n\nBreachline opened incident %s, which may be a data security breach.\n\n", m.Name, inc.ID)
	fmt.Fprintf(&b, "Title: %s\nType: %s\nSeverity: %d\nDiscovered: %s\n\n", oneLine(inc.Title), incidentTypeCodes[max(0, min(int(inc.Type), len(incidentTypeCodes)-1))], inc.Severity, discoveryOf(inc).Format(time.RFC3339))
	b.WriteString("Response tasks:\n")
	for _, t := range tasks {
		fmt.Fprintf(&b, "- %s (owner %s, due %s)\n", t.Title, t.OwnerRole, t.DueTime.Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "\nKeep contemporaneous notes of every action you take: GET /v1/incidents/%s/tasks lists the tasks.\n", inc.ID)
	return truncate(b.String(), 20000)
}

// noticeKey is a notice's idempotency key at dispatch: short enough for its
// 128-character limit whatever the task key and member id.
func noticeKey(kind, incidentID, what string) string {
	sum := sha256.Sum256([]byte(what))
	return kind + ":" + incidentID + ":" + hex.EncodeToString(sum[:8])
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// EscalateStep marks up to 20 overdue tasks (a worker.Step): once per task it
// e-mails the members holding the owner role (when a Notifier is wired) and
// records "response.task_overdue" on the timeline. The e-mails go first
// with idempotency keys, so a crash before the entry repeats no e-mail; the
// entry's change is fenced like any task change, so replicas racing on a
// task record it once.
func (r *Response) EscalateStep(ctx context.Context) (bool, error) {
	now := r.now().UTC()
	due, err := r.rs.DueTasks(ctx, now, 20)
	if err != nil || len(due) == 0 {
		return false, err
	}
	var team []TeamMember
	if r.opts.Notifier != nil {
		if team, err = r.rs.ListMembers(ctx, RoleUnspecified, "", 0); err != nil {
			return false, err
		}
	}
	marked := 0
	var errs []error
	for _, t := range due {
		if err := r.notifyOverdue(ctx, t, team); err != nil {
			errs = append(errs, err)
			continue
		}
		_, err := r.ChangeTask(ctx, Caller{Actor: ResponseActor}, TaskChange{
			IncidentID: t.IncidentID, Key: t.Key, Action: TaskEscalate, RequestID: "escalate",
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		marked++
	}
	return marked > 0, errors.Join(errs...)
}

func (r *Response) notifyOverdue(ctx context.Context, t Task, team []TeamMember) error {
	if r.opts.Notifier == nil {
		return nil
	}
	for _, m := range team {
		if !holdsRole(m, t.OwnerRole, team) {
			continue
		}
		err := r.opts.Notifier.SendNotice(ctx, Notice{
			RequestID: noticeKey("response-overdue", t.IncidentID, t.Key+"/"+m.ID),
			To:        m.Email,
			Subject:   truncate("[Breachline] Overdue response task: "+oneLine(t.Title), 200),
			Body: fmt.Sprintf("Dear %s,\n\nThe response task %q of incident %s was due at %s and is %s.\nOwner role: %s. Assignee: %s.\n\nGET /v1/incidents/%s/tasks/%s shows it.\n",
				m.Name, t.Title, t.IncidentID, t.DueTime.Format(time.RFC3339), t.State, t.OwnerRole, orNone(t.Assignee), t.IncidentID, t.Key),
			Kind:       "response-task-overdue",
			IncidentID: t.IncidentID,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
