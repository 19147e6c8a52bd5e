package domain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongox"
)

// ReturnAction is what a customer asked for on termination (DPA 7.1).
type ReturnAction string

// Return actions.
const (
	ReturnActionReturn ReturnAction = "return"
	ReturnActionDelete ReturnAction = "delete"
)

// ReturnStatus is where a return/deletion request is.
type ReturnStatus string

// Return statuses: OPEN while dispositions are recorded, COMPLETED (final)
// once the deletion certificate is issued.
const (
	ReturnOpen      ReturnStatus = "open"
	ReturnCompleted ReturnStatus = "completed"
)

// DispositionKind is what happened to a set of data.
type DispositionKind string

// Disposition kinds.
const (
	DispositionReturned  DispositionKind = "returned"
	DispositionDestroyed DispositionKind = "destroyed"
)

// DataDisposition records data returned to the customer or destroyed.
type DataDisposition struct {
	Kind            DispositionKind
	DataDescription string
	System          string
	Method          string
	RecordCount     int64
	DispositionTime time.Time
	Evidence        string
	ArtefactSHA256  string
	RecordTime      time.Time
	Actor           string
	RequestID       string
	// Fingerprint tells a retry from a reuse of RequestID.
	Fingerprint string
}

// DataRetention records data kept because the law requires it.
type DataRetention struct {
	DataDescription string
	LegalBasis      string
	RetainUntil     time.Time
	RecordTime      time.Time
	Actor           string
	RequestID       string
	Fingerprint     string
}

// DeletionCertificate is the signed statement of what was returned,
// destroyed and retained. Document is canonical JSON, exactly the bytes
// signed.
type DeletionCertificate struct {
	ID        string
	Document  string
	Signature string
	Algorithm string
	PublicKey string
	KeyID     string
	IssueTime time.Time
}

// DataReturnRequest is a customer's request, on termination, to return or
// delete its data, and the record of how it was met.
type DataReturnRequest struct {
	ID               string
	CustomerID       string
	Action           ReturnAction
	Products         []string
	ScopeDescription string
	RequestedBy      string
	RequestTime      time.Time
	TerminationTime  time.Time
	Status           ReturnStatus
	Dispositions     []DataDisposition
	Retentions       []DataRetention
	Certificate      *DeletionCertificate
	CreateTime       time.Time
	UpdateTime       time.Time
	// Version counts changes; every change is fenced on it.
	Version int64
}

// DataReturnQuery selects return requests for a list page.
type DataReturnQuery struct {
	After                  string
	CustomerID             string
	Status                 ReturnStatus
	CreatedFrom, CreatedTo time.Time
	Limit                  int
}

// DataReturnStore keeps return/deletion requests and the certificate key.
type DataReturnStore interface {
	// CreateDataReturnRequest inserts r, or returns the request made with
	// the same idempotency key and fingerprint (RequestReusedError for a
	// key reused with other input).
	CreateDataReturnRequest(ctx context.Context, r DataReturnRequest, idem Idempotency) (DataReturnRequest, error)
	// GetDataReturnRequest returns one request or ErrNotFound.
	GetDataReturnRequest(ctx context.Context, id string) (DataReturnRequest, error)
	// ListDataReturnRequests returns up to q.Limit requests in id order.
	ListDataReturnRequests(ctx context.Context, q DataReturnQuery) ([]DataReturnRequest, error)
	// UpdateDataReturnRequest moves a request from version from to next,
	// exactly one writer winning each version (ErrConflict for the others).
	UpdateDataReturnRequest(ctx context.Context, next DataReturnRequest, from int64) (DataReturnRequest, error)
	// DevSigningSeed returns the development certificate key's seed,
	// storing candidate first if none is stored; every replica gets the
	// same one.
	DevSigningSeed(ctx context.Context, candidate []byte) ([]byte, error)
}

// Limits and ids of return requests.
const (
	maxDataDescLen      = 500
	returnIDPrefix      = "drr"
	certificateIDPrefix = "dlc"
	// certificateSchema names the certificate document format.
	certificateSchema = "breachline.deletion-certificate.v1"
	maxDispositions   = 500
	maxRetentions     = 100
)

