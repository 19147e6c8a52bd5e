package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

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
	var prev subprocessorDoc
	replayed, err := insertOnce(ctx, s.subprocs, doc, sp.ID, idem, &prev)
	if err != nil {
		return domain.Subprocessor{}, err
	}
	if replayed {
		doc = prev
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
	id := doc.ID + "@v" + strconv.FormatInt(v, 10)
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
	var doc subprocessorDoc
	if err := s.subprocs.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
		return domain.Subprocessor{}, mongox.NotFound(err, "subprocessor "+id)
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
