package devstore

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestIDLookupIndex checks that every collection table gets the index the
// pushed-down _id filter can use, and that lookups by _id still find
// exactly the right document before and after it exists.
func TestIDLookupIndex(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, err := Start(t.Context(), Options{Dir: dir, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	client, err := mongo.Connect(options.Client().ApplyURI(srv.URI()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(t.Context()) })
	coll := client.Database("idx").Collection("docs")
	docs := make([]any, 0, 500)
	for i := range 500 {
		docs = append(docs, bson.D{{Key: "_id", Value: fmt.Sprintf("d%04d", i)}, {Key: "n", Value: i}})
	}
	if _, err := coll.InsertMany(t.Context(), docs); err != nil {
		t.Fatal(err)
	}
	lookup := func() {
		t.Helper()
		var got struct {
			N int `bson:"n"`
		}
		if err := coll.FindOne(t.Context(), bson.D{{Key: "_id", Value: "d0321"}}).Decode(&got); err != nil {
			t.Fatalf("find by _id: %v", err)
		}
		if got.N != 321 {
			t.Fatalf("find by _id: got n=%d, want 321", got.N)
		}
		err := coll.FindOne(t.Context(), bson.D{{Key: "_id", Value: "d9999"}}).Err()
		if !errors.Is(err, mongo.ErrNoDocuments) {
			t.Fatalf("find missing _id: got %v, want no documents", err)
		}
	}
	lookup()

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "idx.sqlite")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var plan string
		row := db.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE '%_breachline_id_lookup'`)
		var n int
		if err := row.Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			var table string
			if err := db.QueryRowContext(t.Context(), `SELECT table_name FROM _ferretdb_collections WHERE name = 'docs'`).Scan(&table); err != nil {
				t.Fatal(err)
			}
			var id, parent, notused int
			q := fmt.Sprintf(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM %q WHERE _ferretdb_sjson->'$._id' = ?`, table)
			if err := db.QueryRowContext(t.Context(), q, `"d0321"`).Scan(&id, &parent, &notused, &plan); err != nil {
				t.Fatal(err)
			}
			if want := table + "_breachline_id_lookup"; !strings.Contains(plan, want) {
				t.Fatalf("query plan %q does not use %s", plan, want)
			}
			break
		}
		select {
		case <-deadline.C:
			t.Fatal("no _id lookup index after 10s")
		case <-tick.C:
		}
	}
	lookup()
}
