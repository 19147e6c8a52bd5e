package store_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/store"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newStore(t *testing.T) *store.Store {
	t.Helper()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	return store.New(db)
}

func signal(source, eventID string) domain.Signal {
	return domain.Signal{
		ID:            ids.New(domain.SignalPrefix),
		IncidentID:    ids.New(domain.IncidentPrefix),
		ReceivedAt:    t0,
		Source:        source,
		SourceEventID: eventID,
		Title:         "Unusual export",
		Description:   "bulk export from hr-db",
		Severity:      domain.SeverityHigh,
		Type:          domain.IncidentTypePersonalInformationBreach,
		ObservedAt:    t0.Add(-time.Hour),
		Asset:         "hr-db-01",
		CustomerIDs:   []string{"acme", "globex"},
		Exposure: &domain.BreachFacts{
			DataElements:      []domain.DataElement{domain.DataElementName, domain.DataElementSSN},
			EncryptedElements: []domain.DataElement{domain.DataElementSSN},
			Affected:          []domain.JurisdictionCount{{Jurisdiction: "US-TX", Count: 600}, {Jurisdiction: "DE", Count: 3}},
		},
		Raw: map[string]any{"alert": map[string]any{"id": "A-1", "score": 9.5}, "a.b": "$x"},
	}
}

func incident(now time.Time) domain.Incident {
	s := signal("splunk", "e")
	s.ReceivedAt = now
	return domain.NewIncident(s)
}

func TestSignals(t *testing.T) {
	t.Parallel()

	t.Run("method=InsertSignal/case=roundtrip", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		in := signal("splunk-prod", "evt-1")
		if err := st.InsertSignal(t.Context(), in); err != nil {
			t.Fatalf("InsertSignal: %v", err)
		}
		got, err := st.SignalBySourceEvent(t.Context(), "splunk-prod", "evt-1")
		if err != nil {
			t.Fatalf("SignalBySourceEvent: %v", err)
		}
		if got.ID != in.ID || got.IncidentID != in.IncidentID || !got.ReceivedAt.Equal(in.ReceivedAt) ||
			got.Title != in.Title || !slices.Equal(got.CustomerIDs, in.CustomerIDs) ||
			got.Exposure == nil || len(got.Exposure.Affected) != 2 || got.Exposure.Affected[0] != in.Exposure.Affected[0] {
			t.Errorf("stored signal = %+v, want %+v", got, in)
		}
		alert, _ := got.Raw["alert"].(map[string]any)
		if alert["id"] != "A-1" || alert["score"] != 9.5 || got.Raw["a.b"] != "$x" {
			t.Errorf("raw payload = %v, want it verbatim", got.Raw)
		}
	})

	t.Run("method=InsertSignal/case=duplicate", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		first := signal("splunk-prod", "evt-1")
		if err := st.InsertSignal(t.Context(), first); err != nil {
			t.Fatalf("InsertSignal: %v", err)
		}
		err := st.InsertSignal(t.Context(), signal("splunk-prod", "evt-1"))
		if !errors.Is(err, apperr.ErrAlreadyExists) {
			t.Fatalf("second InsertSignal error = %v, want ErrAlreadyExists", err)
		}
		got, err := st.SignalBySourceEvent(t.Context(), "splunk-prod", "evt-1")
		if err != nil || got.ID != first.ID {
			t.Errorf("stored signal = %q, %v; want the first (%s)", got.ID, err, first.ID)
		}
		// Same event id from another source is another signal.
		if err := st.InsertSignal(t.Context(), signal("sentinel", "evt-1")); err != nil {
			t.Errorf("InsertSignal from another source: %v", err)
		}
	})

	t.Run("method=SignalBySourceEvent/case=not_found", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		_, err := st.SignalBySourceEvent(t.Context(), "splunk", "nope")
		if !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("error = %v, want ErrNotFound", err)
		}
	})
}

