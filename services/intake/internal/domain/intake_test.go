package domain_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testCaller is the SIEM reporting signals in these tests.
var testCaller = domain.Caller{Actor: domain.Actor{Kind: domain.ActorKindService, Subject: "splunk-prod"}, CorrelationID: "corr-1"}

func newStore(t *testing.T) *store.Store {
	t.Helper()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	return store.New(db)
}

func TestReportSignal(t *testing.T) {
	t.Parallel()

	t.Run("method=ReportSignal/case=created_then_duplicate", func(t *testing.T) {
		t.Parallel()
		clk := &clock{t: now}
		in := domain.NewIntake(newStore(t), clk.Now)

		first, err := in.ReportSignal(t.Context(), testCaller, validSignal())
		if err != nil {
			t.Fatalf("ReportSignal: %v", err)
		}
		inc := first.Incident
		if first.Outcome != domain.ReportOutcomeIncidentCreated || inc.State != domain.IncidentStateReported ||
			inc.AssessmentStatus != domain.AssessmentStatusPending || inc.SignalCount != 1 ||
			!inc.Facts.DiscoveredAt.Equal(now) || !inc.CreateTime.Equal(now) || inc.Etag() == "" {
			t.Errorf("first report = %+v", first)
		}

		clk.Advance(time.Minute)
		retry := validSignal()
		retry.Title = "a retry may differ; the first report stands"
		second, err := in.ReportSignal(t.Context(), testCaller, retry)
		if err != nil {
			t.Fatalf("retry ReportSignal: %v", err)
		}
		if second.Outcome != domain.ReportOutcomeDuplicate || second.SignalID != first.SignalID ||
			second.Incident.ID != inc.ID || second.Incident.Title != inc.Title || second.Incident.Etag() != inc.Etag() {
			t.Errorf("retry = %+v, want DUPLICATE of %+v", second, first)
		}
	})

	t.Run("method=ReportSignal/case=crash_before_incident_is_repaired", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		// The first attempt stored its signal and died before the incident.
		s := validSignal()
		s.ID, s.IncidentID, s.ReceivedAt = ids.New(domain.SignalPrefix), ids.New(domain.IncidentPrefix), now
		if err := st.InsertSignal(t.Context(), s); err != nil {
			t.Fatalf("InsertSignal: %v", err)
		}
		in := domain.NewIntake(st, (&clock{t: now.Add(time.Minute)}).Now)

		res, err := in.ReportSignal(t.Context(), testCaller, validSignal())
		if err != nil {
			t.Fatalf("ReportSignal retry: %v", err)
		}
		if res.Outcome != domain.ReportOutcomeDuplicate || res.SignalID != s.ID || res.Incident.ID != s.IncidentID ||
			!res.Incident.CreateTime.Equal(now) {
			t.Errorf("retry = %+v, want DUPLICATE opening incident %s at %v", res, s.IncidentID, now)
		}
		if _, err := st.GetIncident(t.Context(), s.IncidentID); err != nil {
			t.Errorf("incident after repair: %v", err)
		}
	})

	t.Run("method=ReportSignal/case=invalid_changes_nothing", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		in := domain.NewIntake(st, (&clock{t: now}).Now)
		bad := validSignal()
		bad.Source = "BAD"
		_, err := in.ReportSignal(t.Context(), testCaller, bad)
		if _, ok := apperr.AsInvalid(err); !ok {
			t.Fatalf("error = %v, want InvalidError", err)
		}
		page, err := in.ListIncidents(t.Context(), domain.IncidentFilter{}, 0, "")
		if err != nil || len(page.Incidents) != 0 {
			t.Errorf("incidents after invalid report = %v, %v; want none", page.Incidents, err)
		}
	})

	t.Run("method=ReportSignal/case=concurrent_duplicates", func(t *testing.T) {
		t.Parallel()
		in := domain.NewIntake(newStore(t), (&clock{t: now}).Now)
		const n = 8
		results := make([]domain.ReportResult, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { results[i], errs[i] = in.ReportSignal(t.Context(), testCaller, validSignal()) })
		}
		wg.Wait()
		created := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("report %d: %v", i, errs[i])
			}
			if results[i].Outcome == domain.ReportOutcomeIncidentCreated {
				created++
			}
			if results[i].Incident.ID != results[0].Incident.ID {
				t.Errorf("report %d opened incident %s, report 0 %s", i, results[i].Incident.ID, results[0].Incident.ID)
			}
		}
		if created != 1 {
			t.Errorf("%d reports created an incident, want exactly 1", created)
		}
	})
}

func TestGetIncident(t *testing.T) {
	t.Parallel()
	in := domain.NewIntake(newStore(t), (&clock{t: now}).Now)
	for _, tc := range []struct {
		name string
		id   string
		want func(error) bool
	}{
		{"malformed", "INC-1", func(err error) bool { _, ok := apperr.AsInvalid(err); return ok }},
		{"empty", "", func(err error) bool { _, ok := apperr.AsInvalid(err); return ok }},
		{"unknown", ids.New(domain.IncidentPrefix), func(err error) bool { return errors.Is(err, apperr.ErrNotFound) }},
	} {
		if _, err := in.GetIncident(t.Context(), tc.id); !tc.want(err) {
			t.Errorf("case=%s: GetIncident(%q) error = %v", tc.name, tc.id, err)
		}
	}
}
