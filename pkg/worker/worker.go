// Package worker runs background loops: the relays that carry a pending side
// effect from the document that owns it to the service that performs it.
package worker

import (
	"context"
	"log/slog"
	"time"
)

// Step does one unit of work and reports whether it found any. Errors are
// logged and retried after idle; a Step must be safe to repeat.
type Step func(ctx context.Context) (didWork bool, err error)

// Run calls step until ctx is done. While step finds work it is called again
// at once (draining a backlog fast); when it finds none or fails, Run waits
// idle before the next call.
func Run(ctx context.Context, logger *slog.Logger, name string, idle time.Duration, step Step) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		did, err := step(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			logger.WarnContext(ctx, "worker step failed", "worker", name, "error", err.Error())
			t.Reset(idle)
		case did:
			t.Reset(0)
		default:
			t.Reset(idle)
		}
	}
}
