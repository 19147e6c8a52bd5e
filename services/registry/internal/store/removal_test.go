package store

import (
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

func removalRequest(customerID string) domain.RemovalRequest {
	return domain.RemovalRequest{
		ID:                    ids.New("rmr"),
		CustomerID:            customerID,
		FoundTypes:            []domain.SensitiveType{domain.SensitiveSSN},
		Location:              "crm / contacts / notes",
		FindingCount:          2,
		Source:                "scan:x",
		Status:                domain.RemovalOpen,
		OpenTime:              t0,
		Deadline:              t0.Add(time.Hour),
		NotifyCustomerPending: true,
		NotificationEmail:     "dpo@acme.example",
		UpdateTime:            t0,
		Version:               1,
	}
}

func TestRemovalRequests(t *testing.T) {
	t.Parallel()

	t.Run("method=Create/case=roundtrip_and_replay", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		r := removalRequest("acme")
		got, err := s.CreateRemovalRequest(t.Context(), r, idem("k1", "fp"))
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, got, r)
		retry := removalRequest("acme")
		again, err := s.CreateRemovalRequest(t.Context(), retry, idem("k1", "fp"))
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, again, r)
		if _, err := s.CreateRemovalRequest(t.Context(), removalRequest("acme"), idem("k1", "other")); !isInvalid(err) {
			t.Fatalf("reused key: %v", err)
		}
	})

	t.Run("method=Update/case=fenced", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		r := removalRequest("acme")
		if _, err := s.CreateRemovalRequest(t.Context(), r, idem("", "")); err != nil {
			t.Fatal(err)
		}
		next := r
		next.Status, next.FlagTime, next.Version = domain.RemovalFlagged, t0.Add(2*time.Hour), 2
		got, err := s.UpdateRemovalRequest(t.Context(), next, 1)
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, got, next)
		loser := r
		loser.Status, loser.Version = domain.RemovalRemovedByCustomer, 2
		if _, err := s.UpdateRemovalRequest(t.Context(), loser, 1); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("second writer of version 2: %v", err)
		}
		read, err := s.GetRemovalRequest(t.Context(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, read, next)
	})

	t.Run("method=Update/case=finishes_a_dead_writers_change", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		r := removalRequest("acme")
		if _, err := s.CreateRemovalRequest(t.Context(), r, idem("", "")); err != nil {
			t.Fatal(err)
		}
		// A writer fenced version 2 and died before updating the request.
		dead := r
		dead.Status, dead.FlagTime, dead.Version = domain.RemovalFlagged, t0.Add(2*time.Hour), 2
		fence := removalVersionDoc{ID: removalVersionID(r.ID, 2), RequestID: r.ID, Version: 2, State: removalToDoc(dead)}
		if _, err := s.removalVersions.InsertOne(t.Context(), fence); err != nil {
			t.Fatal(err)
		}
		other := r
		other.Status, other.Version = domain.RemovalRemovedByCustomer, 2
		if _, err := s.UpdateRemovalRequest(t.Context(), other, 1); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("update over a taken fence: %v", err)
		}
		read, err := s.GetRemovalRequest(t.Context(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, read, dead)
	})

	t.Run("method=NextOverdue/case=open_past_deadline_only", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		r := removalRequest("acme")
		if _, err := s.CreateRemovalRequest(t.Context(), r, idem("", "")); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.NextOverdueRemovalRequest(t.Context(), t0); err != nil || ok {
			t.Fatalf("before deadline: %v %v", ok, err)
		}
		got, ok, err := s.NextOverdueRemovalRequest(t.Context(), t0.Add(time.Hour))
		if err != nil || !ok || got.ID != r.ID {
			t.Fatalf("at deadline: %v %v %v", got, ok, err)
		}
		if _, err := s.removals.UpdateOne(t.Context(), bson.D{{Key: "_id", Value: r.ID}}, bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: "flagged_for_removal"}}}}); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.NextOverdueRemovalRequest(t.Context(), t0.Add(time.Hour)); err != nil || ok {
			t.Fatalf("flagged: %v %v", ok, err)
		}
	})
}

func isInvalid(err error) bool {
	_, ok := apperr.AsInvalid(err)
	return ok
}
