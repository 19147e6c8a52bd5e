package domain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
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
	ledger
	assessor Assessor
	log      *slog.Logger
	opts     RelayOptions
}

// RelayActor is the actor of the timeline entries the relay records.
var RelayActor = Actor{Kind: ActorKindService, Subject: "intake/assessment-relay"}

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
	return &Relay{ledger: ledger{store: store, now: now}, assessor: assessor, log: log, opts: opts}
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
		err = r.complete(saveCtx, inc, assessmentID)
		superseded := errors.Is(err, apperr.ErrConflict)
		if err != nil && !superseded {
			return true, fmt.Errorf("complete assessment of %s: %w", inc.ID, err)
		}
		// Ends the claim; when the facts changed meanwhile the new version
		// stays due. A lost lease means another replica has it.
		if ferr := r.store.FinishAssessment(saveCtx, inc.ID, r.opts.Owner); ferr != nil && !errors.Is(ferr, apperr.ErrConflict) {
			return true, fmt.Errorf("finish assessment of %s: %w", inc.ID, ferr)
		}
		if superseded {
			// The facts changed while classification worked on the old ones;
			// the new facts version is pending and will be asked about.
			r.log.WarnContext(ctx, "assessment superseded", slog.String("incident_id", inc.ID))
			return true, nil
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

// complete records the assessment on the incident's timeline
// ("assessment.completed") and so on the incident. The entry's request id is
// the assessment request's, so a relay that lost its lease and completes
// the same facts version again records nothing twice.
func (r *Relay) complete(ctx context.Context, claimed Incident, assessmentID string) error {
	key := "assessment:" + claimed.AssessmentRequestID()
	_, _, err := r.commit(ctx, claimed.ID, Caller{Actor: RelayActor}, key, func(cur Incident) (Incident, *TimelineEntry, bool, error) {
		if cur.FactsVersion != claimed.FactsVersion || cur.AssessmentStatus != AssessmentStatusPending {
			return Incident{}, nil, false, fmt.Errorf("incident %s: facts version %d superseded: %w", cur.ID, claimed.FactsVersion, apperr.ErrConflict)
		}
		next := cur
		next.AssessmentStatus = AssessmentStatusCompleted
		next.AssessmentID = assessmentID
		next.LastError = ""
		return next, &TimelineEntry{
			Action:  ActionAssessmentCompleted,
			Summary: "Breach assessment " + assessmentID + " obtained for facts version " + strconv.FormatInt(cur.FactsVersion, 10),
			Changes: []Change{
				{Field: "assessment_status", OldValue: cur.AssessmentStatus.String(), NewValue: next.AssessmentStatus.String()},
				{Field: "assessment_id", OldValue: cur.AssessmentID, NewValue: assessmentID},
			},
		}, true, nil
	})
	if errors.Is(err, errReplay) {
		return nil
	}
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
