// Package devstore runs the embedded MongoDB-compatible server: FerretDB over
// SQLite files, in-process. It backs `make run`, the tests and CI, so the
// services always talk the real MongoDB wire protocol through the official
// driver. Production points MONGODB_URI at a MongoDB replica set instead.
package devstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Options configure the embedded server.
type Options struct {
	// Dir holds the SQLite files, one per database. Created if missing.
	Dir string
	// Addr is the TCP listen address, e.g. "127.0.0.1:27018" or "127.0.0.1:0".
	Addr string
	// Logger receives FerretDB's own logs; nil discards them.
	Logger *slog.Logger
}

// Server is a running embedded server.
type Server struct {
	f      *ferretdb.FerretDB
	cancel context.CancelFunc
	done   chan struct{}
	// indexed closes when the _id indexer (see idIndexer) has stopped.
	indexed chan struct{}
}

// Start starts the server and returns once it accepts connections.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Dir == "" || opts.Addr == "" {
		return nil, errors.New("devstore: Dir and Addr are required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("devstore: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("devstore: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: opts.Addr},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		Logger:    logger,
	})
	if err != nil {
		return nil, fmt.Errorf("devstore: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Server{f: f, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		// Run returns when runCtx is cancelled (by Close); its error then
		// only says so.
		_ = f.Run(runCtx)
	}()
	ix := &idIndexer{dir: dir, log: logger, done: map[string]bool{}}
	s.indexed = make(chan struct{})
	go func() {
		defer close(s.indexed)
		ix.run(runCtx)
	}()
	// MongoDBURI blocks until the listener is bound.
	_ = f.MongoDBURI()
	return s, nil
}

// URI is the mongodb:// URI clients connect to.
func (s *Server) URI() string { return s.f.MongoDBURI() }

// Close stops the server and waits for it to exit.
func (s *Server) Close() {
	s.cancel()
	<-s.done
	<-s.indexed
}
