package domain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/breachline/breachline/pkg/mongox"
)

// DSRForwardRequestID is the dispatch idempotency key of the e-mail
// forwarding data subject request id to the controller.
func DSRForwardRequestID(id string) string { return "dsr-forward:" + id }

// DSRReminderRequestID is the dispatch idempotency key of the reminder that
// request id is due soon.
func DSRReminderRequestID(id string) string { return "dsr-reminder:" + id }

// dsrTypeNames are the words the e-mails use for each right.
var dsrTypeNames = map[DSRType]string{
	DSRAccess:        "access (GDPR Art. 15)",
	DSRRectification: "rectification (GDPR Art. 16)",
	DSRErasure:       "erasure (GDPR Art. 17)",
	DSRRestriction:   "restriction of processing (GDPR Art. 18)",
	DSRPortability:   "data portability (GDPR Art. 20)",
	DSRObjection:     "objection (GDPR Art. 21)",
}

// DSRForwardNotice is the e-mail forwarding d to its controller (DPA 3.1:
// "promptly notify the School"). It carries the data subject's identity and
// request as given: the controller needs them to answer. Dispatch stores it
// like any notice; the registry never logs it.
func DSRForwardNotice(d DataSubjectRequest) Notice {
	var b strings.Builder
	fmt.Fprintf(&b, "We received a request from a data subject whose data we process on your behalf (%s).\n", d.CustomerID)
	b.WriteString("As your processor we forward it to you; you decide how to answer it, and we assist you.\n\n")
	fmt.Fprintf(&b, "  Right exercised: %s\n", dsrTypeNames[d.Type])
	fmt.Fprintf(&b, "  Name as given: %s\n", d.Subject.Name)
	if d.Subject.Email != "" {
		fmt.Fprintf(&b, "  E-mail as given: %s\n", d.Subject.Email)
	}
	if d.Subject.AccountRef != "" {
		fmt.Fprintf(&b, "  Account as given: %s\n", d.Subject.AccountRef)
	}
	fmt.Fprintf(&b, "  Received: %s\n", d.ReceiveTime.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "  Due (one month from receipt, GDPR Art. 12(3)): %s\n", d.DueTime.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "  Reference: %s\n", d.ID)
	if d.Details != "" {
		fmt.Fprintf(&b, "\nThe request as given:\n\n%s\n", d.Details)
	}
	b.WriteString("\nPlease tell us which assistance you need (for example an export or the erasure of the\n" +
		"person's records in our systems), quoting the reference above.\n")
	return Notice{
		RequestID:  DSRForwardRequestID(d.ID),
		To:         d.NotificationEmail,
		Subject:    "Data subject request (" + string(d.Type) + ") received, due " + d.DueTime.UTC().Format("2006-01-02"),
		Body:       b.String(),
		Kind:       dsrForwardKind,
		CustomerID: d.CustomerID,
	}
}

// DSRReminderNotice is the e-mail reminding the controller that d is due
// soon. It names the request by reference only.
func DSRReminderNotice(d DataSubjectRequest) Notice {
	var b strings.Builder
	fmt.Fprintf(&b, "The data subject request %s (%s) that we forwarded to you", d.ID, dsrTypeNames[d.Type])
	if !d.ForwardTime.IsZero() {
		fmt.Fprintf(&b, " on %s", d.ForwardTime.UTC().Format("2006-01-02"))
	}
	fmt.Fprintf(&b, " is due on %s and is still %s.\n\n", d.DueTime.UTC().Format(time.RFC3339), strings.ReplaceAll(string(d.Status), "_", " "))
	b.WriteString("If you need more time, the deadline can be extended by up to two further months when the\n" +
		"request is complex, provided the data subject is told within the first month (GDPR Art. 12(3)).\n")
	return Notice{
		RequestID:  DSRReminderRequestID(d.ID),
		To:         d.NotificationEmail,
		Subject:    "Reminder: data subject request " + d.ID + " due " + d.DueTime.UTC().Format("2006-01-02"),
		Body:       b.String(),
		Kind:       dsrReminderKind,
		CustomerID: d.CustomerID,
	}
}

