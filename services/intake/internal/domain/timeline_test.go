package domain_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/store"
)

var (
	alice = domain.Caller{Actor: domain.Actor{Kind: domain.ActorKindPerson, Subject: "alice"}, CorrelationID: "c-a"}
	bob   = domain.Caller{Actor: domain.Actor{Kind: domain.ActorKindPerson, Subject: "bob"}, CorrelationID: "c-b"}
)

// fixture is an intake over a real store, its database (for tampering) and
// one reported incident.
type fixture struct {
	db  *mongo.Database
	st  *store.Store
	in  *domain.Intake
	clk *clock
	inc domain.Incident
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	f := &fixture{db: db, st: store.New(db), clk: &clock{t: now}}
	f.in = domain.NewIntake(f.st, f.clk.Now)
	res, err := f.in.ReportSignal(t.Context(), testCaller, validSignal())
	if err != nil {
		t.Fatalf("ReportSignal: %v", err)
	}
	f.inc = res.Incident
	return f
}

func (f *fixture) update(t *testing.T, etag string, paths []string, set func(*domain.Incident)) (domain.Incident, *domain.TimelineEntry, error) {
	t.Helper()
	f.clk.Advance(time.Second)
	u := domain.Incident{ID: f.inc.ID}
	set(&u)
	return f.in.UpdateIncident(t.Context(), alice, domain.IncidentUpdate{Incident: u, Paths: paths, Etag: etag})
}

func (f *fixture) entries(t *testing.T) []domain.TimelineEntry {
	t.Helper()
	page, err := f.in.ListTimeline(t.Context(), f.inc.ID, 0, "")
	if err != nil {
		t.Fatalf("ListTimeline: %v", err)
	}
	return page.Entries
}

func actions(es []domain.TimelineEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Action
	}
	return out
}

