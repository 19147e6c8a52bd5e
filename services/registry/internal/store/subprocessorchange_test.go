package store

import (
	"errors"
	"testing"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

func TestSubprocessorVersions(t *testing.T) {
	t.Parallel()

	t.Run("method=UpdateSubprocessor/case=versions_and_fence", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.CreateSubprocessor(t.Context(), subprocessor("aws"), idem("", "fp")); err != nil {
			t.Fatalf("CreateSubprocessor: %v", err)
		}
		next := subprocessor("aws")
		next.Status, next.Version, next.UpdateTime = domain.SubprocessorActive, 2, t0.Add(time.Hour)
		got, err := s.UpdateSubprocessor(t.Context(), next, 1)
		if err != nil {
			t.Fatalf("UpdateSubprocessor: %v", err)
		}
		mustEqual(t, got, next)
		// A second writer from the same version loses.
		loser := next
		loser.Purpose = "Other"
		if _, err := s.UpdateSubprocessor(t.Context(), loser, 1); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("stale update: %v, want ErrConflict", err)
		}
		all, err := s.AllSubprocessorVersions(t.Context())
		if err != nil {
			t.Fatalf("AllSubprocessorVersions: %v", err)
		}
		if len(all) != 2 || all[0].Version != 1 || all[1].Version != 2 || all[1].Snapshot.Status != domain.SubprocessorActive || !all[1].Time.Equal(t0.Add(time.Hour)) {
			t.Fatalf("versions = %+v", all)
		}
	})

	t.Run("method=UpdateSubprocessor/case=finishes_a_dead_writers_change", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.CreateSubprocessor(t.Context(), subprocessor("aws"), idem("", "fp")); err != nil {
			t.Fatalf("CreateSubprocessor: %v", err)
		}
		// A writer fenced version 2 and died before updating the document.
		dead := subprocessor("aws")
		dead.Purpose, dead.Version, dead.UpdateTime = "Dead writer's purpose", 2, t0.Add(time.Minute)
		if _, err := s.history.InsertOne(t.Context(), historyDoc{ID: historyID("aws", 2), SubprocessorID: "aws", Version: 2, Time: dead.UpdateTime, Snapshot: subprocessorToState(dead)}); err != nil {
			t.Fatalf("insert fence: %v", err)
		}
		mine := subprocessor("aws")
		mine.Purpose, mine.Version = "Mine", 2
		if _, err := s.UpdateSubprocessor(t.Context(), mine, 1); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("update: %v, want ErrConflict", err)
		}
		got, err := s.GetSubprocessor(t.Context(), "aws")
		if err != nil {
			t.Fatalf("GetSubprocessor: %v", err)
		}
		mustEqual(t, got, dead)
	})

	t.Run("method=AllSubprocessorVersions/case=includes_pending_history", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// A create that stopped before its history entry.
		doc := subprocessorDoc{ID: "gcp", State: subprocessorToState(subprocessor("gcp")), HistoryPending: true, RequestKey: "id:gcp"}
		if _, err := s.subprocs.InsertOne(t.Context(), doc); err != nil {
			t.Fatalf("insert: %v", err)
		}
		all, err := s.AllSubprocessorVersions(t.Context())
		if err != nil || len(all) != 1 || all[0].Snapshot.ID != "gcp" || all[0].Version != 1 {
			t.Fatalf("versions = %+v, %v", all, err)
		}
	})

	t.Run("method=RegistryVersion/case=bumps", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for want := range int64(3) {
			got, err := s.RegistryVersion(t.Context())
			if err != nil || got != want {
				t.Fatalf("RegistryVersion = %d, %v; want %d", got, err, want)
			}
			if err := s.BumpRegistryVersion(t.Context()); err != nil {
				t.Fatalf("BumpRegistryVersion: %v", err)
			}
		}
	})
}

