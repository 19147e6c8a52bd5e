package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// Artefacts: the metadata document is the commit point, the content is a
// GridFS file (bucket "artifact_files"), which works the same on MongoDB
// and the embedded FerretDB and, unlike a local directory, is shared by
// every replica and covered by the database's backups.
const (
	artifactsColl  = "artifacts" // _id "<campaign>/<name>"
	artifactBucket = "artifact_files"
	bouncesColl    = "bounces"   // _id = request id
	fallbacksColl  = "fallbacks" // _id "<campaign>@v<version>#<recipient key>"
)

type artifactDoc struct {
	ID             string        `bson:"_id"`
	CampaignID     string        `bson:"campaign_id"`
	Name           string        `bson:"name"`
	Version        int64         `bson:"version"`
	Kind           string        `bson:"kind"`
	ContentType    string        `bson:"content_type"`
	Size           int64         `bson:"size"`
	SHA256         string        `bson:"sha256"`
	CreateTime     time.Time     `bson:"create_time"`
	RecipientCount int64         `bson:"recipient_count"`
	Note           string        `bson:"note,omitempty"`
	FileID         bson.ObjectID `bson:"file_id"`
}

func (d artifactDoc) toDomain() domain.Artifact {
	return domain.Artifact{
		CampaignID: d.CampaignID, Name: d.Name, Version: d.Version, Kind: d.Kind, ContentType: d.ContentType,
		Size: d.Size, SHA256: d.SHA256, CreateTime: d.CreateTime.UTC(), RecipientCount: d.RecipientCount, Note: d.Note,
	}
}

func artifactIndexes() []mongo.IndexModel {
	return []mongo.IndexModel{{
		Keys:    bson.D{{Key: "campaign_id", Value: 1}, {Key: "name", Value: 1}},
		Options: options.Index().SetName("campaign_name"),
	}}
}

func (s *Store) artifacts() *mongo.Collection {
	return s.campaigns.Database().Collection(artifactsColl)
}

func (s *Store) bucket() *mongo.GridFSBucket {
	return s.campaigns.Database().GridFSBucket(options.GridFSBucket().SetName(artifactBucket))
}

// PutArtifact implements domain.ArtifactStore: upload the content, then
// insert the metadata under the artefact's unique id. If another worker
// got there first its artefact stands and this upload is deleted; a crash
// between the two steps leaves an unreferenced GridFS file, never a
// half-written artefact.
func (s *Store) PutArtifact(ctx context.Context, a domain.Artifact, content []byte) (domain.Artifact, error) {
	id := a.CampaignID + "/" + a.Name
	if got, _, err := s.getArtifactDoc(ctx, id); err == nil {
		return got.toDomain(), nil
	} else if !errors.Is(err, apperr.ErrNotFound) {
		return domain.Artifact{}, err
	}
	fileID, err := s.bucket().UploadFromStream(ctx, id, bytes.NewReader(content))
	if err != nil {
		return domain.Artifact{}, fmt.Errorf("upload artifact: %w", err)
	}
	d := artifactDoc{
		ID: id, CampaignID: a.CampaignID, Name: a.Name, Version: a.Version, Kind: a.Kind, ContentType: a.ContentType,
		Size: a.Size, SHA256: a.SHA256, CreateTime: a.CreateTime, RecipientCount: a.RecipientCount, Note: a.Note, FileID: fileID,
	}
	if _, err := s.artifacts().InsertOne(ctx, d); err != nil {
		_ = s.bucket().Delete(ctx, fileID)
		if !mongox.IsDuplicateKey(err) {
			return domain.Artifact{}, fmt.Errorf("insert artifact: %w", err)
		}
		got, _, err := s.getArtifactDoc(ctx, id)
		return got.toDomain(), err
	}
	return d.toDomain(), nil
}