func TestUpdateIncident(t *testing.T) {
	t.Parallel()

	t.Run("method=UpdateIncident/case=mask_applies_only_named_fields", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		start := now.Add(-3 * time.Hour)
		got, e, err := f.update(t, f.inc.Etag(), []string{"record.location", "record.occurred_start_time", "record.data_impact", "title"}, func(u *domain.Incident) {
			u.Title = "HR database exfiltration"
			u.Description = "not in the mask: ignored"
			u.Record.Location = "Frankfurt DC, rack 12"
			u.Record.OccurredStart = start
			u.Record.DataImpact = domain.DataImpact{Viewed: domain.DeterminationYes, Deleted: domain.DeterminationNo}
		})
		if err != nil {
			t.Fatalf("UpdateIncident: %v", err)
		}
		if got.Title != "HR database exfiltration" || got.Description != f.inc.Description ||
			got.Record.Location != "Frankfurt DC, rack 12" || !got.Record.OccurredStart.Equal(start) ||
			got.Record.DataImpact.Viewed != domain.DeterminationYes || got.Version != f.inc.Version+1 ||
			got.FactsVersion != f.inc.FactsVersion {
			t.Errorf("updated incident = %+v", got)
		}
		var changed []string
		for _, c := range e.Changes {
			changed = append(changed, c.Field)
		}
		want := []string{"title", "record.occurred_start_time", "record.location", "record.data_impact.deleted", "record.data_impact.viewed"}
		if e.Action != domain.ActionIncidentUpdated || e.Actor.Subject != "alice" || e.Actor.Kind != domain.ActorKindPerson ||
			!slices.Equal(changed, want) || e.IncidentVersion != got.Version {
			t.Errorf("entry = %+v, changed %v; want %v", e, changed, want)
		}
		stored, err := f.in.GetIncident(t.Context(), f.inc.ID)
		if err != nil || stored.Etag() != got.Etag() || stored.Record.Location != got.Record.Location {
			t.Errorf("GetIncident after update = %+v, %v", stored, err)
		}
		if acts := actions(f.entries(t)); !slices.Equal(acts, []string{domain.ActionIncidentCreated, domain.ActionIncidentUpdated}) {
			t.Errorf("timeline = %v", acts)
		}
	})

	t.Run("method=UpdateIncident/case=no_change_records_nothing", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		got, e, err := f.update(t, f.inc.Etag(), []string{"title"}, func(u *domain.Incident) { u.Title = f.inc.Title })
		if err != nil || e != nil || got.Etag() != f.inc.Etag() || len(f.entries(t)) != 1 {
			t.Errorf("no-op update = %v, entry %v, %v; want same etag and no entry", got.Etag(), e, err)
		}
	})

	t.Run("method=UpdateIncident/case=stale_etag_is_conflict", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		if _, _, err := f.update(t, f.inc.Etag(), []string{"severity"}, func(u *domain.Incident) { u.Severity = domain.SeverityCritical }); err != nil {
			t.Fatalf("first update: %v", err)
		}
		_, _, err := f.update(t, f.inc.Etag(), []string{"asset"}, func(u *domain.Incident) { u.Asset = "other" })
		if !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("update with stale etag: %v, want ErrConflict", err)
		}
		if got, _ := f.in.GetIncident(t.Context(), f.inc.ID); got.Asset == "other" || got.Severity != domain.SeverityCritical {
			t.Errorf("stale update changed the incident: %+v", got)
		}
	})

	t.Run("method=UpdateIncident/case=invalid_lists_every_violation", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		_, _, err := f.update(t, "", []string{"state", "record.nonsense", "facts.data_elements", "record.occurred_end_time", "record.compromised_data"}, func(u *domain.Incident) {
			u.Record.OccurredEnd = now.Add(72 * time.Hour)
			u.Record.CompromisedData.EncryptedFields = []domain.DataElement{domain.DataElementSSN}
			u.Record.CompromisedData.Relationships = []domain.Relationship{domain.RelationshipCustomer, domain.RelationshipCustomer}
		})
		want := []string{"incident.etag", "update_mask", "update_mask", "update_mask",
			"incident.record.occurred_end_time", "incident.record.compromised_data.relationships[1]",
			"incident.record.compromised_data.encrypted_fields[0]"}
		if got := fields(err); !slices.Equal(got, want) {
			t.Errorf("violations = %v, want %v", got, want)
		}
		// Cross-field rules are checked against the stored record too.
		_, _, err = f.update(t, f.inc.Etag(), []string{"record.occurred_end_time"}, func(u *domain.Incident) {
			u.Record.OccurredEnd = f.inc.Record.OccurredStart.Add(-time.Minute)
		})
		if got := fields(err); !slices.Equal(got, []string{"incident.record.occurred_end_time"}) {
			t.Errorf("end before stored start: violations = %v", got)
		}
		if len(f.entries(t)) != 1 {
			t.Error("an invalid update was recorded")
		}
	})

	t.Run("method=UpdateIncident/case=facts_change_requests_new_assessment", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		got, e, err := f.update(t, f.inc.Etag(), []string{"record.compromised_data"}, func(u *domain.Incident) {
			u.Record.CompromisedData = domain.CompromisedData{
				Relationships:   []domain.Relationship{domain.RelationshipAssociate, domain.RelationshipVendor},
				DataFields:      []domain.DataElement{domain.DataElementName, domain.DataElementSSN, domain.DataElementTaxID},
				EncryptedFields: []domain.DataElement{domain.DataElementSSN},
				RecordCount:     1200,
			}
		})
		if err != nil {
			t.Fatalf("UpdateIncident: %v", err)
		}
		if got.FactsVersion != 2 || got.AssessmentStatus != domain.AssessmentStatusPending ||
			!slices.Equal(got.Facts.DataElements, got.Record.CompromisedData.DataFields) ||
			got.AssessmentRequestID() == f.inc.AssessmentRequestID() {
			t.Errorf("incident = facts v%d %v %v", got.FactsVersion, got.AssessmentStatus, got.Facts.DataElements)
		}
		if last := e.Changes[len(e.Changes)-1]; last.Field != "record.compromised_data.record_count" || last.NewValue != "1200" {
			t.Errorf("changes = %+v", e.Changes)
		}
		if e.Changes[0].NewValue != `["ASSOCIATE","VENDOR"]` {
			t.Errorf("relationships rendered as %q", e.Changes[0].NewValue)
		}
	})

	t.Run("method=UpdateIncident/case=concurrent_same_etag_exactly_one_wins", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				u := domain.Incident{ID: f.inc.ID, Asset: "asset-" + string(rune('a'+i))}
				_, _, errs[i] = f.in.UpdateIncident(t.Context(), alice, domain.IncidentUpdate{Incident: u, Paths: []string{"asset"}, Etag: f.inc.Etag()})
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, apperr.ErrConflict):
				t.Errorf("loser error = %v, want ErrConflict", err)
			}
		}
		got, err := f.in.GetIncident(t.Context(), f.inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		es := f.entries(t)
		if won != 1 || got.Version != f.inc.Version+1 || len(es) != 2 || es[1].Changes[0].NewValue != got.Asset {
			t.Errorf("winners = %d, version %d, timeline %v, asset %q; want exactly one update recorded and applied",
				won, got.Version, actions(es), got.Asset)
		}
		if v, _ := f.in.VerifyTimeline(t.Context(), f.inc.ID); !v.OK {
			t.Errorf("chain after concurrent updates: %+v", v.FirstBreak)
		}
	})
}

