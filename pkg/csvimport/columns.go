package csvimport

import (
	"fmt"
	"slices"
	"strings"

	commonv1 "github.com/breachline/breachline/pkg/gen/breachline/common/v1"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
)

// column is what a CSV column holds.
type column int

const (
	colExternalID column = iota + 1
	colFullName
	colGivenName
	colFamilyName
	colEmail
	colPhone
	colAddress1
	colAddress2
	colAddress3
	colAddress4
	colLocality
	colPostalCode
	colJurisdiction
	colState
	colCountry
	colRelationship
	colDataElements
)

// Columns maps every accepted header name (after normalising: lower case,
// spaces and '-' as '_') to its column. The first name of each column in
// ColumnNames is the documented one.
var columnNames = map[column][]string{
	colExternalID:   {"external_id", "id", "person_id", "customer_id", "employee_id", "member_id"},
	colFullName:     {"full_name", "name"},
	colGivenName:    {"given_name", "first_name", "firstname", "forename"},
	colFamilyName:   {"family_name", "last_name", "lastname", "surname"},
	colEmail:        {"email", "email_address", "e_mail"},
	colPhone:        {"phone", "phone_number", "telephone", "tel", "mobile"},
	colAddress1:     {"address_line1", "address_line_1", "address1", "address", "street"},
	colAddress2:     {"address_line2", "address_line_2", "address2"},
	colAddress3:     {"address_line3", "address_line_3", "address3"},
	colAddress4:     {"address_line4", "address_line_4", "address4"},
	colLocality:     {"locality", "city", "town"},
	colPostalCode:   {"postal_code", "zip", "zip_code", "zipcode", "postcode"},
	colJurisdiction: {"jurisdiction", "residence", "jurisdiction_of_residence"},
	colState:        {"state", "province", "region", "subdivision", "state_code"},
	colCountry:      {"country", "country_code"},
	colRelationship: {"relationship", "relation"},
	colDataElements: {"data_elements", "elements", "compromised", "compromised_data", "compromised_elements", "data_compromised"},
}

var byName = func() map[string]column {
	m := map[string]column{}
	for c, names := range columnNames {
		for _, n := range names {
			m[n] = c
		}
	}
	return m
}()

// ColumnNames returns the documented name of every accepted column, in
// order.
func ColumnNames() []string {
	out := make([]string, 0, len(columnNames))
	for c := colExternalID; c <= colDataElements; c++ {
		out = append(out, columnNames[c][0])
	}
	return out
}

// sensitiveWords are header words of columns that would hold the values of
// compromised data (which Breachline never takes) rather than which kinds
// were compromised.
var sensitiveWords = map[string]bool{
	"ssn": true, "social": true, "sin": true, "card": true, "cc": true, "ccn": true, "pan": true,
	"cvv": true, "cvc": true, "iban": true, "account": true, "acct": true, "routing": true,
	"password": true, "passwd": true, "pwd": true, "pin": true, "passport": true, "license": true,
	"licence": true, "tin": true, "dob": true, "birth": true, "birthdate": true, "secret": true,
	"credential": true, "credentials": true, "token": true,
}

var (
	headerReplacer = strings.NewReplacer(" ", "_", "-", "_", ".", "_")
	enumReplacer   = strings.NewReplacer(" ", "_", "-", "_", "'", "")
)

func normalizeHeader(h string) string {
	return headerReplacer.Replace(strings.ToLower(strings.TrimSpace(h)))
}

func looksSensitive(name string) bool {
	for _, w := range strings.Split(name, "_") {
		if sensitiveWords[w] {
			return true
		}
	}
	return false
}

// layout is a parsed header: the column of each field position.
type layout struct {
	cols []column
}

