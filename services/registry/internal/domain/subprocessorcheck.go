package domain

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongox"
)

// DefaultCheckRefresh is how often, at most, a replica asks the store
// whether the registry changed: the staleness bound of CheckSubprocessor
// for changes made through another replica.
const DefaultCheckRefresh = 100 * time.Millisecond

// checkMaxAge is how long a snapshot is used without a full reload even if
// the registry version did not move: it covers a writer that died between
// its write and the version bump.
const checkMaxAge = time.Minute

// WithCheckRefresh sets how often the check cache probes the registry
// version (SUBPROCESSOR_CHECK_REFRESH).
func WithCheckRefresh(d time.Duration) Option {
	return func(s *Service) { s.checks = newCheckCache(d) }
}

// CheckReason is why a check answered as it did.
type CheckReason string

// Check reasons.
const (
	CheckAllowed             CheckReason = "allowed"
	CheckUnknown             CheckReason = "unknown_subprocessor"
	CheckNotActive           CheckReason = "not_active"
	CheckNotServingProduct   CheckReason = "not_serving_product"
	CheckTransferMissing     CheckReason = "transfer_mechanism_missing"
	CheckObjectionWindowOpen CheckReason = "objection_window_open"
	CheckCustomerObjected    CheckReason = "customer_objected"
)

// CheckParams are the inputs of CheckSubprocessor.
type CheckParams struct {
	SubprocessorID string
	Product        string
	Region         Region
	CustomerID     string
	// At is the time to answer for; zero means now.
	At time.Time
}

// CheckResult is the answer to a check.
type CheckResult struct {
	Allowed         bool
	Reason          CheckReason
	Message         string
	ChangeID        string
	RegistryVersion int64
}

// ValidateCheck reports every problem of a check's input.
func (s *Service) ValidateCheck(p CheckParams) error {
	var v apperr.Violations
	checkSlug(&v, "subprocessor_id", p.SubprocessorID)
	if p.Product == "" {
		v.Add("product", "is required")
	} else if msg := productItem(p.Product); msg != "" {
		v.Add("product", "%s", msg)
	}
	switch {
	case p.Region == "":
		v.Add("region", "is required")
	case !p.Region.Valid():
		v.Add("region", "is not a known region")
	}
	if p.CustomerID != "" && !slugRE.MatchString(p.CustomerID) {
		v.Add("customer_id", "must be 3 to 63 lowercase letters, digits or '-', starting with a letter")
	}
	return v.Err()
}

// CheckSubprocessor answers whether a subprocessor may process data of a
// product for a customer in a region (and, given a customer, for that
// customer) at a time. It reads an in-memory snapshot of the registry
// (subprocessor versions, changes, customer entries and objections), so it
// costs no store round trip; see checkCache for how the snapshot follows
// the store.
func (s *Service) CheckSubprocessor(ctx context.Context, p CheckParams) (CheckResult, error) {
	if err := s.ValidateCheck(p); err != nil {
		return CheckResult{}, err
	}
	snap, err := s.checks.get(ctx, s.store)
	if err != nil {
		return CheckResult{}, err
	}
	at := p.At
	if at.IsZero() {
		at = s.clock()
	}
	r := snap.check(p.SubprocessorID, p.Product, p.Region, p.CustomerID, at)
	r.RegistryVersion = snap.version
	return r, nil
}

// registryChanged is called after every durable write that can change a
// check's answer: it bumps the shared registry version (other replicas
// reload within their refresh interval) and reloads this replica's snapshot
// before the write is acknowledged, so a client reads its own writes here
// and checks never wait for a reload caused by a write. If the reload fails
// the next check reloads instead.
func (s *Service) registryChanged(ctx context.Context) error {
	if err := s.store.BumpRegistryVersion(ctx); err != nil {
		s.checks.invalidate()
		return fmt.Errorf("bump registry version: %w", err)
	}
	if err := s.checks.reload(ctx, s.store); err != nil {
		s.checks.invalidate()
	}
	return nil
}

