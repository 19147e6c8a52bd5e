package domain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
)

// maxAppendAttempts bounds how often commit re-reads the head after losing
// a race for the next seq. Each loss means another entry was recorded, so
// this only runs out under sustained contention on one incident; the
// caller then gets ABORTED and may retry.
const maxAppendAttempts = 16

// ledger writes an incident's timeline and keeps the incident document in
// step with it. Intake and the assessment relay share it.
//
// The timeline is the incident's write-ahead log. Every change to an
// incident is first appended as a timeline entry that carries the incident
// as it is after the change (its snapshot, with the new version). The
// insert of seq n+1 is the fence: a unique index on (incident_id, seq) lets
// exactly one of several concurrent writers have it, on MongoDB and on the
// embedded FerretDB alike, and the loser re-reads the head and re-checks its
// precondition (a stale etag then fails with ABORTED). Only after the entry
// is stored is the snapshot applied to the incident document, with a filter
// that never moves a document backwards, so applying it twice is harmless.
//
// A crash between the two writes leaves an entry whose snapshot is newer
// than the document. Every read or write of the incident through load sees
// that (the head's version is above the document's) and applies the
// snapshot first, so the change is never lost and never exists without its
// entry; the relay's pending-assessment scan repairs lagging assessments the
// same way. Only ListIncidents may show such a document's previous version
// until the incident is next read or written.
type ledger struct {
	store Store
	now   func() time.Time
}

// view is an incident as its timeline says it is.
type view struct {
	inc  Incident
	head TimelineEntry // Seq 0 and Hash GenesisHash when the timeline is empty
}

// load returns the incident and its timeline head, first applying a change
// the timeline records but the document lacks (see ledger).
func (l ledger) load(ctx context.Context, id string) (view, error) {
	head, hasHead, err := l.store.HeadEntry(ctx, id)
	if err != nil {
		return view{}, err
	}
	inc, err := l.store.GetIncident(ctx, id)
	missing := errors.Is(err, apperr.ErrNotFound)
	if err != nil && !missing {
		return view{}, err
	}
	if !hasHead {
		if missing {
			return view{}, err
		}
		// An incident from before timelines existed.
		return view{inc: inc, head: TimelineEntry{Hash: GenesisHash, IncidentVersion: inc.Version}}, nil
	}
	if !missing && inc.Version >= head.IncidentVersion {
		return view{inc: inc, head: head}, nil
	}
	change, ok, err := l.store.LatestChange(ctx, id, head.Seq)
	if err != nil {
		return view{}, err
	}
	if !ok {
		if missing {
			return view{}, fmt.Errorf("incident %s: %w", id, apperr.ErrNotFound)
		}
		return view{inc: inc, head: head}, nil
	}
	snap := *change.Snapshot
	if missing {
		if _, err := l.store.EnsureIncident(ctx, snap); err != nil {
			return view{}, err
		}
	} else if _, err := l.store.ApplySnapshot(ctx, snap, snap.FactsVersion > inc.FactsVersion); err != nil {
		return view{}, err
	}
	return view{inc: snap, head: head}, nil
}

// mutation computes the change an action makes to cur. It returns the
// incident after it and the entry describing it (Action, Summary, Note,
// Changes), or a nil entry when the action changes nothing. changed says
// whether the incident itself changed (false for notes and other services'
// entries, which do not move the etag).
type mutation func(cur Incident) (next Incident, e *TimelineEntry, changed bool, err error)

// commit records one action on incident id as the next timeline entry and,
// when it changes the incident, applies the change (see ledger). requestID
// is the entry's idempotency key: when an entry with that key exists, commit
// returns it and the current incident and changes nothing.
func (l ledger) commit(ctx context.Context, id string, caller Caller, requestID string, mutate mutation) (Incident, *TimelineEntry, error) {
	for range maxAppendAttempts {
		v, err := l.load(ctx, id)
		if err != nil {
			return Incident{}, nil, err
		}
		prev, err := l.store.EntryByRequestID(ctx, id, requestID)
		if err == nil {
			return v.inc, &prev, errReplay
		}
		if !errors.Is(err, apperr.ErrNotFound) {
			return Incident{}, nil, err
		}
		next, e, changed, err := mutate(v.inc)
		if err != nil || e == nil {
			return next, nil, err
		}
		now := l.now().UTC().Truncate(time.Millisecond)
		e.IncidentID = id
		e.Seq = v.head.Seq + 1
		e.PrevHash = v.head.Hash
		e.Time = now
		e.Actor = caller.Actor
		e.CorrelationID = caller.CorrelationID
		e.RequestID = requestID
		e.IncidentVersion = max(v.inc.Version, v.head.IncidentVersion)
		if changed {
			next.Version = e.IncidentVersion + 1
			next.UpdateTime = now
			e.IncidentVersion = next.Version
			snap := next
			e.Snapshot = &snap
		}
		e.Changes = truncateChanges(e.Changes)
		e.Hash = HashEntry(*e)

		switch err := l.store.InsertEntry(ctx, *e); {
		case errors.Is(err, apperr.ErrConflict):
			continue // another entry took the seq; re-read and re-check
		case errors.Is(err, apperr.ErrAlreadyExists):
			continue // the same request was recorded meanwhile; the next round returns it
		case err != nil:
			return Incident{}, nil, err
		}
		observeEntry(ctx, v.inc, *e)
		if !changed {
			return v.inc, e, nil
		}
		// The change is durable from here: the entry is the record of it. A
		// failure to apply it now is repaired by the next load, so it is not
		// reported to the caller as a failure of the change.
		_, _ = l.store.ApplySnapshot(context.WithoutCancel(ctx), next, next.FactsVersion != v.inc.FactsVersion)
		return next, e, nil
	}
	return Incident{}, nil, fmt.Errorf("incident %s: timeline busy, try again: %w", id, apperr.ErrConflict)
}

// errReplay marks a commit that found its request already recorded; callers
// turn it into the first call's answer.
var errReplay = errors.New("request already recorded")

func truncateChanges(cs []Change) []Change {
	for i := range cs {
		cs[i].OldValue = cutValue(cs[i].OldValue)
		cs[i].NewValue = cutValue(cs[i].NewValue)
	}
	return cs
}

// cutValue shortens a rendered value to MaxChangeValue bytes, ending in "…".
func cutValue(s string) string {
	if len(s) <= MaxChangeValue {
		return s
	}
	return truncate(s, MaxChangeValue-len("…")) + "…"
}
