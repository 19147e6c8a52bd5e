package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
	"github.com/breachline/breachline/services/dispatch/internal/store"
)

// newStore returns a Store on a fresh database with its indexes.
func newStore(t *testing.T) *store.Store {
	t.Helper()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	return store.New(db)
}

var created = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// drafts returns fresh drafts (new ids) for obligations named by ids of
// assessment asm on incident inc.
func drafts(inc, asm string, obligationIDs ...string) []domain.Campaign {
	out := make([]domain.Campaign, len(obligationIDs))
	for i, oid := range obligationIDs {
		out[i] = domain.Campaign{
			ID:           ids.New(domain.IDPrefix),
			IncidentID:   inc,
			AssessmentID: asm,
			Obligation: domain.Obligation{
				ID:              oid,
				RulePack:        "us-tx",
				RulePackVersion: "2026.1",
				RuleID:          "ag-250",
				Jurisdiction:    "US-TX",
				Audience:        domain.AudienceRegulator,
				Deadline:        time.Date(2026, 4, 15, 9, 30, 1, 123456789, time.UTC),
				DeadlineText:    "not later than the 30th day",
				Reason:          "250 or more Texas residents",
				Citation:        "Tex. Bus. & Com. Code 521.053(i)",
				AffectedCount:   300,
			},
			State:      domain.StateDraft,
			Channel:    domain.ChannelRegulatorPacket,
			CreateTime: created,
		}
	}
	return out
}

