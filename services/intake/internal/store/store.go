// Package store keeps intake's signals and incidents in MongoDB. Every write
// is a single-document atomic operation; idempotency comes from a unique
// index on signals and from upserts keyed on pre-assigned incident ids.
//
// A signal's raw payload (a google.protobuf.Struct at the API) is stored as a
// JSON string in raw_json rather than as a BSON sub-document: SIEM payloads
// may carry keys with '.' or '$' that MongoDB field names do not allow, and a
// string keeps the payload verbatim for the record whatever its shape.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/intake/internal/domain"
)

// Collection names.
const (
	SignalsCollection   = "signals"
	IncidentsCollection = "incidents"
	TimelineCollection  = "timeline"
	// HeadsCollection maps each correlation key (as _id) to the newest
	// incident opened for it, so that correlating a signal is a lookup by
	// _id rather than a query over every incident.
	HeadsCollection = "correlation_heads"
	// RequestsCollection indexes timeline entries by request id (see
	// InsertEntry).
	RequestsCollection = "timeline_requests"
)

// AssessmentQueue holds the incidents whose assessment is pending
// (mongox.Queue, keyed by incident id, deleted when the assessment is
// recorded; fences in "assessment_queue_leases"). The relay claims from it
// and reads the incident by _id, never scanning the incidents.
const AssessmentQueue = "assessment_queue"

// Store is the MongoDB implementation of domain.Store.
type Store struct {
	signals   *mongo.Collection
	incidents *mongo.Collection
	timeline  *mongo.Collection
	heads     *mongo.Collection
	requests  *mongo.Collection

	// The hot inserts of ReportSignal are group-committed: concurrent
	// reports share one InsertMany per collection (see mongox.Inserter).
	signalInserts   *mongox.Inserter
	incidentInserts *mongox.Inserter
	entryInserts    *mongox.Inserter
	headInserts     *mongox.Inserter
	queueInserts    *mongox.Inserter
	// responses is the response opener's work queue (see EnqueueOpened).
	responses      *mongox.Queue
	requestInserts *mongox.Inserter

	// assessments is the assessment relay's work queue (AssessmentQueue).
	assessments      *mongox.Queue
	assessmentInsert *mongox.Inserter

	// applyLocks serialise ApplySnapshot per incident (striped).
	applyLocks [64]sync.Mutex

	quarantine *mongo.Collection
}

var _ domain.Store = (*Store)(nil)

// New returns a store over db. Call mongox.EnsureIndexes(ctx, db, Indexes())
// first: idempotency depends on the unique index.
func New(db *mongo.Database) *Store {
	st := &Store{
		signals:   db.Collection(SignalsCollection),
		incidents: db.Collection(IncidentsCollection),
		timeline:  db.Collection(TimelineCollection),
		heads:     db.Collection(HeadsCollection),
		requests:  db.Collection(RequestsCollection),

		quarantine: db.Collection(QuarantineCollection),
	}
	gate := &mongox.WriteGate{}
	st.signalInserts = mongox.NewInserter(st.signals, 0, gate)
	st.incidentInserts = mongox.NewInserter(st.incidents, 0, gate)
	st.entryInserts = mongox.NewInserter(st.timeline, 0, gate)
	st.headInserts = mongox.NewInserter(st.heads, 0, gate)
	st.responses = mongox.NewQueue(db, ResponseQueueCollection)
	st.queueInserts = mongox.NewInserter(st.responses.Collection(), 0, gate)
	st.requestInserts = mongox.NewInserter(st.requests, 0, gate)
	st.assessments = mongox.NewQueue(db, AssessmentQueue)
	st.assessmentInsert = mongox.NewInserter(st.assessments.Collection(), 0, gate)
	return st
}