// ForwardDataSubjectRequests returns the forwarding relay's worker step: it
// leases one request still to be forwarded, asks dispatch to e-mail it to
// the controller's Notification Email Address (idempotent on
// DSRForwardRequestID, so a step that dies after dispatch accepted the
// notice sends nothing twice), then, fenced on the version, records
// ForwardTime and ForwardNoticeID, clears ForwardPending and moves the
// request RECEIVED → FORWARDED. When dispatch is down the request stays
// pending and the lease is extended by mongox.Backoff.
func (s *Service) ForwardDataSubjectRequests(owner string) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		if s.notifier == nil {
			return false, nil
		}
		now := s.now()
		d, attempts, ok, err := s.store.ClaimDSRForward(ctx, owner, now, s.relayLease)
		if err != nil || !ok {
			return false, err
		}
		noticeID, err := s.notifier.SendNotice(ctx, DSRForwardNotice(d))
		if err != nil {
			next := now.Add(mongox.Backoff(attempts, dsrRelayRetry, dsrRelayMaxWait))
			return true, fmt.Errorf("forward data subject request %s: %w", d.ID,
				errors.Join(err, s.store.RetryDSRLease(ctx, d.ID, owner, next)))
		}
		_, err = s.changeDSR(ctx, d.ID, func(cur DataSubjectRequest) (DataSubjectRequest, bool, error) {
			if !cur.ForwardPending {
				return cur, false, nil
			}
			at := s.now()
			cur.ForwardPending = false
			cur.ForwardTime = at
			cur.ForwardNoticeID = noticeID
			if cur.Status == DSRReceived {
				cur.StatusHistory = append(cur.StatusHistory, DSRStatusChange{
					From: DSRReceived, To: DSRForwarded, Reason: "forwarded to the controller's Notification Email Address",
					Time: at, Actor: relayActor, RequestID: DSRForwardRequestID(cur.ID),
				})
				cur.Status = DSRForwarded
			}
			return cur, true, nil
		})
		if err != nil {
			return true, fmt.Errorf("record forwarding of data subject request %s: %w", d.ID, err)
		}
		return true, nil
	}
}

// RemindDueDataSubjectRequests returns the reminder worker's step: it
// leases one forwarded, open request due within window whose reminder has
// not been sent, has dispatch e-mail the controller once (idempotent on
// DSRReminderRequestID) and records ReminderTime and ReminderNoticeID.
func (s *Service) RemindDueDataSubjectRequests(owner string, window time.Duration) func(ctx context.Context) (bool, error) {
	if window <= 0 {
		window = defaultReminderDays * 24 * time.Hour
	}
	return func(ctx context.Context) (bool, error) {
		if s.notifier == nil {
			return false, nil
		}
		now := s.now()
		d, attempts, ok, err := s.store.ClaimDSRReminder(ctx, owner, now, now.Add(window), s.relayLease)
		if err != nil || !ok {
			return false, err
		}
		noticeID, err := s.notifier.SendNotice(ctx, DSRReminderNotice(d))
		if err != nil {
			next := now.Add(mongox.Backoff(attempts, dsrRelayRetry, dsrRelayMaxWait))
			return true, fmt.Errorf("remind of data subject request %s: %w", d.ID,
				errors.Join(err, s.store.RetryDSRLease(ctx, d.ID, owner, next)))
		}
		_, err = s.changeDSR(ctx, d.ID, func(cur DataSubjectRequest) (DataSubjectRequest, bool, error) {
			if cur.ReminderNoticeID != "" {
				return cur, false, nil
			}
			cur.ReminderTime = s.now()
			cur.ReminderNoticeID = noticeID
			return cur, true, nil
		})
		if err != nil {
			return true, fmt.Errorf("record reminder of data subject request %s: %w", d.ID, err)
		}
		return true, nil
	}
}
