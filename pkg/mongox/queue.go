package mongox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ErrLeaseLost is returned by Queue.Retry and Queue.Done when the job's
// lease expired and another replica claimed it: that replica finishes it,
// so this replica's result is dropped.
var ErrLeaseLost = errors.New("lease lost")

// Queue is a collection of pending jobs, one document per job whose _id is
// the job's key (the id of the document the work belongs to). A job is
// deleted when done, so the collection holds only the backlog: claiming
// reads the queue, never the growing collection that owns the work. (On the
// embedded store every query but an _id lookup reads the whole collection,
// so a relay that claimed from, say, all incidents would read every incident
// on every poll, from every replica.)
//
// Claims are fenced like Claim's: a claimer first inserts a fence record into
// <name>_leases whose _id names the job and the exact state it saw
// (attempts, due time, lease expiry), so of the replicas that saw one state
// exactly one may claim it, on MongoDB and on the embedded FerretDB (whose
// updates are not atomic under concurrency). A claimer that dies between
// its fence and its lease leaves a fence for a state nobody else may claim;
// such a fence is taken over once it is older than the lease (the dead
// claimer's lease would have expired by then), so a fence never strands a
// job.
type Queue struct {
	coll   *mongo.Collection
	fences *mongo.Collection
}

// NewQueue returns the queue stored in collection name of db.
func NewQueue(db *mongo.Database, name string) *Queue {
	return &Queue{coll: db.Collection(name), fences: db.Collection(name + "_leases")}
}

// Collection is the queue's collection (for indexes and tests).
func (q *Queue) Collection() *mongo.Collection { return q.coll }

// Job is a claimed job: its key, the owner that claimed it and which claim
// of it this is (1-based; use it for backoff). A Job made from just Key and
// Owner (e.g. by a store whose callers pass ids) addresses the owner's
// claim of that key.
type Job struct {
	Key     string
	Owner   string
	Attempt int
	// LastError is what the previous attempt recorded with Retry.
	LastError string

	gen string
}

type queueDoc struct {
	ID         string     `bson:"_id"`
	Gen        string     `bson:"gen"`
	DueAt      time.Time  `bson:"due_at"`
	Attempts   int        `bson:"attempts"`
	LeaseOwner string     `bson:"lease_owner,omitempty"`
	LeaseUntil *time.Time `bson:"lease_until,omitempty"`
	LastError  string     `bson:"last_error,omitempty"`
	Fences     []string   `bson:"fences,omitempty"`
}

// Enqueue makes job key due at due, with one insert; a key that is already
// queued stays as it is (Enqueue is idempotent).
func (q *Queue) Enqueue(ctx context.Context, key string, due time.Time) error {
	_, err := q.add(ctx, key, due)
	return err
}

// Again is Enqueue for work that changes while it is queued: when key is
// already queued it becomes due at due and any claim of it is revoked (the
// holder's Retry and Done then report ErrLeaseLost), so the new state is
// worked on at once, and a result for the old state is not recorded as the
// job's.
func (q *Queue) Again(ctx context.Context, key string, due time.Time) error {
	for range 3 {
		added, err := q.add(ctx, key, due)
		if err != nil || added {
			return err
		}
		res, err := q.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: key}}, bson.D{
			{Key: "$set", Value: bson.D{{Key: "due_at", Value: due.UTC()}}},
			{Key: "$unset", Value: bson.D{{Key: LeaseUntilField, Value: ""}, {Key: LeaseOwnerField, Value: ""}}},
		})
		if err != nil {
			return fmt.Errorf("enqueue %s in %s again: %w", key, q.coll.Name(), err)
		}
		if res.MatchedCount > 0 {
			return nil
		}
		// Done removed it between the insert and the update: insert anew.
	}
	return fmt.Errorf("enqueue %s in %s again: the job kept changing", key, q.coll.Name())
}

// NewJob returns the document Enqueue inserts for key, for a store that
// group-commits its inserts (Inserter on Collection); a duplicate-key error
// from inserting it means the key is already queued.
func (q *Queue) NewJob(key string, due time.Time) any {
	return queueDoc{ID: key, Gen: bson.NewObjectID().Hex(), DueAt: due.UTC()}
}

func (q *Queue) add(ctx context.Context, key string, due time.Time) (bool, error) {
	_, err := q.coll.InsertOne(ctx, q.NewJob(key, due))
	if err == nil {
		return true, nil
	}
	if IsDuplicateKey(err) {
		return false, nil
	}
	return false, fmt.Errorf("enqueue %s in %s: %w", key, q.coll.Name(), err)
}

// claimBatch is how many due jobs a claim considers: replicas that lose the
// race for the first try the next.
const claimBatch = 8

