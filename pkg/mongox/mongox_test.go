package mongox_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
)

type job struct {
	ID       string `bson:"_id"`
	Pending  bool   `bson:"pending"`
	Owner    string `bson:"lease_owner"`
	Attempts int    `bson:"attempts"`
}

func TestClaim(t *testing.T) {
	t.Parallel()
	coll := mongotest.DB(t).Collection("jobs")
	if _, err := coll.InsertOne(t.Context(), bson.M{"_id": "j1", "pending": true}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	pending := bson.D{{Key: "pending", Value: true}}

	t.Run("case=one-of-many-concurrent-claimers-wins", func(t *testing.T) {
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var j job
				ok, err := mongox.Claim(t.Context(), coll, pending, string(rune('a'+i)), now, time.Minute, &j)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d claimers won the same lease, want 1", wins.Load())
		}
	})

	t.Run("case=expired-lease-is-reclaimed", func(t *testing.T) {
		var j job
		ok, err := mongox.Claim(t.Context(), coll, pending, "late", now.Add(2*time.Minute), time.Minute, &j)
		if err != nil || !ok {
			t.Fatalf("claim after expiry = %v, %v; want true", ok, err)
		}
		if j.Owner != "late" || j.Attempts != 2 {
			t.Fatalf("claimed %+v, want owner late with 2 attempts", j)
		}
	})
}

func TestPageSize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      int32
		want    int
		invalid bool
	}{{0, 50, false}, {10, 10, false}, {1000, 500, false}, {-1, 0, true}}
	for _, tc := range cases {
		got, err := mongox.PageSize(tc.in, 50, 500)
		_, isInvalid := apperr.AsInvalid(err)
		if got != tc.want || isInvalid != tc.invalid {
			t.Errorf("PageSize(%d) = %d, %v; want %d, invalid=%v", tc.in, got, err, tc.want, tc.invalid)
		}
	}
}

func TestPageTokenRoundTrip(t *testing.T) {
	t.Parallel()
	tok, err := mongox.EncodePageToken(map[string]string{"after": "inc_1"})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := mongox.DecodePageToken(tok, &got); err != nil || got["after"] != "inc_1" {
		t.Fatalf("round trip = %v, %v", got, err)
	}
	if _, ok := apperr.AsInvalid(mongox.DecodePageToken("%%%", &got)); !ok {
		t.Fatal("garbage token accepted")
	}
}

// TestEnsureIndexesTwice guards the restart path: creating the same indexes
// again (every replica start) must succeed on the embedded server.
func TestEnsureIndexesTwice(t *testing.T) {
	t.Parallel()
	db := mongotest.DB(t)
	idx := mongox.Indexes{"things": {
		{Keys: bson.D{{Key: "a", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "b", Value: 1}, {Key: "c", Value: -1}}},
	}}
	for i := range 2 {
		if err := mongox.EnsureIndexes(t.Context(), db, idx); err != nil {
			t.Fatalf("EnsureIndexes run %d: %v", i+1, err)
		}
	}
}

// TestClaimOrderBy checks that OrderBy picks due work in the given order
// rather than by _id.
func TestClaimOrderBy(t *testing.T) {
	t.Parallel()
	coll := mongotest.DB(t).Collection("jobs")
	base := time.Now().UTC().Truncate(time.Millisecond)
	for i, id := range []string{"c", "b", "a"} {
		if _, err := coll.InsertOne(t.Context(), bson.M{"_id": id, "pending": true, "created_at": base.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for range 3 {
		var j job
		ok, err := mongox.Claim(t.Context(), coll, bson.D{{Key: "pending", Value: true}}, "w", base, time.Minute, &j,
			mongox.OrderBy(bson.D{{Key: "created_at", Value: 1}}))
		if err != nil || !ok {
			t.Fatalf("claim = %v, %v", ok, err)
		}
		got = append(got, j.ID)
	}
	if fmt.Sprint(got) != "[c b a]" {
		t.Fatalf("claimed %v, want creation order [c b a]", got)
	}
}