// Indexes are the indexes the store relies on. The unique signal index is
// what makes ReportSignal exactly-once; the others serve the assessment
// queue's due order and the list filters (all sorted by _id, newest first).
func Indexes() mongox.Indexes {
	return mongox.Indexes{
		AssessmentQueue: {
			{Keys: bson.D{{Key: "due_at", Value: 1}}, Options: options.Index().SetName("due")},
		},
		ResponseQueueCollection: {
			{Keys: bson.D{{Key: "due_at", Value: 1}}, Options: options.Index().SetName("due")},
		},
		SignalsCollection: {
			{
				Keys:    bson.D{{Key: "source", Value: 1}, {Key: "source_event_id", Value: 1}},
				Options: options.Index().SetUnique(true).SetName("source_event_unique"),
			},
		},
		IncidentsCollection: {
			{
				Keys:    bson.D{{Key: "state", Value: 1}, {Key: "_id", Value: -1}},
				Options: options.Index().SetName("state_id"),
			},
			{
				Keys:    bson.D{{Key: "customer_ids", Value: 1}, {Key: "_id", Value: -1}},
				Options: options.Index().SetName("customer_id"),
			},
			{
				Keys:    bson.D{{Key: "correlation_key", Value: 1}, {Key: "state", Value: 1}, {Key: "_id", Value: -1}},
				Options: options.Index().SetName("correlation_key"),
			},
		},
		TimelineCollection: {
			{
				Keys:    bson.D{{Key: "incident_id", Value: 1}, {Key: "seq", Value: 1}},
				Options: options.Index().SetUnique(true).SetName("incident_seq_unique"),
			},
			{
				Keys:    bson.D{{Key: "incident_id", Value: 1}, {Key: "request_id", Value: 1}},
				Options: options.Index().SetUnique(true).SetName("incident_request_unique"),
			},
		},
	}
}

type jurisdictionDoc struct {
	Jurisdiction string `bson:"jurisdiction"`
	Count        int64  `bson:"count"`
}

type factsDoc struct {
	DataElements             []int32           `bson:"data_elements"`
	EncryptedElements        []int32           `bson:"encrypted_elements"`
	EncryptionKeyCompromised bool              `bson:"encryption_key_compromised"`
	Affected                 []jurisdictionDoc `bson:"affected"`
	RetrievedBeforeMisuse    bool              `bson:"retrieved_before_misuse"`
	ProperlyDisposed         bool              `bson:"properly_disposed"`
	PublicRecordsOnly        bool              `bson:"public_records_only"`
	DiscoveredAt             *time.Time        `bson:"discovered_at,omitempty"`
}

type signalDoc struct {
	ID            string    `bson:"_id"`
	IncidentID    string    `bson:"incident_id"`
	ReceivedAt    time.Time `bson:"received_at"`
	Source        string    `bson:"source"`
	SourceEventID string    `bson:"source_event_id"`
	Title         string    `bson:"title"`
	Description   string    `bson:"description"`
	Severity      int32     `bson:"severity"`
	Type          int32     `bson:"type"`
	ObservedAt    time.Time `bson:"observed_at"`
	Asset         string    `bson:"asset"`
	CustomerIDs   []string  `bson:"customer_ids"`
	Exposure      *factsDoc `bson:"exposure,omitempty"`
	RawJSON       string    `bson:"raw_json,omitempty"`
	// CorrelationKey and Attached say how the signal found its incident.
	CorrelationKey string `bson:"correlation_key,omitempty"`
	Attached       bool   `bson:"attached,omitempty"`
}

