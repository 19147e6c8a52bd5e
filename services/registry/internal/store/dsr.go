package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// dsrDoc is a data subject request as stored; _id is the "dsr_..." id. The
// lease fields of the forwarding and reminder relays (mongox.Claim) sit on
// the same document but outside this struct, so a change of the request
// never touches a lease and a claim never touches the request.
type dsrDoc struct {
	ID                string            `bson:"_id"`
	CustomerID        string            `bson:"customer_id"`
	Type              string            `bson:"type"`
	Subject           dataSubjectDoc    `bson:"subject"`
	Details           string            `bson:"details"`
	ReceiveTime       time.Time         `bson:"receive_time"`
	DueTime           time.Time         `bson:"due_time"`
	OriginalDueTime   time.Time         `bson:"original_due_time"`
	Status            string            `bson:"status"`
	CreateTime        time.Time         `bson:"create_time"`
	UpdateTime        time.Time         `bson:"update_time"`
	NotificationEmail string            `bson:"notification_email"`
	ForwardPending    bool              `bson:"forward_pending"`
	ForwardTime       *time.Time        `bson:"forward_time,omitempty"`
	ForwardNoticeID   string            `bson:"forward_notice_id,omitempty"`
	ReminderSent      bool              `bson:"reminder_sent"`
	ReminderTime      *time.Time        `bson:"reminder_time,omitempty"`
	ReminderNoticeID  string            `bson:"reminder_notice_id,omitempty"`
	Extensions        []extensionDoc    `bson:"extensions"`
	StatusHistory     []statusChangeDoc `bson:"status_history"`
	Assistance        []assistanceDoc   `bson:"assistance"`
	Tasks             []taskDoc         `bson:"tasks"`
	Version           int64             `bson:"version"`
	RequestKey        string            `bson:"request_key,omitempty"`
	Fingerprint       string            `bson:"fingerprint,omitempty"`
}

// dataSubjectDoc is the requester's identity, personal data kept only to
// handle the request.
type dataSubjectDoc struct {
	Name       string `bson:"name"`
	Email      string `bson:"email,omitempty"`
	AccountRef string `bson:"account_ref,omitempty"`
}

type extensionDoc struct {
	Months      int32     `bson:"months"`
	Reason      string    `bson:"reason"`
	PreviousDue time.Time `bson:"previous_due"`
	NewDue      time.Time `bson:"new_due"`
	RecordTime  time.Time `bson:"record_time"`
	Actor       string    `bson:"actor"`
	RequestID   string    `bson:"request_id,omitempty"`
}

type statusChangeDoc struct {
	From      string    `bson:"from,omitempty"`
	To        string    `bson:"to"`
	Reason    string    `bson:"reason,omitempty"`
	Time      time.Time `bson:"time"`
	Actor     string    `bson:"actor"`
	RequestID string    `bson:"request_id,omitempty"`
}

type assistanceDoc struct {
	Description string    `bson:"description"`
	RecordTime  time.Time `bson:"record_time"`
	Actor       string    `bson:"actor"`
	RequestID   string    `bson:"request_id,omitempty"`
}

type taskDoc struct {
	ID                string     `bson:"id"`
	Kind              string     `bson:"kind"`
	Description       string     `bson:"description"`
	System            string     `bson:"system,omitempty"`
	CreateTime        time.Time  `bson:"create_time"`
	CreatedBy         string     `bson:"created_by"`
	RequestID         string     `bson:"request_id,omitempty"`
	Fingerprint       string     `bson:"fingerprint"`
	CompleteTime      *time.Time `bson:"complete_time,omitempty"`
	CompletedBy       string     `bson:"completed_by,omitempty"`
	Evidence          string     `bson:"evidence,omitempty"`
	ArtefactSHA256    string     `bson:"artefact_sha256,omitempty"`
	CompleteRequestID string     `bson:"complete_request_id,omitempty"`
}

