package store

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// noticesColl holds operational notices; _id is the "ntc_..." id and the
// unique request_id index is the idempotency fence.
const noticesColl = "notices"

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
		return d.toDomain(), nil
	}
	var prev noticeDoc
	if err := s.notices().FindOne(ctx, bson.D{{Key: "request_id", Value: n.RequestID}}).Decode(&prev); err != nil {
		return domain.Notice{}, fmt.Errorf("read notice of request: %w", err)
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

// ClaimNotice implements domain.NoticeStore with mongox.Claim; a retried
// notice waits out its backoff as its lease.
func (s *Store) ClaimNotice(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (domain.Notice, bool, error) {
	var d noticeDoc
	ok, err := mongox.Claim(ctx, s.notices(), bson.D{{Key: "pending", Value: true}}, owner, now, leaseFor, &d,
		mongox.OrderBy(bson.D{{Key: "create_time", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil || !ok {
		return domain.Notice{}, false, err
	}
	return d.toDomain(), true, nil
}

// FinishNotice implements domain.NoticeStore.
func (s *Store) FinishNotice(ctx context.Context, id, owner string, status domain.NoticeStatus, at time.Time, lastErr string) error {
	set := bson.D{{Key: "status", Value: string(status)}, {Key: "pending", Value: false}, {Key: "last_error", Value: lastErr}}
	if status == domain.NoticeSent {
		set = append(set, bson.E{Key: "send_time", Value: at})
	}
	if _, err := s.notices().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: mongox.LeaseOwnerField, Value: owner}},
		bson.D{{Key: "$set", Value: set}}); err != nil {
		return fmt.Errorf("finish notice: %w", err)
	}
	return nil
}

// RetryNotice implements domain.NoticeStore.
func (s *Store) RetryNotice(ctx context.Context, id, owner string, next time.Time, lastErr string) error {
	if _, err := s.notices().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: mongox.LeaseOwnerField, Value: owner}},
		bson.D{{Key: "$set", Value: bson.D{{Key: mongox.LeaseUntilField, Value: next}, {Key: "last_error", Value: lastErr}}}}); err != nil {
		return fmt.Errorf("retry notice: %w", err)
	}
	return nil
}
