package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// removalDoc is a removal request as stored; _id is the "rmr_..." id.
type removalDoc struct {
	ID                    string      `bson:"_id"`
	CustomerID            string      `bson:"customer_id"`
	FoundTypes            []string    `bson:"found_types"`
	Location              string      `bson:"location"`
	FindingCount          int64       `bson:"finding_count"`
	Source                string      `bson:"source"`
	Status                string      `bson:"status"`
	OpenTime              time.Time   `bson:"open_time"`
	Deadline              time.Time   `bson:"deadline"`
	NotifyCustomerPending bool        `bson:"notify_customer_pending"`
	NotificationEmail     string      `bson:"notification_email"`
	NotifyTime            *time.Time  `bson:"notify_time,omitempty"`
	NoticeID              string      `bson:"notice_id,omitempty"`
	FlagTime              *time.Time  `bson:"flag_time,omitempty"`
	Removal               *removalRec `bson:"removal,omitempty"`
	UpdateTime            time.Time   `bson:"update_time"`
	Version               int64       `bson:"version"`
	RequestKey            string      `bson:"request_key,omitempty"`
	Fingerprint           string      `bson:"fingerprint,omitempty"`
}

// removalRec is the recorded removal.
type removalRec struct {
	RemovedBy  string    `bson:"removed_by"`
	RemoveTime time.Time `bson:"remove_time"`
	Evidence   string    `bson:"evidence"`
	RecordTime time.Time `bson:"record_time"`
	RequestID  string    `bson:"request_id,omitempty"`
}

// removalVersionDoc fences one change of a removal request: its _id
// "<id>#<version>" is unique, so exactly one writer wins each version, and it
// carries the full next state, so anyone can finish a change whose writer
// died between the fence and the update (the same write, so finishing it
// twice is harmless). The collection is also the request's history.
type removalVersionDoc struct {
	ID        string     `bson:"_id"`
	RequestID string     `bson:"removal_request_id"`
	Version   int64      `bson:"version"`
	State     removalDoc `bson:"state"`
}

func removalToDoc(r domain.RemovalRequest) removalDoc {
	d := removalDoc{
		ID:                    r.ID,
		CustomerID:            r.CustomerID,
		Location:              r.Location,
		FindingCount:          r.FindingCount,
		Source:                r.Source,
		Status:                string(r.Status),
		OpenTime:              r.OpenTime,
		Deadline:              r.Deadline,
		NotifyCustomerPending: r.NotifyCustomerPending,
		NotificationEmail:     r.NotificationEmail,
		UpdateTime:            r.UpdateTime,
		Version:               r.Version,
		FoundTypes:            []string{},
	}
	for _, t := range r.FoundTypes {
		d.FoundTypes = append(d.FoundTypes, string(t))
	}
	if !r.FlagTime.IsZero() {
		t := r.FlagTime
		d.FlagTime = &t
	}
	if !r.NotifyTime.IsZero() {
		t := r.NotifyTime
		d.NotifyTime = &t
	}
	d.NoticeID = r.NoticeID
	if r.Removal != nil {
		d.Removal = &removalRec{
			RemovedBy:  string(r.Removal.RemovedBy),
			RemoveTime: r.Removal.RemoveTime,
			Evidence:   r.Removal.Evidence,
			RecordTime: r.Removal.RecordTime,
			RequestID:  r.Removal.RequestID,
		}
	}
	return d
}

func (d removalDoc) toDomain() domain.RemovalRequest {
	r := domain.RemovalRequest{
		ID:                    d.ID,
		CustomerID:            d.CustomerID,
		Location:              d.Location,
		FindingCount:          d.FindingCount,
		Source:                d.Source,
		Status:                domain.RemovalStatus(d.Status),
		OpenTime:              utc(d.OpenTime),
		Deadline:              utc(d.Deadline),
		NotifyCustomerPending: d.NotifyCustomerPending,
		NotificationEmail:     d.NotificationEmail,
		UpdateTime:            utc(d.UpdateTime),
		Version:               d.Version,
	}
	for _, t := range d.FoundTypes {
		r.FoundTypes = append(r.FoundTypes, domain.SensitiveType(t))
	}
	if d.FlagTime != nil {
		r.FlagTime = utc(*d.FlagTime)
	}
	if d.NotifyTime != nil {
		r.NotifyTime = utc(*d.NotifyTime)
	}
	r.NoticeID = d.NoticeID
	if d.Removal != nil {
		r.Removal = &domain.Removal{
			RemovedBy:  domain.Remover(d.Removal.RemovedBy),
			RemoveTime: utc(d.Removal.RemoveTime),
			Evidence:   d.Removal.Evidence,
			RecordTime: utc(d.Removal.RecordTime),
			RequestID:  d.Removal.RequestID,
		}
	}
	return r
}

