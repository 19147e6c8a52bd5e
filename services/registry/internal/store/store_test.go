package store

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// The contract suite: every test runs against the real embedded
// MongoDB-compatible server, in a fresh database, through the domain.Store
// interface only (except where a test must fake a crash).

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

func newStore(t *testing.T) *Store {
	t.Helper()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, Indexes()); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	return New(db)
}

func customer(id string) domain.Customer {
	return domain.Customer{
		ID:                           id,
		DisplayName:                  "Customer " + id,
		Region:                       domain.RegionEUEEACH,
		NotificationEmail:            "dpo@" + id + ".example",
		Products:                     []string{"admin", "teacher"},
		EmployeeNotification:         domain.EmployeeNotificationCustomer,
		NotifyWithinHours:            72,
		NotificationEmailConfirmTime: t0,
		CreateTime:                   t0,
		UpdateTime:                   t0,
		Version:                      1,
	}
}

func idem(key, fp string) domain.Idempotency { return domain.Idempotency{Key: key, Fingerprint: fp} }

func mustEqual[T any](t *testing.T, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestCustomers(t *testing.T) {
	t.Parallel()

	t.Run("method=Create/case=roundtrip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		in := customer("acme")
		out, err := s.CreateCustomer(t.Context(), in, idem("r1", "fp1"))
		if err != nil {
			t.Fatalf("CreateCustomer: %v", err)
		}
		mustEqual(t, out, in)
		got, err := s.GetCustomer(t.Context(), "acme")
		if err != nil {
			t.Fatalf("GetCustomer: %v", err)
		}
		mustEqual(t, got, in)
	})

	t.Run("method=Create/case=retry_returns_first", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		first := customer("acme")
		if _, err := s.CreateCustomer(t.Context(), first, idem("r1", "fp1")); err != nil {
			t.Fatalf("CreateCustomer: %v", err)
		}
		retry := customer("acme")
		retry.CreateTime = t0.Add(time.Minute) // the retry's own "now"
		got, err := s.CreateCustomer(t.Context(), retry, idem("r1", "fp1"))
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		mustEqual(t, got, first)
	})

	t.Run("method=Create/case=request_id_reused", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.CreateCustomer(t.Context(), customer("acme"), idem("r1", "fp1")); err != nil {
			t.Fatalf("CreateCustomer: %v", err)
		}
		_, err := s.CreateCustomer(t.Context(), customer("other"), idem("r1", "fp2"))
		ie, ok := apperr.AsInvalid(err)
		if !ok || len(ie.Violations) != 1 || ie.Violations[0].Field != "request_id" {
			t.Fatalf("got %v, want invalid request_id", err)
		}
		if _, err := s.GetCustomer(t.Context(), "other"); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("other was created: %v", err)
		}
	})

	t.Run("method=Create/case=duplicate", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			name          string
			first, second domain.Idempotency
		}{
			{"no_request_ids", idem("", "fp1"), idem("", "fp1")},
			{"other_request_id", idem("r1", "fp1"), idem("r2", "fp1")},
			{"first_without", idem("", "fp1"), idem("r2", "fp1")},
			{"second_without", idem("r1", "fp1"), idem("", "fp1")},
		}
		for _, tc := range cases {
			t.Run("ids="+tc.name, func(t *testing.T) {
				t.Parallel()
				s := newStore(t)
				if _, err := s.CreateCustomer(t.Context(), customer("acme"), tc.first); err != nil {
					t.Fatalf("first: %v", err)
				}
				if _, err := s.CreateCustomer(t.Context(), customer("acme"), tc.second); !errors.Is(err, apperr.ErrAlreadyExists) {
					t.Fatalf("second: got %v, want ErrAlreadyExists", err)
				}
			})
		}
	})

	t.Run("method=Create/case=many_without_request_id", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, id := range []string{"aaa", "bbb", "ccc"} {
			if _, err := s.CreateCustomer(t.Context(), customer(id), idem("", "fp-"+id)); err != nil {
				t.Fatalf("CreateCustomer %s: %v", id, err)
			}
		}
	})

	t.Run("method=Get/case=missing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.GetCustomer(t.Context(), "nobody"); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})

	t.Run("method=List/case=order_after_region", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		regions := map[string]domain.Region{"ddd": domain.RegionUS, "bbb": domain.RegionEUEEACH, "ccc": domain.RegionUS, "aaa": domain.RegionUK}
		for id, r := range regions {
			c := customer(id)
			c.Region = r
			if _, err := s.CreateCustomer(t.Context(), c, idem("", id)); err != nil {
				t.Fatalf("CreateCustomer: %v", err)
			}
		}
		idsOf := func(cs []domain.Customer) []string {
			out := []string{}
			for _, c := range cs {
				out = append(out, c.ID)
			}
			return out
		}
		all, err := s.ListCustomers(t.Context(), domain.CustomerQuery{Limit: 10})
		if err != nil {
			t.Fatalf("ListCustomers: %v", err)
		}
		mustEqual(t, idsOf(all), []string{"aaa", "bbb", "ccc", "ddd"})
		page, err := s.ListCustomers(t.Context(), domain.CustomerQuery{After: "bbb", Limit: 1})
		if err != nil {
			t.Fatalf("ListCustomers: %v", err)
		}
		mustEqual(t, idsOf(page), []string{"ccc"})
		us, err := s.ListCustomers(t.Context(), domain.CustomerQuery{Region: domain.RegionUS, After: "ccc", Limit: 10})
		if err != nil {
			t.Fatalf("ListCustomers: %v", err)
		}
		mustEqual(t, idsOf(us), []string{"ddd"})
	})

	t.Run("method=Update/case=current_version", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.CreateCustomer(t.Context(), customer("acme"), idem("", "fp")); err != nil {
			t.Fatalf("CreateCustomer: %v", err)
		}
		next := customer("acme")
		next.DisplayName = "Acme Schools"
		next.Products = nil
		next.UpdateTime = t0.Add(time.Hour)
		got, err := s.UpdateCustomer(t.Context(), next, 1)
		if err != nil {
			t.Fatalf("UpdateCustomer: %v", err)
		}
		next.Version = 2
		mustEqual(t, got, next)
		read, err := s.GetCustomer(t.Context(), "acme")
		if err != nil {
			t.Fatalf("GetCustomer: %v", err)
		}
		mustEqual(t, read, next)
	})

	t.Run("method=Update/case=stale_version", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.CreateCustomer(t.Context(), customer("acme"), idem("", "fp")); err != nil {
			t.Fatalf("CreateCustomer: %v", err)
		}
		next := customer("acme")
		next.DisplayName = "Changed"
		if _, err := s.UpdateCustomer(t.Context(), next, 1); err != nil {
			t.Fatalf("first update: %v", err)
		}
		if _, err := s.UpdateCustomer(t.Context(), next, 1); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("stale update: got %v, want ErrConflict", err)
		}
	})

	t.Run("method=Update/case=history", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		first := customer("acme")
		if _, err := s.CreateCustomer(t.Context(), first, idem("r1", "fp")); err != nil {
			t.Fatalf("CreateCustomer: %v", err)
		}
		// A retried create records version 1 once.
		if _, err := s.CreateCustomer(t.Context(), first, idem("r1", "fp")); err != nil {
			t.Fatalf("retry: %v", err)
		}
		second := customer("acme")
		second.NotificationEmail = "privacy@acme.example"
		second.UpdateTime = t0.Add(time.Hour)
		second.NotificationEmailConfirmTime = second.UpdateTime
		if _, err := s.UpdateCustomer(t.Context(), second, 1); err != nil {
			t.Fatalf("UpdateCustomer: %v", err)
		}
		second.Version = 2
		hist, err := s.CustomerHistory(t.Context(), "acme")
		if err != nil {
			t.Fatalf("CustomerHistory: %v", err)
		}
		mustEqual(t, hist, []domain.CustomerVersion{
			{Version: 1, Time: t0, Snapshot: first},
			{Version: 2, Time: t0.Add(time.Hour), Snapshot: second},
		})
	})

	t.Run("method=Update/case=claim_of_dead_writer_is_finished", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.CreateCustomer(t.Context(), customer("acme"), idem("", "fp")); err != nil {
			t.Fatalf("CreateCustomer: %v", err)
		}
		// A writer claimed version 2 and died before applying it.
		dead := customer("acme")
		dead.DisplayName = "Claimed by a dead writer"
		snap := customerToDoc(dead, domain.Idempotency{})
		snap.RequestKey, snap.Version = "", 2
		claim := customerVersionDoc{ID: versionID("acme", 2), CustomerID: "acme", Version: 2, Time: t0, Snapshot: snap}
		if _, err := s.versions.InsertOne(t.Context(), claim); err != nil {
			t.Fatalf("insert claim: %v", err)
		}
		next := customer("acme")
		next.DisplayName = "Next"
		// While the claim is fresh its writer may still be working: conflict,
		// nothing changes.
		next.UpdateTime = t0.Add(time.Second)
		if _, err := s.UpdateCustomer(t.Context(), next, 1); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("fresh claim: got %v, want ErrConflict", err)
		}
		if got, _ := s.GetCustomer(t.Context(), "acme"); got.Version != 1 {
			t.Fatalf("fresh claim applied: %+v", got)
		}
		// Once stale, the next writer applies it and still gets a conflict
		// (its own read is out of date); from version 2 it then succeeds.
		next.UpdateTime = t0.Add(2 * time.Minute)
		if _, err := s.UpdateCustomer(t.Context(), next, 1); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("stale claim: got %v, want ErrConflict", err)
		}
		got, err := s.GetCustomer(t.Context(), "acme")
		if err != nil || got.Version != 2 || got.DisplayName != dead.DisplayName {
			t.Fatalf("stale claim not applied: %+v, %v", got, err)
		}
		if got, err := s.UpdateCustomer(t.Context(), next, 2); err != nil || got.Version != 3 || got.DisplayName != "Next" {
			t.Fatalf("update from version 2: %+v, %v", got, err)
		}
	})

	t.Run("method=Update/case=missing_leaves_no_claim", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.UpdateCustomer(t.Context(), customer("acme"), 1); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
		if _, err := s.CreateCustomer(t.Context(), customer("acme"), idem("", "fp")); err != nil {
			t.Fatalf("CreateCustomer: %v", err)
		}
		if _, err := s.UpdateCustomer(t.Context(), customer("acme"), 1); err != nil {
			t.Fatalf("UpdateCustomer after create: %v", err)
		}
	})

	t.Run("method=Update/case=missing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.UpdateCustomer(t.Context(), customer("nobody"), 1); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
}

