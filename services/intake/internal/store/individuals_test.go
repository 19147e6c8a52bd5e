package store_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/store"
)

func newIndividualsStore(t *testing.T) (*store.IndividualsStore, string) {
	t.Helper()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.IndividualsIndexes()); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	incidentID := ids.New(domain.IncidentPrefix)
	if _, err := db.Collection(store.IncidentsCollection).InsertOne(t.Context(), bson.D{{Key: "_id", Value: incidentID}}); err != nil {
		t.Fatal(err)
	}
	return store.NewIndividuals(db), incidentID
}

func individual(incidentID, importID string, n int, jurisdiction string) domain.Individual {
	ind := domain.Individual{
		IncidentID: incidentID, ImportID: importID, ExternalID: fmt.Sprint(n),
		FullName: fmt.Sprintf("Zoë \"Q\" O'Brien %d", n), Email: "z@example.org", Phone: "+1 555 0100",
		AddressLines: []string{"1 Main St", "Apt\t2"}, Locality: "Austin", PostalCode: "78701",
		Jurisdiction: jurisdiction, Relationship: domain.RelationshipCustomer,
		DataElements: []domain.DataElement{domain.DataElementName, domain.DataElementSSN},
	}
	ind.ID = domain.IndividualID(incidentID, domain.PersonKey(ind))
	return ind
}

func newImport(incidentID string) domain.Import {
	return domain.Import{
		ID: ids.New(domain.ImportPrefix), IncidentID: incidentID, Status: domain.ImportStatusRunning,
		Counts: domain.NewAffectedCounts(), StartTime: t0, UpdateTime: t0, Attempt: 1,
	}
}