// CreateRemovalRequest implements domain.RemovalRequestStore.
func (s *Store) CreateRemovalRequest(ctx context.Context, r domain.RemovalRequest, idem domain.Idempotency) (domain.RemovalRequest, error) {
	doc := removalToDoc(r)
	doc.RequestKey = requestKey(idem, r.ID)
	doc.Fingerprint = idem.Fingerprint
	doc, err := insertOnce(ctx, s.removals, doc, r.ID, idem)
	if err != nil {
		return domain.RemovalRequest{}, err
	}
	return doc.toDomain(), nil
}

// GetRemovalRequest implements domain.RemovalRequestStore.
func (s *Store) GetRemovalRequest(ctx context.Context, id string) (domain.RemovalRequest, error) {
	doc, err := findByID[removalDoc](ctx, s.removals, id, "removal request")
	if err != nil {
		return domain.RemovalRequest{}, err
	}
	return doc.toDomain(), nil
}

// ListRemovalRequests implements domain.RemovalRequestStore.
func (s *Store) ListRemovalRequests(ctx context.Context, q domain.RemovalQuery) ([]domain.RemovalRequest, error) {
	filter := bson.D{}
	if q.CustomerID != "" {
		filter = append(filter, bson.E{Key: "customer_id", Value: q.CustomerID})
	}
	if q.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: string(q.Status)})
	}
	if !q.OverdueAt.IsZero() {
		filter = append(filter,
			bson.E{Key: "deadline", Value: bson.D{{Key: "$lte", Value: q.OverdueAt}}},
			bson.E{Key: "removal", Value: bson.D{{Key: "$exists", Value: false}}})
	}
	return findPage(ctx, s.removals, afterFilter(filter, q.After), q.Limit, removalDoc.toDomain)
}

// UpdateRemovalRequest implements domain.RemovalRequestStore: it inserts the
// fence "<id>#<version>" with the next state, then writes the state onto the
// request if it is still at version from.
func (s *Store) UpdateRemovalRequest(ctx context.Context, next domain.RemovalRequest, from int64) (domain.RemovalRequest, error) {
	state := removalToDoc(next)
	fence := removalVersionDoc{ID: removalVersionID(next.ID, next.Version), RequestID: next.ID, Version: next.Version, State: state}
	if _, err := s.removalVersions.InsertOne(ctx, fence); err != nil {
		if !mongox.IsDuplicateKey(err) {
			return domain.RemovalRequest{}, fmt.Errorf("fence removal request %s: %w", next.ID, err)
		}
		// Another writer owns this version; make sure its change lands (it
		// may have died after the fence) and let the caller re-read.
		if err := s.finishRemovalVersion(ctx, fence.ID, from); err != nil {
			return domain.RemovalRequest{}, err
		}
		return domain.RemovalRequest{}, fmt.Errorf("removal request %s: %w", next.ID, apperr.ErrConflict)
	}
	if err := s.applyRemovalVersion(ctx, state, from); err != nil {
		return domain.RemovalRequest{}, err
	}
	return s.GetRemovalRequest(ctx, next.ID)
}

// finishRemovalVersion applies the fenced state fenceID if the request is
// still at version from.
func (s *Store) finishRemovalVersion(ctx context.Context, fenceID string, from int64) error {
	var fence removalVersionDoc
	if err := s.removalVersions.FindOne(ctx, bson.D{{Key: "_id", Value: fenceID}}).Decode(&fence); err != nil {
		return fmt.Errorf("read removal fence %s: %w", fenceID, err)
	}
	return s.applyRemovalVersion(ctx, fence.State, from)
}

