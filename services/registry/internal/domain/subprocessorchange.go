package domain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/auth"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongox"
)

// DefaultObjectionWindow is how long a customer may object to a proposed
// subprocessor change when neither the change nor the configuration says
// otherwise: 30 days.
const DefaultObjectionWindow = 30 * 24 * time.Hour

// Bounds of an objection window: shorter than an hour cannot be meant, and
// the DPA's notice is about intended changes, not plans years out.
const (
	minObjectionWindow  = time.Hour
	maxObjectionWindow  = 365 * 24 * time.Hour
	maxDescriptionLen   = 2000
	maxObjectionTextLen = 4000
)

// WithObjectionWindow sets the default objection window of proposed
// subprocessor changes.
func WithObjectionWindow(d time.Duration) Option {
	return func(s *Service) { s.objectionWindow = d }
}

// ChangeKind is what a proposed subprocessor change does.
type ChangeKind string

// Change kinds.
const (
	ChangeAddition    ChangeKind = "addition"
	ChangeReplacement ChangeKind = "replacement"
)

// CustomerChangeStatus is where a change stands for one customer.
type CustomerChangeStatus string

// Per-customer statuses of a change.
const (
	ChangePending   CustomerChangeStatus = "pending"
	ChangeEffective CustomerChangeStatus = "effective"
	ChangeBlocked   CustomerChangeStatus = "blocked"
)

// ObjectionOutcome is how an objection was resolved.
type ObjectionOutcome string

// Outcomes. Withdrawn and addressed objections let the change proceed for
// the customer; an upheld one keeps it blocked for good.
const (
	OutcomeWithdrawn ObjectionOutcome = "withdrawn"
	OutcomeAddressed ObjectionOutcome = "addressed"
	OutcomeUpheld    ObjectionOutcome = "upheld"
)

// Valid reports whether o is a known, non-empty outcome.
func (o ObjectionOutcome) Valid() bool {
	switch o {
	case OutcomeWithdrawn, OutcomeAddressed, OutcomeUpheld:
		return true
	}
	return false
}

// SubprocessorChange is an intended addition or replacement of a
// subprocessor (DPA 4.2): the customers it affects are told and may object
// within their window before it takes effect for them.
type SubprocessorChange struct {
	ID              string
	Kind            ChangeKind
	SubprocessorID  string
	ReplacesID      string
	Description     string
	EffectiveTime   time.Time
	ObjectionWindow time.Duration
	// Products are the subprocessor's products when the change was
	// proposed: the customers using one of them are the affected ones.
	Products      []string
	AffectedCount int32
	CreateTime    time.Time
	ProposedBy    string
	// FanoutPending is set until every affected customer has its entry; a
	// create interrupted before that is finished by the notice worker.
	FanoutPending bool
}

// ChangeCustomer is one affected customer of a change: the notice owed to
// them and, joined on read, their objection.
type ChangeCustomer struct {
	ChangeID          string
	CustomerID        string
	NotificationEmail string
	NotifyPending     bool
	NotifyTime        time.Time
	NoticeID          string
	WindowEnd         time.Time
	Objection         *Objection
}

// Objection is a customer's objection to a change, with its resolution once
// recorded.
type Objection struct {
	ChangeID   string
	CustomerID string
	Reason     string
	ObjectTime time.Time
	ObjectedBy string
	Resolution *Resolution
}

// Resolution ends an objection.
type Resolution struct {
	ChangeID    string
	CustomerID  string
	Outcome     ObjectionOutcome
	Note        string
	ResolveTime time.Time
	ResolvedBy  string
}

// ChangeQuery selects a page of changes, newest first.
type ChangeQuery struct {
	// Before is the id cursor: only changes with a smaller id.
	Before         string
	SubprocessorID string
	Limit          int
}

