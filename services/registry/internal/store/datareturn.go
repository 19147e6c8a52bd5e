package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// returnDoc is a data return/deletion request as stored; _id is "drr_...".
type returnDoc struct {
	ID               string           `bson:"_id"`
	CustomerID       string           `bson:"customer_id"`
	Action           string           `bson:"action"`
	Products         []string         `bson:"products"`
	ScopeDescription string           `bson:"scope_description"`
	RequestedBy      string           `bson:"requested_by"`
	RequestTime      time.Time        `bson:"request_time"`
	TerminationTime  *time.Time       `bson:"termination_time,omitempty"`
	Status           string           `bson:"status"`
	Dispositions     []dispositionDoc `bson:"dispositions"`
	Retentions       []retentionDoc   `bson:"retentions"`
	Certificate      *certificateDoc  `bson:"certificate,omitempty"`
	CreateTime       time.Time        `bson:"create_time"`
	UpdateTime       time.Time        `bson:"update_time"`
	Version          int64            `bson:"version"`
	RequestKey       string           `bson:"request_key,omitempty"`
	Fingerprint      string           `bson:"fingerprint,omitempty"`
}

type dispositionDoc struct {
	Kind            string    `bson:"kind"`
	DataDescription string    `bson:"data_description"`
	System          string    `bson:"system,omitempty"`
	Method          string    `bson:"method"`
	RecordCount     int64     `bson:"record_count"`
	DispositionTime time.Time `bson:"disposition_time"`
	Evidence        string    `bson:"evidence,omitempty"`
	ArtefactSHA256  string    `bson:"artefact_sha256,omitempty"`
	RecordTime      time.Time `bson:"record_time"`
	Actor           string    `bson:"actor"`
	RequestID       string    `bson:"request_id,omitempty"`
	Fingerprint     string    `bson:"fingerprint"`
}

type retentionDoc struct {
	DataDescription string     `bson:"data_description"`
	LegalBasis      string     `bson:"legal_basis"`
	RetainUntil     *time.Time `bson:"retain_until,omitempty"`
	RecordTime      time.Time  `bson:"record_time"`
	Actor           string     `bson:"actor"`
	RequestID       string     `bson:"request_id,omitempty"`
	Fingerprint     string     `bson:"fingerprint"`
}

// certificateDoc keeps the signed document as the exact string signed.
type certificateDoc struct {
	ID        string    `bson:"id"`
	Document  string    `bson:"document"`
	Signature string    `bson:"signature"`
	Algorithm string    `bson:"algorithm"`
	PublicKey string    `bson:"public_key"`
	KeyID     string    `bson:"key_id"`
	IssueTime time.Time `bson:"issue_time"`
}

// returnVersionDoc fences one change of a return request (see dsrVersionDoc).
type returnVersionDoc struct {
	ID       string    `bson:"_id"`
	ReturnID string    `bson:"data_return_request_id"`
	Version  int64     `bson:"version"`
	State    returnDoc `bson:"state"`
}

