package domain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// The response workflow (ResponseService): the breach notification team,
// the playbook tasks every incident opens, the written analyses and their
// sign-offs, the notification decision and the response metrics. Files:
// response.go (types, store, use-case struct), response_team.go,
// response_playbooks.go (+ playbooks/*.yaml), response_tasks.go,
// response_opener.go (the queue worker and overdue escalation),
// response_analysis.go and response_metrics.go.
//
// Every change lands on the incident's timeline through the ledger (commit),
// under a request id derived from the change, so a change recorded twice is
// one entry. Changes are stored first (a unique insert fences concurrent
// writers) together with the timeline entry they owe; the entry is then
// committed and the stored change marked as logged. A crash in between is
// repaired by the next read of the same object, which commits the owed
// entry again (a no-op when it exists).

// TeamRole is a role on the breach notification team; numbers equal
// breachline.intake.v1.TeamRole.
type TeamRole int32

// TeamRole values, as in the proto.
const (
	RoleUnspecified TeamRole = iota
	RoleExecutiveDirector
	RoleSecurityCoordinator
	RoleDirectorLossPrevention
	RoleCommunications
	RoleLegal
	RoleOfficer
	RoleExecutiveManagement
)

var roleCodes = []string{"unspecified", "executive_director", "security_coordinator", "director_loss_prevention",
	"communications", "legal", "officer", "executive_management"}

// Valid reports whether r is a defined, non-zero role.
func (r TeamRole) Valid() bool { return r > RoleUnspecified && r <= RoleExecutiveManagement }

// String returns the role's stable code ("security_coordinator").
func (r TeamRole) String() string {
	if r >= 0 && int(r) < len(roleCodes) {
		return roleCodes[r]
	}
	return fmt.Sprintf("role(%d)", int32(r))
}

// ParseRole reverses String for defined roles.
func ParseRole(code string) (TeamRole, bool) {
	for i, c := range roleCodes {
		if c == code && i > 0 {
			return TeamRole(i), true
		}
	}
	return RoleUnspecified, false
}

// TeamMember is one person on the response team.
type TeamMember struct {
	ID       string
	Name     string
	Roles    []TeamRole
	DeputyOf string
	Email    string
	Phone    string
	// Subject is the identity the member signs in with; sign-offs are
	// accepted only from it.
	Subject    string
	Version    int64
	UpdateTime time.Time
}

// TaskState is where a response task is; numbers equal
// breachline.intake.v1.TaskState.
type TaskState int32

// TaskState values, as in the proto.
const (
	TaskStateUnspecified TaskState = iota
	TaskStateOpen
	TaskStateInProgress
	TaskStateBlocked
	TaskStateDone
)

var taskStateNames = []string{"UNSPECIFIED", "OPEN", "IN_PROGRESS", "BLOCKED", "DONE"}

func (s TaskState) String() string { return enumName(taskStateNames, int32(s)) }

// Task is one response task on an incident. Its id is "<incident>/<key>",
// so opening the same playbook twice opens nothing new.
type Task struct {
	IncidentID      string
	Key             string
	Title           string
	Description     string
	OwnerRole       TeamRole
	PlaybookID      string
	PlaybookVersion string
	// Order is the task's position in its playbook(s).
	Order        int
	State        TaskState
	Assignee     string
	DueTime      time.Time
	EscalateTime time.Time
	BlockReason  string
	Evidence     string
	CompletedBy  string
	CompleteTime time.Time
	CreateTime   time.Time
	UpdateTime   time.Time
	// Version is 1 when opened and moves on with every change; the etag is
	// its decimal form.
	Version int64
}

// ID is the task's id.
func (t Task) ID() string { return TaskID(t.IncidentID, t.Key) }

// TaskID is the id of task key on incident.
func TaskID(incidentID, key string) string { return incidentID + "/" + key }

// Owed is a timeline entry a stored change owes its incident: the change is
// stored first with it, and it is committed (idempotently, under RequestID)
// before the change is reported done.
type Owed struct {
	RequestID string
	Caller    Caller
	Entry     TimelineEntry // Action, Summary, Note, Changes
	// Logged is set once the entry is on the timeline.
	Logged bool
}

// TaskEvent is one change of a task: the task after it and the entry it
// owes. Its id "<task>#<version>" is the fence: of two writers changing the
// same version exactly one stores its event.
type TaskEvent struct {
	Task Task
	// RequestID is the client's idempotency key (empty: none).
	RequestID string
	Owed      Owed
	Time      time.Time
}

// AnalysisKind names a written analysis.
type AnalysisKind string

// The analyses the procedure asks for.
const (
	AnalysisTechnical AnalysisKind = "technical"
	AnalysisPhysical  AnalysisKind = "physical"
	AnalysisLegal     AnalysisKind = "legal"
)

// Owner is the role that writes and signs off the analysis.
func (k AnalysisKind) Owner() TeamRole {
	switch k {
	case AnalysisTechnical:
		return RoleSecurityCoordinator
	case AnalysisPhysical:
		return RoleDirectorLossPrevention
	case AnalysisLegal:
		return RoleLegal
	}
	return RoleUnspecified
}

// Likelihood is how likely identity theft is; numbers equal
// breachline.intake.v1.IdentityTheftLikelihood.
type Likelihood int32

// Likelihood values, as in the proto.
const (
	LikelihoodUnspecified Likelihood = iota
	LikelihoodLow
	LikelihoodMedium
	LikelihoodHigh
)

// TechnicalAnalysis is the Data Security Coordinator's written analysis.
type TechnicalAnalysis struct {
	NatureAndExtent     string        `json:"nature_and_extent"`
	DataElements        []DataElement `json:"data_elements"`
	Likelihood          Likelihood    `json:"identity_theft_likelihood"`
	LikelihoodRationale string        `json:"likelihood_rationale"`
	Parties             []string      `json:"parties"`
	Mitigation          string        `json:"mitigation"`
}

// PhysicalAnalysis is the Director of Loss Prevention's written analysis.
type PhysicalAnalysis struct {
	NatureAndExtent string        `json:"nature_and_extent"`
	Department      string        `json:"department"`
	Access          string        `json:"access"`
	Protection      string        `json:"protection"`
	Investigation   string        `json:"investigation"`
	DisclosedTo     []string      `json:"disclosed_to"`
	DataElements    []DataElement `json:"data_elements"`
}

// LegalAnalysis is the legal team's analysis.
type LegalAnalysis struct {
	Laws                         []string `json:"laws"`
	AuthoritiesMustBeNotified    bool     `json:"authorities_must_be_notified"`
	Authorities                  []string `json:"authorities"`
	LawEnforcementDelayRequested bool     `json:"law_enforcement_delay_requested"`
	LawEnforcementDelayDetails   string   `json:"law_enforcement_delay_details"`
	Summary                      string   `json:"summary"`
}

// AnalysisContent is the content of one analysis; exactly one field is set,
// matching the analysis kind.
type AnalysisContent struct {
	Technical *TechnicalAnalysis `json:"technical,omitempty"`
	Physical  *PhysicalAnalysis  `json:"physical,omitempty"`
	Legal     *LegalAnalysis     `json:"legal,omitempty"`
}

// Analysis is one saved version of a written analysis. Its id
// "<incident>/<kind>#<version>" fences concurrent saves.
type Analysis struct {
	IncidentID  string
	Kind        AnalysisKind
	Content     AnalysisContent
	Version     int64
	ContentHash string
	Author      string
	CreateTime  time.Time
	// RequestID is the client's idempotency key (empty: none).
	RequestID string
	Owed      Owed
	// SignOff is the sign-off of this version, if any (read with it).
	SignOff *SignOff
}

// Etag is the version's etag.
func (a Analysis) Etag() string { return fmt.Sprint(a.Version) }

// SignOff binds an owner's approval to one version and its content hash.
type SignOff struct {
	IncidentID  string
	Kind        AnalysisKind
	Version     int64
	ContentHash string
	Signer      string
	MemberID    string
	Role        TeamRole
	Time        time.Time
	Owed        Owed
}

// AnalysisRef is the version of an analysis a decision relied on.
type AnalysisRef struct {
	Kind        AnalysisKind
	Version     int64
	ContentHash string
	Signer      string
}

