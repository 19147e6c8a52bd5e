package server

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/breachline/breachline/pkg/apperr"
	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	commonv1 "github.com/breachline/breachline/pkg/gen/breachline/common/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/services/classification/internal/domain"
	"github.com/breachline/breachline/services/classification/internal/scanner"
)

// ScannerServer implements classificationv1.ScannerServiceServer over the
// personal-information scanner. Content is scanned in memory and only masked
// findings leave it; the one thing it stores is a removal hand-over (kinds,
// count and location, never values) when a customer's content holds data we
// must not store.
type ScannerServer struct {
	classificationv1.UnimplementedScannerServiceServer
	sc        *scanner.Scanner
	handovers domain.HandoverStore
	now       func() time.Time
}

var (
	_ classificationv1.ScannerServiceServer = (*ScannerServer)(nil)
	_ grpcx.RequestValidator                = (*ScannerServer)(nil)
)

// NewScanner returns the ScannerService handlers.
func NewScanner(sc *scanner.Scanner) *ScannerServer {
	return &ScannerServer{sc: sc}
}

// WithHandovers lets scans with a customer_id record removal hand-overs in
// store (the hand-over relay delivers them to the registry).
func (s *ScannerServer) WithHandovers(store domain.HandoverStore, now func() time.Time) *ScannerServer {
	s.handovers, s.now = store, now
	return s
}

// ScanContent scans text or bytes and returns masked findings. With a
// customer_id, prohibited findings are recorded as a removal hand-over
// before the answer, so an acknowledged scan's removal request is durable.
func (s *ScannerServer) ScanContent(ctx context.Context, req *classificationv1.ScanContentRequest) (*classificationv1.ScanContentResponse, error) {
	if err := validateScan(req); err != nil {
		return nil, err
	}
	var content []byte
	switch c := req.GetContent().(type) {
	case *classificationv1.ScanContentRequest_Data:
		content = c.Data
	case *classificationv1.ScanContentRequest_Text:
		content = []byte(c.Text)
	}
	r := s.sc.Scan(content)
	resp := &classificationv1.ScanContentResponse{
		ScannedBytes:      int64(len(content)),
		FindingsTruncated: r.Truncated,
		Findings:          make([]*classificationv1.ScanFinding, 0, len(r.Findings)),
	}
	var types []scanner.Type
	for _, f := range r.Findings {
		resp.Findings = append(resp.Findings, &classificationv1.ScanFinding{
			Type:         classificationv1.PersonalDataType(f.Type),
			StartOffset:  int64(f.Start),
			EndOffset:    int64(f.End),
			Confidence:   f.Confidence,
			MaskedValue:  f.Masked,
			ContextWords: f.Context,
			DataElements: DataElements(f.Type),
		})
	}
	for _, t := range scanner.Types() {
		if n := r.Counts[t]; n > 0 {
			resp.Counts = append(resp.Counts, &classificationv1.PersonalDataTypeCount{Type: classificationv1.PersonalDataType(t), Count: int64(n)})
			types = append(types, t)
		}
	}
	resp.DataElements, resp.ProhibitedTypes = summarise(types)
	resp.ProhibitedForHostedStorage = len(resp.ProhibitedTypes) > 0
	if req.GetCustomerId() != "" && resp.ProhibitedForHostedStorage {
		h, err := s.recordHandover(ctx, req.GetCustomerId(), req.GetLocation(), r)
		if err != nil {
			return nil, err
		}
		resp.RemovalRequestPending = true
		resp.RemovalHandoverId = h.ID
	}
	return resp, nil
}

