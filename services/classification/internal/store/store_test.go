package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/classification/internal/domain"
	"github.com/breachline/breachline/services/classification/internal/store"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func newStore(t *testing.T) *store.Store {
	s, _ := newStoreDB(t)
	return s
}

func newStoreDB(t *testing.T) (*store.Store, *mongo.Database) {
	t.Helper()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	return store.New(db), db
}

func sample(requestID, incidentID string) domain.Assessment {
	return domain.Assessment{
		ID:          ids.New(domain.IDPrefix),
		RequestID:   requestID,
		IncidentID:  incidentID,
		RequestHash: "hash-" + requestID,
		Facts: domain.Facts{
			DataElements:             []domain.Element{domain.ElementName, domain.ElementSSN},
			EncryptedElements:        []domain.Element{domain.ElementSSN},
			EncryptionKeyCompromised: true,
			Affected:                 []domain.JurisdictionCount{{Jurisdiction: "US-TX", Count: 312}},
			RetrievedBeforeMisuse:    true,
			DiscoveredAt:             t0,
			DeterminedAt:             t0.Add(time.Hour),
			CustomerIDs:              []string{"acme"},
			Role:                     domain.RoleProcessor,
			HIPAARole:                domain.HIPAACoveredEntity,
			NIS2Entity:               domain.NIS2Important,
			SECRegistrant:            true,
			MaterialityDeterminedAt:  t0.Add(2 * time.Hour),
			NoticeCostUSD:            250_001,
			Holds: []domain.Hold{
				{ID: "fbi-1", RequestedBy: "FBI", Reason: "investigation", Start: t0, End: t0.Add(time.Hour), Jurisdictions: []string{"US-TX"}, Audiences: []domain.Audience{domain.AudienceIndividuals}},
				{ID: "sapd-1", RequestedBy: "SAPD", Start: t0},
			},
		},
		Customers: []domain.CustomerTerms{
			{CustomerID: "acme", Found: true, DisplayName: "Acme", NotificationEmail: "dpo@acme.example", NotifyWithinHours: 48, EmployeeNotification: domain.EmployeesByProcessor, Etag: "7"},
			{CustomerID: "ghost"},
		},
		Decision: domain.Decision{
			PersonalInformation: true,
			Findings:            []string{"finding"},
			Exceptions:          []string{"retrieved_before_misuse: because"},
			Obligations: []domain.Obligation{
				{
					ObligationID: "us-tx.attorney-general", RulePack: "us-tx", RulePackVersion: "2026.1",
					RuleID: "attorney-general", Jurisdiction: "US-TX", Audience: domain.AudienceRegulator,
					Deadline: t0.AddDate(0, 0, 30), DeadlineText: "30 days", Reason: "312 Texas residents ≥ 250",
					Citation: "§ 521.053(i)", AffectedCount: 312,
					Title: "Notify the Texas Attorney General", Notify: true, HoldIDs: []string{"fbi-1"},
					RequiredContent: []string{"what happened"}, ChannelConstraints: []string{"approval"}, Recipient: "Texas AG",
					DeadlineBasis: "determination + 30 calendar days", Unverified: true,
				},
				{
					ObligationID: "us-tx.individuals", RulePack: "us-tx", RulePackVersion: "2026.1",
					RuleID: "individuals", Jurisdiction: "US-TX", Audience: domain.AudienceIndividuals,
					DeadlineText: "60 days", Reason: "held", Citation: "§ 521.053(b)", Notify: true,
					Paused: true, PausedSince: t0, HoldIDs: []string{"sapd-1"}, ManualReview: true,
				},
				{
					ObligationID: "org-policy.insurer", RulePack: "org-policy", RulePackVersion: "2026.1",
					RuleID: "insurer", Jurisdiction: "ORG", Audience: domain.AudienceInsurer,
					DeadlineText: "no period", Reason: "policy", Citation: "policy",
				},
			},
			RulePacks: []domain.RulePackRef{{Pack: "org-policy", Version: "2026.1"}, {Pack: "us-tx", Version: "2026.1"}},
		},
		CreateTime: t0.Add(time.Hour),
	}
}

func TestStore_CreateGet(t *testing.T) {
	t.Parallel()
	t.Run("method=Create/case=round trip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		a := sample("req-1", "inc_1")
		created, ok, err := s.Create(t.Context(), a)
		if err != nil || !ok {
			t.Fatalf("Create = %v, %v", ok, err)
		}
		got, err := s.Get(t.Context(), a.ID)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if !reflect.DeepEqual(got, a) || !reflect.DeepEqual(created, a) {
			t.Errorf("stored assessment differs:\n got %+v\nwant %+v", got, a)
		}
	})
	t.Run("method=Create/case=duplicate request id returns the stored one", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		first := sample("req-1", "inc_1")
		if _, _, err := s.Create(t.Context(), first); err != nil {
			t.Fatal(err)
		}
		retry := sample("req-1", "inc_1")
		retry.Findings = []string{"a different decision"}
		got, created, err := s.Create(t.Context(), retry)
		if err != nil {
			t.Fatalf("Create retry: %v", err)
		}
		if created || got.ID != first.ID || !reflect.DeepEqual(got.Findings, first.Findings) {
			t.Errorf("retry = (created %v, id %s, findings %v), want the stored %s unchanged", created, got.ID, got.Findings, first.ID)
		}
		if _, err := s.Get(t.Context(), retry.ID); !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("second assessment was stored: Get = %v", err)
		}
	})
	t.Run("method=Get/case=not found", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.Get(t.Context(), ids.New(domain.IDPrefix)); !errors.Is(err, apperr.ErrNotFound) {
			t.Errorf("Get = %v, want ErrNotFound", err)
		}
	})
}