func TestTransitionIncident(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	path := []domain.IncidentState{
		domain.IncidentStateTriage, domain.IncidentStateInvestigating, domain.IncidentStateContained,
		domain.IncidentStateNotifying, domain.IncidentStateClosed, domain.IncidentStateInvestigating,
	}
	for _, to := range path {
		f.clk.Advance(time.Minute)
		got, e, err := f.in.TransitionIncident(t.Context(), bob, domain.Transition{IncidentID: f.inc.ID, To: to, Reason: "per runbook"})
		if err != nil || got.State != to || e.Note != "per runbook" || e.Changes[0].NewValue != to.String() {
			t.Fatalf("method=TransitionIncident/case=to_%s: %v, %+v, %v", to, got.State, e, err)
		}
	}
	_, _, err := f.in.TransitionIncident(t.Context(), bob, domain.Transition{IncidentID: f.inc.ID, To: domain.IncidentStateReported, Reason: "x"})
	if !errors.Is(err, apperr.ErrFailedPrecondition) || !strings.Contains(err.Error(), "allowed next states: CONTAINED, NOTIFYING, CLOSED") {
		t.Errorf("method=TransitionIncident/case=refused: %v", err)
	}
	_, _, err = f.in.TransitionIncident(t.Context(), bob, domain.Transition{IncidentID: f.inc.ID, To: domain.IncidentStateContained, Reason: "x", Etag: "1"})
	if !errors.Is(err, apperr.ErrConflict) {
		t.Errorf("method=TransitionIncident/case=stale_etag: %v, want ErrConflict", err)
	}
	if got := fields(domain.ValidateTransition(domain.Transition{IncidentID: "x", To: 42})); !slices.Equal(got, []string{"incident_id", "state", "reason"}) {
		t.Errorf("method=TransitionIncident/case=invalid: %v", got)
	}
	if n := len(f.entries(t)); n != 1+len(path) {
		t.Errorf("timeline has %d entries, want %d", n, 1+len(path))
	}
}

