package mongox_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
)

func TestQueue(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	t.Run("method=Claim/case=due, leased, retried, done", func(t *testing.T) {
		t.Parallel()
		q := mongox.NewQueue(mongotest.DB(t), "jobs")
		if err := q.Enqueue(t.Context(), "a", now); err != nil {
			t.Fatal(err)
		}
		if err := q.Enqueue(t.Context(), "a", now.Add(time.Hour)); err != nil {
			t.Fatalf("Enqueue of a queued key: %v", err)
		}
		if _, ok, err := q.Claim(t.Context(), "w1", now.Add(-time.Second), time.Minute); ok || err != nil {
			t.Fatalf("claim before due = %v, %v; want nothing", ok, err)
		}
		j, ok, err := q.Claim(t.Context(), "w1", now, time.Minute)
		if err != nil || !ok || j.Key != "a" || j.Attempt != 1 {
			t.Fatalf("Claim = %+v, %v, %v; want a, attempt 1", j, ok, err)
		}
		if _, ok, _ := q.Claim(t.Context(), "w2", now.Add(time.Second), time.Minute); ok {
			t.Fatal("a leased job was claimed again")
		}
		if err := q.Retry(t.Context(), mongox.Job{Key: "a", Owner: "w2"}, now, "x"); !errors.Is(err, mongox.ErrLeaseLost) {
			t.Errorf("Retry by a non-owner = %v, want ErrLeaseLost", err)
		}
		next := now.Add(10 * time.Second)
		if err := q.Retry(t.Context(), j, next, "down"); err != nil {
			t.Fatalf("Retry: %v", err)
		}
		if _, ok, _ := q.Claim(t.Context(), "w2", next.Add(-time.Millisecond), time.Minute); ok {
			t.Fatal("claimed before the retry was due")
		}
		j2, ok, err := q.Claim(t.Context(), "w2", next, time.Minute)
		if err != nil || !ok || j2.Attempt != 2 || j2.LastError != "down" {
			t.Fatalf("Claim after retry = %+v, %v, %v; want attempt 2 with the last error", j2, ok, err)
		}
		if err := q.Done(t.Context(), j); !errors.Is(err, mongox.ErrLeaseLost) {
			t.Errorf("Done by the superseded claim = %v, want ErrLeaseLost", err)
		}
		if err := q.Done(t.Context(), j2); err != nil {
			t.Fatalf("Done: %v", err)
		}
		if n, err := q.Len(t.Context()); err != nil || n != 0 {
			t.Errorf("Len after Done = %d, %v; want 0", n, err)
		}
	})
	t.Run("method=Claim/case=expired lease is taken over", func(t *testing.T) {
		t.Parallel()
		q := mongox.NewQueue(mongotest.DB(t), "jobs")
		if err := q.Enqueue(t.Context(), "a", now); err != nil {
			t.Fatal(err)
		}
		dead, ok, err := q.Claim(t.Context(), "dead", now, time.Second)
		if err != nil || !ok {
			t.Fatalf("Claim = %v, %v", ok, err)
		}
		j, ok, err := q.Claim(t.Context(), "w1", now.Add(time.Second), time.Minute)
		if err != nil || !ok || j.Attempt != 2 {
			t.Fatalf("Claim after expiry = %+v, %v, %v; want attempt 2", j, ok, err)
		}
		if err := q.Retry(t.Context(), dead, now, "late"); !errors.Is(err, mongox.ErrLeaseLost) {
			t.Errorf("Retry by the expired holder = %v, want ErrLeaseLost", err)
		}
		if err := q.Done(t.Context(), mongox.Job{Key: "a", Owner: "w1"}); err != nil {
			t.Errorf("Done by key and owner: %v", err)
		}
	})
	t.Run("method=Again/case=new work revokes the claim and is due at once", func(t *testing.T) {
		t.Parallel()
		q := mongox.NewQueue(mongotest.DB(t), "jobs")
		if err := q.Again(t.Context(), "a", now); err != nil {
			t.Fatal(err)
		}
		j, ok, err := q.Claim(t.Context(), "w1", now, time.Hour)
		if err != nil || !ok {
			t.Fatalf("Claim = %v, %v", ok, err)
		}
		if err := q.Again(t.Context(), "a", now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := q.Done(t.Context(), j); !errors.Is(err, mongox.ErrLeaseLost) {
			t.Errorf("Done of the revoked claim = %v, want ErrLeaseLost", err)
		}
		j2, ok, err := q.Claim(t.Context(), "w2", now.Add(time.Second), time.Minute)
		if err != nil || !ok || j2.Attempt != 2 {
			t.Fatalf("Claim after Again = %+v, %v, %v; want the job again", j2, ok, err)
		}
		if err := q.Done(t.Context(), j2); err != nil {
			t.Fatalf("Done: %v", err)
		}
		if n, _ := q.Len(t.Context()); n != 0 {
			t.Errorf("Len = %d, want 0", n)
		}
	})
	t.Run("method=Claim/case=concurrent claimers take each job once", func(t *testing.T) {
		t.Parallel()
		q := mongox.NewQueue(mongotest.DB(t), "jobs")
		const jobs, workers = 24, 4
		for i := range jobs {
			if err := q.Enqueue(t.Context(), fmt.Sprintf("j%02d", i), now); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		claimed := map[string]int{}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				owner := fmt.Sprintf("w%d", w)
				for {
					j, ok, err := q.Claim(t.Context(), owner, now, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if !ok {
						return
					}
					mu.Lock()
					claimed[j.Key]++
					mu.Unlock()
					if err := q.Done(t.Context(), j); err != nil {
						t.Errorf("Done %s: %v", j.Key, err)
					}
				}
			})
		}
		wg.Wait()
		if len(claimed) != jobs {
			t.Errorf("%d jobs claimed, want %d", len(claimed), jobs)
		}
		for k, n := range claimed {
			if n != 1 {
				t.Errorf("job %s claimed %d times, want once", k, n)
			}
		}
	})
}

// TestQueueStaleFence covers a claimer that died between its fence and its
// lease: the job keeps the state it fenced, and once the fence is older
// than the lease another claimer takes the job over.
func TestQueueStaleFence(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db := mongotest.DB(t)
	q := mongox.NewQueue(db, "jobs")
	if err := q.Enqueue(t.Context(), "a", now); err != nil {
		t.Fatal(err)
	}
	// Claim, then undo the lease as if the claimer died right after its
	// fence insert: the fence stays, the job is unleased at attempts 0.
	j, ok, err := q.Claim(t.Context(), "dead", now, time.Minute)
	if err != nil || !ok {
		t.Fatalf("Claim = %v, %v", ok, err)
	}
	if _, err := q.Collection().UpdateOne(t.Context(), bson.D{{Key: "_id", Value: j.Key}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: mongox.AttemptsField, Value: 0}}},
		{Key: "$unset", Value: bson.D{{Key: mongox.LeaseOwnerField, Value: ""}, {Key: mongox.LeaseUntilField, Value: ""}}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := q.Claim(t.Context(), "w1", now.Add(time.Second), time.Minute); ok || err != nil {
		t.Fatalf("claim while the fence is fresh = %v, %v; want nothing", ok, err)
	}
	got, ok, err := q.Claim(t.Context(), "w1", now.Add(time.Minute), time.Minute)
	if err != nil || !ok || got.Key != "a" || got.Attempt != 1 {
		t.Fatalf("claim after the lease = %+v, %v, %v; want a, attempt 1", got, ok, err)
	}
	if err := q.Done(t.Context(), got); err != nil {
		t.Fatalf("Done: %v", err)
	}
}
