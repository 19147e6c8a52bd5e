package domain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/breachline/breachline/pkg/mongox"
)

// TimelineEntry is an action of dispatch that belongs on the incident's
// timeline in intake. It is recorded here first (pending) and carried over
// by the timeline relay, with RequestID as intake's idempotency key, so an
// entry is neither lost when intake is down nor recorded twice.
type TimelineEntry struct {
	RequestID  string
	IncidentID string
	Action     string
	Summary    string
	Attempts   int
}

// note records a timeline entry for later relay. It is called after the
// state change it describes; every path that finds the change already made
// (a retried request) calls it again, and the deterministic request id
// makes that a no-op.
func (s *Service) note(ctx context.Context, incidentID, requestID, action, summary string) error {
	if err := s.store.EnqueueTimeline(ctx, TimelineEntry{RequestID: requestID, IncidentID: incidentID, Action: action, Summary: summary}); err != nil {
		return fmt.Errorf("record timeline entry: %w", err)
	}
	return nil
}

// RelayTimeline carries one pending entry to intake. It is a worker.Step.
func (s *Service) RelayTimeline(owner string) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		if s.timeline == nil {
			return false, nil
		}
		now := s.now()
		e, ok, err := s.store.ClaimTimeline(ctx, owner, now, time.Minute)
		if err != nil || !ok {
			return false, err
		}
		if err := s.timeline.AppendTimelineEntry(ctx, e.IncidentID, e.RequestID, e.Action, e.Summary); err != nil {
			next := now.Add(mongox.Backoff(e.Attempts, time.Second, 5*time.Minute))
			return true, fmt.Errorf("append timeline entry: %w", errors.Join(err, s.store.RetryTimeline(ctx, e.RequestID, owner, next)))
		}
		return true, s.store.CompleteTimeline(ctx, e.RequestID, owner)
	}
}
