package domain

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongox"
)

// Region is where a customer is established. It decides whether the data
// processing addendum (EU/EEA/Switzerland) applies to the customer's data.
type Region string

// Regions. The zero value means "not given" and is never stored.
const (
	RegionEUEEACH Region = "eu_eea_ch"
	RegionUK      Region = "uk"
	RegionUS      Region = "us"
	RegionOther   Region = "other"
)

// Valid reports whether r is a known, non-empty region.
func (r Region) Valid() bool {
	switch r {
	case RegionEUEEACH, RegionUK, RegionUS, RegionOther:
		return true
	}
	return false
}

// EmployeeNotification is the customer's standing answer to the hosted-SaaS
// breach policy's question: do they notify their affected employees
// themselves, or do we notify each employee for them?
type EmployeeNotification string

// Employee notification choices. The zero value means "not chosen yet": the
// customer is asked at the time of a breach.
const (
	EmployeeNotificationUnspecified EmployeeNotification = ""
	EmployeeNotificationCustomer    EmployeeNotification = "customer"
	EmployeeNotificationProcessor   EmployeeNotification = "processor"
)

// Valid reports whether e is a known choice (including "not chosen").
func (e EmployeeNotification) Valid() bool {
	switch e {
	case EmployeeNotificationUnspecified, EmployeeNotificationCustomer, EmployeeNotificationProcessor:
		return true
	}
	return false
}

// Customer is an organisation whose personal data we process: a controller
// in GDPR terms. Its NotificationEmail is the DPA's "Notification Email
// Address", where incident notices and data subject requests go.
type Customer struct {
	ID                   string
	DisplayName          string
	Region               Region
	NotificationEmail    string
	Products             []string
	EmployeeNotification EmployeeNotification
	// NotifyWithinHours is the contractual notice period; 0 means "without
	// undue delay" with no fixed number of hours.
	NotifyWithinHours int32
	// Contacts are the people to reach about privacy and security.
	Contacts []Contact

	// NotificationEmailConfirmTime is when the address was last set or
	// confirmed; the customer is responsible for keeping it current (DPA
	// 6.2), so the registry records when it last was.
	NotificationEmailConfirmTime time.Time
	CreateTime                   time.Time
	UpdateTime                   time.Time
	// Version counts changes; it is the optimistic-concurrency token behind
	// the etag and the guard of every update.
	Version int64
	// ChangeSyncPending is set, in the same write, when the customer may
	// have become affected by a proposed subprocessor change still open
	// (created in the EU/EEA/Switzerland with products, moved there, or
	// given a product), until it has joined those changes (joinOpenChanges).
	// Internal: not part of the API.
	ChangeSyncPending bool
}

// Contact is a person at a customer to reach about privacy and security.
type Contact struct {
	Name  string
	Role  string
	Email string
	Phone string
}

// Bounds of contacts.
const (
	maxContacts     = 20
	maxContactRole  = 100
	maxContactPhone = 40
)

// phoneRE is a phone number as people write it.
var phoneRE = regexp.MustCompile(`^\+?[0-9][0-9 ()./-]*$`)

// checkContacts validates a customer's contacts; field names are
// contacts[i].<field>. Values are never quoted: they are personal data.
func checkContacts(v *apperr.Violations, list []Contact) {
	if len(list) > maxContacts {
		v.Add("contacts", "must have at most %d entries", maxContacts)
		return
	}
	for i, c := range list {
		f := "contacts[" + strconv.Itoa(i) + "]."
		checkName(v, f+"name", c.Name, 200)
		if c.Role != "" {
			checkName(v, f+"role", c.Role, maxContactRole)
		}
		if c.Email != "" {
			checkEmail(v, f+"email", c.Email)
		}
		if c.Phone != "" && (len(c.Phone) > maxContactPhone || !phoneRE.MatchString(c.Phone)) {
			v.Add(f+"phone", "must be at most %d characters of digits, spaces and + ( ) . - /", maxContactPhone)
		}
	}
}

// maxNotifyWithinHours is one year: any contractual notice period longer
// than that is certainly a typo.
const maxNotifyWithinHours = 8760

// Etag is the opaque concurrency token clients send back on update.
func (c Customer) Etag() string { return etagOf(c.Version) }

func etagOf(version int64) string { return "v" + strconv.FormatInt(version, 10) }

// parseEtag reverses etagOf.
func parseEtag(etag string) (int64, bool) {
	rest, ok := strings.CutPrefix(etag, "v")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return n, err == nil && n > 0
}

