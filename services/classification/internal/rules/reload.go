package rules

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"
)

// Reloader watches RULE_PACKS_DIR and swaps the engine's library when the
// directory changes. It polls modification times (no extra dependency, and
// it works on every file system, network mounts and Kubernetes ConfigMap
// symlink swaps included). A directory whose packs do not validate is
// rejected with a log line and the previous library stays active.
type Reloader struct {
	engine *Engine
	dir    string
	logger *slog.Logger
	last   string
}

// NewReloader returns a Reloader for dir. Call Load once before serving.
func NewReloader(engine *Engine, dir string, logger *slog.Logger) *Reloader {
	return &Reloader{engine: engine, dir: dir, logger: logger}
}

// Load loads the embedded packs with dir's, and activates them; an error
// leaves the active library unchanged.
func (r *Reloader) Load() error {
	stamp, err := dirStamp(r.dir)
	if err != nil {
		return err
	}
	lib, err := WithDirectory(os.DirFS(r.dir))
	r.last = stamp
	if err != nil {
		return fmt.Errorf("rule packs in %s: %w", r.dir, err)
	}
	r.engine.Swap(lib)
	return nil
}

// Step reloads when the directory changed since the last look, and reports
// whether it did. Invalid packs are logged and ignored until they change.
func (r *Reloader) Step(ctx context.Context) (bool, error) {
	stamp, err := dirStamp(r.dir)
	if err != nil {
		r.logger.WarnContext(ctx, "rule pack directory unreadable; keeping the active packs", "dir", r.dir, "error", err.Error())
		return false, nil
	}
	if stamp == r.last {
		return false, nil
	}
	if err := r.Load(); err != nil {
		r.logger.ErrorContext(ctx, "rule pack reload rejected; keeping the active packs", "dir", r.dir, "error", err.Error())
		return false, nil
	}
	r.logger.InfoContext(ctx, "rule packs reloaded", "dir", r.dir, "packs", fmt.Sprint(r.engine.Library().Current(time.Now())))
	return true, nil
}

// dirStamp fingerprints the *.yaml files of dir by name, size and
// modification time.
func dirStamp(dir string) (string, error) {
	fsys := os.DirFS(dir)
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return "", err
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		info, err := fs.Stat(fsys, n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s|%d|%d;", n, info.Size(), info.ModTime().UnixNano())
	}
	return b.String(), nil
}
