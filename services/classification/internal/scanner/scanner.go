// Package scanner finds personal information in text and tabular samples:
// government, financial, contact, health and credential identifiers, each
// validated (checksums, issuer and number ranges) and weighed by the context
// words around it.
//
// The scanner is built for throughput: one pass over the bytes with a
// byte-class table that skips everything that cannot start a candidate
// (digits, '@', '=', ':', '<' and "-----" start one), validators that run only
// on located candidates, and context words recognised lazily, only around
// candidates that need them. Go regexp is not used.
//
// A Finding never holds the value it found: only its offsets and a masked
// rendering computed at detection time.
package scanner

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"sort"
	"strings"
)

// Type is the kind of personal information a finding is. The values match
// breachline.classification.v1.PersonalDataType.
type Type uint8

// The types.
const (
	TypeUnspecified Type = iota
	SSN
	PaymentCard
	BankAccount
	RoutingNumber
	IBAN
	DriversLicense
	Passport
	Email
	Phone
	StreetAddress
	DateOfBirth
	MedicalRecord
	HealthInsurance
	NPI
	Biometric
	Credentials
	Secret
	PersonName
	numTypes
)

var typeNames = [numTypes]string{
	"unspecified", "ssn", "card", "bank_account", "routing", "iban", "drivers_license", "passport", "email",
	"phone", "address", "dob", "mrn", "health_insurance", "npi", "biometric", "credentials", "secret", "name",
}

// String returns the type's short name, e.g. "ssn".
func (t Type) String() string {
	if t < numTypes {
		return typeNames[t]
	}
	return "unknown"
}

// ParseType returns the type with the short name s.
func ParseType(s string) (Type, bool) {
	for i, n := range typeNames {
		if n == s && i > 0 {
			return Type(i), true
		}
	}
	return TypeUnspecified, false
}

// Types lists every type.
func Types() []Type {
	out := make([]Type, 0, numTypes-1)
	for t := SSN; t < numTypes; t++ {
		out = append(out, t)
	}
	return out
}

// ProhibitedForHostedStorage reports whether the hosted service must not
// store data of this type: Social Security numbers, HIPAA-protected
// identifiers, bank account and card numbers.
func (t Type) ProhibitedForHostedStorage() bool {
	switch t {
	case SSN, PaymentCard, BankAccount, RoutingNumber, IBAN, MedicalRecord, HealthInsurance:
		return true
	}
	return false
}

// Finding is one piece of personal information. It holds no raw value.
type Finding struct {
	Type Type
	// Start and End are byte offsets: the finding is content[Start:End].
	Start, End int
	// Confidence is from 0 to 1.
	Confidence float32
	// Masked keeps at most the last four characters of the value and its
	// separators.
	Masked string
	// Context lists the context words that supported the finding.
	Context []string
}

// MaxFindings bounds the findings one Scan returns; Counts still count all.
const MaxFindings = 10000

// Result is the outcome of a scan.
type Result struct {
	// Findings are ordered by Start (at most MaxFindings).
	Findings []Finding
	// Counts holds the number of findings of each type, all of them.
	Counts [numTypes]int
	// Truncated is set when there were more than MaxFindings findings.
	Truncated bool
}

// Scanner finds personal information. It is safe for concurrent use.
type Scanner struct {
	kw    *trie
	class [256]uint8
	names map[string]bool
	// suffixes are street suffixes, lower case ('s' strong, 'w' weak).
	suffixes map[string]byte
	// bio finds biometric phrases (biometric.go).
	bio *bioFilter
}

// byte classes of the main loop
const (
	clsNone uint8 = iota
	clsDigit
	clsAt
	clsAssign
	clsDash
	clsLt
)

// New returns a Scanner.
func New() *Scanner {
	s := &Scanner{kw: newTrie(), names: firstNames(), suffixes: streetSuffixSet(), bio: newBioFilter()}
	for c := '0'; c <= '9'; c++ {
		s.class[c] = clsDigit
	}
	s.class['@'] = clsAt
	s.class['='] = clsAssign
	s.class[':'] = clsAssign
	s.class['-'] = clsDash
	s.class['<'] = clsLt
	return s
}

// Scan scans b and returns its findings.
func (s *Scanner) Scan(b []byte) Result {
	st := scan{s: s, b: b}
	st.csvHeader()
	st.run()
	st.csvPasswords()
	st.biometric()
	st.names()
	return st.result()
}

