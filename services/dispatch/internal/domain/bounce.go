package domain

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/breachline/breachline/pkg/apperr"
)

// BounceType classifies a bounce report. The values equal the numbers of
// breachline.dispatch.v1.BounceType.
type BounceType int

// Bounce types, in proto order.
const (
	BounceUnspecified BounceType = iota
	BounceHard
	BounceSoft
	BounceComplaint
)

// BounceRecord is one bounce or complaint recorded against a delivery.
type BounceRecord struct {
	RequestID    string
	CampaignID   string
	Version      int64
	RecipientKey string
	Type         BounceType
	Diagnostic   string
	Time         time.Time
}

// Fallback is a printed letter owed in place of a hard-bounced e-mail to
// an individual. ID is "<campaign>@v<version>#<recipient key>", so one
// bounce (or many) queues one letter.
type Fallback struct {
	ID           string
	CampaignID   string
	Version      int64
	ChunkID      string
	Index        int
	RecipientKey string
	CreateTime   time.Time
	// Artifact is the printed letter once made; Outcome says why none
	// will be (e.g. the campaign was edited since).
	Artifact string
	Outcome  string
}

// BounceStore keeps bounces and fallback letters.
type BounceStore interface {
	// InsertBounce stores b unless a bounce with its RequestID exists and
	// returns the stored one.
	InsertBounce(ctx context.Context, b BounceRecord) (BounceRecord, error)
	// ListBounces returns a campaign's bounces, oldest first.
	ListBounces(ctx context.Context, campaignID string) ([]BounceRecord, error)
	// ChunkOf returns the recipient chunk that holds key in the campaign.
	ChunkOf(ctx context.Context, campaignID, key string) (string, bool, error)
	// InsertFallback stores f pending unless it exists.
	InsertFallback(ctx context.Context, f Fallback) error
	// ListFallbacks returns a campaign's fallbacks.
	ListFallbacks(ctx context.Context, campaignID string) ([]Fallback, error)
	// PendingFallbacks returns up to limit fallbacks not yet finished.
	PendingFallbacks(ctx context.Context, limit int) ([]Fallback, error)
	// FinishFallback records the letter made (or why none will be).
	FinishFallback(ctx context.Context, id, artifact, outcome string) error
}

// Limits of RecordBounce.
const (
	MaxDSNBytes      = 256 << 10
	MaxDiagnosticLen = 1000
)

var messageIDRE = regexp.MustCompile(`^<?(` + IDPrefix + `_[0-9a-f]{24})\.v([0-9]{1,9})\.([0-9a-f]{24})@breachline>?$`)

// BounceRequest reports one bounce or complaint.
type BounceRequest struct {
	RequestID  string
	MessageID  string
	Type       BounceType
	Diagnostic string
	DSN        []byte
}

// BounceResult is the delivery after the bounce.
type BounceResult struct {
	CampaignID     string
	Delivery       Delivery
	FallbackQueued bool
}

