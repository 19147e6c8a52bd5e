package domain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongox"
)

// AssessmentRequest asks classification to assess one version of an
// incident's facts. RequestID makes the request idempotent.
type AssessmentRequest struct {
	RequestID  string
	IncidentID string
	Facts      BreachFacts
}

// Assessor obtains breach assessments (classification's AssessIncident). It
// is an interface so the relay does not depend on gRPC. Implementations must
// return errors whose text holds no personal data (it is stored as
// last_error) and should wrap apperr.ErrUnavailable for transient failures.
type Assessor interface {
	// AssessIncident returns the id of the stored assessment.
	AssessIncident(ctx context.Context, req AssessmentRequest) (assessmentID string, err error)
}

// RelayOptions tune the assessment relay. Zero values take the defaults.
type RelayOptions struct {
	// Owner names this relay instance in leases; must be unique per process.
	Owner string
	// Lease is how long a claimed incident is reserved (default 30s); a relay
	// that dies mid-call only delays the incident by this much.
	Lease time.Duration
	// CallTimeout bounds one AssessIncident call (default 10s); it must be
	// shorter than Lease.
	CallTimeout time.Duration
	// BackoffBase and BackoffMax bound the delay between attempts (default
	// 1s and 1m).
	BackoffBase, BackoffMax time.Duration
}

// Relay moves incidents with a pending assessment to completed by asking
// classification. The pending request lives on the incident document and is
// claimed with a lease, so it survives restarts and is shared safely between
// replicas.
type Relay struct {
	store    Store
	assessor Assessor
	now      func() time.Time
	log      *slog.Logger
	opts     RelayOptions
}

// NewRelay returns a relay; now is the clock.
func NewRelay(store Store, assessor Assessor, now func() time.Time, log *slog.Logger, opts RelayOptions) *Relay {
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 10 * time.Second
	}
	if opts.CallTimeout >= opts.Lease {
		opts.CallTimeout = opts.Lease / 2
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = time.Second
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = time.Minute
	}
	if opts.Owner == "" {
		opts.Owner = "relay"
	}
	return &Relay{store: store, assessor: assessor, now: now, log: log, opts: opts}
}

// Step handles at most one due incident and reports whether it found one.
// A failed assessment call is not an error of the step: it is recorded on
// the incident with its next attempt time, and Step returns (true, nil) so
// that other due incidents are not held up. Errors are store failures.
func (r *Relay) Step(ctx context.Context) (bool, error) {
	inc, ok, err := r.store.ClaimAssessment(ctx, r.opts.Owner, r.now().UTC(), r.opts.Lease)
	if err != nil || !ok {
		return false, err
	}

	callCtx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
	assessmentID, callErr := r.assessor.AssessIncident(callCtx, AssessmentRequest{
		RequestID:  inc.AssessmentRequestID(),
		IncidentID: inc.ID,
		Facts:      inc.Facts,
	})
	cancel()

	// The outcome is recorded even when ctx was cancelled (shutdown), so
	// that a finished call is not repeated needlessly.
	saveCtx := context.WithoutCancel(ctx)
	if callErr == nil {
		err = r.store.CompleteAssessment(saveCtx, inc.ID, r.opts.Owner, inc.FactsVersion, assessmentID, r.now().UTC())
		if errors.Is(err, apperr.ErrConflict) {
			// The lease expired and another relay took over; it will get the
			// same assessment back through the idempotent request id.
			r.log.WarnContext(ctx, "assessment lease lost", slog.String("incident_id", inc.ID))
			return true, nil
		}
		if err != nil {
			return true, fmt.Errorf("complete assessment of %s: %w", inc.ID, err)
		}
		r.log.InfoContext(ctx, "assessment completed",
			slog.String("incident_id", inc.ID), slog.String("assessment_id", assessmentID))
		return true, nil
	}

	delay := mongox.Backoff(inc.Attempts, r.opts.BackoffBase, r.opts.BackoffMax)
	next := r.now().UTC().Add(delay)
	lastErr := truncate(callErr.Error(), 500)
	err = r.store.RetryAssessment(saveCtx, inc.ID, r.opts.Owner, next, lastErr)
	if err != nil && !errors.Is(err, apperr.ErrConflict) {
		return true, fmt.Errorf("record failed assessment of %s: %w", inc.ID, err)
	}
	r.log.WarnContext(ctx, "assessment request failed; will retry",
		slog.String("incident_id", inc.ID),
		slog.Int("attempt", inc.Attempts),
		slog.Duration("retry_in", delay),
		slog.String("error", lastErr))
	return true, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