// Valid reports whether a is a known action.
func (a ReturnAction) Valid() bool { return a == ReturnActionReturn || a == ReturnActionDelete }

// Valid reports whether s is a known status.
func (s ReturnStatus) Valid() bool { return s == ReturnOpen || s == ReturnCompleted }

// Valid reports whether k is a known kind.
func (k DispositionKind) Valid() bool { return k == DispositionReturned || k == DispositionDestroyed }

// OpenDataReturnParams are the inputs of OpenDataReturnRequest.
type OpenDataReturnParams struct {
	RequestID        string
	CustomerID       string
	Action           ReturnAction
	Products         []string
	ScopeDescription string
	RequestedBy      string
	RequestTime      time.Time
	TerminationTime  time.Time
}

// ValidateOpenDataReturnRequest reports every problem of the input (pure).
func (s *Service) ValidateOpenDataReturnRequest(p OpenDataReturnParams) error {
	return validateOpenDataReturn(p, s.now())
}

func validateOpenDataReturn(p OpenDataReturnParams, now time.Time) error {
	var v apperr.Violations
	checkRequestID(&v, "request_id", p.RequestID)
	checkSlug(&v, "customer_id", p.CustomerID)
	switch {
	case p.Action == "":
		v.Add("action", "is required")
	case !p.Action.Valid():
		v.Add("action", "is not a known action")
	}
	checkList(&v, "products", p.Products, productItem)
	checkText(&v, "scope_description", p.ScopeDescription, false, maxReasonLen)
	if p.RequestedBy != "" {
		checkName(&v, "requested_by", p.RequestedBy, maxSystemLen)
	}
	checkPast(&v, "request_time", p.RequestTime, now)
	checkPast(&v, "termination_time", p.TerminationTime, now)
	return v.Err()
}

// checkPast validates an optional time that must not be in the future.
func checkPast(v *apperr.Violations, field string, t, now time.Time) {
	if t = storedTime(t); !t.IsZero() && t.After(now.Add(timeSkew)) {
		v.Add(field, "must not be in the future")
	}
}

// OpenDataReturnRequest records a customer's request to return or delete
// its data. The customer must exist (NOT_FOUND). Idempotent on RequestID.
func (s *Service) OpenDataReturnRequest(ctx context.Context, p OpenDataReturnParams) (DataReturnRequest, error) {
	now := s.now()
	if err := validateOpenDataReturn(p, now); err != nil {
		return DataReturnRequest{}, err
	}
	in := DataReturnRequest{
		CustomerID: p.CustomerID, Action: p.Action, Products: slices.Clone(p.Products), ScopeDescription: p.ScopeDescription,
		RequestedBy: p.RequestedBy, RequestTime: storedTime(p.RequestTime), TerminationTime: storedTime(p.TerminationTime),
	}
	slices.Sort(in.Products)
	idem := Idempotency{Key: p.RequestID, Fingerprint: fingerprint("data-return", in)}
	if _, err := s.store.GetCustomer(ctx, p.CustomerID); err != nil {
		if errors.Is(err, apperr.ErrNotFound) {
			return DataReturnRequest{}, fmt.Errorf("data return request for customer %s: %w", p.CustomerID, apperr.ErrNotFound)
		}
		return DataReturnRequest{}, err
	}
	if in.RequestTime.IsZero() {
		in.RequestTime = now
	}
	in.ID = ids.New(returnIDPrefix)
	in.Status = ReturnOpen
	in.CreateTime, in.UpdateTime = now, now
	in.Version = 1
	out, err := s.store.CreateDataReturnRequest(ctx, in, idem)
	if err != nil {
		return DataReturnRequest{}, fmt.Errorf("open data return request: %w", err)
	}
	return out, nil
}

// GetDataReturnRequest returns one request.
func (s *Service) GetDataReturnRequest(ctx context.Context, id string) (DataReturnRequest, error) {
	if !ids.Valid(returnIDPrefix, id) {
		return DataReturnRequest{}, apperr.Invalid("data_return_request_id", "is not a data return request id")
	}
	return s.store.GetDataReturnRequest(ctx, id)
}

