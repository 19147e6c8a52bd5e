package domain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongox"
)

// SubprocessorStatus is where a subprocessor is in its engagement. PROPOSED
// exists because the DPA (4.2) requires customers to be told of intended
// additions and given the chance to object before a subprocessor is used.
type SubprocessorStatus string

// Subprocessor statuses. The zero value means "not given" and is never stored.
const (
	SubprocessorProposed SubprocessorStatus = "proposed"
	SubprocessorActive   SubprocessorStatus = "active"
	SubprocessorRetired  SubprocessorStatus = "retired"
)

// Valid reports whether s is a known, non-empty status.
func (s SubprocessorStatus) Valid() bool {
	switch s {
	case SubprocessorProposed, SubprocessorActive, SubprocessorRetired:
		return true
	}
	return false
}

// TransferMechanism is the legal basis for personal data leaving the
// EU/EEA/Switzerland for the subprocessor's country (GDPR chapter V).
type TransferMechanism string

// Transfer mechanisms. The zero value means "not stated", which is only
// acceptable when there is no transfer.
const (
	TransferUnspecified TransferMechanism = ""
	TransferNone        TransferMechanism = "none"
	TransferAdequacy    TransferMechanism = "adequacy"
	TransferSCC         TransferMechanism = "scc"
	TransferFramework   TransferMechanism = "framework"
	TransferBCR         TransferMechanism = "bcr"
)

// Valid reports whether t is a known mechanism (including "not stated").
func (t TransferMechanism) Valid() bool {
	switch t {
	case TransferUnspecified, TransferNone, TransferAdequacy, TransferSCC, TransferFramework, TransferBCR:
		return true
	}
	return false
}

// legalBasis reports whether t is a mechanism that permits a transfer out of
// the EU/EEA/Switzerland.
func (t TransferMechanism) legalBasis() bool {
	switch t {
	case TransferAdequacy, TransferSCC, TransferFramework, TransferBCR:
		return true
	}
	return false
}

// Subprocessor is a third party engaged to process personal data (DPA 4):
// its identity and country must be listable for customers on request.
type Subprocessor struct {
	ID                string
	LegalName         string
	Country           string
	Purpose           string
	Products          []string
	DataCategories    []string
	TransferMechanism TransferMechanism
	// AgreementTime is when the written data protection agreement (DPA 4.1)
	// was signed; zero when not recorded.
	AgreementTime time.Time
	Status        SubprocessorStatus
	CreateTime    time.Time
	UpdateTime    time.Time
	// Version counts changes; version n of the history is the state after
	// the n-th write.
	Version int64
}

// Etag is the opaque concurrency token clients send back on update.
func (sp Subprocessor) Etag() string { return etagOf(sp.Version) }

// SubprocessorVersion is one entry of a subprocessor's history: the full
// state after a write, and when it took effect. The history is what "which
// subprocessors were engaged on date D" questions are answered from.
type SubprocessorVersion struct {
	Version  int64
	Time     time.Time
	Snapshot Subprocessor
}

