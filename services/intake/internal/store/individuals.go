package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/intake/internal/domain"
)

// Collections of the affected-individuals store.
const (
	IndividualsCollection  = "affected_individuals"
	ImportsCollection      = "imports"
	ImportErrorsCollection = "import_errors"
	// ImportLeasesCollection holds the fences of import take-overs
	// ("<import_id>#<attempt>").
	ImportLeasesCollection = "imports_leases"
)

// IndividualsStore is the MongoDB implementation of domain.IndividualsStore.
//
// Its document shapes are chosen for bulk-insert throughput on the
// embedded store (FerretDB over SQLite), where every document field, every
// byte (SQLite parses the whole stored JSON for each index expression on
// every insert) and every secondary index costs time on each insert
// (measured: one extra compound index ~20%, contact details as separate
// fields instead of one string ~30%, the compact shape below ~40% less store
// CPU per person than the previous one):
//
//   - An individual's _id is "<incident_id>/<individual_id>". The primary key
//     index is then the dedup key (unique per incident) and serves listing an
//     incident's people as an _id range, so the collection has no secondary
//     index at all.
//   - The two fields lists filter on have one-letter names: "j"
//     (jurisdiction) and "r" (relationship).
//   - Everything else, never queried, is one JSON array in a string, "d":
//     [import id, data elements as a bit set (bit n = DataElement n),
//     external id, full name, given name, family name, e-mail, phone,
//     [address lines], locality, postal code] (see encodeDetails).
//
// Documents of the earlier shape (import_id, jurisdiction, relationship,
// elements, person: a JSON object) are still read: there is no migration;
// the readers accept both shapes (see storedIndividualDoc) and the list filters
// match either field name.
//
// Import errors likewise have _id "<import_id>#<line, 12 digits>#<n>", so an
// import's errors are an _id range in line order, and storing them again
// after a resume is a no-op.
type IndividualsStore struct {
	incidents    *mongo.Collection
	individuals  *mongo.Collection
	imports      *mongo.Collection
	importErrors *mongo.Collection
	leases       *mongo.Collection
}

var _ domain.IndividualsStore = (*IndividualsStore)(nil)

// NewIndividuals returns the store over db. Call mongox.EnsureIndexes(ctx,
// db, IndividualsIndexes()) first.
func NewIndividuals(db *mongo.Database) *IndividualsStore {
	return &IndividualsStore{
		incidents:    db.Collection(IncidentsCollection),
		individuals:  db.Collection(IndividualsCollection),
		imports:      db.Collection(ImportsCollection),
		importErrors: db.Collection(ImportErrorsCollection),
		leases:       db.Collection(ImportLeasesCollection),
	}
}

// IndividualsIndexes are the indexes of the affected-individuals store:
// only imports by incident (for the counts). Individuals and import errors
// need none beyond _id (see IndividualsStore).
func IndividualsIndexes() mongox.Indexes {
	return mongox.Indexes{
		ImportsCollection: {
			{
				Keys:    bson.D{{Key: "incident_id", Value: 1}, {Key: "_id", Value: 1}},
				Options: options.Index().SetName("incident_id"),
			},
		},
	}
}

// personDoc is the contact details of an individual of the earlier shape
// (field "person").
type personDoc struct {
	ExternalID   string   `json:"external_id,omitempty"`
	FullName     string   `json:"full_name,omitempty"`
	GivenName    string   `json:"given_name,omitempty"`
	FamilyName   string   `json:"family_name,omitempty"`
	Email        string   `json:"email,omitempty"`
	Phone        string   `json:"phone,omitempty"`
	AddressLines []string `json:"address_lines,omitempty"`
	Locality     string   `json:"locality,omitempty"`
	PostalCode   string   `json:"postal_code,omitempty"`
}

// individualDoc is a stored individual as written (see IndividualsStore).
type individualDoc struct {
	ID           string `bson:"_id"`
	Jurisdiction string `bson:"j"`
	Relationship int32  `bson:"r"`
	Details      string `bson:"d"`
}

// storedIndividualDoc reads an individual of either shape: the current one
// (j, r, d) or the earlier one (jurisdiction, relationship, import_id,
// elements, person).
type storedIndividualDoc struct {
	ID           string `bson:"_id"`
	Jurisdiction string `bson:"j"`
	Relationship int32  `bson:"r"`
	Details      string `bson:"d"`

	OldImportID     string `bson:"import_id"`
	OldJurisdiction string `bson:"jurisdiction"`
	OldRelationship int32  `bson:"relationship"`
	OldElements     int64  `bson:"elements"`
	OldPerson       string `bson:"person"`
}