// SubprocessorChangeStore keeps proposed changes, their affected customers,
// objections and resolutions.
//
// Objections and resolutions are insert-only documents keyed by
// "<change>#<customer>", so each customer objects at most once per change
// and each objection is resolved at most once, atomically on any server;
// the notice state lives on the customer entry, written by the notice
// worker only.
type SubprocessorChangeStore interface {
	// CreateSubprocessorChange inserts c with the idempotency contract of
	// CreateCustomer; a replay returns the stored change.
	CreateSubprocessorChange(ctx context.Context, c SubprocessorChange, idem Idempotency) (SubprocessorChange, error)
	// GetSubprocessorChange returns one change or ErrNotFound.
	GetSubprocessorChange(ctx context.Context, id string) (SubprocessorChange, error)
	// ListSubprocessorChanges returns a page of changes, newest first.
	ListSubprocessorChanges(ctx context.Context, q ChangeQuery) ([]SubprocessorChange, error)
	// AllSubprocessorChanges returns every change (for the check cache).
	AllSubprocessorChanges(ctx context.Context) ([]SubprocessorChange, error)
	// AffectedCustomers returns the EU/EEA/Swiss customers using any of
	// products, ordered by id.
	AffectedCustomers(ctx context.Context, products []string) ([]Customer, error)
	// AddChangeCustomers inserts the entries that do not exist yet (entries
	// already there are kept as they are), then clears the change's
	// FanoutPending and records its number of entries.
	AddChangeCustomers(ctx context.Context, changeID string, entries []ChangeCustomer) error
	// AddChangeCustomer inserts one entry if the customer has none in that
	// change (reporting whether it did) and records the change's number of
	// entries.
	AddChangeCustomer(ctx context.Context, e ChangeCustomer) (bool, error)
	// ChangeWindowsOpen reports whether some customer of a change is still
	// waiting for its notice or inside its objection window at now.
	ChangeWindowsOpen(ctx context.Context, changeID string, now time.Time) (bool, error)
	// NextUnfannedChange returns a change created before `before` whose
	// fan-out is still pending.
	NextUnfannedChange(ctx context.Context, before time.Time) (SubprocessorChange, bool, error)
	// ChangeCustomers returns the entries of a change, ordered by customer
	// id, with their objections.
	ChangeCustomers(ctx context.Context, changeID string) ([]ChangeCustomer, error)
	// AllChangeCustomers returns every entry with its objection (for the
	// check cache).
	AllChangeCustomers(ctx context.Context) ([]ChangeCustomer, error)
	// CustomerChangeEntries returns one customer's entries of every change
	// with their objections (for the audit export).
	CustomerChangeEntries(ctx context.Context, customerID string) ([]ChangeCustomer, error)
	// GetChangeCustomer returns one entry with its objection, or ErrNotFound.
	GetChangeCustomer(ctx context.Context, changeID, customerID string) (ChangeCustomer, error)
	// ClaimChangeNotice leases one entry whose notice is pending
	// (mongox.Claim) and returns it with the attempt count.
	ClaimChangeNotice(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (ChangeCustomer, int, bool, error)
	// RetryChangeNotice extends owner's lease on an entry to next.
	RetryChangeNotice(ctx context.Context, changeID, customerID, owner string, next time.Time) error
	// RecordChangeNotice records that dispatch accepted the notice, if the
	// entry is still pending (a later duplicate keeps the first record).
	RecordChangeNotice(ctx context.Context, changeID, customerID, noticeID string, notifyTime, windowEnd time.Time) error
	// CreateObjection inserts o once per (change, customer): a replay of the
	// same request returns it, another objection is ErrAlreadyExists.
	CreateObjection(ctx context.Context, o Objection, idem Idempotency) (Objection, error)
	// CreateResolution inserts r once per objection, like CreateObjection.
	CreateResolution(ctx context.Context, r Resolution, idem Idempotency) (Resolution, error)
}

// ProposeParams are the inputs of ProposeSubprocessorChange.
type ProposeParams struct {
	RequestID       string
	Kind            ChangeKind
	SubprocessorID  string
	ReplacesID      string
	Description     string
	EffectiveTime   time.Time
	ObjectionWindow time.Duration
}

// ValidateProposeSubprocessorChange reports every problem of a proposal
// that can be seen without the store.
func (s *Service) ValidateProposeSubprocessorChange(p ProposeParams) error {
	return validatePropose(p, s.now())
}

func validatePropose(p ProposeParams, now time.Time) error {
	var v apperr.Violations
	checkRequestID(&v, "request_id", p.RequestID)
	var cv apperr.Violations
	switch p.Kind {
	case "":
		cv.Add("kind", "is required")
	case ChangeAddition:
		if p.ReplacesID != "" {
			cv.Add("replaces_subprocessor_id", "must be empty for an ADDITION")
		}
	case ChangeReplacement:
		if p.ReplacesID == "" {
			cv.Add("replaces_subprocessor_id", "is required for a REPLACEMENT")
		}
	default:
		cv.Add("kind", "is not a known kind")
	}
	checkSlug(&cv, "subprocessor_id", p.SubprocessorID)
	if p.ReplacesID != "" {
		switch {
		case !slugRE.MatchString(p.ReplacesID):
			cv.Add("replaces_subprocessor_id", "must be 3 to 63 lowercase letters, digits or '-', starting with a letter")
		case p.ReplacesID == p.SubprocessorID:
			cv.Add("replaces_subprocessor_id", "must differ from subprocessor_id")
		}
	}
	checkText(&cv, "description", p.Description, false, maxDescriptionLen)
	if !p.EffectiveTime.IsZero() && p.EffectiveTime.Before(now.Add(-timeSkew)) {
		cv.Add("effective_time", "must not be in the past")
	}
	if p.ObjectionWindow != 0 && (p.ObjectionWindow < minObjectionWindow || p.ObjectionWindow > maxObjectionWindow) {
		cv.Add("objection_window", "must be between 1h and 8760h (365 days)")
	}
	v.Merge("change", cv)
	return v.Err()
}

// ProposeSubprocessorChange records a proposed change and the customers it
// affects: the EU/EEA/Swiss customers using one of the subprocessor's
// products. Each gets a pending notice that the notice worker hands to
// dispatch; their objection window starts when dispatch accepts it.
func (s *Service) ProposeSubprocessorChange(ctx context.Context, p ProposeParams) (SubprocessorChange, error) {
	now := s.now()
	if err := validatePropose(p, now); err != nil {
		return SubprocessorChange{}, err
	}
	sp, err := s.store.GetSubprocessor(ctx, p.SubprocessorID)
	if err != nil {
		return SubprocessorChange{}, fmt.Errorf("proposed subprocessor: %w", err)
	}
	if sp.Status == SubprocessorRetired {
		return SubprocessorChange{}, fmt.Errorf("subprocessor %s is retired: %w", sp.ID, apperr.ErrFailedPrecondition)
	}
	if len(sp.Products) == 0 {
		return SubprocessorChange{}, fmt.Errorf("subprocessor %s serves no product, so no customer is affected: %w", sp.ID, apperr.ErrFailedPrecondition)
	}
	if p.ReplacesID != "" {
		old, err := s.store.GetSubprocessor(ctx, p.ReplacesID)
		if err != nil {
			return SubprocessorChange{}, fmt.Errorf("replaced subprocessor: %w", err)
		}
		if old.Status == SubprocessorRetired {
			return SubprocessorChange{}, fmt.Errorf("replaced subprocessor %s is already retired: %w", old.ID, apperr.ErrFailedPrecondition)
		}
	}
	in := SubprocessorChange{
		Kind:            p.Kind,
		SubprocessorID:  p.SubprocessorID,
		ReplacesID:      p.ReplacesID,
		Description:     p.Description,
		EffectiveTime:   storedTime(p.EffectiveTime),
		ObjectionWindow: p.ObjectionWindow,
	}
	idem := Idempotency{Key: p.RequestID, Fingerprint: fingerprint("subprocessor-change", in)}
	if in.ObjectionWindow == 0 {
		in.ObjectionWindow = s.objectionWindow
	}
	if in.EffectiveTime.IsZero() {
		in.EffectiveTime = now.Add(in.ObjectionWindow)
	}
	in.ID = ids.New("spc")
	in.Products = slices.Clone(sp.Products)
	in.CreateTime = now
	in.FanoutPending = true
	if id, ok := auth.FromContext(ctx); ok {
		in.ProposedBy = id.Subject
	}
	c, err := s.store.CreateSubprocessorChange(ctx, in, idem)
	if err != nil {
		return SubprocessorChange{}, fmt.Errorf("propose change of subprocessor %s: %w", sp.ID, err)
	}
	if c.FanoutPending {
		if c, err = s.fanOut(ctx, c); err != nil {
			return SubprocessorChange{}, err
		}
	}
	return c, nil
}

// fanOut creates the entry of every affected customer of c (idempotently)
// and bumps the registry version.
func (s *Service) fanOut(ctx context.Context, c SubprocessorChange) (SubprocessorChange, error) {
	customers, err := s.store.AffectedCustomers(ctx, c.Products)
	if err != nil {
		return SubprocessorChange{}, fmt.Errorf("find customers affected by %s: %w", c.ID, err)
	}
	entries := make([]ChangeCustomer, 0, len(customers))
	for _, cu := range customers {
		entries = append(entries, ChangeCustomer{
			ChangeID: c.ID, CustomerID: cu.ID, NotificationEmail: cu.NotificationEmail, NotifyPending: true,
		})
	}
	if err := s.store.AddChangeCustomers(ctx, c.ID, entries); err != nil {
		return SubprocessorChange{}, fmt.Errorf("record customers affected by %s: %w", c.ID, err)
	}
	if err := s.registryChanged(ctx); err != nil {
		return SubprocessorChange{}, err
	}
	return s.store.GetSubprocessorChange(ctx, c.ID)
}

// Customers that become affected later. A customer registered in the
// EU/EEA/Switzerland with products, moved there, or given a product while
// a change engaging one of its products is still open joins that change:
// it gets its own entry, so its own notice, and its objection window starts
// when that notice is sent; the change takes effect for it only after the
// window (CustomerStatus), never on the others' schedule.
//
// Crash safety without transactions: the customer write itself sets
// ChangeSyncPending; joinOpenChanges runs before the write is acknowledged
// and clears it; the change-notice worker finishes a join whose writer
// died. A proposal racing a customer write is covered from both sides:
// each writes first and reads the other's collection after, so at least
// one of the fan-out (which reads customers) and the join (which reads
// changes) sees the other, and the entry's _id makes a double insert a
// no-op.

// mayJoinChanges reports whether a customer going from cur to next (cur is
// the zero Customer on create) may have become affected by an open change:
// it is in the EU/EEA/Switzerland now and was not, or uses a product it did
// not use.
func mayJoinChanges(cur, next Customer) bool {
	if next.Region != RegionEUEEACH || len(next.Products) == 0 {
		return false
	}
	if cur.Region != RegionEUEEACH {
		return true
	}
	for _, p := range next.Products {
		if !slices.Contains(cur.Products, p) {
			return true
		}
	}
	return false
}

// joinOpenChanges adds customer cu, if its ChangeSyncPending is set, to
// every open change engaging a subprocessor for one of its products, then
// clears the flag. Entries it already has are kept as they are (a customer
// notified once is not notified again).
func (s *Service) joinOpenChanges(ctx context.Context, cu Customer) error {
	if !cu.ChangeSyncPending {
		return nil
	}
	joined := false
	if cu.Region == RegionEUEEACH {
		changes, err := s.store.AllSubprocessorChanges(ctx)
		if err != nil {
			return fmt.Errorf("changes customer %s may join: %w", cu.ID, err)
		}
		now := s.now()
		for _, c := range changes {
			if !slices.ContainsFunc(c.Products, func(p string) bool { return slices.Contains(cu.Products, p) }) {
				continue
			}
			open, err := s.changeOpen(ctx, c, now)
			if err != nil {
				return err
			}
			if !open {
				continue
			}
			added, err := s.store.AddChangeCustomer(ctx, ChangeCustomer{
				ChangeID: c.ID, CustomerID: cu.ID, NotificationEmail: cu.NotificationEmail, NotifyPending: true,
			})
			if err != nil {
				return err
			}
			joined = joined || added
		}
	}
	if joined {
		if err := s.registryChanged(ctx); err != nil {
			return err
		}
	}
	if err := s.store.FinishCustomerChangeSync(ctx, cu.ID, cu.Version); err != nil {
		return err
	}
	return nil
}

// changeOpen reports whether change c is still pending at now, so that a
// customer becoming affected joins it: its fan-out is unfinished, its
// effective time has not come, or some customer of it is still waiting for
// its notice or inside its objection window. Once none is, the change is
// in effect (for those who did not object) and a customer arriving later
// finds the subprocessor on the list it signs up to.
func (s *Service) changeOpen(ctx context.Context, c SubprocessorChange, now time.Time) (bool, error) {
	if c.FanoutPending || now.Before(c.EffectiveTime) {
		return true, nil
	}
	return s.store.ChangeWindowsOpen(ctx, c.ID, now)
}

// GetSubprocessorChange returns a change and its customers.
func (s *Service) GetSubprocessorChange(ctx context.Context, id string) (SubprocessorChange, []ChangeCustomer, error) {
	var v apperr.Violations
	if !ids.Valid("spc", id) {
		v.Add("change_id", "must be a change id (spc_...)")
	}
	if err := v.Err(); err != nil {
		return SubprocessorChange{}, nil, err
	}
	c, err := s.store.GetSubprocessorChange(ctx, id)
	if err != nil {
		return SubprocessorChange{}, nil, err
	}
	cs, err := s.store.ChangeCustomers(ctx, id)
	if err != nil {
		return SubprocessorChange{}, nil, fmt.Errorf("customers of change %s: %w", id, err)
	}
	return c, cs, nil
}

// ListChangesParams are the inputs of ListSubprocessorChanges.
type ListChangesParams struct {
	PageSize       int32
	PageToken      string
	SubprocessorID string
}

type changeCursor struct {
	Before         string `json:"b"`
	SubprocessorID string `json:"s,omitempty"`
}

// ListSubprocessorChanges returns one page of changes, newest first.
func (s *Service) ListSubprocessorChanges(ctx context.Context, p ListChangesParams) ([]SubprocessorChange, string, error) {
	var v apperr.Violations
	size, err := mongox.PageSize(p.PageSize, defaultPageSize, maxPageSize)
	if err != nil {
		v.Add("page_size", "must not be negative")
	}
	if p.SubprocessorID != "" && !slugRE.MatchString(p.SubprocessorID) {
		v.Add("subprocessor_id", "must be 3 to 63 lowercase letters, digits or '-', starting with a letter")
	}
	var cur changeCursor
	if p.PageToken != "" {
		if err := mongox.DecodePageToken(p.PageToken, &cur); err != nil || cur.SubprocessorID != p.SubprocessorID {
			v.Add("page_token", "not a token returned by a previous page with the same filter")
		}
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	list, err := s.store.ListSubprocessorChanges(ctx, ChangeQuery{Before: cur.Before, SubprocessorID: p.SubprocessorID, Limit: size + 1})
	if err != nil {
		return nil, "", fmt.Errorf("list subprocessor changes: %w", err)
	}
	if len(list) <= size {
		return list, "", nil
	}
	list = list[:size]
	next, err := mongox.EncodePageToken(changeCursor{Before: list[size-1].ID, SubprocessorID: p.SubprocessorID})
	if err != nil {
		return nil, "", err
	}
	return list, next, nil
}

// ObjectParams are the inputs of ObjectToSubprocessorChange.
type ObjectParams struct {
	RequestID  string
	ChangeID   string
	CustomerID string
	Reason     string
}

// ValidateObject reports every problem of an objection seen without the
// store.
func (s *Service) ValidateObject(p ObjectParams) error {
	var v apperr.Violations
	checkRequestID(&v, "request_id", p.RequestID)
	if !ids.Valid("spc", p.ChangeID) {
		v.Add("change_id", "must be a change id (spc_...)")
	}
	checkSlug(&v, "customer_id", p.CustomerID)
	checkText(&v, "reason", p.Reason, true, maxObjectionTextLen)
	return v.Err()
}

// ObjectToSubprocessorChange records a customer's objection. Only an
// affected customer may object, and only until its window has ended (a
// customer not notified yet may object already). Its effect on checks is
// immediate on this replica and bounded by the check refresh elsewhere.
func (s *Service) ObjectToSubprocessorChange(ctx context.Context, p ObjectParams) (SubprocessorChange, ChangeCustomer, error) {
	if err := s.ValidateObject(p); err != nil {
		return SubprocessorChange{}, ChangeCustomer{}, err
	}
	e, err := s.object(ctx, p)
	if err != nil {
		return SubprocessorChange{}, ChangeCustomer{}, err
	}
	c, err := s.store.GetSubprocessorChange(ctx, p.ChangeID)
	return c, e, err
}

func (s *Service) object(ctx context.Context, p ObjectParams) (ChangeCustomer, error) {
	now := s.now()
	entry, err := s.store.GetChangeCustomer(ctx, p.ChangeID, p.CustomerID)
	if errors.Is(err, apperr.ErrNotFound) {
		if _, cerr := s.store.GetSubprocessorChange(ctx, p.ChangeID); cerr != nil {
			return ChangeCustomer{}, cerr
		}
		return ChangeCustomer{}, fmt.Errorf("customer %s is not affected by change %s: %w", p.CustomerID, p.ChangeID, apperr.ErrFailedPrecondition)
	}
	if err != nil {
		return ChangeCustomer{}, err
	}
	o := Objection{ChangeID: p.ChangeID, CustomerID: p.CustomerID, Reason: p.Reason}
	idem := Idempotency{Key: p.RequestID, Fingerprint: fingerprint("objection", o)}
	if entry.Objection == nil && !entry.WindowEnd.IsZero() && now.After(entry.WindowEnd) {
		return ChangeCustomer{}, fmt.Errorf("the objection window of customer %s for change %s ended at %s: %w",
			p.CustomerID, p.ChangeID, entry.WindowEnd.Format(time.RFC3339), apperr.ErrFailedPrecondition)
	}
	o.ObjectTime = now
	if id, ok := auth.FromContext(ctx); ok {
		o.ObjectedBy = id.Subject
	}
	if _, err := s.store.CreateObjection(ctx, o, idem); err != nil {
		if errors.Is(err, apperr.ErrAlreadyExists) {
			return ChangeCustomer{}, fmt.Errorf("customer %s already objected to change %s: %w", p.CustomerID, p.ChangeID, err)
		}
		return ChangeCustomer{}, fmt.Errorf("record objection: %w", err)
	}
	if err := s.registryChanged(ctx); err != nil {
		return ChangeCustomer{}, err
	}
	return s.store.GetChangeCustomer(ctx, p.ChangeID, p.CustomerID)
}

// ResolveParams are the inputs of ResolveObjection.
type ResolveParams struct {
	RequestID  string
	ChangeID   string
	CustomerID string
	Outcome    ObjectionOutcome
	Note       string
}

// ValidateResolve reports every problem of a resolution seen without the
// store.
func (s *Service) ValidateResolve(p ResolveParams) error {
	var v apperr.Violations
	checkRequestID(&v, "request_id", p.RequestID)
	if !ids.Valid("spc", p.ChangeID) {
		v.Add("change_id", "must be a change id (spc_...)")
	}
	checkSlug(&v, "customer_id", p.CustomerID)
	switch {
	case p.Outcome == "":
		v.Add("outcome", "is required")
	case !p.Outcome.Valid():
		v.Add("outcome", "is not a known outcome")
	}
	checkText(&v, "note", p.Note, true, maxObjectionTextLen)
	return v.Err()
}

// ResolveObjection records the resolution of a customer's objection. It is
// final: a second, different resolution is ErrAlreadyExists.
func (s *Service) ResolveObjection(ctx context.Context, p ResolveParams) (SubprocessorChange, ChangeCustomer, error) {
	if err := s.ValidateResolve(p); err != nil {
		return SubprocessorChange{}, ChangeCustomer{}, err
	}
	e, err := s.resolve(ctx, p)
	if err != nil {
		return SubprocessorChange{}, ChangeCustomer{}, err
	}
	c, err := s.store.GetSubprocessorChange(ctx, p.ChangeID)
	return c, e, err
}

func (s *Service) resolve(ctx context.Context, p ResolveParams) (ChangeCustomer, error) {
	entry, err := s.store.GetChangeCustomer(ctx, p.ChangeID, p.CustomerID)
	if err != nil {
		return ChangeCustomer{}, err
	}
	if entry.Objection == nil {
		return ChangeCustomer{}, fmt.Errorf("customer %s has not objected to change %s: %w", p.CustomerID, p.ChangeID, apperr.ErrFailedPrecondition)
	}
	r := Resolution{ChangeID: p.ChangeID, CustomerID: p.CustomerID, Outcome: p.Outcome, Note: p.Note}
	idem := Idempotency{Key: p.RequestID, Fingerprint: fingerprint("resolution", r)}
	r.ResolveTime = s.now()
	if id, ok := auth.FromContext(ctx); ok {
		r.ResolvedBy = id.Subject
	}
	if _, err := s.store.CreateResolution(ctx, r, idem); err != nil {
		if errors.Is(err, apperr.ErrAlreadyExists) {
			return ChangeCustomer{}, fmt.Errorf("the objection of customer %s to change %s is already resolved: %w", p.CustomerID, p.ChangeID, err)
		}
		return ChangeCustomer{}, fmt.Errorf("record resolution: %w", err)
	}
	if err := s.registryChanged(ctx); err != nil {
		return ChangeCustomer{}, err
	}
	return s.store.GetChangeCustomer(ctx, p.ChangeID, p.CustomerID)
}

// CustomerStatus is where change c stands for customer entry e at time t,
// and when it took or takes effect for them (zero when not known yet). The
// rules (DPA 4.2): a change takes effect for a customer only once their
// objection window has passed without objection, or their objection was
// resolved other than upheld — and never before the change's own
// effective time.
func CustomerStatus(c SubprocessorChange, e ChangeCustomer, t time.Time) (CustomerChangeStatus, time.Time) {
	if o := e.Objection; o != nil && !o.ObjectTime.After(t) {
		r := o.Resolution
		if r == nil || r.ResolveTime.After(t) || r.Outcome == OutcomeUpheld {
			return ChangeBlocked, time.Time{}
		}
		at := later(c.EffectiveTime, r.ResolveTime)
		if t.Before(at) {
			return ChangePending, at
		}
		return ChangeEffective, at
	}
	if e.NotifyTime.IsZero() || e.NotifyTime.After(t) {
		return ChangePending, time.Time{}
	}
	at := later(c.EffectiveTime, e.WindowEnd)
	if t.Before(at) {
		return ChangePending, at
	}
	return ChangeEffective, at
}

// Now is the service's clock, as stored (for rendering statuses "now").
func (s *Service) Now() time.Time { return s.now() }

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Change-notice worker tuning.
const (
	changeNoticeKind    = "subprocessor-change"
	changeNoticeRetry   = time.Second
	changeNoticeMaxWait = 5 * time.Minute
	// fanoutGrace is how old an unfinished fan-out must be before the
	// worker finishes it (its own proposal is most likely still at it).
	fanoutGrace = time.Minute
)

// ChangeNoticeRequestID is the dispatch idempotency key of the notice
// telling customer about change.
func ChangeNoticeRequestID(changeID, customerID string) string {
	return "subprocessor-change:" + changeID + ":" + customerID
}

var transferNames = map[TransferMechanism]string{
	TransferUnspecified: "none needed (located in the EU/EEA/Switzerland)",
	TransferNone:        "none needed (located in the EU/EEA/Switzerland)",
	TransferAdequacy:    "adequacy decision",
	TransferSCC:         "standard contractual clauses",
	TransferFramework:   "framework membership (e.g. EU-U.S. Data Privacy Framework)",
	TransferBCR:         "binding corporate rules",
}

// ChangeNotice is the e-mail telling a customer of an intended change: who,
// where, what for, which of its products, the transfer mechanism, and until
// when (windowEnd) it may object.
func ChangeNotice(c SubprocessorChange, sp Subprocessor, replaced *Subprocessor, e ChangeCustomer, windowEnd time.Time) Notice {
	var b strings.Builder
	what := "add a new subprocessor"
	if c.Kind == ChangeReplacement && replaced != nil {
		what = "replace the subprocessor " + replaced.LegalName + " (" + replaced.Country + ") with a new one"
	}
	fmt.Fprintf(&b, "We intend to %s for the products %s used by your account (%s).\n\n", what, strings.Join(c.Products, ", "), e.CustomerID)
	fmt.Fprintf(&b, "  Subprocessor: %s\n", sp.LegalName)
	fmt.Fprintf(&b, "  Located in: %s\n", sp.Country)
	fmt.Fprintf(&b, "  Purpose: %s\n", sp.Purpose)
	if len(sp.DataCategories) > 0 {
		fmt.Fprintf(&b, "  Data categories: %s\n", strings.Join(sp.DataCategories, ", "))
	}
	fmt.Fprintf(&b, "  Transfer mechanism: %s\n", transferNames[sp.TransferMechanism])
	fmt.Fprintf(&b, "  Earliest effective date: %s\n", c.EffectiveTime.UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "  Reference: %s\n", c.ID)
	if c.Description != "" {
		fmt.Fprintf(&b, "\n%s\n", c.Description)
	}
	fmt.Fprintf(&b, "\nYou may object to this change until %s, with your reasons, through the customer portal or API\n"+
		"(POST /v1/subprocessorChanges/%s:object). The change will not take effect for you while an objection is open.\n",
		windowEnd.UTC().Format("2006-01-02 15:04 MST"), c.ID)
	return Notice{
		RequestID:  ChangeNoticeRequestID(c.ID, e.CustomerID),
		To:         e.NotificationEmail,
		Subject:    "Intended subprocessor change: " + sp.LegalName + " (objections until " + windowEnd.UTC().Format("2006-01-02") + ")",
		Body:       b.String(),
		Kind:       changeNoticeKind,
		CustomerID: e.CustomerID,
	}
}

// NotifyChangeCustomers returns the change-notice worker step (the
// removal-notice worker's shape): it first finishes a fan-out a crashed
// proposal left, else leases one customer entry whose notice is pending,
// asks dispatch to e-mail it (idempotent on ChangeNoticeRequestID, so a
// step that dies after dispatch accepted sends nothing twice), then
// records the notice time and the end of the customer's objection window.
// Dispatch down: the entry is retried with backoff.
func (s *Service) NotifyChangeCustomers(owner string) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		if s.notifier == nil {
			return false, nil
		}
		now := s.now()
		c, ok, err := s.store.NextUnfannedChange(ctx, now.Add(-fanoutGrace))
		if err != nil {
			return false, err
		}
		if ok {
			_, err := s.fanOut(ctx, c)
			return true, err
		}
		cu, ok, err := s.store.NextCustomerChangeSync(ctx, now.Add(-fanoutGrace))
		if err != nil {
			return false, err
		}
		if ok {
			return true, s.joinOpenChanges(ctx, cu)
		}
		e, attempts, ok, err := s.store.ClaimChangeNotice(ctx, owner, now, s.relayLease)
		if err != nil || !ok {
			return false, err
		}
		c, err = s.store.GetSubprocessorChange(ctx, e.ChangeID)
		if err != nil {
			return true, fmt.Errorf("change of notice: %w", err)
		}
		sp, err := s.store.GetSubprocessor(ctx, c.SubprocessorID)
		if err != nil {
			return true, fmt.Errorf("subprocessor of notice: %w", err)
		}
		var replaced *Subprocessor
		if c.ReplacesID != "" {
			old, err := s.store.GetSubprocessor(ctx, c.ReplacesID)
			if err != nil {
				return true, fmt.Errorf("replaced subprocessor of notice: %w", err)
			}
			replaced = &old
		}
		windowEnd := now.Add(c.ObjectionWindow)
		noticeID, err := s.notifier.SendNotice(ctx, ChangeNotice(c, sp, replaced, e, windowEnd))
		if err != nil {
			next := now.Add(mongox.Backoff(attempts, changeNoticeRetry, changeNoticeMaxWait))
			return true, fmt.Errorf("notify customer of change %s: %w", c.ID,
				errors.Join(err, s.store.RetryChangeNotice(ctx, e.ChangeID, e.CustomerID, owner, next)))
		}
		if err := s.store.RecordChangeNotice(ctx, e.ChangeID, e.CustomerID, noticeID, now, windowEnd); err != nil {
			return true, fmt.Errorf("record notice of change %s: %w", c.ID, err)
		}
		return true, s.registryChanged(ctx)
	}
}