func TestNotesAndEntries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)

	first, err := f.in.AddNote(t.Context(), alice, domain.Note{IncidentID: f.inc.ID, Text: "Pulled firewall logs 08:00-10:00.", RequestID: "note-1"})
	if err != nil || first.Seq != 2 || first.Actor.Subject != "alice" || first.Action != domain.ActionNoteAdded {
		t.Fatalf("AddNote = %+v, %v", first, err)
	}
	again, err := f.in.AddNote(t.Context(), bob, domain.Note{IncidentID: f.inc.ID, Text: "Pulled firewall logs 08:00-10:00.", RequestID: "note-1"})
	if err != nil || again.Seq != first.Seq || again.Hash != first.Hash {
		t.Errorf("method=AddNote/case=retry: %+v, %v; want the first note", again, err)
	}
	_, err = f.in.AddNote(t.Context(), alice, domain.Note{IncidentID: f.inc.ID, Text: "something else", RequestID: "note-1"})
	if !errors.Is(err, apperr.ErrAlreadyExists) {
		t.Errorf("method=AddNote/case=reused_key: %v, want ErrAlreadyExists", err)
	}
	if got, _ := f.in.GetIncident(t.Context(), f.inc.ID); got.Etag() != f.inc.Etag() {
		t.Error("a note moved the etag")
	}

	svc := domain.Caller{Actor: domain.Actor{Kind: domain.ActorKindService, Subject: "dispatch"}}
	e, err := f.in.AppendEntry(t.Context(), svc, f.inc.ID, "camp-1:approved", domain.TimelineEntry{
		Action: "dispatch.campaign_approved", Summary: "Campaign camp-1 approved by quorum",
		Changes: []domain.Change{{Field: "campaign.state", OldValue: "DRAFT", NewValue: "APPROVED"}},
	})
	if err != nil || e.Seq != 3 || e.Actor != svc.Actor {
		t.Fatalf("AppendEntry = %+v, %v", e, err)
	}
	if again, err := f.in.AppendEntry(t.Context(), svc, f.inc.ID, "camp-1:approved", domain.TimelineEntry{
		Action: "dispatch.campaign_approved", Summary: "Campaign camp-1 approved by quorum",
		Changes: []domain.Change{{Field: "campaign.state", OldValue: "DRAFT", NewValue: "APPROVED"}},
	}); err != nil || again.Seq != 3 {
		t.Errorf("method=AppendEntry/case=retry: %+v, %v", again, err)
	}
	err = domain.ValidateEntry(f.inc.ID, "", domain.TimelineEntry{Action: "incident.created"})
	if got := fields(err); !slices.Equal(got, []string{"entry.action", "request_id"}) {
		t.Errorf("method=AppendEntry/case=reserved_action: %v", got)
	}
	if acts := actions(f.entries(t)); !slices.Equal(acts, []string{domain.ActionIncidentCreated, domain.ActionNoteAdded, "dispatch.campaign_approved"}) {
		t.Errorf("timeline = %v", acts)
	}
}