// ListDataReturnParams are the inputs of ListDataReturnRequests.
type ListDataReturnParams struct {
	PageSize   int32
	PageToken  string
	CustomerID string
	Status     ReturnStatus
}

type returnCursor struct {
	After    string       `json:"a"`
	Customer string       `json:"c,omitempty"`
	Status   ReturnStatus `json:"s,omitempty"`
}

// ListDataReturnRequests returns one page of requests in opening order.
func (s *Service) ListDataReturnRequests(ctx context.Context, p ListDataReturnParams) ([]DataReturnRequest, string, error) {
	var v apperr.Violations
	size, err := mongox.PageSize(p.PageSize, defaultPageSize, maxPageSize)
	if err != nil {
		v.Add("page_size", "must not be negative")
	}
	if p.CustomerID != "" {
		checkSlug(&v, "customer_id", p.CustomerID)
	}
	if p.Status != "" && !p.Status.Valid() {
		v.Add("status", "is not a known status")
	}
	var cur returnCursor
	if p.PageToken != "" {
		if err := mongox.DecodePageToken(p.PageToken, &cur); err != nil || cur.Customer != p.CustomerID || cur.Status != p.Status {
			v.Add("page_token", "not a token returned by a previous page with the same filter")
		}
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	list, err := s.store.ListDataReturnRequests(ctx, DataReturnQuery{After: cur.After, CustomerID: p.CustomerID, Status: p.Status, Limit: size + 1})
	if err != nil {
		return nil, "", fmt.Errorf("list data return requests: %w", err)
	}
	if len(list) <= size {
		return list, "", nil
	}
	list = list[:size]
	next, err := mongox.EncodePageToken(returnCursor{After: list[size-1].ID, Customer: p.CustomerID, Status: p.Status})
	if err != nil {
		return nil, "", err
	}
	return list, next, nil
}

// changeReturn reads request id, asks change for its next state and writes
// it fenced on the version read, retrying a lost race.
func (s *Service) changeReturn(ctx context.Context, id string, change func(DataReturnRequest) (DataReturnRequest, bool, error)) (DataReturnRequest, error) {
	if !ids.Valid(returnIDPrefix, id) {
		return DataReturnRequest{}, apperr.Invalid("data_return_request_id", "is not a data return request id")
	}
	for range maxUpdateRetries {
		cur, err := s.store.GetDataReturnRequest(ctx, id)
		if err != nil {
			return DataReturnRequest{}, err
		}
		next := cur
		next.Dispositions = slices.Clone(cur.Dispositions)
		next.Retentions = slices.Clone(cur.Retentions)
		next, changed, err := change(next)
		if err != nil || !changed {
			return next, err
		}
		next.Version = cur.Version + 1
		next.UpdateTime = s.now()
		out, err := s.store.UpdateDataReturnRequest(ctx, next, cur.Version)
		if errors.Is(err, apperr.ErrConflict) {
			continue
		}
		return out, err
	}
	return DataReturnRequest{}, fmt.Errorf("data return request %s changed concurrently: %w", id, apperr.ErrConflict)
}

// RecordDispositionParams are the inputs of RecordDataDisposition.
type RecordDispositionParams struct {
	ID              string
	Kind            DispositionKind
	DataDescription string
	System          string
	Method          string
	RecordCount     int64
	DispositionTime time.Time
	Evidence        string
	ArtefactSHA256  string
	RequestID       string
}

// ValidateRecordDataDisposition reports every problem of the input (pure).
func (s *Service) ValidateRecordDataDisposition(p RecordDispositionParams) error {
	now := s.now()
	var v apperr.Violations
	if !ids.Valid(returnIDPrefix, p.ID) {
		v.Add("data_return_request_id", "is not a data return request id")
	}
	switch {
	case p.Kind == "":
		v.Add("kind", "is required")
	case !p.Kind.Valid():
		v.Add("kind", "is not a known disposition kind")
	}
	checkText(&v, "data_description", p.DataDescription, true, maxDataDescLen)
	if p.System != "" {
		checkName(&v, "system", p.System, maxSystemLen)
	}
	checkText(&v, "method", p.Method, true, maxDataDescLen)
	if p.RecordCount < 0 {
		v.Add("record_count", "must not be negative")
	}
	checkPast(&v, "disposition_time", p.DispositionTime, now)
	checkText(&v, "evidence", p.Evidence, false, maxReasonLen)
	checkSHA256(&v, "artefact_sha256", p.ArtefactSHA256)
	checkRequestID(&v, "request_id", p.RequestID)
	return v.Err()
}

// RecordDataDisposition records data returned or destroyed, while the
// request is OPEN.
func (s *Service) RecordDataDisposition(ctx context.Context, p RecordDispositionParams) (DataReturnRequest, error) {
	if err := s.ValidateRecordDataDisposition(p); err != nil {
		return DataReturnRequest{}, err
	}
	who := actor(ctx)
	in := p
	in.DispositionTime = storedTime(p.DispositionTime)
	fp := fingerprint("disposition", in)
	return s.changeReturn(ctx, p.ID, func(cur DataReturnRequest) (DataReturnRequest, bool, error) {
		if p.RequestID != "" {
			for _, d := range cur.Dispositions {
				if d.RequestID == p.RequestID {
					if d.Fingerprint != fp {
						return DataReturnRequest{}, false, RequestReusedError()
					}
					return cur, false, nil
				}
			}
		}
		if err := recordable(cur, len(cur.Dispositions), maxDispositions); err != nil {
			return DataReturnRequest{}, false, err
		}
		now := s.now()
		at := in.DispositionTime
		if at.IsZero() {
			at = now
		}
		if at.Before(cur.RequestTime) {
			return DataReturnRequest{}, false, apperr.Invalid("disposition_time", "must not be before the customer's request")
		}
		cur.Dispositions = append(cur.Dispositions, DataDisposition{
			Kind: p.Kind, DataDescription: p.DataDescription, System: p.System, Method: p.Method, RecordCount: p.RecordCount,
			DispositionTime: at, Evidence: p.Evidence, ArtefactSHA256: p.ArtefactSHA256, RecordTime: now, Actor: who,
			RequestID: p.RequestID, Fingerprint: fp,
		})
		return cur, true, nil
	})
}

// recordable refuses records on a completed request or beyond limit.
func recordable(cur DataReturnRequest, have, limit int) error {
	switch {
	case cur.Status != ReturnOpen:
		return fmt.Errorf("data return request %s is %s: its certificate is issued and nothing more can be recorded: %w", cur.ID, cur.Status, apperr.ErrFailedPrecondition)
	case have >= limit:
		return fmt.Errorf("data return request %s holds %d records of this kind, the most it can: %w", cur.ID, limit, apperr.ErrFailedPrecondition)
	}
	return nil
}

// RecordRetentionParams are the inputs of RecordDataRetention.
type RecordRetentionParams struct {
	ID              string
	DataDescription string
	LegalBasis      string
	RetainUntil     time.Time
	RequestID       string
}

// ValidateRecordDataRetention reports every problem of the input (pure).
func (s *Service) ValidateRecordDataRetention(p RecordRetentionParams) error {
	var v apperr.Violations
	if !ids.Valid(returnIDPrefix, p.ID) {
		v.Add("data_return_request_id", "is not a data return request id")
	}
	checkText(&v, "data_description", p.DataDescription, true, maxDataDescLen)
	checkText(&v, "legal_basis", p.LegalBasis, true, maxDataDescLen)
	if t := storedTime(p.RetainUntil); !t.IsZero() && !t.After(s.now()) {
		v.Add("retain_until", "must be in the future")
	}
	checkRequestID(&v, "request_id", p.RequestID)
	return v.Err()
}

// RecordDataRetention records data kept because the law requires it, while
// the request is OPEN.
func (s *Service) RecordDataRetention(ctx context.Context, p RecordRetentionParams) (DataReturnRequest, error) {
	if err := s.ValidateRecordDataRetention(p); err != nil {
		return DataReturnRequest{}, err
	}
	who := actor(ctx)
	in := p
	in.RetainUntil = storedTime(p.RetainUntil)
	fp := fingerprint("retention", in)
	return s.changeReturn(ctx, p.ID, func(cur DataReturnRequest) (DataReturnRequest, bool, error) {
		if p.RequestID != "" {
			for _, r := range cur.Retentions {
				if r.RequestID == p.RequestID {
					if r.Fingerprint != fp {
						return DataReturnRequest{}, false, RequestReusedError()
					}
					return cur, false, nil
				}
			}
		}
		if err := recordable(cur, len(cur.Retentions), maxRetentions); err != nil {
			return DataReturnRequest{}, false, err
		}
		cur.Retentions = append(cur.Retentions, DataRetention{
			DataDescription: p.DataDescription, LegalBasis: p.LegalBasis, RetainUntil: in.RetainUntil,
			RecordTime: s.now(), Actor: who, RequestID: p.RequestID, Fingerprint: fp,
		})
		return cur, true, nil
	})
}

// certificateDoc is the signed document. Field order does not matter:
// Canonical sorts the keys. Times are RFC 3339 in UTC with milliseconds.
type certificateDoc struct {
	Schema          string          `json:"schema"`
	CertificateID   string          `json:"certificate_id"`
	RequestID       string          `json:"data_return_request_id"`
	CustomerID      string          `json:"customer_id"`
	Action          string          `json:"action"`
	Products        []string        `json:"products"`
	Scope           string          `json:"scope_description"`
	RequestTime     string          `json:"request_time"`
	TerminationTime string          `json:"termination_time,omitempty"`
	IssueTime       string          `json:"issue_time"`
	IssuedBy        string          `json:"issued_by"`
	KeyID           string          `json:"key_id"`
	Dispositions    []certDispDoc   `json:"dispositions"`
	Retentions      []certRetainDoc `json:"retentions"`
	Statement       string          `json:"statement"`
}

type certDispDoc struct {
	Kind            string `json:"kind"`
	DataDescription string `json:"data_description"`
	System          string `json:"system,omitempty"`
	Method          string `json:"method"`
	RecordCount     int64  `json:"record_count"`
	Time            string `json:"time"`
	Evidence        string `json:"evidence,omitempty"`
	ArtefactSHA256  string `json:"artefact_sha256,omitempty"`
}

type certRetainDoc struct {
	DataDescription string `json:"data_description"`
	LegalBasis      string `json:"legal_basis"`
	RetainUntil     string `json:"retain_until,omitempty"`
}

// certTime renders a certificate time.
func certTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// IssueDeletionCertificate completes a request with a signed certificate
// listing every disposition and retention. It needs at least one
// disposition and, for a DELETE request, at least one destruction. Issuing
// again returns the certificate already issued.
func (s *Service) IssueDeletionCertificate(ctx context.Context, id string) (DataReturnRequest, error) {
	if s.signer == nil {
		return DataReturnRequest{}, fmt.Errorf("no deletion signing key configured: %w", apperr.ErrUnavailable)
	}
	who := actor(ctx)
	return s.changeReturn(ctx, id, func(cur DataReturnRequest) (DataReturnRequest, bool, error) {
		if cur.Certificate != nil {
			return cur, false, nil
		}
		destroyed := slices.ContainsFunc(cur.Dispositions, func(d DataDisposition) bool { return d.Kind == DispositionDestroyed })
		switch {
		case len(cur.Dispositions) == 0:
			return DataReturnRequest{}, false, fmt.Errorf("data return request %s has no recorded disposition to certify: %w", cur.ID, apperr.ErrFailedPrecondition)
		case cur.Action == ReturnActionDelete && !destroyed:
			return DataReturnRequest{}, false, fmt.Errorf("data return request %s asks for deletion but records no destruction: %w", cur.ID, apperr.ErrFailedPrecondition)
		}
		now := s.now()
		cert := DeletionCertificate{
			ID: ids.New(certificateIDPrefix), Algorithm: CertificateAlgorithm, PublicKey: s.signer.PublicKey(),
			KeyID: s.signer.KeyID(), IssueTime: now,
		}
		doc := certificateDoc{
			Schema: certificateSchema, CertificateID: cert.ID, RequestID: cur.ID, CustomerID: cur.CustomerID,
			Action: string(cur.Action), Products: append([]string{}, cur.Products...), Scope: cur.ScopeDescription,
			RequestTime: certTime(cur.RequestTime), TerminationTime: certTime(cur.TerminationTime), IssueTime: certTime(now),
			IssuedBy: who, KeyID: cert.KeyID, Dispositions: []certDispDoc{}, Retentions: []certRetainDoc{},
			Statement: "The processor certifies that the customer data described here was returned or securely destroyed, " +
				"including copies, as listed, and that only the data listed under retentions is kept, because the law named requires it.",
		}
		for _, d := range cur.Dispositions {
			doc.Dispositions = append(doc.Dispositions, certDispDoc{
				Kind: string(d.Kind), DataDescription: d.DataDescription, System: d.System, Method: d.Method,
				RecordCount: d.RecordCount, Time: certTime(d.DispositionTime), Evidence: d.Evidence, ArtefactSHA256: d.ArtefactSHA256,
			})
		}
		for _, r := range cur.Retentions {
			doc.Retentions = append(doc.Retentions, certRetainDoc{DataDescription: r.DataDescription, LegalBasis: r.LegalBasis, RetainUntil: certTime(r.RetainUntil)})
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			return DataReturnRequest{}, false, fmt.Errorf("certificate document: %w", err)
		}
		canon, err := Canonical(raw)
		if err != nil {
			return DataReturnRequest{}, false, err
		}
		cert.Document = string(canon)
		cert.Signature = s.signer.Sign(canon)
		cur.Certificate = &cert
		cur.Status = ReturnCompleted
		return cur, true, nil
	})
}

// CertificateVerdict is the outcome of VerifyDeletionCertificate.
type CertificateVerdict struct {
	Valid         bool
	Reason        string
	KeyID         string
	CertificateID string
	OnRecord      bool
}

// ValidateVerifyDeletionCertificate reports every problem of the input (pure).
func (s *Service) ValidateVerifyDeletionCertificate(doc, sig string) error {
	var v apperr.Violations
	if doc == "" {
		v.Add("document", "is required")
	} else if len(doc) > 1<<20 {
		v.Add("document", "must be at most 1 MiB")
	}
	if sig == "" {
		v.Add("signature", "is required")
	} else if len(sig) > 200 {
		v.Add("signature", "must be at most 200 characters")
	}
	return v.Err()
}

// VerifyDeletionCertificate checks a certificate as the customer holds it:
// canonical, signed with the registry's key, and whether it is byte for
// byte the certificate on record for the request it names. An invalid
// certificate is an answer (Valid false with the reason), not an error.
func (s *Service) VerifyDeletionCertificate(ctx context.Context, doc, sig string) (CertificateVerdict, error) {
	if err := s.ValidateVerifyDeletionCertificate(doc, sig); err != nil {
		return CertificateVerdict{}, err
	}
	if s.signer == nil {
		return CertificateVerdict{}, fmt.Errorf("no deletion signing key configured: %w", apperr.ErrUnavailable)
	}
	var out CertificateVerdict
	var head struct {
		CertificateID string `json:"certificate_id"`
		RequestID     string `json:"data_return_request_id"`
	}
	if json.Unmarshal([]byte(doc), &head) == nil {
		out.CertificateID = head.CertificateID
	}
	keyID, err := VerifyWithKeys(s.SigningKeys(), doc, sig)
	out.KeyID = keyID
	if err != nil {
		out.Reason = err.Error()
		return out, nil
	}
	out.Valid = true
	if ids.Valid(returnIDPrefix, head.RequestID) {
		r, err := s.store.GetDataReturnRequest(ctx, head.RequestID)
		switch {
		case err == nil:
			out.OnRecord = r.Certificate != nil && r.Certificate.Document == doc && r.Certificate.Signature == sig
		case !errors.Is(err, apperr.ErrNotFound):
			return CertificateVerdict{}, err
		}
	}
	return out, nil
}