func (s *Store) getArtifactDoc(ctx context.Context, id string) (artifactDoc, bool, error) {
	var d artifactDoc
	if err := s.artifacts().FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return artifactDoc{}, false, mongox.NotFound(err, "find artifact")
	}
	return d, true, nil
}

// GetArtifact implements domain.ArtifactStore.
func (s *Store) GetArtifact(ctx context.Context, campaignID, name string) (domain.Artifact, []byte, error) {
	d, _, err := s.getArtifactDoc(ctx, campaignID+"/"+name)
	if err != nil {
		return domain.Artifact{}, nil, err
	}
	var buf bytes.Buffer
	if _, err := s.bucket().DownloadToStream(ctx, d.FileID, &buf); err != nil {
		return domain.Artifact{}, nil, fmt.Errorf("download artifact: %w", err)
	}
	return d.toDomain(), buf.Bytes(), nil
}

// ListArtifacts implements domain.ArtifactStore.
func (s *Store) ListArtifacts(ctx context.Context, campaignID string) ([]domain.Artifact, error) {
	docs, err := mongox.FindAll[artifactDoc](ctx, s.artifacts(), bson.D{{Key: "campaign_id", Value: campaignID}},
		options.Find().SetSort(bson.D{{Key: "name", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list artifacts: %w", err)
	}
	out := make([]domain.Artifact, len(docs))
	for i, d := range docs {
		out[i] = d.toDomain()
	}
	return out, nil
}

type bounceDoc struct {
	ID           string    `bson:"_id"`
	CampaignID   string    `bson:"campaign_id"`
	Version      int64     `bson:"version"`
	RecipientKey string    `bson:"recipient_key"`
	Type         int       `bson:"type"`
	Diagnostic   string    `bson:"diagnostic,omitempty"`
	Time         time.Time `bson:"time"`
}

func (d bounceDoc) toDomain() domain.BounceRecord {
	return domain.BounceRecord{RequestID: d.ID, CampaignID: d.CampaignID, Version: d.Version, RecipientKey: d.RecipientKey,
		Type: domain.BounceType(d.Type), Diagnostic: d.Diagnostic, Time: d.Time.UTC()}
}

func bounceIndexes() []mongo.IndexModel {
	return []mongo.IndexModel{{
		Keys:    bson.D{{Key: "campaign_id", Value: 1}, {Key: "time", Value: 1}},
		Options: options.Index().SetName("campaign_time"),
	}}
}

// InsertBounce implements domain.BounceStore; the request id is the _id,
// so a retried report records nothing more.
func (s *Store) InsertBounce(ctx context.Context, b domain.BounceRecord) (domain.BounceRecord, error) {
	c := s.campaigns.Database().Collection(bouncesColl)
	d := bounceDoc{ID: b.RequestID, CampaignID: b.CampaignID, Version: b.Version, RecipientKey: b.RecipientKey,
		Type: int(b.Type), Diagnostic: b.Diagnostic, Time: b.Time}
	if _, err := c.InsertOne(ctx, d); err != nil {
		if !mongox.IsDuplicateKey(err) {
			return domain.BounceRecord{}, fmt.Errorf("insert bounce: %w", err)
		}
		if err := c.FindOne(ctx, bson.D{{Key: "_id", Value: b.RequestID}}).Decode(&d); err != nil {
			return domain.BounceRecord{}, fmt.Errorf("read bounce: %w", err)
		}
	}
	return d.toDomain(), nil
}

// ListBounces implements domain.BounceStore.
func (s *Store) ListBounces(ctx context.Context, campaignID string) ([]domain.BounceRecord, error) {
	docs, err := mongox.FindAll[bounceDoc](ctx, s.campaigns.Database().Collection(bouncesColl),
		bson.D{{Key: "campaign_id", Value: campaignID}}, options.Find().SetSort(bson.D{{Key: "time", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list bounces: %w", err)
	}
	out := make([]domain.BounceRecord, len(docs))
	for i, d := range docs {
		out[i] = d.toDomain()
	}
	return out, nil
}

// ChunkOf implements domain.BounceStore by reading the recipient key.
func (s *Store) ChunkOf(ctx context.Context, campaignID, key string) (string, bool, error) {
	var d keyDoc
	err := s.keys.FindOne(ctx, bson.D{{Key: "_id", Value: campaignID + "#" + key}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read recipient key: %w", err)
	}
	return d.Chunk, true, nil
}

type fallbackDoc struct {
	ID           string    `bson:"_id"`
	CampaignID   string    `bson:"campaign_id"`
	Version      int64     `bson:"version"`
	ChunkID      string    `bson:"chunk_id"`
	Index        int       `bson:"index"`
	RecipientKey string    `bson:"recipient_key"`
	CreateTime   time.Time `bson:"create_time"`
	Pending      bool      `bson:"pending"`
	Artifact     string    `bson:"artifact,omitempty"`
	Outcome      string    `bson:"outcome,omitempty"`
}

func (d fallbackDoc) toDomain() domain.Fallback {
	return domain.Fallback{ID: d.ID, CampaignID: d.CampaignID, Version: d.Version, ChunkID: d.ChunkID, Index: d.Index,
		RecipientKey: d.RecipientKey, CreateTime: d.CreateTime.UTC(), Artifact: d.Artifact, Outcome: d.Outcome}
}

func fallbackIndexes() []mongo.IndexModel {
	return []mongo.IndexModel{
		{Keys: bson.D{{Key: "pending", Value: 1}, {Key: "create_time", Value: 1}}, Options: options.Index().SetName("pending_create_time")},
		{Keys: bson.D{{Key: "campaign_id", Value: 1}}, Options: options.Index().SetName("campaign_id")},
	}
}

func (s *Store) fallbacks() *mongo.Collection {
	return s.campaigns.Database().Collection(fallbacksColl)
}

// InsertFallback implements domain.BounceStore.
func (s *Store) InsertFallback(ctx context.Context, f domain.Fallback) error {
	_, err := insertFence(ctx, s.fallbacks(), fallbackDoc{ID: f.ID, CampaignID: f.CampaignID, Version: f.Version, ChunkID: f.ChunkID,
		Index: f.Index, RecipientKey: f.RecipientKey, CreateTime: f.CreateTime, Pending: true})
	return err
}

// ListFallbacks implements domain.BounceStore.
func (s *Store) ListFallbacks(ctx context.Context, campaignID string) ([]domain.Fallback, error) {
	return s.findFallbacks(ctx, bson.D{{Key: "campaign_id", Value: campaignID}}, 0)
}

// PendingFallbacks implements domain.BounceStore.
func (s *Store) PendingFallbacks(ctx context.Context, limit int) ([]domain.Fallback, error) {
	return s.findFallbacks(ctx, bson.D{{Key: "pending", Value: true}}, limit)
}

func (s *Store) findFallbacks(ctx context.Context, f bson.D, limit int) ([]domain.Fallback, error) {
	opts := options.Find().SetSort(bson.D{{Key: "create_time", Value: 1}, {Key: "_id", Value: 1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	docs, err := mongox.FindAll[fallbackDoc](ctx, s.fallbacks(), f, opts)
	if err != nil {
		return nil, fmt.Errorf("list fallbacks: %w", err)
	}
	out := make([]domain.Fallback, len(docs))
	for i, d := range docs {
		out[i] = d.toDomain()
	}
	return out, nil
}

// FinishFallback implements domain.BounceStore.
func (s *Store) FinishFallback(ctx context.Context, id, artifact, outcome string) error {
	set := bson.D{{Key: "pending", Value: false}, {Key: "artifact", Value: artifact}}
	if outcome != "" {
		set = append(set, bson.E{Key: "outcome", Value: outcome})
	}
	if _, err := s.fallbacks().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: set}}); err != nil {
		return fmt.Errorf("finish fallback: %w", err)
	}
	return nil
}
