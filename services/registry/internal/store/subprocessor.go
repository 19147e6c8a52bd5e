package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// subprocessorState is a subprocessor's content: stored inline in its
// document and as the snapshot of each history entry.
type subprocessorState struct {
	LegalName         string     `bson:"legal_name"`
	Country           string     `bson:"country"`
	Purpose           string     `bson:"purpose"`
	Products          []string   `bson:"products"`
	DataCategories    []string   `bson:"data_categories"`
	TransferMechanism string     `bson:"transfer_mechanism"`
	AgreementTime     *time.Time `bson:"agreement_time,omitempty"`
	Status            string     `bson:"status"`
	CreateTime        time.Time  `bson:"create_time"`
	UpdateTime        time.Time  `bson:"update_time"`
	Version           int64      `bson:"version"`
}

// subprocessorDoc is a subprocessor as stored; _id is the subprocessor id.
//
// History is written after the document (no transactions), so the document
// says whether its latest version has reached the history yet:
// history_pending is set by the write that makes a version and cleared once
// the history entry exists. A crash in between leaves the flag set, and the
// repair worker (SyncSubprocessorHistory) finishes the job.
type subprocessorDoc struct {
	ID             string            `bson:"_id"`
	State          subprocessorState `bson:",inline"`
	HistoryPending bool              `bson:"history_pending"`
	RequestKey     string            `bson:"request_key"`
	Fingerprint    string            `bson:"fingerprint"`
}

// historyDoc is one version of a subprocessor; _id is "<id>@v<version>" so
// that writing it again is a no-op.
type historyDoc struct {
	ID             string            `bson:"_id"`
	SubprocessorID string            `bson:"subprocessor_id"`
	Version        int64             `bson:"version"`
	Time           time.Time         `bson:"time"`
	Snapshot       subprocessorState `bson:"snapshot"`
}

func subprocessorToState(sp domain.Subprocessor) subprocessorState {
	st := subprocessorState{
		LegalName:         sp.LegalName,
		Country:           sp.Country,
		Purpose:           sp.Purpose,
		Products:          orEmpty(sp.Products),
		DataCategories:    orEmpty(sp.DataCategories),
		TransferMechanism: string(sp.TransferMechanism),
		Status:            string(sp.Status),
		CreateTime:        sp.CreateTime,
		UpdateTime:        sp.UpdateTime,
		Version:           sp.Version,
	}
	if !sp.AgreementTime.IsZero() {
		t := sp.AgreementTime
		st.AgreementTime = &t
	}
	return st
}

func (st subprocessorState) toDomain(id string) domain.Subprocessor {
	sp := domain.Subprocessor{
		ID:                id,
		LegalName:         st.LegalName,
		Country:           st.Country,
		Purpose:           st.Purpose,
		Products:          nilIfEmpty(st.Products),
		DataCategories:    nilIfEmpty(st.DataCategories),
		TransferMechanism: domain.TransferMechanism(st.TransferMechanism),
		Status:            domain.SubprocessorStatus(st.Status),
		CreateTime:        utc(st.CreateTime),
		UpdateTime:        utc(st.UpdateTime),
		Version:           st.Version,
	}
	if st.AgreementTime != nil {
		sp.AgreementTime = utc(*st.AgreementTime)
	}
	return sp
}

func (d subprocessorDoc) toDomain() domain.Subprocessor { return d.State.toDomain(d.ID) }

// CreateSubprocessor implements domain.SubprocessorStore: the document first
// (the idempotent, authoritative write), then its history entry.
func (s *Store) CreateSubprocessor(ctx context.Context, sp domain.Subprocessor, idem domain.Idempotency) (domain.Subprocessor, error) {
	doc := subprocessorDoc{
		ID:             sp.ID,
		State:          subprocessorToState(sp),
		HistoryPending: true,
		RequestKey:     requestKey(idem, sp.ID),
		Fingerprint:    idem.Fingerprint,
	}
	doc, err := insertOnce(ctx, s.subprocs, doc, sp.ID, idem)
	if err != nil {
		return domain.Subprocessor{}, err
	}
	// A retry also finishes a history write its first attempt did not.
	if doc.HistoryPending {
		if err := s.writeHistory(ctx, doc); err != nil {
			return domain.Subprocessor{}, err
		}
	}
	return doc.toDomain(), nil
}