// applyRemovalVersion writes state over the request if it is at version
// from; a request already past it is left alone.
func (s *Store) applyRemovalVersion(ctx context.Context, state removalDoc, from int64) error {
	set := bson.D{
		{Key: "status", Value: state.Status},
		{Key: "notify_customer_pending", Value: state.NotifyCustomerPending},
		{Key: "update_time", Value: state.UpdateTime},
		{Key: "version", Value: state.Version},
	}
	if state.FlagTime != nil {
		set = append(set, bson.E{Key: "flag_time", Value: *state.FlagTime})
	}
	if state.Removal != nil {
		set = append(set, bson.E{Key: "removal", Value: state.Removal})
	}
	if state.NotifyTime != nil {
		set = append(set, bson.E{Key: "notify_time", Value: *state.NotifyTime}, bson.E{Key: "notice_id", Value: state.NoticeID})
	}
	_, err := s.removals.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: state.ID}, {Key: "version", Value: from}},
		bson.D{{Key: "$set", Value: set}})
	if err != nil {
		return fmt.Errorf("update removal request %s: %w", state.ID, err)
	}
	return nil
}

// NextOverdueRemovalRequest implements domain.RemovalRequestStore.
func (s *Store) NextOverdueRemovalRequest(ctx context.Context, now time.Time) (domain.RemovalRequest, bool, error) {
	var doc removalDoc
	err := s.removals.FindOne(ctx,
		bson.D{{Key: "status", Value: string(domain.RemovalOpen)}, {Key: "deadline", Value: bson.D{{Key: "$lte", Value: now}}}},
		options.FindOne().SetSort(bson.D{{Key: "deadline", Value: 1}})).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return domain.RemovalRequest{}, false, nil
	}
	if err != nil {
		return domain.RemovalRequest{}, false, fmt.Errorf("find overdue removal request: %w", err)
	}
	return doc.toDomain(), true, nil
}

// ClaimRemovalNotice implements domain.RemovalRequestStore with
// mongox.Claim: the lease fields live on the request document beside (and
// outside) its versioned state, so claiming never races a status change.
func (s *Store) ClaimRemovalNotice(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (domain.RemovalRequest, int, bool, error) {
	var raw bson.Raw
	ok, err := mongox.Claim(ctx, s.removals, bson.D{{Key: "notify_customer_pending", Value: true}}, owner, now, leaseFor, &raw)
	if err != nil || !ok {
		return domain.RemovalRequest{}, 0, false, err
	}
	var doc removalDoc
	var lease struct {
		Attempts int `bson:"attempts"`
	}
	if err := errors.Join(bson.Unmarshal(raw, &doc), bson.Unmarshal(raw, &lease)); err != nil {
		return domain.RemovalRequest{}, 0, false, fmt.Errorf("decode claimed removal request: %w", err)
	}
	return doc.toDomain(), lease.Attempts, true, nil
}

// RetryRemovalNotice implements domain.RemovalRequestStore: the lease is
// extended to next, which is when Claim finds the request due again.
func (s *Store) RetryRemovalNotice(ctx context.Context, id, owner string, next time.Time) error {
	if _, err := s.removals.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: mongox.LeaseOwnerField, Value: owner}},
		bson.D{{Key: "$set", Value: bson.D{{Key: mongox.LeaseUntilField, Value: next}}}}); err != nil {
		return fmt.Errorf("retry notice of removal request %s: %w", id, err)
	}
	return nil
}

// RemovalHistory returns the recorded changes of a removal request (its
// versions after the first), oldest first. Used by tests and operators.
func (s *Store) RemovalHistory(ctx context.Context, id string) ([]domain.RemovalRequest, error) {
	docs, err := mongox.FindAll[removalVersionDoc](ctx, s.removalVersions, bson.D{{Key: "removal_request_id", Value: id}},
		options.Find().SetSort(bson.D{{Key: "version", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("find history of removal request %s: %w", id, err)
	}
	out := make([]domain.RemovalRequest, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.State.toDomain())
	}
	return out, nil
}

func removalVersionID(id string, version int64) string { return fmt.Sprintf("%s#%d", id, version) }
