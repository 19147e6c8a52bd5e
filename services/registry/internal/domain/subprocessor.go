package domain

import (
	"context"
	"fmt"
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
