package store_test

import (
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/store"
)

func newResponseStores(t *testing.T) (*store.Store, *store.Response) {
	t.Helper()
	db := mongotest.DB(t)
	idx := store.Indexes()
	maps.Copy(idx, store.ResponseIndexes())
	if err := mongox.EnsureIndexes(t.Context(), db, idx); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	return store.New(db), store.NewResponse(db)
}

func TestResponseQueue(t *testing.T) {
	t.Parallel()
	st, rs := newResponseStores(t)
	ctx := t.Context()
	for range 2 { // a duplicate is not an error
		if err := st.EnqueueOpened(ctx, "inc_a"); err != nil {
			t.Fatalf("EnqueueOpened: %v", err)
		}
	}
	id, attempts, ok, err := rs.ClaimOpened(ctx, "w1", t0, time.Minute)
	if err != nil || !ok || id != "inc_a" || attempts != 1 {
		t.Fatalf("ClaimOpened = %s %d %v %v", id, attempts, ok, err)
	}
	if _, _, ok, _ := rs.ClaimOpened(ctx, "w2", t0.Add(time.Second), time.Minute); ok {
		t.Errorf("a leased entry was claimed again")
	}
	if err := rs.RetryOpened(ctx, "inc_a", "w1", t0.Add(10*time.Second)); err != nil {
		t.Fatalf("RetryOpened: %v", err)
	}
	if _, _, ok, _ := rs.ClaimOpened(ctx, "w2", t0.Add(5*time.Second), time.Minute); ok {
		t.Errorf("an entry was claimed before its retry time")
	}
	if _, attempts, ok, _ := rs.ClaimOpened(ctx, "w2", t0.Add(11*time.Second), time.Minute); !ok || attempts != 2 {
		t.Errorf("retry not claimable after its time (ok %v, attempts %d)", ok, attempts)
	}
	if err := rs.DeleteOpened(ctx, "inc_a", "w2"); err != nil {
		t.Fatalf("DeleteOpened: %v", err)
	}
	if _, _, ok, _ := rs.ClaimOpened(ctx, "w3", t0.Add(time.Hour), time.Minute); ok {
		t.Errorf("a deleted entry was claimed")
	}
	// Queued again (a retried signal): claimable at once, its old fences gone.
	if err := st.EnqueueOpened(ctx, "inc_a"); err != nil {
		t.Fatalf("EnqueueOpened: %v", err)
	}
	if id, attempts, ok, err := rs.ClaimOpened(ctx, "w3", t0.Add(time.Hour), time.Minute); !ok || attempts != 1 {
		t.Errorf("re-queued entry: ClaimOpened = %s %d %v %v, want it claimed at attempt 1", id, attempts, ok, err)
	}
}

func TestResponseTasks(t *testing.T) {
	t.Parallel()
	_, rs := newResponseStores(t)
	ctx := t.Context()
	task := domain.Task{IncidentID: "inc_a", Key: "contain", Title: "Contain", OwnerRole: domain.RoleSecurityCoordinator,
		State: domain.TaskStateOpen, DueTime: t0, CreateTime: t0, UpdateTime: t0, Version: 1}
	for range 2 { // opening again leaves the task as it is
		if err := rs.InsertTasks(ctx, []domain.Task{task}); err != nil {
			t.Fatalf("InsertTasks: %v", err)
		}
	}
	next := task
	next.Version, next.State = 2, domain.TaskStateInProgress
	ev := domain.TaskEvent{Task: next, RequestID: "r1", Time: t0,
		Owed: domain.Owed{RequestID: "k", Entry: domain.TimelineEntry{Action: "response.task_started", Changes: []domain.Change{{Field: "state", OldValue: "OPEN", NewValue: "IN_PROGRESS"}}}}}
	if err := rs.InsertTaskEvent(ctx, ev); err != nil {
		t.Fatalf("InsertTaskEvent: %v", err)
	}
	if err := rs.InsertTaskEvent(ctx, ev); !errors.Is(err, apperr.ErrConflict) {
		t.Errorf("second event for version 2: %v, want ErrConflict", err)
	}
	latest, ok, err := rs.LatestTaskEvent(ctx, task.ID())
	if err != nil || !ok || latest.Task.Version != 2 || latest.Owed.Entry.Changes[0].NewValue != "IN_PROGRESS" {
		t.Errorf("LatestTaskEvent = %+v %v %v", latest, ok, err)
	}
	if _, ok, _ := rs.TaskEventByRequest(ctx, task.ID(), "r1"); !ok {
		t.Errorf("TaskEventByRequest did not find r1")
	}
	if err := rs.ApplyTask(ctx, next); err != nil {
		t.Fatalf("ApplyTask: %v", err)
	}
	if err := rs.ApplyTask(ctx, task); err != nil { // older: ignored
		t.Fatalf("ApplyTask: %v", err)
	}
	got, err := rs.GetTask(ctx, "inc_a", "contain")
	if err != nil || got.Version != 2 || got.State != domain.TaskStateInProgress {
		t.Errorf("GetTask = %+v %v, want version 2 in progress", got, err)
	}
	due, err := rs.DueTasks(ctx, t0.Add(time.Minute), 10)
	if err != nil || len(due) != 1 {
		t.Errorf("DueTasks = %v %v, want the task", due, err)
	}
	escalated := next
	escalated.Version, escalated.EscalateTime = 3, t0.Add(time.Minute)
	if err := rs.ApplyTask(ctx, escalated); err != nil {
		t.Fatalf("ApplyTask: %v", err)
	}
	if due, _ := rs.DueTasks(ctx, t0.Add(time.Hour), 10); len(due) != 0 {
		t.Errorf("DueTasks after escalation = %v, want none", due)
	}
}

