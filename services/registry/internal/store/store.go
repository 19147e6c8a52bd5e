// Package store is the MongoDB implementation of domain.Store.
//
// Idempotent creates (AIP-155) work without transactions: every created
// document carries a request_key with a unique index, and the insert is one
// atomic write that both the _id and the request_key index guard. The key is
// "req:<request_id>" when the client sent a request id and "id:<_id>"
// otherwise. Always setting a value is what makes a plain unique index work:
// FerretDB has no partial or sparse indexes, so an absent or empty key would
// collide with every other request without one. (The alternative, a separate
// requests collection keyed by (kind, request_id), needs two writes that can
// be torn apart by a crash; the embedded key cannot.) The document also keeps
// a fingerprint of the request's input, so a retry is told apart from a
// request id reused for something else.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// Collection names.
const (
	customersColl   = "customers"
	versionsColl    = "customer_versions"
	subprocsColl    = "subprocessors"
	historyColl     = "subprocessor_history"
	dsrColl         = "data_subject_requests"
	removalsColl    = "removal_requests"
	removalVerColl  = "removal_request_versions"
	dsrVerColl      = "data_subject_request_versions"
	returnsColl     = "data_return_requests"
	returnVerColl   = "data_return_request_versions"
	signingKeysColl = "signing_keys"
	requestKeyField = "request_key"

	// The subprocessor changes and the check cache's version counter
	// (subprocessorchange.go).
	changesColl     = "subprocessor_changes"
	changeCustsColl = "subprocessor_change_customers"
	objectionsColl  = "subprocessor_objections"
	resolutionsColl = "subprocessor_objection_resolutions"
	metaColl        = "registry_meta"
)

// Store keeps the registry in one MongoDB database.
type Store struct {
	customers *mongo.Collection
	versions  *mongo.Collection
	subprocs  *mongo.Collection
	history   *mongo.Collection
	dsrs      *mongo.Collection
	// removals and removalVersions hold sensitive-data removal requests
	// and the fences (and history) of their changes.
	removals        *mongo.Collection
	removalVersions *mongo.Collection
	// changes, changeCusts, objections and resolutions hold proposed
	// subprocessor changes; meta the registry version counter.
	changes     *mongo.Collection
	changeCusts *mongo.Collection
	objections  *mongo.Collection
	resolutions *mongo.Collection
	meta        *mongo.Collection
	// dsrVersions fences (and keeps the history of) changes of data
	// subject requests; returns and returnVersions hold data
	// return/deletion requests; signingKeys the development certificate
	// key (datareturn.go).
	dsrVersions    *mongo.Collection
	returns        *mongo.Collection
	returnVersions *mongo.Collection
	signingKeys    *mongo.Collection
}

var _ domain.Store = (*Store)(nil)

// New returns a Store over db. Call mongox.EnsureIndexes(ctx, db, Indexes())
// first: idempotency relies on the unique indexes.
func New(db *mongo.Database) *Store {
	return &Store{
		customers: db.Collection(customersColl),
		versions:  db.Collection(versionsColl),
		subprocs:  db.Collection(subprocsColl),
		history:   db.Collection(historyColl),
		dsrs:      db.Collection(dsrColl),

		removals:        db.Collection(removalsColl),
		removalVersions: db.Collection(removalVerColl),

		dsrVersions:    db.Collection(dsrVerColl),
		returns:        db.Collection(returnsColl),
		returnVersions: db.Collection(returnVerColl),
		signingKeys:    db.Collection(signingKeysColl),

		changes:     db.Collection(changesColl),
		changeCusts: db.Collection(changeCustsColl),
		objections:  db.Collection(objectionsColl),
		resolutions: db.Collection(resolutionsColl),
		meta:        db.Collection(metaColl),
	}
}