type incidentDoc struct {
	ID             string    `bson:"_id"`
	Title          string    `bson:"title"`
	Description    string    `bson:"description"`
	Type           int32     `bson:"type"`
	State          int32     `bson:"state"`
	Severity       int32     `bson:"severity"`
	CustomerIDs    []string  `bson:"customer_ids"`
	Asset          string    `bson:"asset"`
	Facts          factsDoc  `bson:"facts"`
	Record         recordDoc `bson:"record"`
	SignalCount    int64     `bson:"signal_count"`
	CorrelationKey string    `bson:"correlation_key,omitempty"`
	// LastSignalAt is nil on incidents from before correlation.
	LastSignalAt     *time.Time `bson:"last_signal_at,omitempty"`
	AssessmentStatus int32      `bson:"assessment_status"`
	AssessmentID     string     `bson:"assessment_id"`
	CreateTime       time.Time  `bson:"create_time"`
	UpdateTime       time.Time  `bson:"update_time"`
	Version          int64      `bson:"version"`
	FactsVersion     int64      `bson:"facts_version"`
	// HeadSeq is at most the seq of the incident's last timeline entry: a
	// hint HeadEntry probes forward from (0 on incidents from before it).
	HeadSeq int64 `bson:"head_seq,omitempty"`
	// Relay bookkeeping; lease fields are managed by mongox.Claim.
	Attempts      int        `bson:"attempts"`
	NextAttemptAt time.Time  `bson:"next_attempt_at"`
	LastError     string     `bson:"last_error"`
	LeaseUntil    *time.Time `bson:"lease_until,omitempty"`
	LeaseOwner    string     `bson:"lease_owner,omitempty"`
}

// InsertSignal implements domain.Store.
func (s *Store) InsertSignal(ctx context.Context, sig domain.Signal) error {
	doc, err := toSignalDoc(sig)
	if err != nil {
		return err
	}
	err = s.signalInserts.Insert(ctx, doc)
	if mongox.IsDuplicateKey(err) {
		return fmt.Errorf("signal %s/%s: %w", sig.Source, sig.SourceEventID, apperr.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("insert signal: %w", err)
	}
	return nil
}

// SignalBySourceEvent implements domain.Store. A signal's id is derived
// from (source, source event id) (see domain.SignalID), so this is a lookup
// by _id; signals stored before ids were derived are found by their fields.
func (s *Store) SignalBySourceEvent(ctx context.Context, source, eventID string) (domain.Signal, error) {
	var doc signalDoc
	err := s.signals.FindOne(ctx, bson.D{{Key: "_id", Value: domain.SignalID(source, eventID)}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		err = s.signals.FindOne(ctx, bson.D{
			{Key: "source", Value: source},
			{Key: "source_event_id", Value: eventID},
		}).Decode(&doc)
	}
	if err != nil {
		return domain.Signal{}, mongox.NotFound(err, "signal "+source+"/"+eventID)
	}
	return fromSignalDoc(doc)
}

// EnsureIncident implements domain.Store: a plain insert (group-committed
// with concurrent reports), and on a duplicate _id a read of the stored
// incident. An incident with a correlation key becomes its key's head
// (see CorrelatedIncidents).
func (s *Store) EnsureIncident(ctx context.Context, inc domain.Incident) (domain.Incident, error) {
	doc := toIncidentDoc(inc)
	doc.HeadSeq = 1 // its "incident.created" entry is stored first
	// The head may be written before the incident: a head whose incident
	// is missing is no candidate (CorrelatedIncidents), and the retry that
	// completes the incident finds the head in place.
	// Likewise its assessment job: a job whose incident is not there yet
	// is retried by the relay (ClaimAssessment).
	var headErr, queueErr error
	var wg sync.WaitGroup
	wg.Go(func() { headErr = s.advanceHead(ctx, doc.CorrelationKey, doc.ID, true) })
	if inc.AssessmentStatus == domain.AssessmentStatusPending {
		wg.Go(func() { queueErr = s.queueAssessment(ctx, doc.ID, doc.NextAttemptAt) })
	}
	err := s.incidentInserts.Insert(ctx, doc)
	wg.Wait()
	switch {
	case err == nil:
		if headErr != nil {
			return domain.Incident{}, headErr
		}
		if queueErr != nil {
			return domain.Incident{}, queueErr
		}
		return fromIncidentDoc(doc), nil
	case !mongox.IsDuplicateKey(err):
		return domain.Incident{}, fmt.Errorf("ensure incident %s: %w", inc.ID, err)
	}
	// A retry (or a concurrent retry) created it first. The first attempt
	// may have died before moving the head, so move it unless a newer
	// incident holds it.
	if err := s.incidents.FindOne(ctx, bson.D{{Key: "_id", Value: inc.ID}}).Decode(&doc); err != nil {
		return domain.Incident{}, fmt.Errorf("ensure incident %s: %w", inc.ID, err)
	}
	if err := s.advanceHead(ctx, doc.CorrelationKey, doc.ID, false); err != nil {
		return domain.Incident{}, err
	}
	if doc.AssessmentStatus == int32(domain.AssessmentStatusPending) {
		if err := s.queueAssessment(ctx, doc.ID, doc.NextAttemptAt); err != nil {
			return domain.Incident{}, err
		}
	}
	return fromIncidentDoc(doc), nil
}

// queueAssessment puts incident id's assessment in AssessmentQueue
// (group-committed; a job already queued stays as it is).
func (s *Store) queueAssessment(ctx context.Context, id string, due time.Time) error {
	err := s.assessmentInsert.Insert(ctx, s.assessments.NewJob(id, due))
	if err != nil && !mongox.IsDuplicateKey(err) {
		return fmt.Errorf("queue assessment of incident %s: %w", id, err)
	}
	return nil
}

type headDoc struct {
	Key        string `bson:"_id"`
	IncidentID string `bson:"incident_id"`
}

// advanceHead makes incidentID the head of key. A fresh incident is the
// newest for its key: it inserts the head (group-committed like the other
// inserts of ReportSignal) and replaces it only when the key had one.
// Otherwise (a retry) the head moves only forward; incident ids are
// time-ordered. Two incidents opened for one key at the same instant may
// leave either as the head; correlation is best effort there (see
// domain.Intake.ReportSignal).
func (s *Store) advanceHead(ctx context.Context, key, incidentID string, fresh bool) error {
	if key == "" {
		return nil
	}
	if fresh {
		err := s.headInserts.Insert(ctx, headDoc{Key: key, IncidentID: incidentID})
		if err == nil {
			return nil
		}
		if !mongox.IsDuplicateKey(err) {
			return fmt.Errorf("insert correlation head: %w", err)
		}
	}
	var cur headDoc
	err := s.heads.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&cur)
	if err == nil && cur.IncidentID >= incidentID {
		return nil
	}
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("read correlation head: %w", err)
	}
	_, err = s.heads.UpdateOne(ctx, bson.D{{Key: "_id", Value: key}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "incident_id", Value: incidentID}}}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("move correlation head: %w", err)
	}
	return nil
}