func TestResponseAnalyses(t *testing.T) {
	t.Parallel()
	_, rs := newResponseStores(t)
	ctx := t.Context()
	content := domain.AnalysisContent{Technical: &domain.TechnicalAnalysis{NatureAndExtent: "x", DataElements: []domain.DataElement{domain.DataElementSSN}, Likelihood: domain.LikelihoodHigh}}
	a := domain.Analysis{IncidentID: "inc_a", Kind: domain.AnalysisTechnical, Content: content, Version: 1, ContentHash: domain.ContentHash(content), CreateTime: t0, RequestID: "save-1"}
	if err := rs.InsertAnalysis(ctx, a); err != nil {
		t.Fatalf("InsertAnalysis: %v", err)
	}
	if err := rs.InsertAnalysis(ctx, a); !errors.Is(err, apperr.ErrConflict) {
		t.Errorf("second version 1: %v, want ErrConflict", err)
	}
	a2 := a
	a2.Version, a2.RequestID = 2, ""
	if err := rs.InsertAnalysis(ctx, a2); err != nil {
		t.Fatalf("InsertAnalysis v2: %v", err)
	}
	latest, ok, err := rs.LatestAnalysis(ctx, "inc_a", domain.AnalysisTechnical)
	if err != nil || !ok || latest.Version != 2 || domain.ContentHash(latest.Content) != a.ContentHash {
		t.Errorf("LatestAnalysis = v%d %v %v (content must read back to the same hash)", latest.Version, ok, err)
	}
	if byReq, ok, _ := rs.AnalysisByRequest(ctx, "inc_a", domain.AnalysisTechnical, "save-1"); !ok || byReq.Version != 1 {
		t.Errorf("AnalysisByRequest = v%d %v", byReq.Version, ok)
	}
	so := domain.SignOff{IncidentID: "inc_a", Kind: domain.AnalysisTechnical, Version: 2, ContentHash: a.ContentHash, Signer: "evelyn", Time: t0}
	if err := rs.InsertSignOff(ctx, so); err != nil {
		t.Fatalf("InsertSignOff: %v", err)
	}
	if err := rs.InsertSignOff(ctx, so); !errors.Is(err, apperr.ErrAlreadyExists) {
		t.Errorf("second sign-off: %v, want ErrAlreadyExists", err)
	}
	if err := rs.MarkLogged(ctx, domain.LoggedSignOff, "inc_a/technical#2"); err != nil {
		t.Fatalf("MarkLogged: %v", err)
	}
	if got, ok, _ := rs.GetSignOff(ctx, "inc_a", domain.AnalysisTechnical, 2); !ok || !got.Owed.Logged || got.Signer != "evelyn" {
		t.Errorf("GetSignOff = %+v %v", got, ok)
	}
	d := domain.Decision{IncidentID: "inc_a", Notify: true, Rationale: "r", Time: t0,
		Analyses: []domain.AnalysisRef{{Kind: domain.AnalysisTechnical, Version: 2, ContentHash: a.ContentHash, Signer: "evelyn"}}}
	if err := rs.InsertDecision(ctx, d); err != nil {
		t.Fatalf("InsertDecision: %v", err)
	}
	if err := rs.InsertDecision(ctx, d); !errors.Is(err, apperr.ErrAlreadyExists) {
		t.Errorf("second decision: %v, want ErrAlreadyExists", err)
	}
	if got, err := rs.GetDecision(ctx, "inc_a"); err != nil || len(got.Analyses) != 1 || !got.Notify {
		t.Errorf("GetDecision = %+v %v", got, err)
	}
}

func TestResponseTeam(t *testing.T) {
	t.Parallel()
	_, rs := newResponseStores(t)
	ctx := t.Context()
	m := domain.TeamMember{ID: "evelyn", Name: "Evelyn", Roles: []domain.TeamRole{domain.RoleSecurityCoordinator}, Email: "e@example.org", Version: 1}
	if err := rs.PutMember(ctx, m, 0); err != nil {
		t.Fatalf("PutMember: %v", err)
	}
	if err := rs.PutMember(ctx, m, 0); !errors.Is(err, apperr.ErrConflict) {
		t.Errorf("create over an existing member: %v, want ErrConflict", err)
	}
	m.Version = 2
	if err := rs.PutMember(ctx, m, 5); !errors.Is(err, apperr.ErrConflict) {
		t.Errorf("replace at a wrong version: %v, want ErrConflict", err)
	}
	if err := rs.PutMember(ctx, m, 1); err != nil {
		t.Fatalf("PutMember v2: %v", err)
	}
	legal := domain.TeamMember{ID: "barclay", Name: "Barclay", Roles: []domain.TeamRole{domain.RoleLegal}, Email: "b@example.org", Version: 1}
	if err := rs.PutMember(ctx, legal, 0); err != nil {
		t.Fatalf("PutMember: %v", err)
	}
	all, err := rs.ListMembers(ctx, domain.RoleUnspecified, "", 0)
	if err != nil || len(all) != 2 || all[0].ID != "barclay" {
		t.Errorf("ListMembers = %v %v, want both by id", all, err)
	}
	coords, err := rs.ListMembers(ctx, domain.RoleSecurityCoordinator, "", 10)
	if err != nil || len(coords) != 1 || coords[0].Version != 2 {
		t.Errorf("ListMembers(security_coordinator) = %v %v", coords, err)
	}
}
