package server_test

import (
	"context"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/breachline/breachline/pkg/auth"
	commonv1 "github.com/breachline/breachline/pkg/gen/breachline/common/v1"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/server"
	"github.com/breachline/breachline/services/intake/internal/store"
)

// testClock is a clock the test moves forward (to make tasks overdue).
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// recordingNotifier is dispatch's SendNotice as the response workflow uses
// it: idempotent on the request id.
type recordingNotifier struct {
	mu      sync.Mutex
	notices map[string]domain.Notice
}

func (n *recordingNotifier) SendNotice(_ context.Context, notice domain.Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.notices == nil {
		n.notices = map[string]domain.Notice{}
	}
	n.notices[notice.RequestID] = notice
	return nil
}

func (n *recordingNotifier) byKind(kind string) []domain.Notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []domain.Notice
	for _, k := range slices.Sorted(maps.Keys(n.notices)) {
		if n.notices[k].Kind == kind {
			out = append(out, n.notices[k])
		}
	}
	return out
}

type responseStack struct {
	intake   intakev1.IntakeServiceClient
	response intakev1.ResponseServiceClient
	workflow *domain.Response
	clock    *testClock
	notifier *recordingNotifier
	db       *mongo.Database
	metrics  *sdkmetric.ManualReader
}

// startResponse serves IntakeService and ResponseService together over
// bufconn with the real interceptor chain (dev authenticator) and a real
// store, as intake's main does.
func startResponse(t *testing.T) responseStack {
	t.Helper()
	db := mongotest.DB(t)
	idx := store.Indexes()
	maps.Copy(idx, store.ResponseIndexes())
	if err := mongox.EnsureIndexes(t.Context(), db, idx); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	st := store.New(db)
	clock := &testClock{}
	playbooks, err := domain.LoadPlaybooks()
	if err != nil {
		t.Fatalf("LoadPlaybooks: %v", err)
	}
	notifier := &recordingNotifier{}
	reader := sdkmetric.NewManualReader()
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test")
	workflow, err := domain.NewResponse(st, store.NewResponse(db), playbooks, clock.now, slog.New(slog.DiscardHandler),
		domain.ResponseOptions{Owner: "test", Notifier: notifier, Meter: meter})
	if err != nil {
		t.Fatalf("NewResponse: %v", err)
	}
	handler := server.New(domain.NewIntake(st, clock.now))
	rh := server.NewResponse(workflow)
	srv := grpcx.NewServer(grpcx.Options{Service: "intake", Authenticator: auth.Dev{}, Validator: server.Validators{handler, rh}})
	intakev1.RegisterIntakeServiceServer(srv.GRPC(), handler)
	intakev1.RegisterResponseServiceServer(srv.GRPC(), rh)

	lis := bufconn.Listen(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.ServeListener(ctx, lis)
	}()
	conn, err := grpc.NewClient("passthrough:///intake",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		<-served
	})
	return responseStack{
		intake: intakev1.NewIntakeServiceClient(conn), response: intakev1.NewResponseServiceClient(conn),
		workflow: workflow, clock: clock, notifier: notifier, db: db, metrics: reader,
	}
}

// as makes calls on ctx as the dev subject.
func as(ctx context.Context, subject string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, auth.DevSubjectHeader, subject)
}

// drain runs the opener until the queue is empty.
func drain(t *testing.T, w *domain.Response) {
	t.Helper()
	for range 10 {
		did, err := w.OpenStep(t.Context())
		if err != nil {
			t.Fatalf("OpenStep: %v", err)
		}
		if !did {
			return
		}
	}
	t.Fatal("OpenStep kept finding work")
}

func putTeam(t *testing.T, c intakev1.ResponseServiceClient) {
	t.Helper()
	team := []*intakev1.TeamMember{
		{MemberId: "austin-wheelock", Name: "Austin Wheelock", Roles: []intakev1.TeamRole{intakev1.TeamRole_TEAM_ROLE_EXECUTIVE_DIRECTOR},
			Email: "austin@example.org", Phone: "+1 555 010 0100", Subject: "austin"},
		{MemberId: "karen-perwitz", Name: "Karen Perwitz", Roles: []intakev1.TeamRole{intakev1.TeamRole_TEAM_ROLE_DIRECTOR_LOSS_PREVENTION},
			Email: "karen@example.org", Subject: "karen"},
		{MemberId: "evelyn-livoti", Name: "Evelyn LiVoti", Roles: []intakev1.TeamRole{intakev1.TeamRole_TEAM_ROLE_SECURITY_COORDINATOR, intakev1.TeamRole_TEAM_ROLE_COMMUNICATIONS},
			Email: "evelyn@example.org", Subject: "evelyn"},
		{MemberId: "barclay-damon", Name: "Barclay Damon", Roles: []intakev1.TeamRole{intakev1.TeamRole_TEAM_ROLE_LEGAL},
			Email: "legal@example.org", Subject: "barclay"},
		{MemberId: "sam-ortiz", Name: "Sam Ortiz", Roles: []intakev1.TeamRole{intakev1.TeamRole_TEAM_ROLE_OFFICER},
			DeputyOf: "barclay-damon", Email: "sam@example.org", Subject: "sam"},
	}
	for _, m := range team {
		if _, err := c.PutTeamMember(t.Context(), &intakev1.PutTeamMemberRequest{Member: m}); err != nil {
			t.Fatalf("PutTeamMember %s: %v", m.GetMemberId(), err)
		}
	}
}

