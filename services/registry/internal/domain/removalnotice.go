package domain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/breachline/breachline/pkg/mongox"
)

// Notice is a one-off e-mail to a customer, sent by dispatch.
type Notice struct {
	// RequestID is dispatch's idempotency key: the same key never sends
	// twice.
	RequestID  string
	To         string
	Subject    string
	Body       string
	Kind       string
	CustomerID string
}

// Notifier hands notices to dispatch. SendNotice returns dispatch's notice
// id once dispatch has stored the notice for delivery.
type Notifier interface {
	SendNotice(ctx context.Context, n Notice) (string, error)
}

// WithNotifier makes the removal-notice worker tell customers through n.
func WithNotifier(n Notifier) Option {
	return func(s *Service) { s.notifier = n }
}

// Removal-notice worker tuning.
const (
	removalNoticeKind    = "sensitive-data-removal"
	removalNoticeRetry   = time.Second
	removalNoticeMaxWait = 5 * time.Minute
)

// RemovalNoticeRequestID is the dispatch idempotency key of the e-mail
// telling the customer about removal request id.
func RemovalNoticeRequestID(id string) string { return "removal-notice:" + id }

// sensitiveNames are the words the e-mail uses for each type.
var sensitiveNames = map[SensitiveType]string{
	SensitiveSSN:             "Social Security numbers",
	SensitivePaymentCard:     "credit or debit card numbers",
	SensitiveBankAccount:     "bank account numbers",
	SensitiveRoutingNumber:   "bank routing numbers",
	SensitiveIBAN:            "IBANs (bank account numbers)",
	SensitiveMedicalRecord:   "medical record numbers (HIPAA-protected information)",
	SensitiveHealthInsurance: "health insurance identifiers (HIPAA-protected information)",
	SensitiveProviderID:      "health care provider identifiers (HIPAA-protected information)",
}

// RemovalNotice is the e-mail telling the customer of r what kind of
// prohibited data was found and where (never the values), that it must be
// removed and not stored, and when we remove it ourselves.
func RemovalNotice(r RemovalRequest) Notice {
	kinds := make([]string, 0, len(r.FoundTypes))
	for _, t := range r.FoundTypes {
		kinds = append(kinds, sensitiveNames[t])
	}
	deadline := r.Deadline.UTC().Format("2006-01-02 15:04 MST")
	var b strings.Builder
	fmt.Fprintf(&b, "Our systems found data in your account (%s) that our hosted service must not store:\n\n", r.CustomerID)
	fmt.Fprintf(&b, "  Kind of data: %s\n", strings.Join(kinds, "; "))
	fmt.Fprintf(&b, "  Where: %s\n", r.Location)
	if r.FindingCount > 0 {
		fmt.Fprintf(&b, "  Findings: %d\n", r.FindingCount)
	}
	fmt.Fprintf(&b, "  Reference: %s\n\n", r.ID)
	b.WriteString("Our terms do not allow Social Security numbers, HIPAA-protected information, bank account\n" +
		"numbers or credit/debit card numbers to be stored in our systems. This information is to be\n" +
		"removed and must not be stored in our systems again.\n\n")
	fmt.Fprintf(&b, "Please remove it by %s. If it is still there after that deadline, we will remove it ourselves.\n", deadline)
	b.WriteString("\nThis message names only the kind and location of the data, never the data itself.\n")
	return Notice{
		RequestID:  RemovalNoticeRequestID(r.ID),
		To:         r.NotificationEmail,
		Subject:    "Action required: remove prohibited sensitive data by " + r.Deadline.UTC().Format("2006-01-02"),
		Body:       b.String(),
		Kind:       removalNoticeKind,
		CustomerID: r.CustomerID,
	}
}

// NotifyRemovalCustomers returns the removal-notice worker step: it leases
// one request whose customer is still to be told, asks dispatch to e-mail
// the customer (idempotent on the request's key, so a step that dies after
// dispatch accepted the notice sends nothing twice), then records
// NotifyTime and clears NotifyCustomerPending with a version-fenced change.
// When dispatch is down the request stays pending and is retried with
// backoff. A request removed before the customer was told needs no e-mail.
func (s *Service) NotifyRemovalCustomers(owner string) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		if s.notifier == nil {
			return false, nil
		}
		now := s.now()
		r, attempts, ok, err := s.store.ClaimRemovalNotice(ctx, owner, now, s.relayLease)
		if err != nil || !ok {
			return false, err
		}
		noticeID := ""
		if r.Removal == nil {
			noticeID, err = s.notifier.SendNotice(ctx, RemovalNotice(r))
			if err != nil {
				next := now.Add(mongox.Backoff(attempts, removalNoticeRetry, removalNoticeMaxWait))
				return true, fmt.Errorf("notify customer of removal request %s: %w", r.ID,
					errors.Join(err, s.store.RetryRemovalNotice(ctx, r.ID, owner, next)))
			}
		}
		_, err = s.transition(ctx, r.ID, func(cur RemovalRequest) (RemovalRequest, bool, error) {
			if !cur.NotifyCustomerPending {
				return cur, false, nil
			}
			next := cur
			next.NotifyCustomerPending = false
			if noticeID != "" {
				next.NotifyTime = s.now()
				next.NoticeID = noticeID
			}
			next.UpdateTime = s.now()
			return next, true, nil
		})
		if err != nil {
			return true, fmt.Errorf("record notice of removal request %s: %w", r.ID, err)
		}
		return true, nil
	}
}