// SubprocessorStore keeps subprocessors and their history.
type SubprocessorStore interface {
	// CreateSubprocessor inserts s (version 1) and its first history entry,
	// with the same idempotency contract as CustomerStore.CreateCustomer.
	CreateSubprocessor(ctx context.Context, s Subprocessor, idem Idempotency) (Subprocessor, error)
	// GetSubprocessor returns one subprocessor or ErrNotFound.
	GetSubprocessor(ctx context.Context, id string) (Subprocessor, error)
	// ListSubprocessors returns up to q.Limit subprocessors with ID > q.After
	// in ID order, filtered by q.Product and q.Status when set.
	ListSubprocessors(ctx context.Context, q SubprocessorQuery) ([]Subprocessor, error)
	// SubprocessorHistory returns every recorded version of id, oldest first.
	SubprocessorHistory(ctx context.Context, id string) ([]SubprocessorVersion, error)
	// SyncSubprocessorHistory writes the history entry of one subprocessor
	// last changed before `before` whose latest version is not yet in the
	// history (a create interrupted between its two writes), and reports
	// whether it found one.
	SyncSubprocessorHistory(ctx context.Context, before time.Time) (bool, error)
	// UpdateSubprocessor writes next (version from+1) only if the stored
	// subprocessor is still at version from: the history entry of the new
	// version is inserted first as the fence (its unique id lets one writer
	// win each version on any server), then the document is updated. A
	// writer that loses the fence finishes the winner's change and gets
	// ErrConflict; ErrNotFound when there is no such subprocessor.
	UpdateSubprocessor(ctx context.Context, next Subprocessor, from int64) (Subprocessor, error)
	// AllSubprocessorVersions returns every version of every subprocessor:
	// the history, plus the current version of any subprocessor whose history
	// write is still pending. Ordered by subprocessor id, then version.
	AllSubprocessorVersions(ctx context.Context) ([]SubprocessorVersion, error)
	// RegistryVersion reads the counter every write that can change a
	// CheckSubprocessor answer increments (0 before the first).
	RegistryVersion(ctx context.Context) (int64, error)
	// BumpRegistryVersion increments that counter. Callers bump after their
	// write is durable, so a reader that sees the new value also sees the
	// write.
	BumpRegistryVersion(ctx context.Context) error
}

// SubprocessorQuery selects a page of subprocessors.
type SubprocessorQuery struct {
	After   string
	Product string
	Status  SubprocessorStatus
	Limit   int
}

// Field limits of a subprocessor.
const (
	maxLegalNameLen = 200
	maxPurposeLen   = 1000
	// timeSkew is how far in the future a client-given time may be, for
	// clocks that are slightly off.
	timeSkew = 5 * time.Minute
)

// minAgreementTime bounds agreement_time from below: no data protection
// agreement predates the first EU data protection directive, so an earlier
// time is a typo or an unset field.
var minAgreementTime = time.Date(1995, 1, 1, 0, 0, 0, 0, time.UTC)

// ValidateCreateSubprocessor reports every problem of a CreateSubprocessor
// input as an *apperr.InvalidError, or nil. It is pure: no store is read.
func (s *Service) ValidateCreateSubprocessor(requestID string, sp Subprocessor) error {
	return validateCreateSubprocessor(requestID, sp, s.now())
}

// validateCreateSubprocessor checks a new subprocessor at time now.
func validateCreateSubprocessor(requestID string, sp Subprocessor, now time.Time) error {
	var v apperr.Violations
	checkRequestID(&v, "request_id", requestID)
	var sv apperr.Violations
	checkSlug(&sv, "subprocessor_id", sp.ID)
	checkName(&sv, "legal_name", sp.LegalName, maxLegalNameLen)
	countryOK := isoCountries[sp.Country]
	switch {
	case sp.Country == "":
		sv.Add("country", "is required")
	case !countryOK:
		sv.Add("country", "must be an ISO 3166-1 alpha-2 code in upper case, e.g. DE or US")
	}
	checkText(&sv, "purpose", sp.Purpose, true, maxPurposeLen)
	checkList(&sv, "products", sp.Products, productItem)
	checkList(&sv, "data_categories", sp.DataCategories, categoryItem)
	switch {
	case !sp.TransferMechanism.Valid():
		sv.Add("transfer_mechanism", "is not a known mechanism")
	case countryOK && !InEUEEACH(sp.Country) && !sp.TransferMechanism.legalBasis():
		sv.Add("transfer_mechanism", "must be ADEQUACY, SCC, FRAMEWORK or BCR for a country outside the EU/EEA/Switzerland")
	case countryOK && InEUEEACH(sp.Country) && sp.TransferMechanism.legalBasis():
		sv.Add("transfer_mechanism", "must be NONE or unset for a country inside the EU/EEA/Switzerland")
	}
	switch {
	case sp.AgreementTime.IsZero():
	case sp.AgreementTime.After(now.Add(timeSkew)):
		sv.Add("agreement_time", "must not be in the future")
	case sp.AgreementTime.Before(minAgreementTime):
		sv.Add("agreement_time", "must not be before 1995 (Directive 95/46/EC)")
	}
	if sp.Status != "" && !sp.Status.Valid() {
		sv.Add("status", "is not a known status")
	}
	v.Merge("subprocessor", sv)
	return v.Err()
}

