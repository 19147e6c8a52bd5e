package mongox

import (
	"context"
	"errors"
	"sync"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// DefaultInsertBatch is the largest batch an Inserter writes at once.
const DefaultInsertBatch = 256

// Inserter group-commits single-document inserts into one collection:
// inserts that arrive while a batch is being written are written together
// as the next batch, by one unordered InsertMany. Under load this turns N
// round trips and N store commits into one of each; an insert that arrives
// when nothing is in flight is written at once, so it adds no latency when
// idle.
//
// Each caller gets its own document's outcome: nil once the document is
// durably stored (the batch's write concern applies to every document), a
// duplicate-key error that IsDuplicateKey recognises when a unique index
// refused that document, or the batch's error when the whole write failed.
// A document's fate does not depend on the other documents in its batch.
//
// The zero value is not usable; use NewInserter. An Inserter is safe for
// concurrent use.
type Inserter struct {
	coll *mongo.Collection
	max  int
	gate *sync.Mutex

	mu       sync.Mutex
	pending  []*insertReq
	flushing bool
}

type insertReq struct {
	doc  any
	done chan error
}

// NewInserter returns an Inserter into coll writing at most maxBatch
// documents per InsertMany (DefaultInsertBatch when maxBatch <= 0).
//
// Inserters that share a WriteGate write one batch at a time between them.
// Give the inserters of one database a common gate: a store that takes one
// writer at a time (the embedded SQLite store) otherwise makes concurrent
// batches wait on its lock with sleeps of up to 100 ms, while batches that
// queue behind the gate simply grow.
func NewInserter(coll *mongo.Collection, maxBatch int, gate *WriteGate) *Inserter {
	if maxBatch <= 0 {
		maxBatch = DefaultInsertBatch
	}
	if gate == nil {
		gate = &WriteGate{}
	}
	return &Inserter{coll: coll, max: maxBatch, gate: &gate.mu}
}

// WriteGate serialises the batches of the Inserters that share it.
type WriteGate struct{ mu sync.Mutex }

// Insert stores doc and returns its outcome (see Inserter). When ctx ends
// first, Insert returns ctx's error and the document may or may not be
// stored, as with any write whose answer was not awaited; callers recover
// the way they would from a lost reply, by an idempotent retry.
func (b *Inserter) Insert(ctx context.Context, doc any) error {
	r := &insertReq{doc: doc, done: make(chan error, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, r)
	lead := !b.flushing
	b.flushing = true
	b.mu.Unlock()
	if lead {
		// pending was empty (flushing is only cleared when it is), so this
		// request is in the batch written now.
		b.flush()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush writes the next batch and, when more requests are waiting, hands
// them to a new goroutine, so that no caller keeps writing other callers'
// batches after its own is done.
func (b *Inserter) flush() {
	b.gate.Lock()
	defer b.gate.Unlock()
	b.mu.Lock()
	n := min(len(b.pending), b.max)
	batch := b.pending[:n:n]
	b.pending = b.pending[n:]
	b.mu.Unlock()

	b.write(batch)

	b.mu.Lock()
	more := len(b.pending) > 0
	if !more {
		b.flushing = false
		b.pending = nil
	}
	b.mu.Unlock()
	if more {
		go b.flush()
	}
}

// write inserts batch with one unordered InsertMany and answers each
// request. The write is not bound to any caller's context: it carries
// other callers' documents.
func (b *Inserter) write(batch []*insertReq) {
	docs := make([]any, len(batch))
	for i, r := range batch {
		docs[i] = r.doc
	}
	_, err := b.coll.InsertMany(context.Background(), docs, options.InsertMany().SetOrdered(false))
	errs := make([]error, len(batch))
	var bwe mongo.BulkWriteException
	switch {
	case err == nil:
	case errors.As(err, &bwe) && bwe.WriteConcernError == nil:
		for _, we := range bwe.WriteErrors {
			if we.Index >= 0 && we.Index < len(errs) {
				errs[we.Index] = mongo.WriteException{WriteErrors: []mongo.WriteError{we.WriteError}}
			}
		}
	default:
		for i := range errs {
			errs[i] = err
		}
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
}
