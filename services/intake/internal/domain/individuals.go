package domain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// Id prefixes of the affected-individuals resources.
const (
	IndividualPrefix = "ind"
	ImportPrefix     = "imp"
)

// Page sizes of ListAffectedIndividuals and ListImportErrors (AIP-158).
const (
	DefaultIndividualsPageSize = 50
	MaxIndividualsPageSize     = 500
	DefaultErrorsPageSize      = 100
	MaxErrorsPageSize          = 1000
)

// Individual is one person an incident affected: who they are, how to reach
// them, where they live and which kinds of their data were compromised —
// never the compromised values.
type Individual struct {
	// ID is derived from the incident and the person's identity (see
	// PersonKey), so the same person imported twice gets the same id and the
	// store's unique key turns the second insert into a duplicate.
	ID           string
	IncidentID   string
	ImportID     string
	ExternalID   string
	FullName     string
	GivenName    string
	FamilyName   string
	Email        string
	Phone        string
	AddressLines []string
	Locality     string
	PostalCode   string
	// Jurisdiction of residence, ISO 3166 ("US-TX", "DE"), canonical.
	Jurisdiction string
	Relationship Relationship
	// DataElements are sorted and without duplicates once validated.
	DataElements []DataElement
}

// RowProblem is what is wrong with one field of an import row. Reason never
// holds the rejected value.
type RowProblem struct {
	Field  string
	Reason string
}

// ImportRow is one row of an import source.
type ImportRow struct {
	// Line is the row's line in the source; errors are reported by it.
	Line       int64
	Individual Individual
	// SourceProblems are what the client found reading the row (a CSV row
	// with the wrong number of fields); such a row is rejected with them.
	SourceProblems []RowProblem
}

// ImportError is one problem of one rejected row.
type ImportError struct {
	Line   int64
	Field  string
	Reason string
}

// ImportStatus is where an import is; numbers equal
// breachline.intake.v1.ImportStatus.
type ImportStatus int32

// Import statuses.
const (
	ImportStatusUnspecified ImportStatus = iota
	ImportStatusRunning
	ImportStatusCompleted
	ImportStatusFailed
)

// ImportHeader opens an import.
type ImportHeader struct {
	IncidentID string
	RequestID  string
	SourceName string
}

// ImportProgress counts the rows of an import's latest attempt.
type ImportProgress struct {
	Read      int64
	Accepted  int64
	Duplicate int64
	Rejected  int64
}

// Import is one bulk import and its progress. Counts are of the people this
// import recorded (in any of its attempts); an incident's counts are the sum
// over its imports, exact because a person is recorded by exactly one
// import.
type Import struct {
	ID         string
	IncidentID string
	RequestID  string
	SourceName string
	Status     ImportStatus
	Progress   ImportProgress
	Counts     AffectedCounts
	StartTime  time.Time
	UpdateTime time.Time
	FinishTime time.Time
	// Attempt numbers the streams that ran the import; only the stream
	// holding the current attempt may write its progress (fenced in the
	// store).
	Attempt int64
	// ErrorsKept is how many row errors are stored (at most
	// ImportOptions.MaxErrorsKept).
	ErrorsKept int64
	// ErrorsTruncated is set when more errors occurred than were kept.
	ErrorsTruncated bool
}

// AffectedCounts are the numbers of affected individuals, in total and by
// jurisdiction, data element and relationship.
type AffectedCounts struct {
	Total          int64
	ByJurisdiction map[string]int64
	ByElement      map[DataElement]int64
	ByRelationship map[Relationship]int64
	// RunningImports is how many of the summed imports were still running
	// (only set on an incident's counts).
	RunningImports int64
}

// NewAffectedCounts returns empty counts ready to add to.
func NewAffectedCounts() AffectedCounts {
	return AffectedCounts{
		ByJurisdiction: map[string]int64{},
		ByElement:      map[DataElement]int64{},
		ByRelationship: map[Relationship]int64{},
	}
}

// Add counts one individual.
func (c *AffectedCounts) Add(ind Individual) {
	c.Total++
	c.ByJurisdiction[ind.Jurisdiction]++
	c.ByRelationship[ind.Relationship]++
	for _, e := range ind.DataElements {
		c.ByElement[e]++
	}
}

// Merge adds other's counts to c.
func (c *AffectedCounts) Merge(other AffectedCounts) {
	c.Total += other.Total
	for k, n := range other.ByJurisdiction {
		c.ByJurisdiction[k] += n
	}
	for k, n := range other.ByElement {
		c.ByElement[k] += n
	}
	for k, n := range other.ByRelationship {
		c.ByRelationship[k] += n
	}
}

// Clone returns a deep copy of c.
func (c AffectedCounts) Clone() AffectedCounts {
	out := NewAffectedCounts()
	out.Merge(c)
	out.RunningImports = c.RunningImports
	return out
}