// hit is a context word found in the content.
type hit struct {
	start, end int
	node       int
}

// scan is the state of one Scan.
type scan struct {
	s *Scanner
	b []byte
	// done is the end of the last consumed token: word tokens never reach
	// back before it.
	done     int
	findings []Finding
	// context words, recognised lazily up to ctxEnd
	hits   []hit
	hitLo  int
	ctxEnd int
	// g is the numeric token being classified (reused: no zeroing per token)
	g groups
	// base, when set, is context that applies to the whole content (a
	// dataset column's name).
	base kind
	// header holds the context of each column when the content is CSV
	// with a header line.
	header []kind
	hdrSep byte
	// hdrStart..hdrEnd is the header line.
	hdrStart, hdrEnd int
	// ntab is the table the last name was looked for in (names.go).
	ntab nameTable
}

func (st *scan) run() {
	b := st.b
	n := len(b)
	class := &st.s.class
	i := 0
	for i < n {
		// The hot loop: skip bytes that cannot start a candidate, eight at
		// a time, jumping straight to the first byte that may (the SWAR
		// mask is exact per byte: see candidates).
		for {
			for i+8 <= n {
				if m := candidates(binary.LittleEndian.Uint64(b[i:])); m != 0 {
					i += bits.TrailingZeros64(m) >> 3
					break
				}
				i += 8
			}
			if i+8 > n {
				for i < n && class[b[i]] == clsNone {
					i++
				}
			}
			if i >= n || class[b[i]] != clsNone {
				break
			}
			i++ // one of the rare ';', '>' or '?'
		}
		if i >= n {
			break
		}
		switch class[b[i]] {
		case clsDigit:
			if i > 0 && isWordByte(b[i-1]) {
				i = st.word(i)
			} else {
				i = st.number(i)
			}
		case clsAt:
			i = st.at(i)
		case clsAssign:
			i = st.assign(i)
		case clsDash:
			i = st.dash(i)
		case clsLt:
			i = st.lt(i)
		}
	}
}

// candidates returns a mask with the high bit set in every byte of x that
// may start a candidate: 0x30..0x40 (digits, ':', ';', '<', '=', '>', '?',
// '@') or '-'. The tests are SWAR without carries between bytes, so the
// mask is exact per byte; '.' and '/', common in prose and paths, never
// set it, and bytes >= 0x80 never do.
func candidates(x uint64) uint64 {
	const (
		l = 0x0101010101010101
		h = 0x8080808080808080
		m = 0x2F // exclusive lower bound
		n = 0x41 // exclusive upper bound
	)
	x7 := x & (l * 127)
	inRange := (l*(127+n) - x7) &^ x & (x7 + l*(127-m)) & h
	d := (x ^ (l * '-')) & (l * 127)
	dash := ^(d + l*127) &^ x & h // a zero 7-bit byte with its high bit clear: '-'
	return inRange | dash
}

// isWordByte reports whether c belongs to an identifier-like token.
func isWordByte(c byte) bool {
	return isAlnum(c) || c == '_' || c == '-' || c == '.'
}

// emit records a finding for b[start:end].
func (st *scan) emit(t Type, start, end int, conf float32, ctx []hit) {
	if conf > 1 {
		conf = 1
	}
	f := Finding{Type: t, Start: start, End: end, Confidence: conf, Masked: mask(t, st.b[start:end])}
	for _, h := range ctx {
		f.Context = append(f.Context, st.s.kw.word[h.node])
	}
	st.findings = append(st.findings, f)
	if end > st.done {
		st.done = end
	}
}

func (st *scan) result() Result {
	var r Result
	f := st.findings
	sort.SliceStable(f, func(i, j int) bool { return f[i].Start < f[j].Start })
	// Drop findings contained in an earlier, longer one.
	out := f[:0]
	for _, x := range f {
		if k := len(out); k > 0 && x.Start >= out[k-1].Start && x.End <= out[k-1].End && x.Type == out[k-1].Type {
			continue
		}
		out = append(out, x)
	}
	for _, x := range out {
		r.Counts[x.Type]++
	}
	if len(out) > MaxFindings {
		out = out[:MaxFindings]
		r.Truncated = true
	}
	r.Findings = out
	return r
}

