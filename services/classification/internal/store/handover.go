package store

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/classification/internal/domain"
)

// HandoverCollection holds removal hand-overs owed to the registry; its
// leases live in "removal_handovers_leases" (mongox.Claim).
const HandoverCollection = "removal_handovers"

// Handovers keeps removal hand-overs (domain.HandoverStore).
type Handovers struct {
	coll *mongo.Collection
}

var _ domain.HandoverStore = (*Handovers)(nil)

// NewHandovers returns the hand-over store over db.
func NewHandovers(db *mongo.Database) *Handovers {
	return &Handovers{coll: db.Collection(HandoverCollection)}
}

// handoverDoc is a hand-over as stored; _id is the deterministic hand-over id.
type handoverDoc struct {
	ID               string     `bson:"_id"`
	CustomerID       string     `bson:"customer_id"`
	Location         string     `bson:"location"`
	Types            []string   `bson:"types"`
	FindingCount     int64      `bson:"finding_count"`
	CreateTime       time.Time  `bson:"create_time"`
	Pending          bool       `bson:"pending"`
	NextAttemptAt    time.Time  `bson:"next_attempt_at"`
	Attempts         int        `bson:"attempts"`
	LastError        string     `bson:"last_error,omitempty"`
	RemovalRequestID string     `bson:"removal_request_id,omitempty"`
	DeliverTime      *time.Time `bson:"deliver_time,omitempty"`
	Abandoned        bool       `bson:"abandoned,omitempty"`
}

func (d handoverDoc) toDomain() domain.RemovalHandover {
	h := domain.RemovalHandover{
		ID:               d.ID,
		CustomerID:       d.CustomerID,
		Location:         d.Location,
		FindingCount:     d.FindingCount,
		CreateTime:       d.CreateTime.UTC(),
		RemovalRequestID: d.RemovalRequestID,
	}
	for _, t := range d.Types {
		h.Types = append(h.Types, domain.SensitiveType(t))
	}
	return h
}

// RecordHandover implements domain.HandoverStore: one insert, the
// deterministic _id makes a repeat a no-op.
func (s *Handovers) RecordHandover(ctx context.Context, h domain.RemovalHandover) (domain.RemovalHandover, bool, error) {
	doc := handoverDoc{
		ID:            h.ID,
		CustomerID:    h.CustomerID,
		Location:      h.Location,
		Types:         []string{},
		FindingCount:  h.FindingCount,
		CreateTime:    h.CreateTime,
		Pending:       true,
		NextAttemptAt: h.CreateTime,
	}
	for _, t := range h.Types {
		doc.Types = append(doc.Types, string(t))
	}
	if _, err := s.coll.InsertOne(ctx, doc); err == nil {
		return doc.toDomain(), true, nil
	} else if !mongox.IsDuplicateKey(err) {
		return domain.RemovalHandover{}, false, fmt.Errorf("insert removal hand-over: %w", err)
	}
	stored, err := s.Get(ctx, h.ID)
	return stored, false, err
}

// Get returns one hand-over.
func (s *Handovers) Get(ctx context.Context, id string) (domain.RemovalHandover, error) {
	var doc handoverDoc
	if err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
		return domain.RemovalHandover{}, mongox.NotFound(err, "removal hand-over "+id)
	}
	return doc.toDomain(), nil
}

// Count returns how many hand-overs are stored (for tests and operators).
func (s *Handovers) Count(ctx context.Context) (int64, error) {
	return s.coll.CountDocuments(ctx, bson.D{})
}

// ClaimPendingHandover implements domain.HandoverStore.
func (s *Handovers) ClaimPendingHandover(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (domain.PendingHandover, bool, error) {
	var doc handoverDoc
	ok, err := mongox.Claim(ctx, s.coll, bson.D{
		{Key: "pending", Value: true},
		{Key: "next_attempt_at", Value: bson.D{{Key: "$lte", Value: now}}},
	}, owner, now, leaseFor, &doc)
	if err != nil || !ok {
		return domain.PendingHandover{}, false, err
	}
	return domain.PendingHandover{Handover: doc.toDomain(), Attempts: doc.Attempts}, true, nil
}

// CompleteHandover implements domain.HandoverStore.
func (s *Handovers) CompleteHandover(ctx context.Context, id, owner, removalRequestID string, now time.Time) error {
	return s.release(ctx, id, owner, bson.D{
		{Key: "pending", Value: false},
		{Key: "removal_request_id", Value: removalRequestID},
		{Key: "deliver_time", Value: now},
	}, bson.D{{Key: "last_error", Value: ""}})
}

// RetryHandover implements domain.HandoverStore.
func (s *Handovers) RetryHandover(ctx context.Context, id, owner, lastError string, next time.Time) error {
	return s.release(ctx, id, owner, bson.D{{Key: "last_error", Value: lastError}, {Key: "next_attempt_at", Value: next}}, nil)
}

// AbandonHandover implements domain.HandoverStore.
func (s *Handovers) AbandonHandover(ctx context.Context, id, owner, reason string) error {
	return s.release(ctx, id, owner, bson.D{{Key: "pending", Value: false}, {Key: "abandoned", Value: true}, {Key: "last_error", Value: reason}}, nil)
}

func (s *Handovers) release(ctx context.Context, id, owner string, set, unset bson.D) error {
	unset = append(unset, bson.E{Key: mongox.LeaseUntilField, Value: ""}, bson.E{Key: mongox.LeaseOwnerField, Value: ""})
	res, err := s.coll.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: mongox.LeaseOwnerField, Value: owner}},
		bson.D{{Key: "$set", Value: set}, {Key: "$unset", Value: unset}})
	if err != nil {
		return fmt.Errorf("update removal hand-over %s: %w", id, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("removal hand-over %s: %w: %w", id, errLeaseLost, apperr.ErrConflict)
	}
	return nil
}

// handoverIndexes: the relay's due queue.
func handoverIndexes() []mongo.IndexModel {
	return []mongo.IndexModel{
		{Keys: bson.D{{Key: "pending", Value: 1}, {Key: "next_attempt_at", Value: 1}}, Options: options.Index().SetName("handovers_due")},
	}
}
