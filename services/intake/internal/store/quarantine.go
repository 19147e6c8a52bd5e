package store

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/intake/internal/domain"
)

// QuarantineCollection holds the SIEM payloads intake rejected. The payload
// is kept as BSON binary, byte for byte as given (it need not be JSON).
const QuarantineCollection = "quarantine"

type violationDoc struct {
	Field       string `bson:"field"`
	Description string `bson:"description"`
}

type quarantineDoc struct {
	ID         string         `bson:"_id"`
	ReceivedAt time.Time      `bson:"received_at"`
	Source     string         `bson:"source"`
	Format     int32          `bson:"format"`
	Payload    []byte         `bson:"payload"`
	Size       int64          `bson:"payload_size"`
	Truncated  bool           `bson:"payload_truncated"`
	Violations []violationDoc `bson:"violations"`
	RequestID  string         `bson:"request_id"`
}

type quarantinePageToken struct {
	After string `json:"a"`
}

// InsertQuarantined implements domain.Store.
func (s *Store) InsertQuarantined(ctx context.Context, q domain.QuarantinedPayload) error {
	doc := quarantineDoc{
		ID: q.ID, ReceivedAt: q.ReceivedAt, Source: q.Source, Format: int32(q.Format),
		Payload: q.Payload, Size: q.Size, Truncated: q.Truncated, RequestID: q.RequestID,
		Violations: make([]violationDoc, 0, len(q.Violations)),
	}
	if doc.Payload == nil {
		doc.Payload = []byte{}
	}
	for _, v := range q.Violations {
		doc.Violations = append(doc.Violations, violationDoc{Field: v.Field, Description: v.Description})
	}
	if _, err := s.quarantine.InsertOne(ctx, doc); err != nil {
		return fmt.Errorf("insert quarantined payload: %w", err)
	}
	return nil
}

// GetQuarantined implements domain.Store.
func (s *Store) GetQuarantined(ctx context.Context, id string) (domain.QuarantinedPayload, error) {
	var doc quarantineDoc
	if err := s.quarantine.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
		return domain.QuarantinedPayload{}, mongox.NotFound(err, "quarantined payload "+id)
	}
	return fromQuarantineDoc(doc), nil
}

// ListQuarantined implements domain.Store: sorted by _id (time-ordered
// ids), newest first, continuing below the last id of the previous page.
func (s *Store) ListQuarantined(ctx context.Context, p domain.PageRequest) (domain.QuarantinePage, error) {
	filter := bson.D{}
	if p.Token != "" {
		var tok quarantinePageToken
		if err := mongox.DecodePageToken(p.Token, &tok); err != nil {
			return domain.QuarantinePage{}, err
		}
		if tok.After == "" {
			return domain.QuarantinePage{}, apperr.Invalid("page_token", "is not a quarantine page token; start again without a token")
		}
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: tok.After}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(p.Size) + 1)
	docs, err := mongox.FindAll[quarantineDoc](ctx, s.quarantine, filter, opts)
	if err != nil {
		return domain.QuarantinePage{}, fmt.Errorf("list quarantined payloads: %w", err)
	}
	var page domain.QuarantinePage
	if len(docs) > p.Size {
		docs = docs[:p.Size]
		next, err := mongox.EncodePageToken(quarantinePageToken{After: docs[len(docs)-1].ID})
		if err != nil {
			return domain.QuarantinePage{}, err
		}
		page.NextPageToken = next
	}
	page.Payloads = make([]domain.QuarantinedPayload, 0, len(docs))
	for _, d := range docs {
		page.Payloads = append(page.Payloads, fromQuarantineDoc(d))
	}
	return page, nil
}

func fromQuarantineDoc(d quarantineDoc) domain.QuarantinedPayload {
	q := domain.QuarantinedPayload{
		ID: d.ID, ReceivedAt: d.ReceivedAt.UTC(), Source: d.Source, Format: domain.SiemFormat(d.Format),
		Payload: d.Payload, Size: d.Size, Truncated: d.Truncated, RequestID: d.RequestID,
	}
	for _, v := range d.Violations {
		q.Violations = append(q.Violations, apperr.FieldViolation{Field: v.Field, Description: v.Description})
	}
	return q
}