// Jurisdictions returns the jurisdiction counts sorted by code, the shape
// BreachFacts.Affected takes.
func (c AffectedCounts) Jurisdictions() []JurisdictionCount {
	out := make([]JurisdictionCount, 0, len(c.ByJurisdiction))
	for j, n := range c.ByJurisdiction {
		out = append(out, JurisdictionCount{Jurisdiction: j, Count: n})
	}
	slices.SortFunc(out, func(a, b JurisdictionCount) int { return strings.Compare(a.Jurisdiction, b.Jurisdiction) })
	return out
}

// IndividualFilter narrows ListAffectedIndividuals.
type IndividualFilter struct {
	IncidentID   string
	Jurisdiction string
	Relationship Relationship
}

// IndividualPage is one page of individuals.
type IndividualPage struct {
	Individuals   []Individual
	NextPageToken string
}

// ImportErrorPage is one page of an import's errors.
type ImportErrorPage struct {
	Errors        []ImportError
	NextPageToken string
	Truncated     bool
}

// IndividualsStore is the persistence of affected individuals and their
// imports. As with Store, every write is a single-document or unordered bulk
// operation; no transactions.
type IndividualsStore interface {
	// IncidentExists reports whether the incident exists.
	IncidentExists(ctx context.Context, incidentID string) (bool, error)
	// CreateImport inserts a new import with Attempt 1. It returns
	// apperr.ErrAlreadyExists when an import with imp.ID exists.
	CreateImport(ctx context.Context, imp Import) error
	// GetImport returns one import, or apperr.ErrNotFound.
	GetImport(ctx context.Context, id string) (Import, error)
	// TakeOverImport makes attempt the import's current attempt, restarting
	// it as RUNNING at now with counts as given and progress zeroed. Exactly
	// one caller can take over a given attempt number: the others get
	// apperr.ErrConflict.
	TakeOverImport(ctx context.Context, id string, attempt int64, counts AffectedCounts, now time.Time) (Import, error)
	// SaveImport writes imp's status, progress, counts, error bookkeeping
	// and times, provided imp.Attempt is still the import's current attempt;
	// otherwise it returns apperr.ErrConflict.
	SaveImport(ctx context.Context, imp Import) error
	// InsertIndividuals stores inds (all of one incident) in one unordered
	// bulk write and reports, per individual, whether it was newly inserted
	// (false: a person with that id was already recorded).
	InsertIndividuals(ctx context.Context, inds []Individual) ([]bool, error)
	// InsertImportErrors stores errs of an import. Storing the same
	// (line, index) again is a no-op, so a resumed import may repeat it.
	InsertImportErrors(ctx context.Context, importID string, errs []ImportError) error
	// CountImport recounts the individuals an import recorded, by reading
	// them. It repairs counts after an interrupted attempt.
	CountImport(ctx context.Context, incidentID, importID string) (AffectedCounts, error)
	// ImportsOfIncident returns every import of an incident.
	ImportsOfIncident(ctx context.Context, incidentID string) ([]Import, error)
	// ListIndividuals returns a page of individuals matching f, by id.
	ListIndividuals(ctx context.Context, f IndividualFilter, p PageRequest) (IndividualPage, error)
	// ListImportErrors returns a page of an import's errors, by line.
	ListImportErrors(ctx context.Context, importID string, p PageRequest) (ImportErrorPage, error)
}

// PersonKey is the normalised identity of a person within an incident: the
// external id when there is one, else the name with e-mail, phone and
// postal address. Case, spacing and phone punctuation do not matter.
func PersonKey(ind Individual) string {
	if ind.ExternalID != "" {
		return "x\x00" + normText(ind.ExternalID)
	}
	name := ind.FullName
	if name == "" {
		name = ind.GivenName + " " + ind.FamilyName
	}
	var b strings.Builder
	b.WriteString("n\x00")
	b.WriteString(normText(name))
	b.WriteByte(0)
	b.WriteString(normText(ind.Email))
	b.WriteByte(0)
	for _, r := range ind.Phone {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	for _, l := range ind.AddressLines {
		b.WriteByte(0)
		b.WriteString(normText(l))
	}
	b.WriteByte(0)
	b.WriteString(normText(ind.PostalCode))
	return b.String()
}

// IndividualID derives the id of the person with key within incidentID: a
// truncated SHA-256, in the form of every other id ("ind_" and 24 hex
// digits, 96 bits: a collision among a billion people has odds of about
// one in 10^11).
func IndividualID(incidentID, key string) string {
	h := sha256.New()
	h.Write([]byte(incidentID))
	h.Write([]byte{0})
	h.Write([]byte(key))
	sum := h.Sum(nil)
	return IndividualPrefix + "_" + hex.EncodeToString(sum[:12])
}

// ImportIDFor derives the id of the import with requestID in incidentID,
// so that a retry finds the import it repeats.
func ImportIDFor(incidentID, requestID string) string {
	sum := sha256.Sum256([]byte(incidentID + "\x00" + requestID))
	return ImportPrefix + "_" + hex.EncodeToString(sum[:12])
}

func normText(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}
