package domain

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/breachline/breachline/pkg/apperr"
)

// DeliveryStatus is where one recipient's delivery is. The values equal
// the numbers of breachline.dispatch.v1.DeliveryStatus.
type DeliveryStatus int

// Delivery statuses, in proto order.
const (
	DeliveryAny DeliveryStatus = iota
	DeliveryQueued
	DeliverySent
	DeliveryFailed
	DeliveryBounced
	// DeliverySkipped: not sent because the address hard-bounced on an
	// earlier version of the campaign.
	DeliverySkipped
)

// Delivery is one recipient's delivery of one campaign version, derived
// from the recipient chunk, the unit's checkpoints, bounces and fallbacks.
type Delivery struct {
	RecipientKey, Name, Address, Jurisdiction string
	Channel                                   Channel
	Version                                   int64
	Status                                    DeliveryStatus
	Attempts                                  int
	Outcome                                   string
	MessageID                                 string
	Provider                                  string
	Bounces                                   []BounceRecord
}

// MessageID is the RFC 5322 Message-ID of a campaign e-mail. It is derived
// from (campaign, version, recipient) so that a bounce names its delivery
// and a receiver can recognise the rare duplicate.
func MessageID(campaignID string, version int64, key string) string {
	return fmt.Sprintf("<%s.v%d.%s@breachline>", campaignID, version, key)
}

// WebhookKey is the Idempotency-Key of a webhook notice.
func WebhookKey(campaignID string, version int64, key string) string {
	return fmt.Sprintf("%s.v%d.%s", campaignID, version, key)
}

// Paging of ListDeliveries.
const (
	DefaultDeliveriesPage = 100
	MaxDeliveriesPage     = 1000
)

// DeliveriesRequest asks for a page of a campaign's deliveries.
type DeliveriesRequest struct {
	CampaignID string
	PageSize   int32
	PageToken  string
	Status     DeliveryStatus
	Channel    Channel
}

// DeliveriesResult is one page.
type DeliveriesResult struct {
	Deliveries    []Delivery
	NextPageToken string
	Version       int64
}

// deliveriesToken is the cursor of ListDeliveries: the last row returned
// (chunk position, recipient index, 0 = the delivery, 1 = its fallback
// letter) and the filters it was made for.
type deliveriesToken struct {
	Pos     int            `json:"p"`
	Index   int            `json:"i"`
	Sub     int            `json:"f"`
	Version int64          `json:"v"`
	Status  DeliveryStatus `json:"s,omitempty"`
	Channel Channel        `json:"c,omitempty"`
}

type row struct {
	pos, index, sub int
	d               Delivery
}

func (r row) after(t deliveriesToken) bool {
	return r.pos > t.Pos || (r.pos == t.Pos && (r.index > t.Index || (r.index == t.Index && r.sub > t.Sub)))
}

// ListDeliveries returns a page of the deliveries of the campaign's sent
// version in recipient order (AIP-158), filtered by status and channel.
func (s *Service) ListDeliveries(ctx context.Context, r DeliveriesRequest) (DeliveriesResult, error) {
	var v apperr.Violations
	size := DefaultDeliveriesPage
	switch {
	case r.PageSize < 0:
		v.Add("page_size", "must not be negative")
	case r.PageSize > MaxDeliveriesPage:
		size = MaxDeliveriesPage
	case r.PageSize > 0:
		size = int(r.PageSize)
	}
	if r.Status < DeliveryAny || r.Status > DeliverySkipped {
		v.Add("status", "unknown value %d", int(r.Status))
	}
	if _, ok := channelCodes[r.Channel]; r.Channel != ChannelUnspecified && !ok {
		v.Add("channel", "unknown value %d", int(r.Channel))
	}
	tok := deliveriesToken{Pos: 0, Index: -1, Sub: 1}
	hasTok := r.PageToken != ""
	if hasTok {
		var err error
		if err = decodeToken(r.PageToken, &tok); err != nil {
			v.Add("page_token", "is not a token returned by a previous page")
		} else if tok.Status != r.Status || tok.Channel != r.Channel {
			v.Add("page_token", "was made for different status or channel filters")
		}
	}
	if err := v.Err(); err != nil {
		return DeliveriesResult{}, err
	}
	c, err := s.campaign(ctx, r.CampaignID)
	if err != nil {
		return DeliveriesResult{}, err
	}
	res := DeliveriesResult{Version: c.SentVersion, Deliveries: []Delivery{}}
	if c.SentVersion == 0 {
		return res, nil
	}
	if hasTok && tok.Version != c.SentVersion {
		return DeliveriesResult{}, apperr.Invalid("page_token", "was made for version %d; the campaign now sends version %d", tok.Version, c.SentVersion)
	}
	ctxt, err := s.deliveryContext(ctx, c.ID)
	if err != nil {
		return DeliveriesResult{}, err
	}
	var out []row
	for pos := max(tok.Pos, 1); pos <= len(c.RecipientChunks) && len(out) <= size; pos++ {
		rows, err := s.unitDeliveries(ctx, c, c.SentVersion, pos, ctxt)
		if err != nil {
			return DeliveriesResult{}, err
		}
		for _, rw := range rows {
			if hasTok && !rw.after(tok) {
				continue
			}
			if (r.Status != DeliveryAny && rw.d.Status != r.Status) || (r.Channel != ChannelUnspecified && rw.d.Channel != r.Channel) {
				continue
			}
			out = append(out, rw)
		}
	}
	if len(out) > size {
		last := out[size-1]
		out = out[:size]
		res.NextPageToken = encodeToken(deliveriesToken{Pos: last.pos, Index: last.index, Sub: last.sub, Version: c.SentVersion, Status: r.Status, Channel: r.Channel})
	}
	for _, rw := range out {
		res.Deliveries = append(res.Deliveries, rw.d)
	}
	return res, nil
}

