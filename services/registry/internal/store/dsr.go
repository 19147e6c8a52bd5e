package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// dsrDoc is a data subject request as stored; _id is the "dsr_..." id.
type dsrDoc struct {
	ID          string         `bson:"_id"`
	CustomerID  string         `bson:"customer_id"`
	Type        string         `bson:"type"`
	Subject     dataSubjectDoc `bson:"subject"`
	Details     string         `bson:"details"`
	ReceiveTime time.Time      `bson:"receive_time"`
	DueTime     time.Time      `bson:"due_time"`
	Status      string         `bson:"status"`
	CreateTime  time.Time      `bson:"create_time"`
	RequestKey  string         `bson:"request_key"`
	Fingerprint string         `bson:"fingerprint"`
}

// dataSubjectDoc is the requester's identity, personal data kept only to
// handle the request.
type dataSubjectDoc struct {
	Name       string `bson:"name"`
	Email      string `bson:"email,omitempty"`
	AccountRef string `bson:"account_ref,omitempty"`
}

func (d dsrDoc) toDomain() domain.DataSubjectRequest {
	return domain.DataSubjectRequest{
		ID:         d.ID,
		CustomerID: d.CustomerID,
		Type:       domain.DSRType(d.Type),
		Subject: domain.DataSubject{
			Name:       d.Subject.Name,
			Email:      d.Subject.Email,
			AccountRef: d.Subject.AccountRef,
		},
		Details:     d.Details,
		ReceiveTime: utc(d.ReceiveTime),
		DueTime:     utc(d.DueTime),
		Status:      domain.DSRStatus(d.Status),
		CreateTime:  utc(d.CreateTime),
	}
}

// CreateDataSubjectRequest implements domain.DataSubjectRequestStore. The id
// is new on every attempt, so only the request key can make a retry collide.
func (s *Store) CreateDataSubjectRequest(ctx context.Context, d domain.DataSubjectRequest, idem domain.Idempotency) (domain.DataSubjectRequest, error) {
	doc := dsrDoc{
		ID:         d.ID,
		CustomerID: d.CustomerID,
		Type:       string(d.Type),
		Subject: dataSubjectDoc{
			Name:       d.Subject.Name,
			Email:      d.Subject.Email,
			AccountRef: d.Subject.AccountRef,
		},
		Details:     d.Details,
		ReceiveTime: d.ReceiveTime,
		DueTime:     d.DueTime,
		Status:      string(d.Status),
		CreateTime:  d.CreateTime,
		RequestKey:  requestKey(idem, d.ID),
		Fingerprint: idem.Fingerprint,
	}
	var prev dsrDoc
	replayed, err := insertOnce(ctx, s.dsrs, doc, d.ID, idem, &prev)
	switch {
	case err != nil:
		return domain.DataSubjectRequest{}, err
	case replayed:
		return prev.toDomain(), nil
	}
	return doc.toDomain(), nil
}

// GetDataSubjectRequest implements domain.DataSubjectRequestStore.
func (s *Store) GetDataSubjectRequest(ctx context.Context, id string) (domain.DataSubjectRequest, error) {
	var doc dsrDoc
	if err := s.dsrs.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
		return domain.DataSubjectRequest{}, mongox.NotFound(err, "data subject request "+id)
	}
	return doc.toDomain(), nil
}