// parseHeader checks the header row. Every problem is a reason to refuse the
// file before anything is stored: a column that would hold sensitive values,
// an unknown or repeated column, or a missing required one.
func parseHeader(rec []string) (layout, error) {
	var l layout
	var problems []string
	seen := map[column]string{}
	for i, raw := range rec {
		if i == 0 {
			raw = strings.TrimPrefix(raw, "\ufeff") // a byte order mark from spreadsheet exports
		}
		name := normalizeHeader(raw)
		c, known := byName[name]
		switch {
		case known:
			if prev, dup := seen[c]; dup {
				problems = append(problems, fmt.Sprintf("column %d %q repeats column %q", i+1, raw, prev))
			}
			seen[c] = raw
		case looksSensitive(name):
			problems = append(problems, fmt.Sprintf("column %d %q looks like it holds sensitive values (SSNs, card or account numbers, passwords); "+
				"remove it and list which kinds of data were compromised in data_elements instead — never the values", i+1, raw))
		default:
			problems = append(problems, fmt.Sprintf("column %d %q is not a known column", i+1, raw))
		}
		l.cols = append(l.cols, c)
	}
	if !l.has(colFullName) && !l.has(colFamilyName) {
		problems = append(problems, "a name column is required: full_name, or given_name and family_name")
	}
	if !l.has(colJurisdiction) && !l.has(colState) && !l.has(colCountry) {
		problems = append(problems, "a residence column is required: jurisdiction (ISO 3166, e.g. US-TX or DE), or state and country")
	}
	if !l.has(colRelationship) {
		problems = append(problems, "a relationship column is required (ASSOCIATE, VENDOR, CUSTOMER or OTHER)")
	}
	if !l.has(colDataElements) {
		problems = append(problems, "a data_elements column is required (e.g. SSN;NAME)")
	}
	if len(problems) > 0 {
		return layout{}, fmt.Errorf("header: %s (accepted columns: %s)", strings.Join(problems, "; "), strings.Join(ColumnNames(), ", "))
	}
	return l, nil
}

func (l layout) has(c column) bool { return slices.Contains(l.cols, c) }

// row builds the individual of one record (which has as many fields as the
// header). Values the intake service validates (jurisdiction, relationship,
// data elements) are mapped liberally; what cannot be mapped becomes the
// zero value, which intake rejects with a precise reason.
func (l layout) row(rec []string) *intakev1.AffectedIndividual {
	ind := &intakev1.AffectedIndividual{}
	var state, country string
	var addr [4]string
	for i, c := range l.cols {
		v := strings.TrimSpace(rec[i])
		switch c {
		case colExternalID:
			ind.ExternalId = v
		case colFullName:
			ind.FullName = v
		case colGivenName:
			ind.GivenName = v
		case colFamilyName:
			ind.FamilyName = v
		case colEmail:
			ind.Email = v
		case colPhone:
			ind.Phone = v
		case colAddress1, colAddress2, colAddress3, colAddress4:
			addr[c-colAddress1] = v
		case colLocality:
			ind.Locality = v
		case colPostalCode:
			ind.PostalCode = v
		case colJurisdiction:
			ind.Jurisdiction = strings.ToUpper(v)
		case colState:
			state = strings.ToUpper(v)
		case colCountry:
			country = strings.ToUpper(v)
		case colRelationship:
			ind.Relationship = relationship(v)
		case colDataElements:
			ind.DataElements = dataElements(v)
		}
	}
	for _, a := range addr {
		if a != "" {
			ind.AddressLines = append(ind.AddressLines, a)
		}
	}
	if ind.Jurisdiction == "" {
		ind.Jurisdiction = jurisdiction(state, country)
	}
	return ind
}

var countryAliases = map[string]string{
	"USA": "US", "U.S.": "US", "U.S.A.": "US", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US",
	"UK": "GB", "UNITED KINGDOM": "GB", "GERMANY": "DE", "DEUTSCHLAND": "DE", "FRANCE": "FR", "CANADA": "CA",
}

// jurisdiction combines a state and a country column into an ISO 3166 code:
// ("TX", "US") → "US-TX"; ("TX", "") → "US-TX" (a state alone is taken as a
// US state); ("", "DE") → "DE"; a state already in "US-TX" form is kept.
func jurisdiction(state, country string) string {
	if a, ok := countryAliases[country]; ok {
		country = a
	}
	switch {
	case strings.Contains(state, "-"):
		return state
	case state == "":
		return country
	case country == "":
		return "US-" + state
	default:
		return country + "-" + state
	}
}