// RecordBounce records a bounce against the delivery its Message-ID names.
// A hard bounce makes the recipient undeliverable (ListDeliveries shows it
// BOUNCED) and, for an individual with a postal address, queues the same
// approved version as a printed letter.
func (s *Service) RecordBounce(ctx context.Context, r BounceRequest) (BounceResult, error) {
	var v apperr.Violations
	if !requestIDRE.MatchString(r.RequestID) {
		v.Add("request_id", "must be 1 to 128 letters, digits or ._:-")
	}
	if len(r.DSN) > MaxDSNBytes {
		v.Add("dsn", "must be at most %d bytes", MaxDSNBytes)
	} else if len(r.DSN) > 0 {
		d, err := ParseDSN(r.DSN)
		if err != nil {
			v.Add("dsn", "is not a delivery status notification: %v", err)
		}
		if r.MessageID == "" {
			r.MessageID = d.MessageID
		}
		if r.Type == BounceUnspecified {
			r.Type = d.Type
		}
		if r.Diagnostic == "" {
			r.Diagnostic = d.Diagnostic
		}
	}
	if r.Type < BounceUnspecified || r.Type > BounceComplaint {
		v.Add("type", "unknown value %d", int(r.Type))
	} else if r.Type == BounceUnspecified && len(r.DSN) == 0 {
		v.Add("type", "is required without a dsn")
	}
	r.Diagnostic = strings.ToValidUTF8(r.Diagnostic, "?")
	if n := utf8.RuneCountInString(r.Diagnostic); n > MaxDiagnosticLen {
		r.Diagnostic = string([]rune(r.Diagnostic)[:MaxDiagnosticLen])
	}
	m := messageIDRE.FindStringSubmatch(strings.TrimSpace(r.MessageID))
	switch {
	case r.MessageID == "" && len(r.DSN) == 0:
		v.Add("message_id", "is required without a dsn")
	case r.MessageID == "" && len(r.DSN) > 0 && len(v) == 0:
		v.Add("dsn", "names no message (no Original-Message-ID or returned Message-ID)")
	case r.MessageID != "" && m == nil:
		v.Add("message_id", "is not the Message-ID of a Breachline notice (<cmp_…v<n>.<key>@breachline>)")
	}
	if r.Type == BounceUnspecified && len(r.DSN) > 0 && len(v) == 0 {
		v.Add("dsn", "reports no failed or delayed recipient")
	}
	if err := v.Err(); err != nil {
		return BounceResult{}, err
	}
	version, _ := strconv.ParseInt(m[2], 10, 64)
	c, err := s.campaign(ctx, m[1])
	if err != nil {
		return BounceResult{}, err
	}
	if version < 1 || version > c.SentVersion {
		return BounceResult{}, fmt.Errorf("campaign %s never sent version %d: %w", c.ID, version, apperr.ErrNotFound)
	}
	key := m[3]
	chunk, ok, err := s.store.ChunkOf(ctx, c.ID, key)
	if err != nil {
		return BounceResult{}, err
	}
	if !ok {
		return BounceResult{}, fmt.Errorf("campaign %s has no recipient %s: %w", c.ID, key, apperr.ErrNotFound)
	}
	rs, err := s.store.GetChunk(ctx, chunk)
	if err != nil {
		return BounceResult{}, err
	}
	idx := -1
	for i, rc := range rs {
		if rc.Key == key {
			idx = i
		}
	}
	if idx < 0 {
		return BounceResult{}, fmt.Errorf("campaign %s has no recipient %s: %w", c.ID, key, apperr.ErrNotFound)
	}
	b, err := s.store.InsertBounce(ctx, BounceRecord{
		RequestID: r.RequestID, CampaignID: c.ID, Version: version, RecipientKey: key, Type: r.Type,
		Diagnostic: r.Diagnostic, Time: s.now().UTC().Truncate(time.Millisecond),
	})
	if err != nil {
		return BounceResult{}, err
	}
	if b.CampaignID != c.ID || b.RecipientKey != key || b.Type != r.Type {
		return BounceResult{}, fmt.Errorf("request_id %s recorded another bounce: %w", r.RequestID, apperr.ErrAlreadyExists)
	}
	res := BounceResult{CampaignID: c.ID}
	if b.Type == BounceHard && (c.Channel == ChannelEmail || c.Channel == ChannelWebhook) && c.Obligation.Audience == AudienceIndividuals && strings.TrimSpace(rs[idx].PostalAddress) != "" {
		if err := s.store.InsertFallback(ctx, Fallback{
			ID: fmt.Sprintf("%s@v%d#%s", c.ID, version, key), CampaignID: c.ID, Version: version, ChunkID: chunk, Index: idx,
			RecipientKey: key, CreateTime: b.Time,
		}); err != nil {
			return BounceResult{}, err
		}
		res.FallbackQueued = true
	}
	pos := 0
	for i, ch := range c.RecipientChunks {
		if ch == chunk {
			pos = i + 1
		}
	}
	if pos == 0 {
		return BounceResult{}, fmt.Errorf("campaign %s has no recipient %s: %w", c.ID, key, apperr.ErrNotFound)
	}
	dc, err := s.deliveryContext(ctx, c.ID)
	if err != nil {
		return BounceResult{}, err
	}
	rows, err := s.unitDeliveries(ctx, c, version, pos, dc)
	if err != nil {
		return BounceResult{}, err
	}
	for _, rw := range rows {
		if rw.index == idx && rw.sub == 0 {
			res.Delivery = rw.d
		}
	}
	return res, nil
}

// FallbackStep prints one batch of pending fallback letters. It is a
// worker.Step: several replicas may run it; the artefact's unique name
// makes a letter printed twice stored once.
func (s *Service) FallbackStep(ctx context.Context) (bool, error) {
	fs, err := s.store.PendingFallbacks(ctx, 20)
	if err != nil || len(fs) == 0 {
		return false, err
	}
	progressed := false
	var errs []error
	for _, f := range fs {
		done, err := s.printFallback(ctx, f)
		progressed = progressed || done
		errs = append(errs, err)
	}
	return progressed, errors.Join(errs...)
}

