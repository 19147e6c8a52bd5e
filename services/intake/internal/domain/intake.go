package domain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongox"
)

// Id prefixes of intake's resources.
const (
	IncidentPrefix = "inc"
	SignalPrefix   = "sig"
)

// Page sizes of ListIncidents (AIP-158).
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Intake implements the incident use cases behind IntakeService.
type Intake struct {
	ledger
	correlation Correlation
}

// NewIntake returns the use cases over store; now is the clock (time.Now in
// production, a fixed clock in tests). Correlation is off until
// WithCorrelation turns it on.
func NewIntake(store Store, now func() time.Time) *Intake {
	return &Intake{ledger: ledger{store: store, now: now}}
}

// WithCorrelation makes ReportSignal attach signals to open incidents as c
// says, and returns in.
func (in *Intake) WithCorrelation(c Correlation) *Intake {
	in.correlation = c
	return in
}

// ReportSignal records a signal and opens its incident, or attaches it to
// an open incident about the same thing, exactly once per (source,
// source_event_id).
//
// Without transactions the writes are ordered so that any crash is
// repaired by the SIEM's retry: the signal is inserted first, carrying a
// pre-assigned incident id (a new one, or the correlated incident's), and
// the unique index on (source, source_event_id) decides which report wins.
//
// A signal that opens an incident then writes the incident's first timeline
// entry ("incident.created", seq 1, carrying the new incident as its
// snapshot) and creates the incident by an idempotent upsert keyed on that
// id, so an incident never exists without its entry; an entry whose incident
// was not yet created is completed by the retry or by the first read of the
// incident. A signal that attaches commits a "signal.attached" entry on the
// incident's timeline under the request id "signal:<signal id>" (see
// ledger), which counts the signal exactly once. A retry finds the stored
// signal, re-runs the same step (completing it if the first attempt died
// before it) and returns DUPLICATE.
//
// Correlation is best effort: two first signals for the same key reported
// at the same moment may each open an incident, and a signal may attach to
// an incident closed between the lookup and the attach. Neither loses a
// signal. caller is recorded as the entry's actor.
func (in *Intake) ReportSignal(ctx context.Context, caller Caller, s Signal) (ReportResult, error) {
	now := in.now().UTC().Truncate(time.Millisecond)
	if err := ValidateSignal(s, now); err != nil {
		return ReportResult{}, err
	}
	s.ID = SignalID(s.Source, s.SourceEventID)
	s.IncidentID = ids.New(IncidentPrefix)
	s.ReceivedAt = now
	s.ObservedAt = s.ObservedAt.UTC().Truncate(time.Millisecond)
	if s.Exposure != nil {
		facts := *s.Exposure
		facts.DiscoveredAt = facts.DiscoveredAt.UTC().Truncate(time.Millisecond)
		s.Exposure = &facts
	}
	outcome := ReportOutcomeIncidentCreated
	if s.CorrelationKey = in.correlation.KeyOf(s); s.CorrelationKey != "" {
		candidates, err := in.store.CorrelatedIncidents(ctx, s.CorrelationKey, maxCorrelationCandidates)
		if err != nil {
			return ReportResult{}, fmt.Errorf("report signal: %w", err)
		}
		if inc, ok := in.correlation.pick(s, candidates); ok {
			s.IncidentID, s.Attached = inc.ID, true
			outcome = ReportOutcomeAttached
		}
	}

	err := in.store.InsertSignal(ctx, s)
	if errors.Is(err, apperr.ErrAlreadyExists) {
		s, err = in.store.SignalBySourceEvent(ctx, s.Source, s.SourceEventID)
		outcome = ReportOutcomeDuplicate
	}
	if err != nil {
		return ReportResult{}, fmt.Errorf("report signal: %w", err)
	}
	var inc Incident
	if s.Attached {
		inc, _, err = in.commit(ctx, s.IncidentID, caller, "signal:"+s.ID, attach(s))
		if errors.Is(err, errReplay) {
			err = nil
		}
	} else {
		inc, err = in.open(ctx, caller, s)
	}
	if err != nil {
		return ReportResult{}, fmt.Errorf("report signal %s: %w", s.ID, err)
	}
	return ReportResult{SignalID: s.ID, Signal: s, Outcome: outcome, Incident: inc}, nil
}