var relationshipAliases = map[string]intakev1.Relationship{
	"EMPLOYEE": intakev1.Relationship_RELATIONSHIP_ASSOCIATE, "STAFF": intakev1.Relationship_RELATIONSHIP_ASSOCIATE,
	"VOLUNTEER": intakev1.Relationship_RELATIONSHIP_ASSOCIATE, "CLIENT": intakev1.Relationship_RELATIONSHIP_CUSTOMER,
	"MEMBER": intakev1.Relationship_RELATIONSHIP_CUSTOMER, "SUPPLIER": intakev1.Relationship_RELATIONSHIP_VENDOR,
}

func relationship(v string) intakev1.Relationship {
	v = strings.TrimPrefix(enumWord(v), "RELATIONSHIP_")
	if r, ok := intakev1.Relationship_value["RELATIONSHIP_"+v]; ok {
		return intakev1.Relationship(r)
	}
	return relationshipAliases[v]
}

var elementAliases = map[string]commonv1.DataElement{
	"SOCIAL_SECURITY_NUMBER": commonv1.DataElement_DATA_ELEMENT_SSN,
	"DL":                     commonv1.DataElement_DATA_ELEMENT_DRIVERS_LICENSE,
	"DRIVERS_LICENCE":        commonv1.DataElement_DATA_ELEMENT_DRIVERS_LICENSE,
	"DRIVER_LICENSE":         commonv1.DataElement_DATA_ELEMENT_DRIVERS_LICENSE,
	"DRIVER_LICENCE":         commonv1.DataElement_DATA_ELEMENT_DRIVERS_LICENSE,
	"CARD":                   commonv1.DataElement_DATA_ELEMENT_PAYMENT_CARD,
	"CREDIT_CARD":            commonv1.DataElement_DATA_ELEMENT_PAYMENT_CARD,
	"DEBIT_CARD":             commonv1.DataElement_DATA_ELEMENT_PAYMENT_CARD,
	"BANK_ACCOUNT":           commonv1.DataElement_DATA_ELEMENT_FINANCIAL_ACCOUNT,
	"ACCOUNT_NUMBER":         commonv1.DataElement_DATA_ELEMENT_FINANCIAL_ACCOUNT,
	"PIN":                    commonv1.DataElement_DATA_ELEMENT_FINANCIAL_ACCESS_CODE,
	"CREDENTIALS":            commonv1.DataElement_DATA_ELEMENT_ONLINE_CREDENTIALS,
	"ADDRESS":                commonv1.DataElement_DATA_ELEMENT_HOME_ADDRESS,
	"EMAIL":                  commonv1.DataElement_DATA_ELEMENT_EMAIL_ADDRESS,
	"HEALTH":                 commonv1.DataElement_DATA_ELEMENT_MEDICAL,
	"DOB":                    commonv1.DataElement_DATA_ELEMENT_DATE_OF_BIRTH,
	"PHONE":                  commonv1.DataElement_DATA_ELEMENT_PHONE_NUMBER,
	"TIN":                    commonv1.DataElement_DATA_ELEMENT_TAX_ID,
}

// dataElements parses a list of element names separated by ';', '|' or
// ','. Names are the DataElement names with or without the DATA_ELEMENT_
// prefix, in any case, with spaces or '-' for '_', or a common alias ("dob",
// "credit card"). An unknown name becomes DATA_ELEMENT_UNSPECIFIED, which
// intake reports as a row error by position.
func dataElements(v string) []commonv1.DataElement {
	var out []commonv1.DataElement
	for part := range strings.FieldsFuncSeq(v, func(r rune) bool { return r == ';' || r == '|' || r == ',' }) {
		w := strings.TrimPrefix(enumWord(part), "DATA_ELEMENT_")
		if w == "" {
			continue
		}
		if e, ok := commonv1.DataElement_value["DATA_ELEMENT_"+w]; ok && e != 0 {
			out = append(out, commonv1.DataElement(e))
			continue
		}
		out = append(out, elementAliases[w])
	}
	return out
}

func enumWord(v string) string {
	return enumReplacer.Replace(strings.ToUpper(strings.TrimSpace(v)))
}