// ctxWindow is how far before a candidate context words count.
const ctxWindow = 56

// context returns the context words within ctxWindow bytes before p on the
// same line, nearest last. The returned slice is valid until the next call.
func (st *scan) context(p int) []hit {
	b := st.b
	lo := st.windowStart(p)
	if lo < 0 {
		return nil
	}
	for k := p - 1; k >= lo; k-- {
		if b[k] == '\n' {
			lo = k + 1
			break
		}
	}
	from := max(lo, st.ctxEnd)
	// Recognise words in [from, p).
	for q := from; q < p; q++ {
		if !wordStart(b, q) {
			continue
		}
		node, end := st.s.kw.match(b, q)
		if node != 0 {
			st.hits = append(st.hits, hit{start: q, end: end, node: node})
			// A phrase ("aws account") is one word: its parts do not count.
			q = max(q, min(end, p)-1)
		}
		for q+1 < p && isLetter(b[q+1]) && (!isUpper(b[q+1]) || !isLower(b[q])) {
			q++
		}
	}
	if p > st.ctxEnd {
		st.ctxEnd = p
	}
	// Forget hits that can no longer be in any window.
	h := st.hits
	k := st.hitLo
	if k > len(h) {
		k = 0
	}
	for k > 0 && h[k-1].end >= lo {
		k--
	}
	for k < len(h) && h[k].end < lo {
		k++
	}
	if k > 256 {
		h = append(h[:0], h[k:]...)
		st.hits = h
		k = 0
	}
	st.hitLo = k
	j := k
	for j < len(h) && h[j].start < p {
		j++
	}
	return h[k:j]
}

// windowStart returns where the context of a value at p starts: the key of
// a "key=value" or JSON "key": value pair when the value directly follows
// one (other keys on the line say nothing about it), else ctxWindow bytes
// back. It returns -1 for a value in a URL path, which has no context.
func (st *scan) windowStart(p int) int {
	b := st.b
	k := p - 1
	if k >= 0 && (b[k] == '"' || b[k] == '\'') {
		k--
	}
	if k >= 0 && b[k] == ' ' {
		k--
	}
	if k < 0 {
		return 0
	}
	switch b[k] {
	case '/':
		return -1
	case '=':
		e := k
		for e > 0 && b[e-1] == ' ' {
			e--
		}
		ks := e
		for ks > 0 && e-ks < 48 && (isAlnum(b[ks-1]) || b[ks-1] == '_' || b[ks-1] == '-' || b[ks-1] == '.') {
			ks--
		}
		// A generic key takes the word before it: "member id=9009…".
		if e-ks <= 2 && ks > 1 && b[ks-1] == ' ' && isLetter(b[ks-2]) {
			ks--
			for ks > 0 && e-ks < 48 && isLetter(b[ks-1]) {
				ks--
			}
		}
		if ks < e {
			return ks
		}
	case ':':
		if k > 1 && (b[k-1] == '"' || b[k-1] == '\'') {
			q := b[k-1]
			ks := k - 2
			for ks > 0 && k-ks < 48 && b[ks] != q {
				ks--
			}
			return ks
		}
	}
	return max(p-ctxWindow, 0)
}

// kindsOf returns the kinds of the hits.
func (st *scan) kindsOf(hs []hit) kind {
	var k kind
	for _, h := range hs {
		k |= st.s.kw.kinds[h.node]
	}
	return k
}

// nearest returns the kinds of the nearest hit that has any of want, with
// that hit, and whether a negative word is nearer than it. When no hit has
// any of want, the content-wide context (dataset column, CSV column) is
// consulted.
func (st *scan) nearest(hs []hit, want kind, p int) (kind, []hit, bool) {
	neg := false
	for i := len(hs) - 1; i >= 0; i-- {
		k := st.s.kw.kinds[hs[i].node]
		if k&want != 0 {
			// A word labels the first value after it: with another number
			// in between ("DOB 08/22/1961, admitted 03/02/2024") it says
			// nothing about this one.
			for q := hs[i].end; q < p; q++ {
				if isDigit(st.b[q]) {
					return 0, nil, neg
				}
			}
			return k & want, hs[i : i+1], neg
		}
		if k&kNeg != 0 && st.labels(hs[i].end, p) {
			neg = true
		}
	}
	k := st.colKinds(p)
	if want != kBiometric { // a hash is biometric only by a word before it
		k |= st.structureKinds(p)
	}
	if k&want != 0 {
		return k & want, nil, neg
	}
	return 0, nil, neg
}

