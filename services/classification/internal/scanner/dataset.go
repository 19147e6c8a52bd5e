package scanner

import (
	"sort"
	"strings"
)

// ColumnElement is one kind of personal information detected in a dataset
// column, with its evidence. It holds no values.
type ColumnElement struct {
	Type       Type
	Confidence float32
	// HeaderMatch is set when the column name names the type; HeaderKeyword
	// is the context word of the name that did.
	HeaderMatch   bool
	HeaderKeyword string
	// Matched of Sampled non-empty values validated as the type.
	Matched, Sampled int
}

// Ratio is the share of sampled values that matched, 0 when none were
// sampled.
func (e ColumnElement) Ratio() float32 {
	if e.Sampled == 0 {
		return 0
	}
	return float32(e.Matched) / float32(e.Sampled)
}

// kindTypes maps context kinds to the type a column name with that word
// holds.
var kindTypes = []struct {
	k kind
	t Type
}{
	{kSSN, SSN}, {kCard, PaymentCard}, {kRouting, RoutingNumber}, {kIBAN, IBAN}, {kAccount, BankAccount},
	{kDL, DriversLicense}, {kPassport, Passport}, {kEmail, Email}, {kPhone, Phone}, {kAddress, StreetAddress},
	{kDOB, DateOfBirth}, {kMRN, MedicalRecord}, {kInsurance, HealthInsurance}, {kNPI, NPI}, {kBiometric, Biometric},
	{kPassword, Credentials}, {kSecret, Secret},
}

// weakHeaderWords are context words too vague to name a column's type on
// their own ("payment_status", "contact_id").
var weakHeaderWords = map[string]bool{"payment": true, "discover": true, "pan": true, "credit": true, "debit": true,
	"bank": true, "deposit": true, "transit": true, "ach": true, "call": true, "contact": true, "mail": true,
	"chart": true, "policy": true, "member": true, "insured": true, "coverage": true, "patient": true, "license": true,
	"licence": true, "pass": true, "pw": true, "token": true, "tin": true, "cell": true, "ph": true, "mob": true,
	"residence": true, "home": true, "account": true, "accounts": true, "acc": true, "insurer": true, "iris": true,
	"facial": true, "transaction": true, "credential": true, "credentials": true, "subscriber": true, "cc": true,
	"visa": true, "fax": true, "record number": true, "health record": true, "sms": true}

// personHeaderWords are the column-name words for a person's name.
var personHeaderWords = map[string]bool{"name": true, "full name": true, "fullname": true, "first name": true,
	"last name": true, "surname": true, "given name": true, "patient name": true, "customer name": true,
	"employee name": true, "member name": true, "cardholder name": true, "cardholder": true, "card holder": true,
	"account holder": true}

// notPersonName are words that make "name" something other than a person's.
var notPersonName = []string{"file", "host", "company", "product", "domain", "user", "display", "org", "business",
	"vendor", "app", "server", "db", "table", "column", "field", "event", "service", "bucket", "brand", "merchant",
	"bank", "street", "city", "country", "state", "role", "group", "team", "project", "device", "model", "plan",
	"item", "category", "school", "hospital", "store", "site", "screen", "nick", "login", "account name"}

// headerTypes returns the types a column name names, with the keyword.
func (s *Scanner) headerTypes(name string) (kind, map[Type]string) {
	b := []byte(name)
	out := map[Type]string{}
	var all kind
	for q := 0; q < len(b); q++ {
		if !wordStart(b, q) {
			continue
		}
		node, end := s.kw.match(b, q)
		if node == 0 {
			continue
		}
		q = end - 1 // a phrase ("full name") is one word
		k, w := s.kw.kinds[node], s.kw.word[node]
		all |= k
		if personHeaderWords[w] {
			lname := strings.ToLower(name)
			person := true
			for _, x := range notPersonName {
				if strings.Contains(lname, x) {
					person = false
				}
			}
			if _, ok := out[PersonName]; person && !ok {
				out[PersonName] = w
			}
		}
		if weakHeaderWords[w] || k&kNeg != 0 {
			continue
		}
		for _, kt := range kindTypes {
			if k&kt.k != 0 {
				if _, ok := out[kt.t]; !ok {
					out[kt.t] = w
				}
				break
			}
		}
	}
	if all&kNeg != 0 {
		// "order_number", "invoice_id": a reference, whatever else it says.
		for t := range out {
			if t != PersonName {
				delete(out, t)
			}
		}
	}
	return all &^ kNeg, out
}

// strongTypes are types whose validation is strong enough that one
// matching value counts even without a matching column name.
func strongType(t Type) bool {
	switch t {
	case SSN, PaymentCard, IBAN, Email, Secret, Phone:
		return true
	}
	return false
}

// ClassifyColumn classifies one column from its name and sample values.
// Values are scanned with the column name as context; none is kept.
func (s *Scanner) ClassifyColumn(name string, values []string) []ColumnElement {
	base, hdr := s.headerTypes(name)
	var matched [numTypes]int
	sampled := 0
	var seen [numTypes]bool
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		sampled++
		seen = [numTypes]bool{}
		st := scan{s: s, b: []byte(v), base: base}
		st.run()
		for _, f := range st.findings {
			seen[f.Type] = true
		}
		if _, ok := hdr[PersonName]; ok || s.names[strings.ToLower(firstWord(v))] {
			if looksLikeName(v) {
				seen[PersonName] = true
			}
		}
		if _, ok := hdr[Credentials]; ok && !placeholder([]byte(v)) && len(v) >= 3 && !strings.ContainsAny(v, " \t") {
			seen[Credentials] = true
		}
		if _, ok := hdr[Secret]; ok && len(v) >= 16 && entropy([]byte(v)) >= 3.0 && mixed([]byte(v)) {
			seen[Secret] = true
		}
		for t := range seen {
			if seen[t] {
				matched[t]++
			}
		}
	}
	var out []ColumnElement
	for t := SSN; t < numTypes; t++ {
		kw, header := hdr[t]
		e := ColumnElement{Type: t, HeaderMatch: header, HeaderKeyword: kw, Matched: matched[t], Sampled: sampled}
		r := e.Ratio()
		switch {
		case header && sampled == 0:
			e.Confidence = 0.7
		case header && r >= 0.5:
			e.Confidence = 0.9 + 0.09*r
		case header:
			e.Confidence = 0.4 + 0.8*r
		case r >= 0.3:
			e.Confidence = 0.5 + 0.45*r
		case matched[t] > 0 && strongType(t):
			e.Confidence = 0.55
		}
		if e.Confidence >= 0.5 {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Confidence > out[j].Confidence })
	return out
}

func firstWord(v string) string {
	if i := strings.IndexAny(v, " ,"); i > 0 {
		return v[:i]
	}
	return v
}

// looksLikeName reports whether v is shaped like a person's name: one to
// four capitalised words of letters.
func looksLikeName(v string) bool {
	words := strings.Fields(v)
	if len(words) == 0 || len(words) > 4 {
		return false
	}
	for _, w := range words {
		w = strings.TrimRight(w, ".,")
		if w == "" || !isUpper(w[0]) {
			return false
		}
		for i := 1; i < len(w); i++ {
			if !isLetter(w[i]) && w[i] != '\'' && w[i] != '-' {
				return false
			}
		}
	}
	return true
}
