package domain

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/breachline/breachline/pkg/apperr"
)

// Limits on one affected individual.
const (
	MaxExternalIDLen   = 128 // runes
	MaxFullNameLen     = 256 // runes
	MaxNamePartLen     = 128 // runes
	MaxEmailLen        = 254 // runes
	MaxPhoneLen        = 32  // runes
	MaxAddressLines    = 4
	MaxAddressLineLen  = 128 // runes
	MaxLocalityLen     = 128 // runes
	MaxPostalCodeLen   = 16  // runes
	MaxSourceNameLen   = 256 // runes
	MaxImportRequestID = 128 // bytes
)

// usSubdivisions are the ISO 3166-2:US codes: the states, the District of
// Columbia and the outlying areas, each with its own breach law or none.
var usSubdivisions = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO
		MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC AS GU MP PR UM VI`) {
		m[c] = true
	}
	return m
}()

// CanonicalJurisdiction checks an ISO 3166 jurisdiction code and returns
// its canonical form: a country ("DE"; the exceptionally reserved "UK"
// becomes "GB") or a subdivision ("US-TX", "CA-ON"). US subdivisions are
// checked against the full list; other countries' subdivisions by form.
func CanonicalJurisdiction(code string) (string, bool) {
	country, sub, hasSub := strings.Cut(code, "-")
	if len(country) != 2 || !isUpperAlpha(country) {
		return "", false
	}
	region, err := language.ParseRegion(country)
	if err != nil || !region.IsCountry() {
		return "", false
	}
	country = region.Canonicalize().String()
	if !hasSub {
		return country, true
	}
	if len(sub) < 1 || len(sub) > 3 || !isUpperAlnum(sub) {
		return "", false
	}
	if country == "US" && !usSubdivisions[sub] {
		return "", false
	}
	return country + "-" + sub, true
}

func isUpperAlpha(s string) bool {
	for i := range len(s) {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func isUpperAlnum(s string) bool {
	for i := range len(s) {
		if (s[i] < 'A' || s[i] > 'Z') && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
}

// ValidateHeader checks an import header.
func ValidateHeader(h ImportHeader) error {
	var v apperr.Violations
	if err := checkIncidentID("header.incident_id", h.IncidentID); err != nil {
		ie, _ := apperr.AsInvalid(err)
		v = append(v, ie.Violations...)
	}
	if len(h.RequestID) > MaxImportRequestID || !validRequestID(h.RequestID) {
		v.Add("header.request_id", "must be at most %d letters, digits, '.', '_', ':' or '-'", MaxImportRequestID)
	}
	if !utf8.ValidString(h.SourceName) || utf8.RuneCountInString(h.SourceName) > MaxSourceNameLen {
		v.Add("header.source_name", "must be valid UTF-8 of at most %d characters", MaxSourceNameLen)
	}
	return v.Err()
}

func validRequestID(s string) bool {
	for i := range len(s) {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// ValidateIndividual checks one individual and normalises it in place
// (canonical jurisdiction, sorted distinct data elements, trimmed text). It
// returns every problem found; reasons never quote the value, and a field
// whose text looks like a Social Security or payment card number is
// rejected, so such a value is never stored.
func ValidateIndividual(ind *Individual) []RowProblem {
	var p problems
	ind.ExternalID = strings.TrimSpace(ind.ExternalID)
	ind.FullName = strings.TrimSpace(ind.FullName)
	ind.GivenName = strings.TrimSpace(ind.GivenName)
	ind.FamilyName = strings.TrimSpace(ind.FamilyName)
	ind.Email = strings.TrimSpace(ind.Email)
	ind.Phone = strings.TrimSpace(ind.Phone)
	ind.Locality = strings.TrimSpace(ind.Locality)
	ind.PostalCode = strings.TrimSpace(ind.PostalCode)

	p.text("external_id", ind.ExternalID, MaxExternalIDLen)
	p.text("full_name", ind.FullName, MaxFullNameLen)
	p.text("given_name", ind.GivenName, MaxNamePartLen)
	p.text("family_name", ind.FamilyName, MaxNamePartLen)
	if ind.FullName == "" && ind.FamilyName == "" {
		p.add("full_name", "is required (or family_name)")
	}
	if p.text("email", ind.Email, MaxEmailLen) && ind.Email != "" && !plausibleEmail(ind.Email) {
		p.add("email", "must be an e-mail address such as name@example.org")
	}
	if p.text("phone", ind.Phone, MaxPhoneLen) && ind.Phone != "" && !plausiblePhone(ind.Phone) {
		p.add("phone", "must be a telephone number: 7 to 15 digits with optional '+', spaces, '-', '.', '(' and ')'")
	}
	lines := ind.AddressLines[:0]
	for _, l := range ind.AddressLines {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	ind.AddressLines = lines
	if len(lines) > MaxAddressLines {
		p.add("address_lines", "must have at most %d lines", MaxAddressLines)
	}
	for _, l := range lines {
		if !p.text("address_lines", l, MaxAddressLineLen) {
			break
		}
	}
	p.text("locality", ind.Locality, MaxLocalityLen)
	p.text("postal_code", ind.PostalCode, MaxPostalCodeLen)

	switch j, ok := CanonicalJurisdiction(strings.ToUpper(strings.TrimSpace(ind.Jurisdiction))); {
	case ind.Jurisdiction == "":
		p.add("jurisdiction", `is required: the ISO 3166 code of the state or country of residence, such as "US-TX" or "DE"`)
	case !ok:
		p.add("jurisdiction", `must be an ISO 3166 country or subdivision code such as "US-TX" or "DE"`)
	default:
		ind.Jurisdiction = j
	}
	if !ind.Relationship.Valid() {
		p.add("relationship", "must be one of ASSOCIATE, VENDOR, CUSTOMER, OTHER")
	}
	if len(ind.DataElements) == 0 {
		p.add("data_elements", "must name at least one compromised data element")
	}
	for i, e := range ind.DataElements {
		if !e.Valid() {
			p.add(indexed("data_elements", i), "is not a known data element")
		}
	}
	slices.Sort(ind.DataElements)
	ind.DataElements = slices.Compact(ind.DataElements)
	return p.list
}

type problems struct{ list []RowProblem }

func (p *problems) add(field, format string, args ...any) {
	var v apperr.Violations
	v.Add(field, format, args...)
	p.list = append(p.list, RowProblem{Field: field, Reason: v[0].Description})
}

// text checks one text field: valid UTF-8, at most maxLen characters, and
// not a sensitive value. It reports whether the field passed.
func (p *problems) text(field, s string, maxLen int) bool {
	if s == "" {
		return true
	}
	if !utf8.ValidString(s) {
		p.add(field, "must be valid UTF-8")
		return false
	}
	if utf8.RuneCountInString(s) > maxLen {
		p.add(field, "must be at most %d characters", maxLen)
		return false
	}
	if what := sensitiveKind(s); what != "" {
		p.add(field, "looks like it holds a %s; send which data elements were compromised, never their values", what)
		return false
	}
	return true
}

func plausibleEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(domain, "@ ") &&
		!strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".") && !strings.ContainsAny(local, " ")
}

func plausiblePhone(s string) bool {
	digits := 0
	for i := range len(s) {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' || c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return false
		}
	}
	return digits >= 7 && digits <= 15
}

func indexed(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }
