package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/migrate"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/intake/internal/domain"
)

// Collections of the response workflow.
const (
	ResponseQueueCollection     = "response_queue"
	ResponseTeamCollection      = "response_team"
	ResponseTasksCollection     = "response_tasks"
	ResponseTaskEventsColl      = "response_task_events"
	ResponseAnalysesCollection  = "response_analyses"
	ResponseSignOffsCollection  = "response_signoffs"
	ResponseDecisionsCollection = "response_decisions"
)

// Response is the MongoDB implementation of domain.ResponseStore.
type Response struct {
	queue     *mongox.Queue
	team      *mongo.Collection
	tasks     *mongo.Collection
	events    *mongo.Collection
	analyses  *mongo.Collection
	signoffs  *mongo.Collection
	decisions *mongo.Collection
	incidents *mongo.Collection
}

var (
	_ domain.ResponseStore = (*Response)(nil)
	_ domain.ResponseQueue = (*Store)(nil)
)

// NewResponse returns the response store over db. Call
// mongox.EnsureIndexes(ctx, db, ResponseIndexes()) first.
func NewResponse(db *mongo.Database) *Response {
	return &Response{
		queue:     mongox.NewQueue(db, ResponseQueueCollection),
		team:      db.Collection(ResponseTeamCollection),
		tasks:     db.Collection(ResponseTasksCollection),
		events:    db.Collection(ResponseTaskEventsColl),
		analyses:  db.Collection(ResponseAnalysesCollection),
		signoffs:  db.Collection(ResponseSignOffsCollection),
		decisions: db.Collection(ResponseDecisionsCollection),
		incidents: db.Collection(IncidentsCollection),
	}
}