// Field names of the individual shapes, for filters and projections.
const (
	fieldJurisdiction    = "j"
	fieldRelationship    = "r"
	fieldDetails         = "d"
	oldFieldImportID     = "import_id"
	oldFieldJurisdiction = "jurisdiction"
	oldFieldRelationship = "relationship"
	oldFieldElements     = "elements"
)

type countsDoc struct {
	Total          int64            `bson:"total"`
	ByJurisdiction map[string]int64 `bson:"by_jurisdiction"`
	ByElement      map[string]int64 `bson:"by_element"`
	ByRelationship map[string]int64 `bson:"by_relationship"`
}

type importDoc struct {
	ID              string     `bson:"_id"`
	IncidentID      string     `bson:"incident_id"`
	RequestID       string     `bson:"request_id"`
	SourceName      string     `bson:"source_name"`
	Status          int32      `bson:"status"`
	Attempt         int64      `bson:"attempt"`
	RowsRead        int64      `bson:"rows_read"`
	RowsAccepted    int64      `bson:"rows_accepted"`
	RowsDuplicate   int64      `bson:"rows_duplicate"`
	RowsRejected    int64      `bson:"rows_rejected"`
	Counts          countsDoc  `bson:"counts"`
	ErrorsKept      int64      `bson:"errors_kept"`
	ErrorsTruncated bool       `bson:"errors_truncated"`
	StartTime       time.Time  `bson:"start_time"`
	UpdateTime      time.Time  `bson:"update_time"`
	FinishTime      *time.Time `bson:"finish_time"`
}

type importErrorDoc struct {
	ID       string `bson:"_id"`
	ImportID string `bson:"import_id"`
	Line     int64  `bson:"line"`
	Field    string `bson:"field"`
	Reason   string `bson:"reason"`
}

func individualKey(incidentID, individualID string) string { return incidentID + "/" + individualID }

// incidentRange is the _id range of an incident's individuals ('0' follows
// '/').
func incidentRange(incidentID string) (lo, hi string) { return incidentID + "/", incidentID + "0" }

func elementMask(es []domain.DataElement) int64 {
	var m int64
	for _, e := range es {
		m |= 1 << uint(e)
	}
	return m
}

func elementsOf(m int64) []domain.DataElement {
	var out []domain.DataElement
	for e := domain.DataElement(1); e <= domain.DataElementTaxID; e++ {
		if m&(1<<uint(e)) != 0 {
			out = append(out, e)
		}
	}
	return out
}

func toIndividualDoc(ind domain.Individual) individualDoc {
	return individualDoc{
		ID: individualKey(ind.IncidentID, ind.ID), Jurisdiction: ind.Jurisdiction,
		Relationship: int32(ind.Relationship), Details: encodeDetails(ind),
	}
}

// encodeDetails writes the "d" array of an individual (see
// IndividualsStore). It is written by hand because it runs for every
// imported row and encoding/json's reflection was a tenth of the import's
// CPU time.
func encodeDetails(ind domain.Individual) string {
	b := make([]byte, 0, 256)
	b = append(appendJSONString(append(b, '['), ind.ImportID), ',')
	b = append(strconv.AppendInt(b, elementMask(ind.DataElements), 10), ',')
	for _, v := range []string{ind.ExternalID, ind.FullName, ind.GivenName, ind.FamilyName, ind.Email, ind.Phone} {
		b = append(appendJSONString(b, v), ',')
	}
	b = append(b, '[')
	for i, l := range ind.AddressLines {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, l)
	}
	b = append(b, ']', ',')
	b = append(appendJSONString(b, ind.Locality), ',')
	b = appendJSONString(b, ind.PostalCode)
	return string(append(b, ']'))
}

// details is the decoded "d" array.
type details struct {
	ImportID string
	Elements int64
	Person   personDoc
}

func decodeDetails(s string) (details, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return details{}, err
	}
	if len(raw) != 11 {
		return details{}, fmt.Errorf("details hold %d values, want 11", len(raw))
	}
	var d details
	p := &d.Person
	targets := []any{&d.ImportID, &d.Elements, &p.ExternalID, &p.FullName, &p.GivenName, &p.FamilyName, &p.Email, &p.Phone, &p.AddressLines, &p.Locality, &p.PostalCode}
	for i, t := range targets {
		if err := json.Unmarshal(raw[i], t); err != nil {
			return details{}, err
		}
	}
	return d, nil
}