// Decision is the final notification decision of an incident.
type Decision struct {
	IncidentID string
	Notify     bool
	Rationale  string
	Analyses   []AnalysisRef
	DecidedBy  string
	Time       time.Time
	Owed       Owed
}

// ResponseQueue records that an incident was opened and its response is
// owed (playbook tasks, team alert). Intake.open queues it alongside
// creating the incident, before acknowledging the signal; a crash between
// the two is completed by the SIEM's retry, which re-runs open.
type ResponseQueue interface {
	// EnqueueOpened queues incidentID; queueing it again is not an error.
	EnqueueOpened(ctx context.Context, incidentID string) error
}

// enqueueResponse queues the response to a new incident when st keeps a
// response queue (the Mongo store does; a store without one opens none).
func enqueueResponse(ctx context.Context, st Store, incidentID string) error {
	q, ok := st.(ResponseQueue)
	if !ok {
		return nil
	}
	if err := q.EnqueueOpened(ctx, incidentID); err != nil {
		return fmt.Errorf("queue response: %w", err)
	}
	return nil
}

// ResponseStore is the persistence of the response workflow. As Store, each
// method is one atomic single-document operation (or an unordered batch of
// independent ones).
type ResponseStore interface {
	ResponseQueue
	// ClaimOpened leases the oldest queued incident to owner until
	// now+leaseFor and reports its id and attempt number, or false.
	ClaimOpened(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (string, int, bool, error)
	// RetryOpened releases the lease on a queued incident until next.
	RetryOpened(ctx context.Context, incidentID, owner string, next time.Time) error
	// DeleteOpened removes a queued incident owner holds once its response
	// is opened (with its lease fences, so it may be queued again).
	DeleteOpened(ctx context.Context, incidentID, owner string) error

	// PutMember stores m (m.Version is the new version). When expect is
	// positive the stored member must be at version expect, and when it is
	// zero none may exist; a mismatch is apperr.ErrConflict.
	PutMember(ctx context.Context, m TeamMember, expect int64) error
	// GetMember returns one member, or apperr.ErrNotFound.
	GetMember(ctx context.Context, id string) (TeamMember, error)
	// ListMembers returns up to limit members with ids above after, by id,
	// holding role (unspecified: any); limit 0 means all.
	ListMembers(ctx context.Context, role TeamRole, after string, limit int) ([]TeamMember, error)

	// InsertTasks stores newly opened tasks; tasks that exist are left as
	// they are.
	InsertTasks(ctx context.Context, tasks []Task) error
	// GetTask returns one task as its document stands, or apperr.ErrNotFound.
	GetTask(ctx context.Context, incidentID, key string) (Task, error)
	// ListTasks returns an incident's tasks as their documents stand.
	ListTasks(ctx context.Context, incidentID string) ([]Task, error)
	// InsertTaskEvent stores a change of a task; apperr.ErrConflict when
	// the version is taken.
	InsertTaskEvent(ctx context.Context, e TaskEvent) error
	// LatestTaskEvent returns the task's newest event, and false when none.
	LatestTaskEvent(ctx context.Context, taskID string) (TaskEvent, bool, error)
	// TaskEventByRequest returns the task's event made under requestID.
	TaskEventByRequest(ctx context.Context, taskID, requestID string) (TaskEvent, bool, error)
	// ApplyTask writes t onto its document unless that is at t.Version or
	// later, and marks the event of that version logged.
	ApplyTask(ctx context.Context, t Task) error
	// DueTasks returns up to limit tasks not done and not escalated whose
	// due time is at or before now, oldest due first.
	DueTasks(ctx context.Context, now time.Time, limit int) ([]Task, error)

	// InsertAnalysis stores a new version; apperr.ErrConflict when taken.
	InsertAnalysis(ctx context.Context, a Analysis) error
	// LatestAnalysis returns the newest version, and false when none.
	LatestAnalysis(ctx context.Context, incidentID string, kind AnalysisKind) (Analysis, bool, error)
	// GetAnalysis returns one version, or apperr.ErrNotFound.
	GetAnalysis(ctx context.Context, incidentID string, kind AnalysisKind, version int64) (Analysis, error)
	// AnalysisByRequest returns the version saved under requestID.
	AnalysisByRequest(ctx context.Context, incidentID string, kind AnalysisKind, requestID string) (Analysis, bool, error)
	// InsertSignOff stores a sign-off; apperr.ErrAlreadyExists when the
	// version is signed.
	InsertSignOff(ctx context.Context, s SignOff) error
	// GetSignOff returns the sign-off of a version, and false when none.
	GetSignOff(ctx context.Context, incidentID string, kind AnalysisKind, version int64) (SignOff, bool, error)
	// InsertDecision stores the decision; apperr.ErrAlreadyExists when the
	// incident has one.
	InsertDecision(ctx context.Context, d Decision) error
	// GetDecision returns the incident's decision, or apperr.ErrNotFound.
	GetDecision(ctx context.Context, incidentID string) (Decision, error)
	// MarkLogged records that the owed entry of the analysis version,
	// sign-off or decision with this id is on the timeline.
	MarkLogged(ctx context.Context, what Logged, id string) error

	// IncidentsCreated returns the ids of up to limit incidents created in
	// [start, end), oldest first.
	IncidentsCreated(ctx context.Context, start, end time.Time, limit int) ([]string, error)
}

// Logged names the kinds of stored change MarkLogged applies to.
type Logged int

// Logged kinds.
const (
	LoggedAnalysis Logged = iota + 1
	LoggedSignOff
	LoggedDecision
)

// Notice is one e-mail to a team member (dispatch's SendNotice).
type Notice struct {
	// RequestID makes the notice idempotent at dispatch.
	RequestID  string
	To         string
	Subject    string
	Body       string
	Kind       string
	IncidentID string
}

// Notifier sends operational e-mails. Implementations wrap
// apperr.ErrUnavailable for transient failures.
type Notifier interface {
	SendNotice(ctx context.Context, n Notice) error
}

// ResponseOptions tune the response workflow. Zero values take defaults.
type ResponseOptions struct {
	// Owner names this process in queue leases.
	Owner string
	// Lease is how long a claimed queued incident is reserved (30s).
	Lease time.Duration
	// Notifier delivers the team alert and escalations by e-mail; nil
	// records them on the timeline only.
	Notifier Notifier
	// Meter records the response metrics; nil uses a no-op meter.
	Meter metric.Meter
}

// Response implements ResponseService.
type Response struct {
	ledger
	rs        ResponseStore
	playbooks *Playbooks
	log       *slog.Logger
	opts      ResponseOptions
	metrics   responseInstruments
}

// ResponseActor is the actor of the entries the response workers record.
var ResponseActor = Actor{Kind: ActorKindService, Subject: "intake/response"}

// NewResponse returns the response use cases over the incident store st and
// the response store rs, with the embedded playbooks.
func NewResponse(st Store, rs ResponseStore, playbooks *Playbooks, now func() time.Time, log *slog.Logger, opts ResponseOptions) (*Response, error) {
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.Owner == "" {
		opts.Owner = "response"
	}
	m, err := newResponseInstruments(opts.Meter)
	if err != nil {
		return nil, err
	}
	return &Response{ledger: ledger{store: st, now: now}, rs: rs, playbooks: playbooks, log: log, opts: opts, metrics: m}, nil
}

// owe commits an owed entry on the incident's timeline; recording it again
// is a no-op.
func (r *Response) owe(ctx context.Context, incidentID string, o Owed) error {
	_, err := r.oweOnce(ctx, incidentID, o)
	return err
}

// oweOnce is owe, reporting whether this call recorded the entry (false:
// it was on the timeline already).
func (r *Response) oweOnce(ctx context.Context, incidentID string, o Owed) (bool, error) {
	_, _, err := r.commit(ctx, incidentID, o.Caller, o.RequestID, func(cur Incident) (Incident, *TimelineEntry, bool, error) {
		e := o.Entry
		e.Changes = append([]Change(nil), o.Entry.Changes...)
		return cur, &e, false, nil
	})
	if errors.Is(err, errReplay) {
		return false, nil
	}
	return err == nil, err
}

func (r *Response) clock() time.Time { return r.now().UTC().Truncate(time.Millisecond) }

// Playbooks returns the playbooks the response opens tasks from.
func (r *Response) Playbooks() *Playbooks { return r.playbooks }