func (s *Service) printFallback(ctx context.Context, f Fallback) (bool, error) {
	c, err := s.campaign(ctx, f.CampaignID)
	if err != nil {
		return false, err
	}
	if c.Version != f.Version {
		// The campaign was edited after the bounced version: printing it
		// now would send text nobody approved for this version.
		return true, s.store.FinishFallback(ctx, f.ID, "", fmt.Sprintf("not printed: the campaign moved on to version %d", c.Version))
	}
	hs, err := s.store.ActiveHolds(ctx, c.IncidentID, c.ID)
	if err != nil || len(hs) > 0 {
		return false, err // held: stays pending until the hold is released
	}
	rs, err := s.store.GetChunk(ctx, f.ChunkID)
	if err != nil {
		return false, err
	}
	if f.Index >= len(rs) || rs[f.Index].Key != f.RecipientKey {
		return true, s.store.FinishFallback(ctx, f.ID, "", "not printed: recipient not found")
	}
	r := rs[f.Index]
	t, ok := s.templates.Resolve(c.TemplateID, c.Obligation.Audience, c.Obligation.Jurisdiction)
	if !ok || s.printer == nil {
		return false, fmt.Errorf("no template or printer for fallback letters of campaign %s", c.ID)
	}
	subj, body, err := t.Render(s.renderData(c, r))
	if err != nil {
		return false, err
	}
	pdf, err := s.printer.Print(s.org, []Letter{{Name: r.Name, Address: r.PostalAddress, Subject: subj, Body: body, Jurisdiction: r.Jurisdiction}})
	if err != nil {
		return false, fmt.Errorf("print fallback letter: %w", err)
	}
	c.SentVersion = f.Version
	name := fmt.Sprintf("v%d-fallback-%s.pdf", f.Version, f.RecipientKey)
	if _, err := s.putArtifact(ctx, c, name, KindFallbackLetter, "application/pdf", "printed letter after a hard bounce", 1, pdf); err != nil {
		return false, err
	}
	return true, s.store.FinishFallback(ctx, f.ID, name, "")
}

// DSN is what RecordBounce takes from a delivery status notification.
type DSN struct {
	MessageID  string
	Type       BounceType
	Diagnostic string
}

// ParseDSN reads a multipart/report delivery status notification (RFC
// 3464) or feedback report (RFC 5965, a complaint): the first failed or
// delayed recipient's Status and Diagnostic-Code, and the Message-ID of
// the returned message (its Original-Message-ID, or the Message-ID of the
// returned headers). The standard library parses MIME well enough; no
// dependency is needed for this much.
func ParseDSN(raw []byte) (DSN, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return DSN{}, err
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["boundary"] == "" {
		return DSN{}, errors.New("not a multipart/report message")
	}
	var d DSN
	complaint := strings.EqualFold(params["report-type"], "feedback-report")
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return DSN{}, err
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch pt {
		case "message/delivery-status", "message/global-delivery-status":
			if err := readStatus(p, &d); err != nil {
				return DSN{}, err
			}
		case "message/feedback-report":
			complaint = true
		case "message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers":
			tp := textproto.NewReader(bufio.NewReader(io.LimitReader(p, MaxDSNBytes)))
			h, _ := tp.ReadMIMEHeader() // headers of the returned message; a truncated body is fine
			if d.MessageID == "" {
				d.MessageID = strings.TrimSpace(h.Get("Message-Id"))
			}
		}
	}
	if complaint {
		d.Type = BounceComplaint
	}
	return d, nil
}

// readStatus reads the per-message and per-recipient field groups of a
// message/delivery-status part.
func readStatus(r io.Reader, d *DSN) error {
	tp := textproto.NewReader(bufio.NewReader(io.LimitReader(r, MaxDSNBytes)))
	for {
		h, err := tp.ReadMIMEHeader()
		if len(h) > 0 {
			if id := h.Get("Original-Message-Id"); id != "" && d.MessageID == "" {
				d.MessageID = strings.TrimSpace(id)
			}
			action := strings.ToLower(strings.TrimSpace(h.Get("Action")))
			status := strings.TrimSpace(h.Get("Status"))
			if d.Type == BounceUnspecified && (action == "failed" || action == "delayed") {
				switch {
				case action == "failed" && strings.HasPrefix(status, "5"):
					d.Type = BounceHard
				default:
					d.Type = BounceSoft
				}
				d.Diagnostic = strings.TrimSpace(h.Get("Diagnostic-Code"))
				if d.Diagnostic == "" {
					d.Diagnostic = status
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
