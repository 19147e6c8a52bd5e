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
	"github.com/breachline/breachline/pkg/migrate"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// noticesColl holds operational notices; _id is the "ntc_..." id and the
// unique request_id index is the idempotency fence.
const noticesColl = "notices"

// NoticeQueue is the notice worker's work queue (mongox.Queue): one job per
// PENDING notice, _id = notice id, deleted once the notice is SENT or
// FAILED. The worker claims from it, never from the growing notices
// collection, and the queue's fences make exactly one replica the holder
// of a notice on MongoDB and on the embedded store alike.
const NoticeQueue = "notice_queue"

var _ domain.NoticeStore = (*Store)(nil)

type noticeDoc struct {
	ID          string     `bson:"_id"`
	RequestID   string     `bson:"request_id"`
	Fingerprint string     `bson:"fingerprint"`
	Kind        string     `bson:"kind"`
	To          string     `bson:"to"`
	Subject     string     `bson:"subject"`
	Body        string     `bson:"body"`
	IncidentID  string     `bson:"incident_id,omitempty"`
	CustomerID  string     `bson:"customer_id,omitempty"`
	Status      string     `bson:"status"`
	Pending     bool       `bson:"pending"`
	CreateTime  time.Time  `bson:"create_time"`
	SendTime    *time.Time `bson:"send_time,omitempty"`
	Attempts    int        `bson:"attempts"`
	LastError   string     `bson:"last_error,omitempty"`
}

func (d noticeDoc) toDomain() domain.Notice {
	n := domain.Notice{
		ID: d.ID, RequestID: d.RequestID, Fingerprint: d.Fingerprint, Kind: d.Kind, To: d.To,
		Subject: d.Subject, Body: d.Body, IncidentID: d.IncidentID, CustomerID: d.CustomerID,
		Status: domain.NoticeStatus(d.Status), CreateTime: d.CreateTime.UTC(), Attempts: d.Attempts, LastError: d.LastError,
	}
	if d.SendTime != nil {
		n.SendTime = d.SendTime.UTC()
	}
	return n
}

func noticeIndexes() []mongo.IndexModel {
	return []mongo.IndexModel{
		{Keys: bson.D{{Key: "request_id", Value: 1}}, Options: options.Index().SetUnique(true).SetName("request_id_unique")},
		{Keys: bson.D{{Key: "pending", Value: 1}, {Key: "create_time", Value: 1}}, Options: options.Index().SetName("pending_create_time")},
	}
}

func (s *Store) notices() *mongo.Collection { return s.campaigns.Database().Collection(noticesColl) }

func (s *Store) noticeQueue() *mongox.Queue {
	return mongox.NewQueue(s.campaigns.Database(), NoticeQueue)
}

func noticeQueueIndexes() []mongo.IndexModel {
	return []mongo.IndexModel{{Keys: bson.D{{Key: "due_at", Value: 1}}, Options: options.Index().SetName("due")}}
}

// CreateNotice implements domain.NoticeStore: the insert either wins the
// unique request_id or finds the notice that did.
func (s *Store) CreateNotice(ctx context.Context, n domain.Notice) (domain.Notice, error) {
	d := noticeDoc{
		ID: n.ID, RequestID: n.RequestID, Fingerprint: n.Fingerprint, Kind: n.Kind, To: n.To,
		Subject: n.Subject, Body: n.Body, IncidentID: n.IncidentID, CustomerID: n.CustomerID,
		Status: string(domain.NoticePending), Pending: true, CreateTime: n.CreateTime,
	}
	won, err := insertFence(ctx, s.notices(), d)
	if err != nil {
		return domain.Notice{}, err
	}
	if won {
		// The notice first, its job second: a crash in between leaves a
		// pending notice that the caller's retry queues (below).
		if err := s.noticeQueue().Enqueue(ctx, d.ID, d.CreateTime); err != nil {
			return domain.Notice{}, err
		}
		return d.toDomain(), nil
	}
	var prev noticeDoc
	if err := s.notices().FindOne(ctx, bson.D{{Key: "request_id", Value: n.RequestID}}).Decode(&prev); err != nil {
		return domain.Notice{}, fmt.Errorf("read notice of request: %w", err)
	}
	if prev.Pending {
		if err := s.noticeQueue().Enqueue(ctx, prev.ID, prev.CreateTime); err != nil {
			return domain.Notice{}, err
		}
	}
	return prev.toDomain(), nil
}

