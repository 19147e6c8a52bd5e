package domain

import (
	"context"
	"fmt"
)

// hardBounced returns the recipients of c whose address hard-bounced on an
// earlier version than the one being sent, by recipient key (the first
// such bounce). A later version is not sent to them: the address is known
// not to accept mail, and a second attempt would only bounce again (or,
// worse, reach whoever takes over the address). Version 1 has no earlier
// version, so it costs no read.
func (s *Service) hardBounced(ctx context.Context, c Campaign) (map[string]BounceRecord, error) {
	if c.SentVersion <= 1 {
		return nil, nil
	}
	bs, err := s.store.ListBounces(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	out := map[string]BounceRecord{}
	for _, b := range bs {
		if _, seen := out[b.RecipientKey]; !seen && b.Type == BounceHard && b.Version < c.SentVersion {
			out[b.RecipientKey] = b
		}
	}
	return out, nil
}

// skipReason is the outcome recorded for a recipient skipped because of b.
func skipReason(b BounceRecord) string {
	r := fmt.Sprintf("skipped: the address hard-bounced on version %d", b.Version)
	if b.Diagnostic != "" {
		r += " (" + b.Diagnostic + ")"
	}
	return r
}

// countBounced adds to p how many recipients of its version hard-bounced
// (counted in Sent) and derives Delivered.
func (s *Service) countBounced(ctx context.Context, id string, p *Progress) error {
	if p.Version == 0 {
		return nil
	}
	bs, err := s.store.ListBounces(ctx, id)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, b := range bs {
		if b.Type == BounceHard && b.Version == p.Version && !seen[b.RecipientKey] {
			seen[b.RecipientKey] = true
		}
	}
	p.Bounced = min(int64(len(seen)), p.Sent)
	p.Delivered = p.Sent - p.Bounced
	return nil
}
