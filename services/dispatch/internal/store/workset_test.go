package store_test

import (
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/breachline/breachline/pkg/migrate"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
	"github.com/breachline/breachline/services/dispatch/internal/store"
)

func sendingIDs(t *testing.T, s *store.Store) []string {
	t.Helper()
	cs, err := s.ListByState(t.Context(), domain.StateSending)
	if err != nil {
		t.Fatalf("ListByState: %v", err)
	}
	return campaignIDs(cs)
}

func TestSendingSet(t *testing.T) {
	t.Parallel()
	t.Run("method=ListByState/case=state_changes", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		cs, _, err := s.CreateDrafts(t.Context(), drafts("inc_1", "asm_1", "a", "b", "c"))
		if err != nil {
			t.Fatal(err)
		}
		a, b, c := cs[0].ID, cs[1].ID, cs[2].ID
		steps := []struct {
			id       string
			from     []domain.State
			to       domain.State
			want     []string
			rejected bool
		}{
			{id: a, from: []domain.State{domain.StateDraft}, to: domain.StateSending, want: []string{a}},
			{id: b, from: []domain.State{domain.StateDraft}, to: domain.StateSending, want: []string{a, b}},
			{id: a, from: []domain.State{domain.StateSending, domain.StatePaused}, to: domain.StatePaused, want: []string{b}},
			// A refused Send (c is a draft, not paused) lists nothing.
			{id: c, from: []domain.State{domain.StatePaused}, to: domain.StateSending, want: []string{b}, rejected: true},
			{id: a, from: []domain.State{domain.StatePaused, domain.StateSending}, to: domain.StateSending, want: []string{a, b}},
			{id: b, from: []domain.State{domain.StateSending}, to: domain.StateCompleted, want: []string{a}},
			{id: a, from: []domain.State{domain.StateSending}, to: domain.StateCompleted},
		}
		for i, st := range steps {
			err := s.SetState(t.Context(), st.id, st.from, st.to, 1)
			if (err != nil) != st.rejected {
				t.Fatalf("step %d: SetState error = %v, rejected %v", i, err, st.rejected)
			}
			want := slices.Clone(st.want)
			slices.Sort(want)
			if got := sendingIDs(t, s); !slices.Equal(got, want) {
				t.Fatalf("step %d: sending %v, want %v", i, got, want)
			}
		}
	})
	t.Run("method=SendingSetMigration/case=sending_before_the_set", func(t *testing.T) {
		t.Parallel()
		db := mongotest.DB(t)
		if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
			t.Fatal(err)
		}
		s := store.New(db)
		cs, _, err := s.CreateDrafts(t.Context(), drafts("inc_1", "asm_1", "a", "b"))
		if err != nil {
			t.Fatal(err)
		}
		// What an earlier release left: a SENDING campaign, no set entry.
		if _, err := db.Collection("campaigns").UpdateOne(t.Context(), bson.D{{Key: "_id", Value: cs[0].ID}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: domain.StateSending.String()}}}}); err != nil {
			t.Fatal(err)
		}
		if got := sendingIDs(t, s); len(got) != 0 {
			t.Fatalf("before the migration: sending %v, want none", got)
		}
		// Replicas starting at once: every one runs the migrations, one
		// applies it.
		errs := make(chan error, 3)
		for range 3 {
			go func() {
				errs <- migrate.Run(t.Context(), db, []migrate.Migration{store.SendingSetMigration()}, migrate.Options{Owner: "replica"})
			}()
		}
		for range 3 {
			if err := <-errs; err != nil {
				t.Fatalf("migrate.Run: %v", err)
			}
		}
		if got := sendingIDs(t, s); !slices.Equal(got, []string{cs[0].ID}) {
			t.Fatalf("after the migration: sending %v, want [%s]", got, cs[0].ID)
		}
		recs, err := migrate.Applied(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || recs[0].ID != store.SendingSetMigration().ID || recs[0].State != migrate.StateDone {
			t.Fatalf("migration records %+v, want one done record of %s", recs, store.SendingSetMigration().ID)
		}
		// Running it again (a replica that took over) changes nothing.
		if err := store.SendingSetMigration().Up(t.Context(), db); err != nil {
			t.Fatal(err)
		}
		if got := sendingIDs(t, s); !slices.Equal(got, []string{cs[0].ID}) {
			t.Fatalf("after a repeat: sending %v, want [%s]", got, cs[0].ID)
		}
	})
}