// CorrelatedIncidents implements domain.Store: the key's head incident
// (the head by _id, then the incident by _id) unless it is closed. Every
// lookup is by _id, so correlating costs the same however many incidents
// there are. limit is at most 1 in effect: only the newest incident of a
// key is a candidate.
func (s *Store) CorrelatedIncidents(ctx context.Context, key string, limit int) ([]domain.Incident, error) {
	if limit < 1 {
		return nil, nil
	}
	var head headDoc
	err := s.heads.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&head)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read correlation head: %w", err)
	}
	inc, err := s.GetIncident(ctx, head.IncidentID)
	if errors.Is(err, apperr.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read correlated incident: %w", err)
	}
	if inc.State == domain.IncidentStateClosed {
		return nil, nil
	}
	return []domain.Incident{inc}, nil
}

// GetIncident implements domain.Store.
func (s *Store) GetIncident(ctx context.Context, id string) (domain.Incident, error) {
	var doc incidentDoc
	if err := s.incidents.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
		return domain.Incident{}, mongox.NotFound(err, "incident "+id)
	}
	return fromIncidentDoc(doc), nil
}

// pageToken is the cursor of ListIncidents. It repeats the filters so that a
// token is not silently reused with different ones (AIP-158).
type pageToken struct {
	After      string `json:"a"`
	State      int32  `json:"s,omitempty"`
	CustomerID string `json:"c,omitempty"`
}