// recordHandover stores the removal hand-over for the prohibited types of
// r (a repeat of the same customer, location and types finds the one
// already stored).
func (s *ScannerServer) recordHandover(ctx context.Context, customerID, location string, r scanner.Result) (domain.RemovalHandover, error) {
	if s.handovers == nil {
		return domain.RemovalHandover{}, fmt.Errorf("removal hand-overs are not configured: %w", apperr.ErrUnavailable)
	}
	var st []domain.SensitiveType
	var n int64
	for _, t := range scanner.Types() {
		if c := r.Counts[t]; c > 0 && t.ProhibitedForHostedStorage() {
			st = append(st, sensitiveType(t))
			n += int64(c)
		}
	}
	h := domain.RemovalHandover{
		ID:           domain.HandoverID(customerID, location, st),
		CustomerID:   customerID,
		Location:     location,
		Types:        st,
		FindingCount: n,
		CreateTime:   s.now().UTC().Truncate(time.Millisecond),
	}
	stored, _, err := s.handovers.RecordHandover(ctx, h)
	if err != nil {
		return domain.RemovalHandover{}, fmt.Errorf("record removal hand-over: %w", err)
	}
	return stored, nil
}

// sensitiveType is the removal request type of a prohibited scanner type.
func sensitiveType(t scanner.Type) domain.SensitiveType {
	switch t {
	case scanner.SSN:
		return domain.SensitiveSSN
	case scanner.PaymentCard:
		return domain.SensitivePaymentCard
	case scanner.BankAccount:
		return domain.SensitiveBankAccount
	case scanner.RoutingNumber:
		return domain.SensitiveRoutingNumber
	case scanner.IBAN:
		return domain.SensitiveIBAN
	case scanner.MedicalRecord:
		return domain.SensitiveMedicalRecord
	case scanner.HealthInsurance:
		return domain.SensitiveHealthInsurance
	case scanner.NPI:
		return domain.SensitiveProviderID
	}
	return ""
}

// ClassifyDataset classifies each column of a tabular sample.
func (s *ScannerServer) ClassifyDataset(_ context.Context, req *classificationv1.ClassifyDatasetRequest) (*classificationv1.ClassifyDatasetResponse, error) {
	if err := validateDataset(req); err != nil {
		return nil, err
	}
	resp := &classificationv1.ClassifyDatasetResponse{}
	seen := map[scanner.Type]bool{}
	var types []scanner.Type
	values := make([]string, len(req.GetRows()))
	for i, name := range req.GetColumnNames() {
		for r, row := range req.GetRows() {
			values[r] = ""
			if i < len(row.GetValues()) {
				values[r] = row.GetValues()[i]
			}
		}
		col := &classificationv1.ColumnClassification{ColumnIndex: int32(i), ColumnName: name}
		for _, e := range s.sc.ClassifyColumn(name, values) {
			col.Elements = append(col.Elements, &classificationv1.ColumnElement{
				Type:            classificationv1.PersonalDataType(e.Type),
				DataElements:    DataElements(e.Type),
				Confidence:      e.Confidence,
				HeaderMatch:     e.HeaderMatch,
				HeaderKeyword:   e.HeaderKeyword,
				ValueMatchRatio: e.Ratio(),
				MatchedValues:   int32(e.Matched),
				SampledValues:   int32(e.Sampled),
			})
			if !seen[e.Type] {
				seen[e.Type] = true
				types = append(types, e.Type)
			}
		}
		resp.Columns = append(resp.Columns, col)
	}
	resp.DataElements, resp.ProhibitedTypes = summarise(types)
	resp.ProhibitedForHostedStorage = len(resp.ProhibitedTypes) > 0
	return resp, nil
}

// ValidateRequest implements grpcx.RequestValidator for the scanner's
// requests.
func (s *ScannerServer) ValidateRequest(_ context.Context, req any) error {
	switch r := req.(type) {
	case *classificationv1.ScanContentRequest:
		return validateScan(r)
	case *classificationv1.ClassifyDatasetRequest:
		return validateDataset(r)
	}
	return nil
}

func validateScan(req *classificationv1.ScanContentRequest) error {
	field, size := "", 0
	switch c := req.GetContent().(type) {
	case *classificationv1.ScanContentRequest_Text:
		field, size = "text", len(c.Text)
	case *classificationv1.ScanContentRequest_Data:
		field, size = "data", len(c.Data)
	}
	v := scanner.ValidateContent(field, size, len(req.GetContentName()))
	checkRemovalTarget(&v, req.GetCustomerId(), req.GetLocation())
	return v.Err()
}

// customerIDRE is the registry's customer id shape.
var customerIDRE = regexp.MustCompile(`^[a-z][a-z0-9-]{2,62}$`)