// dsrVersionDoc fences one change of a data subject request: its _id
// "<id>#<version>" is unique, so exactly one writer wins each version, and
// it carries the full next state, so anyone can finish a change whose writer
// died between the fence and the update. The collection is also the
// request's history.
type dsrVersionDoc struct {
	ID      string `bson:"_id"`
	DSRID   string `bson:"dsr_id"`
	Version int64  `bson:"version"`
	State   dsrDoc `bson:"state"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func fromOpt(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return utc(*t)
}

func dsrToDoc(d domain.DataSubjectRequest) dsrDoc {
	doc := dsrDoc{
		ID:         d.ID,
		CustomerID: d.CustomerID,
		Type:       string(d.Type),
		Subject: dataSubjectDoc{
			Name:       d.Subject.Name,
			Email:      d.Subject.Email,
			AccountRef: d.Subject.AccountRef,
		},
		Details:           d.Details,
		ReceiveTime:       d.ReceiveTime,
		DueTime:           d.DueTime,
		OriginalDueTime:   d.OriginalDueTime,
		Status:            string(d.Status),
		CreateTime:        d.CreateTime,
		UpdateTime:        d.UpdateTime,
		NotificationEmail: d.NotificationEmail,
		ForwardPending:    d.ForwardPending,
		ForwardTime:       optTime(d.ForwardTime),
		ForwardNoticeID:   d.ForwardNoticeID,
		ReminderSent:      d.ReminderNoticeID != "",
		ReminderTime:      optTime(d.ReminderTime),
		ReminderNoticeID:  d.ReminderNoticeID,
		Extensions:        []extensionDoc{},
		StatusHistory:     []statusChangeDoc{},
		Assistance:        []assistanceDoc{},
		Tasks:             []taskDoc{},
		Version:           d.Version,
	}
	for _, e := range d.Extensions {
		doc.Extensions = append(doc.Extensions, extensionDoc(e))
	}
	for _, c := range d.StatusHistory {
		doc.StatusHistory = append(doc.StatusHistory, statusChangeDoc{
			From: string(c.From), To: string(c.To), Reason: c.Reason, Time: c.Time, Actor: c.Actor, RequestID: c.RequestID,
		})
	}
	for _, a := range d.Assistance {
		doc.Assistance = append(doc.Assistance, assistanceDoc(a))
	}
	for _, t := range d.Tasks {
		doc.Tasks = append(doc.Tasks, taskDoc{
			ID: t.ID, Kind: string(t.Kind), Description: t.Description, System: t.System, CreateTime: t.CreateTime,
			CreatedBy: t.CreatedBy, RequestID: t.RequestID, Fingerprint: t.Fingerprint, CompleteTime: optTime(t.CompleteTime),
			CompletedBy: t.CompletedBy, Evidence: t.Evidence, ArtefactSHA256: t.ArtefactSHA256, CompleteRequestID: t.CompleteRequestID,
		})
	}
	return doc
}

func (d dsrDoc) toDomain() domain.DataSubjectRequest {
	out := domain.DataSubjectRequest{
		ID:         d.ID,
		CustomerID: d.CustomerID,
		Type:       domain.DSRType(d.Type),
		Subject: domain.DataSubject{
			Name:       d.Subject.Name,
			Email:      d.Subject.Email,
			AccountRef: d.Subject.AccountRef,
		},
		Details:           d.Details,
		ReceiveTime:       utc(d.ReceiveTime),
		DueTime:           utc(d.DueTime),
		OriginalDueTime:   utc(d.OriginalDueTime),
		Status:            domain.DSRStatus(d.Status),
		CreateTime:        utc(d.CreateTime),
		UpdateTime:        utc(d.UpdateTime),
		NotificationEmail: d.NotificationEmail,
		ForwardPending:    d.ForwardPending,
		ForwardTime:       fromOpt(d.ForwardTime),
		ForwardNoticeID:   d.ForwardNoticeID,
		ReminderTime:      fromOpt(d.ReminderTime),
		ReminderNoticeID:  d.ReminderNoticeID,
		Version:           d.Version,
	}
	for _, e := range d.Extensions {
		out.Extensions = append(out.Extensions, domain.DueDateExtension{
			Months: e.Months, Reason: e.Reason, PreviousDue: utc(e.PreviousDue), NewDue: utc(e.NewDue),
			RecordTime: utc(e.RecordTime), Actor: e.Actor, RequestID: e.RequestID,
		})
	}
	for _, c := range d.StatusHistory {
		out.StatusHistory = append(out.StatusHistory, domain.DSRStatusChange{
			From: domain.DSRStatus(c.From), To: domain.DSRStatus(c.To), Reason: c.Reason, Time: utc(c.Time), Actor: c.Actor, RequestID: c.RequestID,
		})
	}
	for _, a := range d.Assistance {
		out.Assistance = append(out.Assistance, domain.AssistanceRecord{
			Description: a.Description, RecordTime: utc(a.RecordTime), Actor: a.Actor, RequestID: a.RequestID,
		})
	}
	for _, t := range d.Tasks {
		out.Tasks = append(out.Tasks, domain.AssistanceTask{
			ID: t.ID, Kind: domain.TaskKind(t.Kind), Description: t.Description, System: t.System, CreateTime: utc(t.CreateTime),
			CreatedBy: t.CreatedBy, RequestID: t.RequestID, Fingerprint: t.Fingerprint, CompleteTime: fromOpt(t.CompleteTime),
			CompletedBy: t.CompletedBy, Evidence: t.Evidence, ArtefactSHA256: t.ArtefactSHA256, CompleteRequestID: t.CompleteRequestID,
		})
	}
	return out
}

// CreateDataSubjectRequest implements domain.DataSubjectRequestStore. The id
// is new on every attempt, so only the request key can make a retry collide.
func (s *Store) CreateDataSubjectRequest(ctx context.Context, d domain.DataSubjectRequest, idem domain.Idempotency) (domain.DataSubjectRequest, error) {
	doc := dsrToDoc(d)
	doc.RequestKey = requestKey(idem, d.ID)
	doc.Fingerprint = idem.Fingerprint
	doc, err := insertOnce(ctx, s.dsrs, doc, d.ID, idem)
	if err != nil {
		return domain.DataSubjectRequest{}, err
	}
	return doc.toDomain(), nil
}

// GetDataSubjectRequest implements domain.DataSubjectRequestStore.
func (s *Store) GetDataSubjectRequest(ctx context.Context, id string) (domain.DataSubjectRequest, error) {
	doc, err := findByID[dsrDoc](ctx, s.dsrs, id, "data subject request")
	if err != nil {
		return domain.DataSubjectRequest{}, err
	}
	return doc.toDomain(), nil
}

// ListDataSubjectRequests implements domain.DataSubjectRequestStore.
func (s *Store) ListDataSubjectRequests(ctx context.Context, q domain.DSRQuery) ([]domain.DataSubjectRequest, error) {
	filter := bson.D{}
	if q.CustomerID != "" {
		filter = append(filter, bson.E{Key: "customer_id", Value: q.CustomerID})
	}
	switch {
	case q.Status != "" && !q.DueBefore.IsZero() && q.Status.Final():
		// Due filters keep open requests only: none can match.
		return nil, nil
	case q.Status != "":
		filter = append(filter, bson.E{Key: "status", Value: string(q.Status)})
	case !q.DueBefore.IsZero():
		filter = append(filter, bson.E{Key: "status", Value: bson.D{{Key: "$in", Value: statusStrings(domain.OpenDSRStatuses())}}})
	}
	if !q.DueBefore.IsZero() {
		filter = append(filter, bson.E{Key: "due_time", Value: bson.D{{Key: "$lt", Value: q.DueBefore}}})
	}
	filter = append(filter, timeRange("receive_time", q.ReceivedFrom, q.ReceivedTo)...)
	return findPage(ctx, s.dsrs, afterFilter(filter, q.After), q.Limit, dsrDoc.toDomain)
}

// timeRange filters field to [from, to), either bound optional.
func timeRange(field string, from, to time.Time) bson.D {
	r := bson.D{}
	if !from.IsZero() {
		r = append(r, bson.E{Key: "$gte", Value: from})
	}
	if !to.IsZero() {
		r = append(r, bson.E{Key: "$lt", Value: to})
	}
	if len(r) == 0 {
		return nil
	}
	return bson.D{{Key: field, Value: r}}
}

func statusStrings(ss []domain.DSRStatus) bson.A {
	out := bson.A{}
	for _, s := range ss {
		out = append(out, string(s))
	}
	return out
}

// UpdateDataSubjectRequest implements domain.DataSubjectRequestStore: it
// inserts the fence "<id>#<version>" with the next state, then writes the
// state onto the request if it is still at version from.
func (s *Store) UpdateDataSubjectRequest(ctx context.Context, next domain.DataSubjectRequest, from int64) (domain.DataSubjectRequest, error) {
	state := dsrToDoc(next)
	fence := dsrVersionDoc{ID: fenceID(next.ID, next.Version), DSRID: next.ID, Version: next.Version, State: state}
	if _, err := s.dsrVersions.InsertOne(ctx, fence); err != nil {
		if !mongox.IsDuplicateKey(err) {
			return domain.DataSubjectRequest{}, fmt.Errorf("fence data subject request %s: %w", next.ID, err)
		}
		// Another writer owns this version; make sure its change lands (it
		// may have died after the fence) and let the caller re-read.
		var won dsrVersionDoc
		if err := s.dsrVersions.FindOne(ctx, bson.D{{Key: "_id", Value: fence.ID}}).Decode(&won); err != nil {
			return domain.DataSubjectRequest{}, fmt.Errorf("read data subject request fence %s: %w", fence.ID, err)
		}
		if err := s.applyDSRVersion(ctx, won.State, from); err != nil {
			return domain.DataSubjectRequest{}, err
		}
		return domain.DataSubjectRequest{}, fmt.Errorf("data subject request %s: %w", next.ID, apperr.ErrConflict)
	}
	if err := s.applyDSRVersion(ctx, state, from); err != nil {
		return domain.DataSubjectRequest{}, err
	}
	return s.GetDataSubjectRequest(ctx, next.ID)
}

// applyDSRVersion writes state over the request if it is at version from;
// a request already past it is left alone. Every field of the state is set
// except the immutable ones (id, idempotency key and fingerprint), and the
// lease fields are not part of it.
func (s *Store) applyDSRVersion(ctx context.Context, state dsrDoc, from int64) error {
	set, err := stateSet(state, "_id", requestKeyField, "fingerprint")
	if err != nil {
		return err
	}
	// Optional times are omitted when unset; they never go back to unset.
	if _, err := s.dsrs.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: state.ID}, {Key: "version", Value: from}},
		bson.D{{Key: "$set", Value: set}}); err != nil {
		return fmt.Errorf("update data subject request %s: %w", state.ID, err)
	}
	return nil
}

// stateSet marshals a state document into a $set body without the fields
// in skip.
func stateSet(state any, skip ...string) (bson.D, error) {
	raw, err := bson.Marshal(state)
	if err != nil {
		return nil, fmt.Errorf("marshal state: %w", err)
	}
	var all bson.D
	if err := bson.Unmarshal(raw, &all); err != nil {
		return nil, fmt.Errorf("unmarshal state: %w", err)
	}
	set := make(bson.D, 0, len(all))
	for _, e := range all {
		keep := true
		for _, k := range skip {
			if e.Key == k {
				keep = false
			}
		}
		if keep {
			set = append(set, e)
		}
	}
	return set, nil
}

// ClaimDSRForward implements domain.DataSubjectRequestStore.
func (s *Store) ClaimDSRForward(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (domain.DataSubjectRequest, int, bool, error) {
	return s.claimDSR(ctx, bson.D{{Key: "forward_pending", Value: true}}, owner, now, leaseFor)
}

// ClaimDSRReminder implements domain.DataSubjectRequestStore.
func (s *Store) ClaimDSRReminder(ctx context.Context, owner string, now, dueBefore time.Time, leaseFor time.Duration) (domain.DataSubjectRequest, int, bool, error) {
	return s.claimDSR(ctx, bson.D{
		{Key: "reminder_sent", Value: false},
		{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{string(domain.DSRForwarded), string(domain.DSRInProgress)}}}},
		{Key: "due_time", Value: bson.D{{Key: "$lt", Value: dueBefore}}},
	}, owner, now, leaseFor)
}

func (s *Store) claimDSR(ctx context.Context, filter bson.D, owner string, now time.Time, leaseFor time.Duration) (domain.DataSubjectRequest, int, bool, error) {
	var raw bson.Raw
	ok, err := mongox.Claim(ctx, s.dsrs, filter, owner, now, leaseFor, &raw)
	if err != nil || !ok {
		return domain.DataSubjectRequest{}, 0, false, err
	}
	var doc dsrDoc
	var lease struct {
		Attempts int `bson:"attempts"`
	}
	if err := errors.Join(bson.Unmarshal(raw, &doc), bson.Unmarshal(raw, &lease)); err != nil {
		return domain.DataSubjectRequest{}, 0, false, fmt.Errorf("decode claimed data subject request: %w", err)
	}
	return doc.toDomain(), lease.Attempts, true, nil
}

// RetryDSRLease implements domain.DataSubjectRequestStore: the lease is
// extended to next, which is when Claim finds the request due again.
func (s *Store) RetryDSRLease(ctx context.Context, id, owner string, next time.Time) error {
	if _, err := s.dsrs.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: mongox.LeaseOwnerField, Value: owner}},
		bson.D{{Key: "$set", Value: bson.D{{Key: mongox.LeaseUntilField, Value: next}}}}); err != nil {
		return fmt.Errorf("retry relay of data subject request %s: %w", id, err)
	}
	return nil
}

// DataSubjectRequestHistory returns the recorded changes of a request (its
// versions after the first), oldest first. Used by tests and operators.
func (s *Store) DataSubjectRequestHistory(ctx context.Context, id string) ([]domain.DataSubjectRequest, error) {
	docs, err := mongox.FindAll[dsrVersionDoc](ctx, s.dsrVersions, bson.D{{Key: "dsr_id", Value: id}},
		options.Find().SetSort(bson.D{{Key: "version", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("find history of data subject request %s: %w", id, err)
	}
	out := make([]domain.DataSubjectRequest, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.State.toDomain())
	}
	return out, nil
}

// fenceID is the _id of the fence of version v of resource id.
func fenceID(id string, v int64) string { return fmt.Sprintf("%s#%d", id, v) }