// ListIncidents implements domain.Store: sorted by _id (time-ordered ids)
// descending, continuing below the last id of the previous page.
func (s *Store) ListIncidents(ctx context.Context, f domain.IncidentFilter, p domain.PageRequest) (domain.IncidentPage, error) {
	filter := bson.D{}
	if f.State != domain.IncidentStateUnspecified {
		filter = append(filter, bson.E{Key: "state", Value: int32(f.State)})
	}
	if f.CustomerID != "" {
		filter = append(filter, bson.E{Key: "customer_ids", Value: f.CustomerID})
	}
	if p.Token != "" {
		var tok pageToken
		if err := mongox.DecodePageToken(p.Token, &tok); err != nil {
			return domain.IncidentPage{}, err
		}
		if tok.After == "" || tok.State != int32(f.State) || tok.CustomerID != f.CustomerID {
			return domain.IncidentPage{}, apperr.Invalid("page_token", "does not match the request's filters; start again without a token")
		}
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: tok.After}}})
	}
	opts := options.Find().
		SetSort(bson.D{{Key: "_id", Value: -1}}).
		SetLimit(int64(p.Size) + 1)
	docs, err := mongox.FindAll[incidentDoc](ctx, s.incidents, filter, opts)
	if err != nil {
		return domain.IncidentPage{}, fmt.Errorf("list incidents: %w", err)
	}
	var page domain.IncidentPage
	if len(docs) > p.Size {
		docs = docs[:p.Size]
		next, err := mongox.EncodePageToken(pageToken{
			After: docs[len(docs)-1].ID, State: int32(f.State), CustomerID: f.CustomerID,
		})
		if err != nil {
			return domain.IncidentPage{}, err
		}
		page.NextPageToken = next
	}
	page.Incidents = make([]domain.Incident, 0, len(docs))
	for _, d := range docs {
		page.Incidents = append(page.Incidents, fromIncidentDoc(d))
	}
	return page, nil
}

// missingIncidentAttempts is how often the relay looks for the incident of
// a queued assessment before dropping the job: the job is queued
// concurrently with the incident's insert, which a crash may have lost.
const missingIncidentAttempts = 10

// ClaimAssessment implements domain.Store: it claims the earliest due job
// of AssessmentQueue and reads its incident by _id. Jobs whose incident is
// no longer pending are dropped.
func (s *Store) ClaimAssessment(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (domain.Incident, bool, error) {
	for {
		job, ok, err := s.assessments.Claim(ctx, owner, now, leaseFor)
		if err != nil || !ok {
			return domain.Incident{}, false, err
		}
		var doc incidentDoc
		err = s.incidents.FindOne(ctx, bson.D{{Key: "_id", Value: job.Key}}).Decode(&doc)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments) && job.Attempt < missingIncidentAttempts:
			err = s.assessments.Retry(ctx, job, now.Add(mongox.Backoff(job.Attempt, 100*time.Millisecond, 10*time.Second)), "incident not stored yet")
		case errors.Is(err, mongo.ErrNoDocuments):
			err = s.assessments.Done(ctx, job)
		case err != nil:
			return domain.Incident{}, false, fmt.Errorf("read incident %s: %w", job.Key, err)
		case doc.AssessmentStatus == int32(domain.AssessmentStatusPending):
			inc := fromIncidentDoc(doc)
			inc.Attempts, inc.LastError = job.Attempt, job.LastError
			return inc, true, nil
		default:
			err = s.assessments.Done(ctx, job)
		}
		if err != nil && !errors.Is(err, mongox.ErrLeaseLost) {
			return domain.Incident{}, false, err
		}
	}
}

// FinishAssessment implements domain.Store.
func (s *Store) FinishAssessment(ctx context.Context, id, owner string) error {
	if err := s.assessments.Done(ctx, mongox.Job{Key: id, Owner: owner}); err != nil {
		return assessmentLeaseErr(id, err)
	}
	return nil
}