// writeHistory records doc's current version in the history (idempotently)
// and then clears its pending flag, only if the version is still current.
func (s *Store) writeHistory(ctx context.Context, doc subprocessorDoc) error {
	v := doc.State.Version
	id := historyID(doc.ID, v)
	_, err := s.history.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$setOnInsert", Value: bson.D{
			{Key: "subprocessor_id", Value: doc.ID},
			{Key: "version", Value: v},
			{Key: "time", Value: doc.State.UpdateTime},
			{Key: "snapshot", Value: doc.State},
		}}},
		options.UpdateOne().SetUpsert(true))
	// Two writers upserting the same entry at once: one inserts, the other
	// may fail on the unique _id. Either way the entry exists.
	if err != nil && !mongox.IsDuplicateKey(err) {
		return fmt.Errorf("write history of subprocessor %s: %w", doc.ID, err)
	}
	_, err = s.subprocs.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: doc.ID}, {Key: "version", Value: v}, {Key: "history_pending", Value: true}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "history_pending", Value: false}}}})
	if err != nil {
		return fmt.Errorf("mark history of subprocessor %s: %w", doc.ID, err)
	}
	return nil
}

// SyncSubprocessorHistory implements domain.SubprocessorStore.
func (s *Store) SyncSubprocessorHistory(ctx context.Context, before time.Time) (bool, error) {
	var doc subprocessorDoc
	err := s.subprocs.FindOne(ctx,
		bson.D{{Key: "history_pending", Value: true}, {Key: "update_time", Value: bson.D{{Key: "$lt", Value: before}}}},
		options.FindOne().SetSort(bson.D{{Key: "update_time", Value: 1}})).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find pending subprocessor history: %w", err)
	}
	if err := s.writeHistory(ctx, doc); err != nil {
		return false, err
	}
	return true, nil
}

// GetSubprocessor implements domain.SubprocessorStore.
func (s *Store) GetSubprocessor(ctx context.Context, id string) (domain.Subprocessor, error) {
	doc, err := findByID[subprocessorDoc](ctx, s.subprocs, id, "subprocessor")
	if err != nil {
		return domain.Subprocessor{}, err
	}
	return doc.toDomain(), nil
}

// ListSubprocessors implements domain.SubprocessorStore.
func (s *Store) ListSubprocessors(ctx context.Context, q domain.SubprocessorQuery) ([]domain.Subprocessor, error) {
	filter := bson.D{}
	if q.Product != "" {
		// Equality on an array field matches documents whose array holds it.
		filter = append(filter, bson.E{Key: "products", Value: q.Product})
	}
	if q.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: string(q.Status)})
	}
	return findPage(ctx, s.subprocs, afterFilter(filter, q.After), q.Limit, subprocessorDoc.toDomain)
}

// SubprocessorHistory implements domain.SubprocessorStore.
func (s *Store) SubprocessorHistory(ctx context.Context, id string) ([]domain.SubprocessorVersion, error) {
	docs, err := mongox.FindAll[historyDoc](ctx, s.history, bson.D{{Key: "subprocessor_id", Value: id}},
		options.Find().SetSort(bson.D{{Key: "version", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("find history of subprocessor %s: %w", id, err)
	}
	out := make([]domain.SubprocessorVersion, 0, len(docs))
	for _, d := range docs {
		out = append(out, domain.SubprocessorVersion{
			Version:  d.Version,
			Time:     utc(d.Time),
			Snapshot: d.Snapshot.toDomain(d.SubprocessorID),
		})
	}
	return out, nil
}

// UpdateSubprocessor implements domain.SubprocessorStore. The history entry
// of the new version is the fence: its _id "<id>@v<n>" is unique, so one
// writer wins each version on either server, and it carries the full next
// state, so a change whose writer died after the fence is finished by the
// next writer of that subprocessor.
func (s *Store) UpdateSubprocessor(ctx context.Context, next domain.Subprocessor, from int64) (domain.Subprocessor, error) {
	var cur subprocessorDoc
	if err := s.subprocs.FindOne(ctx, bson.D{{Key: "_id", Value: next.ID}}).Decode(&cur); err != nil {
		return domain.Subprocessor{}, mongox.NotFound(err, "subprocessor "+next.ID)
	}
	if cur.State.Version != from {
		return domain.Subprocessor{}, fmt.Errorf("subprocessor %s: %w", next.ID, apperr.ErrConflict)
	}
	// The version being replaced must be in the history first (a create
	// may have stopped before writing it).
	if cur.HistoryPending {
		if err := s.writeHistory(ctx, cur); err != nil {
			return domain.Subprocessor{}, err
		}
	}
	state := subprocessorToState(next)
	fence := historyDoc{
		ID:             historyID(next.ID, next.Version),
		SubprocessorID: next.ID,
		Version:        next.Version,
		Time:           next.UpdateTime,
		Snapshot:       state,
	}
	if _, err := s.history.InsertOne(ctx, fence); err != nil {
		if !mongox.IsDuplicateKey(err) {
			return domain.Subprocessor{}, fmt.Errorf("fence subprocessor %s: %w", next.ID, err)
		}
		var won historyDoc
		if err := s.history.FindOne(ctx, bson.D{{Key: "_id", Value: fence.ID}}).Decode(&won); err != nil {
			return domain.Subprocessor{}, fmt.Errorf("read subprocessor fence %s: %w", fence.ID, err)
		}
		if err := s.applySubprocessorState(ctx, next.ID, won.Snapshot, from); err != nil {
			return domain.Subprocessor{}, err
		}
		return domain.Subprocessor{}, fmt.Errorf("subprocessor %s: %w", next.ID, apperr.ErrConflict)
	}
	if err := s.applySubprocessorState(ctx, next.ID, state, from); err != nil {
		return domain.Subprocessor{}, err
	}
	return s.GetSubprocessor(ctx, next.ID)
}

// applySubprocessorState writes state over subprocessor id if it is still
// at version from.
func (s *Store) applySubprocessorState(ctx context.Context, id string, state subprocessorState, from int64) error {
	set := bson.D{
		{Key: "legal_name", Value: state.LegalName},
		{Key: "country", Value: state.Country},
		{Key: "purpose", Value: state.Purpose},
		{Key: "products", Value: state.Products},
		{Key: "data_categories", Value: state.DataCategories},
		{Key: "transfer_mechanism", Value: state.TransferMechanism},
		{Key: "status", Value: state.Status},
		{Key: "update_time", Value: state.UpdateTime},
		{Key: "version", Value: state.Version},
		{Key: "history_pending", Value: false},
	}
	update := bson.D{{Key: "$set", Value: set}}
	if state.AgreementTime != nil {
		set = append(set, bson.E{Key: "agreement_time", Value: *state.AgreementTime})
		update = bson.D{{Key: "$set", Value: set}}
	} else {
		update = append(update, bson.E{Key: "$unset", Value: bson.D{{Key: "agreement_time", Value: ""}}})
	}
	if _, err := s.subprocs.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "version", Value: from}}, update); err != nil {
		return fmt.Errorf("update subprocessor %s: %w", id, err)
	}
	return nil
}