// CustomerStore keeps customers.
type CustomerStore interface {
	// CreateCustomer inserts c. When a customer made by the same request
	// (same idempotency key and fingerprint) exists, it returns that one
	// unchanged. Otherwise an existing c.ID fails with ErrAlreadyExists, and
	// a key reused for a different request with RequestReusedError.
	CreateCustomer(ctx context.Context, c Customer, idem Idempotency) (Customer, error)
	// GetCustomer returns one customer or ErrNotFound.
	GetCustomer(ctx context.Context, id string) (Customer, error)
	// ListCustomers returns up to q.Limit customers with ID > q.After in ID
	// order, only those in q.Region when it is set.
	ListCustomers(ctx context.Context, q CustomerQuery) ([]Customer, error)
	// UpdateCustomer replaces the mutable fields of c.ID with those of c and
	// increments its version, only if the stored version is still
	// expectVersion (one findOneAndUpdate); otherwise ErrConflict, or
	// ErrNotFound when there is no such customer.
	UpdateCustomer(ctx context.Context, c Customer, expectVersion int64) (Customer, error)
	// CustomerHistory returns the recorded versions of a customer, oldest
	// first: what its settings (notably the Notification Email Address)
	// were at any past time.
	CustomerHistory(ctx context.Context, id string) ([]CustomerVersion, error)
	// FinishCustomerChangeSync clears ChangeSyncPending of customer id if
	// it is still at version.
	FinishCustomerChangeSync(ctx context.Context, id string, version int64) error
	// NextCustomerChangeSync returns a customer whose ChangeSyncPending was
	// set by a write before `before` (its writer most likely died before
	// joining).
	NextCustomerChangeSync(ctx context.Context, before time.Time) (Customer, bool, error)
}

// CustomerVersion is one recorded state of a customer and when it took
// effect.
type CustomerVersion struct {
	Version  int64
	Time     time.Time
	Snapshot Customer
}

// CustomerQuery selects a page of customers.
type CustomerQuery struct {
	After  string
	Region Region
	Limit  int
}

// validateCustomerFields checks the client-settable fields of c named in
// paths (all of them on create). Field names are relative to the customer.
func validateCustomerFields(v *apperr.Violations, c Customer, paths []string) {
	for _, p := range paths {
		switch p {
		case "display_name":
			checkName(v, "display_name", c.DisplayName, 200)
		case "region":
			switch {
			case c.Region == "":
				v.Add("region", "is required")
			case !c.Region.Valid():
				v.Add("region", "is not a known region")
			}
		case "notification_email":
			checkEmail(v, "notification_email", c.NotificationEmail)
		case "products":
			checkList(v, "products", c.Products, productItem)
		case "employee_notification":
			if !c.EmployeeNotification.Valid() {
				v.Add("employee_notification", "is not a known choice")
			}
		case "notify_within_hours":
			if c.NotifyWithinHours < 0 || c.NotifyWithinHours > maxNotifyWithinHours {
				v.Add("notify_within_hours", "must be between 0 and %d", maxNotifyWithinHours)
			}
		case "contacts":
			checkContacts(v, c.Contacts)
		}
	}
}

// customerPaths are the update_mask paths a client may change, in proto
// field order; create validates all of them.
var customerPaths = []string{
	"display_name", "region", "notification_email", "products",
	"employee_notification", "notify_within_hours", "contacts",
}

// ValidateCreateCustomer reports every problem of a CreateCustomer input
// as an *apperr.InvalidError, or nil. It is pure: no store is read.
func (s *Service) ValidateCreateCustomer(requestID string, c Customer) error {
	var v apperr.Violations
	checkRequestID(&v, "request_id", requestID)
	var cv apperr.Violations
	checkSlug(&cv, "customer_id", c.ID)
	validateCustomerFields(&cv, c, customerPaths)
	v.Merge("customer", cv)
	return v.Err()
}

// CreateCustomer registers a customer. requestID (optional) makes retries
// safe: the same request id and input return the same customer once more.
func (s *Service) CreateCustomer(ctx context.Context, requestID string, c Customer) (Customer, error) {
	if err := s.ValidateCreateCustomer(requestID, c); err != nil {
		return Customer{}, err
	}
	in := Customer{
		ID:                   c.ID,
		DisplayName:          c.DisplayName,
		Region:               c.Region,
		NotificationEmail:    c.NotificationEmail,
		Products:             nilIfEmpty(c.Products),
		EmployeeNotification: c.EmployeeNotification,
		NotifyWithinHours:    c.NotifyWithinHours,
		Contacts:             nilIfEmpty(c.Contacts),
	}
	idem := Idempotency{Key: requestID, Fingerprint: fingerprint("customer", in)}
	now := s.now()
	in.NotificationEmailConfirmTime = now
	in.CreateTime = now
	in.UpdateTime = now
	in.Version = 1
	in.ChangeSyncPending = mayJoinChanges(Customer{}, in)
	out, err := s.store.CreateCustomer(ctx, in, idem)
	if err != nil {
		return Customer{}, fmt.Errorf("create customer %s: %w", c.ID, err)
	}
	// A replay finds the flag still set if the first attempt died before
	// joining: it joins now.
	if err := s.joinOpenChanges(ctx, out); err != nil {
		return Customer{}, err
	}
	return out, nil
}