func assessmentLeaseErr(id string, err error) error {
	if errors.Is(err, mongox.ErrLeaseLost) {
		return fmt.Errorf("assessment of incident %s: %w: %w", id, err, apperr.ErrConflict)
	}
	return fmt.Errorf("assessment of incident %s: %w", id, err)
}

var unsetLease = bson.E{Key: "$unset", Value: bson.D{
	{Key: mongox.LeaseUntilField, Value: ""},
	{Key: mongox.LeaseOwnerField, Value: ""},
}}

// ApplySnapshot implements domain.Store: it reads the document's version
// and writes the snapshot only over an older one, so a late or repeated
// apply changes nothing. Both steps address the incident by _id alone, the
// only filter the embedded store answers without reading every incident.
// Applies in this process are serialised per incident; two replicas
// applying different versions of one incident at the same instant can
// leave the older, which the next load repairs from the timeline (see
// domain.ledger).
func (s *Store) ApplySnapshot(ctx context.Context, inc domain.Incident, resetRelay bool) (bool, error) {
	mu := &s.applyLocks[fnv32(inc.ID)%uint32(len(s.applyLocks))]
	mu.Lock()
	defer mu.Unlock()
	var cur struct {
		Version int64 `bson:"version"`
	}
	err := s.incidents.FindOne(ctx, bson.D{{Key: "_id", Value: inc.ID}},
		options.FindOne().SetProjection(bson.D{{Key: "version", Value: 1}})).Decode(&cur)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("apply version %d of incident %s: %w", inc.Version, inc.ID, err)
	}
	if cur.Version >= inc.Version {
		return true, nil
	}
	d := toIncidentDoc(inc)
	set := bson.D{
		{Key: "title", Value: d.Title},
		{Key: "description", Value: d.Description},
		{Key: "type", Value: d.Type},
		{Key: "state", Value: d.State},
		{Key: "severity", Value: d.Severity},
		{Key: "customer_ids", Value: d.CustomerIDs},
		{Key: "asset", Value: d.Asset},
		{Key: "facts", Value: d.Facts},
		{Key: "record", Value: d.Record},
		{Key: "signal_count", Value: d.SignalCount},
		{Key: "last_signal_at", Value: d.LastSignalAt},
		{Key: "assessment_status", Value: d.AssessmentStatus},
		{Key: "assessment_id", Value: d.AssessmentID},
		{Key: "update_time", Value: d.UpdateTime},
		{Key: "version", Value: d.Version},
		{Key: "facts_version", Value: d.FactsVersion},
	}
	// The relay's claims live in AssessmentQueue; the attempts counter
	// here only counts failed attempts (RetryAssessment).
	update := bson.D{}
	if resetRelay && inc.AssessmentStatus == domain.AssessmentStatusPending {
		// Queued (and any claim of the old facts revoked) before the
		// incident changes: a crash in between leaves a job that finds the
		// old facts, and the next load re-applies this snapshot and queues
		// it again.
		if err := s.assessments.Again(ctx, inc.ID, d.NextAttemptAt); err != nil {
			return false, fmt.Errorf("apply version %d of incident %s: %w", inc.Version, inc.ID, err)
		}
	}
	switch {
	case resetRelay:
		set = append(set,
			bson.E{Key: "last_error", Value: ""},
			bson.E{Key: "next_attempt_at", Value: d.NextAttemptAt})
		update = append(update, unsetLease)
	case inc.AssessmentStatus == domain.AssessmentStatusCompleted:
		set = append(set, bson.E{Key: "last_error", Value: ""})
		update = append(update, unsetLease)
	}
	update = append(bson.D{{Key: "$set", Value: set}}, update...)
	res, err := s.incidents.UpdateOne(ctx, bson.D{{Key: "_id", Value: inc.ID}}, update)
	if err != nil {
		return false, fmt.Errorf("apply version %d of incident %s: %w", inc.Version, inc.ID, err)
	}
	return res.MatchedCount > 0, nil
}

