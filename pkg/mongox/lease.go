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

// Claim atomically takes the oldest document of coll that matches filter and
// whose lease (if any) has expired, leasing it to owner until now+leaseFor.
// It decodes the claimed document (after the update) into out and reports
// false when nothing was due.
func Claim(ctx context.Context, coll *mongo.Collection, filter bson.D, owner string, now time.Time, leaseFor time.Duration, out any) (bool, error) {
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
	opts := options.FindOneAndUpdate().
		SetSort(bson.D{{Key: "_id", Value: 1}}).
		SetReturnDocument(options.After)
	err := coll.FindOneAndUpdate(ctx, f, update, opts).Decode(out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim from %s: %w", coll.Name(), err)
	}
	return true, nil
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
