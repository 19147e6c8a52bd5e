package channel

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// SignatureHeader carries a webhook's signature:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>". Receivers
// recompute it and reject stale timestamps, which defeats replays.
const SignatureHeader = "Breachline-Signature"

// Webhook posts each notice as JSON to the recipient's URL, signed with
// HMAC-SHA256 over the timestamp and the body. An endpoint listed in
// Endpoints is signed with its own secrets (each active secret gives one
// v1= signature, so a receiver rotating its secret accepts either);
// others with Secret.
type Webhook struct {
	Secret    []byte
	Endpoints *Endpoints
	Client    *http.Client
	Now       func() time.Time
}

var _ domain.Transport = Webhook{}

// WebhookPayload is the JSON body of a webhook notice.
type WebhookPayload struct {
	CampaignID   string `json:"campaign_id"`
	Version      int64  `json:"version"`
	RecipientKey string `json:"recipient_key"`
	Subject      string `json:"subject"`
	Body         string `json:"body"`
}

// Open implements domain.Transport.
func (w Webhook) Open(context.Context) (domain.Session, error) {
	if len(w.Secret) == 0 && w.Endpoints.Len() == 0 {
		return nil, &domain.PermanentError{Err: errors.New("neither WEBHOOK_SECRET nor WEBHOOK_ENDPOINTS is configured")}
	}
	return w, nil
}

// Sign returns the signature header value for body at t: one v1= entry per
// secret, in order.
func Sign(secret, body []byte, t time.Time, more ...[]byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	out := "t=" + ts
	for _, s := range append([][]byte{secret}, more...) {
		m := hmac.New(sha256.New, s)
		m.Write([]byte(ts))
		m.Write([]byte("."))
		m.Write(body)
		out += ",v1=" + hex.EncodeToString(m.Sum(nil))
	}
	return out
}

// secrets returns the signing secrets for url.
func (w Webhook) secrets(url string) ([][]byte, error) {
	if ss, ok, err := w.Endpoints.For(url); ok || err != nil {
		return ss, err
	}
	if len(w.Secret) == 0 {
		return nil, errors.New("no webhook secret for this endpoint")
	}
	return [][]byte{w.Secret}, nil
}

// Send implements domain.Session. 2xx is delivered; 4xx other than 408 and
// 429 is permanent; everything else is retried.
func (w Webhook) Send(ctx context.Context, m domain.Message) error {
	body, err := json.Marshal(WebhookPayload{CampaignID: m.CampaignID, Version: m.Version, RecipientKey: m.RecipientKey, Subject: m.Subject, Body: m.Body})
	if err != nil {
		return &domain.PermanentError{Err: err}
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.To, bytes.NewReader(body))
	if err != nil {
		return &domain.PermanentError{Err: err}
	}
	secrets, err := w.secrets(m.To)
	if err != nil {
		return &domain.PermanentError{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(secrets[0], body, now(), secrets[1:]...))
	req.Header.Set("Idempotency-Key", domain.WebhookKey(m.CampaignID, m.Version, m.RecipientKey))
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		return &domain.PermanentError{Err: fmt.Errorf("webhook answered %d", resp.StatusCode)}
	default:
		return fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
}

// Close implements domain.Session.
func (Webhook) Close() error { return nil }