func TestSubprocessorChanges(t *testing.T) {
	t.Parallel()

	change := func(id string) domain.SubprocessorChange {
		return domain.SubprocessorChange{
			ID: id, Kind: domain.ChangeAddition, SubprocessorID: "aws", EffectiveTime: t0.Add(30 * 24 * time.Hour),
			ObjectionWindow: 30 * 24 * time.Hour, Products: []string{"admin"}, CreateTime: t0, FanoutPending: true,
		}
	}

	t.Run("method=CreateSubprocessorChange/case=idempotent", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		first, err := s.CreateSubprocessorChange(t.Context(), change("spc_1"), idem("r1", "fp1"))
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		mustEqual(t, first, change("spc_1"))
		replay, err := s.CreateSubprocessorChange(t.Context(), change("spc_2"), idem("r1", "fp1"))
		if err != nil || replay.ID != "spc_1" {
			t.Fatalf("replay = %+v, %v", replay, err)
		}
		if _, err := s.CreateSubprocessorChange(t.Context(), change("spc_3"), idem("r1", "other")); err == nil {
			t.Fatal("reused request id accepted")
		}
	})

	t.Run("method=FanOut/case=idempotent_and_listed", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, id := range []string{"eu-a", "eu-b"} {
			if _, err := s.CreateCustomer(t.Context(), customer(id), idem("", "")); err != nil {
				t.Fatalf("CreateCustomer: %v", err)
			}
		}
		us := customer("us-c")
		us.Region = domain.RegionUS
		if _, err := s.CreateCustomer(t.Context(), us, idem("", "")); err != nil {
			t.Fatalf("CreateCustomer: %v", err)
		}
		if _, err := s.CreateSubprocessorChange(t.Context(), change("spc_1"), idem("", "")); err != nil {
			t.Fatalf("create: %v", err)
		}
		if c, ok, err := s.NextUnfannedChange(t.Context(), t0.Add(time.Hour)); err != nil || !ok || c.ID != "spc_1" {
			t.Fatalf("NextUnfannedChange = %+v, %v, %v", c, ok, err)
		}
		affected, err := s.AffectedCustomers(t.Context(), []string{"teacher", "nothing"})
		if err != nil || len(affected) != 2 || affected[0].ID != "eu-a" || affected[1].ID != "eu-b" {
			t.Fatalf("AffectedCustomers = %+v, %v", affected, err)
		}
		entries := []domain.ChangeCustomer{
			{ChangeID: "spc_1", CustomerID: "eu-a", NotificationEmail: "a@x.example", NotifyPending: true},
			{ChangeID: "spc_1", CustomerID: "eu-b", NotificationEmail: "b@x.example", NotifyPending: true},
		}
		for range 2 {
			if err := s.AddChangeCustomers(t.Context(), "spc_1", entries); err != nil {
				t.Fatalf("AddChangeCustomers: %v", err)
			}
		}
		if _, ok, _ := s.NextUnfannedChange(t.Context(), t0.Add(time.Hour)); ok {
			t.Fatal("fan-out still pending")
		}
		got, err := s.ChangeCustomers(t.Context(), "spc_1")
		if err != nil {
			t.Fatalf("ChangeCustomers: %v", err)
		}
		mustEqual(t, got, entries)
		c, err := s.GetSubprocessorChange(t.Context(), "spc_1")
		if err != nil || c.AffectedCount != 2 || c.FanoutPending {
			t.Fatalf("change = %+v, %v", c, err)
		}
	})

	t.Run("method=AddChangeCustomer/case=late_joiner_counted_once", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.CreateSubprocessorChange(t.Context(), change("spc_1"), idem("", "")); err != nil {
			t.Fatalf("create: %v", err)
		}
		if err := s.AddChangeCustomers(t.Context(), "spc_1", []domain.ChangeCustomer{{ChangeID: "spc_1", CustomerID: "eu-a", NotifyPending: true}}); err != nil {
			t.Fatalf("AddChangeCustomers: %v", err)
		}
		late := domain.ChangeCustomer{ChangeID: "spc_1", CustomerID: "eu-late", NotificationEmail: "l@x.example", NotifyPending: true}
		for i, want := range []bool{true, false} {
			added, err := s.AddChangeCustomer(t.Context(), late)
			if err != nil || added != want {
				t.Fatalf("AddChangeCustomer #%d = %v, %v; want %v", i+1, added, err, want)
			}
		}
		// A fan-out finishing after the join still counts both.
		if err := s.AddChangeCustomers(t.Context(), "spc_1", []domain.ChangeCustomer{{ChangeID: "spc_1", CustomerID: "eu-a", NotifyPending: true}}); err != nil {
			t.Fatalf("AddChangeCustomers: %v", err)
		}
		c, err := s.GetSubprocessorChange(t.Context(), "spc_1")
		if err != nil || c.AffectedCount != 2 || c.FanoutPending {
			t.Fatalf("change = %+v, %v; want 2 customers, fan-out done", c, err)
		}
		got, err := s.GetChangeCustomer(t.Context(), "spc_1", "eu-late")
		if err != nil {
			t.Fatalf("GetChangeCustomer: %v", err)
		}
		mustEqual(t, got, late)
	})

	t.Run("method=ChangeWindowsOpen/case=pending_running_ended", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		open := func(at time.Time) bool {
			t.Helper()
			ok, err := s.ChangeWindowsOpen(t.Context(), "spc_1", at)
			if err != nil {
				t.Fatalf("ChangeWindowsOpen: %v", err)
			}
			return ok
		}
		if open(t0) {
			t.Fatal("a change without customers has open windows")
		}
		if err := s.AddChangeCustomers(t.Context(), "spc_1", []domain.ChangeCustomer{{ChangeID: "spc_1", CustomerID: "eu-a", NotifyPending: true}}); err != nil {
			t.Fatalf("AddChangeCustomers: %v", err)
		}
		if !open(t0.Add(1000 * time.Hour)) {
			t.Fatal("a customer waiting for its notice does not keep the change open")
		}
		if err := s.RecordChangeNotice(t.Context(), "spc_1", "eu-a", "ntc_1", t0, t0.Add(time.Hour)); err != nil {
			t.Fatalf("RecordChangeNotice: %v", err)
		}
		if !open(t0.Add(time.Minute)) || open(t0.Add(time.Hour)) {
			t.Fatal("want open inside the window only")
		}
	})

	t.Run("method=CustomerChangeSync/case=found_then_finished", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c := customer("eu-a")
		c.ChangeSyncPending = true
		if _, err := s.CreateCustomer(t.Context(), c, idem("", "")); err != nil {
			t.Fatalf("CreateCustomer: %v", err)
		}
		if _, ok, err := s.NextCustomerChangeSync(t.Context(), c.UpdateTime); err != nil || ok {
			t.Fatalf("found a customer written at the bound: %v, %v", ok, err)
		}
		got, ok, err := s.NextCustomerChangeSync(t.Context(), c.UpdateTime.Add(time.Minute))
		if err != nil || !ok || got.ID != "eu-a" || !got.ChangeSyncPending {
			t.Fatalf("NextCustomerChangeSync = %+v, %v, %v", got, ok, err)
		}
		// Finishing an older version leaves the flag of the newer one.
		if err := s.FinishCustomerChangeSync(t.Context(), "eu-a", 0); err != nil {
			t.Fatalf("FinishCustomerChangeSync: %v", err)
		}
		if _, ok, _ := s.NextCustomerChangeSync(t.Context(), c.UpdateTime.Add(time.Minute)); !ok {
			t.Fatal("flag cleared by a stale version")
		}
		if err := s.FinishCustomerChangeSync(t.Context(), "eu-a", got.Version); err != nil {
			t.Fatalf("FinishCustomerChangeSync: %v", err)
		}
		if _, ok, _ := s.NextCustomerChangeSync(t.Context(), c.UpdateTime.Add(time.Minute)); ok {
			t.Fatal("flag not cleared")
		}
		// An update carries the flag.
		next := got
		next.ChangeSyncPending, next.UpdateTime = true, got.UpdateTime.Add(time.Hour)
		if _, err := s.UpdateCustomer(t.Context(), next, got.Version); err != nil {
			t.Fatalf("UpdateCustomer: %v", err)
		}
		if cu, err := s.GetCustomer(t.Context(), "eu-a"); err != nil || !cu.ChangeSyncPending {
			t.Fatalf("after update = %+v, %v", cu, err)
		}
	})

	t.Run("method=Notice/case=claim_and_record", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if err := s.AddChangeCustomers(t.Context(), "spc_1", []domain.ChangeCustomer{{ChangeID: "spc_1", CustomerID: "eu-a", NotificationEmail: "a@x.example", NotifyPending: true}}); err != nil {
			t.Fatalf("AddChangeCustomers: %v", err)
		}
		e, attempts, ok, err := s.ClaimChangeNotice(t.Context(), "w1", t0, time.Minute)
		if err != nil || !ok || attempts != 1 || e.CustomerID != "eu-a" {
			t.Fatalf("claim = %+v, %d, %v, %v", e, attempts, ok, err)
		}
		if _, _, ok, _ := s.ClaimChangeNotice(t.Context(), "w2", t0, time.Minute); ok {
			t.Fatal("leased entry claimed twice")
		}
		if err := s.RecordChangeNotice(t.Context(), "spc_1", "eu-a", "ntc_1", t0, t0.Add(time.Hour)); err != nil {
			t.Fatalf("RecordChangeNotice: %v", err)
		}
		// A late duplicate keeps the first record.
		if err := s.RecordChangeNotice(t.Context(), "spc_1", "eu-a", "ntc_2", t0.Add(time.Minute), t0.Add(2*time.Hour)); err != nil {
			t.Fatalf("RecordChangeNotice: %v", err)
		}
		got, err := s.GetChangeCustomer(t.Context(), "spc_1", "eu-a")
		want := domain.ChangeCustomer{ChangeID: "spc_1", CustomerID: "eu-a", NotificationEmail: "a@x.example", NotifyTime: t0, NoticeID: "ntc_1", WindowEnd: t0.Add(time.Hour)}
		if err != nil {
			t.Fatalf("GetChangeCustomer: %v", err)
		}
		mustEqual(t, got, want)
		if _, _, ok, _ := s.ClaimChangeNotice(t.Context(), "w2", t0.Add(time.Hour), time.Minute); ok {
			t.Fatal("notified entry claimed")
		}
	})

	t.Run("method=Objection/case=once_per_customer_and_resolved_once", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if err := s.AddChangeCustomers(t.Context(), "spc_1", []domain.ChangeCustomer{{ChangeID: "spc_1", CustomerID: "eu-a", NotifyPending: true}}); err != nil {
			t.Fatalf("AddChangeCustomers: %v", err)
		}
		o := domain.Objection{ChangeID: "spc_1", CustomerID: "eu-a", Reason: "No US transfers", ObjectTime: t0, ObjectedBy: "dpo"}
		if _, err := s.CreateObjection(t.Context(), o, idem("o1", "fp")); err != nil {
			t.Fatalf("CreateObjection: %v", err)
		}
		if got, err := s.CreateObjection(t.Context(), o, idem("o1", "fp")); err != nil || got != o {
			t.Fatalf("replay = %+v, %v", got, err)
		}
		if _, err := s.CreateObjection(t.Context(), o, idem("o2", "fp")); !errors.Is(err, apperr.ErrAlreadyExists) {
			t.Fatalf("second objection: %v, want ErrAlreadyExists", err)
		}
		r := domain.Resolution{ChangeID: "spc_1", CustomerID: "eu-a", Outcome: domain.OutcomeUpheld, Note: "Stays", ResolveTime: t0.Add(time.Hour)}
		if _, err := s.CreateResolution(t.Context(), r, idem("", "fp")); err != nil {
			t.Fatalf("CreateResolution: %v", err)
		}
		if _, err := s.CreateResolution(t.Context(), r, idem("", "fp")); !errors.Is(err, apperr.ErrAlreadyExists) {
			t.Fatalf("second resolution: %v, want ErrAlreadyExists", err)
		}
		got, err := s.GetChangeCustomer(t.Context(), "spc_1", "eu-a")
		if err != nil || got.Objection == nil || got.Objection.Resolution == nil || *got.Objection.Resolution != r {
			t.Fatalf("entry = %+v, %v", got, err)
		}
		all, err := s.AllChangeCustomers(t.Context())
		if err != nil || len(all) != 1 || all[0].Objection == nil {
			t.Fatalf("all = %+v, %v", all, err)
		}
	})
}