// ResponseIndexes are the indexes the response store relies on. Fences are
// _id uniqueness: task events "<task>#<version>", analysis versions and
// sign-offs "<incident>/<kind>#<version>", decisions by incident id.
func ResponseIndexes() mongox.Indexes {
	return mongox.Indexes{
		ResponseTasksCollection: {
			{Keys: bson.D{{Key: "incident_id", Value: 1}, {Key: "order", Value: 1}}, Options: options.Index().SetName("incident_order")},
			{Keys: bson.D{{Key: "escalated", Value: 1}, {Key: "done", Value: 1}, {Key: "due_time", Value: 1}}, Options: options.Index().SetName("due")},
		},
		ResponseTaskEventsColl: {
			{Keys: bson.D{{Key: "task_id", Value: 1}, {Key: "version", Value: -1}}, Options: options.Index().SetName("task_version")},
			{Keys: bson.D{{Key: "task_id", Value: 1}, {Key: "request_id", Value: 1}}, Options: options.Index().SetName("task_request")},
		},
		ResponseAnalysesCollection: {
			{Keys: bson.D{{Key: "incident_id", Value: 1}, {Key: "kind", Value: 1}, {Key: "version", Value: -1}}, Options: options.Index().SetName("incident_kind_version")},
			{Keys: bson.D{{Key: "incident_id", Value: 1}, {Key: "kind", Value: 1}, {Key: "request_id", Value: 1}}, Options: options.Index().SetName("incident_kind_request")},
		},
		ResponseTeamCollection: {
			{Keys: bson.D{{Key: "roles", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("role_id")},
		},
	}
}

// openedDue is when a queued response falls due: at once. Every queued
// response has it, so the queue hands them out oldest incident first
// (incident ids are time-ordered), and no clock is needed to queue one.
var openedDue = time.Unix(0, 0).UTC()

// EnqueueOpened implements domain.ResponseQueue on the incident store, so
// Intake.open can queue the response of the incident it opens. Queued
// responses are group-committed with the other inserts of ReportSignal
// (see Store).
func (s *Store) EnqueueOpened(ctx context.Context, incidentID string) error {
	err := s.queueInserts.Insert(ctx, s.responses.NewJob(incidentID, openedDue))
	if err != nil && !mongox.IsDuplicateKey(err) {
		return fmt.Errorf("enqueue response of %s: %w", incidentID, err)
	}
	return nil
}

// EnqueueOpened implements domain.ResponseQueue.
func (r *Response) EnqueueOpened(ctx context.Context, incidentID string) error {
	return r.queue.Enqueue(ctx, incidentID, openedDue)
}

// ClaimOpened implements domain.ResponseStore with mongox.Queue.
func (r *Response) ClaimOpened(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (string, int, bool, error) {
	j, ok, err := r.queue.Claim(ctx, owner, now, leaseFor)
	if err != nil || !ok {
		return "", 0, false, err
	}
	return j.Key, j.Attempt, true, nil
}

// RetryOpened implements domain.ResponseStore. A claim that was lost (the
// lease ran out and another replica holds the entry) has nothing to
// release: the new holder works the entry.
func (r *Response) RetryOpened(ctx context.Context, incidentID, owner string, next time.Time) error {
	err := r.queue.Retry(ctx, mongox.Job{Key: incidentID, Owner: owner}, next, "")
	if errors.Is(err, mongox.ErrLeaseLost) {
		return nil
	}
	return err
}

// DeleteOpened implements domain.ResponseStore: the entry and its fences
// go (mongox.Queue.Done), so the incident may be queued again by a SIEM's
// retry of its first signal (the opener then repeats its idempotent steps
// once). A lost claim leaves the entry to its new holder.
func (r *Response) DeleteOpened(ctx context.Context, incidentID, owner string) error {
	err := r.queue.Done(ctx, mongox.Job{Key: incidentID, Owner: owner})
	if errors.Is(err, mongox.ErrLeaseLost) {
		return nil
	}
	return err
}

type memberDoc struct {
	ID         string    `bson:"_id"`
	Name       string    `bson:"name"`
	Roles      []int32   `bson:"roles"`
	DeputyOf   string    `bson:"deputy_of,omitempty"`
	Email      string    `bson:"email"`
	Phone      string    `bson:"phone,omitempty"`
	Subject    string    `bson:"subject,omitempty"`
	Version    int64     `bson:"version"`
	UpdateTime time.Time `bson:"update_time"`
}

func toMemberDoc(m domain.TeamMember) memberDoc {
	d := memberDoc{ID: m.ID, Name: m.Name, DeputyOf: m.DeputyOf, Email: m.Email, Phone: m.Phone, Subject: m.Subject,
		Version: m.Version, UpdateTime: m.UpdateTime, Roles: make([]int32, len(m.Roles))}
	for i, role := range m.Roles {
		d.Roles[i] = int32(role)
	}
	return d
}

func fromMemberDoc(d memberDoc) domain.TeamMember {
	m := domain.TeamMember{ID: d.ID, Name: d.Name, DeputyOf: d.DeputyOf, Email: d.Email, Phone: d.Phone, Subject: d.Subject,
		Version: d.Version, UpdateTime: d.UpdateTime.UTC(), Roles: make([]domain.TeamRole, len(d.Roles))}
	for i, role := range d.Roles {
		m.Roles[i] = domain.TeamRole(role)
	}
	return m
}

// PutMember implements domain.ResponseStore. Team edits are rare and made
// by administrators; the version filter guards against lost updates (on
// the embedded FerretDB the replace is not atomic under a race, which is
// accepted for this configuration data).
func (r *Response) PutMember(ctx context.Context, m domain.TeamMember, expect int64) error {
	doc := toMemberDoc(m)
	if expect == 0 {
		_, err := r.team.InsertOne(ctx, doc)
		if mongox.IsDuplicateKey(err) {
			return fmt.Errorf("team member %s: %w", m.ID, apperr.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("insert team member: %w", err)
		}
		return nil
	}
	res, err := r.team.ReplaceOne(ctx, bson.D{{Key: "_id", Value: m.ID}, {Key: "version", Value: expect}}, doc)
	if err != nil {
		return fmt.Errorf("replace team member: %w", err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("team member %s: %w", m.ID, apperr.ErrConflict)
	}
	return nil
}

// GetMember implements domain.ResponseStore.
func (r *Response) GetMember(ctx context.Context, id string) (domain.TeamMember, error) {
	var d memberDoc
	if err := r.team.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return domain.TeamMember{}, mongox.NotFound(err, "team member "+id)
	}
	return fromMemberDoc(d), nil
}

// ListMembers implements domain.ResponseStore.
func (r *Response) ListMembers(ctx context.Context, role domain.TeamRole, after string, limit int) ([]domain.TeamMember, error) {
	filter := bson.D{}
	if role != domain.RoleUnspecified {
		filter = append(filter, bson.E{Key: "roles", Value: int32(role)})
	}
	if after != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	docs, err := mongox.FindAll[memberDoc](ctx, r.team, filter, opts)
	if err != nil {
		return nil, fmt.Errorf("list team: %w", err)
	}
	out := make([]domain.TeamMember, len(docs))
	for i, d := range docs {
		out[i] = fromMemberDoc(d)
	}
	return out, nil
}

type taskDoc struct {
	ID              string     `bson:"_id"`
	IncidentID      string     `bson:"incident_id"`
	Key             string     `bson:"key"`
	Title           string     `bson:"title"`
	Description     string     `bson:"description"`
	OwnerRole       int32      `bson:"owner_role"`
	PlaybookID      string     `bson:"playbook_id"`
	PlaybookVersion string     `bson:"playbook_version"`
	Order           int        `bson:"order"`
	State           int32      `bson:"state"`
	Assignee        string     `bson:"assignee"`
	DueTime         time.Time  `bson:"due_time"`
	EscalateTime    *time.Time `bson:"escalate_time,omitempty"`
	BlockReason     string     `bson:"block_reason"`
	Evidence        string     `bson:"evidence"`
	CompletedBy     string     `bson:"completed_by"`
	CompleteTime    *time.Time `bson:"complete_time,omitempty"`
	CreateTime      time.Time  `bson:"create_time"`
	UpdateTime      time.Time  `bson:"update_time"`
	Version         int64      `bson:"version"`
	// Escalated and Done serve the overdue scan's index.
	Escalated bool `bson:"escalated"`
	Done      bool `bson:"done"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func toTaskDoc(t domain.Task) taskDoc {
	return taskDoc{
		ID: t.ID(), IncidentID: t.IncidentID, Key: t.Key, Title: t.Title, Description: t.Description,
		OwnerRole: int32(t.OwnerRole), PlaybookID: t.PlaybookID, PlaybookVersion: t.PlaybookVersion, Order: t.Order,
		State: int32(t.State), Assignee: t.Assignee, DueTime: t.DueTime, EscalateTime: optTime(t.EscalateTime),
		BlockReason: t.BlockReason, Evidence: t.Evidence, CompletedBy: t.CompletedBy, CompleteTime: optTime(t.CompleteTime),
		CreateTime: t.CreateTime, UpdateTime: t.UpdateTime, Version: t.Version,
		Escalated: !t.EscalateTime.IsZero(), Done: t.State == domain.TaskStateDone,
	}
}

func fromTaskDoc(d taskDoc) domain.Task {
	return domain.Task{
		IncidentID: d.IncidentID, Key: d.Key, Title: d.Title, Description: d.Description,
		OwnerRole: domain.TeamRole(d.OwnerRole), PlaybookID: d.PlaybookID, PlaybookVersion: d.PlaybookVersion, Order: d.Order,
		State: domain.TaskState(d.State), Assignee: d.Assignee, DueTime: d.DueTime.UTC(), EscalateTime: timeOf(d.EscalateTime),
		BlockReason: d.BlockReason, Evidence: d.Evidence, CompletedBy: d.CompletedBy, CompleteTime: timeOf(d.CompleteTime),
		CreateTime: d.CreateTime.UTC(), UpdateTime: d.UpdateTime.UTC(), Version: d.Version,
	}
}

// InsertTasks implements domain.ResponseStore with one unordered insert;
// tasks that exist are reported as duplicate keys and left alone.
func (r *Response) InsertTasks(ctx context.Context, tasks []domain.Task) error {
	if len(tasks) == 0 {
		return nil
	}
	docs := make([]any, len(tasks))
	for i, t := range tasks {
		docs[i] = toTaskDoc(t)
	}
	_, err := r.tasks.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err != nil && !onlyDuplicates(err) {
		return fmt.Errorf("insert tasks: %w", err)
	}
	return nil
}

// onlyDuplicates reports whether every write error of a bulk insert is a
// duplicate key.
func onlyDuplicates(err error) bool {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) {
		return mongox.IsDuplicateKey(err)
	}
	if bwe.WriteConcernError != nil {
		return false
	}
	for _, we := range bwe.WriteErrors {
		if we.Code != 11000 {
			return false
		}
	}
	return true
}

// GetTask implements domain.ResponseStore.
func (r *Response) GetTask(ctx context.Context, incidentID, key string) (domain.Task, error) {
	var d taskDoc
	if err := r.tasks.FindOne(ctx, bson.D{{Key: "_id", Value: domain.TaskID(incidentID, key)}}).Decode(&d); err != nil {
		return domain.Task{}, mongox.NotFound(err, "task "+key+" of incident "+incidentID)
	}
	return fromTaskDoc(d), nil
}

// ListTasks implements domain.ResponseStore.
func (r *Response) ListTasks(ctx context.Context, incidentID string) ([]domain.Task, error) {
	docs, err := mongox.FindAll[taskDoc](ctx, r.tasks, bson.D{{Key: "incident_id", Value: incidentID}},
		options.Find().SetSort(bson.D{{Key: "incident_id", Value: 1}, {Key: "order", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	out := make([]domain.Task, len(docs))
	for i, d := range docs {
		out[i] = fromTaskDoc(d)
	}
	return out, nil
}

type owedChangeDoc struct {
	Field    string `bson:"field"`
	OldValue string `bson:"old"`
	NewValue string `bson:"new"`
}

// owedDoc is the timeline entry a stored change owes.
type owedDoc struct {
	RequestID     string          `bson:"request_id"`
	ActorKind     int32           `bson:"actor_kind"`
	ActorSubject  string          `bson:"actor_subject"`
	CorrelationID string          `bson:"correlation_id"`
	Action        string          `bson:"action"`
	Summary       string          `bson:"summary"`
	Note          string          `bson:"note"`
	Changes       []owedChangeDoc `bson:"changes"`
}

func toOwedDoc(o domain.Owed) owedDoc {
	d := owedDoc{
		RequestID: o.RequestID, ActorKind: int32(o.Caller.Actor.Kind), ActorSubject: o.Caller.Actor.Subject,
		CorrelationID: o.Caller.CorrelationID, Action: o.Entry.Action, Summary: o.Entry.Summary, Note: o.Entry.Note,
		Changes: make([]owedChangeDoc, len(o.Entry.Changes)),
	}
	for i, c := range o.Entry.Changes {
		d.Changes[i] = owedChangeDoc{Field: c.Field, OldValue: c.OldValue, NewValue: c.NewValue}
	}
	return d
}

func fromOwedDoc(d owedDoc, logged bool) domain.Owed {
	o := domain.Owed{
		RequestID: d.RequestID,
		Caller: domain.Caller{Actor: domain.Actor{Kind: domain.ActorKind(d.ActorKind), Subject: d.ActorSubject},
			CorrelationID: d.CorrelationID},
		Entry:  domain.TimelineEntry{Action: d.Action, Summary: d.Summary, Note: d.Note},
		Logged: logged,
	}
	for _, c := range d.Changes {
		o.Entry.Changes = append(o.Entry.Changes, domain.Change{Field: c.Field, OldValue: c.OldValue, NewValue: c.NewValue})
	}
	return o
}

type taskEventDoc struct {
	ID        string    `bson:"_id"`
	TaskID    string    `bson:"task_id"`
	Version   int64     `bson:"version"`
	RequestID string    `bson:"request_id,omitempty"`
	Task      taskDoc   `bson:"task"`
	Owed      owedDoc   `bson:"owed"`
	Time      time.Time `bson:"time"`
}

func fromTaskEventDoc(d taskEventDoc) domain.TaskEvent {
	return domain.TaskEvent{Task: fromTaskDoc(d.Task), RequestID: d.RequestID, Owed: fromOwedDoc(d.Owed, false), Time: d.Time.UTC()}
}

// InsertTaskEvent implements domain.ResponseStore.
func (r *Response) InsertTaskEvent(ctx context.Context, e domain.TaskEvent) error {
	doc := taskEventDoc{
		ID: fmt.Sprintf("%s#%d", e.Task.ID(), e.Task.Version), TaskID: e.Task.ID(), Version: e.Task.Version,
		RequestID: e.RequestID, Task: toTaskDoc(e.Task), Owed: toOwedDoc(e.Owed), Time: e.Time,
	}
	_, err := r.events.InsertOne(ctx, doc)
	if mongox.IsDuplicateKey(err) {
		return fmt.Errorf("task %s version %d: %w", e.Task.ID(), e.Task.Version, apperr.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("insert task event: %w", err)
	}
	return nil
}

// LatestTaskEvent implements domain.ResponseStore.
func (r *Response) LatestTaskEvent(ctx context.Context, taskID string) (domain.TaskEvent, bool, error) {
	return r.findEvent(ctx, bson.D{{Key: "task_id", Value: taskID}})
}

// TaskEventByRequest implements domain.ResponseStore.
func (r *Response) TaskEventByRequest(ctx context.Context, taskID, requestID string) (domain.TaskEvent, bool, error) {
	return r.findEvent(ctx, bson.D{{Key: "task_id", Value: taskID}, {Key: "request_id", Value: requestID}})
}

func (r *Response) findEvent(ctx context.Context, filter bson.D) (domain.TaskEvent, bool, error) {
	var d taskEventDoc
	err := r.events.FindOne(ctx, filter, options.FindOne().SetSort(bson.D{{Key: "task_id", Value: 1}, {Key: "version", Value: -1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return domain.TaskEvent{}, false, nil
	}
	if err != nil {
		return domain.TaskEvent{}, false, fmt.Errorf("find task event: %w", err)
	}
	return fromTaskEventDoc(d), true, nil
}

// ApplyTask implements domain.ResponseStore.
func (r *Response) ApplyTask(ctx context.Context, t domain.Task) error {
	doc := toTaskDoc(t)
	_, err := r.tasks.ReplaceOne(ctx, bson.D{{Key: "_id", Value: doc.ID}, {Key: "version", Value: bson.D{{Key: "$lt", Value: t.Version}}}}, doc)
	if err != nil {
		return fmt.Errorf("apply task: %w", err)
	}
	return nil
}

// DueTasks implements domain.ResponseStore.
func (r *Response) DueTasks(ctx context.Context, now time.Time, limit int) ([]domain.Task, error) {
	docs, err := mongox.FindAll[taskDoc](ctx, r.tasks, bson.D{
		{Key: "escalated", Value: false},
		{Key: "done", Value: false},
		{Key: "due_time", Value: bson.D{{Key: "$lte", Value: now}}},
	}, options.Find().SetSort(bson.D{{Key: "escalated", Value: 1}, {Key: "done", Value: 1}, {Key: "due_time", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("due tasks: %w", err)
	}
	out := make([]domain.Task, len(docs))
	for i, d := range docs {
		out[i] = fromTaskDoc(d)
	}
	return out, nil
}

type analysisDoc struct {
	ID          string    `bson:"_id"`
	IncidentID  string    `bson:"incident_id"`
	Kind        string    `bson:"kind"`
	Version     int64     `bson:"version"`
	ContentJSON string    `bson:"content_json"`
	ContentHash string    `bson:"content_hash"`
	Author      string    `bson:"author"`
	CreateTime  time.Time `bson:"create_time"`
	RequestID   string    `bson:"request_id,omitempty"`
	Owed        owedDoc   `bson:"owed"`
	Logged      bool      `bson:"logged"`
}

func analysisKey(incidentID string, kind domain.AnalysisKind, version int64) string {
	return fmt.Sprintf("%s/%s#%d", incidentID, kind, version)
}

// InsertAnalysis implements domain.ResponseStore. The content is kept as
// its JSON text, the exact bytes its hash was computed over.
func (r *Response) InsertAnalysis(ctx context.Context, a domain.Analysis) error {
	raw, err := json.Marshal(a.Content)
	if err != nil {
		return fmt.Errorf("encode analysis: %w", err)
	}
	doc := analysisDoc{
		ID: analysisKey(a.IncidentID, a.Kind, a.Version), IncidentID: a.IncidentID, Kind: string(a.Kind), Version: a.Version,
		ContentJSON: string(raw), ContentHash: a.ContentHash, Author: a.Author, CreateTime: a.CreateTime,
		RequestID: a.RequestID, Owed: toOwedDoc(a.Owed), Logged: a.Owed.Logged,
	}
	_, err = r.analyses.InsertOne(ctx, doc)
	if mongox.IsDuplicateKey(err) {
		return fmt.Errorf("%s analysis version %d: %w", a.Kind, a.Version, apperr.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("insert analysis: %w", err)
	}
	return nil
}

func fromAnalysisDoc(d analysisDoc) (domain.Analysis, error) {
	a := domain.Analysis{
		IncidentID: d.IncidentID, Kind: domain.AnalysisKind(d.Kind), Version: d.Version, ContentHash: d.ContentHash,
		Author: d.Author, CreateTime: d.CreateTime.UTC(), RequestID: d.RequestID, Owed: fromOwedDoc(d.Owed, d.Logged),
	}
	if err := json.Unmarshal([]byte(d.ContentJSON), &a.Content); err != nil {
		return domain.Analysis{}, fmt.Errorf("decode analysis %s: %w", d.ID, err)
	}
	return a, nil
}

func (r *Response) findAnalysis(ctx context.Context, filter bson.D) (domain.Analysis, bool, error) {
	var d analysisDoc
	err := r.analyses.FindOne(ctx, filter, options.FindOne().SetSort(bson.D{{Key: "incident_id", Value: 1}, {Key: "kind", Value: 1}, {Key: "version", Value: -1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return domain.Analysis{}, false, nil
	}
	if err != nil {
		return domain.Analysis{}, false, fmt.Errorf("find analysis: %w", err)
	}
	a, err := fromAnalysisDoc(d)
	return a, err == nil, err
}

// LatestAnalysis implements domain.ResponseStore.
func (r *Response) LatestAnalysis(ctx context.Context, incidentID string, kind domain.AnalysisKind) (domain.Analysis, bool, error) {
	return r.findAnalysis(ctx, bson.D{{Key: "incident_id", Value: incidentID}, {Key: "kind", Value: string(kind)}})
}

// GetAnalysis implements domain.ResponseStore.
func (r *Response) GetAnalysis(ctx context.Context, incidentID string, kind domain.AnalysisKind, version int64) (domain.Analysis, error) {
	a, ok, err := r.findAnalysis(ctx, bson.D{{Key: "_id", Value: analysisKey(incidentID, kind, version)}})
	if err == nil && !ok {
		err = fmt.Errorf("%s analysis version %d of incident %s: %w", kind, version, incidentID, apperr.ErrNotFound)
	}
	return a, err
}

// AnalysisByRequest implements domain.ResponseStore.
func (r *Response) AnalysisByRequest(ctx context.Context, incidentID string, kind domain.AnalysisKind, requestID string) (domain.Analysis, bool, error) {
	return r.findAnalysis(ctx, bson.D{{Key: "incident_id", Value: incidentID}, {Key: "kind", Value: string(kind)}, {Key: "request_id", Value: requestID}})
}

type signOffDoc struct {
	ID          string    `bson:"_id"`
	IncidentID  string    `bson:"incident_id"`
	Kind        string    `bson:"kind"`
	Version     int64     `bson:"version"`
	ContentHash string    `bson:"content_hash"`
	Signer      string    `bson:"signer"`
	MemberID    string    `bson:"member_id"`
	Role        int32     `bson:"role"`
	Time        time.Time `bson:"time"`
	Owed        owedDoc   `bson:"owed"`
	Logged      bool      `bson:"logged"`
}

// InsertSignOff implements domain.ResponseStore.
func (r *Response) InsertSignOff(ctx context.Context, s domain.SignOff) error {
	doc := signOffDoc{
		ID: analysisKey(s.IncidentID, s.Kind, s.Version), IncidentID: s.IncidentID, Kind: string(s.Kind), Version: s.Version,
		ContentHash: s.ContentHash, Signer: s.Signer, MemberID: s.MemberID, Role: int32(s.Role), Time: s.Time,
		Owed: toOwedDoc(s.Owed), Logged: s.Owed.Logged,
	}
	_, err := r.signoffs.InsertOne(ctx, doc)
	if mongox.IsDuplicateKey(err) {
		return fmt.Errorf("%s analysis version %d is signed off: %w", s.Kind, s.Version, apperr.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("insert sign-off: %w", err)
	}
	return nil
}

// GetSignOff implements domain.ResponseStore.
func (r *Response) GetSignOff(ctx context.Context, incidentID string, kind domain.AnalysisKind, version int64) (domain.SignOff, bool, error) {
	var d signOffDoc
	err := r.signoffs.FindOne(ctx, bson.D{{Key: "_id", Value: analysisKey(incidentID, kind, version)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return domain.SignOff{}, false, nil
	}
	if err != nil {
		return domain.SignOff{}, false, fmt.Errorf("find sign-off: %w", err)
	}
	return domain.SignOff{
		IncidentID: d.IncidentID, Kind: domain.AnalysisKind(d.Kind), Version: d.Version, ContentHash: d.ContentHash,
		Signer: d.Signer, MemberID: d.MemberID, Role: domain.TeamRole(d.Role), Time: d.Time.UTC(), Owed: fromOwedDoc(d.Owed, d.Logged),
	}, true, nil
}

type analysisRefDoc struct {
	Kind        string `bson:"kind"`
	Version     int64  `bson:"version"`
	ContentHash string `bson:"content_hash"`
	Signer      string `bson:"signer"`
}

type decisionDoc struct {
	ID        string           `bson:"_id"`
	Notify    bool             `bson:"notify"`
	Rationale string           `bson:"rationale"`
	Analyses  []analysisRefDoc `bson:"analyses"`
	DecidedBy string           `bson:"decided_by"`
	Time      time.Time        `bson:"time"`
	Owed      owedDoc          `bson:"owed"`
	Logged    bool             `bson:"logged"`
}

// InsertDecision implements domain.ResponseStore.
func (r *Response) InsertDecision(ctx context.Context, d domain.Decision) error {
	doc := decisionDoc{ID: d.IncidentID, Notify: d.Notify, Rationale: d.Rationale, DecidedBy: d.DecidedBy, Time: d.Time,
		Owed: toOwedDoc(d.Owed), Logged: d.Owed.Logged, Analyses: make([]analysisRefDoc, len(d.Analyses))}
	for i, a := range d.Analyses {
		doc.Analyses[i] = analysisRefDoc{Kind: string(a.Kind), Version: a.Version, ContentHash: a.ContentHash, Signer: a.Signer}
	}
	_, err := r.decisions.InsertOne(ctx, doc)
	if mongox.IsDuplicateKey(err) {
		return fmt.Errorf("decision of %s: %w", d.IncidentID, apperr.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("insert decision: %w", err)
	}
	return nil
}

// GetDecision implements domain.ResponseStore.
func (r *Response) GetDecision(ctx context.Context, incidentID string) (domain.Decision, error) {
	var doc decisionDoc
	if err := r.decisions.FindOne(ctx, bson.D{{Key: "_id", Value: incidentID}}).Decode(&doc); err != nil {
		return domain.Decision{}, mongox.NotFound(err, "notification decision of incident "+incidentID)
	}
	d := domain.Decision{IncidentID: doc.ID, Notify: doc.Notify, Rationale: doc.Rationale, DecidedBy: doc.DecidedBy,
		Time: doc.Time.UTC(), Owed: fromOwedDoc(doc.Owed, doc.Logged)}
	for _, a := range doc.Analyses {
		d.Analyses = append(d.Analyses, domain.AnalysisRef{Kind: domain.AnalysisKind(a.Kind), Version: a.Version, ContentHash: a.ContentHash, Signer: a.Signer})
	}
	return d, nil
}

// MarkLogged implements domain.ResponseStore.
func (r *Response) MarkLogged(ctx context.Context, what domain.Logged, id string) error {
	coll := map[domain.Logged]*mongo.Collection{
		domain.LoggedAnalysis: r.analyses, domain.LoggedSignOff: r.signoffs, domain.LoggedDecision: r.decisions,
	}[what]
	if coll == nil {
		return fmt.Errorf("mark logged: unknown kind %d", what)
	}
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "logged", Value: true}}}}); err != nil {
		return fmt.Errorf("mark logged: %w", err)
	}
	return nil
}

// IncidentsCreated implements domain.ResponseStore. It scans incidents by
// create_time (no index: metrics are an occasional report).
func (r *Response) IncidentsCreated(ctx context.Context, start, end time.Time, limit int) ([]string, error) {
	type idDoc struct {
		ID string `bson:"_id"`
	}
	docs, err := mongox.FindAll[idDoc](ctx, r.incidents, bson.D{{Key: "create_time", Value: bson.D{{Key: "$gte", Value: start}, {Key: "$lt", Value: end}}}},
		options.Find().SetSort(bson.D{{Key: "create_time", Value: 1}}).SetLimit(int64(limit)).SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("incidents created: %w", err)
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.ID
	}
	return out, nil
}

// SeedTeamMigration stores team when the database is new. It inserts each
// member unless one with its id exists, so a replica that takes the
// migration over from a dead one repeats it harmlessly.
func SeedTeamMigration(team []domain.TeamMember) migrate.Migration {
	return migrate.Migration{
		ID:          "0001_seed_response_team",
		Description: "store the breach notification team of team/team.yaml",
		Up: func(ctx context.Context, db *mongo.Database) error {
			now := time.Now().UTC().Truncate(time.Millisecond)
			for _, m := range team {
				m.UpdateTime = now
				_, err := db.Collection(ResponseTeamCollection).InsertOne(ctx, toMemberDoc(m))
				if err != nil && !mongox.IsDuplicateKey(err) {
					return fmt.Errorf("seed team member %s: %w", m.ID, err)
				}
			}
			return nil
		},
	}
}