// normalise returns the fields of an individual of either shape: import id,
// jurisdiction, relationship, elements and, with person set, the contact
// details.
func (d storedIndividualDoc) normalise(person bool) (details, string, int32, error) {
	if d.Details != "" {
		det, err := decodeDetails(d.Details)
		return det, d.Jurisdiction, d.Relationship, err
	}
	det := details{ImportID: d.OldImportID, Elements: d.OldElements}
	if person {
		if err := json.Unmarshal([]byte(d.OldPerson), &det.Person); err != nil {
			return details{}, "", 0, err
		}
	}
	return det, d.OldJurisdiction, d.OldRelationship, nil
}

// appendJSONString appends s (valid UTF-8, as validation ensures) as a JSON
// string: quotes, backslashes and control characters escaped.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := range len(s) {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func fromIndividualDoc(d storedIndividualDoc) (domain.Individual, error) {
	incidentID, id, _ := strings.Cut(d.ID, "/")
	det, jurisdiction, relationship, err := d.normalise(true)
	if err != nil {
		return domain.Individual{}, fmt.Errorf("decode individual %s: %w", id, err)
	}
	p := det.Person
	return domain.Individual{
		ID: id, IncidentID: incidentID, ImportID: det.ImportID,
		ExternalID: p.ExternalID, FullName: p.FullName, GivenName: p.GivenName, FamilyName: p.FamilyName,
		Email: p.Email, Phone: p.Phone, AddressLines: p.AddressLines, Locality: p.Locality, PostalCode: p.PostalCode,
		Jurisdiction: jurisdiction, Relationship: domain.Relationship(relationship), DataElements: elementsOf(det.Elements),
	}, nil
}

func toCountsDoc(c domain.AffectedCounts) countsDoc {
	d := countsDoc{
		Total:          c.Total,
		ByJurisdiction: make(map[string]int64, len(c.ByJurisdiction)),
		ByElement:      make(map[string]int64, len(c.ByElement)),
		ByRelationship: make(map[string]int64, len(c.ByRelationship)),
	}
	for k, n := range c.ByJurisdiction {
		d.ByJurisdiction[k] = n
	}
	for k, n := range c.ByElement {
		d.ByElement[strconv.Itoa(int(k))] = n
	}
	for k, n := range c.ByRelationship {
		d.ByRelationship[strconv.Itoa(int(k))] = n
	}
	return d
}

func fromCountsDoc(d countsDoc) domain.AffectedCounts {
	c := domain.NewAffectedCounts()
	c.Total = d.Total
	for k, n := range d.ByJurisdiction {
		c.ByJurisdiction[k] = n
	}
	for k, n := range d.ByElement {
		if e, err := strconv.Atoi(k); err == nil {
			c.ByElement[domain.DataElement(e)] = n
		}
	}
	for k, n := range d.ByRelationship {
		if r, err := strconv.Atoi(k); err == nil {
			c.ByRelationship[domain.Relationship(r)] = n
		}
	}
	return c
}

func toImportDoc(imp domain.Import) importDoc {
	d := importDoc{
		ID: imp.ID, IncidentID: imp.IncidentID, RequestID: imp.RequestID, SourceName: imp.SourceName,
		Status: int32(imp.Status), Attempt: imp.Attempt,
		RowsRead: imp.Progress.Read, RowsAccepted: imp.Progress.Accepted,
		RowsDuplicate: imp.Progress.Duplicate, RowsRejected: imp.Progress.Rejected,
		Counts: toCountsDoc(imp.Counts), ErrorsKept: imp.ErrorsKept, ErrorsTruncated: imp.ErrorsTruncated,
		StartTime: imp.StartTime, UpdateTime: imp.UpdateTime,
	}
	if !imp.FinishTime.IsZero() {
		t := imp.FinishTime
		d.FinishTime = &t
	}
	return d
}