func returnToDoc(r domain.DataReturnRequest) returnDoc {
	d := returnDoc{
		ID: r.ID, CustomerID: r.CustomerID, Action: string(r.Action), Products: orEmpty(r.Products),
		ScopeDescription: r.ScopeDescription, RequestedBy: r.RequestedBy, RequestTime: r.RequestTime,
		TerminationTime: optTime(r.TerminationTime), Status: string(r.Status), Dispositions: []dispositionDoc{},
		Retentions: []retentionDoc{}, CreateTime: r.CreateTime, UpdateTime: r.UpdateTime, Version: r.Version,
	}
	for _, x := range r.Dispositions {
		d.Dispositions = append(d.Dispositions, dispositionDoc{
			Kind: string(x.Kind), DataDescription: x.DataDescription, System: x.System, Method: x.Method,
			RecordCount: x.RecordCount, DispositionTime: x.DispositionTime, Evidence: x.Evidence, ArtefactSHA256: x.ArtefactSHA256,
			RecordTime: x.RecordTime, Actor: x.Actor, RequestID: x.RequestID, Fingerprint: x.Fingerprint,
		})
	}
	for _, x := range r.Retentions {
		d.Retentions = append(d.Retentions, retentionDoc{
			DataDescription: x.DataDescription, LegalBasis: x.LegalBasis, RetainUntil: optTime(x.RetainUntil),
			RecordTime: x.RecordTime, Actor: x.Actor, RequestID: x.RequestID, Fingerprint: x.Fingerprint,
		})
	}
	if c := r.Certificate; c != nil {
		d.Certificate = &certificateDoc{ID: c.ID, Document: c.Document, Signature: c.Signature, Algorithm: c.Algorithm,
			PublicKey: c.PublicKey, KeyID: c.KeyID, IssueTime: c.IssueTime}
	}
	return d
}

func (d returnDoc) toDomain() domain.DataReturnRequest {
	r := domain.DataReturnRequest{
		ID: d.ID, CustomerID: d.CustomerID, Action: domain.ReturnAction(d.Action), Products: nilIfEmpty(d.Products),
		ScopeDescription: d.ScopeDescription, RequestedBy: d.RequestedBy, RequestTime: utc(d.RequestTime),
		TerminationTime: fromOpt(d.TerminationTime), Status: domain.ReturnStatus(d.Status),
		CreateTime: utc(d.CreateTime), UpdateTime: utc(d.UpdateTime), Version: d.Version,
	}
	for _, x := range d.Dispositions {
		r.Dispositions = append(r.Dispositions, domain.DataDisposition{
			Kind: domain.DispositionKind(x.Kind), DataDescription: x.DataDescription, System: x.System, Method: x.Method,
			RecordCount: x.RecordCount, DispositionTime: utc(x.DispositionTime), Evidence: x.Evidence, ArtefactSHA256: x.ArtefactSHA256,
			RecordTime: utc(x.RecordTime), Actor: x.Actor, RequestID: x.RequestID, Fingerprint: x.Fingerprint,
		})
	}
	for _, x := range d.Retentions {
		r.Retentions = append(r.Retentions, domain.DataRetention{
			DataDescription: x.DataDescription, LegalBasis: x.LegalBasis, RetainUntil: fromOpt(x.RetainUntil),
			RecordTime: utc(x.RecordTime), Actor: x.Actor, RequestID: x.RequestID, Fingerprint: x.Fingerprint,
		})
	}
	if c := d.Certificate; c != nil {
		r.Certificate = &domain.DeletionCertificate{ID: c.ID, Document: c.Document, Signature: c.Signature, Algorithm: c.Algorithm,
			PublicKey: c.PublicKey, KeyID: c.KeyID, IssueTime: utc(c.IssueTime)}
	}
	return r
}

// CreateDataReturnRequest implements domain.DataReturnStore.
func (s *Store) CreateDataReturnRequest(ctx context.Context, r domain.DataReturnRequest, idem domain.Idempotency) (domain.DataReturnRequest, error) {
	doc := returnToDoc(r)
	doc.RequestKey = requestKey(idem, r.ID)
	doc.Fingerprint = idem.Fingerprint
	doc, err := insertOnce(ctx, s.returns, doc, r.ID, idem)
	if err != nil {
		return domain.DataReturnRequest{}, err
	}
	return doc.toDomain(), nil
}

// GetDataReturnRequest implements domain.DataReturnStore.
func (s *Store) GetDataReturnRequest(ctx context.Context, id string) (domain.DataReturnRequest, error) {
	doc, err := findByID[returnDoc](ctx, s.returns, id, "data return request")
	if err != nil {
		return domain.DataReturnRequest{}, err
	}
	return doc.toDomain(), nil
}