// checkCache holds the snapshot CheckSubprocessor answers from.
//
// Invalidation across replicas: every write bumps one counter document
// (RegistryVersion) after the write is durable. The first check after the
// snapshot was last confirmed more than `refresh` ago starts a background
// re-read of the counter (one read by _id), and a reload if it moved, while
// every check keeps answering from the current snapshot. So a write
// acknowledged to its client is seen by every replica's checks at most
// `refresh` plus one reload later, and at once on the replica that made it
// (which reloads before acknowledging). A snapshot is also
// reloaded after checkMaxAge whatever the counter says, which bounds the
// staleness left by a writer that died between its write and its bump.
type checkCache struct {
	refresh time.Duration
	snap    atomic.Pointer[checkSnapshot]
	// dirty is set when a local write could not reload: the next check
	// must.
	dirty atomic.Bool
	// probeAfter is when (monotonic nanoseconds since start) the counter is
	// due to be read again.
	probeAfter atomic.Int64
	start      time.Time
	// mu serialises probes and reloads.
	mu sync.Mutex
}

func newCheckCache(refresh time.Duration) *checkCache {
	return &checkCache{refresh: refresh, start: time.Now()}
}

func (c *checkCache) invalidate() { c.dirty.Store(true) }

// elapsed is the monotonic time since the cache was made.
func (c *checkCache) elapsed() int64 { return int64(time.Since(c.start)) }

// probeTimeout bounds one background probe and reload.
const probeTimeout = 10 * time.Second

// get returns a snapshot within the cache's staleness bound. Checks never
// wait for the store while the snapshot is usable: a due probe (and the
// reload it may start) runs in the background, and the caller answers from
// the current snapshot. Only the first check, a check after a failed local
// reload, and checks once the store has been unreachable for longer than
// checkMaxAge wait for (and may fail with) the store.
func (c *checkCache) get(ctx context.Context, st Store) (*checkSnapshot, error) {
	s := c.snap.Load()
	if s != nil && !c.dirty.Load() && c.elapsed()-s.loaded < int64(checkMaxAge+probeTimeout) {
		if c.elapsed() >= c.probeAfter.Load() && c.mu.TryLock() {
			go func() {
				defer c.mu.Unlock()
				pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeTimeout)
				defer cancel()
				_, _ = c.refreshLocked(pctx, st, false) // an error leaves s in use until checkMaxAge
			}()
		}
		return s, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refreshLocked(ctx, st, false)
}

// reload loads a fresh snapshot now.
func (c *checkCache) reload(ctx context.Context, st Store) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.refreshLocked(ctx, st, true)
	return err
}

// refreshLocked probes the registry version and reloads the snapshot if it
// moved, if the snapshot is too old, or if force or dirty say so. c.mu is
// held.
func (c *checkCache) refreshLocked(ctx context.Context, st Store, force bool) (*checkSnapshot, error) {
	s := c.snap.Load()
	must := c.dirty.Swap(false) || force || s == nil
	now := c.elapsed()
	if !must && now < c.probeAfter.Load() {
		return s, nil // refreshed by another caller while this one waited
	}
	v, err := st.RegistryVersion(ctx)
	if err == nil && !must && v == s.version && now-s.loaded < int64(checkMaxAge) {
		c.probeAfter.Store(now + int64(c.refresh))
		return s, nil
	}
	var fresh *checkSnapshot
	if err == nil {
		fresh, err = loadSnapshot(ctx, st, v)
	}
	if err != nil {
		err = fmt.Errorf("registry snapshot: %w: %w", apperr.ErrUnavailable, err)
		if must {
			c.dirty.Store(true)
			return nil, err
		}
		// The store is unreachable: keep answering from the snapshot until
		// it is checkMaxAge old, then fail (UNAVAILABLE, so callers retry).
		if now-s.loaded < int64(checkMaxAge) {
			c.probeAfter.Store(now + int64(c.refresh))
			return s, nil
		}
		return nil, err
	}
	fresh.loaded = now
	c.snap.Store(fresh)
	c.probeAfter.Store(now + int64(c.refresh))
	return fresh, nil
}

// checkSnapshot is the registry as the checks see it.
type checkSnapshot struct {
	version int64
	loaded  int64
	// ids are the subprocessor ids in order; versions[id] its versions,
	// oldest first.
	ids      []string
	versions map[string][]SubprocessorVersion
	// changes[id] are the changes engaging subprocessor id, newest first.
	changes map[string][]*changeView
	// revisions are all versions ordered by (time, id, version).
	revisions []SubprocessorVersion
}

// changeView is a change with its customer entries by customer id.
type changeView struct {
	change    SubprocessorChange
	customers map[string]ChangeCustomer
}