func fromImportDoc(d importDoc) domain.Import {
	imp := domain.Import{
		ID: d.ID, IncidentID: d.IncidentID, RequestID: d.RequestID, SourceName: d.SourceName,
		Status: domain.ImportStatus(d.Status), Attempt: d.Attempt,
		Progress: domain.ImportProgress{
			Read: d.RowsRead, Accepted: d.RowsAccepted, Duplicate: d.RowsDuplicate, Rejected: d.RowsRejected,
		},
		Counts: fromCountsDoc(d.Counts), ErrorsKept: d.ErrorsKept, ErrorsTruncated: d.ErrorsTruncated,
		StartTime: d.StartTime.UTC(), UpdateTime: d.UpdateTime.UTC(),
	}
	if d.FinishTime != nil {
		imp.FinishTime = d.FinishTime.UTC()
	}
	return imp
}

// IncidentExists implements domain.IndividualsStore.
func (s *IndividualsStore) IncidentExists(ctx context.Context, incidentID string) (bool, error) {
	err := s.incidents.FindOne(ctx, bson.D{{Key: "_id", Value: incidentID}},
		options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find incident: %w", err)
	}
	return true, nil
}

// CreateImport implements domain.IndividualsStore.
func (s *IndividualsStore) CreateImport(ctx context.Context, imp domain.Import) error {
	_, err := s.imports.InsertOne(ctx, toImportDoc(imp))
	if mongox.IsDuplicateKey(err) {
		return fmt.Errorf("import %s: %w", imp.ID, apperr.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("insert import: %w", err)
	}
	return nil
}

// GetImport implements domain.IndividualsStore.
func (s *IndividualsStore) GetImport(ctx context.Context, id string) (domain.Import, error) {
	var d importDoc
	if err := s.imports.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return domain.Import{}, mongox.NotFound(err, "import "+id)
	}
	return fromImportDoc(d), nil
}

// TakeOverImport implements domain.IndividualsStore. The fence insert of
// "<id>#<attempt>" decides the winner atomically on both servers; the
// winner then restates the import for its attempt.
func (s *IndividualsStore) TakeOverImport(ctx context.Context, id string, attempt int64, counts domain.AffectedCounts, now time.Time) (domain.Import, error) {
	fence := bson.D{{Key: "_id", Value: fmt.Sprintf("%s#%d", id, attempt)}, {Key: "claimed_at", Value: now}}
	if _, err := s.leases.InsertOne(ctx, fence); err != nil {
		if mongox.IsDuplicateKey(err) {
			return domain.Import{}, fmt.Errorf("import %s attempt %d taken: %w", id, attempt, apperr.ErrConflict)
		}
		return domain.Import{}, fmt.Errorf("fence import take-over: %w", err)
	}
	_, err := s.imports.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "attempt", Value: attempt},
		{Key: "status", Value: int32(domain.ImportStatusRunning)},
		{Key: "rows_read", Value: int64(0)},
		{Key: "rows_accepted", Value: int64(0)},
		{Key: "rows_duplicate", Value: int64(0)},
		{Key: "rows_rejected", Value: int64(0)},
		{Key: "counts", Value: toCountsDoc(counts)},
		{Key: "update_time", Value: now},
		{Key: "finish_time", Value: nil},
	}}})
	if err != nil {
		return domain.Import{}, fmt.Errorf("take over import: %w", err)
	}
	return s.GetImport(ctx, id)
}

// SaveImport implements domain.IndividualsStore.
func (s *IndividualsStore) SaveImport(ctx context.Context, imp domain.Import) error {
	d := toImportDoc(imp)
	res, err := s.imports.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: imp.ID}, {Key: "attempt", Value: imp.Attempt}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "status", Value: d.Status},
			{Key: "rows_read", Value: d.RowsRead},
			{Key: "rows_accepted", Value: d.RowsAccepted},
			{Key: "rows_duplicate", Value: d.RowsDuplicate},
			{Key: "rows_rejected", Value: d.RowsRejected},
			{Key: "counts", Value: d.Counts},
			{Key: "errors_kept", Value: d.ErrorsKept},
			{Key: "errors_truncated", Value: d.ErrorsTruncated},
			{Key: "update_time", Value: d.UpdateTime},
			{Key: "finish_time", Value: d.FinishTime},
		}}})
	if err != nil {
		return fmt.Errorf("save import: %w", err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("import %s attempt %d superseded: %w", imp.ID, imp.Attempt, apperr.ErrConflict)
	}
	return nil
}