// GetCustomer returns one customer.
func (s *Service) GetCustomer(ctx context.Context, id string) (Customer, error) {
	var v apperr.Violations
	checkSlug(&v, "customer_id", id)
	if err := v.Err(); err != nil {
		return Customer{}, err
	}
	return s.store.GetCustomer(ctx, id)
}

// ListCustomersParams are the inputs of ListCustomers.
type ListCustomersParams struct {
	PageSize  int32
	PageToken string
	Region    Region
}

// customerCursor is the content of a ListCustomers page token. It repeats
// the filter so that a token is not reused with another one (AIP-158).
type customerCursor struct {
	After  string `json:"a"`
	Region Region `json:"r,omitempty"`
}

// ListCustomers returns one page of customers in id order and the token of
// the next page ("" on the last page).
func (s *Service) ListCustomers(ctx context.Context, p ListCustomersParams) ([]Customer, string, error) {
	var v apperr.Violations
	size, err := mongox.PageSize(p.PageSize, defaultPageSize, maxPageSize)
	if err != nil {
		v.Add("page_size", "must not be negative")
	}
	if p.Region != "" && !p.Region.Valid() {
		v.Add("region", "is not a known region")
	}
	var cur customerCursor
	if p.PageToken != "" {
		if err := mongox.DecodePageToken(p.PageToken, &cur); err != nil || cur.Region != p.Region {
			v.Add("page_token", "not a token returned by a previous page with the same filter")
		}
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	list, err := s.store.ListCustomers(ctx, CustomerQuery{After: cur.After, Region: p.Region, Limit: size + 1})
	if err != nil {
		return nil, "", fmt.Errorf("list customers: %w", err)
	}
	if len(list) <= size {
		return list, "", nil
	}
	list = list[:size]
	next, err := mongox.EncodePageToken(customerCursor{After: list[size-1].ID, Region: p.Region})
	if err != nil {
		return nil, "", err
	}
	return list, next, nil
}

// CustomerUpdate is a partial update (AIP-134): Paths name the fields of
// Customer to change; Etag, when set, must match the current version.
type CustomerUpdate struct {
	Customer Customer
	Paths    []string
	Etag     string
}

// UpdateCustomer applies u and returns the customer after the change.
//
// Concurrency: the current customer is read, the change applied in memory,
// and written back with one findOneAndUpdate guarded by the version read.
// With an etag the guard is the client's version, so a stale etag fails with
// ErrConflict (ABORTED). Without one, losing a race to another writer just
// re-reads and re-applies, up to maxUpdateRetries times. Changing
// notification_email to a different address resets its confirm time.
func (s *Service) UpdateCustomer(ctx context.Context, u CustomerUpdate) (Customer, error) {
	paths, want, err := checkCustomerUpdate(u)
	if err != nil {
		return Customer{}, err
	}
	hasEtag := u.Etag != ""
	for range maxUpdateRetries {
		cur, err := s.store.GetCustomer(ctx, u.Customer.ID)
		if err != nil {
			return Customer{}, err
		}
		if hasEtag && cur.Version != want {
			return Customer{}, fmt.Errorf("customer %s: etag %s is stale: %w", cur.ID, u.Etag, apperr.ErrConflict)
		}
		next := applyCustomerUpdate(cur, u.Customer, paths, s.now())
		next.ChangeSyncPending = cur.ChangeSyncPending || mayJoinChanges(cur, next)
		out, err := s.store.UpdateCustomer(ctx, next, cur.Version)
		if errors.Is(err, apperr.ErrConflict) && !hasEtag {
			continue
		}
		if err != nil {
			return Customer{}, fmt.Errorf("update customer %s: %w", cur.ID, err)
		}
		// The update is durable: if joining fails, the flag stays set and
		// the change-notice worker joins it (NotifyChangeCustomers), rather
		// than failing a write a retry could not repeat.
		_ = s.joinOpenChanges(ctx, out)
		return out, nil
	}
	return Customer{}, fmt.Errorf("customer %s: too many concurrent updates: %w", u.Customer.ID, apperr.ErrConflict)
}

// ValidateUpdateCustomer reports every problem of an UpdateCustomer input
// (customer id, etag format, update mask and the masked fields) as an
// *apperr.InvalidError, or nil. It is pure: no store is read, so a stale
// etag or an unknown customer is not detected here.
func (s *Service) ValidateUpdateCustomer(u CustomerUpdate) error {
	_, _, err := checkCustomerUpdate(u)
	return err
}

// checkCustomerUpdate validates u and returns its mask paths without
// duplicates and the version its etag names (0 without an etag).
func checkCustomerUpdate(u CustomerUpdate) (paths []string, version int64, err error) {
	var v apperr.Violations
	var cv apperr.Violations
	checkSlug(&cv, "customer_id", u.Customer.ID)
	if u.Etag != "" {
		var ok bool
		if version, ok = parseEtag(u.Etag); !ok {
			cv.Add("etag", "is not an etag returned by this service")
		}
	}
	paths = checkCustomerMask(&v, u.Paths)
	validateCustomerFields(&cv, u.Customer, paths)
	v.Merge("customer", cv)
	if err := v.Err(); err != nil {
		return nil, 0, err
	}
	return paths, version, nil
}

// checkCustomerMask validates update_mask paths and returns them without
// duplicates. Violations are on "update_mask".
func checkCustomerMask(v *apperr.Violations, paths []string) []string {
	if len(paths) == 0 {
		v.Add("update_mask", "must name at least one field: %s", strings.Join(customerPaths, ", "))
		return nil
	}
	var out []string
	for _, p := range paths {
		switch {
		case slices.Contains(customerPaths, p):
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		case p == "customer_id" || p == "notification_email_confirm_time" || p == "create_time" ||
			p == "update_time" || p == "etag":
			v.Add("update_mask", "field %q cannot be changed", p)
		default:
			v.Add("update_mask", "unknown field %q; allowed: %s", p, strings.Join(customerPaths, ", "))
		}
	}
	return out
}

// applyCustomerUpdate returns cur with the fields named in paths taken from
// in, and the server-maintained fields advanced.
func applyCustomerUpdate(cur, in Customer, paths []string, now time.Time) Customer {
	next := cur
	next.Products = slices.Clone(cur.Products)
	next.Contacts = slices.Clone(cur.Contacts)
	for _, p := range paths {
		switch p {
		case "display_name":
			next.DisplayName = in.DisplayName
		case "region":
			next.Region = in.Region
		case "notification_email":
			if in.NotificationEmail != cur.NotificationEmail {
				next.NotificationEmailConfirmTime = now
			}
			next.NotificationEmail = in.NotificationEmail
		case "products":
			next.Products = nilIfEmpty(slices.Clone(in.Products))
		case "employee_notification":
			next.EmployeeNotification = in.EmployeeNotification
		case "notify_within_hours":
			next.NotifyWithinHours = in.NotifyWithinHours
		case "contacts":
			next.Contacts = nilIfEmpty(slices.Clone(in.Contacts))
		}
	}
	next.UpdateTime = now
	next.Version = cur.Version + 1
	return next
}

// RequestReusedError is what a store returns when an idempotency key comes
// back with different input: the client reused a request id, which must not
// return (or create) anything.
func RequestReusedError() error {
	return apperr.Invalid("request_id", "was already used for a different request")
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// ConfirmNotificationEmail records that the customer confirmed its
// Notification Email Address (the one on file must be email): its confirm
// time becomes now, as a new customer version.
func (s *Service) ConfirmNotificationEmail(ctx context.Context, id, email string) (Customer, error) {
	if err := s.ValidateConfirmNotificationEmail(id, email); err != nil {
		return Customer{}, err
	}
	for range maxUpdateRetries {
		cur, err := s.store.GetCustomer(ctx, id)
		if err != nil {
			return Customer{}, err
		}
		if !strings.EqualFold(cur.NotificationEmail, email) {
			return Customer{}, fmt.Errorf("customer %s has another Notification Email Address on file; change it with UpdateCustomer: %w", id, apperr.ErrFailedPrecondition)
		}
		now := s.now()
		next := cur
		next.NotificationEmailConfirmTime, next.UpdateTime, next.Version = now, now, cur.Version+1
		out, err := s.store.UpdateCustomer(ctx, next, cur.Version)
		if errors.Is(err, apperr.ErrConflict) {
			continue
		}
		if err != nil {
			return Customer{}, fmt.Errorf("confirm address of customer %s: %w", id, err)
		}
		return out, nil
	}
	return Customer{}, fmt.Errorf("customer %s: too many concurrent updates: %w", id, apperr.ErrConflict)
}

// ValidateConfirmNotificationEmail reports every problem of a confirmation
// (pure).
func (s *Service) ValidateConfirmNotificationEmail(id, email string) error {
	var v apperr.Violations
	checkSlug(&v, "customer_id", id)
	checkEmail(&v, "notification_email", email)
	return v.Err()
}
