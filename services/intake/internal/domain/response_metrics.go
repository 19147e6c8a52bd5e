package domain

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/breachline/breachline/pkg/apperr"
)

// meterName is the instrumentation scope of the response metrics.
const meterName = "github.com/breachline/breachline/services/intake/response"

// MaxMetricsIncidents bounds the incidents one GetResponseMetrics call reads.
const MaxMetricsIncidents = 10000

// MaxMetricsPeriod bounds the period of one GetResponseMetrics call.
const MaxMetricsPeriod = 366 * 24 * time.Hour

// Timeline action dispatch records when a campaign's sending completed; its
// summary starts "Campaign <id> (<audience>, <jurisdiction>) ...".
const actionDispatchSendCompleted = "dispatch.send.completed"

var dispatchSummaryPattern = regexp.MustCompile(`^Campaign \S+ \(([a-z_]+(?:\(\d+\))?), `)

// responseInstruments are the OpenTelemetry instruments recorded as the
// response's events happen.
type responseInstruments struct {
	decide    metric.Float64Histogram
	deadlines metric.Int64Counter
	overdue   metric.Int64Counter
	alerts    metric.Int64Counter
}

func newResponseInstruments(m metric.Meter) (responseInstruments, error) {
	if m == nil {
		m = otel.Meter(meterName)
	}
	var ins responseInstruments
	var err error
	if ins.decide, err = m.Float64Histogram("breachline.response.time_to_decide", metric.WithUnit("s"),
		metric.WithDescription("Time from an incident's discovery to its finalized notification decision.")); err != nil {
		return ins, err
	}
	if ins.deadlines, err = m.Int64Counter("breachline.response.task_deadlines",
		metric.WithDescription("Response tasks completed, by whether they met their due time (outcome=met|missed).")); err != nil {
		return ins, err
	}
	if ins.overdue, err = m.Int64Counter("breachline.response.tasks_overdue",
		metric.WithDescription("Response tasks found overdue and escalated.")); err != nil {
		return ins, err
	}
	if ins.alerts, err = m.Int64Counter("breachline.response.team_alerts",
		metric.WithDescription("Incidents whose response team was alerted.")); err != nil {
		return ins, err
	}
	return ins, nil
}

func (m responseInstruments) taskChanged(ctx context.Context, t Task, a TaskAction) {
	role := attribute.String("owner_role", t.OwnerRole.String())
	switch a {
	case TaskComplete:
		outcome := "met"
		if t.CompleteTime.After(t.DueTime) {
			outcome = "missed"
		}
		m.deadlines.Add(ctx, 1, metric.WithAttributes(role, attribute.String("outcome", outcome)))
	case TaskEscalate:
		m.overdue.Add(ctx, 1, metric.WithAttributes(role))
	}
}

func (m responseInstruments) teamAlerted(ctx context.Context, inc Incident, members int) {
	m.alerts.Add(ctx, 1, metric.WithAttributes(attribute.String("incident_type", incidentTypeCode(inc.Type)),
		attribute.Bool("team_configured", members > 0)))
}

func (m responseInstruments) decided(ctx context.Context, inc Incident, d Decision) {
	m.decide.Record(ctx, d.Time.Sub(discoveryOf(inc)).Seconds(), metric.WithAttributes(attribute.Bool("notify", d.Notify)))
}

func incidentTypeCode(t IncidentType) string {
	if t >= 0 && int(t) < len(incidentTypeCodes) {
		return incidentTypeCodes[t]
	}
	return "unknown"
}

// observeEntry records the response metrics an entry committed by the
// ledger marks: containment (an incident moved to CONTAINED) and notices
// sent (dispatch's send completed). These events are recorded by
// TransitionIncident and AppendTimelineEntry, so the ledger reports them
// here; the instruments come from the global meter provider.
func observeEntry(ctx context.Context, inc Incident, e TimelineEntry) {
	switch e.Action {
	case ActionIncidentTransitioned:
		if !slices.ContainsFunc(e.Changes, func(c Change) bool {
			return c.Field == "state" && c.NewValue == IncidentStateContained.String()
		}) {
			return
		}
		h, err := otel.Meter(meterName).Float64Histogram("breachline.response.time_to_contain", metric.WithUnit("s"),
			metric.WithDescription("Time from an incident's discovery to its move to CONTAINED."))
		if err == nil {
			h.Record(ctx, e.Time.Sub(discoveryOf(inc)).Seconds(), metric.WithAttributes(attribute.String("incident_type", incidentTypeCode(inc.Type))))
		}
	case actionDispatchSendCompleted:
		audience, ok := notifiedAudience(e)
		if !ok {
			return
		}
		h, err := otel.Meter(meterName).Float64Histogram("breachline.response.time_to_notify", metric.WithUnit("s"),
			metric.WithDescription("Time from an incident's discovery to a completed send of notices, by audience."))
		if err == nil {
			h.Record(ctx, e.Time.Sub(discoveryOf(inc)).Seconds(), metric.WithAttributes(attribute.String("audience", audience)))
		}
	}
}