func TestIncidents(t *testing.T) {
	t.Parallel()

	t.Run("method=EnsureIncident/case=idempotent", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		inc := incident(t0)
		first, err := st.EnsureIncident(t.Context(), inc)
		if err != nil {
			t.Fatalf("EnsureIncident: %v", err)
		}
		if first.ID != inc.ID || first.State != domain.IncidentStateReported || first.Etag() != "1" ||
			first.AssessmentStatus != domain.AssessmentStatusPending || !first.Facts.DiscoveredAt.Equal(t0) ||
			!first.CreateTime.Equal(t0) || len(first.Facts.DataElements) != 2 {
			t.Errorf("created incident = %+v", first)
		}
		changed := inc
		changed.Title = "something else"
		second, err := st.EnsureIncident(t.Context(), changed)
		if err != nil {
			t.Fatalf("second EnsureIncident: %v", err)
		}
		if second.Title != inc.Title || second.Etag() != first.Etag() {
			t.Errorf("second EnsureIncident returned %q etag %s, want the original unchanged", second.Title, second.Etag())
		}
	})

	t.Run("method=GetIncident/case=not_found", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		_, err := st.GetIncident(t.Context(), ids.New(domain.IncidentPrefix))
		if !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("error = %v, want ErrNotFound", err)
		}
	})

	t.Run("method=ListIncidents/case=paging", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		var want []string
		for range 7 {
			inc, err := st.EnsureIncident(t.Context(), incident(t0))
			if err != nil {
				t.Fatalf("EnsureIncident: %v", err)
			}
			want = append([]string{inc.ID}, want...) // newest first
		}
		var got []string
		token := ""
		pages := 0
		for {
			page, err := st.ListIncidents(t.Context(), domain.IncidentFilter{}, domain.PageRequest{Size: 3, Token: token})
			if err != nil {
				t.Fatalf("ListIncidents: %v", err)
			}
			pages++
			for _, inc := range page.Incidents {
				got = append(got, inc.ID)
			}
			if page.NextPageToken == "" {
				break
			}
			token = page.NextPageToken
		}
		if pages != 3 || !slices.Equal(got, want) {
			t.Errorf("got %d pages %v, want 3 pages %v", pages, got, want)
		}
	})

	t.Run("method=ListIncidents/case=filters", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		a := incident(t0)
		a.CustomerIDs = []string{"acme"}
		b := incident(t0)
		b.CustomerIDs = []string{"globex", "initech"}
		c := incident(t0)
		c.CustomerIDs = nil
		c.State = domain.IncidentStateClosed
		for _, inc := range []domain.Incident{a, b, c} {
			if _, err := st.EnsureIncident(t.Context(), inc); err != nil {
				t.Fatalf("EnsureIncident: %v", err)
			}
		}
		list := func(f domain.IncidentFilter) []string {
			page, err := st.ListIncidents(t.Context(), f, domain.PageRequest{Size: 50})
			if err != nil {
				t.Fatalf("ListIncidents(%+v): %v", f, err)
			}
			var out []string
			for _, inc := range page.Incidents {
				out = append(out, inc.ID)
			}
			return out
		}
		if got, want := list(domain.IncidentFilter{CustomerID: "initech"}), []string{b.ID}; !slices.Equal(got, want) {
			t.Errorf("customer filter = %v, want %v", got, want)
		}
		if got, want := list(domain.IncidentFilter{State: domain.IncidentStateReported}), []string{b.ID, a.ID}; !slices.Equal(got, want) {
			t.Errorf("state filter = %v, want %v", got, want)
		}
		if got := list(domain.IncidentFilter{State: domain.IncidentStateClosed, CustomerID: "acme"}); len(got) != 0 {
			t.Errorf("combined filter = %v, want none", got)
		}
	})

	t.Run("method=ListIncidents/case=token_for_other_filter", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		for range 2 {
			if _, err := st.EnsureIncident(t.Context(), incident(t0)); err != nil {
				t.Fatalf("EnsureIncident: %v", err)
			}
		}
		page, err := st.ListIncidents(t.Context(), domain.IncidentFilter{}, domain.PageRequest{Size: 1})
		if err != nil || page.NextPageToken == "" {
			t.Fatalf("ListIncidents = %v, %v; want a next page", page, err)
		}
		for _, tc := range []struct {
			name  string
			f     domain.IncidentFilter
			token string
		}{
			{"other filter", domain.IncidentFilter{CustomerID: "acme"}, page.NextPageToken},
			{"garbage", domain.IncidentFilter{}, "not-a-token!"},
		} {
			_, err := st.ListIncidents(t.Context(), tc.f, domain.PageRequest{Size: 1, Token: tc.token})
			ie, ok := apperr.AsInvalid(err)
			if !ok || ie.Violations[0].Field != "page_token" {
				t.Errorf("%s: error = %v, want invalid page_token", tc.name, err)
			}
		}
	})
}