func taskByKey(t *testing.T, c intakev1.ResponseServiceClient, incident, key string) *intakev1.Task {
	t.Helper()
	resp, err := c.GetTask(t.Context(), &intakev1.GetTaskRequest{IncidentId: incident, TaskKey: key})
	if err != nil {
		t.Fatalf("GetTask %s: %v", key, err)
	}
	return resp.GetTask()
}

// TestResponseWorkflowEndToEnd drives an incident from its signal to
// CLOSED through the playbook's tasks, the analyses and their sign-offs and
// the notification decision, and checks the timeline verifies.
func TestResponseWorkflowEndToEnd(t *testing.T) {
	t.Parallel()
	s := startResponse(t)
	ctx := t.Context()
	putTeam(t, s.response)

	sig := signal("pi-e2e-1")
	sig.ObservedAt = timestamppb.New(time.Now().Add(-2 * time.Hour))
	rep, err := s.intake.ReportSignal(as(ctx, "splunk"), &intakev1.ReportSignalRequest{Signal: sig})
	if err != nil {
		t.Fatalf("ReportSignal: %v", err)
	}
	incident := rep.GetIncident().GetIncidentId()
	drain(t, s.workflow)

	// The electronic playbook's tasks are open; the team alert is done.
	tasks, err := s.response.ListTasks(ctx, &intakev1.ListTasksRequest{IncidentId: incident})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	var keys []string
	for _, task := range tasks.GetTasks() {
		keys = append(keys, task.GetTaskKey())
		if task.GetPlaybookId() != "pi-breach-electronic" {
			t.Errorf("task %s from playbook %s, want pi-breach-electronic", task.GetTaskKey(), task.GetPlaybookId())
		}
	}
	for _, want := range []string{"alert_team", "contain_preserve", "review_security", "notify_insurer", "engage_third_party", "technical_analysis", "legal_analysis", "notification_decision"} {
		if !slices.Contains(keys, want) {
			t.Errorf("tasks %v lack %s", keys, want)
		}
	}
	if alert := tasks.GetTasks()[0]; alert.GetTaskKey() != "alert_team" || alert.GetState() != intakev1.TaskState_TASK_STATE_DONE ||
		!strings.Contains(alert.GetEvidence(), "Evelyn LiVoti") {
		t.Errorf("first task = %s %s %q, want alert_team DONE naming the team", alert.GetTaskKey(), alert.GetState(), alert.GetEvidence())
	}
	if got := len(s.notifier.byKind("response-team-alert")); got != 5 {
		t.Errorf("team alert e-mails = %d, want 5 (one per member)", got)
	}
	// Queueing the incident again (a retried signal) opens nothing twice.
	if err := store.New(s.db).EnqueueOpened(ctx, incident); err != nil {
		t.Fatalf("EnqueueOpened: %v", err)
	}
	drain(t, s.workflow)
	again, _ := s.response.ListTasks(ctx, &intakev1.ListTasksRequest{IncidentId: incident})
	if len(again.GetTasks()) != len(tasks.GetTasks()) {
		t.Errorf("tasks after rerun = %d, want %d", len(again.GetTasks()), len(tasks.GetTasks()))
	}

	// A responder works through containment.
	evelyn := as(ctx, "evelyn")
	contain := taskByKey(t, s.response, incident, "contain_preserve")
	assigned, err := s.response.AssignTask(evelyn, &intakev1.AssignTaskRequest{IncidentId: incident, TaskKey: "contain_preserve", Assignee: "evelyn-livoti", Etag: contain.GetEtag()})
	if err != nil {
		t.Fatalf("AssignTask: %v", err)
	}
	if _, err := s.response.AssignTask(evelyn, &intakev1.AssignTaskRequest{IncidentId: incident, TaskKey: "contain_preserve", Assignee: "karen-perwitz", Etag: contain.GetEtag()}); status.Code(err) != codes.Aborted {
		t.Errorf("AssignTask with a stale etag: %v, want ABORTED", err)
	}
	if _, err := s.response.StartTask(evelyn, &intakev1.StartTaskRequest{IncidentId: incident, TaskKey: "contain_preserve", Etag: assigned.GetTask().GetEtag(), RequestId: "start-1"}); err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	if _, err := s.response.StartTask(evelyn, &intakev1.StartTaskRequest{IncidentId: incident, TaskKey: "contain_preserve", RequestId: "start-1"}); err != nil {
		t.Errorf("StartTask retried with its request id: %v, want the task", err)
	}
	if _, err := s.response.StartTask(evelyn, &intakev1.StartTaskRequest{IncidentId: incident, TaskKey: "contain_preserve"}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("StartTask of a started task: %v, want FAILED_PRECONDITION", err)
	}
	done, err := s.response.CompleteTask(evelyn, &intakev1.CompleteTaskRequest{IncidentId: incident, TaskKey: "contain_preserve",
		Evidence: "hr-db-01 isolated at 10:12; disk image sha256 stored in evidence locker #7"})
	if err != nil {
		t.Fatalf("CompleteTask: %v", err)
	}
	if done.GetTask().GetState() != intakev1.TaskState_TASK_STATE_DONE || done.GetTask().GetCompletedBy() != "evelyn" {
		t.Errorf("completed task = %s by %q", done.GetTask().GetState(), done.GetTask().GetCompletedBy())
	}
	if _, err := s.response.BlockTask(evelyn, &intakev1.BlockTaskRequest{IncidentId: incident, TaskKey: "engage_third_party", Reason: "waiting for the hosting provider's ticket"}); err != nil {
		t.Fatalf("BlockTask: %v", err)
	}
	if _, err := s.response.ReopenTask(evelyn, &intakev1.ReopenTaskRequest{IncidentId: incident, TaskKey: "contain_preserve", Reason: "a second host was found"}); err != nil {
		t.Fatalf("ReopenTask: %v", err)
	}
	if _, err := s.response.CompleteTask(evelyn, &intakev1.CompleteTaskRequest{IncidentId: incident, TaskKey: "contain_preserve", Evidence: "both hosts isolated"}); err != nil {
		t.Fatalf("CompleteTask again: %v", err)
	}
	for _, st := range []intakev1.IncidentState{intakev1.IncidentState_INCIDENT_STATE_TRIAGE, intakev1.IncidentState_INCIDENT_STATE_INVESTIGATING, intakev1.IncidentState_INCIDENT_STATE_CONTAINED} {
		if _, err := s.intake.TransitionIncident(evelyn, &intakev1.TransitionIncidentRequest{IncidentId: incident, State: st, Reason: "response"}); err != nil {
			t.Fatalf("TransitionIncident %s: %v", st, err)
		}
	}

	// Overdue tasks escalate once: 25 hours on, the 24-hour tasks are late.
	s.clock.advance(25 * time.Hour)
	if _, err := s.workflow.EscalateStep(ctx); err != nil {
		t.Fatalf("EscalateStep: %v", err)
	}
	if _, err := s.workflow.EscalateStep(ctx); err != nil {
		t.Fatalf("EscalateStep again: %v", err)
	}
	insurer := taskByKey(t, s.response, incident, "notify_insurer")
	if insurer.GetEscalateTime() == nil {
		t.Errorf("notify_insurer not escalated after its due time")
	}
	if got := s.notifier.byKind("response-task-overdue"); len(got) == 0 || !slices.ContainsFunc(got, func(n domain.Notice) bool { return n.To == "austin@example.org" }) {
		t.Errorf("overdue e-mails %v, want one to the executive director for notify_insurer", got)
	}

	// The decision is refused until the analyses are signed off.
	decide := &intakev1.FinalizeNotificationDecisionRequest{IncidentId: incident, Notify: true, Rationale: "Unencrypted names and SSNs of 600 Texas residents were exported."}
	_, err = s.response.FinalizeNotificationDecision(as(ctx, "austin"), decide)
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "technical (not written)") ||
		!strings.Contains(status.Convert(err).Message(), "legal (not written)") {
		t.Fatalf("FinalizeNotificationDecision before analyses: %v, want FAILED_PRECONDITION naming technical and legal", err)
	}
	tech := saveAnalysis(evelyn, t, s.response, &intakev1.Analysis{IncidentId: incident, AnalysisId: "technical",
		Content: &intakev1.Analysis_Technical{Technical: &intakev1.TechnicalAnalysis{
			NatureAndExtent:         "Nightly export job credentials were stolen; the HR table was exported.",
			DataElements:            []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_NAME, commonv1.DataElement_DATA_ELEMENT_SSN},
			IdentityTheftLikelihood: intakev1.IdentityTheftLikelihood_IDENTITY_THEFT_LIKELIHOOD_HIGH,
			Parties:                 []string{"unknown external actor"},
		}}})
	legal := saveAnalysis(as(ctx, "barclay"), t, s.response, &intakev1.Analysis{IncidentId: incident, AnalysisId: "legal",
		Content: &intakev1.Analysis_Legal{Legal: &intakev1.LegalAnalysis{
			Laws: []string{"Tex. Bus. & Com. Code § 521.053"}, AuthoritiesMustBeNotified: true, Authorities: []string{"Texas Attorney General"},
			Summary: "More than 250 Texas residents: the Attorney General must be told within 30 days.",
		}}})
	// Signed by someone without the owner role: refused.
	if _, err := s.response.SignOffAnalysis(as(ctx, "karen"), &intakev1.SignOffAnalysisRequest{IncidentId: incident, AnalysisId: "technical",
		Version: tech.GetVersion(), ContentHash: tech.GetContentHash()}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("SignOffAnalysis by loss prevention: %v, want PERMISSION_DENIED", err)
	}
	signOff(evelyn, t, s.response, tech)
	// A later edit voids the sign-off.
	tech2 := saveAnalysis(evelyn, t, s.response, &intakev1.Analysis{IncidentId: incident, AnalysisId: "technical", Etag: tech.GetEtag(),
		Content: &intakev1.Analysis_Technical{Technical: &intakev1.TechnicalAnalysis{
			NatureAndExtent:         "Nightly export job credentials were stolen; the HR table (600 rows) was exported.",
			DataElements:            []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_NAME, commonv1.DataElement_DATA_ELEMENT_SSN},
			IdentityTheftLikelihood: intakev1.IdentityTheftLikelihood_IDENTITY_THEFT_LIKELIHOOD_HIGH,
		}}})
	if tech2.GetVersion() != 2 || tech2.GetSignOff() != nil {
		t.Errorf("edited analysis = v%d signed %v, want v2 unsigned", tech2.GetVersion(), tech2.GetSignOff())
	}
	if _, err := s.response.SignOffAnalysis(evelyn, &intakev1.SignOffAnalysisRequest{IncidentId: incident, AnalysisId: "technical",
		Version: 1, ContentHash: tech.GetContentHash()}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("SignOffAnalysis of a superseded version: %v, want FAILED_PRECONDITION", err)
	}
	signOff(as(ctx, "sam"), t, s.response, legal) // the legal team's deputy
	_, err = s.response.FinalizeNotificationDecision(as(ctx, "austin"), decide)
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "technical (version 2 not signed off)") {
		t.Fatalf("FinalizeNotificationDecision with an unsigned edit: %v, want FAILED_PRECONDITION naming technical v2", err)
	}
	signOff(evelyn, t, s.response, tech2)
	dec, err := s.response.FinalizeNotificationDecision(as(ctx, "austin"), decide)
	if err != nil {
		t.Fatalf("FinalizeNotificationDecision: %v", err)
	}
	if !dec.GetDecision().GetNotify() || len(dec.GetDecision().GetAnalyses()) != 2 {
		t.Errorf("decision = %v", dec.GetDecision())
	}
	if _, err := s.response.FinalizeNotificationDecision(as(ctx, "austin"), decide); err != nil {
		t.Errorf("FinalizeNotificationDecision retried: %v, want the decision", err)
	}
	other := &intakev1.FinalizeNotificationDecisionRequest{IncidentId: incident, Notify: false, Rationale: "changed my mind"}
	if _, err := s.response.FinalizeNotificationDecision(as(ctx, "austin"), other); status.Code(err) != codes.AlreadyExists {
		t.Errorf("a second, different decision: %v, want ALREADY_EXISTS", err)
	}

	for _, st := range []intakev1.IncidentState{intakev1.IncidentState_INCIDENT_STATE_NOTIFYING, intakev1.IncidentState_INCIDENT_STATE_CLOSED} {
		if _, err := s.intake.TransitionIncident(as(ctx, "austin"), &intakev1.TransitionIncidentRequest{IncidentId: incident, State: st, Reason: "notified"}); err != nil {
			t.Fatalf("TransitionIncident %s: %v", st, err)
		}
	}

	// Every step is on the timeline, and the timeline verifies.
	tl, err := s.intake.ListTimeline(ctx, &intakev1.ListTimelineRequest{IncidentId: incident, PageSize: 1000})
	if err != nil {
		t.Fatalf("ListTimeline: %v", err)
	}
	actions := map[string]int{}
	for _, e := range tl.GetEntries() {
		actions[e.GetAction()]++
	}
	for action, want := range map[string]int{
		domain.ActionTasksOpened: 1, domain.ActionTeamAlerted: 1, domain.ActionTaskAssigned: 1, domain.ActionTaskStarted: 1,
		domain.ActionTaskCompleted: 2, domain.ActionTaskBlocked: 1, domain.ActionTaskReopened: 1,
		domain.ActionAnalysisSaved: 3, domain.ActionAnalysisSignedOff: 3, domain.ActionNotificationDecide: 1,
	} {
		if actions[action] != want {
			t.Errorf("timeline has %d %s entries, want %d (all: %v)", actions[action], action, want, actions)
		}
	}
	if actions[domain.ActionTaskOverdue] == 0 {
		t.Errorf("timeline has no %s entry", domain.ActionTaskOverdue)
	}
	v, err := s.intake.VerifyTimeline(ctx, &intakev1.VerifyTimelineRequest{IncidentId: incident})
	if err != nil {
		t.Fatalf("VerifyTimeline: %v", err)
	}
	if !v.GetOk() {
		t.Errorf("timeline does not verify: %v", v.GetFirstBreak())
	}

	// The metrics count this incident.
	m, err := s.response.GetResponseMetrics(ctx, &intakev1.GetResponseMetricsRequest{
		StartTime: timestamppb.New(time.Now().Add(-time.Hour)), EndTime: timestamppb.New(time.Now().Add(time.Hour)),
	})
	if err != nil {
		t.Fatalf("GetResponseMetrics: %v", err)
	}
	if m.GetIncidents() != 1 || m.GetTimeToContain().GetCount() != 1 || m.GetTimeToDecide().GetCount() != 1 ||
		m.GetTaskDeadlinesMet() < 2 || m.GetTaskDeadlinesMissed() == 0 {
		t.Errorf("metrics = %v", m)
	}
	if d := m.GetTimeToDecide().GetMedian().AsDuration(); d < 25*time.Hour {
		t.Errorf("time to decide = %s, want over 25h (decided after the clock moved)", d)
	}

	// The OpenTelemetry instruments were recorded as the events happened.
	var rm metricdata.ResourceMetrics
	if err := s.metrics.Collect(ctx, &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	points := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			switch data := mt.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					points[mt.Name] += dp.Value
				}
			case metricdata.Histogram[float64]:
				for _, dp := range data.DataPoints {
					points[mt.Name] += int64(dp.Count)
				}
			}
		}
	}
	if points["breachline.response.time_to_decide"] != 1 || points["breachline.response.task_deadlines"] != 2 ||
		points["breachline.response.team_alerts"] != 1 || points["breachline.response.tasks_overdue"] == 0 {
		t.Errorf("recorded metrics = %v", points)
	}
}

func saveAnalysis(ctx context.Context, t *testing.T, c intakev1.ResponseServiceClient, a *intakev1.Analysis) *intakev1.Analysis {
	t.Helper()
	resp, err := c.SaveAnalysis(ctx, &intakev1.SaveAnalysisRequest{Analysis: a})
	if err != nil {
		t.Fatalf("SaveAnalysis %s: %v", a.GetAnalysisId(), err)
	}
	return resp.GetAnalysis()
}

func signOff(ctx context.Context, t *testing.T, c intakev1.ResponseServiceClient, a *intakev1.Analysis) {
	t.Helper()
	resp, err := c.SignOffAnalysis(ctx, &intakev1.SignOffAnalysisRequest{IncidentId: a.GetIncidentId(), AnalysisId: a.GetAnalysisId(),
		Version: a.GetVersion(), ContentHash: a.GetContentHash()})
	if err != nil {
		t.Fatalf("SignOffAnalysis %s v%d: %v", a.GetAnalysisId(), a.GetVersion(), err)
	}
	if resp.GetAnalysis().GetSignOff().GetVersion() != a.GetVersion() {
		t.Errorf("sign-off = %v, want version %d", resp.GetAnalysis().GetSignOff(), a.GetVersion())
	}
}
