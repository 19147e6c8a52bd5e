package migrate_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/breachline/breachline/pkg/migrate"
	"github.com/breachline/breachline/pkg/mongotest"
)

// counting returns a migration whose every run inserts one marker document,
// so the test can count how often it really ran.
func counting(id string, delay time.Duration) migrate.Migration {
	return migrate.Migration{ID: id, Description: "test " + id, Up: func(ctx context.Context, db *mongo.Database) error {
		if delay > 0 {
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
		_, err := db.Collection("effects").InsertOne(ctx, bson.D{{Key: "migration", Value: id}})
		return err
	}}
}

func runs(t *testing.T, db *mongo.Database, id string) int64 {
	t.Helper()
	n, err := db.Collection("effects").CountDocuments(t.Context(), bson.D{{Key: "migration", Value: id}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConcurrentReplicasRunEachMigrationOnce(t *testing.T) {
	t.Parallel()
	db := mongotest.DB(t)
	ms := []migrate.Migration{counting("0002_second", 0), counting("0001_first", 200*time.Millisecond)}
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() {
			errs[i] = migrate.Run(t.Context(), db, ms, migrate.Options{Owner: fmt.Sprintf("replica-%d", i), Poll: 20 * time.Millisecond})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	for _, id := range []string{"0001_first", "0002_second"} {
		if n := runs(t, db, id); n != 1 {
			t.Errorf("%s ran %d times across 5 replicas, want 1", id, n)
		}
	}
	recs, err := migrate.Applied(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].ID != "0001_first" || recs[0].State != migrate.StateDone || recs[1].State != migrate.StateDone {
		t.Fatalf("records = %+v, want both done in order", recs)
	}
}

func TestDeadRunnerIsTakenOver(t *testing.T) {
	t.Parallel()
	db := mongotest.DB(t)
	// A replica died mid-migration: its record is running with an expired lease.
	_, err := db.Collection(migrate.Collection).InsertOne(t.Context(), migrate.Record{
		ID: "0001_first", State: migrate.StateRunning, Owner: "dead", LeaseUntil: time.Now().Add(-time.Minute), Attempts: 1,
		StartedAt: time.Now().Add(-2 * time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.Run(t.Context(), db, []migrate.Migration{counting("0001_first", 0)}, migrate.Options{Owner: "alive"}); err != nil {
		t.Fatal(err)
	}
	if n := runs(t, db, "0001_first"); n != 1 {
		t.Fatalf("ran %d times, want 1", n)
	}
	recs, _ := migrate.Applied(t.Context(), db)
	if recs[0].State != migrate.StateDone || recs[0].Owner != "alive" {
		t.Fatalf("record = %+v, want done by alive", recs[0])
	}
}

func TestLiveRunnerIsWaitedFor(t *testing.T) {
	t.Parallel()
	db := mongotest.DB(t)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := db.Collection(migrate.Collection).InsertOne(t.Context(), migrate.Record{
		ID: "0001_first", State: migrate.StateRunning, Owner: "busy", LeaseUntil: time.Now().Add(time.Hour), Attempts: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	err = migrate.Run(ctx, db, []migrate.Migration{counting("0001_first", 0)}, migrate.Options{Owner: "waiter", Poll: 20 * time.Millisecond})
	if err == nil {
		t.Fatal("Run returned while another replica held a live lease")
	}
	if n := runs(t, db, "0001_first"); n != 0 {
		t.Fatalf("ran %d times while another replica held it, want 0", n)
	}
}

func TestDuplicateIDsRejected(t *testing.T) {
	t.Parallel()
	db := mongotest.DB(t)
	err := migrate.Run(t.Context(), db, []migrate.Migration{counting("0001_x", 0), counting("0001_x", 0)}, migrate.Options{Owner: "a"})
	if err == nil {
		t.Fatal("duplicate ids accepted")
	}
}
