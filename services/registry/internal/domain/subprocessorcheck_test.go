package domain_test

import (
	"testing"
	"time"

	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/registry/internal/domain"
	"github.com/breachline/breachline/services/registry/internal/store"
)

// replicas returns two registry services over one fresh database, as two
// replicas of the service would be: a (default refresh) and b (refresh).
func replicas(t *testing.T, refresh time.Duration) (a, b *domain.Service) {
	t.Helper()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	st := store.New(db)
	return domain.NewService(st, nil), domain.NewService(store.New(db), nil, domain.WithCheckRefresh(refresh))
}

func createActive(t *testing.T, s *domain.Service, id string) {
	t.Helper()
	if _, err := s.CreateSubprocessor(t.Context(), "", domain.Subprocessor{
		ID: id, LegalName: "Vendor GmbH", Country: "DE", Purpose: "Hosting", Products: []string{"admin"}, Status: domain.SubprocessorActive,
	}); err != nil {
		t.Fatalf("CreateSubprocessor: %v", err)
	}
}

func checkReason(t *testing.T, s *domain.Service, id string) (domain.CheckReason, int64) {
	t.Helper()
	r, err := s.CheckSubprocessor(t.Context(), domain.CheckParams{SubprocessorID: id, Product: "admin", Region: domain.RegionEUEEACH})
	if err != nil {
		t.Fatalf("CheckSubprocessor: %v", err)
	}
	return r.Reason, r.RegistryVersion
}

func retire(t *testing.T, s *domain.Service, id string) {
	t.Helper()
	if _, err := s.UpdateSubprocessor(t.Context(), domain.SubprocessorUpdate{
		Subprocessor: domain.Subprocessor{ID: id, Status: domain.SubprocessorRetired}, Paths: []string{"status"},
	}); err != nil {
		t.Fatalf("UpdateSubprocessor: %v", err)
	}
}

func TestCheckCacheInvalidation(t *testing.T) {
	t.Parallel()

	t.Run("method=Check/case=writer_replica_sees_its_write_at_once", func(t *testing.T) {
		t.Parallel()
		a, _ := replicas(t, time.Hour)
		createActive(t, a, "vendor")
		if got, _ := checkReason(t, a, "vendor"); got != domain.CheckAllowed {
			t.Fatalf("before: %v", got)
		}
		retire(t, a, "vendor")
		if got, _ := checkReason(t, a, "vendor"); got != domain.CheckNotActive {
			t.Fatalf("after retire on the same replica: %v, want not_active at once", got)
		}
	})

	t.Run("method=Check/case=other_replica_keeps_its_snapshot_until_the_probe", func(t *testing.T) {
		t.Parallel()
		a, b := replicas(t, time.Hour)
		createActive(t, a, "vendor")
		if got, _ := checkReason(t, b, "vendor"); got != domain.CheckAllowed {
			t.Fatalf("before: %v", got)
		}
		retire(t, a, "vendor")
		// b probes at most hourly: it answers from its snapshot (the bound
		// is the refresh interval, not "never").
		if got, _ := checkReason(t, b, "vendor"); got != domain.CheckAllowed {
			t.Fatalf("b within its refresh interval: %v, want the cached answer", got)
		}
	})

	t.Run("method=Check/case=other_replica_sees_the_write_after_the_probe", func(t *testing.T) {
		t.Parallel()
		a, b := replicas(t, 20*time.Millisecond)
		createActive(t, a, "vendor")
		_, v0 := checkReason(t, b, "vendor")
		retire(t, a, "vendor")
		deadline := time.NewTimer(5 * time.Second)
		defer deadline.Stop()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			got, v := checkReason(t, b, "vendor")
			if got == domain.CheckNotActive {
				if v <= v0 {
					t.Fatalf("registry version %d after the change, was %d", v, v0)
				}
				return
			}
			select {
			case <-deadline.C:
				t.Fatalf("b still answers %v 5s after the change", got)
			case <-tick.C:
			}
		}
	})
}