func TestAssessmentLease(t *testing.T) {
	t.Parallel()

	t.Run("method=ClaimAssessment/case=lease_blocks_second_claimer", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		inc, err := st.EnsureIncident(t.Context(), incident(t0))
		if err != nil {
			t.Fatalf("EnsureIncident: %v", err)
		}
		got, ok, err := st.ClaimAssessment(t.Context(), "a", t0, time.Minute)
		if err != nil || !ok || got.ID != inc.ID || got.Attempts != 1 {
			t.Fatalf("first claim = %s attempts %d, %v, %v; want %s attempt 1", got.ID, got.Attempts, ok, err, inc.ID)
		}
		if _, ok, err := st.ClaimAssessment(t.Context(), "b", t0.Add(30*time.Second), time.Minute); err != nil || ok {
			t.Errorf("second claim during lease = %v, %v; want nothing due", ok, err)
		}
		// The lease expires (relay a died): b takes over and a is fenced off.
		got, ok, err = st.ClaimAssessment(t.Context(), "b", t0.Add(2*time.Minute), time.Minute)
		if err != nil || !ok || got.Attempts != 2 {
			t.Fatalf("claim after expiry = attempts %d, %v, %v; want attempt 2", got.Attempts, ok, err)
		}
		err = st.RetryAssessment(t.Context(), inc.ID, "a", t0, "x")
		if !errors.Is(err, apperr.ErrConflict) {
			t.Errorf("retry by expired owner: error = %v, want ErrConflict", err)
		}
	})

	t.Run("method=RetryAssessment/case=not_due_until_next_attempt", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		inc, err := st.EnsureIncident(t.Context(), incident(t0))
		if err != nil {
			t.Fatalf("EnsureIncident: %v", err)
		}
		if _, ok, err := st.ClaimAssessment(t.Context(), "a", t0, time.Minute); err != nil || !ok {
			t.Fatalf("claim = %v, %v", ok, err)
		}
		if err := st.RetryAssessment(t.Context(), inc.ID, "a", t0.Add(10*time.Second), "classification: Unavailable"); err != nil {
			t.Fatalf("RetryAssessment: %v", err)
		}
		if _, ok, err := st.ClaimAssessment(t.Context(), "a", t0.Add(5*time.Second), time.Minute); err != nil || ok {
			t.Errorf("claim before next attempt = %v, %v; want nothing due", ok, err)
		}
		got, ok, err := st.ClaimAssessment(t.Context(), "b", t0.Add(10*time.Second), time.Minute)
		if err != nil || !ok || got.LastError != "classification: Unavailable" || got.Attempts != 2 {
			t.Errorf("claim at next attempt = %+v, %v, %v", got, ok, err)
		}
	})

	t.Run("method=ApplySnapshot/case=completed_releases_lease", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		inc, err := st.EnsureIncident(t.Context(), incident(t0))
		if err != nil {
			t.Fatalf("EnsureIncident: %v", err)
		}
		if _, ok, err := st.ClaimAssessment(t.Context(), "a", t0, time.Minute); err != nil || !ok {
			t.Fatalf("claim = %v, %v", ok, err)
		}
		done := inc
		done.AssessmentStatus, done.AssessmentID = domain.AssessmentStatusCompleted, "asm_1"
		done.Version, done.UpdateTime = 2, t0.Add(time.Second)
		if ok, err := st.ApplySnapshot(t.Context(), done, false); err != nil || !ok {
			t.Fatalf("ApplySnapshot = %v, %v", ok, err)
		}
		got, err := st.GetIncident(t.Context(), inc.ID)
		if err != nil {
			t.Fatalf("GetIncident: %v", err)
		}
		if got.AssessmentStatus != domain.AssessmentStatusCompleted || got.AssessmentID != "asm_1" ||
			got.Etag() != "2" || !got.UpdateTime.Equal(done.UpdateTime) || got.LastError != "" {
			t.Errorf("incident after completion = %+v", got)
		}
		if _, ok, err := st.ClaimAssessment(t.Context(), "a", t0.Add(time.Hour), time.Minute); err != nil || ok {
			t.Errorf("claim after completion = %v, %v; want nothing due", ok, err)
		}
		// A late or repeated apply of an older version changes nothing.
		old := inc
		old.Title = "stale"
		if ok, err := st.ApplySnapshot(t.Context(), old, false); err != nil || !ok {
			t.Fatalf("ApplySnapshot(old) = %v, %v", ok, err)
		}
		if got, _ := st.GetIncident(t.Context(), inc.ID); got.Title == "stale" || got.Version != 2 {
			t.Errorf("older snapshot moved the incident back: %+v", got)
		}
		unknown := incident(t0)
		if ok, err := st.ApplySnapshot(t.Context(), unknown, false); err != nil || ok {
			t.Errorf("ApplySnapshot(unknown) = %v, %v; want false", ok, err)
		}
	})

	t.Run("method=ApplySnapshot/case=facts_changed_makes_assessment_due", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		inc, err := st.EnsureIncident(t.Context(), incident(t0))
		if err != nil {
			t.Fatalf("EnsureIncident: %v", err)
		}
		if _, ok, err := st.ClaimAssessment(t.Context(), "a", t0, time.Hour); err != nil || !ok {
			t.Fatalf("claim = %v, %v", ok, err)
		}
		next := inc
		next.Version, next.FactsVersion = 2, 2
		next.NextAttemptAt = t0.Add(time.Second)
		if _, err := st.ApplySnapshot(t.Context(), next, true); err != nil {
			t.Fatalf("ApplySnapshot: %v", err)
		}
		got, ok, err := st.ClaimAssessment(t.Context(), "b", t0.Add(time.Second), time.Minute)
		if err != nil || !ok || got.FactsVersion != 2 || got.Attempts != 2 {
			t.Errorf("claim after facts change = %+v, %v, %v; want facts version 2 due at once", got, ok, err)
		}
	})
}