// maxLocationBytes bounds a scan's location (the registry's limit).
const maxLocationBytes = 1024

// checkRemovalTarget validates the optional customer_id and location of a
// scan: a location needs a customer, a customer needs a location.
func checkRemovalTarget(v *apperr.Violations, customerID, location string) {
	if customerID == "" {
		if location != "" {
			v.Add("location", "needs customer_id")
		}
		return
	}
	if !customerIDRE.MatchString(customerID) {
		v.Add("customer_id", "must be 3 to 63 lowercase letters, digits or '-', starting with a letter")
	}
	switch {
	case strings.TrimSpace(location) == "":
		v.Add("location", "is required with customer_id")
	case len(location) > maxLocationBytes:
		v.Add("location", "must be at most %d bytes", maxLocationBytes)
	case !utf8.ValidString(location) || strings.IndexFunc(location, unicode.IsControl) >= 0:
		v.Add("location", "must be one line of UTF-8 text without control characters")
	}
}

func validateDataset(req *classificationv1.ClassifyDatasetRequest) error {
	rows := make([][]string, len(req.GetRows()))
	for i, r := range req.GetRows() {
		rows[i] = r.GetValues()
	}
	return scanner.ValidateDataset(req.GetColumnNames(), rows).Err()
}

// DataElements returns the breach-law data elements a finding of type t is
// evidence of. Routing numbers and IBANs are financial accounts; an NPI
// identifies a provider in medical records; an API key or other secret is
// an access code (PASSWORD).
func DataElements(t scanner.Type) []commonv1.DataElement {
	switch t {
	case scanner.SSN:
		return []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_SSN}
	case scanner.PaymentCard:
		return []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_PAYMENT_CARD}
	case scanner.BankAccount, scanner.RoutingNumber, scanner.IBAN:
		return []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_FINANCIAL_ACCOUNT}
	case scanner.DriversLicense:
		return []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_DRIVERS_LICENSE}
	case scanner.Passport:
		return []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_PASSPORT}
	case scanner.Email:
		return []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_EMAIL_ADDRESS}
	case scanner.Phone:
		return []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_PHONE_NUMBER}
	case scanner.StreetAddress:
		return []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_HOME_ADDRESS}
	case scanner.DateOfBirth:
		return []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_DATE_OF_BIRTH}
	case scanner.MedicalRecord, scanner.NPI:
		return []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_MEDICAL}
	case scanner.HealthInsurance:
		return []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_HEALTH_INSURANCE}
	case scanner.Biometric:
		return []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_BIOMETRIC}
	case scanner.Credentials:
		return []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_ONLINE_CREDENTIALS, commonv1.DataElement_DATA_ELEMENT_PASSWORD}
	case scanner.Secret:
		return []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_PASSWORD}
	case scanner.PersonName:
		return []commonv1.DataElement{commonv1.DataElement_DATA_ELEMENT_NAME}
	}
	return nil
}

// summarise returns the distinct data elements of the types, and the types
// prohibited in hosted storage, in type order.
func summarise(types []scanner.Type) ([]commonv1.DataElement, []classificationv1.PersonalDataType) {
	var elems []commonv1.DataElement
	var prohibited []classificationv1.PersonalDataType
	seen := map[commonv1.DataElement]bool{}
	for _, t := range scanner.Types() {
		found := false
		for _, x := range types {
			found = found || x == t
		}
		if !found {
			continue
		}
		for _, e := range DataElements(t) {
			if !seen[e] {
				seen[e] = true
				elems = append(elems, e)
			}
		}
		if t.ProhibitedForHostedStorage() {
			prohibited = append(prohibited, classificationv1.PersonalDataType(t))
		}
	}
	return elems, prohibited
}

// Validators combines request validators: each handles its own request
// types and returns nil for the others, so the first error wins.
type Validators []grpcx.RequestValidator

var _ grpcx.RequestValidator = Validators(nil)

// ValidateRequest implements grpcx.RequestValidator.
func (vs Validators) ValidateRequest(ctx context.Context, req any) error {
	for _, v := range vs {
		if err := v.ValidateRequest(ctx, req); err != nil {
			return err
		}
	}
	return nil
}