func notifiedAudience(e TimelineEntry) (string, bool) {
	m := dispatchSummaryPattern.FindStringSubmatch(e.Summary)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// DurationStats summarises durations.
type DurationStats struct {
	Count                  int64
	Mean, Median, P90, Max time.Duration
}

// AudienceStats is the time to notify one audience.
type AudienceStats struct {
	Audience string
	Notify   DurationStats
}

// ResponseMetrics are the metrics of the incidents opened in a period.
type ResponseMetrics struct {
	Start, End      time.Time
	Incidents       int64
	Contain, Decide DurationStats
	Notify          []AudienceStats
	TasksMet        int64
	TasksMissed     int64
	TasksOpenNotDue int64
}

// Metrics computes the response metrics of the incidents created in
// [start, end) from their timelines and tasks.
func (r *Response) Metrics(ctx context.Context, start, end time.Time) (ResponseMetrics, error) {
	var v apperr.Violations
	if start.IsZero() {
		v.Add("start_time", "is required")
	}
	if end.IsZero() {
		v.Add("end_time", "is required")
	}
	if !start.IsZero() && !end.IsZero() {
		switch {
		case !end.After(start):
			v.Add("end_time", "must be after start_time")
		case end.Sub(start) > MaxMetricsPeriod:
			v.Add("end_time", "must be at most 366 days after start_time")
		}
	}
	if err := v.Err(); err != nil {
		return ResponseMetrics{}, err
	}
	ids, err := r.rs.IncidentsCreated(ctx, start, end, MaxMetricsIncidents+1)
	if err != nil {
		return ResponseMetrics{}, err
	}
	if len(ids) > MaxMetricsIncidents {
		return ResponseMetrics{}, apperr.Invalid("start_time", "the period holds more than %d incidents; ask for a shorter one", MaxMetricsIncidents)
	}
	now := r.now().UTC()
	out := ResponseMetrics{Start: start, End: end, Incidents: int64(len(ids))}
	var contain, decide []time.Duration
	notify := map[string][]time.Duration{}
	for _, id := range ids {
		view, err := r.load(ctx, id)
		if err != nil {
			return ResponseMetrics{}, err
		}
		discovered := discoveryOf(view.inc)
		entries, err := r.store.ListEntries(ctx, id, 0, 0)
		if err != nil {
			return ResponseMetrics{}, err
		}
		var contained, decided bool
		seen := map[string]bool{}
		for _, e := range entries {
			switch {
			case !contained && e.Action == ActionIncidentTransitioned && slices.ContainsFunc(e.Changes, func(c Change) bool {
				return c.Field == "state" && c.NewValue == IncidentStateContained.String()
			}):
				contained = true
				contain = append(contain, e.Time.Sub(discovered))
			case !decided && e.Action == ActionNotificationDecide:
				decided = true
				decide = append(decide, e.Time.Sub(discovered))
			case e.Action == actionDispatchSendCompleted:
				if a, ok := notifiedAudience(e); ok && !seen[a] {
					seen[a] = true
					notify[a] = append(notify[a], e.Time.Sub(discovered))
				}
			}
		}
		tasks, err := r.rs.ListTasks(ctx, id)
		if err != nil {
			return ResponseMetrics{}, err
		}
		for _, t := range tasks {
			switch {
			case t.State == TaskStateDone && !t.CompleteTime.After(t.DueTime):
				out.TasksMet++
			case t.State == TaskStateDone || now.After(t.DueTime):
				out.TasksMissed++
			default:
				out.TasksOpenNotDue++
			}
		}
	}
	out.Contain, out.Decide = summarise(contain), summarise(decide)
	audiences := make([]string, 0, len(notify))
	for a := range notify {
		audiences = append(audiences, a)
	}
	slices.Sort(audiences)
	for _, a := range audiences {
		out.Notify = append(out.Notify, AudienceStats{Audience: a, Notify: summarise(notify[a])})
	}
	return out, nil
}

// summarise returns count, mean, median, 90th percentile (nearest rank) and
// maximum of ds.
func summarise(ds []time.Duration) DurationStats {
	if len(ds) == 0 {
		return DurationStats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return DurationStats{
		Count:  int64(len(s)),
		Mean:   sum / time.Duration(len(s)),
		Median: rank(0.5),
		P90:    rank(0.9),
		Max:    s[len(s)-1],
	}
}

// String is for logs and tests.
func (d DurationStats) String() string {
	return fmt.Sprintf("n=%d mean=%s median=%s p90=%s max=%s", d.Count, d.Mean, d.Median, d.P90, d.Max)
}