func loadSnapshot(ctx context.Context, st Store, version int64) (*checkSnapshot, error) {
	vs, err := st.AllSubprocessorVersions(ctx)
	if err != nil {
		return nil, fmt.Errorf("load subprocessor versions: %w", err)
	}
	changes, err := st.AllSubprocessorChanges(ctx)
	if err != nil {
		return nil, fmt.Errorf("load subprocessor changes: %w", err)
	}
	entries, err := st.AllChangeCustomers(ctx)
	if err != nil {
		return nil, fmt.Errorf("load subprocessor change customers: %w", err)
	}
	s := &checkSnapshot{
		version:   version,
		versions:  make(map[string][]SubprocessorVersion),
		changes:   make(map[string][]*changeView),
		revisions: vs,
	}
	for _, v := range vs {
		if _, ok := s.versions[v.Snapshot.ID]; !ok {
			s.ids = append(s.ids, v.Snapshot.ID)
		}
		s.versions[v.Snapshot.ID] = append(s.versions[v.Snapshot.ID], v)
	}
	sort.Strings(s.ids)
	s.revisions = slices.Clone(vs)
	sort.SliceStable(s.revisions, func(i, j int) bool {
		a, b := s.revisions[i], s.revisions[j]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		if a.Snapshot.ID != b.Snapshot.ID {
			return a.Snapshot.ID < b.Snapshot.ID
		}
		return a.Version < b.Version
	})
	byID := make(map[string]*changeView, len(changes))
	for _, c := range changes {
		cv := &changeView{change: c, customers: make(map[string]ChangeCustomer)}
		byID[c.ID] = cv
		s.changes[c.SubprocessorID] = append(s.changes[c.SubprocessorID], cv)
	}
	for _, e := range entries {
		if cv := byID[e.ChangeID]; cv != nil {
			cv.customers[e.CustomerID] = e
		}
	}
	for _, list := range s.changes {
		// Change ids are time-ordered: newest first.
		sort.Slice(list, func(i, j int) bool { return list[i].change.ID > list[j].change.ID })
	}
	return s, nil
}

// at returns the version of id in force at t.
func (s *checkSnapshot) at(id string, t time.Time) (Subprocessor, bool) {
	vs := s.versions[id]
	for i := len(vs) - 1; i >= 0; i-- {
		if !vs[i].Time.After(t) {
			return vs[i].Snapshot, true
		}
	}
	return Subprocessor{}, false
}

// check is the decision, in the order a person would ask: does it exist,
// is it engaged, does it serve the product, may the data leave the EU, and
// has this customer had its say on the change that engages it?
func (s *checkSnapshot) check(id, product string, region Region, customerID string, t time.Time) CheckResult {
	sp, ok := s.at(id, t)
	switch {
	case !ok:
		return CheckResult{Reason: CheckUnknown, Message: "no subprocessor " + id + " was registered at that time"}
	case sp.Status == SubprocessorRetired:
		return CheckResult{Reason: CheckNotActive, Message: sp.LegalName + " is retired"}
	case !slices.Contains(sp.Products, product):
		return CheckResult{Reason: CheckNotServingProduct, Message: sp.LegalName + " does not serve product " + product}
	case region == RegionEUEEACH && !InEUEEACH(sp.Country) && !sp.TransferMechanism.legalBasis():
		return CheckResult{Reason: CheckTransferMissing, Message: sp.LegalName + " is located in " + sp.Country +
			", outside the EU/EEA/Switzerland, and no transfer mechanism is recorded"}
	}
	if region == RegionEUEEACH && customerID != "" {
		if r, ok := s.customerDecision(sp, product, customerID, t); ok {
			return r
		}
	}
	if sp.Status != SubprocessorActive {
		msg := sp.LegalName + " is proposed and not yet engaged"
		if region == RegionEUEEACH && customerID == "" {
			msg += "; name the customer to learn whether its objection window has passed"
		}
		return CheckResult{Reason: CheckNotActive, Message: msg}
	}
	return CheckResult{Allowed: true, Reason: CheckAllowed, Message: sp.LegalName + " may process " + product + " data"}
}

