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
	// ListIncidents returns a page of incidents matching f, newest first. The
	// page token is opaque and bound to f; a bad token is an
	// *apperr.InvalidError on page_token.
	ListIncidents(ctx context.Context, f IncidentFilter, p PageRequest) (IncidentPage, error)
	// ClaimAssessment leases the oldest incident whose assessment is pending
	// and due at now to owner until now+leaseFor, counting the attempt. It
	// reports false when none is due.
	ClaimAssessment(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (Incident, bool, error)
	// CompleteAssessment records assessmentID for the facts version owner
	// asked about and clears the lease. It returns apperr.ErrConflict when
	// owner no longer holds the lease or the facts changed meanwhile.
	CompleteAssessment(ctx context.Context, id, owner string, factsVersion int64, assessmentID string, now time.Time) error
	// RetryAssessment records a failed attempt (lastError must hold no
	// personal data), schedules the next one at next and releases the lease.
	// It returns apperr.ErrConflict when owner no longer holds the lease.
	RetryAssessment(ctx context.Context, id, owner string, next time.Time, lastError string) error
}
