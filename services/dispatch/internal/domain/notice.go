package domain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongox"
)

// NoticeStatus is where an operational notice's delivery is.
type NoticeStatus string

// Notice statuses: PENDING until the notice worker has handed the e-mail to
// the transport (SENT) or given up (FAILED).
const (
	NoticePending NoticeStatus = "pending"
	NoticeSent    NoticeStatus = "sent"
	NoticeFailed  NoticeStatus = "failed"
)

// Limits of an operational notice.
const (
	NoticeIDPrefix      = "ntc"
	MaxNoticeSubjectLen = 200
	MaxNoticeBodyBytes  = 20000
	maxNoticeKindLen    = 64
	maxAddressLen       = 254
	// maxNoticeAttempts bounds delivery tries of a transient failure.
	maxNoticeAttempts = 20
	noticeLease       = time.Minute
)

var noticeKindRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Notice is a one-off operational e-mail to one recipient (not a campaign:
// no template, approvals or recipient list). It is stored PENDING before
// SendNotice answers and delivered by the notice worker, so an acknowledged
// notice is sent even if dispatch restarts; its unique RequestID makes a
// retried request return the stored notice instead of sending again.
type Notice struct {
	ID          string
	RequestID   string
	Fingerprint string
	Kind        string
	To          string
	Subject     string
	Body        string
	IncidentID  string
	CustomerID  string
	Status      NoticeStatus
	CreateTime  time.Time
	SendTime    time.Time
	Attempts    int
	// LastError is the last delivery error (kept for operators, not shown).
	LastError string
}

// NoticeStore keeps operational notices.
type NoticeStore interface {
	// CreateNotice inserts n unless a notice with its RequestID exists, and
	// returns the stored notice (the earlier one when there was one).
	CreateNotice(ctx context.Context, n Notice) (Notice, error)
	// GetNotice returns one notice or an error wrapping apperr.ErrNotFound.
	GetNotice(ctx context.Context, id string) (Notice, error)
	// ClaimNotice leases one due PENDING notice to owner (a mongox.Queue
	// claim); the notice's Attempts is which claim this is.
	ClaimNotice(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (Notice, bool, error)
	// FinishNotice records the final status of a notice owner holds.
	FinishNotice(ctx context.Context, id, owner string, status NoticeStatus, at time.Time, lastErr string) error
	// RetryNotice releases a notice owner holds to be tried again at next.
	RetryNotice(ctx context.Context, id, owner string, next time.Time, lastErr string) error
}

// SendNoticeParams are the inputs of SendNotice.
type SendNoticeParams struct {
	RequestID, To, Subject, Body, Kind string
	IncidentID, CustomerID             string
}

// Validate reports every problem of the input (pure).
func (p SendNoticeParams) Validate() error {
	var v apperr.Violations
	switch {
	case p.RequestID == "":
		v.Add("request_id", "is required")
	case len(p.RequestID) > MaxIDLen || !utf8.ValidString(p.RequestID) || strings.ContainsFunc(p.RequestID, isControl):
		v.Add("request_id", "must be at most %d printable characters", MaxIDLen)
	}
	switch a, err := mail.ParseAddress(p.To); {
	case p.To == "":
		v.Add("to", "is required")
	case len(p.To) > maxAddressLen || err != nil || a.Address != p.To:
		v.Add("to", "must be a plain e-mail address (name@example.org)")
	}
	switch {
	case strings.TrimSpace(p.Subject) == "":
		v.Add("subject", "is required")
	case utf8.RuneCountInString(p.Subject) > MaxNoticeSubjectLen || !utf8.ValidString(p.Subject) || strings.ContainsFunc(p.Subject, isControl):
		v.Add("subject", "must be one line of at most %d characters", MaxNoticeSubjectLen)
	}
	switch {
	case strings.TrimSpace(p.Body) == "":
		v.Add("body", "is required")
	case len(p.Body) > MaxNoticeBodyBytes || !utf8.ValidString(p.Body):
		v.Add("body", "must be UTF-8 text of at most %d bytes", MaxNoticeBodyBytes)
	}
	switch {
	case p.Kind == "":
		v.Add("kind", "is required")
	case len(p.Kind) > maxNoticeKindLen || !noticeKindRE.MatchString(p.Kind):
		v.Add("kind", "must be lowercase letters, digits and single dashes, at most %d characters", maxNoticeKindLen)
	}
	for _, f := range [...]struct{ name, val string }{{"incident_id", p.IncidentID}, {"customer_id", p.CustomerID}} {
		if len(f.val) > MaxIDLen || !utf8.ValidString(f.val) || strings.ContainsFunc(f.val, isControl) {
			v.Add(f.name, "must be at most %d printable characters", MaxIDLen)
		}
	}
	return v.Err()
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// fingerprint identifies the content of a request, so a key reused with
// other content is told apart from a retry.
func (p SendNoticeParams) fingerprint() string {
	h := sha256.New()
	for _, f := range []string{p.Kind, p.To, p.Subject, p.Body, p.IncidentID, p.CustomerID} {
		_, _ = fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Notices sends operational notices through the e-mail transport.
type Notices struct {
	store NoticeStore
	email Transport
	now   func() time.Time
	lease time.Duration
}

// WithLease sets how long a replica holds a claimed notice before another
// may deliver it (default one minute): a replica that dies mid-delivery
// delays its notice by at most this long.
func (n *Notices) WithLease(d time.Duration) *Notices {
	if d > 0 {
		n.lease = d
	}
	return n
}

// NewNotices returns the notice service over store, delivering through
// email (the outbox's e-mail transport).
func NewNotices(store NoticeStore, email Transport, now func() time.Time) *Notices {
	return &Notices{store: store, email: email, now: now, lease: noticeLease}
}

// Send stores a PENDING notice (or returns the one stored earlier under the
// same request id; ALREADY_EXISTS when that one has other content).
func (n *Notices) Send(ctx context.Context, p SendNoticeParams) (Notice, error) {
	if err := p.Validate(); err != nil {
		return Notice{}, err
	}
	in := Notice{
		ID: ids.New(NoticeIDPrefix), RequestID: p.RequestID, Fingerprint: p.fingerprint(),
		Kind: p.Kind, To: p.To, Subject: p.Subject, Body: p.Body, IncidentID: p.IncidentID, CustomerID: p.CustomerID,
		Status: NoticePending, CreateTime: n.now().UTC().Truncate(time.Millisecond),
	}
	out, err := n.store.CreateNotice(ctx, in)
	if err != nil {
		return Notice{}, fmt.Errorf("store notice: %w", err)
	}
	if out.Fingerprint != in.Fingerprint {
		return Notice{}, fmt.Errorf("request_id was used for another notice: %w", apperr.ErrAlreadyExists)
	}
	return out, nil
}

// Get returns one notice.
func (n *Notices) Get(ctx context.Context, id string) (Notice, error) {
	if !ids.Valid(NoticeIDPrefix, id) {
		return Notice{}, apperr.Invalid("notice_id", "is not a notice id")
	}
	return n.store.GetNotice(ctx, id)
}

// Step is the notice worker (a worker.Step): it delivers one due PENDING
// notice and reports whether it found one. A transient failure is retried
// with backoff; a permanent one (an SMTP 5xx) or too many attempts make
// the notice FAILED. A worker that dies after sending but before marking
// the notice SENT leaves it to be sent again when the lease ends: its
// Message-ID is the same, so the receiver can spot the duplicate.
func (n *Notices) Step(owner string) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		now := n.now().UTC()
		c, ok, err := n.store.ClaimNotice(ctx, owner, now, n.lease)
		if err != nil || !ok {
			return false, err
		}
		sendErr := n.deliver(ctx, c)
		done := n.now().UTC()
		var perm *PermanentError
		switch {
		case sendErr == nil:
			return true, n.store.FinishNotice(ctx, c.ID, owner, NoticeSent, done, "")
		case errors.As(sendErr, &perm) || c.Attempts >= maxNoticeAttempts:
			return true, errors.Join(fmt.Errorf("notice %s failed: %w", c.ID, sendErr),
				n.store.FinishNotice(ctx, c.ID, owner, NoticeFailed, done, sendErr.Error()))
		default:
			next := done.Add(mongox.Backoff(c.Attempts, time.Second, 5*time.Minute))
			return true, errors.Join(fmt.Errorf("send notice %s: %w", c.ID, sendErr),
				n.store.RetryNotice(ctx, c.ID, owner, next, sendErr.Error()))
		}
	}
}

func (n *Notices) deliver(ctx context.Context, c Notice) error {
	s, err := n.email.Open(ctx)
	if err != nil {
		return err
	}
	// A failed QUIT after an accepted message is no reason to send again.
	defer func() { _ = s.Close() }()
	return s.Send(ctx, Message{CampaignID: c.ID, Version: 1, RecipientKey: "notice", To: c.To, Subject: c.Subject, Body: c.Body})
}