func TestListTimelinePaging(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for range 6 {
		if _, err := f.in.AddNote(t.Context(), alice, domain.Note{IncidentID: f.inc.ID, Text: "n"}); err != nil {
			t.Fatal(err)
		}
	}
	var seqs []int64
	token := ""
	for pages := 0; ; pages++ {
		page, err := f.in.ListTimeline(t.Context(), f.inc.ID, 3, token)
		if err != nil || pages > 3 {
			t.Fatalf("page %d: %v", pages, err)
		}
		for _, e := range page.Entries {
			seqs = append(seqs, e.Seq)
		}
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	if !slices.Equal(seqs, []int64{1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("seqs = %v", seqs)
	}
	other := newFixture(t)
	page, _ := f.in.ListTimeline(t.Context(), f.inc.ID, 3, "")
	_, err := other.in.ListTimeline(t.Context(), other.inc.ID, 3, page.NextPageToken)
	if got := fields(err); !slices.Equal(got, []string{"page_token"}) {
		t.Errorf("token of another incident: %v", got)
	}
}

// TestCrashWindows simulates a process dying between the timeline entry
// and the incident write: the change is recorded and reaches the incident
// on the next read, never one without the other.
func TestCrashWindows(t *testing.T) {
	t.Parallel()

	t.Run("case=update_entry_without_incident_write", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		head, _, err := f.st.HeadEntry(t.Context(), f.inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		next := f.inc
		next.Title, next.Version = "written to the timeline only", f.inc.Version+1
		e := domain.TimelineEntry{
			IncidentID: f.inc.ID, Seq: head.Seq + 1, Time: now, Actor: alice.Actor, Action: domain.ActionIncidentUpdated,
			Changes:   []domain.Change{{Field: "title", OldValue: f.inc.Title, NewValue: next.Title}},
			RequestID: "crashed-update", PrevHash: head.Hash, IncidentVersion: next.Version, Snapshot: &next,
		}
		e.Hash = domain.HashEntry(e)
		if err := f.st.InsertEntry(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		got, err := f.in.GetIncident(t.Context(), f.inc.ID)
		if err != nil || got.Title != next.Title || got.Etag() != next.Etag() {
			t.Errorf("GetIncident after crash = %q etag %s, %v; want the recorded change", got.Title, got.Etag(), err)
		}
		if stored, _ := f.st.GetIncident(t.Context(), f.inc.ID); stored.Version != next.Version {
			t.Errorf("document not repaired: version %d", stored.Version)
		}
		// A client still holding the old etag is told it is stale.
		_, _, err = f.update(t, f.inc.Etag(), []string{"asset"}, func(u *domain.Incident) { u.Asset = "x" })
		if !errors.Is(err, apperr.ErrConflict) {
			t.Errorf("update on old etag after crash: %v, want ErrConflict", err)
		}
	})

	t.Run("case=created_entry_without_incident", func(t *testing.T) {
		t.Parallel()
		db := mongotest.DB(t)
		if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
			t.Fatal(err)
		}
		st := store.New(db)
		in := domain.NewIntake(st, (&clock{t: now}).Now)
		res, err := in.ReportSignal(t.Context(), testCaller, validSignal())
		if err != nil {
			t.Fatal(err)
		}
		// Remove the incident: the report died after its first entry.
		if _, err := db.Collection(store.IncidentsCollection).DeleteOne(t.Context(), bson.D{{Key: "_id", Value: res.Incident.ID}}); err != nil {
			t.Fatal(err)
		}
		got, err := in.GetIncident(t.Context(), res.Incident.ID)
		if err != nil || got.Title != res.Incident.Title {
			t.Errorf("GetIncident = %+v, %v; want the incident rebuilt from its first entry", got, err)
		}
		if v, _ := in.VerifyTimeline(t.Context(), res.Incident.ID); !v.OK || v.EntriesChecked != 1 {
			t.Errorf("verify = %+v", v)
		}
	})
}

// TestVerifyTimelineDetectsTampering alters and removes stored entries
// directly in the database and checks that verification names the seq.
func TestVerifyTimelineDetectsTampering(t *testing.T) {
	t.Parallel()
	build := func(t *testing.T) *fixture {
		t.Helper()
		f := newFixture(t)
		for _, text := range []string{"first", "second", "third"} {
			if _, err := f.in.AddNote(t.Context(), alice, domain.Note{IncidentID: f.inc.ID, Text: text}); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := f.in.TransitionIncident(t.Context(), bob, domain.Transition{IncidentID: f.inc.ID, To: domain.IncidentStateTriage, Reason: "r"}); err != nil {
			t.Fatal(err)
		}
		if v, err := f.in.VerifyTimeline(t.Context(), f.inc.ID); err != nil || !v.OK || v.EntriesChecked != 5 || v.HeadSeq != 5 {
			t.Fatalf("untampered verify = %+v, %v", v, err)
		}
		return f
	}
	timeline := func(f *fixture) *mongo.Collection { return f.db.Collection(store.TimelineCollection) }
	at := func(f *fixture, seq int) bson.D {
		return bson.D{{Key: "incident_id", Value: f.inc.ID}, {Key: "seq", Value: seq}}
	}

	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, f *fixture) error
		seq    int64
		kind   domain.BreakKind
	}{
		{"altered_note", func(t *testing.T, f *fixture) error {
			_, err := timeline(f).UpdateOne(t.Context(), at(f, 3), bson.D{{Key: "$set", Value: bson.D{{Key: "note", Value: "forged"}}}})
			return err
		}, 3, domain.BreakAltered},
		{"altered_time", func(t *testing.T, f *fixture) error {
			_, err := timeline(f).UpdateOne(t.Context(), at(f, 2), bson.D{{Key: "$set", Value: bson.D{{Key: "time", Value: now.Add(-time.Hour)}}}})
			return err
		}, 2, domain.BreakAltered},
		{"deleted_middle", func(t *testing.T, f *fixture) error {
			_, err := timeline(f).DeleteOne(t.Context(), at(f, 3))
			return err
		}, 3, domain.BreakMissing},
		{"deleted_changing_tail", func(t *testing.T, f *fixture) error {
			_, err := timeline(f).DeleteOne(t.Context(), at(f, 5))
			return err
		}, 5, domain.BreakMissing},
		{"rewritten_and_rehashed", func(t *testing.T, f *fixture) error {
			var e struct {
				Note string `bson:"note"`
			}
			if err := timeline(f).FindOne(t.Context(), at(f, 2)).Decode(&e); err != nil {
				return err
			}
			es, _ := f.st.ListEntries(t.Context(), f.inc.ID, 1, 1)
			forged := es[0]
			forged.Note = "forged"
			_, err := timeline(f).UpdateOne(t.Context(), at(f, 2), bson.D{{Key: "$set", Value: bson.D{
				{Key: "note", Value: forged.Note}, {Key: "hash", Value: domain.HashEntry(forged)},
			}}})
			return err
		}, 3, domain.BreakBrokenLink},
	} {
		t.Run("method=VerifyTimeline/case="+tc.name, func(t *testing.T) {
			t.Parallel()
			f := build(t)
			if err := tc.tamper(t, f); err != nil {
				t.Fatalf("tamper: %v", err)
			}
			v, err := f.in.VerifyTimeline(t.Context(), f.inc.ID)
			if err != nil {
				t.Fatalf("VerifyTimeline: %v", err)
			}
			if v.OK || v.FirstBreak == nil || v.FirstBreak.Seq != tc.seq || v.FirstBreak.Kind != tc.kind {
				t.Errorf("verify = ok %v break %+v; want %v at seq %d", v.OK, v.FirstBreak, tc.kind, tc.seq)
			}
		})
	}
}

func TestRelayRecordsAssessment(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	relay := domain.NewRelay(f.st, fixedAssessor("asm_1"), f.clk.Now, discard(), domain.RelayOptions{Owner: "r1"})
	if ok, err := relay.Step(t.Context()); err != nil || !ok {
		t.Fatalf("Step = %v, %v", ok, err)
	}
	got, err := f.in.GetIncident(t.Context(), f.inc.ID)
	if err != nil || got.AssessmentStatus != domain.AssessmentStatusCompleted || got.AssessmentID != "asm_1" {
		t.Fatalf("incident after relay = %+v, %v", got, err)
	}
	es := f.entries(t)
	if last := es[len(es)-1]; last.Action != domain.ActionAssessmentCompleted || last.Actor != domain.RelayActor ||
		last.Changes[1].NewValue != "asm_1" {
		t.Errorf("last entry = %+v", last)
	}
	if ok, err := relay.Step(t.Context()); err != nil || ok {
		t.Errorf("second Step = %v, %v; want nothing due", ok, err)
	}
}

// fixedAssessor answers every assessment request with one id.
type fixedAssessor string

func (a fixedAssessor) AssessIncident(context.Context, domain.AssessmentRequest) (string, error) {
	return string(a), nil
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
