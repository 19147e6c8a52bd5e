package server_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/services/intake/internal/domain"
)

var assetAndType = domain.Correlation{Keys: []domain.CorrelationKey{domain.CorrelateAsset, domain.CorrelateType}, Window: time.Hour}

// at is signal(eventID) observed at t, with the given asset.
func at(eventID, asset string, t time.Time) *intakev1.Signal {
	s := signal(eventID)
	s.Asset = asset
	s.ObservedAt = timestamppb.New(t)
	return s
}

func TestCorrelation(t *testing.T) {
	t.Parallel()
	base := time.Now().Add(-3 * time.Hour).UTC().Truncate(time.Millisecond)

	t.Run("method=ReportSignal/case=same_asset_and_type_attach", func(t *testing.T) {
		t.Parallel()
		c, _ := startWith(t, assetAndType)
		first := report(t, c, at("evt-1", "db-1", base))
		second := at("evt-2", "db-1", base.Add(30*time.Minute))
		second.Severity = intakev1.Severity_SEVERITY_CRITICAL
		got := report(t, c, second)
		if got.GetOutcome() != intakev1.ReportSignalOutcome_REPORT_SIGNAL_OUTCOME_ATTACHED ||
			got.GetIncident().GetIncidentId() != first.GetIncident().GetIncidentId() ||
			got.GetIncident().GetSignalCount() != 2 ||
			got.GetIncident().GetSeverity() != intakev1.Severity_SEVERITY_CRITICAL {
			t.Fatalf("second report = %v, want ATTACHED to %s with 2 signals, CRITICAL", got, first.GetIncident().GetIncidentId())
		}
		tl, err := c.ListTimeline(t.Context(), &intakev1.ListTimelineRequest{IncidentId: first.GetIncident().GetIncidentId()})
		if err != nil {
			t.Fatalf("ListTimeline: %v", err)
		}
		var actions []string
		for _, e := range tl.GetEntries() {
			actions = append(actions, e.GetAction())
		}
		if want := []string{domain.ActionIncidentCreated, domain.ActionSignalAttached}; !slices.Equal(actions, want) {
			t.Errorf("timeline actions = %v, want %v", actions, want)
		}
		v, err := c.VerifyTimeline(t.Context(), &intakev1.VerifyTimelineRequest{IncidentId: first.GetIncident().GetIncidentId()})
		if err != nil || !v.GetOk() {
			t.Errorf("VerifyTimeline = %v, %v", v, err)
		}

		// A third signal within the window of the second (not the first) still attaches.
		third := report(t, c, at("evt-3", "db-1", base.Add(80*time.Minute)))
		if third.GetOutcome() != intakev1.ReportSignalOutcome_REPORT_SIGNAL_OUTCOME_ATTACHED || third.GetIncident().GetSignalCount() != 3 {
			t.Errorf("third report = %v, want ATTACHED with 3 signals", third)
		}

		again := report(t, c, second)
		if again.GetOutcome() != intakev1.ReportSignalOutcome_REPORT_SIGNAL_OUTCOME_DUPLICATE ||
			again.GetSignalId() != got.GetSignalId() ||
			again.GetIncident().GetIncidentId() != first.GetIncident().GetIncidentId() ||
			again.GetIncident().GetSignalCount() != 3 {
			t.Errorf("retry = %v, want DUPLICATE of %s on the same incident, count unchanged", again, got.GetSignalId())
		}
	})

	newIncident := []struct {
		name   string
		corr   domain.Correlation
		second *intakev1.Signal
	}{
		{"outside_window", assetAndType, at("evt-2", "db-1", base.Add(61*time.Minute))},
		{"different_asset", assetAndType, at("evt-2", "db-2", base)},
		{"window_zero_disables", domain.Correlation{Keys: assetAndType.Keys}, at("evt-2", "db-1", base)},
		{"no_customer_overlap", domain.Correlation{Keys: []domain.CorrelationKey{domain.CorrelateCustomer}, Window: time.Hour}, func() *intakev1.Signal {
			s := at("evt-2", "db-1", base)
			s.CustomerIds = []string{"globex"}
			return s
		}()},
	}
	for _, tc := range newIncident {
		t.Run("method=ReportSignal/case="+tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := startWith(t, tc.corr)
			first := report(t, c, at("evt-1", "db-1", base))
			got := report(t, c, tc.second)
			if got.GetOutcome() != intakev1.ReportSignalOutcome_REPORT_SIGNAL_OUTCOME_INCIDENT_CREATED ||
				got.GetIncident().GetIncidentId() == first.GetIncident().GetIncidentId() {
				t.Errorf("second report = %v, want a new incident", got)
			}
		})
	}

	t.Run("method=ReportSignal/case=customer_overlap_attaches", func(t *testing.T) {
		t.Parallel()
		c, _ := startWith(t, domain.Correlation{Keys: []domain.CorrelationKey{domain.CorrelateCustomer}, Window: time.Hour})
		first := report(t, c, at("evt-1", "db-1", base))
		second := at("evt-2", "other-host", base)
		second.CustomerIds = []string{"globex", "acme"}
		got := report(t, c, second)
		if got.GetOutcome() != intakev1.ReportSignalOutcome_REPORT_SIGNAL_OUTCOME_ATTACHED || got.GetIncident().GetIncidentId() != first.GetIncident().GetIncidentId() {
			t.Errorf("second report = %v, want ATTACHED", got)
		}
	})

	t.Run("method=ReportSignal/case=closed_incident", func(t *testing.T) {
		t.Parallel()
		c, _ := startWith(t, assetAndType)
		first := report(t, c, at("evt-1", "db-1", base))
		id := first.GetIncident().GetIncidentId()
		for _, st := range []intakev1.IncidentState{intakev1.IncidentState_INCIDENT_STATE_TRIAGE, intakev1.IncidentState_INCIDENT_STATE_CLOSED} {
			if _, err := c.TransitionIncident(t.Context(), &intakev1.TransitionIncidentRequest{IncidentId: id, State: st, Reason: "false positive"}); err != nil {
				t.Fatalf("TransitionIncident(%v): %v", st, err)
			}
		}
		got := report(t, c, at("evt-2", "db-1", base))
		if got.GetOutcome() != intakev1.ReportSignalOutcome_REPORT_SIGNAL_OUTCOME_INCIDENT_CREATED || got.GetIncident().GetIncidentId() == id {
			t.Errorf("report after close = %v, want a new incident", got)
		}
	})
}

