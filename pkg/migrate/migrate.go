// Package migrate runs versioned data migrations safely when several
// replicas of a service start at once. Each migration runs to completion
// exactly once per database; the record of what ran, when and by whom is the
// schema_migrations collection.
//
// A replica that wants to run migration M inserts its record with state
// "running" and a lease; the unique _id makes exactly one replica the runner
// (on MongoDB and on the embedded FerretDB alike). The others wait until the
// record says "done". If the runner dies, its lease expires and another
// replica takes the migration over through mongox.Claim (fenced), so
// migrations must be idempotent: a take-over repeats the work of the dead
// runner. Migrations run in ID order and a service does not start serving
// until all of them are done.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/breachline/breachline/pkg/mongox"
)

// Collection is where the migration records live, in each service database.
const Collection = "schema_migrations"

// Migration is one idempotent change to a service's data.
type Migration struct {
	// ID orders migrations and names them: "0001_backfill_x". Never reuse or
	// rename one that has shipped.
	ID string
	// Description says what it does, for the record.
	Description string
	// Up applies the change. It must be safe to run again after a partial
	// run (a replica that died half-way).
	Up func(ctx context.Context, db *mongo.Database) error
}

// Record is a stored migration record.
type Record struct {
	ID          string    `bson:"_id"`
	Description string    `bson:"description"`
	State       string    `bson:"state"`
	Owner       string    `bson:"lease_owner"`
	LeaseUntil  time.Time `bson:"lease_until"`
	Attempts    int       `bson:"attempts"`
	StartedAt   time.Time `bson:"started_at"`
	FinishedAt  time.Time `bson:"finished_at,omitempty"`
}

// Record states.
const (
	StateRunning = "running"
	StateDone    = "done"
)

// Options tune the runner; zero values are production defaults.
type Options struct {
	// Owner names this replica in the records.
	Owner string
	// Lease is how long a runner holds a migration before others may take
	// it over; it is renewed while Up runs. Default 30s.
	Lease time.Duration
	// Poll is how often a waiting replica looks again. Default 250ms.
	Poll time.Duration
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
}

// Run applies every migration not yet done, in ID order, waiting for (or
// taking over from) other replicas as needed.
func Run(ctx context.Context, db *mongo.Database, migrations []Migration, opts Options) error {
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	sorted := slices.Clone(migrations)
	slices.SortFunc(sorted, func(a, b Migration) int { return strings.Compare(a.ID, b.ID) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].ID == sorted[i-1].ID {
			return fmt.Errorf("migrate: duplicate migration id %q", sorted[i].ID)
		}
	}
	coll := db.Collection(Collection)
	for _, m := range sorted {
		if err := runOne(ctx, coll, db, m, opts); err != nil {
			return fmt.Errorf("migration %s: %w", m.ID, err)
		}
	}
	return nil
}

func runOne(ctx context.Context, coll *mongo.Collection, db *mongo.Database, m Migration, opts Options) error {
	tick := time.NewTicker(opts.Poll)
	defer tick.Stop()
	for {
		now := time.Now().UTC()
		_, err := coll.InsertOne(ctx, Record{
			ID: m.ID, Description: m.Description, State: StateRunning, Owner: opts.Owner,
			LeaseUntil: now.Add(opts.Lease), Attempts: 1, StartedAt: now,
		})
		switch {
		case err == nil:
			err = apply(ctx, coll, db, m, opts)
			if !errors.Is(err, errLostLease) {
				return err
			}
		case !mongox.IsDuplicateKey(err):
			return err
		}
		var rec Record
		if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: m.ID}}).Decode(&rec); err != nil {
			return err
		}
		if rec.State == StateDone {
			return nil
		}
		// Someone else runs it; take over only once their lease expired.
		var claimed Record
		ok, err := mongox.Claim(ctx, coll, bson.D{{Key: "_id", Value: m.ID}, {Key: "state", Value: StateRunning}},
			opts.Owner, now, opts.Lease, &claimed)
		if err != nil {
			return err
		}
		if ok {
			opts.Logger.WarnContext(ctx, "taking over migration from an expired runner", "migration", m.ID, "previous_owner", rec.Owner)
			if err := apply(ctx, coll, db, m, opts); !errors.Is(err, errLostLease) {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

var errLostLease = errors.New("migration lease lost to another replica")

// apply runs Up while renewing the lease, then marks the record done.
func apply(ctx context.Context, coll *mongo.Collection, db *mongo.Database, m Migration, opts Options) error {
	opts.Logger.InfoContext(ctx, "running migration", "migration", m.ID)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(opts.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				_, _ = coll.UpdateOne(runCtx, bson.D{{Key: "_id", Value: m.ID}, {Key: mongox.LeaseOwnerField, Value: opts.Owner}},
					bson.D{{Key: "$set", Value: bson.D{{Key: mongox.LeaseUntilField, Value: time.Now().UTC().Add(opts.Lease)}}}})
			}
		}
	}()
	err := m.Up(runCtx, db)
	cancel()
	<-renewed
	if err != nil {
		return err
	}
	res, err := coll.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: m.ID}, {Key: mongox.LeaseOwnerField, Value: opts.Owner}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: StateDone}, {Key: "finished_at", Value: time.Now().UTC()}}}})
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		// Our lease expired mid-run and another replica took over; it will
		// finish the migration, so go back to waiting for it.
		return errLostLease
	}
	opts.Logger.InfoContext(ctx, "migration done", "migration", m.ID)
	return nil
}

// Applied lists the migration records of db, in ID order.
func Applied(ctx context.Context, db *mongo.Database) ([]Record, error) {
	cur, err := db.Collection(Collection).Find(ctx, bson.D{}, nil)
	if err != nil {
		return nil, err
	}
	var out []Record
	if err := cur.All(ctx, &out); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