// InsertIndividuals implements domain.IndividualsStore with one unordered
// InsertMany: every individual is attempted, and the duplicate-key errors
// name exactly those already recorded.
func (s *IndividualsStore) InsertIndividuals(ctx context.Context, inds []domain.Individual) ([]bool, error) {
	docs := make([]any, len(inds))
	for i, ind := range inds {
		docs[i] = toIndividualDoc(ind)
	}
	inserted := make([]bool, len(inds))
	for i := range inserted {
		inserted[i] = true
	}
	_, err := s.individuals.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return inserted, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return nil, fmt.Errorf("insert individuals: %w", err)
	}
	for _, we := range bwe.WriteErrors {
		if !mongo.IsDuplicateKeyError(we) || we.Index < 0 || we.Index >= len(inserted) {
			return nil, fmt.Errorf("insert individuals: %w", err)
		}
		inserted[we.Index] = false
	}
	return inserted, nil
}

// InsertImportErrors implements domain.IndividualsStore.
func (s *IndividualsStore) InsertImportErrors(ctx context.Context, importID string, errs []domain.ImportError) error {
	if len(errs) == 0 {
		return nil
	}
	docs := make([]any, len(errs))
	n := 0
	for i, e := range errs {
		if i > 0 && errs[i-1].Line == e.Line {
			n++
		} else {
			n = 0
		}
		docs[i] = importErrorDoc{
			ID:       fmt.Sprintf("%s#%012d#%d", importID, e.Line, n),
			ImportID: importID, Line: e.Line, Field: e.Field, Reason: e.Reason,
		}
	}
	_, err := s.importErrors.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && bwe.WriteConcernError == nil {
		for _, we := range bwe.WriteErrors {
			if !mongo.IsDuplicateKeyError(we) {
				return fmt.Errorf("insert import errors: %w", err)
			}
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("insert import errors: %w", err)
	}
	return nil
}

// CountImport implements domain.IndividualsStore by reading the import's
// individuals (only their counted fields).
func (s *IndividualsStore) CountImport(ctx context.Context, incidentID, importID string) (domain.AffectedCounts, error) {
	lo, hi := incidentRange(incidentID)
	// The import id of the current shape is inside "d", which only the
	// prefix test below can match; earlier documents have it as a field.
	cur, err := s.individuals.Find(ctx,
		bson.D{
			{Key: "_id", Value: bson.D{{Key: "$gt", Value: lo}, {Key: "$lt", Value: hi}}},
			{Key: "$or", Value: bson.A{
				bson.D{{Key: fieldDetails, Value: bson.D{{Key: "$exists", Value: true}}}},
				bson.D{{Key: oldFieldImportID, Value: importID}},
			}},
		},
		options.Find().SetProjection(bson.D{
			{Key: fieldJurisdiction, Value: 1}, {Key: fieldRelationship, Value: 1}, {Key: fieldDetails, Value: 1},
			{Key: oldFieldImportID, Value: 1}, {Key: oldFieldJurisdiction, Value: 1}, {Key: oldFieldRelationship, Value: 1}, {Key: oldFieldElements, Value: 1},
		}))
	if err != nil {
		return domain.AffectedCounts{}, fmt.Errorf("count import: %w", err)
	}
	defer cur.Close(ctx) //nolint:errcheck // closing a read cursor has nothing to report
	c := domain.NewAffectedCounts()
	prefix := `[` + string(appendJSONString(nil, importID)) + `,`
	for cur.Next(ctx) {
		var d storedIndividualDoc
		if err := cur.Decode(&d); err != nil {
			return domain.AffectedCounts{}, fmt.Errorf("count import: %w", err)
		}
		if d.Details != "" && !strings.HasPrefix(d.Details, prefix) {
			continue // another import's
		}
		det, jurisdiction, relationship, err := d.normalise(false)
		if err != nil {
			return domain.AffectedCounts{}, fmt.Errorf("count import: %w", err)
		}
		c.Add(domain.Individual{
			Jurisdiction: jurisdiction, Relationship: domain.Relationship(relationship), DataElements: elementsOf(det.Elements),
		})
	}
	if err := cur.Err(); err != nil {
		return domain.AffectedCounts{}, fmt.Errorf("count import: %w", err)
	}
	return c, nil
}

// ImportsOfIncident implements domain.IndividualsStore.
func (s *IndividualsStore) ImportsOfIncident(ctx context.Context, incidentID string) ([]domain.Import, error) {
	docs, err := mongox.FindAll[importDoc](ctx, s.imports, bson.D{{Key: "incident_id", Value: incidentID}}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list imports: %w", err)
	}
	out := make([]domain.Import, 0, len(docs))
	for _, d := range docs {
		out = append(out, fromImportDoc(d))
	}
	return out, nil
}

type individualsToken struct {
	After        string `json:"a"`
	Jurisdiction string `json:"j,omitempty"`
	Relationship int32  `json:"r,omitempty"`
}

// ListIndividuals implements domain.IndividualsStore: the incident's _id
// range in order, continuing after the last id of the previous page.
func (s *IndividualsStore) ListIndividuals(ctx context.Context, f domain.IndividualFilter, p domain.PageRequest) (domain.IndividualPage, error) {
	lo, hi := incidentRange(f.IncidentID)
	if p.Token != "" {
		var tok individualsToken
		if err := mongox.DecodePageToken(p.Token, &tok); err != nil {
			return domain.IndividualPage{}, err
		}
		if tok.After == "" || tok.Jurisdiction != f.Jurisdiction || tok.Relationship != int32(f.Relationship) {
			return domain.IndividualPage{}, apperr.Invalid("page_token", "does not match the request's filters; start again without a token")
		}
		lo = individualKey(f.IncidentID, tok.After)
	}
	filter := bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: lo}, {Key: "$lt", Value: hi}}}}
	// Either shape's field matches (see IndividualsStore).
	var either bson.A
	if f.Jurisdiction != "" {
		either = append(either, bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: fieldJurisdiction, Value: f.Jurisdiction}}, bson.D{{Key: oldFieldJurisdiction, Value: f.Jurisdiction}},
		}}})
	}
	if f.Relationship != domain.RelationshipUnspecified {
		either = append(either, bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: fieldRelationship, Value: int32(f.Relationship)}}, bson.D{{Key: oldFieldRelationship, Value: int32(f.Relationship)}},
		}}})
	}
	if len(either) > 0 {
		filter = append(filter, bson.E{Key: "$and", Value: either})
	}
	docs, err := mongox.FindAll[storedIndividualDoc](ctx, s.individuals, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(p.Size)+1))
	if err != nil {
		return domain.IndividualPage{}, fmt.Errorf("list individuals: %w", err)
	}
	var page domain.IndividualPage
	if len(docs) > p.Size {
		docs = docs[:p.Size]
		_, last, _ := strings.Cut(docs[len(docs)-1].ID, "/")
		next, err := mongox.EncodePageToken(individualsToken{After: last, Jurisdiction: f.Jurisdiction, Relationship: int32(f.Relationship)})
		if err != nil {
			return domain.IndividualPage{}, err
		}
		page.NextPageToken = next
	}
	page.Individuals = make([]domain.Individual, 0, len(docs))
	for _, d := range docs {
		ind, err := fromIndividualDoc(d)
		if err != nil {
			return domain.IndividualPage{}, err
		}
		page.Individuals = append(page.Individuals, ind)
	}
	return page, nil
}

