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
// embedded store (FerretDB over SQLite), where every document field and
// every secondary index costs time on each insert (measured: one extra
// compound index ~20%, contact details as separate fields instead of one
// string ~30%):
//
//   - An individual's _id is "<incident_id>/<individual_id>". The primary key
//     index is then the dedup key (unique per incident) and serves listing an
//     incident's people as an _id range, so the collection has no secondary
//     index at all.
//   - Contact details, never queried, are one JSON string ("person").
//   - Data elements are a bit set ("elements": bit n = DataElement n),
//     queryable with $bitsAllSet.
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

type individualDoc struct {
	ID           string `bson:"_id"`
	ImportID     string `bson:"import_id"`
	Jurisdiction string `bson:"jurisdiction"`
	Relationship int32  `bson:"relationship"`
	Elements     int64  `bson:"elements"`
	Person       string `bson:"person"`
}

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
		ID: individualKey(ind.IncidentID, ind.ID), ImportID: ind.ImportID, Jurisdiction: ind.Jurisdiction,
		Relationship: int32(ind.Relationship), Elements: elementMask(ind.DataElements), Person: encodePerson(ind),
	}
}

// encodePerson writes the contact details as the JSON object personDoc
// decodes. It is written by hand because it runs for every imported row and
// encoding/json's reflection was a tenth of the import's CPU time.
func encodePerson(ind domain.Individual) string {
	b := make([]byte, 0, 256)
	b = append(b, '{')
	field := func(name, v string) {
		if v == "" {
			return
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = appendJSONString(append(appendJSONString(b, name), ':'), v)
	}
	field("external_id", ind.ExternalID)
	field("full_name", ind.FullName)
	field("given_name", ind.GivenName)
	field("family_name", ind.FamilyName)
	field("email", ind.Email)
	field("phone", ind.Phone)
	if len(ind.AddressLines) > 0 {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(appendJSONString(b, "address_lines"), ':', '[')
		for i, l := range ind.AddressLines {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, l)
		}
		b = append(b, ']')
	}
	field("locality", ind.Locality)
	field("postal_code", ind.PostalCode)
	return string(append(b, '}'))
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

func fromIndividualDoc(d individualDoc) (domain.Individual, error) {
	incidentID, id, _ := strings.Cut(d.ID, "/")
	var p personDoc
	if err := json.Unmarshal([]byte(d.Person), &p); err != nil {
		return domain.Individual{}, fmt.Errorf("decode individual %s: %w", id, err)
	}
	return domain.Individual{
		ID: id, IncidentID: incidentID, ImportID: d.ImportID,
		ExternalID: p.ExternalID, FullName: p.FullName, GivenName: p.GivenName, FamilyName: p.FamilyName,
		Email: p.Email, Phone: p.Phone, AddressLines: p.AddressLines, Locality: p.Locality, PostalCode: p.PostalCode,
		Jurisdiction: d.Jurisdiction, Relationship: domain.Relationship(d.Relationship), DataElements: elementsOf(d.Elements),
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
	cur, err := s.individuals.Find(ctx,
		bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: lo}, {Key: "$lt", Value: hi}}}, {Key: "import_id", Value: importID}},
		options.Find().SetProjection(bson.D{{Key: "jurisdiction", Value: 1}, {Key: "relationship", Value: 1}, {Key: "elements", Value: 1}}))
	if err != nil {
		return domain.AffectedCounts{}, fmt.Errorf("count import: %w", err)
	}
	defer cur.Close(ctx) //nolint:errcheck // closing a read cursor has nothing to report
	c := domain.NewAffectedCounts()
	for cur.Next(ctx) {
		var d individualDoc
		if err := cur.Decode(&d); err != nil {
			return domain.AffectedCounts{}, fmt.Errorf("count import: %w", err)
		}
		c.Add(domain.Individual{
			Jurisdiction: d.Jurisdiction, Relationship: domain.Relationship(d.Relationship), DataElements: elementsOf(d.Elements),
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
	if f.Jurisdiction != "" {
		filter = append(filter, bson.E{Key: "jurisdiction", Value: f.Jurisdiction})
	}
	if f.Relationship != domain.RelationshipUnspecified {
		filter = append(filter, bson.E{Key: "relationship", Value: int32(f.Relationship)})
	}
	docs, err := mongox.FindAll[individualDoc](ctx, s.individuals, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(p.Size)+1))
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
