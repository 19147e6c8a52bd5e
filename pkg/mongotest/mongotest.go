// Package mongotest gives each test its own fresh database on the real,
// embedded MongoDB-compatible server (FerretDB over SQLite), started once per
// test binary. Fresh databases let store contract tests run in parallel.
package mongotest

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/devstore"
)

var (
	once    sync.Once
	client  *mongo.Client
	uri     string
	initErr error
	seq     atomic.Int64
)

func start() {
	dir, err := os.MkdirTemp("", "breachline-mongotest-")
	if err != nil {
		initErr = err
		return
	}
	// The server lives as long as the test binary; its files are in a temp dir.
	srv, err := devstore.Start(context.Background(), devstore.Options{Dir: dir, Addr: "127.0.0.1:0"})
	if err != nil {
		initErr = err
		return
	}
	uri = srv.URI()
	client, initErr = mongo.Connect(options.Client().ApplyURI(uri))
}

// URI starts the shared server if needed and returns its URI, for tests that
// start real binaries against it.
func URI(t testing.TB) string {
	t.Helper()
	once.Do(start)
	if initErr != nil {
		t.Fatalf("mongotest: start embedded server: %v", initErr)
	}
	return uri
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// DBName returns a database name unique to this test.
func DBName(t testing.TB) string {
	name := unsafe.ReplaceAllString(t.Name(), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	return fmt.Sprintf("t%d_%s", seq.Add(1), name)
}

// DB returns a fresh, empty database for this test, dropped when it ends.
func DB(t testing.TB) *mongo.Database {
	t.Helper()
	URI(t)
	db := client.Database(DBName(t))
	t.Cleanup(func() { _ = db.Drop(context.Background()) })
	return db
}
