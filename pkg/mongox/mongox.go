// Package mongox connects to MongoDB and holds the small helpers every store
// shares: index creation, duplicate-key detection, page tokens and leases.
// It stays inside the subset of MongoDB that both a real replica set and the
// embedded FerretDB server support (no transactions, change streams, TTL or
// partial indexes), so the production and test code paths are identical.
package mongox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/breachline/breachline/pkg/apperr"
)

// Connect opens a client for uri and pings the primary, so that a wrong URI
// fails at start-up rather than on the first request.
func Connect(ctx context.Context, uri string) (*mongo.Client, error) {
	opts := options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(10 * time.Second)
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("connect mongodb: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx, readpref.Primary()); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("ping mongodb: %w", err)
	}
	return client, nil
}

// Indexes maps a collection name to the indexes it must have.
type Indexes map[string][]mongo.IndexModel

// EnsureIndexes creates every index that does not exist yet. Creating an
// existing identical index is a no-op in MongoDB, so concurrent replicas
// starting at once are safe. Indexes are created one per command: FerretDB
// v1.24 drops the connection when a single createIndexes names two or more
// indexes that already exist, which would crash every restart.
func EnsureIndexes(ctx context.Context, db *mongo.Database, idx Indexes) error {
	for coll, models := range idx {
		for _, m := range models {
			if _, err := db.Collection(coll).Indexes().CreateOne(ctx, m); err != nil {
				return fmt.Errorf("create index on %s: %w", coll, err)
			}
		}
	}
	return nil
}

// IsDuplicateKey reports whether err is a unique-index violation.
func IsDuplicateKey(err error) bool {
	return mongo.IsDuplicateKeyError(err)
}

// NotFound maps mongo.ErrNoDocuments to apperr.ErrNotFound with what context,
// and passes every other error through wrapped.
func NotFound(err error, what string) error {
	if errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("%s: %w", what, apperr.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// EncodePageToken makes an opaque page token from a cursor value (usually the
// last returned id and sort key).
func EncodePageToken(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode page token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// DecodePageToken reverses EncodePageToken. A token that does not decode is
// bad input on the page_token field.
func DecodePageToken(token string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return apperr.Invalid("page_token", "not a token returned by a previous page")
	}
	return nil
}

// PageSize applies the AIP-158 defaults: 0 means def, negative is invalid,
// above max is capped at max.
func PageSize(requested int32, def, maxSize int) (int, error) {
	switch {
	case requested < 0:
		return 0, apperr.Invalid("page_size", "must not be negative")
	case requested == 0:
		return def, nil
	case int(requested) > maxSize:
		return maxSize, nil
	default:
		return int(requested), nil
	}
}

// FindAll runs a find on coll and decodes every matching document into a
// D, closing the cursor. Stores map the result to domain types themselves.
func FindAll[D any](ctx context.Context, coll *mongo.Collection, filter any, opts ...options.Lister[options.FindOptions]) ([]D, error) {
	cur, err := coll.Find(ctx, filter, opts...)
	if err != nil {
		return nil, fmt.Errorf("find in %s: %w", coll.Name(), err)
	}
	var docs []D
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read %s: %w", coll.Name(), err)
	}
	return docs, nil
}