// GetNotice implements domain.NoticeStore.
func (s *Store) GetNotice(ctx context.Context, id string) (domain.Notice, error) {
	var d noticeDoc
	if err := s.notices().FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return domain.Notice{}, mongox.NotFound(err, "notice "+id)
	}
	return d.toDomain(), nil
}

// ClaimNotice implements domain.NoticeStore with the NoticeQueue; a
// retried notice waits out its backoff as the job's due time. A job whose
// notice is no longer pending (its holder finished it and died before
// removing the job) is removed here.
func (s *Store) ClaimNotice(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (domain.Notice, bool, error) {
	q := s.noticeQueue()
	for range 4 {
		job, ok, err := q.Claim(ctx, owner, now, leaseFor)
		if err != nil || !ok {
			return domain.Notice{}, false, err
		}
		var d noticeDoc
		err = s.notices().FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: job.Key}},
			bson.D{{Key: "$set", Value: bson.D{{Key: mongox.AttemptsField, Value: job.Attempt}}}},
			options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return domain.Notice{}, false, fmt.Errorf("read claimed notice %s: %w", job.Key, err)
		}
		if err == nil && d.Pending {
			return d.toDomain(), true, nil
		}
		if err := q.Done(ctx, job); err != nil && !errors.Is(err, mongox.ErrLeaseLost) {
			return domain.Notice{}, false, err
		}
	}
	return domain.Notice{}, false, nil
}

// FinishNotice implements domain.NoticeStore: the notice is recorded first
// and its job removed second, so a crash in between leaves a job that the
// next claim drops (the notice is no longer pending), never a pending
// notice without a job.
func (s *Store) FinishNotice(ctx context.Context, id, owner string, status domain.NoticeStatus, at time.Time, lastErr string) error {
	set := bson.D{{Key: "status", Value: string(status)}, {Key: "pending", Value: false}, {Key: "last_error", Value: lastErr}}
	if status == domain.NoticeSent {
		set = append(set, bson.E{Key: "send_time", Value: at})
	}
	if _, err := s.notices().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "pending", Value: true}},
		bson.D{{Key: "$set", Value: set}}); err != nil {
		return fmt.Errorf("finish notice: %w", err)
	}
	if err := s.noticeQueue().Done(ctx, mongox.Job{Key: id, Owner: owner}); err != nil && !errors.Is(err, mongox.ErrLeaseLost) {
		return fmt.Errorf("finish notice: %w", err)
	}
	return nil
}

// RetryNotice implements domain.NoticeStore: the job becomes due at next.
func (s *Store) RetryNotice(ctx context.Context, id, owner string, next time.Time, lastErr string) error {
	if _, err := s.notices().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "last_error", Value: lastErr}}}}); err != nil {
		return fmt.Errorf("retry notice: %w", err)
	}
	if err := s.noticeQueue().Retry(ctx, mongox.Job{Key: id, Owner: owner}, next, lastErr); err != nil {
		if errors.Is(err, mongox.ErrLeaseLost) {
			return fmt.Errorf("retry notice %s: %w", id, apperr.ErrConflict)
		}
		return fmt.Errorf("retry notice: %w", err)
	}
	return nil
}

// NoticeQueueMigration queues the notices that were PENDING before the
// notice worker claimed from NoticeQueue (a database from an earlier
// release). Enqueue is idempotent, so a repeat (a replica taking over from
// a dead runner) is safe.
func NoticeQueueMigration() migrate.Migration {
	return migrate.Migration{
		ID:          "0002_notice_queue",
		Description: "queue the pending operational notices in " + NoticeQueue,
		Up: func(ctx context.Context, db *mongo.Database) error {
			docs, err := mongox.FindAll[noticeDoc](ctx, db.Collection(noticesColl), bson.D{{Key: "pending", Value: true}}, nil)
			if err != nil {
				return fmt.Errorf("find pending notices: %w", err)
			}
			q := mongox.NewQueue(db, NoticeQueue)
			for _, d := range docs {
				if err := q.Enqueue(ctx, d.ID, d.CreateTime); err != nil {
					return err
				}
			}
			return nil
		},
	}
}
