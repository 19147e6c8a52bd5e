package domain

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/breachline/breachline/pkg/mongox"
)

// Dispatcher drafts campaigns for an assessment's obligations. The real one
// calls DispatchService.CreateDraftCampaigns, which is idempotent on
// (assessment_id, obligation_id), so the relay may repeat a hand-over that
// succeeded but was not recorded.
type Dispatcher interface {
	CreateDraftCampaigns(ctx context.Context, incidentID, assessmentID string, obligations []Obligation) error
}

// Relay backoff and default lease: retries start after a second and back off
// to a minute; a claim is held long enough for one dispatch call.
const (
	relayBackoffBase = time.Second
	relayBackoffMax  = time.Minute
	relayLease       = 30 * time.Second
)

// Relay carries each new assessment's obligations to dispatch. The pending
// hand-over lives on the assessment document ("campaigns pending") until it
// is done, so it survives restarts and replicas share it through leases.
type Relay struct {
	store    Store
	dispatch Dispatcher
	now      func() time.Time
	owner    string
	logger   *slog.Logger
	lease    time.Duration
}

// NewRelay returns a Relay. owner names this replica's leases (host and pid
// in production, anything unique in tests).
func NewRelay(store Store, dispatch Dispatcher, now func() time.Time, owner string, logger *slog.Logger) *Relay {
	return &Relay{store: store, dispatch: dispatch, now: now, owner: owner, logger: logger, lease: relayLease}
}

// WithLease sets how long a claimed assessment is held (default 30s). The
// dispatch call is bounded to two thirds of it, so a slow call ends before
// another replica may take the assessment over.
func (r *Relay) WithLease(d time.Duration) *Relay {
	r.lease = d
	return r
}

// Step hands one due assessment to dispatch and reports whether it found
// one. A failed hand-over is recorded on the assessment with a backoff
// (mongox.Backoff) and is not an error of Step: the next due assessment can
// go ahead. Step returns an error only when the store fails.
func (r *Relay) Step(ctx context.Context) (bool, error) {
	p, ok, err := r.store.ClaimPendingCampaigns(ctx, r.owner, r.now().UTC(), r.lease)
	if err != nil || !ok {
		return false, err
	}
	a := p.Assessment
	// Only duties that fire become campaigns; notify=false obligations are
	// explanations.
	due := slices.DeleteFunc(slices.Clone(a.Obligations), func(o Obligation) bool { return !o.Notify })
	if len(due) > 0 {
		callCtx, cancel := context.WithTimeout(ctx, r.lease*2/3)
		err = r.dispatch.CreateDraftCampaigns(callCtx, a.IncidentID, a.ID, due)
		cancel()
		if err != nil {
			delay := mongox.Backoff(p.Attempts, relayBackoffBase, relayBackoffMax)
			r.logger.WarnContext(ctx, "draft campaigns failed; will retry",
				"assessment_id", a.ID, "incident_id", a.IncidentID,
				"attempts", p.Attempts, "retry_in", delay.String(), "error", err.Error())
			if rerr := r.store.RetryCampaigns(ctx, a.ID, r.owner, err.Error(), r.now().UTC().Add(delay)); rerr != nil {
				return true, fmt.Errorf("record draft campaigns failure of %s: %w", a.ID, rerr)
			}
			return true, nil
		}
	}
	if err := r.store.CompleteCampaigns(ctx, a.ID, r.owner); err != nil {
		return true, fmt.Errorf("complete draft campaigns of %s: %w", a.ID, err)
	}
	r.logger.InfoContext(ctx, "campaigns drafted", "assessment_id", a.ID, "incident_id", a.IncidentID, "obligations", len(due))
	return true, nil
}
