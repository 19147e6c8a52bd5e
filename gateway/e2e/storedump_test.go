package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// dumpOnFailure logs the named collections ("database.collection") of the
// stack's store when the test fails: a stranded job shows in its work
// queue with its attempts, due time and lease.
func dumpOnFailure(t *testing.T, s stack, collections ...string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, name := range collections {
			docs, err := storeDocs(ctx, s, name)
			if err != nil {
				t.Logf("store dump %s: %v", name, err)
				continue
			}
			var b strings.Builder
			for _, d := range docs {
				fmt.Fprintf(&b, "\n  %v", d)
			}
			t.Logf("--- %s (%d) ---%s", name, len(docs), b.String())
		}
	})
}

// storeDocs reads every document of the collection name
// ("database.collection") from the stack's store.
func storeDocs(ctx context.Context, s stack, name string) ([]bson.M, error) {
	client, err := mongo.Connect(options.Client().ApplyURI(s.mongoURI()))
	if err != nil {
		return nil, err
	}
	defer func() { _ = client.Disconnect(ctx) }()
	db, coll, _ := strings.Cut(name, ".")
	cur, err := client.Database(db).Collection(coll).Find(ctx, bson.D{})
	if err != nil {
		return nil, err
	}
	var docs []bson.M
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	return docs, nil
}