// Indexes are the indexes the store needs: unique request keys for
// idempotent creates, and (filter, _id) pairs so every filtered list walks
// an index in page order.
func Indexes() mongox.Indexes {
	uniqueKey := mongo.IndexModel{
		Keys:    bson.D{{Key: requestKeyField, Value: 1}},
		Options: options.Index().SetUnique(true),
	}
	return mongox.Indexes{
		customersColl: {
			uniqueKey,
			{Keys: bson.D{{Key: "region", Value: 1}, {Key: "_id", Value: 1}}},
			{Keys: bson.D{{Key: "change_sync_pending", Value: 1}, {Key: "update_time", Value: 1}}},
		},
		versionsColl: {
			{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "version", Value: 1}}},
		},
		subprocsColl: {
			uniqueKey,
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "_id", Value: 1}}},
			{Keys: bson.D{{Key: "products", Value: 1}, {Key: "_id", Value: 1}}},
			{Keys: bson.D{{Key: "history_pending", Value: 1}, {Key: "update_time", Value: 1}}},
		},
		historyColl: {
			{
				Keys:    bson.D{{Key: "subprocessor_id", Value: 1}, {Key: "version", Value: 1}},
				Options: options.Index().SetUnique(true),
			},
			{Keys: bson.D{{Key: "time", Value: 1}}},
		},
		dsrColl: {
			uniqueKey,
			{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "_id", Value: 1}}},
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "due_time", Value: 1}}},
			{Keys: bson.D{{Key: "forward_pending", Value: 1}, {Key: "_id", Value: 1}}},
		},
		dsrVerColl: {
			{Keys: bson.D{{Key: "dsr_id", Value: 1}, {Key: "version", Value: 1}}},
		},
		returnsColl: {
			uniqueKey,
			{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "_id", Value: 1}}},
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "_id", Value: 1}}},
		},
		returnVerColl: {
			{Keys: bson.D{{Key: "data_return_request_id", Value: 1}, {Key: "version", Value: 1}}},
		},
		removalsColl: {
			uniqueKey,
			{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "_id", Value: 1}}},
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "deadline", Value: 1}}},
			{Keys: bson.D{{Key: "notify_customer_pending", Value: 1}, {Key: "_id", Value: 1}}},
		},
		removalVerColl: {
			{Keys: bson.D{{Key: "removal_request_id", Value: 1}, {Key: "version", Value: 1}}},
		},
		changesColl: {
			uniqueKey,
			{Keys: bson.D{{Key: "subprocessor_id", Value: 1}, {Key: "_id", Value: 1}}},
			{Keys: bson.D{{Key: "fanout_pending", Value: 1}, {Key: "create_time", Value: 1}}},
		},
		changeCustsColl: {
			{Keys: bson.D{{Key: "change_id", Value: 1}, {Key: "customer_id", Value: 1}}},
			{Keys: bson.D{{Key: "notify_pending", Value: 1}, {Key: "_id", Value: 1}}},
		},
		objectionsColl: {
			uniqueKey,
			{Keys: bson.D{{Key: "change_id", Value: 1}, {Key: "customer_id", Value: 1}}},
		},
		resolutionsColl: {
			uniqueKey,
			{Keys: bson.D{{Key: "change_id", Value: 1}, {Key: "customer_id", Value: 1}}},
		},
	}
}

// requestKey is the value of request_key for a create of id.
func requestKey(idem domain.Idempotency, id string) string {
	if idem.Key != "" {
		return "req:" + idem.Key
	}
	return "id:" + id
}

// insertOnce inserts doc (whose _id is id, request_key from idem) and
// returns the stored document: doc, or on a duplicate-key failure the
// document the same request (same key and fingerprint) made earlier. A key
// reused with other input is domain.RequestReusedError; any other duplicate
// is ErrAlreadyExists.
func insertOnce[D any](ctx context.Context, coll *mongo.Collection, doc D, id string, idem domain.Idempotency) (D, error) {
	_, err := coll.InsertOne(ctx, doc)
	if err == nil {
		return doc, nil
	}
	var zero D
	if !mongox.IsDuplicateKey(err) {
		return zero, fmt.Errorf("insert into %s: %w", coll.Name(), err)
	}
	if idem.Key != "" {
		var raw bson.Raw
		err := coll.FindOne(ctx, bson.D{{Key: requestKeyField, Value: requestKey(idem, id)}}).Decode(&raw)
		switch {
		case err == nil:
			if fp, _ := raw.Lookup("fingerprint").StringValueOK(); fp != idem.Fingerprint {
				return zero, domain.RequestReusedError()
			}
			var prev D
			if err := bson.Unmarshal(raw, &prev); err != nil {
				return zero, fmt.Errorf("decode %s: %w", coll.Name(), err)
			}
			return prev, nil
		case !errors.Is(err, mongo.ErrNoDocuments):
			return zero, fmt.Errorf("find request in %s: %w", coll.Name(), err)
		}
	}
	return zero, apperr.ErrAlreadyExists
}

// findByID reads the document with _id id from coll; a missing one is
// NOT_FOUND naming what ("customer", "subprocessor", ...) and id.
func findByID[D any](ctx context.Context, coll *mongo.Collection, id, what string) (D, error) {
	var doc D
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
		return doc, mongox.NotFound(err, what+" "+id)
	}
	return doc, nil
}

// utc returns t in UTC; the driver decodes BSON dates in local time
// otherwise on some configurations.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// orEmpty stores absent lists as empty arrays, so that list filters and
// indexes see one shape.
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// nilIfEmpty returns lists read back to the domain's "no entries" shape.
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// findPage runs a paged query in _id order and decodes every document with
// decode.
func findPage[D any, T any](ctx context.Context, coll *mongo.Collection, filter bson.D, limit int, toDomain func(D) T) ([]T, error) {
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit))
	docs, err := mongox.FindAll[D](ctx, coll, filter, opts)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(docs))
	for _, d := range docs {
		out = append(out, toDomain(d))
	}
	return out, nil
}

// afterFilter adds the page cursor to filter.
func afterFilter(filter bson.D, after string) bson.D {
	if after != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}})
	}
	return filter
}
