package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/intake/internal/domain"
)

type discoveryDoc struct {
	DiscoveredAt *time.Time `bson:"discovered_at,omitempty"`
	DiscoveredBy string     `bson:"discovered_by"`
	How          string     `bson:"how"`
}

type intrusionDoc struct {
	Method             string   `bson:"method"`
	EntryPoints        []string `bson:"entry_points"`
	ExitPoints         []string `bson:"exit_points"`
	Paths              []string `bson:"paths"`
	CompromisedSystems []string `bson:"compromised_systems"`
}

type dataImpactDoc struct {
	Deleted  int32 `bson:"deleted"`
	Modified int32 `bson:"modified"`
	Viewed   int32 `bson:"viewed"`
}

type compromisedDoc struct {
	Relationships   []int32 `bson:"relationships"`
	DataFields      []int32 `bson:"data_fields"`
	EncryptedFields []int32 `bson:"encrypted_fields"`
	RecordCount     int64   `bson:"record_count"`
}

type recordDoc struct {
	OccurredStart         *time.Time     `bson:"occurred_start_time,omitempty"`
	OccurredEnd           *time.Time     `bson:"occurred_end_time,omitempty"`
	Location              string         `bson:"location"`
	Discovery             discoveryDoc   `bson:"discovery"`
	Intrusion             intrusionDoc   `bson:"intrusion"`
	DataImpact            dataImpactDoc  `bson:"data_impact"`
	PhysicalAssetsMissing []string       `bson:"physical_assets_missing"`
	RecordsForm           int32          `bson:"records_form"`
	CompromisedData       compromisedDoc `bson:"compromised_data"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func timeVal(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func toRecordDoc(r domain.IncidentRecord) recordDoc {
	rels := make([]int32, 0, len(r.CompromisedData.Relationships))
	for _, x := range r.CompromisedData.Relationships {
		rels = append(rels, int32(x))
	}
	return recordDoc{
		OccurredStart: timePtr(r.OccurredStart),
		OccurredEnd:   timePtr(r.OccurredEnd),
		Location:      r.Location,
		Discovery: discoveryDoc{
			DiscoveredAt: timePtr(r.Discovery.DiscoveredAt),
			DiscoveredBy: r.Discovery.DiscoveredBy,
			How:          r.Discovery.How,
		},
		Intrusion: intrusionDoc{
			Method:             r.Intrusion.Method,
			EntryPoints:        r.Intrusion.EntryPoints,
			ExitPoints:         r.Intrusion.ExitPoints,
			Paths:              r.Intrusion.Paths,
			CompromisedSystems: r.Intrusion.CompromisedSystems,
		},
		DataImpact: dataImpactDoc{
			Deleted:  int32(r.DataImpact.Deleted),
			Modified: int32(r.DataImpact.Modified),
			Viewed:   int32(r.DataImpact.Viewed),
		},
		PhysicalAssetsMissing: r.PhysicalAssetsMissing,
		RecordsForm:           int32(r.RecordsForm),
		CompromisedData: compromisedDoc{
			Relationships:   rels,
			DataFields:      elementsToInts(r.CompromisedData.DataFields),
			EncryptedFields: elementsToInts(r.CompromisedData.EncryptedFields),
			RecordCount:     r.CompromisedData.RecordCount,
		},
	}
}

func fromRecordDoc(d recordDoc) domain.IncidentRecord {
	var rels []domain.Relationship
	for _, x := range d.CompromisedData.Relationships {
		rels = append(rels, domain.Relationship(x))
	}
	return domain.IncidentRecord{
		OccurredStart: timeVal(d.OccurredStart),
		OccurredEnd:   timeVal(d.OccurredEnd),
		Location:      d.Location,
		Discovery: domain.Discovery{
			DiscoveredAt: timeVal(d.Discovery.DiscoveredAt),
			DiscoveredBy: d.Discovery.DiscoveredBy,
			How:          d.Discovery.How,
		},
		Intrusion: domain.Intrusion{
			Method:             d.Intrusion.Method,
			EntryPoints:        d.Intrusion.EntryPoints,
			ExitPoints:         d.Intrusion.ExitPoints,
			Paths:              d.Intrusion.Paths,
			CompromisedSystems: d.Intrusion.CompromisedSystems,
		},
		DataImpact: domain.DataImpact{
			Deleted:  domain.Determination(d.DataImpact.Deleted),
			Modified: domain.Determination(d.DataImpact.Modified),
			Viewed:   domain.Determination(d.DataImpact.Viewed),
		},
		PhysicalAssetsMissing: d.PhysicalAssetsMissing,
		RecordsForm:           domain.RecordsForm(d.RecordsForm),
		CompromisedData: domain.CompromisedData{
			Relationships:   rels,
			DataFields:      intsToElements(d.CompromisedData.DataFields),
			EncryptedFields: intsToElements(d.CompromisedData.EncryptedFields),
			RecordCount:     d.CompromisedData.RecordCount,
		},
	}
}

type changeDoc struct {
	Field    string `bson:"field"`
	OldValue string `bson:"old_value"`
	NewValue string `bson:"new_value"`
}

// entryDoc is one timeline entry; _id is "<incident_id>#<seq>". The
// snapshot is the incident after the entry (on entries that changed it):
// it is how a change reaches the incident document after a crash, and is
// not part of the hashed record.
type entryDoc struct {
	ID              string       `bson:"_id"`
	IncidentID      string       `bson:"incident_id"`
	Seq             int64        `bson:"seq"`
	Time            time.Time    `bson:"time"`
	ActorKind       int32        `bson:"actor_kind"`
	ActorSubject    string       `bson:"actor_subject"`
	Action          string       `bson:"action"`
	Summary         string       `bson:"summary"`
	Note            string       `bson:"note,omitempty"`
	Changes         []changeDoc  `bson:"changes,omitempty"`
	RequestID       string       `bson:"request_id"`
	CorrelationID   string       `bson:"correlation_id"`
	PrevHash        string       `bson:"prev_hash"`
	Hash            string       `bson:"hash"`
	IncidentVersion int64        `bson:"incident_version"`
	Snapshot        *incidentDoc `bson:"snapshot,omitempty"`
}

func entryID(incidentID string, seq int64) string {
	return incidentID + "#" + strconv.FormatInt(seq, 10)
}

func toEntryDoc(e domain.TimelineEntry) entryDoc {
	d := entryDoc{
		ID:              entryID(e.IncidentID, e.Seq),
		IncidentID:      e.IncidentID,
		Seq:             e.Seq,
		Time:            e.Time.UTC(),
		ActorKind:       int32(e.Actor.Kind),
		ActorSubject:    e.Actor.Subject,
		Action:          e.Action,
		Summary:         e.Summary,
		Note:            e.Note,
		RequestID:       e.RequestID,
		CorrelationID:   e.CorrelationID,
		PrevHash:        e.PrevHash,
		Hash:            e.Hash,
		IncidentVersion: e.IncidentVersion,
	}
	for _, c := range e.Changes {
		d.Changes = append(d.Changes, changeDoc(c))
	}
	if e.Snapshot != nil {
		snap := toIncidentDoc(*e.Snapshot)
		d.Snapshot = &snap
	}
	return d
}

func fromEntryDoc(d entryDoc) domain.TimelineEntry {
	e := domain.TimelineEntry{
		IncidentID:      d.IncidentID,
		Seq:             d.Seq,
		Time:            d.Time.UTC(),
		Actor:           domain.Actor{Kind: domain.ActorKind(d.ActorKind), Subject: d.ActorSubject},
		Action:          d.Action,
		Summary:         d.Summary,
		Note:            d.Note,
		RequestID:       d.RequestID,
		CorrelationID:   d.CorrelationID,
		PrevHash:        d.PrevHash,
		Hash:            d.Hash,
		IncidentVersion: d.IncidentVersion,
	}
	for _, c := range d.Changes {
		e.Changes = append(e.Changes, domain.Change(c))
	}
	if d.Snapshot != nil {
		snap := fromIncidentDoc(*d.Snapshot)
		e.Snapshot = &snap
	}
	return e
}

// InsertEntry implements domain.Store. The entry's _id is its incident and
// seq, so the _id index is the seq fence; the unique request index catches
// a request recorded before. Once stored, the entry is indexed by request
// (timeline_requests) and the incident's head_seq is raised to it, so that
// EntryByRequestID and HeadEntry are lookups by _id. Both are repairable
// hints: a crash before them is caught by the unique request index (the
// request is indexed then) and by HeadEntry probing past head_seq.
func (s *Store) InsertEntry(ctx context.Context, e domain.TimelineEntry) error {
	err := s.entryInserts.Insert(ctx, toEntryDoc(e))
	if err == nil {
		s.afterInsert(ctx, e.IncidentID, e.RequestID, e.Seq)
		return nil
	}
	if !mongox.IsDuplicateKey(err) {
		return fmt.Errorf("insert timeline entry %d of %s: %w", e.Seq, e.IncidentID, err)
	}
	// Which index refused it? The request index first, then the slot.
	if _, ferr := s.EntryByRequestID(ctx, e.IncidentID, e.RequestID); ferr == nil {
		return fmt.Errorf("timeline entry %s of %s: %w", e.RequestID, e.IncidentID, apperr.ErrAlreadyExists)
	}
	var taken entryDoc
	ferr := s.timeline.FindOne(ctx, bson.D{{Key: "_id", Value: entryID(e.IncidentID, e.Seq)}}).Decode(&taken)
	if ferr == nil && taken.RequestID != e.RequestID {
		return fmt.Errorf("timeline entry %d of %s taken: %w", e.Seq, e.IncidentID, apperr.ErrConflict)
	}
	// The request was recorded before it was indexed (a crash, or an entry
	// from before the request index): find it the slow way and index it.
	prev, ferr := s.findLast(ctx, bson.D{{Key: "incident_id", Value: e.IncidentID}, {Key: "request_id", Value: e.RequestID}})
	if ferr != nil {
		return ferr
	}
	if prev.found {
		s.afterInsert(ctx, e.IncidentID, e.RequestID, prev.entry.Seq)
		return fmt.Errorf("timeline entry %s of %s: %w", e.RequestID, e.IncidentID, apperr.ErrAlreadyExists)
	}
	return fmt.Errorf("timeline entry %d of %s taken: %w", e.Seq, e.IncidentID, apperr.ErrConflict)
}

// requestDoc indexes a timeline entry by its request id.
type requestDoc struct {
	ID  string `bson:"_id"`
	Seq int64  `bson:"seq"`
}

// requestKey is the _id of a request's index document: the incident and a
// digest of the request id (client-chosen, so of any length).
func requestKey(incidentID, requestID string) string {
	sum := sha256.Sum256([]byte(requestID))
	return incidentID + "|" + hex.EncodeToString(sum[:16])
}

// afterInsert indexes the entry at seq by request and raises the
// incident's head_seq to it. Failures are left for the repairs InsertEntry
// describes.
func (s *Store) afterInsert(ctx context.Context, incidentID, requestID string, seq int64) {
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = s.requestInserts.Insert(ctx, requestDoc{ID: requestKey(incidentID, requestID), Seq: seq})
	})
	if seq > 1 {
		_, _ = s.incidents.UpdateOne(ctx, bson.D{{Key: "_id", Value: incidentID}},
			bson.D{{Key: "$max", Value: bson.D{{Key: "head_seq", Value: seq}}}})
	}
	wg.Wait()
}

// EntryByRequestID implements domain.Store through the request index (two
// lookups by _id). An entry not (yet) indexed is reported missing; the
// unique request index still refuses its replay (see InsertEntry).
func (s *Store) EntryByRequestID(ctx context.Context, incidentID, requestID string) (domain.TimelineEntry, error) {
	var r requestDoc
	err := s.requests.FindOne(ctx, bson.D{{Key: "_id", Value: requestKey(incidentID, requestID)}}).Decode(&r)
	if err != nil {
		return domain.TimelineEntry{}, mongox.NotFound(err, "timeline entry "+requestID+" of "+incidentID)
	}
	var d entryDoc
	if err := s.timeline.FindOne(ctx, bson.D{{Key: "_id", Value: entryID(incidentID, r.Seq)}}).Decode(&d); err != nil {
		return domain.TimelineEntry{}, mongox.NotFound(err, "timeline entry "+requestID+" of "+incidentID)
	}
	return fromEntryDoc(d), nil
}

// maxProbe bounds the lookups by _id HeadEntry and LatestChange make before
// falling back to a query.
const maxProbe = 256

// HeadEntry implements domain.Store. It starts at the incident's head_seq
// (1 when the incident document is not there yet) and probes the following
// seqs by _id until one is missing. Incidents from before head_seq are
// found by a query.
func (s *Store) HeadEntry(ctx context.Context, incidentID string) (domain.TimelineEntry, bool, error) {
	var inc struct {
		HeadSeq int64 `bson:"head_seq"`
	}
	err := s.incidents.FindOne(ctx, bson.D{{Key: "_id", Value: incidentID}},
		options.FindOne().SetProjection(bson.D{{Key: "head_seq", Value: 1}})).Decode(&inc)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		inc.HeadSeq = 1
	case err != nil:
		return domain.TimelineEntry{}, false, fmt.Errorf("read timeline head: %w", err)
	}
	if inc.HeadSeq > 0 {
		var last *entryDoc
		for seq := inc.HeadSeq; seq < inc.HeadSeq+maxProbe; seq++ {
			var d entryDoc
			err := s.timeline.FindOne(ctx, bson.D{{Key: "_id", Value: entryID(incidentID, seq)}}).Decode(&d)
			if errors.Is(err, mongo.ErrNoDocuments) {
				if last != nil {
					return fromEntryDoc(*last), true, nil
				}
				break
			}
			if err != nil {
				return domain.TimelineEntry{}, false, fmt.Errorf("read timeline head: %w", err)
			}
			last = &d
		}
	}
	r, err := s.findLast(ctx, bson.D{{Key: "incident_id", Value: incidentID}})
	return r.entry, r.found, err
}

// LatestChange implements domain.Store, probing down from maxSeq by _id.
func (s *Store) LatestChange(ctx context.Context, incidentID string, maxSeq int64) (domain.TimelineEntry, bool, error) {
	for seq := maxSeq; seq >= 1 && seq > maxSeq-maxProbe; seq-- {
		var d entryDoc
		err := s.timeline.FindOne(ctx, bson.D{{Key: "_id", Value: entryID(incidentID, seq)}}).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			break // a gap: let the query decide
		}
		if err != nil {
			return domain.TimelineEntry{}, false, fmt.Errorf("read timeline: %w", err)
		}
		if d.Snapshot != nil {
			return fromEntryDoc(d), true, nil
		}
	}
	r, err := s.findLast(ctx, bson.D{
		{Key: "incident_id", Value: incidentID},
		{Key: "seq", Value: bson.D{{Key: "$lte", Value: maxSeq}}},
		{Key: "snapshot", Value: bson.D{{Key: "$exists", Value: true}}},
	})
	return r.entry, r.found, err
}

type lastEntry struct {
	entry domain.TimelineEntry
	found bool
}

func (s *Store) findLast(ctx context.Context, filter bson.D) (lastEntry, error) {
	var d entryDoc
	err := s.timeline.FindOne(ctx, filter, options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return lastEntry{}, nil
	}
	if err != nil {
		return lastEntry{}, fmt.Errorf("read timeline: %w", err)
	}
	return lastEntry{entry: fromEntryDoc(d), found: true}, nil
}

// ListEntries implements domain.Store.
func (s *Store) ListEntries(ctx context.Context, incidentID string, afterSeq int64, limit int) ([]domain.TimelineEntry, error) {
	opts := options.Find().
		SetSort(bson.D{{Key: "seq", Value: 1}}).
		SetProjection(bson.D{{Key: "snapshot", Value: 0}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	docs, err := mongox.FindAll[entryDoc](ctx, s.timeline, bson.D{
		{Key: "incident_id", Value: incidentID},
		{Key: "seq", Value: bson.D{{Key: "$gt", Value: afterSeq}}},
	}, opts)
	if err != nil {
		return nil, fmt.Errorf("list timeline of %s: %w", incidentID, err)
	}
	out := make([]domain.TimelineEntry, 0, len(docs))
	for _, d := range docs {
		out = append(out, fromEntryDoc(d))
	}
	return out, nil
}
