package store_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

func TestArtifacts(t *testing.T) {
	t.Parallel()
	t.Run("method=PutArtifact/case=first_content_wins_across_racing_workers", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		a := domain.Artifact{CampaignID: "cmp_a", Name: "v1-letters-001.pdf", Version: 1, Kind: domain.KindLetters, ContentType: "application/pdf", CreateTime: created}
		big := bytes.Repeat([]byte("%PDF-1.3 letters "), 40000) // > one GridFS chunk
		var wg sync.WaitGroup
		got := make([]domain.Artifact, 4)
		for i := range got {
			wg.Go(func() {
				b := append([]byte{byte('0' + i)}, big...)
				x := a
				x.SHA256, x.Size = string(rune('0'+i)), int64(len(b))
				var err error
				if got[i], err = s.PutArtifact(t.Context(), x, b); err != nil {
					t.Errorf("PutArtifact: %v", err)
				}
			})
		}
		wg.Wait()
		stored, content, err := s.GetArtifact(t.Context(), "cmp_a", a.Name)
		if err != nil {
			t.Fatalf("GetArtifact: %v", err)
		}
		if int64(len(content)) != stored.Size || content[0] != stored.SHA256[0] || !bytes.Equal(content[1:], big) {
			t.Fatalf("stored content does not belong to the stored record %q", stored.SHA256)
		}
		for _, g := range got {
			if g.SHA256 != stored.SHA256 {
				t.Fatalf("a put returned %q, but %q is stored", g.SHA256, stored.SHA256)
			}
		}
	})
	t.Run("method=ListArtifacts/case=by_name_within_the_campaign", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, n := range []string{"v1-b.zip", "v1-a.zip"} {
			if _, err := s.PutArtifact(t.Context(), domain.Artifact{CampaignID: "cmp_l", Name: n, CreateTime: created}, []byte(n)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.PutArtifact(t.Context(), domain.Artifact{CampaignID: "cmp_other", Name: "v1-c.zip", CreateTime: created}, nil); err != nil {
			t.Fatal(err)
		}
		as, err := s.ListArtifacts(t.Context(), "cmp_l")
		if err != nil || len(as) != 2 || as[0].Name != "v1-a.zip" || as[1].Name != "v1-b.zip" {
			t.Fatalf("ListArtifacts = %+v, %v; want a then b", as, err)
		}
		if _, _, err := s.GetArtifact(t.Context(), "cmp_l", "v1-c.zip"); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("GetArtifact of another campaign's file = %v, want not found", err)
		}
	})
	t.Run("method=InsertBounce/case=request_id_records_once", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		b := domain.BounceRecord{RequestID: "b1", CampaignID: "cmp_b", Version: 1, RecipientKey: "k", Type: domain.BounceHard, Diagnostic: "550", Time: created}
		for range 2 {
			got, err := s.InsertBounce(t.Context(), b)
			if err != nil || got != b {
				t.Fatalf("InsertBounce = %+v, %v; want %+v", got, err, b)
			}
		}
		other := b
		other.RequestID, other.Type = "b2", domain.BounceSoft
		if _, err := s.InsertBounce(t.Context(), other); err != nil {
			t.Fatal(err)
		}
		bs, err := s.ListBounces(t.Context(), "cmp_b")
		if err != nil || len(bs) != 2 {
			t.Fatalf("ListBounces = %+v, %v; want 2", bs, err)
		}
	})
	t.Run("method=FinishFallback/case=leaves_pending", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		f := domain.Fallback{ID: "cmp_f@v1#k", CampaignID: "cmp_f", Version: 1, ChunkID: "cmp_f#r1", Index: 3, RecipientKey: "k", CreateTime: created}
		for range 2 {
			if err := s.InsertFallback(t.Context(), f); err != nil {
				t.Fatal(err)
			}
		}
		p, err := s.PendingFallbacks(t.Context(), 10)
		if err != nil || len(p) != 1 || p[0] != f {
			t.Fatalf("PendingFallbacks = %+v, %v; want %+v", p, err, f)
		}
		if err := s.FinishFallback(t.Context(), f.ID, "v1-fallback-k.pdf", ""); err != nil {
			t.Fatal(err)
		}
		if p, _ := s.PendingFallbacks(t.Context(), 10); len(p) != 0 {
			t.Fatalf("still pending: %+v", p)
		}
		l, err := s.ListFallbacks(t.Context(), "cmp_f")
		if err != nil || len(l) != 1 || l[0].Artifact != "v1-fallback-k.pdf" {
			t.Fatalf("ListFallbacks = %+v, %v", l, err)
		}
	})
}