func campaignIDs(cs []domain.Campaign) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func TestStore(t *testing.T) {
	t.Parallel()

	t.Run("method=CreateDrafts/case=new", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		in := drafts("inc_1", "asm_1", "us-tx.ag", "us-tx.individuals", "org.insurer")
		in[1].Obligation.Audience = domain.AudienceIndividuals
		in[1].Obligation.Deadline = time.Time{}
		in[1].Channel = domain.ChannelEmail
		got, n, err := s.CreateDrafts(t.Context(), in)
		if err != nil {
			t.Fatalf("CreateDrafts: %v", err)
		}
		if n != 3 {
			t.Errorf("created = %d, want 3", n)
		}
		if !reflect.DeepEqual(got, in) {
			t.Errorf("CreateDrafts returned\n%+v\nwant\n%+v", got, in)
		}
		for _, want := range in {
			c, err := s.Get(t.Context(), want.ID)
			if err != nil {
				t.Fatalf("Get(%s): %v", want.ID, err)
			}
			if !reflect.DeepEqual(c, want) {
				t.Errorf("Get(%s) =\n%+v\nwant\n%+v", want.ID, c, want)
			}
		}
	})

	t.Run("method=CreateDrafts/case=repeat", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		first, _, err := s.CreateDrafts(t.Context(), drafts("inc_1", "asm_1", "a", "b"))
		if err != nil {
			t.Fatalf("first CreateDrafts: %v", err)
		}
		again, n, err := s.CreateDrafts(t.Context(), drafts("inc_1", "asm_1", "a", "b"))
		if err != nil {
			t.Fatalf("second CreateDrafts: %v", err)
		}
		if n != 0 {
			t.Errorf("created = %d, want 0", n)
		}
		if !reflect.DeepEqual(again, first) {
			t.Errorf("repeat returned\n%+v\nwant the first campaigns\n%+v", again, first)
		}
	})

	t.Run("method=CreateDrafts/case=partly_existing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		first, _, err := s.CreateDrafts(t.Context(), drafts("inc_1", "asm_1", "b"))
		if err != nil {
			t.Fatalf("first CreateDrafts: %v", err)
		}
		in := drafts("inc_1", "asm_1", "a", "b", "c")
		got, n, err := s.CreateDrafts(t.Context(), in)
		if err != nil {
			t.Fatalf("second CreateDrafts: %v", err)
		}
		if n != 2 {
			t.Errorf("created = %d, want 2", n)
		}
		want := []string{in[0].ID, first[0].ID, in[2].ID}
		if g := campaignIDs(got); !reflect.DeepEqual(g, want) {
			t.Errorf("ids = %v, want %v (input order, existing kept)", g, want)
		}
	})

	t.Run("method=CreateDrafts/case=same_obligation_other_assessment", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, _, err := s.CreateDrafts(t.Context(), drafts("inc_1", "asm_1", "a")); err != nil {
			t.Fatalf("CreateDrafts asm_1: %v", err)
		}
		_, n, err := s.CreateDrafts(t.Context(), drafts("inc_1", "asm_2", "a"))
		if err != nil {
			t.Fatalf("CreateDrafts asm_2: %v", err)
		}
		if n != 1 {
			t.Errorf("created = %d, want 1: the key is (assessment, obligation)", n)
		}
	})

	t.Run("method=CreateDrafts/case=concurrent", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		obligations := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
		const callers = 4
		var (
			wg      sync.WaitGroup
			results [callers][]domain.Campaign
			counts  [callers]int
			errs    [callers]error
		)
		for i := range callers {
			wg.Go(func() {
				results[i], counts[i], errs[i] = s.CreateDrafts(t.Context(), drafts("inc_1", "asm_1", obligations...))
			})
		}
		wg.Wait()
		total := 0
		for i := range callers {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			total += counts[i]
			if !reflect.DeepEqual(campaignIDs(results[i]), campaignIDs(results[0])) {
				t.Errorf("caller %d got ids %v, caller 0 got %v", i, campaignIDs(results[i]), campaignIDs(results[0]))
			}
		}
		if total != len(obligations) {
			t.Errorf("created in total = %d, want %d", total, len(obligations))
		}
		all, err := s.List(t.Context(), domain.ListQuery{Limit: 100})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(all) != len(obligations) {
			t.Errorf("stored %d campaigns, want %d", len(all), len(obligations))
		}
	})

	t.Run("method=CreateDrafts/case=empty", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		got, n, err := s.CreateDrafts(t.Context(), nil)
		if err != nil || n != 0 || len(got) != 0 {
			t.Errorf("CreateDrafts(nil) = %v, %d, %v; want empty, 0, nil", got, n, err)
		}
	})

	t.Run("method=Get/case=not_found", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		_, err := s.Get(t.Context(), ids.New(domain.IDPrefix))
		if !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("Get(unknown) error = %v, want ErrNotFound", err)
		}
	})

	t.Run("method=List/case=filter_and_cursor", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		var want []string
		for i := range 3 {
			mine, _, err := s.CreateDrafts(t.Context(), drafts("inc_mine", fmt.Sprintf("asm_%d", i), "a", "b"))
			if err != nil {
				t.Fatalf("CreateDrafts: %v", err)
			}
			want = append(want, campaignIDs(mine)...)
			if _, _, err := s.CreateDrafts(t.Context(), drafts("inc_other", fmt.Sprintf("asm_o%d", i), "a")); err != nil {
				t.Fatalf("CreateDrafts: %v", err)
			}
		}
		first, err := s.List(t.Context(), domain.ListQuery{IncidentID: "inc_mine", Limit: 4})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if g := campaignIDs(first); !reflect.DeepEqual(g, want[:4]) {
			t.Errorf("first page = %v, want %v", g, want[:4])
		}
		rest, err := s.List(t.Context(), domain.ListQuery{IncidentID: "inc_mine", After: want[3], Limit: 4})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if g := campaignIDs(rest); !reflect.DeepEqual(g, want[4:]) {
			t.Errorf("second page = %v, want %v", g, want[4:])
		}
		all, err := s.List(t.Context(), domain.ListQuery{Limit: 100})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(all) != 9 {
			t.Errorf("unfiltered List returned %d campaigns, want 9", len(all))
		}
	})

	t.Run("method=EnsureIndexes/case=twice", func(t *testing.T) {
		t.Parallel()
		db := mongotest.DB(t)
		for range 2 {
			if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
				t.Fatalf("EnsureIndexes: %v", err)
			}
		}
	})
}