// deliveryCtx is what the rows of every unit need: the campaign's bounces
// and fallbacks by recipient key.
type deliveryCtx struct {
	bounces   map[string][]BounceRecord
	fallbacks map[string]Fallback
}

func (s *Service) deliveryContext(ctx context.Context, campaignID string) (deliveryCtx, error) {
	bs, err := s.store.ListBounces(ctx, campaignID)
	if err != nil {
		return deliveryCtx{}, err
	}
	fs, err := s.store.ListFallbacks(ctx, campaignID)
	if err != nil {
		return deliveryCtx{}, err
	}
	d := deliveryCtx{bounces: map[string][]BounceRecord{}, fallbacks: map[string]Fallback{}}
	for _, b := range bs {
		key := fmt.Sprintf("%d#%s", b.Version, b.RecipientKey)
		d.bounces[key] = append(d.bounces[key], b)
	}
	for _, f := range fs {
		d.fallbacks[fmt.Sprintf("%d#%s", f.Version, f.RecipientKey)] = f
	}
	return d, nil
}

// unitDeliveries returns the rows of the chunk at position pos (1-based)
// for version.
func (s *Service) unitDeliveries(ctx context.Context, c Campaign, version int64, pos int, dc deliveryCtx) ([]row, error) {
	chunk := c.RecipientChunks[pos-1]
	rs, err := s.store.GetChunk(ctx, chunk)
	if err != nil {
		return nil, err
	}
	cks, err := s.store.Checkpoints(ctx, Unit(chunk, version))
	if err != nil {
		return nil, err
	}
	sent := map[int]bool{}
	failed := map[int]Failure{}
	skipped := map[int]Failure{}
	details := map[int]Detail{}
	var sentIdx []int
	for _, ck := range cks {
		for _, i := range ck.Sent {
			sent[i] = true
			sentIdx = append(sentIdx, i)
		}
		for _, f := range ck.Failed {
			failed[f.Index] = f
		}
		for _, f := range ck.Skipped {
			skipped[f.Index] = f
		}
		for _, d := range ck.Details {
			details[d.Index] = d
		}
	}
	sort.Ints(sentIdx)
	out := make([]row, 0, len(rs))
	for i, r := range rs {
		d := Delivery{RecipientKey: r.Key, Name: r.Name, Address: r.Address, Jurisdiction: r.Jurisdiction, Channel: c.Channel, Version: version, Status: DeliveryQueued}
		if c.Channel == ChannelLetter && r.PostalAddress != "" {
			d.Address = r.PostalAddress
		}
		switch c.Channel {
		case ChannelWebhook:
			d.MessageID = WebhookKey(c.ID, version, r.Key)
		case ChannelLetter:
			d.MessageID = fmt.Sprintf("%s#%d", LettersName(version, pos), slices.Index(sentIdx, i)+1)
		case ChannelRegulatorPacket:
			d.MessageID = PacketName(version, r)
		case ChannelWebsite:
			d.MessageID = NoticePageName(version)
		default:
			d.MessageID = MessageID(c.ID, version, r.Key)
		}
		switch {
		case sent[i]:
			d.Status, d.Attempts, d.Outcome = DeliverySent, 1, sentOutcome[c.Channel]
			if det, ok := details[i]; ok {
				d.Attempts, d.Provider = det.Attempts, det.Provider
			}
		case failed[i].Reason != "":
			f := failed[i]
			d.Status, d.Attempts, d.Outcome = DeliveryFailed, max(f.Attempts, 1), f.Reason
		case skipped[i].Reason != "":
			d.Status, d.Outcome, d.MessageID = DeliverySkipped, skipped[i].Reason, ""
		default:
			d.MessageID = ""
		}
		key := fmt.Sprintf("%d#%s", version, r.Key)
		d.Bounces = dc.bounces[key]
		for _, b := range d.Bounces {
			if b.Type == BounceHard {
				d.Status, d.Outcome = DeliveryBounced, "hard bounce: "+b.Diagnostic
			}
		}
		out = append(out, row{pos: pos, index: i, d: d})
		if f, ok := dc.fallbacks[key]; ok {
			fd := Delivery{RecipientKey: r.Key, Name: r.Name, Address: r.PostalAddress, Jurisdiction: r.Jurisdiction,
				Channel: ChannelLetter, Version: version, Status: DeliveryQueued, Outcome: "fallback letter queued after a hard bounce"}
			switch {
			case f.Artifact != "":
				fd.Status, fd.Attempts, fd.MessageID, fd.Outcome = DeliverySent, 1, f.Artifact+"#1", "fallback letter printed in "+f.Artifact
			case f.Outcome != "":
				fd.Status, fd.Outcome = DeliveryFailed, f.Outcome
			}
			out = append(out, row{pos: pos, index: i, sub: 1, d: fd})
		}
	}
	return out, nil
}

var sentOutcome = map[Channel]string{
	ChannelEmail:           "accepted by the receiving mail server",
	ChannelWebhook:         "accepted by the endpoint (2xx)",
	ChannelLetter:          "printed in the letter batch",
	ChannelRegulatorPacket: "submission packet produced",
	ChannelWebsite:         "covered by the posted notice",
	ChannelMediaRelease:    "release e-mailed to the outlet",
}

func encodeToken(v any) string {
	b, _ := json.Marshal(v) // plain struct: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
