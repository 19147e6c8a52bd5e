package domain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/breachline/breachline/pkg/mongox"
)

// SensitiveType is a kind of data the hosted service must not store (the
// hosted-service policy). The values match the registry's
// SensitiveDataRemovalService types.
type SensitiveType string

// Sensitive data types.
const (
	SensitiveSSN             SensitiveType = "ssn"
	SensitivePaymentCard     SensitiveType = "payment_card"
	SensitiveBankAccount     SensitiveType = "bank_account"
	SensitiveRoutingNumber   SensitiveType = "routing_number"
	SensitiveIBAN            SensitiveType = "iban"
	SensitiveMedicalRecord   SensitiveType = "medical_record_number"
	SensitiveHealthInsurance SensitiveType = "health_insurance_id"
	SensitiveProviderID      SensitiveType = "provider_id"
)

// RemovalHandover is a removal request that classification owes the
// registry: a scan of a customer's content found data the customer must not
// store with us. It is kept until the registry has accepted it. It never
// holds the data: only its kinds, how many findings, and where.
type RemovalHandover struct {
	// ID is HandoverID(CustomerID, Location, Types); it is also the
	// registry request's request_id, so a repeated hand-over opens one
	// removal request.
	ID           string
	CustomerID   string
	Location     string
	Types        []SensitiveType
	FindingCount int64
	CreateTime   time.Time
	// RemovalRequestID is the registry's request id, once delivered.
	RemovalRequestID string
}

// HandoverID is the deterministic id of a hand-over: the same customer,
// location and set of types always give the same id, so repeated scans of
// one place record one hand-over.
func HandoverID(customerID, location string, types []SensitiveType) string {
	sorted := make([]string, len(types))
	for i, t := range types {
		sorted[i] = string(t)
	}
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	sum := sha256.Sum256([]byte(customerID + "\x00" + location + "\x00" + strings.Join(sorted, ",")))
	return "rmh_" + hex.EncodeToString(sum[:16])
}

// PendingHandover is a claimed hand-over and how often it was tried.
type PendingHandover struct {
	Handover RemovalHandover
	Attempts int
}

// HandoverStore keeps removal hand-overs until they are delivered.
type HandoverStore interface {
	// RecordHandover stores h as pending (due at once), or returns the
	// hand-over already stored under h.ID with created=false.
	RecordHandover(ctx context.Context, h RemovalHandover) (stored RemovalHandover, created bool, err error)
	// ClaimPendingHandover leases the oldest due pending hand-over.
	ClaimPendingHandover(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (PendingHandover, bool, error)
	// CompleteHandover marks a hand-over leased by owner delivered.
	CompleteHandover(ctx context.Context, id, owner, removalRequestID string, now time.Time) error
	// RetryHandover records a failure and makes the hand-over due at next.
	RetryHandover(ctx context.Context, id, owner, lastError string, next time.Time) error
	// AbandonHandover stops retrying a hand-over the registry rejected for
	// good (e.g. an unknown customer), keeping the reason.
	AbandonHandover(ctx context.Context, id, owner, reason string) error
}

// RemovalRequests opens removal requests in the registry. The real one
// calls SensitiveDataRemovalService.OpenRemovalRequest with request_id =
// h.ID, which is idempotent, so a delivery that succeeded but was not
// recorded may be repeated.
type RemovalRequests interface {
	OpenRemovalRequest(ctx context.Context, h RemovalHandover) (removalRequestID string, err error)
}

// ErrRemovalRejected marks a hand-over the registry will never accept as
// sent (unknown customer, invalid input); retrying it would not help.
var ErrRemovalRejected = errors.New("removal request rejected by the registry")

// HandoverRelay delivers removal hand-overs to the registry. Like the
// campaigns relay it claims work with mongox.Claim leases and backs off on
// failure, so replicas share it and a registry outage only delays it.
type HandoverRelay struct {
	store    HandoverStore
	registry RemovalRequests
	now      func() time.Time
	owner    string
	logger   *slog.Logger
	lease    time.Duration
}

// NewHandoverRelay returns a HandoverRelay; owner names this replica's leases.
func NewHandoverRelay(store HandoverStore, registry RemovalRequests, now func() time.Time, owner string, logger *slog.Logger) *HandoverRelay {
	return &HandoverRelay{store: store, registry: registry, now: now, owner: owner, logger: logger, lease: relayLease}
}

// WithLease sets how long a claimed hand-over is held (default 30s).
func (r *HandoverRelay) WithLease(d time.Duration) *HandoverRelay {
	r.lease = d
	return r
}

// Step delivers one due hand-over and reports whether it found one. A failed
// delivery is recorded with a backoff and is not an error of Step.
func (r *HandoverRelay) Step(ctx context.Context) (bool, error) {
	p, ok, err := r.store.ClaimPendingHandover(ctx, r.owner, r.now().UTC(), r.lease)
	if err != nil || !ok {
		return false, err
	}
	h := p.Handover
	callCtx, cancel := context.WithTimeout(ctx, r.lease*2/3)
	id, err := r.registry.OpenRemovalRequest(callCtx, h)
	cancel()
	switch {
	case errors.Is(err, ErrRemovalRejected):
		r.logger.WarnContext(ctx, "removal request rejected; not retried", "handover_id", h.ID, "customer_id", h.CustomerID, "error", err.Error())
		if aerr := r.store.AbandonHandover(ctx, h.ID, r.owner, err.Error()); aerr != nil {
			return true, fmt.Errorf("abandon removal hand-over %s: %w", h.ID, aerr)
		}
		return true, nil
	case err != nil:
		delay := mongox.Backoff(p.Attempts, relayBackoffBase, relayBackoffMax)
		r.logger.WarnContext(ctx, "open removal request failed; will retry",
			"handover_id", h.ID, "attempts", p.Attempts, "retry_in", delay.String(), "error", err.Error())
		if rerr := r.store.RetryHandover(ctx, h.ID, r.owner, err.Error(), r.now().UTC().Add(delay)); rerr != nil {
			return true, fmt.Errorf("record removal hand-over failure of %s: %w", h.ID, rerr)
		}
		return true, nil
	}
	if err := r.store.CompleteHandover(ctx, h.ID, r.owner, id, r.now().UTC()); err != nil {
		return true, fmt.Errorf("complete removal hand-over %s: %w", h.ID, err)
	}
	r.logger.InfoContext(ctx, "removal request opened", "handover_id", h.ID, "removal_request_id", id)
	return true, nil
}
