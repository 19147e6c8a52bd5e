package domain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
)

// Artifact is a file a campaign produced: a printable letter batch, a
// regulator submission packet, the website notice page, the media release
// or a fallback letter. Its content lives in the store (GridFS), so every
// replica can serve it and a restart loses nothing; its SHA-256 is recorded
// beside it for the record.
type Artifact struct {
	CampaignID     string
	Name           string
	Version        int64
	Kind           string
	ContentType    string
	Size           int64
	SHA256         string
	CreateTime     time.Time
	RecipientCount int64
	Note           string
}

// Artefact kinds.
const (
	KindLetters         = "letters"
	KindRegulatorPacket = "regulator_packet"
	KindWebsiteNotice   = "website_notice"
	KindMediaRelease    = "media_release"
	KindFallbackLetter  = "fallback_letter"
)

// ArtifactStore keeps artefacts. PutArtifact is insert-only under
// (campaign, name): the first stored content wins and later puts (a worker
// redoing a unit after a crash) return it unchanged.
type ArtifactStore interface {
	PutArtifact(ctx context.Context, a Artifact, content []byte) (Artifact, error)
	// GetArtifact returns the artefact and its content, or an error
	// wrapping apperr.ErrNotFound.
	GetArtifact(ctx context.Context, campaignID, name string) (Artifact, []byte, error)
	// ListArtifacts returns a campaign's artefacts by name.
	ListArtifacts(ctx context.Context, campaignID string) ([]Artifact, error)
}

var artifactNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`)

// putArtifact fingerprints content and stores it as artefact name of c.
func (s *Service) putArtifact(ctx context.Context, c Campaign, name, kind, contentType, note string, recipients int64, content []byte) (Artifact, error) {
	sum := sha256.Sum256(content)
	a := Artifact{
		CampaignID: c.ID, Name: name, Version: c.SentVersion, Kind: kind, ContentType: contentType,
		Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:]), CreateTime: s.now().UTC().Truncate(time.Millisecond),
		RecipientCount: recipients, Note: note,
	}
	got, err := s.store.PutArtifact(ctx, a, content)
	if err != nil {
		return Artifact{}, fmt.Errorf("store artifact %s of campaign %s: %w", name, c.ID, err)
	}
	return got, nil
}

// ListArtifacts returns the artefacts of a campaign.
func (s *Service) ListArtifacts(ctx context.Context, campaignID string) ([]Artifact, error) {
	if _, err := s.GetCampaign(ctx, campaignID); err != nil {
		return nil, err
	}
	return s.store.ListArtifacts(ctx, campaignID)
}

// GetArtifact returns one artefact with its content.
func (s *Service) GetArtifact(ctx context.Context, campaignID, name string) (Artifact, []byte, error) {
	var v apperr.Violations
	if _, err := s.GetCampaign(ctx, campaignID); err != nil {
		return Artifact{}, nil, err
	}
	if !artifactNameRE.MatchString(name) {
		v.Add("name", "must be an artifact name as ListArtifacts returns it")
	}
	if err := v.Err(); err != nil {
		return Artifact{}, nil, err
	}
	a, b, err := s.store.GetArtifact(ctx, campaignID, name)
	if err != nil {
		return Artifact{}, nil, fmt.Errorf("artifact %s of campaign %s: %w", name, campaignID, err)
	}
	return a, b, nil
}
