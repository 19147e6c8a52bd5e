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

// Lease field names on documents that carry pending work. A document is due
// when its pending flag field is true and its lease has expired; claiming it
// sets a new expiry atomically with findOneAndUpdate, so exactly one replica
// holds it at a time and a replica that dies mid-work only delays it.
const (
	LeaseUntilField = "lease_until"
	LeaseOwnerField = "lease_owner"
	AttemptsField   = "attempts"
)

// Claim takes the oldest document of coll that matches filter and whose
// lease (if any) has expired, leasing it to owner until now+leaseFor. It
// decodes the claimed document (after the update) into out and reports false
// when nothing was due or another claimer won.
//
// On MongoDB the findOneAndUpdate alone is atomic. The embedded FerretDB
// (v1.24) implements findAndModify as read, modify, then an unconditional
// write, so two claimers racing for one document can both "succeed". Both
// then hold the same attempts count, so each inserts a fence record
// "<_id>#<attempts>" into <coll>_leases, whose unique _id lets exactly one of
// them win on either server. The code path is the same on both.
func Claim(ctx context.Context, coll *mongo.Collection, filter bson.D, owner string, now time.Time, leaseFor time.Duration, out any, opts ...ClaimOption) (bool, error) {
	co := claimOptions{sort: bson.D{{Key: "_id", Value: 1}}}
	for _, o := range opts {
		o(&co)
	}
	f := append(bson.D{}, filter...)
	f = append(f, bson.E{Key: "$or", Value: bson.A{
		bson.D{{Key: LeaseUntilField, Value: bson.D{{Key: "$exists", Value: false}}}},
		bson.D{{Key: LeaseUntilField, Value: bson.D{{Key: "$lte", Value: now}}}},
	}})
	update := bson.D{
		{Key: "$set", Value: bson.D{
			{Key: LeaseUntilField, Value: now.Add(leaseFor)},
			{Key: LeaseOwnerField, Value: owner},
		}},
		{Key: "$inc", Value: bson.D{{Key: AttemptsField, Value: 1}}},
	}
	fopts := options.FindOneAndUpdate().
		SetSort(co.sort).
		SetReturnDocument(options.After)
	raw, err := coll.FindOneAndUpdate(ctx, f, update, fopts).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim from %s: %w", coll.Name(), err)
	}
	var head struct {
		ID       any   `bson:"_id"`
		Attempts int64 `bson:"attempts"`
	}
	if err := bson.Unmarshal(raw, &head); err != nil {
		return false, fmt.Errorf("claim from %s: %w", coll.Name(), err)
	}
	fence := bson.D{
		{Key: "_id", Value: fmt.Sprintf("%v#%d", head.ID, head.Attempts)},
		{Key: "owner", Value: owner},
		{Key: "claimed_at", Value: now},
	}
	if _, err := coll.Database().Collection(coll.Name()+"_leases").InsertOne(ctx, fence); err != nil {
		if IsDuplicateKey(err) {
			return false, nil
		}
		return false, fmt.Errorf("fence claim on %s: %w", coll.Name(), err)
	}
	// A losing racer's write may have landed after ours; restate ownership
	// for this attempt so completions filtered on the owner succeed.
	if _, err := coll.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: head.ID}, {Key: AttemptsField, Value: head.Attempts}},
		bson.D{{Key: "$set", Value: bson.D{{Key: LeaseOwnerField, Value: owner}, {Key: LeaseUntilField, Value: now.Add(leaseFor)}}}},
	); err != nil {
		return false, fmt.Errorf("claim from %s: %w", coll.Name(), err)
	}
	raw, err = coll.FindOne(ctx, bson.D{{Key: "_id", Value: head.ID}}).Raw()
	if err != nil {
		return false, fmt.Errorf("claim from %s: %w", coll.Name(), err)
	}
	if err := bson.Unmarshal(raw, out); err != nil {
		return false, fmt.Errorf("claim from %s: decode: %w", coll.Name(), err)
	}
	return true, nil
}

// ClaimOption changes how Claim picks among due documents.
type ClaimOption func(*claimOptions)

type claimOptions struct {
	sort bson.D
}

// OrderBy makes Claim take the first due document in this order instead of
// the lowest _id, e.g. bson.D{{"created_at", 1}, {"_id", 1}} for work whose
// ids are not time-ordered but whose order matters.
func OrderBy(sort bson.D) ClaimOption {
	return func(o *claimOptions) { o.sort = sort }
}

// Backoff returns the delay before attempt n (1-based) of a retried side
// effect: exponential from base, capped at max.
func Backoff(attempt int, base, maxDelay time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxDelay; i++ {
		d *= 2
	}
	return min(d, maxDelay)
}