func historyID(id string, version int64) string { return id + "@v" + strconv.FormatInt(version, 10) }

// AllSubprocessorVersions implements domain.SubprocessorStore.
func (s *Store) AllSubprocessorVersions(ctx context.Context) ([]domain.SubprocessorVersion, error) {
	docs, err := mongox.FindAll[historyDoc](ctx, s.history, bson.D{},
		options.Find().SetSort(bson.D{{Key: "subprocessor_id", Value: 1}, {Key: "version", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("find subprocessor history: %w", err)
	}
	pending, err := mongox.FindAll[subprocessorDoc](ctx, s.subprocs, bson.D{{Key: "history_pending", Value: true}})
	if err != nil {
		return nil, fmt.Errorf("find subprocessors with pending history: %w", err)
	}
	out := make([]domain.SubprocessorVersion, 0, len(docs)+len(pending))
	latest := make(map[string]int64, len(docs))
	for _, d := range docs {
		out = append(out, domain.SubprocessorVersion{Version: d.Version, Time: utc(d.Time), Snapshot: d.Snapshot.toDomain(d.SubprocessorID)})
		latest[d.SubprocessorID] = max(latest[d.SubprocessorID], d.Version)
	}
	for _, d := range pending {
		if d.State.Version > latest[d.ID] {
			out = append(out, domain.SubprocessorVersion{Version: d.State.Version, Time: utc(d.State.UpdateTime), Snapshot: d.toDomain()})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Snapshot.ID != out[j].Snapshot.ID {
			return out[i].Snapshot.ID < out[j].Snapshot.ID
		}
		return out[i].Version < out[j].Version
	})
	return out, nil
}

// registryVersionID is the _id of the one counter document in registry_meta.
const registryVersionID = "registry_version"

// RegistryVersion implements domain.SubprocessorStore: one read by _id.
func (s *Store) RegistryVersion(ctx context.Context) (int64, error) {
	var doc struct {
		Version int64 `bson:"version"`
	}
	err := s.meta.FindOne(ctx, bson.D{{Key: "_id", Value: registryVersionID}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read registry version: %w", err)
	}
	return doc.Version, nil
}

// BumpRegistryVersion implements domain.SubprocessorStore. Two racing bumps
// may land as one increment on FerretDB (its updates read, then write);
// that is harmless here, because each writer's data write precedes its
// bump, so whoever reads the bumped value also reads both writes.
func (s *Store) BumpRegistryVersion(ctx context.Context) error {
	_, err := s.meta.UpdateOne(ctx, bson.D{{Key: "_id", Value: registryVersionID}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "version", Value: int64(1)}}}},
		options.UpdateOne().SetUpsert(true))
	if mongox.IsDuplicateKey(err) {
		// Two first bumps raced on the upsert; one created the document.
		_, err = s.meta.UpdateOne(ctx, bson.D{{Key: "_id", Value: registryVersionID}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: "version", Value: int64(1)}}}})
	}
	if err != nil {
		return fmt.Errorf("bump registry version: %w", err)
	}
	return nil
}
