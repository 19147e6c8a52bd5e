package devstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	// The SQLite driver FerretDB itself links; devstore opens the same
	// files to add the _id lookup index (see idIndexer).
	_ "modernc.org/sqlite"
)

// idIndexSweep is how often new collections get their _id lookup index.
const idIndexSweep = 250 * time.Millisecond

// idIndexer works around a FerretDB v1.24 SQLite-backend mismatch that turns
// every lookup by _id into a full table scan: FerretDB indexes `_id` as the
// SQL expression `_ferretdb_sjson->'_id'` but pushes `{_id: v}` filters
// down as `_ferretdb_sjson->'$._id' = ?`, which SQLite cannot answer from
// that index because the expressions differ. idIndexer adds an index on the
// exact pushed-down expression to every collection table, turning a 20,000
// document lookup from ~40 ms into ~0.5 ms.
//
// The index is invisible to FerretDB (it is not in FerretDB's collection
// metadata), is dropped with its table, and changes no query result: it
// only lets SQLite's planner find rows by _id. Production runs on MongoDB,
// where the _id index is used natively, so service code is the same on both.
type idIndexer struct {
	dir string
	log *slog.Logger
	// done holds the tables already indexed, per database file.
	done map[string]bool
}

// run sweeps every idIndexSweep until ctx ends.
func (x *idIndexer) run(ctx context.Context) {
	tick := time.NewTicker(idIndexSweep)
	defer tick.Stop()
	for {
		if err := x.sweep(ctx); err != nil && ctx.Err() == nil {
			x.log.WarnContext(ctx, "devstore: _id index sweep failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sweep indexes every collection table that lacks the _id lookup index. It
// opens and closes each database file per sweep, so a database FerretDB
// drops (and deletes) is never held open.
func (x *idIndexer) sweep(ctx context.Context) error {
	files, err := filepath.Glob(filepath.Join(x.dir, "*.sqlite"))
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		errs = append(errs, x.sweepFile(ctx, f))
	}
	return errors.Join(errs...)
}

func (x *idIndexer) sweepFile(ctx context.Context, file string) error {
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close() //nolint:errcheck // read-mostly handle; nothing to report on close
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM _ferretdb_collections`)
	if err != nil {
		// A database file FerretDB is still creating has no metadata yet.
		return nil //nolint:nilerr // retried on the next sweep
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			_ = rows.Close()
			return err
		}
		if !x.done[file+"\x00"+t] {
			tables = append(tables, t)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for _, t := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, t+"_breachline_id_lookup", t)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("index %s: %w", t, err)
		}
		x.done[file+"\x00"+t] = true
	}
	return nil
}