// customerDecision applies the newest change engaging sp for product that
// affects customerID (proposed by t), if any.
func (s *checkSnapshot) customerDecision(sp Subprocessor, product, customerID string, t time.Time) (CheckResult, bool) {
	for _, cv := range s.changes[sp.ID] {
		c := cv.change
		e, ok := cv.customers[customerID]
		if !ok || c.CreateTime.After(t) || !slices.Contains(c.Products, product) {
			continue
		}
		st, effective := CustomerStatus(c, e, t)
		switch st {
		case ChangeBlocked:
			return CheckResult{Reason: CheckCustomerObjected, ChangeID: c.ID,
				Message: "customer " + customerID + " objected to change " + c.ID + " engaging " + sp.LegalName}, true
		case ChangePending:
			msg := "customer " + customerID + " has not been notified of change " + c.ID + " yet"
			if !effective.IsZero() {
				msg = "change " + c.ID + " takes effect for customer " + customerID + " at " + effective.UTC().Format(time.RFC3339)
			}
			return CheckResult{Reason: CheckObjectionWindowOpen, ChangeID: c.ID, Message: msg}, true
		}
		return CheckResult{Allowed: true, Reason: CheckAllowed, ChangeID: c.ID,
			Message: sp.LegalName + " may process " + product + " data of customer " + customerID + " (change " + c.ID + " in effect)"}, true
	}
	return CheckResult{}, false
}

// CustomerSubprocessor is one subprocessor on a customer's list.
type CustomerSubprocessor struct {
	Subprocessor Subprocessor
	Products     []string
	InUse        bool
	Reason       CheckReason
	ChangeID     string
}

// ListCustomerSubprocessorsParams are the inputs of ListCustomerSubprocessors.
type ListCustomerSubprocessorsParams struct {
	CustomerID string
	PageSize   int32
	PageToken  string
}

type customerSubCursor struct {
	After    string `json:"a"`
	Customer string `json:"c"`
}