// Claim leases the earliest due job whose lease (if any) has expired to
// owner until now+leaseFor, and reports false when none is due.
func (q *Queue) Claim(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (Job, bool, error) {
	now = now.UTC()
	docs, err := FindAll[queueDoc](ctx, q.coll, bson.D{
		{Key: "due_at", Value: bson.D{{Key: "$lte", Value: now}}},
		{Key: "$or", Value: bson.A{
			bson.D{{Key: LeaseUntilField, Value: bson.D{{Key: "$exists", Value: false}}}},
			bson.D{{Key: LeaseUntilField, Value: bson.D{{Key: "$lte", Value: now}}}},
		}},
	}, options.Find().SetSort(bson.D{{Key: "due_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(claimBatch))
	if err != nil {
		return Job{}, false, fmt.Errorf("claim from %s: %w", q.coll.Name(), err)
	}
	for _, d := range docs {
		var until int64
		if d.LeaseUntil != nil {
			until = d.LeaseUntil.UnixNano()
		}
		fence := fmt.Sprintf("%s#%s#%d#%d#%d", d.ID, d.Gen, d.Attempts, d.DueAt.UnixNano(), until)
		won, err := q.fence(ctx, fence, owner, now, leaseFor)
		if err != nil {
			return Job{}, false, err
		}
		if !won {
			continue // another replica claimed this state of the job
		}
		res, err := q.coll.UpdateOne(ctx,
			bson.D{{Key: "_id", Value: d.ID}, {Key: "gen", Value: d.Gen}, {Key: AttemptsField, Value: d.Attempts}},
			bson.D{
				{Key: "$set", Value: bson.D{
					{Key: AttemptsField, Value: d.Attempts + 1},
					{Key: LeaseOwnerField, Value: owner},
					{Key: LeaseUntilField, Value: now.Add(leaseFor)},
				}},
				{Key: "$push", Value: bson.D{{Key: "fences", Value: fence}}},
			})
		if err != nil {
			return Job{}, false, fmt.Errorf("claim from %s: %w", q.coll.Name(), err)
		}
		if res.MatchedCount == 0 {
			// Finished by its previous holder between our read and fence.
			_, _ = q.fences.DeleteOne(ctx, bson.D{{Key: "_id", Value: fence}})
			continue
		}
		return Job{Key: d.ID, Owner: owner, Attempt: d.Attempts + 1, LastError: d.LastError, gen: d.Gen}, true, nil
	}
	return Job{}, false, nil
}

// fence inserts the fence record that makes owner the one claimer of one
// state of a job. A fence of that state older than leaseFor is stale: its
// claimer inserted it and died before leasing the job (whose state would
// otherwise have changed), so it is removed and the insert tried again.
func (q *Queue) fence(ctx context.Context, id, owner string, now time.Time, leaseFor time.Duration) (bool, error) {
	for range 2 {
		_, err := q.fences.InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "owner", Value: owner}, {Key: "claimed_at", Value: now}})
		if err == nil {
			return true, nil
		}
		if !IsDuplicateKey(err) {
			return false, fmt.Errorf("fence claim on %s: %w", q.coll.Name(), err)
		}
		var prev struct {
			ClaimedAt time.Time `bson:"claimed_at"`
		}
		if err := q.fences.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&prev); err != nil {
			if errors.Is(err, mongo.ErrNoDocuments) {
				continue // its job was finished meanwhile
			}
			return false, fmt.Errorf("read fence on %s: %w", q.coll.Name(), err)
		}
		if prev.ClaimedAt.Add(leaseFor).After(now) {
			return false, nil
		}
		res, err := q.fences.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "claimed_at", Value: prev.ClaimedAt}})
		if err != nil {
			return false, fmt.Errorf("drop stale fence on %s: %w", q.coll.Name(), err)
		}
		if res.DeletedCount == 0 {
			return false, nil // another replica took it over
		}
	}
	return false, nil
}

// held selects the queue document while j's claim holds it.
func (j Job) held() bson.D {
	f := bson.D{{Key: "_id", Value: j.Key}, {Key: LeaseOwnerField, Value: j.Owner}}
	if j.gen != "" {
		f = append(f, bson.E{Key: "gen", Value: j.gen}, bson.E{Key: AttemptsField, Value: j.Attempt})
	}
	return f
}

// Retry releases j and makes it due again at next, recording lastError. It
// returns ErrLeaseLost when j's claim no longer holds the job.
func (q *Queue) Retry(ctx context.Context, j Job, next time.Time, lastError string) error {
	res, err := q.coll.UpdateOne(ctx, j.held(), bson.D{
		{Key: "$set", Value: bson.D{{Key: "due_at", Value: next.UTC()}, {Key: "last_error", Value: lastError}}},
		{Key: "$unset", Value: bson.D{{Key: LeaseUntilField, Value: ""}, {Key: LeaseOwnerField, Value: ""}}},
	})
	if err != nil {
		return fmt.Errorf("retry %s in %s: %w", j.Key, q.coll.Name(), err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("retry %s in %s: %w", j.Key, q.coll.Name(), ErrLeaseLost)
	}
	return nil
}

// Done removes j from the queue, with its fence records. It returns
// ErrLeaseLost when j's claim no longer holds the job.
func (q *Queue) Done(ctx context.Context, j Job) error {
	var cur queueDoc
	if err := q.coll.FindOne(ctx, bson.D{{Key: "_id", Value: j.Key}}).Decode(&cur); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return fmt.Errorf("finish %s in %s: %w", j.Key, q.coll.Name(), ErrLeaseLost)
		}
		return fmt.Errorf("finish %s in %s: %w", j.Key, q.coll.Name(), err)
	}
	res, err := q.coll.DeleteOne(ctx, j.held())
	if err != nil {
		return fmt.Errorf("finish %s in %s: %w", j.Key, q.coll.Name(), err)
	}
	if res.DeletedCount == 0 {
		return fmt.Errorf("finish %s in %s: %w", j.Key, q.coll.Name(), ErrLeaseLost)
	}
	for _, f := range cur.Fences {
		if _, err := q.fences.DeleteOne(ctx, bson.D{{Key: "_id", Value: f}}); err != nil {
			return fmt.Errorf("finish %s in %s: drop fence: %w", j.Key, q.coll.Name(), err)
		}
	}
	return nil
}

// Len is the number of queued jobs (for tests and operators).
func (q *Queue) Len(ctx context.Context) (int64, error) {
	return q.coll.CountDocuments(ctx, bson.D{})
}
