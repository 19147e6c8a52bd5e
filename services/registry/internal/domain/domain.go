// Package domain is the registry's business logic: customers (controllers)
// and their notification preferences, the subprocessor registry, and data
// subject requests. It validates every input, applies the rules of the data
// processing addendum and GDPR, and talks to storage only through the narrow
// Store interface, so it knows nothing of gRPC or MongoDB.
package domain

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Store is everything the registry needs from storage. Each part is narrow
// and speaks domain structs only; the MongoDB implementation lives in
// internal/store and is checked by one contract test suite.
type Store interface {
	CustomerStore
	SubprocessorStore
	SubprocessorChangeStore
	DataSubjectRequestStore
	RemovalRequestStore
	DataReturnStore
}

// Idempotency identifies a create request so that a retry has exactly one
// effect (AIP-155). Key is the client's request_id (empty when none was
// given); Fingerprint is a digest of the request's input, so that a request
// id reused for a different request is detected instead of silently
// answered with the first request's result.
type Idempotency struct {
	Key         string
	Fingerprint string
}

// Service runs the registry's use cases. It is safe for concurrent use.
type Service struct {
	store Store
	clock func() time.Time
	// removalWindow is a customer's time to remove sensitive data.
	removalWindow time.Duration
	// notifier sends the e-mails telling customers (nil: not sent).
	notifier Notifier
	// signer signs deletion certificates (datareturn.go; nil: none issued).
	signer *CertificateSigner
	// retiredKeys verify certificates signed before a key rotation.
	retiredKeys []ed25519.PublicKey
	// incidents reads a customer's incidents from intake for the audit
	// export (audit.go; nil: the export fails UNAVAILABLE).
	incidents Incidents
	// campaigns reads the notices sent about those incidents from
	// dispatch for the audit export.
	campaigns Campaigns
	// objectionWindow is the default time customers have to object to a
	// proposed subprocessor change (subprocessorchange.go).
	objectionWindow time.Duration
	// checks is the in-memory registry CheckSubprocessor answers from
	// (subprocessorcheck.go).
	checks *checkCache
	// relayLease is how long a notice worker (DSR forwarding and
	// reminders, removal notices, subprocessor change notices) holds the
	// item it claimed: a replica that dies mid-step delays its item by at
	// most this long.
	relayLease time.Duration
}

// DefaultRelayLease is the notice workers' lease when WithRelayLease is
// not given.
const DefaultRelayLease = time.Minute

// WithRelayLease sets the notice workers' lease (d <= 0 keeps the
// default). It must stay above the longest step: a dispatch SendNotice
// call and the store writes around it.
func WithRelayLease(d time.Duration) Option {
	return func(s *Service) {
		if d > 0 {
			s.relayLease = d
		}
	}
}

// NewService returns a Service over store. clock is injected so tests can
// pin "now" (receive-time limits, due dates); nil means time.Now.
func NewService(store Store, clock func() time.Time, opts ...Option) *Service {
	if clock == nil {
		clock = time.Now
	}
	s := &Service{store: store, clock: clock, removalWindow: DefaultRemovalWindow,
		objectionWindow: DefaultObjectionWindow, checks: newCheckCache(DefaultCheckRefresh), relayLease: DefaultRelayLease}
	for _, o := range opts {
		o(s)
	}
	return s
}

// now returns the current time as stored: UTC, truncated to the millisecond
// precision of BSON dates, so what a create returns equals what a later read
// returns.
func (s *Service) now() time.Time {
	return storedTime(s.clock())
}

// storedTime normalises t to what the store keeps (UTC, milliseconds).
func storedTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Millisecond)
}

// fingerprint digests a create request's input (before server defaults are
// applied) for idempotency checks. JSON of plain structs is deterministic.
func fingerprint(kind string, input any) string {
	b, err := json.Marshal(input)
	if err != nil {
		// Domain inputs are plain structs of strings, numbers and times;
		// they always marshal.
		panic(fmt.Sprintf("fingerprint %s: %v", kind, err))
	}
	sum := sha256.Sum256(append([]byte(kind+"\x00"), b...))
	return hex.EncodeToString(sum[:])
}

// pageSizes are the AIP-158 defaults shared by every List RPC.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// maxUpdateRetries bounds how often an update without an etag is retried
// after losing a race to a concurrent writer, before it gives up with
// ErrConflict.
const maxUpdateRetries = 5