// ListCustomerSubprocessors returns the subprocessors, active or proposed,
// serving a product the customer uses, each with whether it may process the
// customer's data now (the check's answer for the customer's region).
func (s *Service) ListCustomerSubprocessors(ctx context.Context, p ListCustomerSubprocessorsParams) ([]CustomerSubprocessor, string, error) {
	var v apperr.Violations
	checkSlug(&v, "customer_id", p.CustomerID)
	size, err := mongox.PageSize(p.PageSize, defaultPageSize, maxPageSize)
	if err != nil {
		v.Add("page_size", "must not be negative")
	}
	var cur customerSubCursor
	if p.PageToken != "" {
		if err := mongox.DecodePageToken(p.PageToken, &cur); err != nil || cur.Customer != p.CustomerID {
			v.Add("page_token", "not a token returned by a previous page with the same filter")
		}
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	cu, err := s.store.GetCustomer(ctx, p.CustomerID)
	if err != nil {
		return nil, "", err
	}
	snap, err := s.checks.get(ctx, s.store)
	if err != nil {
		return nil, "", err
	}
	now := s.clock()
	var out []CustomerSubprocessor
	start, _ := slices.BinarySearch(snap.ids, cur.After)
	for _, id := range snap.ids[start:] {
		if id == cur.After {
			continue
		}
		sp, ok := snap.at(id, now)
		if !ok || sp.Status == SubprocessorRetired {
			continue
		}
		var products []string
		for _, pr := range cu.Products {
			if slices.Contains(sp.Products, pr) {
				products = append(products, pr)
			}
		}
		if len(products) == 0 {
			continue
		}
		if len(out) == size {
			next, err := mongox.EncodePageToken(customerSubCursor{After: out[size-1].Subprocessor.ID, Customer: p.CustomerID})
			return out, next, err
		}
		entry := CustomerSubprocessor{Subprocessor: sp, Products: products}
		for i, pr := range products {
			r := snap.check(id, pr, cu.Region, cu.ID, now)
			if r.Allowed || i == 0 {
				entry.InUse, entry.Reason, entry.ChangeID = r.Allowed, r.Reason, r.ChangeID
			}
			if r.Allowed {
				break
			}
		}
		out = append(out, entry)
	}
	return out, "", nil
}

// asOfCursor is the content of an as-of ListSubprocessors page token.
type asOfCursor struct {
	After   string             `json:"a"`
	Product string             `json:"p,omitempty"`
	Status  SubprocessorStatus `json:"s,omitempty"`
	AsOf    time.Time          `json:"t"`
}

// listSubprocessorsAsOf is ListSubprocessors with an as-of time: each
// subprocessor in the version in force then, from the snapshot's history.
func (s *Service) listSubprocessorsAsOf(ctx context.Context, p ListSubprocessorsParams, size int) ([]Subprocessor, string, error) {
	asOf := storedTime(p.AsOf)
	var cur asOfCursor
	if p.PageToken != "" {
		if err := mongox.DecodePageToken(p.PageToken, &cur); err != nil || cur.Product != p.Product || cur.Status != p.Status || !cur.AsOf.Equal(asOf) {
			return nil, "", apperr.Invalid("page_token", "not a token returned by a previous page with the same filter")
		}
	}
	snap, err := s.checks.get(ctx, s.store)
	if err != nil {
		return nil, "", err
	}
	var out []Subprocessor
	for _, id := range snap.ids {
		if id <= cur.After {
			continue
		}
		sp, ok := snap.at(id, asOf)
		if !ok || (p.Product != "" && !slices.Contains(sp.Products, p.Product)) || (p.Status != "" && sp.Status != p.Status) {
			continue
		}
		if len(out) == size {
			next, err := mongox.EncodePageToken(asOfCursor{After: out[size-1].ID, Product: p.Product, Status: p.Status, AsOf: asOf})
			return out, next, err
		}
		out = append(out, sp)
	}
	return out, "", nil
}

// Revision is one version of a subprocessor with what changed from the one
// before.
type Revision struct {
	SubprocessorVersion
	ChangedFields []string
}

// ListRevisionsParams are the inputs of ListSubprocessorRevisions.
type ListRevisionsParams struct {
	Start, End     time.Time
	SubprocessorID string
	PageSize       int32
	PageToken      string
}

type revisionCursor struct {
	// Index is the position after the last returned revision among the
	// matching ones; the filter is repeated to bind the token.
	Offset         int       `json:"o"`
	Start          time.Time `json:"s"`
	End            time.Time `json:"e"`
	SubprocessorID string    `json:"i,omitempty"`
}

// ListSubprocessorRevisions answers "what changed between Start and End":
// every version written in [Start, End), oldest first.
func (s *Service) ListSubprocessorRevisions(ctx context.Context, p ListRevisionsParams) ([]Revision, string, error) {
	var v apperr.Violations
	size, err := mongox.PageSize(p.PageSize, defaultPageSize, maxPageSize)
	if err != nil {
		v.Add("page_size", "must not be negative")
	}
	if p.Start.IsZero() {
		v.Add("start_time", "is required")
	}
	end := p.End
	if end.IsZero() {
		end = s.now().Add(time.Millisecond)
	}
	if !p.Start.IsZero() && !p.End.IsZero() && !p.End.After(p.Start) {
		v.Add("end_time", "must be after start_time")
	}
	if p.SubprocessorID != "" && !slugRE.MatchString(p.SubprocessorID) {
		v.Add("subprocessor_id", "must be 3 to 63 lowercase letters, digits or '-', starting with a letter")
	}
	var cur revisionCursor
	if p.PageToken != "" {
		if err := mongox.DecodePageToken(p.PageToken, &cur); err != nil || !cur.Start.Equal(p.Start) ||
			!cur.End.Equal(end) || cur.SubprocessorID != p.SubprocessorID || cur.Offset < 0 {
			v.Add("page_token", "not a token returned by a previous page with the same filter")
		}
		end = cur.End
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	snap, err := s.checks.get(ctx, s.store)
	if err != nil {
		return nil, "", err
	}
	lo := sort.Search(len(snap.revisions), func(i int) bool { return !snap.revisions[i].Time.Before(p.Start) })
	var out []Revision
	seen := 0
	for _, r := range snap.revisions[lo:] {
		if !r.Time.Before(end) {
			break
		}
		if p.SubprocessorID != "" && r.Snapshot.ID != p.SubprocessorID {
			continue
		}
		seen++
		if seen <= cur.Offset {
			continue
		}
		if len(out) == size {
			next, err := mongox.EncodePageToken(revisionCursor{Offset: cur.Offset + size, Start: p.Start, End: end, SubprocessorID: p.SubprocessorID})
			return out, next, err
		}
		rev := Revision{SubprocessorVersion: r}
		if prev, ok := snap.previous(r); ok {
			rev.ChangedFields = changedFields(prev, r.Snapshot)
		}
		out = append(out, rev)
	}
	return out, "", nil
}

// previous returns the version before r of the same subprocessor.
func (s *checkSnapshot) previous(r SubprocessorVersion) (Subprocessor, bool) {
	var prev Subprocessor
	found := false
	for _, v := range s.versions[r.Snapshot.ID] {
		if v.Version >= r.Version {
			break
		}
		prev, found = v.Snapshot, true
	}
	return prev, found
}
