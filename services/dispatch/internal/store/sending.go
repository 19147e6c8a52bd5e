package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/migrate"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// SendingColl is the work set of the outbox: one small document per
// campaign that is (or may be) SENDING, _id = campaign id. Every outbox
// worker of every replica lists the sending campaigns several times a
// second; on the embedded store a query by state reads and decodes every
// campaign ever drafted, so it lists this set instead (only the campaigns
// being sent, however many are stored) and reads each campaign by _id.
//
// An entry is added (with a fresh generation) before a campaign becomes
// SENDING and removed after it leaves SENDING, and only the generation read
// before the change is removed, so a crash or a concurrent Send never
// leaves a sending campaign without an entry. The set may hold a stale
// entry (a crash between the two writes, or a Send refused by its
// precondition); readers check each campaign's state and skip it.
const SendingColl = "sending_campaigns"

type sendingDoc struct {
	ID  string `bson:"_id"`
	Gen string `bson:"gen,omitempty"`
}

// SetState implements domain.Store: a conditional update of the campaign's
// state, with the outbox's work set (SendingColl) kept in step.
func (s *Store) SetState(ctx context.Context, id string, from []domain.State, to domain.State, sentVersion int64) error {
	if to == domain.StateSending {
		if err := s.addSending(ctx, id); err != nil {
			return err
		}
		return s.setState(ctx, id, from, to, sentVersion)
	}
	if !slices.Contains(from, domain.StateSending) {
		return s.setState(ctx, id, from, to, sentVersion)
	}
	var seen sendingDoc
	err := s.sending.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&seen)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("read the sending set: %w", err)
	}
	if err := s.setState(ctx, id, from, to, sentVersion); err != nil {
		return err
	}
	if seen.ID == "" {
		return nil
	}
	// Only the entry seen before the change: a Send since then wrote a
	// new generation, which stays.
	if _, err := s.sending.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "gen", Value: seen.Gen}}); err != nil {
		return fmt.Errorf("drop campaign %s from the sending set: %w", id, err)
	}
	return nil
}

func (s *Store) addSending(ctx context.Context, id string) error {
	_, err := s.sending.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "gen", Value: bson.NewObjectID().Hex()}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil && !mongox.IsDuplicateKey(err) {
		return fmt.Errorf("add campaign %s to the sending set: %w", id, err)
	}
	return nil
}

// ListByState implements domain.Store. SENDING campaigns come from the work
// set (SendingColl), each read by _id; other states are read by state.
func (s *Store) ListByState(ctx context.Context, st domain.State) ([]domain.Campaign, error) {
	if st != domain.StateSending {
		return s.find(ctx, bson.D{{Key: "state", Value: st.String()}}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	}
	ids, err := mongox.FindAll[sendingDoc](ctx, s.sending, bson.D{}, nil)
	if err != nil {
		return nil, fmt.Errorf("list the sending set: %w", err)
	}
	slices.SortFunc(ids, func(a, b sendingDoc) int { return strings.Compare(a.ID, b.ID) })
	out := make([]domain.Campaign, 0, len(ids))
	for _, d := range ids {
		c, err := s.Get(ctx, d.ID)
		switch {
		case errors.Is(err, apperr.ErrNotFound):
		case err != nil:
			return nil, err
		case c.State == domain.StateSending:
			out = append(out, c)
		}
	}
	return out, nil
}

// SendingSetMigration adds the campaigns that were SENDING before the
// outbox listed its work set to that set. It is idempotent (an upsert per
// campaign), so a replica that takes over from a dead runner repeats it
// safely.
func SendingSetMigration() migrate.Migration {
	return migrate.Migration{
		ID:          "0001_sending_campaigns_set",
		Description: "add the SENDING campaigns to the outbox work set " + SendingColl,
		Up: func(ctx context.Context, db *mongo.Database) error {
			docs, err := mongox.FindAll[sendingDoc](ctx, db.Collection(campaignsColl),
				bson.D{{Key: "state", Value: domain.StateSending.String()}}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
			if err != nil {
				return fmt.Errorf("find sending campaigns: %w", err)
			}
			st := New(db)
			for _, d := range docs {
				if err := st.addSending(ctx, d.ID); err != nil {
					return err
				}
			}
			return nil
		},
	}
}