func TestNoticeQueue(t *testing.T) {
	t.Parallel()
	notice := func(id string) domain.Notice {
		return domain.Notice{ID: id, RequestID: "req-" + id, Kind: "test", To: id + "@example.org", Subject: "s", Body: "b",
			Status: domain.NoticePending, CreateTime: created}
	}
	t.Run("method=ClaimNotice/case=one_holder_then_done", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.CreateNotice(t.Context(), notice("ntc_1")); err != nil {
			t.Fatal(err)
		}
		// A retried request finds the notice and queues nothing twice.
		if _, err := s.CreateNotice(t.Context(), notice("ntc_other")); err != nil {
			t.Fatal(err)
		}
		now := created.Add(time.Second)
		a, ok, err := s.ClaimNotice(t.Context(), "a", now, time.Minute)
		if err != nil || !ok || a.ID != "ntc_1" || a.Attempts != 1 {
			t.Fatalf("first claim = %+v, %v, %v", a, ok, err)
		}
		b, ok, err := s.ClaimNotice(t.Context(), "b", now, time.Minute)
		if err != nil || !ok || b.ID != "ntc_other" {
			t.Fatalf("second claim = %+v, %v, %v; want the other notice", b, ok, err)
		}
		if _, ok, err := s.ClaimNotice(t.Context(), "c", now, time.Minute); err != nil || ok {
			t.Fatalf("third claim: ok %v, err %v; want nothing due while both are held", ok, err)
		}
		if err := s.FinishNotice(t.Context(), "ntc_1", "a", domain.NoticeSent, now, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.RetryNotice(t.Context(), "ntc_other", "b", now.Add(time.Hour), "busy"); err != nil {
			t.Fatal(err)
		}
		// After the first lease would have expired: the sent notice is gone
		// from the queue, the retried one is due only at its retry time.
		if n, ok, err := s.ClaimNotice(t.Context(), "c", now.Add(2*time.Minute), time.Minute); err != nil || ok {
			t.Fatalf("claim before the retry time = %+v, %v, %v; want nothing", n, ok, err)
		}
		n, ok, err := s.ClaimNotice(t.Context(), "c", now.Add(2*time.Hour), time.Minute)
		if err != nil || !ok || n.ID != "ntc_other" || n.Attempts != 2 {
			t.Fatalf("claim after the retry time = %+v, %v, %v", n, ok, err)
		}
		got, err := s.GetNotice(t.Context(), "ntc_1")
		if err != nil || got.Status != domain.NoticeSent {
			t.Fatalf("ntc_1 = %+v, %v; want sent", got, err)
		}
	})
	t.Run("method=NoticeQueueMigration/case=pending_before_the_queue", func(t *testing.T) {
		t.Parallel()
		db := mongotest.DB(t)
		if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
			t.Fatal(err)
		}
		s := store.New(db)
		for _, id := range []string{"ntc_pending", "ntc_sent"} {
			if _, err := s.CreateNotice(t.Context(), notice(id)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Collection("notices").UpdateOne(t.Context(), bson.D{{Key: "_id", Value: "ntc_sent"}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "pending", Value: false}, {Key: "status", Value: "sent"}}}}); err != nil {
			t.Fatal(err)
		}
		// What an earlier release left: notices, no queue.
		if err := db.Collection(store.NoticeQueue).Drop(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.ClaimNotice(t.Context(), "a", created.Add(time.Second), time.Minute); err != nil || ok {
			t.Fatalf("claim before the migration: ok %v, err %v; want nothing queued", ok, err)
		}
		errs := make(chan error, 3)
		for range 3 {
			go func() {
				errs <- migrate.Run(t.Context(), db, []migrate.Migration{store.NoticeQueueMigration()}, migrate.Options{Owner: "replica"})
			}()
		}
		for range 3 {
			if err := <-errs; err != nil {
				t.Fatalf("migrate.Run: %v", err)
			}
		}
		n, ok, err := s.ClaimNotice(t.Context(), "a", created.Add(time.Second), time.Minute)
		if err != nil || !ok || n.ID != "ntc_pending" {
			t.Fatalf("claim after the migration = %+v, %v, %v; want ntc_pending", n, ok, err)
		}
		if _, ok, err := s.ClaimNotice(t.Context(), "b", created.Add(time.Second), time.Minute); err != nil || ok {
			t.Fatalf("second claim: ok %v, err %v; the sent notice must not be queued", ok, err)
		}
	})
}