// fnv32 is the FNV-1a hash of s, to pick an incident's apply lock.
func fnv32(s string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return h.Sum32()
}

// RetryAssessment implements domain.Store: it makes the queued job due at
// next and notes the error, the next attempt and the count of failed
// attempts on the incident (bookkeeping, not a change of the incident a
// client sees, so version and update_time stay).
func (s *Store) RetryAssessment(ctx context.Context, id, owner string, next time.Time, lastError string) error {
	if err := s.assessments.Retry(ctx, mongox.Job{Key: id, Owner: owner}, next.UTC(), lastError); err != nil {
		return assessmentLeaseErr(id, err)
	}
	if _, err := s.incidents.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{
			{Key: "$set", Value: bson.D{{Key: "next_attempt_at", Value: next.UTC()}, {Key: "last_error", Value: lastError}}},
			{Key: "$inc", Value: bson.D{{Key: "attempts", Value: 1}}},
		}); err != nil {
		return fmt.Errorf("reschedule assessment of incident %s: %w", id, err)
	}
	return nil
}

func toSignalDoc(s domain.Signal) (signalDoc, error) {
	doc := signalDoc{
		ID:            s.ID,
		IncidentID:    s.IncidentID,
		ReceivedAt:    s.ReceivedAt.UTC(),
		Source:        s.Source,
		SourceEventID: s.SourceEventID,
		Title:         s.Title,
		Description:   s.Description,
		Severity:      int32(s.Severity),
		Type:          int32(s.Type),
		ObservedAt:    s.ObservedAt.UTC(),
		Asset:         s.Asset,
		CustomerIDs:   s.CustomerIDs,

		CorrelationKey: s.CorrelationKey,
		Attached:       s.Attached,
	}
	if s.Exposure != nil {
		f := toFactsDoc(*s.Exposure)
		doc.Exposure = &f
	}
	if s.Raw != nil {
		b, err := json.Marshal(s.Raw)
		if err != nil {
			return signalDoc{}, fmt.Errorf("encode raw payload: %w", err)
		}
		doc.RawJSON = string(b)
	}
	return doc, nil
}

func fromSignalDoc(d signalDoc) (domain.Signal, error) {
	s := domain.Signal{
		ID:            d.ID,
		IncidentID:    d.IncidentID,
		ReceivedAt:    d.ReceivedAt.UTC(),
		Source:        d.Source,
		SourceEventID: d.SourceEventID,
		Title:         d.Title,
		Description:   d.Description,
		Severity:      domain.Severity(d.Severity),
		Type:          domain.IncidentType(d.Type),
		ObservedAt:    d.ObservedAt.UTC(),
		Asset:         d.Asset,
		CustomerIDs:   d.CustomerIDs,

		CorrelationKey: d.CorrelationKey,
		Attached:       d.Attached,
	}
	if d.Exposure != nil {
		f := fromFactsDoc(*d.Exposure)
		s.Exposure = &f
	}
	if d.RawJSON != "" {
		if err := json.Unmarshal([]byte(d.RawJSON), &s.Raw); err != nil {
			return domain.Signal{}, fmt.Errorf("decode raw payload of signal %s: %w", d.ID, err)
		}
	}
	return s, nil
}

func toFactsDoc(f domain.BreachFacts) factsDoc {
	doc := factsDoc{
		DataElements:             elementsToInts(f.DataElements),
		EncryptedElements:        elementsToInts(f.EncryptedElements),
		EncryptionKeyCompromised: f.EncryptionKeyCompromised,
		RetrievedBeforeMisuse:    f.RetrievedBeforeMisuse,
		ProperlyDisposed:         f.ProperlyDisposed,
		PublicRecordsOnly:        f.PublicRecordsOnly,
	}
	for _, a := range f.Affected {
		doc.Affected = append(doc.Affected, jurisdictionDoc{Jurisdiction: a.Jurisdiction, Count: a.Count})
	}
	if !f.DiscoveredAt.IsZero() {
		t := f.DiscoveredAt.UTC()
		doc.DiscoveredAt = &t
	}
	return doc
}