// CreateSubprocessor registers a subprocessor, PROPOSED unless a status is
// given. requestID (optional) makes retries safe.
func (s *Service) CreateSubprocessor(ctx context.Context, requestID string, sp Subprocessor) (Subprocessor, error) {
	now := s.now()
	if err := validateCreateSubprocessor(requestID, sp, now); err != nil {
		return Subprocessor{}, err
	}
	in := Subprocessor{
		ID:                sp.ID,
		LegalName:         sp.LegalName,
		Country:           sp.Country,
		Purpose:           sp.Purpose,
		Products:          nilIfEmpty(sp.Products),
		DataCategories:    nilIfEmpty(sp.DataCategories),
		TransferMechanism: sp.TransferMechanism,
		AgreementTime:     storedTime(sp.AgreementTime),
		Status:            sp.Status,
	}
	idem := Idempotency{Key: requestID, Fingerprint: fingerprint("subprocessor", in)}
	if in.Status == "" {
		in.Status = SubprocessorProposed
	}
	in.CreateTime = now
	in.UpdateTime = now
	in.Version = 1
	out, err := s.store.CreateSubprocessor(ctx, in, idem)
	if err != nil {
		return Subprocessor{}, fmt.Errorf("create subprocessor %s: %w", sp.ID, err)
	}
	if err := s.registryChanged(ctx); err != nil {
		return Subprocessor{}, err
	}
	return out, nil
}

// GetSubprocessor returns one subprocessor.
func (s *Service) GetSubprocessor(ctx context.Context, id string) (Subprocessor, error) {
	var v apperr.Violations
	checkSlug(&v, "subprocessor_id", id)
	if err := v.Err(); err != nil {
		return Subprocessor{}, err
	}
	return s.store.GetSubprocessor(ctx, id)
}

// ListSubprocessorsParams are the inputs of ListSubprocessors.
type ListSubprocessorsParams struct {
	PageSize  int32
	PageToken string
	Product   string
	Status    SubprocessorStatus
	// AsOf, when set, asks for the list as it was at that time.
	AsOf time.Time
}

// subprocessorCursor is the content of a ListSubprocessors page token,
// binding the filter it was made for (AIP-158).
type subprocessorCursor struct {
	After   string             `json:"a"`
	Product string             `json:"p,omitempty"`
	Status  SubprocessorStatus `json:"s,omitempty"`
}