// open creates the incident s opens (see ReportSignal); it is idempotent.
func (in *Intake) open(ctx context.Context, caller Caller, s Signal) (Incident, error) {
	inc := NewIncident(s)
	created := createdEntry(s, inc, caller)
	if err := in.store.InsertEntry(ctx, created); err != nil &&
		!errors.Is(err, apperr.ErrAlreadyExists) && !errors.Is(err, apperr.ErrConflict) {
		return Incident{}, err
	}
	// The response queue entry and the incident are independent writes; a
	// retry completes whichever a crash left out.
	var queueErr error
	var wg sync.WaitGroup
	wg.Go(func() { queueErr = enqueueResponse(ctx, in.store, inc.ID) })
	stored, err := in.store.EnsureIncident(ctx, inc)
	wg.Wait()
	if err != nil {
		return Incident{}, err
	}
	if queueErr != nil {
		return Incident{}, queueErr
	}
	return stored, nil
}

// SignalID is the id of the signal with (source, sourceEventID): "sig_" and
// 24 hex digits of a SHA-256 over both. Deriving it makes a signal's
// idempotency key its _id, so finding the original of a retried signal is
// a lookup by _id on any store.
func SignalID(source, sourceEventID string) string {
	h := sha256.New()
	h.Write([]byte(source))
	h.Write([]byte{0})
	h.Write([]byte(sourceEventID))
	return SignalPrefix + "_" + hex.EncodeToString(h.Sum(nil)[:12])
}

// GetIncident returns one incident, as its timeline says it is.
func (in *Intake) GetIncident(ctx context.Context, id string) (Incident, error) {
	if err := checkIncidentID("incident_id", id); err != nil {
		return Incident{}, err
	}
	v, err := in.load(ctx, id)
	return v.inc, err
}

// createdEntry is the first timeline entry of the incident s opens. Like
// the incident, it depends only on the stored signal (and the caller of the
// first report that got to write it).
func createdEntry(s Signal, inc Incident, caller Caller) TimelineEntry {
	snap := inc
	e := TimelineEntry{
		IncidentID:    inc.ID,
		Seq:           1,
		Time:          s.ReceivedAt,
		Actor:         caller.Actor,
		Action:        ActionIncidentCreated,
		Summary:       cutSummary("Opened from signal " + s.ID + " (" + s.Source + " event " + s.SourceEventID + "): " + s.Title),
		RequestID:     "signal:" + s.ID,
		CorrelationID: caller.CorrelationID,
		PrevHash:      GenesisHash,

		IncidentVersion: inc.Version,
		Snapshot:        &snap,
	}
	e.Hash = HashEntry(e)
	return e
}

// ListIncidents returns a page of incidents, newest first. pageSize follows
// AIP-158: 0 means DefaultPageSize, larger than MaxPageSize is capped.
func (in *Intake) ListIncidents(ctx context.Context, f IncidentFilter, pageSize int32, pageToken string) (IncidentPage, error) {
	var v apperr.Violations
	size, err := mongox.PageSize(pageSize, DefaultPageSize, MaxPageSize)
	if ie, ok := apperr.AsInvalid(err); ok {
		v = append(v, ie.Violations...)
	}
	if f.State != IncidentStateUnspecified && !f.State.Valid() {
		v.Add("state", "unknown incident state %d", f.State)
	}
	if f.CustomerID != "" && !ValidCustomerID(f.CustomerID) {
		v.Add("customer_id", "must be a customer id: a lowercase letter, then 2 to 62 lowercase letters, digits or '-'")
	}
	if err := v.Err(); err != nil {
		return IncidentPage{}, err
	}
	return in.store.ListIncidents(ctx, f, PageRequest{Size: size, Token: pageToken})
}

func checkIncidentID(field, id string) error {
	if id == "" {
		return apperr.Invalid(field, "is required")
	}
	if !ids.Valid(IncidentPrefix, id) {
		return apperr.Invalid(field, "must be an incident id such as %q", IncidentPrefix+"_65f0c2a1b2c3d4e5f6a7b8c9")
	}
	return nil
}