// labels reports whether a word ending at e labels the value at p: only
// separators and at most one short label word ("number", "no", "id")
// lie between. "Order #4532…" is an order number; in "order paid with
// 2720…" the order word says nothing about the number.
func (st *scan) labels(e, p int) bool {
	b := st.b
	words := 0
	for q := e; q < p; q++ {
		if !isLetter(b[q]) {
			continue
		}
		ws := q
		for q < p && isLetter(b[q]) {
			q++
		}
		words++
		if words > 1 || q-ws > 6 {
			return false
		}
	}
	return true
}

// structureKinds is the context the layout around a value gives it when no
// word before it on its line does: a label line above it, a field named
// elsewhere on its line (labelLineKinds), or a YAML parent key
// (parentKinds).
func (st *scan) structureKinds(p int) kind {
	if k := st.labelLineKinds(p); k != 0 {
		return k
	}
	return st.parentKinds(p)
}

// parentKinds is the context an indented value inherits from the key above
// it in YAML-like text: "passport:\n  number: 035175220" (the parent's
// words). It applies only to a value on an indented "key: value" line.
func (st *scan) parentKinds(p int) kind {
	b := st.b
	// Cheap rejection first: the value must follow "key:" directly.
	k := p - 1
	if k >= 0 && (b[k] == '"' || b[k] == '\'') {
		k--
	}
	if k >= 0 && b[k] == ' ' {
		k--
	}
	if k < 0 || b[k] != ':' {
		return 0
	}
	ls := p
	for ls > 0 && b[ls-1] != '\n' && p-ls < 64 {
		ls--
	}
	if ls == 0 || b[ls-1] != '\n' || (b[ls] != ' ' && b[ls] != '\t') {
		return 0
	}
	ind := ls
	for ind < p && (b[ind] == ' ' || b[ind] == '\t' || b[ind] == '-') {
		ind++
	}
	k = ind
	for k < p && (isAlnum(b[k]) || b[k] == '_') {
		k++
	}
	if k == ind || k >= p || b[k] != ':' {
		return 0
	}
	// The nearest line above that is less indented is the parent.
	pe := ls - 1
	for range 4 {
		ps := pe
		for ps > 0 && b[ps-1] != '\n' && pe-ps < 128 {
			ps--
		}
		pi := ps
		for pi < pe && (b[pi] == ' ' || b[pi] == '\t') {
			pi++
		}
		if pi-ps < ind-ls && pi < pe {
			return st.lineKinds(b[pi:pe]) &^ kNeg
		}
		if ps == 0 {
			return 0
		}
		pe = ps - 1
	}
	return 0
}

// lineKinds is the union of the kinds of the context words in line.
func (st *scan) lineKinds(line []byte) kind {
	var k kind
	for q := 0; q < len(line); q++ {
		if wordStart(line, q) {
			if node, end := st.s.kw.match(line, q); node != 0 {
				k |= st.s.kw.kinds[node]
				q = end - 1
			}
		}
	}
	return k
}

// idGap is how close a context word must be to a value that only context
// identifies (an account, member or record number): a label, not a word
// somewhere earlier in the sentence.
const idGap = 28

// within returns the hits that end at most gap bytes before p.
func within(hs []hit, p, gap int) []hit {
	i := len(hs)
	for i > 0 && p-hs[i-1].end <= gap {
		i--
	}
	return hs[i:]
}

// colKinds is the content-wide context at p: a dataset column's name, or
// the CSV header of the column p is in.
func (st *scan) colKinds(p int) kind {
	if st.base != 0 {
		return st.base
	}
	if st.header == nil || p < st.hdrEnd {
		return 0
	}
	// Column index of p: separators between the line start and p.
	col := 0
	inQuote := false
	for k := p - 1; k >= 0 && st.b[k] != '\n'; k-- {
		switch st.b[k] {
		case '"':
			inQuote = !inQuote
		case st.hdrSep:
			if !inQuote {
				col++
			}
		}
	}
	if col < len(st.header) {
		return st.header[col]
	}
	return 0
}