func subprocessor(id string) domain.Subprocessor {
	return domain.Subprocessor{
		ID:                id,
		LegalName:         "Vendor " + id + " Inc.",
		Country:           "US",
		Purpose:           "Hosting",
		Products:          []string{"admin"},
		DataCategories:    []string{"student name"},
		TransferMechanism: domain.TransferSCC,
		AgreementTime:     t0.Add(-24 * time.Hour),
		Status:            domain.SubprocessorProposed,
		CreateTime:        t0,
		UpdateTime:        t0,
		Version:           1,
	}
}

func TestSubprocessors(t *testing.T) {
	t.Parallel()

	t.Run("method=Create/case=roundtrip_with_history", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		in := subprocessor("aws")
		out, err := s.CreateSubprocessor(t.Context(), in, idem("r1", "fp1"))
		if err != nil {
			t.Fatalf("CreateSubprocessor: %v", err)
		}
		mustEqual(t, out, in)
		got, err := s.GetSubprocessor(t.Context(), "aws")
		if err != nil {
			t.Fatalf("GetSubprocessor: %v", err)
		}
		mustEqual(t, got, in)
		hist, err := s.SubprocessorHistory(t.Context(), "aws")
		if err != nil {
			t.Fatalf("SubprocessorHistory: %v", err)
		}
		mustEqual(t, hist, []domain.SubprocessorVersion{{Version: 1, Time: t0, Snapshot: in}})
	})

	t.Run("method=Create/case=retry_one_history_entry", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		in := subprocessor("aws")
		for range 2 {
			if _, err := s.CreateSubprocessor(t.Context(), in, idem("r1", "fp1")); err != nil {
				t.Fatalf("CreateSubprocessor: %v", err)
			}
		}
		hist, err := s.SubprocessorHistory(t.Context(), "aws")
		if err != nil {
			t.Fatalf("SubprocessorHistory: %v", err)
		}
		if len(hist) != 1 {
			t.Fatalf("got %d history entries, want 1", len(hist))
		}
	})

	t.Run("method=Create/case=duplicate", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.CreateSubprocessor(t.Context(), subprocessor("aws"), idem("", "fp1")); err != nil {
			t.Fatalf("CreateSubprocessor: %v", err)
		}
		if _, err := s.CreateSubprocessor(t.Context(), subprocessor("aws"), idem("r2", "fp1")); !errors.Is(err, apperr.ErrAlreadyExists) {
			t.Fatalf("got %v, want ErrAlreadyExists", err)
		}
	})

	t.Run("method=SyncHistory/case=interrupted_create", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// A create that crashed after its first write: the document exists
		// with history_pending, the history entry does not.
		sp := subprocessor("aws")
		doc := subprocessorDoc{ID: sp.ID, State: subprocessorToState(sp), HistoryPending: true, RequestKey: "id:aws"}
		if _, err := s.subprocs.InsertOne(t.Context(), doc); err != nil {
			t.Fatalf("insert: %v", err)
		}
		if did, err := s.SyncSubprocessorHistory(t.Context(), t0); err != nil || did {
			t.Fatalf("sync before grace: did=%v err=%v, want nothing done", did, err)
		}
		if did, err := s.SyncSubprocessorHistory(t.Context(), t0.Add(time.Minute)); err != nil || !did {
			t.Fatalf("sync: did=%v err=%v, want work done", did, err)
		}
		if did, err := s.SyncSubprocessorHistory(t.Context(), t0.Add(time.Minute)); err != nil || did {
			t.Fatalf("second sync: did=%v err=%v, want nothing left", did, err)
		}
		hist, err := s.SubprocessorHistory(t.Context(), "aws")
		if err != nil {
			t.Fatalf("SubprocessorHistory: %v", err)
		}
		mustEqual(t, hist, []domain.SubprocessorVersion{{Version: 1, Time: t0, Snapshot: sp}})
	})

	t.Run("method=Get/case=missing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.GetSubprocessor(t.Context(), "nobody"); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})

	t.Run("method=List/case=filters", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		specs := []struct {
			id       string
			products []string
			status   domain.SubprocessorStatus
		}{
			{"aaa", []string{"admin", "teacher"}, domain.SubprocessorActive},
			{"bbb", []string{"teacher"}, domain.SubprocessorProposed},
			{"ccc", nil, domain.SubprocessorActive},
			{"ddd", []string{"teacher"}, domain.SubprocessorActive},
		}
		for _, sp := range specs {
			in := subprocessor(sp.id)
			in.Products = sp.products
			in.Status = sp.status
			if _, err := s.CreateSubprocessor(t.Context(), in, idem("", sp.id)); err != nil {
				t.Fatalf("CreateSubprocessor: %v", err)
			}
		}
		cases := []struct {
			name string
			q    domain.SubprocessorQuery
			want []string
		}{
			{"none", domain.SubprocessorQuery{Limit: 10}, []string{"aaa", "bbb", "ccc", "ddd"}},
			{"product", domain.SubprocessorQuery{Product: "teacher", Limit: 10}, []string{"aaa", "bbb", "ddd"}},
			{"status", domain.SubprocessorQuery{Status: domain.SubprocessorActive, Limit: 10}, []string{"aaa", "ccc", "ddd"}},
			{"both_after", domain.SubprocessorQuery{Product: "teacher", Status: domain.SubprocessorActive, After: "aaa", Limit: 10}, []string{"ddd"}},
			{"limit", domain.SubprocessorQuery{Limit: 2}, []string{"aaa", "bbb"}},
		}
		for _, tc := range cases {
			t.Run("filter="+tc.name, func(t *testing.T) {
				t.Parallel()
				got, err := s.ListSubprocessors(t.Context(), tc.q)
				if err != nil {
					t.Fatalf("ListSubprocessors: %v", err)
				}
				gotIDs := []string{}
				for _, sp := range got {
					gotIDs = append(gotIDs, sp.ID)
				}
				mustEqual(t, gotIDs, tc.want)
			})
		}
	})
}