// ListSubprocessors returns one page of subprocessors in id order and the
// token of the next page ("" on the last page).
func (s *Service) ListSubprocessors(ctx context.Context, p ListSubprocessorsParams) ([]Subprocessor, string, error) {
	var v apperr.Violations
	size, err := mongox.PageSize(p.PageSize, defaultPageSize, maxPageSize)
	if err != nil {
		v.Add("page_size", "must not be negative")
	}
	if p.Product != "" {
		if msg := productItem(p.Product); msg != "" {
			v.Add("product", "%s", msg)
		}
	}
	if p.Status != "" && !p.Status.Valid() {
		v.Add("status", "is not a known status")
	}
	if !p.AsOf.IsZero() && p.AsOf.Before(minAgreementTime) {
		v.Add("as_of_time", "must not be before 1995")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	if !p.AsOf.IsZero() {
		return s.listSubprocessorsAsOf(ctx, p, size)
	}
	var cur subprocessorCursor
	if p.PageToken != "" {
		if err := mongox.DecodePageToken(p.PageToken, &cur); err != nil || cur.Product != p.Product || cur.Status != p.Status {
			v.Add("page_token", "not a token returned by a previous page with the same filter")
		}
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	list, err := s.store.ListSubprocessors(ctx, SubprocessorQuery{After: cur.After, Product: p.Product, Status: p.Status, Limit: size + 1})
	if err != nil {
		return nil, "", fmt.Errorf("list subprocessors: %w", err)
	}
	if len(list) <= size {
		return list, "", nil
	}
	list = list[:size]
	next, err := mongox.EncodePageToken(subprocessorCursor{After: list[size-1].ID, Product: p.Product, Status: p.Status})
	if err != nil {
		return nil, "", err
	}
	return list, next, nil
}

// SyncSubprocessorHistory is one step of the history repair worker: it
// completes the history of one subprocessor whose create was interrupted
// after the subprocessor was stored, and reports whether it did any work.
//
// Writes younger than historyGrace are left alone: their own create is most
// likely still finishing them.
func (s *Service) SyncSubprocessorHistory(ctx context.Context) (bool, error) {
	return s.store.SyncSubprocessorHistory(ctx, s.now().Add(-historyGrace))
}

// historyGrace is how old an unfinished history write must be before the
// repair worker completes it.
const historyGrace = time.Minute

// subprocessorPaths are the update_mask paths a client may change, in proto
// field order.
var subprocessorPaths = []string{
	"legal_name", "country", "purpose", "products", "data_categories",
	"transfer_mechanism", "agreement_time", "status",
}

// SubprocessorUpdate is a partial update (AIP-134): Paths name the fields
// of Subprocessor to change; Etag, when set, must match the current version.
type SubprocessorUpdate struct {
	Subprocessor Subprocessor
	Paths        []string
	Etag         string
}

// ValidateUpdateSubprocessor reports every problem of an UpdateSubprocessor
// input that can be seen without the stored subprocessor (id, etag, mask,
// the masked fields) as an *apperr.InvalidError, or nil.
func (s *Service) ValidateUpdateSubprocessor(u SubprocessorUpdate) error {
	_, _, err := checkSubprocessorUpdate(u, s.now())
	return err
}

// checkSubprocessorUpdate validates u and returns its mask paths without
// duplicates and the version its etag names (0 without an etag).
func checkSubprocessorUpdate(u SubprocessorUpdate, now time.Time) (paths []string, version int64, err error) {
	var v apperr.Violations
	var sv apperr.Violations
	checkSlug(&sv, "subprocessor_id", u.Subprocessor.ID)
	if u.Etag != "" {
		var ok bool
		if version, ok = parseEtag(u.Etag); !ok {
			sv.Add("etag", "is not an etag returned by this service")
		}
	}
	if len(u.Paths) == 0 {
		v.Add("update_mask", "must name at least one field: %s", strings.Join(subprocessorPaths, ", "))
	}
	for _, p := range u.Paths {
		switch {
		case slices.Contains(subprocessorPaths, p):
			if !slices.Contains(paths, p) {
				paths = append(paths, p)
			}
		case p == "subprocessor_id" || p == "create_time" || p == "update_time" || p == "version" || p == "etag":
			v.Add("update_mask", "field %q cannot be changed", p)
		default:
			v.Add("update_mask", "unknown field %q; allowed: %s", p, strings.Join(subprocessorPaths, ", "))
		}
	}
	// The masked fields are checked with the create rules, on their own;
	// rules across fields (the transfer mechanism for the country) are
	// checked again on the merged result.
	if err := validateCreateSubprocessor("", fillUnmasked(u.Subprocessor, paths), now); err != nil {
		if inv, ok := apperr.AsInvalid(err); ok {
			for _, fv := range inv.Violations {
				if field, ok := strings.CutPrefix(fv.Field, "subprocessor."); ok && maskedField(field, paths) {
					sv.Add(field, "%s", fv.Description)
				}
			}
		}
	}
	v.Merge("subprocessor", sv)
	if err := v.Err(); err != nil {
		return nil, 0, err
	}
	return paths, version, nil
}

// maskedField reports whether a violation's field (maybe "products[2]")
// belongs to one of paths.
func maskedField(field string, paths []string) bool {
	name, _, _ := strings.Cut(field, "[")
	return slices.Contains(paths, name)
}

// fillUnmasked returns in with valid placeholder values in the required
// fields the mask does not name, so the create rules can check the masked
// ones alone.
func fillUnmasked(in Subprocessor, paths []string) Subprocessor {
	out := in
	if !slices.Contains(paths, "legal_name") {
		out.LegalName = "x"
	}
	if !slices.Contains(paths, "purpose") {
		out.Purpose = "x"
	}
	if !slices.Contains(paths, "country") {
		out.Country = "DE"
		if slices.Contains(paths, "transfer_mechanism") && in.TransferMechanism.legalBasis() {
			out.Country = "US"
		}
	}
	if !slices.Contains(paths, "transfer_mechanism") {
		out.TransferMechanism = TransferUnspecified
		if !InEUEEACH(out.Country) {
			out.TransferMechanism = TransferSCC
		}
	}
	return out
}

// UpdateSubprocessor applies u and returns the subprocessor after the
// change, recorded as a new version in its history. Like UpdateCustomer:
// with an etag a stale version is ErrConflict (ABORTED); without one a lost
// race is re-read and re-applied up to maxUpdateRetries times.
func (s *Service) UpdateSubprocessor(ctx context.Context, u SubprocessorUpdate) (Subprocessor, error) {
	now := s.now()
	paths, want, err := checkSubprocessorUpdate(u, now)
	if err != nil {
		return Subprocessor{}, err
	}
	hasEtag := u.Etag != ""
	for range maxUpdateRetries {
		cur, err := s.store.GetSubprocessor(ctx, u.Subprocessor.ID)
		if err != nil {
			return Subprocessor{}, err
		}
		if hasEtag && cur.Version != want {
			return Subprocessor{}, fmt.Errorf("subprocessor %s: etag %s is stale: %w", cur.ID, u.Etag, apperr.ErrConflict)
		}
		next := applySubprocessorUpdate(cur, u.Subprocessor, paths, s.now())
		if err := validateCreateSubprocessor("", next, now); err != nil {
			return Subprocessor{}, err
		}
		out, err := s.store.UpdateSubprocessor(ctx, next, cur.Version)
		if errors.Is(err, apperr.ErrConflict) && !hasEtag {
			continue
		}
		if err != nil {
			return Subprocessor{}, fmt.Errorf("update subprocessor %s: %w", cur.ID, err)
		}
		if err := s.registryChanged(ctx); err != nil {
			return Subprocessor{}, err
		}
		return out, nil
	}
	return Subprocessor{}, fmt.Errorf("subprocessor %s: too many concurrent updates: %w", u.Subprocessor.ID, apperr.ErrConflict)
}

// applySubprocessorUpdate returns cur with the fields named in paths taken
// from in, and the server-maintained fields advanced.
func applySubprocessorUpdate(cur, in Subprocessor, paths []string, now time.Time) Subprocessor {
	next := cur
	for _, p := range paths {
		switch p {
		case "legal_name":
			next.LegalName = in.LegalName
		case "country":
			next.Country = in.Country
		case "purpose":
			next.Purpose = in.Purpose
		case "products":
			next.Products = nilIfEmpty(slices.Clone(in.Products))
		case "data_categories":
			next.DataCategories = nilIfEmpty(slices.Clone(in.DataCategories))
		case "transfer_mechanism":
			next.TransferMechanism = in.TransferMechanism
		case "agreement_time":
			next.AgreementTime = storedTime(in.AgreementTime)
		case "status":
			next.Status = in.Status
			if next.Status == "" {
				next.Status = cur.Status
			}
		}
	}
	next.UpdateTime = now
	next.Version = cur.Version + 1
	return next
}

// changedFields names the client-visible fields that differ between two
// versions, in proto field order.
func changedFields(prev, next Subprocessor) []string {
	var out []string
	add := func(name string, differs bool) {
		if differs {
			out = append(out, name)
		}
	}
	add("legal_name", prev.LegalName != next.LegalName)
	add("country", prev.Country != next.Country)
	add("purpose", prev.Purpose != next.Purpose)
	add("products", !slices.Equal(prev.Products, next.Products))
	add("data_categories", !slices.Equal(prev.DataCategories, next.DataCategories))
	add("transfer_mechanism", prev.TransferMechanism != next.TransferMechanism)
	add("agreement_time", !prev.AgreementTime.Equal(next.AgreementTime))
	add("status", prev.Status != next.Status)
	return out
}