func TestStore_List(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	var want []string // newest first
	for i := range 5 {
		a := sample(fmt.Sprintf("req-%d", i), []string{"inc_a", "inc_b"}[i%2])
		if _, _, err := s.Create(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		want = append([]string{a.ID}, want...)
	}
	t.Run("method=List/case=pages newest first", func(t *testing.T) {
		t.Parallel()
		var got []string
		token := ""
		for range 3 {
			page, next, err := s.List(t.Context(), domain.ListQuery{PageSize: 2, PageToken: token})
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			for _, a := range page {
				got = append(got, a.ID)
			}
			token = next
		}
		if !reflect.DeepEqual(got, want) || token != "" {
			t.Errorf("pages = %v (last token %q), want %v", got, token, want)
		}
	})
	t.Run("method=List/case=filter by incident", func(t *testing.T) {
		t.Parallel()
		page, next, err := s.List(t.Context(), domain.ListQuery{PageSize: 10, IncidentID: "inc_b"})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(page) != 2 || next != "" || page[0].ID != want[1] || page[1].ID != want[3] {
			t.Errorf("inc_b page = %d items (next %q), want %s, %s", len(page), next, want[1], want[3])
		}
	})
	t.Run("method=List/case=token of another filter", func(t *testing.T) {
		t.Parallel()
		_, next, err := s.List(t.Context(), domain.ListQuery{PageSize: 1, IncidentID: "inc_a"})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = s.List(t.Context(), domain.ListQuery{PageSize: 1, IncidentID: "inc_b", PageToken: next})
		if _, ok := apperr.AsInvalid(err); !ok {
			t.Errorf("List with a foreign token = %v, want InvalidError", err)
		}
	})
	t.Run("method=List/case=garbage token", func(t *testing.T) {
		t.Parallel()
		_, _, err := s.List(t.Context(), domain.ListQuery{PageSize: 1, PageToken: "!!"})
		if _, ok := apperr.AsInvalid(err); !ok {
			t.Errorf("List with a garbage token = %v, want InvalidError", err)
		}
	})
}

func TestStore_pendingCampaigns(t *testing.T) {
	t.Parallel()
	t.Run("method=ClaimPendingCampaigns/case=claim, lease, complete", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		a := sample("req-1", "inc_1")
		if _, _, err := s.Create(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		now := a.CreateTime
		if _, ok, err := s.ClaimPendingCampaigns(t.Context(), "w1", now.Add(-time.Second), time.Minute); err != nil || ok {
			t.Fatalf("claim before due = %v, %v; want nothing", ok, err)
		}
		p, ok, err := s.ClaimPendingCampaigns(t.Context(), "w1", now, time.Minute)
		if err != nil || !ok {
			t.Fatalf("claim = %v, %v", ok, err)
		}
		if p.Assessment.ID != a.ID || p.Attempts != 1 || len(p.Assessment.Obligations) != 3 {
			t.Errorf("claimed %s attempts %d obligations %d, want %s, 1, 3", p.Assessment.ID, p.Attempts, len(p.Assessment.Obligations), a.ID)
		}
		if _, ok, _ := s.ClaimPendingCampaigns(t.Context(), "w2", now.Add(time.Second), time.Minute); ok {
			t.Error("a leased assessment was claimed again")
		}
		if err := s.CompleteCampaigns(t.Context(), a.ID, "w2"); !errors.Is(err, apperr.ErrConflict) {
			t.Errorf("complete by a non-owner = %v, want ErrConflict", err)
		}
		if err := s.CompleteCampaigns(t.Context(), a.ID, "w1"); err != nil {
			t.Fatalf("CompleteCampaigns: %v", err)
		}
		if _, ok, _ := s.ClaimPendingCampaigns(t.Context(), "w1", now.Add(time.Hour), time.Minute); ok {
			t.Error("a completed assessment was claimed again")
		}
	})
	t.Run("method=RetryCampaigns/case=due again at next attempt", func(t *testing.T) {
		t.Parallel()
		s, db := newStoreDB(t)
		a := sample("req-1", "inc_1")
		if _, _, err := s.Create(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		now := a.CreateTime
		if _, ok, err := s.ClaimPendingCampaigns(t.Context(), "w1", now, time.Minute); err != nil || !ok {
			t.Fatalf("claim = %v, %v", ok, err)
		}
		next := now.Add(2 * time.Second)
		if err := s.RetryCampaigns(t.Context(), a.ID, "w1", "dispatch down", next); err != nil {
			t.Fatalf("RetryCampaigns: %v", err)
		}
		if _, ok, _ := s.ClaimPendingCampaigns(t.Context(), "w1", next.Add(-time.Millisecond), time.Minute); ok {
			t.Error("claimed before next attempt")
		}
		p, ok, err := s.ClaimPendingCampaigns(t.Context(), "w2", next, time.Minute)
		if err != nil || !ok || p.Attempts != 2 {
			t.Fatalf("claim at next attempt = %v, attempts %d, %v; want attempt 2", ok, p.Attempts, err)
		}
		var raw bson.M
		if err := db.Collection(store.CampaignQueue).FindOne(t.Context(), bson.D{{Key: "_id", Value: a.ID}}).Decode(&raw); err != nil {
			t.Fatal(err)
		}
		if raw["last_error"] != "dispatch down" {
			t.Errorf("last_error = %v, want the recorded failure", raw["last_error"])
		}
	})
}