func dsr(customerID string) domain.DataSubjectRequest {
	return domain.DataSubjectRequest{
		ID:          ids.New("dsr"),
		CustomerID:  customerID,
		Type:        domain.DSRErasure,
		Subject:     domain.DataSubject{Name: "Ada Lovelace", Email: "ada@example.org", AccountRef: "u-1"},
		Details:     "Please delete my account.",
		ReceiveTime: t0,
		DueTime:     domain.DueTime(t0),
		Status:      domain.DSRReceived,
		CreateTime:  t0,
	}
}

func TestDataSubjectRequests(t *testing.T) {
	t.Parallel()

	t.Run("method=Create/case=roundtrip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		in := dsr("acme")
		in.Subject.Email = ""
		out, err := s.CreateDataSubjectRequest(t.Context(), in, idem("", "fp"))
		if err != nil {
			t.Fatalf("CreateDataSubjectRequest: %v", err)
		}
		mustEqual(t, out, in)
		got, err := s.GetDataSubjectRequest(t.Context(), in.ID)
		if err != nil {
			t.Fatalf("GetDataSubjectRequest: %v", err)
		}
		mustEqual(t, got, in)
	})

	t.Run("method=Create/case=retry_returns_first", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		first := dsr("acme")
		if _, err := s.CreateDataSubjectRequest(t.Context(), first, idem("r1", "fp")); err != nil {
			t.Fatalf("CreateDataSubjectRequest: %v", err)
		}
		got, err := s.CreateDataSubjectRequest(t.Context(), dsr("acme"), idem("r1", "fp"))
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		mustEqual(t, got, first)
	})

	t.Run("method=Create/case=request_id_reused", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.CreateDataSubjectRequest(t.Context(), dsr("acme"), idem("r1", "fp1")); err != nil {
			t.Fatalf("CreateDataSubjectRequest: %v", err)
		}
		if _, err := s.CreateDataSubjectRequest(t.Context(), dsr("acme"), idem("r1", "fp2")); err == nil {
			t.Fatal("got nil error, want invalid request_id")
		} else if _, ok := apperr.AsInvalid(err); !ok {
			t.Fatalf("got %v, want invalid request_id", err)
		}
	})

	t.Run("method=Get/case=missing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.GetDataSubjectRequest(t.Context(), ids.New("dsr")); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
}
