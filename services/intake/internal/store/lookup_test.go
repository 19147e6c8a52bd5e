package store_test

import (
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/store"
)

// The lookups below are by _id on the hot paths; these tests check that
// their hints (head_seq, the request index, correlation heads) are only
// hints: a lagging or lost hint still gives the right answer.

func newStoreDB(t *testing.T) (*store.Store, *mongo.Database) {
	t.Helper()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	return store.New(db), db
}

func entry(incidentID string, seq int64, requestID string) domain.TimelineEntry {
	return domain.TimelineEntry{
		IncidentID: incidentID, Seq: seq, Time: t0, Action: "note.added", Summary: "note",
		Actor: domain.Actor{Kind: domain.ActorKindPerson, Subject: "ana"}, RequestID: requestID,
		PrevHash: domain.GenesisHash, Hash: domain.GenesisHash,
	}
}

func TestTimelineLookups(t *testing.T) {
	t.Parallel()

	t.Run("method=HeadEntry/case=probes_past_lagging_head_seq", func(t *testing.T) {
		t.Parallel()
		st, db := newStoreDB(t)
		inc := incident(t0)
		if _, err := st.EnsureIncident(t.Context(), inc); err != nil {
			t.Fatal(err)
		}
		for seq := int64(1); seq <= 5; seq++ {
			if err := st.InsertEntry(t.Context(), entry(inc.ID, seq, "r"+string(rune('0'+seq)))); err != nil {
				t.Fatalf("InsertEntry %d: %v", seq, err)
			}
		}
		// As if the head_seq updates after seq 1 were lost in a crash.
		if _, err := db.Collection(store.IncidentsCollection).UpdateOne(t.Context(),
			bson.D{{Key: "_id", Value: inc.ID}}, bson.D{{Key: "$set", Value: bson.D{{Key: "head_seq", Value: 1}}}}); err != nil {
			t.Fatal(err)
		}
		head, ok, err := st.HeadEntry(t.Context(), inc.ID)
		if err != nil || !ok || head.Seq != 5 {
			t.Fatalf("HeadEntry = seq %d, %v, %v; want seq 5", head.Seq, ok, err)
		}
	})

	t.Run("method=HeadEntry/case=incident_document_missing", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		inc := incident(t0)
		for seq := int64(1); seq <= 2; seq++ {
			if err := st.InsertEntry(t.Context(), entry(inc.ID, seq, "r"+string(rune('0'+seq)))); err != nil {
				t.Fatal(err)
			}
		}
		head, ok, err := st.HeadEntry(t.Context(), inc.ID)
		if err != nil || !ok || head.Seq != 2 {
			t.Fatalf("HeadEntry = seq %d, %v, %v; want seq 2", head.Seq, ok, err)
		}
		if _, ok, err := st.HeadEntry(t.Context(), "inc_000000000000000000000000"); err != nil || ok {
			t.Fatalf("HeadEntry(unknown) = %v, %v; want none", ok, err)
		}
	})

	t.Run("method=InsertEntry/case=replay_after_request_index_lost", func(t *testing.T) {
		t.Parallel()
		st, db := newStoreDB(t)
		inc := incident(t0)
		if err := st.InsertEntry(t.Context(), entry(inc.ID, 1, "req-1")); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Collection(store.RequestsCollection).DeleteMany(t.Context(), bson.D{}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.EntryByRequestID(t.Context(), inc.ID, "req-1"); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("EntryByRequestID without index = %v; want not found", err)
		}
		// The replay at the next seq is refused by the unique request
		// index, recognised as a replay, and re-indexed.
		if err := st.InsertEntry(t.Context(), entry(inc.ID, 2, "req-1")); !errors.Is(err, apperr.ErrAlreadyExists) {
			t.Fatalf("InsertEntry(replay) = %v; want already exists", err)
		}
		got, err := st.EntryByRequestID(t.Context(), inc.ID, "req-1")
		if err != nil || got.Seq != 1 {
			t.Fatalf("EntryByRequestID after replay = seq %d, %v; want seq 1", got.Seq, err)
		}
		// A different request for a taken seq is a conflict.
		if err := st.InsertEntry(t.Context(), entry(inc.ID, 1, "req-2")); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("InsertEntry(taken seq) = %v; want conflict", err)
		}
	})

	t.Run("method=CorrelatedIncidents/case=head_moves_and_closed_is_no_candidate", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		first := incident(t0)
		first.CorrelationKey = "asset=hr-db-01"
		if _, err := st.EnsureIncident(t.Context(), first); err != nil {
			t.Fatal(err)
		}
		got, err := st.CorrelatedIncidents(t.Context(), first.CorrelationKey, 5)
		if err != nil || len(got) != 1 || got[0].ID != first.ID {
			t.Fatalf("CorrelatedIncidents = %v, %v; want %s", got, err, first.ID)
		}
		second := incident(t0.Add(time.Minute))
		second.CorrelationKey = first.CorrelationKey
		if _, err := st.EnsureIncident(t.Context(), second); err != nil {
			t.Fatal(err)
		}
		// A retry of the older incident must not take the head back.
		if _, err := st.EnsureIncident(t.Context(), first); err != nil {
			t.Fatal(err)
		}
		got, err = st.CorrelatedIncidents(t.Context(), first.CorrelationKey, 5)
		if err != nil || len(got) != 1 || got[0].ID != second.ID {
			t.Fatalf("CorrelatedIncidents after a newer incident = %v, %v; want %s", got, err, second.ID)
		}
		closed := second
		closed.State = domain.IncidentStateClosed
		closed.Version = second.Version + 1
		if _, err := st.ApplySnapshot(t.Context(), closed, false); err != nil {
			t.Fatal(err)
		}
		if got, err := st.CorrelatedIncidents(t.Context(), first.CorrelationKey, 5); err != nil || len(got) != 0 {
			t.Fatalf("CorrelatedIncidents of a closed head = %v, %v; want none", got, err)
		}
	})
}