// ListImportErrors implements domain.IndividualsStore: the import's _id
// range, which is line order.
func (s *IndividualsStore) ListImportErrors(ctx context.Context, importID string, p domain.PageRequest) (domain.ImportErrorPage, error) {
	lo, hi := importID+"#", importID+"$" // '$' follows '#'
	if p.Token != "" {
		var tok individualsToken
		if err := mongox.DecodePageToken(p.Token, &tok); err != nil {
			return domain.ImportErrorPage{}, err
		}
		if !strings.HasPrefix(tok.After, lo) {
			return domain.ImportErrorPage{}, apperr.Invalid("page_token", "is not a token of this import's errors; start again without a token")
		}
		lo = tok.After
	}
	docs, err := mongox.FindAll[importErrorDoc](ctx, s.importErrors, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: lo}, {Key: "$lt", Value: hi}}}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(p.Size)+1))
	if err != nil {
		return domain.ImportErrorPage{}, fmt.Errorf("list import errors: %w", err)
	}
	var page domain.ImportErrorPage
	if len(docs) > p.Size {
		docs = docs[:p.Size]
		next, err := mongox.EncodePageToken(individualsToken{After: docs[len(docs)-1].ID})
		if err != nil {
			return domain.ImportErrorPage{}, err
		}
		page.NextPageToken = next
	}
	page.Errors = make([]domain.ImportError, 0, len(docs))
	for _, d := range docs {
		page.Errors = append(page.Errors, domain.ImportError{Line: d.Line, Field: d.Field, Reason: d.Reason})
	}
	return page, nil
}