func TestIndividualsStore(t *testing.T) {
	t.Parallel()

	t.Run("method=IncidentExists", func(t *testing.T) {
		t.Parallel()
		s, incidentID := newIndividualsStore(t)
		for id, want := range map[string]bool{incidentID: true, ids.New(domain.IncidentPrefix): false} {
			if got, err := s.IncidentExists(t.Context(), id); err != nil || got != want {
				t.Fatalf("IncidentExists(%s) = %v, %v; want %v", id, got, err, want)
			}
		}
	})

	t.Run("method=InsertIndividuals/case=duplicates-reported-by-index", func(t *testing.T) {
		t.Parallel()
		s, incidentID := newIndividualsStore(t)
		imp := ids.New(domain.ImportPrefix)
		first := []domain.Individual{individual(incidentID, imp, 1, "US-TX"), individual(incidentID, imp, 2, "DE")}
		if got, err := s.InsertIndividuals(t.Context(), first); err != nil || !slices.Equal(got, []bool{true, true}) {
			t.Fatalf("first insert = %v, %v", got, err)
		}
		again := []domain.Individual{individual(incidentID, imp, 3, "US-CA"), first[1], individual(incidentID, imp, 3, "US-CA")}
		if got, err := s.InsertIndividuals(t.Context(), again); err != nil || !slices.Equal(got, []bool{true, false, false}) {
			t.Fatalf("second insert = %v, %v; want [true false false]", got, err)
		}
		page, err := s.ListIndividuals(t.Context(), domain.IndividualFilter{IncidentID: incidentID}, domain.PageRequest{Size: 10})
		if err != nil || len(page.Individuals) != 3 {
			t.Fatalf("list = %v, %v", page, err)
		}
		got := page.Individuals[slices.IndexFunc(page.Individuals, func(i domain.Individual) bool { return i.ID == first[0].ID })]
		if fmt.Sprint(got) != fmt.Sprint(first[0]) {
			t.Fatalf("roundtrip:\n got %+v\nwant %+v", got, first[0])
		}
	})

	t.Run("method=ListIndividuals/case=pages-filters-and-incident-scope", func(t *testing.T) {
		t.Parallel()
		s, incidentID := newIndividualsStore(t)
		other := ids.New(domain.IncidentPrefix)
		var inds []domain.Individual
		for n := range 25 {
			inds = append(inds, individual(incidentID, "imp", n, []string{"US-TX", "DE"}[n%2]))
			inds = append(inds, individual(other, "imp", n, "US-TX"))
		}
		if _, err := s.InsertIndividuals(t.Context(), inds); err != nil {
			t.Fatal(err)
		}
		f := domain.IndividualFilter{IncidentID: incidentID, Jurisdiction: "US-TX", Relationship: domain.RelationshipCustomer}
		var all []string
		token := ""
		for {
			page, err := s.ListIndividuals(t.Context(), f, domain.PageRequest{Size: 4, Token: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, ind := range page.Individuals {
				if ind.IncidentID != incidentID || ind.Jurisdiction != "US-TX" {
					t.Fatalf("out of filter: %+v", ind)
				}
				all = append(all, ind.ID)
			}
			if token = page.NextPageToken; token == "" {
				break
			}
		}
		if len(all) != 13 || !slices.IsSorted(all) {
			t.Fatalf("listed %d (sorted %v), want 13 in id order", len(all), slices.IsSorted(all))
		}
		first, _ := s.ListIndividuals(t.Context(), f, domain.PageRequest{Size: 4})
		f.Jurisdiction = "DE"
		_, err := s.ListIndividuals(t.Context(), f, domain.PageRequest{Size: 4, Token: first.NextPageToken})
		if _, ok := apperr.AsInvalid(err); !ok {
			t.Fatalf("token of another filter: %v, want invalid page_token", err)
		}
	})

	t.Run("method=CreateImport+SaveImport+TakeOverImport", func(t *testing.T) {
		t.Parallel()
		s, incidentID := newIndividualsStore(t)
		imp := newImport(incidentID)
		if err := s.CreateImport(t.Context(), imp); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateImport(t.Context(), imp); !errors.Is(err, apperr.ErrAlreadyExists) {
			t.Fatalf("second CreateImport: %v, want ErrAlreadyExists", err)
		}
		imp.Progress = domain.ImportProgress{Read: 3, Accepted: 2, Rejected: 1}
		imp.Counts.Add(individual(incidentID, imp.ID, 1, "US-TX"))
		imp.Counts.Add(individual(incidentID, imp.ID, 2, "DE"))
		imp.Status, imp.FinishTime = domain.ImportStatusFailed, t0.Add(time.Millisecond)
		if err := s.SaveImport(t.Context(), imp); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetImport(t.Context(), imp.ID)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(imp) {
			t.Fatalf("GetImport:\n got %+v\nwant %+v (%v)", got, imp, err)
		}
		recount := domain.NewAffectedCounts()
		recount.Add(individual(incidentID, imp.ID, 1, "US-TX"))
		took, err := s.TakeOverImport(t.Context(), imp.ID, 2, recount, t0.Add(2*time.Millisecond))
		if err != nil || took.Attempt != 2 || took.Status != domain.ImportStatusRunning || took.Progress.Read != 0 || took.Counts.Total != 1 || !took.FinishTime.IsZero() {
			t.Fatalf("TakeOverImport = %+v, %v", took, err)
		}
		if _, err := s.TakeOverImport(t.Context(), imp.ID, 2, recount, t0.Add(3*time.Millisecond)); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("second take-over of attempt 2: %v, want ErrConflict", err)
		}
		if err := s.SaveImport(t.Context(), imp); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("save by superseded attempt 1: %v, want ErrConflict", err)
		}
		all, err := s.ImportsOfIncident(t.Context(), incidentID)
		if err != nil || len(all) != 1 || all[0].ID != imp.ID {
			t.Fatalf("ImportsOfIncident = %v, %v", all, err)
		}
	})

	t.Run("method=CountImport", func(t *testing.T) {
		t.Parallel()
		s, incidentID := newIndividualsStore(t)
		inds := []domain.Individual{
			individual(incidentID, "imp_a", 1, "US-TX"), individual(incidentID, "imp_a", 2, "US-TX"),
			individual(incidentID, "imp_a", 3, "DE"), individual(incidentID, "imp_b", 4, "DE"),
		}
		if _, err := s.InsertIndividuals(t.Context(), inds); err != nil {
			t.Fatal(err)
		}
		c, err := s.CountImport(t.Context(), incidentID, "imp_a")
		if err != nil {
			t.Fatal(err)
		}
		if c.Total != 3 || c.ByJurisdiction["US-TX"] != 2 || c.ByJurisdiction["DE"] != 1 || c.ByElement[domain.DataElementSSN] != 3 ||
			c.ByRelationship[domain.RelationshipCustomer] != 3 {
			t.Fatalf("CountImport = %+v", c)
		}
	})

	t.Run("method=ListIndividuals+CountImport/case=earlier-shape-still-read", func(t *testing.T) {
		t.Parallel()
		db := mongotest.DB(t)
		s := store.NewIndividuals(db)
		incidentID := ids.New(domain.IncidentPrefix)
		// Two people stored in the shape written before the compact one,
		// one in the current shape, all of import imp_a, plus one of imp_b.
		old := func(n int, jurisdiction string) bson.D {
			ind := individual(incidentID, "imp_a", n, jurisdiction)
			return bson.D{
				{Key: "_id", Value: incidentID + "/" + ind.ID}, {Key: "import_id", Value: "imp_a"},
				{Key: "jurisdiction", Value: jurisdiction}, {Key: "relationship", Value: int32(domain.RelationshipCustomer)},
				{Key: "elements", Value: int64(1<<domain.DataElementName | 1<<domain.DataElementSSN)},
				{Key: "person", Value: fmt.Sprintf(`{"external_id":"%d","full_name":"Zoë \"Q\" O'Brien %d","email":"z@example.org",`+
					`"phone":"+1 555 0100","address_lines":["1 Main St","Apt\t2"],"locality":"Austin","postal_code":"78701"}`, n, n)},
			}
		}
		if _, err := db.Collection(store.IndividualsCollection).InsertMany(t.Context(), []any{old(1, "US-TX"), old(2, "DE")}); err != nil {
			t.Fatal(err)
		}
		current := []domain.Individual{individual(incidentID, "imp_a", 3, "US-TX"), individual(incidentID, "imp_b", 4, "US-TX")}
		if _, err := s.InsertIndividuals(t.Context(), current); err != nil {
			t.Fatal(err)
		}
		page, err := s.ListIndividuals(t.Context(),
			domain.IndividualFilter{IncidentID: incidentID, Jurisdiction: "US-TX", Relationship: domain.RelationshipCustomer}, domain.PageRequest{Size: 10})
		if err != nil || len(page.Individuals) != 3 {
			t.Fatalf("list US-TX = %v, %v; want 3", page, err)
		}
		want := individual(incidentID, "imp_a", 1, "US-TX")
		got := page.Individuals[slices.IndexFunc(page.Individuals, func(i domain.Individual) bool { return i.ID == want.ID })]
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("earlier shape read:\n got %+v\nwant %+v", got, want)
		}
		c, err := s.CountImport(t.Context(), incidentID, "imp_a")
		if err != nil {
			t.Fatal(err)
		}
		if c.Total != 3 || c.ByJurisdiction["US-TX"] != 2 || c.ByJurisdiction["DE"] != 1 || c.ByElement[domain.DataElementSSN] != 3 {
			t.Fatalf("CountImport = %+v, want 3 people of imp_a", c)
		}
	})

	t.Run("method=InsertImportErrors+ListImportErrors", func(t *testing.T) {
		t.Parallel()
		s, _ := newIndividualsStore(t)
		errs := []domain.ImportError{
			{Line: 12, Field: "email", Reason: "r1"}, {Line: 12, Field: "phone", Reason: "r2"},
			{Line: 3, Field: "jurisdiction", Reason: "r3"}, {Line: 100, Field: "row", Reason: "r4"},
		}
		for range 2 { // storing again (a resumed import) is a no-op
			if err := s.InsertImportErrors(t.Context(), "imp_x", errs); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.InsertImportErrors(t.Context(), "imp_y", errs[:1]); err != nil {
			t.Fatal(err)
		}
		var got []string
		token := ""
		for {
			page, err := s.ListImportErrors(t.Context(), "imp_x", domain.PageRequest{Size: 3, Token: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Errors {
				got = append(got, fmt.Sprintf("%d:%s", e.Line, e.Field))
			}
			if token = page.NextPageToken; token == "" {
				break
			}
		}
		if want := "[3:jurisdiction 12:email 12:phone 100:row]"; fmt.Sprint(got) != want {
			t.Fatalf("errors = %v, want %s", got, want)
		}
	})
}