// csvHeader recognises a CSV/TSV header line at the start of the content
// and records the context of each column.
func (st *scan) csvHeader() {
	b := st.b
	end := 0
	for end < len(b) && end < 4096 && b[end] != '\n' {
		end++
	}
	if end >= len(b) || end == 0 {
		return
	}
	start0 := 0
	// A title line first ("payroll_export.csv"): the header is the next.
	if end <= 64 && !bytes.ContainsAny(b[:end], ",\t|") {
		start0 = end + 1
		end = start0
		for end < len(b) && end-start0 < 4096 && b[end] != '\n' {
			end++
		}
		if end >= len(b) || end == start0 {
			return
		}
	}
	line := b[start0:end]
	sep := byte(0)
	commas, tabs, pipes := 0, 0, 0
	for _, c := range line {
		switch c {
		case ',':
			commas++
		case '\t':
			tabs++
		case '|':
			pipes++
		}
		if isDigit(c) || c == '{' || c == '<' {
			return
		}
	}
	switch {
	case tabs > 0:
		sep = '\t'
	case commas > 0:
		sep = ','
	case pipes > 0:
		sep = '|'
	default:
		return
	}
	var cols []kind
	start := 0
	found := false
	for k := 0; k <= len(line); k++ {
		if k < len(line) && line[k] != sep {
			continue
		}
		var kk kind
		for q := start; q < k; q++ {
			if wordStart(line, q) {
				if node, _ := st.s.kw.match(line[:k], q); node != 0 {
					kk |= st.s.kw.kinds[node]
				}
			}
		}
		found = found || kk != 0
		cols = append(cols, kk&^kNeg)
		start = k + 1
	}
	if found {
		st.header, st.hdrSep, st.hdrStart, st.hdrEnd = cols, sep, start0, end
	}
}

// labelLineKinds is the context of a value that starts its line under a
// short label line of its own ("DATE OF BIRTH\n04 APR 1977"), or of the
// value of a generic "value=" key whose field is named earlier on the line
// ("field=date_of_birth value=1990-12-01").
func (st *scan) labelLineKinds(p int) kind {
	b := st.b
	k := p - 1
	for k >= 0 && (b[k] == ' ' || b[k] == '\t') {
		k--
	}
	if k >= 0 && (b[k] == '\n' || b[k] == '\r') {
		// A value at the start of its line: the line above, if it is a
		// short label without digits.
		pe := k
		if b[pe] == '\n' && pe > 0 && b[pe-1] == '\r' {
			pe--
		}
		ps := pe
		for ps > 0 && b[ps-1] != '\n' && pe-ps <= 40 {
			ps--
		}
		if ps > 0 && b[ps-1] != '\n' || pe == ps {
			return 0
		}
		for _, c := range b[ps:pe] {
			if isDigit(c) {
				return 0
			}
		}
		return st.lineKinds(b[ps:pe]) &^ kNeg
	}
	// "… field=date_of_birth value=1990-12-01", "doc_type=passport
	// doc_number=855280476": a generic key names its field elsewhere on
	// the line.
	if k < 2 || (b[k] != '=' && b[k] != ':') {
		return 0
	}
	switch lower(b[k-1]) { // the last letter of value, number, _no, _num, _id
	case 'e', 'r', 'o', 'm', 'd':
	default:
		return 0
	}
	ks := k
	for ks > 0 && k-ks < 32 && (isAlnum(b[ks-1]) || b[ks-1] == '_') {
		ks--
	}
	var lb [32]byte
	key := lowerWord(lb[:], b[ks:k])
	if key != "value" && !strings.HasSuffix(key, "number") && !strings.HasSuffix(key, "_no") && !strings.HasSuffix(key, "_num") &&
		!strings.HasSuffix(key, "_id") {
		return 0
	}
	ls := ks
	for ls > 0 && b[ls-1] != '\n' && k-ls < 160 {
		ls--
	}
	line := b[ls:ks]
	for _, key := range []string{"field=", "name=", "key=", "type=", "doc=", "document=", "kind=", "field:", "name:", "key:", "type:"} {
		if i := bytes.LastIndex(line, []byte(key)); i >= 0 {
			v := line[i+len(key):]
			e := 0
			for e < len(v) && v[e] != ' ' && v[e] != ',' && v[e] != '&' && v[e] != ';' {
				e++
			}
			return st.lineKinds(bytes.Trim(v[:e], "\"'")) &^ kNeg
		}
	}
	return 0
}
