package domain

import (
	"context"
	"time"
)

// Store is the persistence intake needs. It is narrow on purpose: every
// method is one atomic single-document operation, because the store has no
// multi-document transactions.
type Store interface {
	// InsertSignal records a new signal. It returns apperr.ErrAlreadyExists
	// when a signal with the same (Source, SourceEventID) exists; a unique
	// index decides, so concurrent duplicates cannot both succeed.
	InsertSignal(ctx context.Context, s Signal) error
	// SignalBySourceEvent returns the stored signal for (source, eventID), or
	// apperr.ErrNotFound.
	SignalBySourceEvent(ctx context.Context, source, eventID string) (Signal, error)
	// EnsureIncident inserts inc unless an incident with inc.ID exists, and
	// returns the stored incident either way. Calling it again with the same
	// incident changes nothing, which is how a crash between storing the
	// signal and opening its incident is repaired by the retry.
	EnsureIncident(ctx context.Context, inc Incident) (Incident, error)
	// GetIncident returns one incident, or apperr.ErrNotFound.
	GetIncident(ctx context.Context, id string) (Incident, error)
	// CorrelatedIncidents returns up to limit incidents with the given
	// correlation key that are not closed, newest first.
	CorrelatedIncidents(ctx context.Context, key string, limit int) ([]Incident, error)
	// ListIncidents returns a page of incidents matching f, newest first. The
	// page token is opaque and bound to f; a bad token is an
	// *apperr.InvalidError on page_token.
	ListIncidents(ctx context.Context, f IncidentFilter, p PageRequest) (IncidentPage, error)
	// ClaimAssessment leases the earliest incident whose assessment is
	// pending and due at now to owner until now+leaseFor, counting the
	// attempt (Incident.Attempts, with the previous attempt's LastError). It
	// reports false when none is due.
	ClaimAssessment(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (Incident, bool, error)
	// RetryAssessment records a failed attempt (lastError must hold no
	// personal data), schedules the next one at next and releases the lease.
	// It returns apperr.ErrConflict when owner no longer holds the lease.
	RetryAssessment(ctx context.Context, id, owner string, next time.Time, lastError string) error
	// FinishAssessment ends owner's claim of incident id's assessment once
	// the result is recorded; if the facts changed meanwhile the new ones
	// stay due. It returns apperr.ErrConflict when owner no longer holds
	// the lease.
	FinishAssessment(ctx context.Context, id, owner string) error

	// ApplySnapshot writes the versioned fields of inc onto its document
	// unless the document is already at inc.Version or later, and reports
	// whether the incident exists. It is how a change recorded on the
	// timeline reaches the incident (see Intake.commit), so it must be
	// idempotent. A snapshot whose assessment is completed also releases the
	// relay's lease; resetRelay (the facts changed) makes the new assessment
	// due at once.
	ApplySnapshot(ctx context.Context, inc Incident, resetRelay bool) (bool, error)

	// InsertEntry appends e to its incident's timeline. It returns
	// apperr.ErrConflict when another entry holds e.Seq (a concurrent
	// appender won; re-read the head and retry) and apperr.ErrAlreadyExists
	// when an entry with e.RequestID exists (the request was recorded
	// before). Unique indexes decide both, so concurrent appenders cannot
	// both succeed.
	InsertEntry(ctx context.Context, e TimelineEntry) error
	// EntryByRequestID returns the entry recorded under requestID, or
	// apperr.ErrNotFound.
	EntryByRequestID(ctx context.Context, incidentID, requestID string) (TimelineEntry, error)
	// HeadEntry returns the incident's entry with the highest seq, and false
	// when it has none.
	HeadEntry(ctx context.Context, incidentID string) (TimelineEntry, bool, error)
	// LatestChange returns the entry with the highest seq at most maxSeq
	// that carries a snapshot, and false when there is none.
	LatestChange(ctx context.Context, incidentID string, maxSeq int64) (TimelineEntry, bool, error)
	// ListEntries returns up to limit entries with seq above afterSeq, in
	// seq order (limit 0: all).
	ListEntries(ctx context.Context, incidentID string, afterSeq int64, limit int) ([]TimelineEntry, error)

	// InsertQuarantined stores a rejected SIEM payload.
	InsertQuarantined(ctx context.Context, q QuarantinedPayload) error
	// GetQuarantined returns one quarantined payload, or apperr.ErrNotFound.
	GetQuarantined(ctx context.Context, id string) (QuarantinedPayload, error)
	// ListQuarantined returns a page of quarantined payloads, newest first.
	ListQuarantined(ctx context.Context, p PageRequest) (QuarantinePage, error)
}