func TestReportSignals(t *testing.T) {
	t.Parallel()
	base := time.Now().Add(-3 * time.Hour).UTC().Truncate(time.Millisecond)

	t.Run("method=ReportSignals/case=mixed", func(t *testing.T) {
		t.Parallel()
		c, _ := startWith(t, assetAndType)
		missing := at("evt-bad", "db-1", base)
		missing.Title = ""
		missing.Severity = intakev1.Severity(99)
		badSource := at("evt-future", "db-1", base)
		badSource.Source = "Not A Source"
		resp, err := c.ReportSignals(t.Context(), &intakev1.ReportSignalsRequest{Signals: []*intakev1.Signal{
			at("evt-1", "db-1", base),
			missing,
			at("evt-2", "db-1", base.Add(time.Minute)),
			at("evt-1", "db-1", base),
			badSource,
			at("evt-3", "db-9", base),
		}})
		if err != nil {
			t.Fatalf("ReportSignals: %v", err)
		}
		r := resp.GetResults()
		if len(r) != 6 {
			t.Fatalf("got %d results, want 6", len(r))
		}
		created, attached, duplicate := intakev1.ReportSignalOutcome_REPORT_SIGNAL_OUTCOME_INCIDENT_CREATED,
			intakev1.ReportSignalOutcome_REPORT_SIGNAL_OUTCOME_ATTACHED, intakev1.ReportSignalOutcome_REPORT_SIGNAL_OUTCOME_DUPLICATE
		inc := r[0].GetIncidentId()
		if r[0].GetOutcome() != created || inc == "" || r[0].GetError() != nil {
			t.Errorf("results[0] = %v, want INCIDENT_CREATED", r[0])
		}
		if r[2].GetOutcome() != attached || r[2].GetIncidentId() != inc {
			t.Errorf("results[2] = %v, want ATTACHED to %s", r[2], inc)
		}
		if r[3].GetOutcome() != duplicate || r[3].GetSignalId() != r[0].GetSignalId() || r[3].GetIncidentId() != inc {
			t.Errorf("results[3] = %v, want DUPLICATE of results[0]", r[3])
		}
		if r[5].GetOutcome() != created || r[5].GetIncidentId() == inc {
			t.Errorf("results[5] = %v, want a new incident", r[5])
		}
		for i, want := range map[int][]string{1: {"signal.title", "signal.severity"}, 4: {"signal.source"}} {
			e := r[i].GetError()
			var fields []string
			for _, fv := range e.GetFieldViolations() {
				fields = append(fields, fv.GetField())
			}
			if e.GetCode() != int32(codes.InvalidArgument) || r[i].GetSignalId() != "" || r[i].GetOutcome() != intakev1.ReportSignalOutcome_REPORT_SIGNAL_OUTCOME_UNSPECIFIED ||
				!slices.Equal(fields, want) {
				t.Errorf("results[%d] = %v, want INVALID_ARGUMENT on %v", i, r[i], want)
			}
		}
		got, err := c.GetIncident(t.Context(), &intakev1.GetIncidentRequest{IncidentId: inc})
		if err != nil || got.GetIncident().GetSignalCount() != 2 {
			t.Errorf("GetIncident = %v, %v; want 2 signals", got, err)
		}
	})

	tooMany := make([]*intakev1.Signal, 501)
	for i := range tooMany {
		tooMany[i] = signal("evt")
	}
	for name, signals := range map[string][]*intakev1.Signal{"empty": nil, "too_many": tooMany} {
		t.Run("method=ReportSignals/case="+name, func(t *testing.T) {
			t.Parallel()
			c, _ := start(t)
			_, err := c.ReportSignals(t.Context(), &intakev1.ReportSignalsRequest{Signals: signals})
			code, fields := badRequestFields(t, err)
			if code != codes.InvalidArgument || !slices.Equal(fields, []string{"signals"}) {
				t.Errorf("error = %v %v, want InvalidArgument on signals", code, fields)
			}
		})
	}
}