func fromFactsDoc(d factsDoc) domain.BreachFacts {
	f := domain.BreachFacts{
		DataElements:             intsToElements(d.DataElements),
		EncryptedElements:        intsToElements(d.EncryptedElements),
		EncryptionKeyCompromised: d.EncryptionKeyCompromised,
		RetrievedBeforeMisuse:    d.RetrievedBeforeMisuse,
		ProperlyDisposed:         d.ProperlyDisposed,
		PublicRecordsOnly:        d.PublicRecordsOnly,
	}
	for _, a := range d.Affected {
		f.Affected = append(f.Affected, domain.JurisdictionCount{Jurisdiction: a.Jurisdiction, Count: a.Count})
	}
	if d.DiscoveredAt != nil {
		f.DiscoveredAt = d.DiscoveredAt.UTC()
	}
	return f
}

func elementsToInts(es []domain.DataElement) []int32 {
	if es == nil {
		return nil
	}
	out := make([]int32, len(es))
	for i, e := range es {
		out[i] = int32(e)
	}
	return out
}

func intsToElements(ns []int32) []domain.DataElement {
	if ns == nil {
		return nil
	}
	out := make([]domain.DataElement, len(ns))
	for i, n := range ns {
		out[i] = domain.DataElement(n)
	}
	return out
}

func toIncidentDoc(inc domain.Incident) incidentDoc {
	return incidentDoc{
		ID:               inc.ID,
		Title:            inc.Title,
		Description:      inc.Description,
		Type:             int32(inc.Type),
		State:            int32(inc.State),
		Severity:         int32(inc.Severity),
		CustomerIDs:      inc.CustomerIDs,
		Asset:            inc.Asset,
		Facts:            toFactsDoc(inc.Facts),
		Record:           toRecordDoc(inc.Record),
		SignalCount:      inc.SignalCount,
		CorrelationKey:   inc.CorrelationKey,
		LastSignalAt:     optionalTime(inc.LastSignalAt),
		AssessmentStatus: int32(inc.AssessmentStatus),
		AssessmentID:     inc.AssessmentID,
		CreateTime:       inc.CreateTime.UTC(),
		UpdateTime:       inc.UpdateTime.UTC(),
		Version:          inc.Version,
		FactsVersion:     inc.FactsVersion,
		Attempts:         inc.Attempts,
		NextAttemptAt:    inc.NextAttemptAt.UTC(),
		LastError:        inc.LastError,
	}
}

func fromIncidentDoc(d incidentDoc) domain.Incident {
	return domain.Incident{
		ID:               d.ID,
		Title:            d.Title,
		Description:      d.Description,
		Type:             domain.IncidentType(d.Type),
		State:            domain.IncidentState(d.State),
		Severity:         domain.Severity(d.Severity),
		CustomerIDs:      d.CustomerIDs,
		Asset:            d.Asset,
		Facts:            fromFactsDoc(d.Facts),
		Record:           fromRecordDoc(d.Record),
		SignalCount:      d.SignalCount,
		CorrelationKey:   d.CorrelationKey,
		LastSignalAt:     timeOrZero(d.LastSignalAt),
		AssessmentStatus: domain.AssessmentStatus(d.AssessmentStatus),
		AssessmentID:     d.AssessmentID,
		CreateTime:       d.CreateTime.UTC(),
		UpdateTime:       d.UpdateTime.UTC(),
		Version:          d.Version,
		FactsVersion:     d.FactsVersion,
		Attempts:         d.Attempts,
		NextAttemptAt:    d.NextAttemptAt.UTC(),
		LastError:        d.LastError,
	}
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func timeOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
