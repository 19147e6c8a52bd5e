package mongox_test

import (
	"fmt"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
)

// TestInserter sends many concurrent inserts, some of them duplicates on a
// unique index, and checks each caller gets its own document's outcome and
// that exactly the non-duplicates are stored.
func TestInserter(t *testing.T) {
	t.Parallel()
	db := mongotest.DB(t)
	coll := db.Collection("things")
	_, err := coll.Indexes().CreateOne(t.Context(), mongo.IndexModel{
		Keys: bson.D{{Key: "key", Value: 1}}, Options: options.Index().SetUnique(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := coll.InsertOne(t.Context(), bson.D{{Key: "_id", Value: "pre"}, {Key: "key", Value: "k007"}}); err != nil {
		t.Fatal(err)
	}
	ins := mongox.NewInserter(coll, 16, nil)
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Every tenth key repeats the one before it; k007 is taken.
			key := fmt.Sprintf("k%03d", i-boolInt(i%10 == 9))
			errs[i] = ins.Insert(t.Context(), bson.D{{Key: "_id", Value: fmt.Sprintf("d%03d", i)}, {Key: "key", Value: key}})
		})
	}
	wg.Wait()
	var stored, dups int
	for i, err := range errs {
		switch {
		case err == nil:
			stored++
		case mongox.IsDuplicateKey(err):
			dups++
		default:
			t.Fatalf("insert %d: unexpected error %v", i, err)
		}
	}
	// 20 pairs share a key (one of each pair loses) and k007 was taken.
	if wantDups := n/10 + 1; dups != wantDups {
		t.Errorf("duplicates: got %d, want %d", dups, wantDups)
	}
	count, err := coll.CountDocuments(t.Context(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(stored + 1); count != want {
		t.Errorf("stored documents: got %d, want %d (acknowledged inserts + the pre-existing one)", count, want)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