// ListDataReturnRequests implements domain.DataReturnStore.
func (s *Store) ListDataReturnRequests(ctx context.Context, q domain.DataReturnQuery) ([]domain.DataReturnRequest, error) {
	filter := bson.D{}
	if q.CustomerID != "" {
		filter = append(filter, bson.E{Key: "customer_id", Value: q.CustomerID})
	}
	if q.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: string(q.Status)})
	}
	filter = append(filter, timeRange("create_time", q.CreatedFrom, q.CreatedTo)...)
	return findPage(ctx, s.returns, afterFilter(filter, q.After), q.Limit, returnDoc.toDomain)
}

// UpdateDataReturnRequest implements domain.DataReturnStore with the same
// fence-then-apply scheme as UpdateDataSubjectRequest.
func (s *Store) UpdateDataReturnRequest(ctx context.Context, next domain.DataReturnRequest, from int64) (domain.DataReturnRequest, error) {
	state := returnToDoc(next)
	fence := returnVersionDoc{ID: fenceID(next.ID, next.Version), ReturnID: next.ID, Version: next.Version, State: state}
	if _, err := s.returnVersions.InsertOne(ctx, fence); err != nil {
		if !mongox.IsDuplicateKey(err) {
			return domain.DataReturnRequest{}, fmt.Errorf("fence data return request %s: %w", next.ID, err)
		}
		var won returnVersionDoc
		if err := s.returnVersions.FindOne(ctx, bson.D{{Key: "_id", Value: fence.ID}}).Decode(&won); err != nil {
			return domain.DataReturnRequest{}, fmt.Errorf("read data return request fence %s: %w", fence.ID, err)
		}
		if err := s.applyReturnVersion(ctx, won.State, from); err != nil {
			return domain.DataReturnRequest{}, err
		}
		return domain.DataReturnRequest{}, fmt.Errorf("data return request %s: %w", next.ID, apperr.ErrConflict)
	}
	if err := s.applyReturnVersion(ctx, state, from); err != nil {
		return domain.DataReturnRequest{}, err
	}
	return s.GetDataReturnRequest(ctx, next.ID)
}

func (s *Store) applyReturnVersion(ctx context.Context, state returnDoc, from int64) error {
	set, err := stateSet(state, "_id", requestKeyField, "fingerprint")
	if err != nil {
		return err
	}
	if _, err := s.returns.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: state.ID}, {Key: "version", Value: from}},
		bson.D{{Key: "$set", Value: set}}); err != nil {
		return fmt.Errorf("update data return request %s: %w", state.ID, err)
	}
	return nil
}

// signingKeyDoc holds the development deletion-certificate key. Production
// sets DELETION_SIGNING_KEY and never writes one.
type signingKeyDoc struct {
	ID         string    `bson:"_id"`
	Seed       []byte    `bson:"seed"`
	CreateTime time.Time `bson:"create_time"`
}

// devSigningKeyID is the _id of the development key.
const devSigningKeyID = "deletion-certificates-dev"

// DevSigningSeed implements domain.DataReturnStore: the first replica to
// start inserts its candidate under a fixed _id; everyone (including it)
// then reads the stored one, so all replicas sign with the same key.
func (s *Store) DevSigningSeed(ctx context.Context, candidate []byte) ([]byte, error) {
	_, err := s.signingKeys.InsertOne(ctx, signingKeyDoc{ID: devSigningKeyID, Seed: candidate, CreateTime: time.Now().UTC()})
	if err != nil && !mongox.IsDuplicateKey(err) {
		return nil, fmt.Errorf("store development signing key: %w", err)
	}
	var doc signingKeyDoc
	if err := s.signingKeys.FindOne(ctx, bson.D{{Key: "_id", Value: devSigningKeyID}}).Decode(&doc); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, fmt.Errorf("development signing key vanished: %w", err)
		}
		return nil, fmt.Errorf("read development signing key: %w", err)
	}
	return doc.Seed, nil
}
