package domain

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongox"
)

// QuarantinePrefix is the id prefix of quarantined payloads.
const QuarantinePrefix = "qpl"

// MaxQuarantinedBytes is how much of a rejected payload the quarantine
// keeps; the rest is cut (QuarantinedPayload.Truncated).
const MaxQuarantinedBytes = 1 << 20

// SiemPayload is one payload given to IngestSiemPayload.
type SiemPayload struct {
	Source string
	Format SiemFormat
	Data   []byte
}

// QuarantinedPayload is a SIEM payload intake rejected, kept for triage.
// Payload may hold personal data: it is stored, never logged.
type QuarantinedPayload struct {
	ID         string
	ReceivedAt time.Time
	Source     string
	Format     SiemFormat
	Payload    []byte
	Size       int64
	Truncated  bool
	Violations []apperr.FieldViolation
	RequestID  string
}

// QuarantinePage is one page of quarantined payloads, newest first.
type QuarantinePage struct {
	Payloads      []QuarantinedPayload
	NextPageToken string
}

// IngestSiemPayload maps a SIEM payload to a signal (MapSiemPayload) and
// reports it as ReportSignal does. A payload that fails — unparsable, a
// field the mapping needs missing, or a mapped signal ValidateSignal
// rejects — is first stored in the quarantine and then answered with an
// *apperr.InvalidError whose message names the quarantined payload id;
// when the quarantine cannot be written the store's error is returned
// instead, so the SIEM retries and nothing is lost.
func (in *Intake) IngestSiemPayload(ctx context.Context, caller Caller, p SiemPayload) (ReportResult, error) {
	now := in.now().UTC().Truncate(time.Millisecond)
	var v apperr.Violations
	if !sourcePattern.MatchString(p.Source) {
		v.Add("source", "must be 1 to 64 characters of lowercase letters, digits, '.', '_' and '-'")
	}
	if len(p.Data) > MaxQuarantinedBytes {
		v.Add("payload", "must be at most %d bytes, is %d", MaxQuarantinedBytes, len(p.Data))
	}
	if len(p.Data) <= MaxQuarantinedBytes {
		s, origin, mv := MapSiemPayload(p.Format, p.Source, p.Data, now)
		v = append(v, mv...)
		if len(v) == 0 {
			err := ValidateSignal(s, now)
			ie, invalid := apperr.AsInvalid(err)
			if !invalid {
				return in.ReportSignal(ctx, caller, s)
			}
			for _, fv := range ie.Violations {
				if from, ok := origin[fv.Field]; ok {
					fv.Field = from
				}
				v = append(v, fv)
			}
		}
	}
	q := newQuarantined(p, now, v, caller.CorrelationID)
	if err := in.store.InsertQuarantined(ctx, q); err != nil {
		return ReportResult{}, fmt.Errorf("quarantine payload: %w", err)
	}
	return ReportResult{}, &apperr.InvalidError{
		Message:    "payload rejected and kept in quarantine as " + q.ID,
		Violations: v,
	}
}

func newQuarantined(p SiemPayload, now time.Time, v apperr.Violations, requestID string) QuarantinedPayload {
	q := QuarantinedPayload{
		ID:         ids.New(QuarantinePrefix),
		ReceivedAt: now,
		Source:     cutRunes(p.Source, 64),
		Format:     p.Format,
		Payload:    p.Data,
		Size:       int64(len(p.Data)),
		Violations: v,
		RequestID:  cutRunes(requestID, 128),
	}
	if len(q.Payload) > MaxQuarantinedBytes {
		q.Payload = q.Payload[:MaxQuarantinedBytes]
		q.Truncated = true
	}
	return q
}

func cutRunes(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// GetQuarantinedPayload returns one quarantined payload.
func (in *Intake) GetQuarantinedPayload(ctx context.Context, id string) (QuarantinedPayload, error) {
	if id == "" {
		return QuarantinedPayload{}, apperr.Invalid("quarantined_payload_id", "is required")
	}
	if !ids.Valid(QuarantinePrefix, id) {
		return QuarantinedPayload{}, apperr.Invalid("quarantined_payload_id", "must be a quarantined payload id such as %q", QuarantinePrefix+"_65f0c2a1b2c3d4e5f6a7b8c9")
	}
	return in.store.GetQuarantined(ctx, id)
}

// ListQuarantinedPayloads returns a page of quarantined payloads, newest
// first (AIP-158 sizes as ListIncidents).
func (in *Intake) ListQuarantinedPayloads(ctx context.Context, pageSize int32, pageToken string) (QuarantinePage, error) {
	size, err := mongox.PageSize(pageSize, DefaultPageSize, MaxPageSize)
	if err != nil {
		return QuarantinePage{}, err
	}
	return in.store.ListQuarantined(ctx, PageRequest{Size: size, Token: pageToken})
}
