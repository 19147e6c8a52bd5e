package scanner

import (
	"bytes"
	"strings"
)

// maxGroups bounds the digit groups of one numeric token.
const maxGroups = 12

// groups is a numeric token split into digit groups: "(415) 555-2671" is
// three groups separated by ')' and '-'.
type groups struct {
	n      int
	gs, ge [maxGroups]int
	sep    [maxGroups]byte // sep[k] precedes group k
}

// number handles a token that starts with a digit at i (b[i-1] is not a word
// byte) and returns where scanning resumes.
func (st *scan) number(i int) int {
	b := st.b
	n := len(b)
	// A digit glued to password punctuation ("iLoveCats#88", "Kaffee!2024"):
	// the token may be a password given in prose.
	if i > 1 && strings.IndexByte("#!$%&*?^~", b[i-1]) >= 0 && isWordByte(b[i-2]) {
		we := i
		for we < n && isWordByte(b[we]) {
			we++
		}
		if ps, pe, ok := st.afterPasswordWord(i, we); ok {
			st.emit(Credentials, ps, pe, 0.85, nil)
			return pe
		}
	}
	// Fast path: a short number that nothing can extend ("200", "12ms").
	j := i
	for j < n && j-i < 5 && isDigit(b[j]) {
		j++
	}
	if j-i <= 4 && j < n {
		c := b[j]
		var c1 byte
		if j+1 < n {
			c1 = b[j+1]
		}
		fast := false
		switch {
		case isLower(c) && j-i <= 4:
			// A unit ("12ms", "3px", "250kb"): letters up to a non-word
			// byte, not an ordinal ("5th").
			k := j
			for k < n && k-j < 4 && isLower(b[k]) {
				k++
			}
			if k-j <= 3 && (k == n || !isWordByte(b[k])) && (k-j != 2 || !ordinal(b[j:k])) {
				if k > st.done {
					st.done = k
				}
				return k
			}
		case isLetter(c) || c == '_' || c == ')' || c == '@':
		case c == ' ':
			fast = !isDigit(c1) && !isUpper(c1) && c1 != '(' && c1 != '/' && (j-i > 2 || !isLower(c1) || !monthWordAt(b, j+1))
		case c == '-':
			fast = !isDigit(c1) && !isLetter(c1) // "14-Mar-1985"
		case c == '.' || c == '/':
			fast = !isDigit(c1)
		case c == ',':
			fast = c1 != ' ' || j-i > 2
		default:
			fast = true
		}
		if fast && i >= 7 && b[i-1] == ' ' && (b[i-2] == 'x' || b[i-2] == 'X') {
			if r, ok := st.poBox(i, j); ok {
				return r
			}
		}
		if fast {
			if j > st.done {
				st.done = j
			}
			return j
		}
	}
	g := &st.g
	g.n = 0
	j = i
	for {
		s0 := j
		for j < n && isDigit(b[j]) {
			j++
		}
		g.gs[g.n], g.ge[g.n] = s0, j
		g.n++
		if g.n == maxGroups || j+1 >= n {
			break
		}
		c := b[j]
		if (c == ' ' || c == '-' || c == '.' || c == '/') && isDigit(b[j+1]) {
			g.sep[g.n] = c
			j++
			continue
		}
		if c == ' ' && j+3 < n && b[j+1] == '/' && b[j+2] == ' ' && isDigit(b[j+3]) {
			g.sep[g.n] = '/' // OCR spacing: "08 / 17 / 1969"
			j += 3
			continue
		}
		if c == ')' && ((g.n == 1 && i > 0 && b[i-1] == '(') || g.sep[g.n-1] == '(') {
			if isDigit(b[j+1]) {
				g.sep[g.n] = ')'
				j++
				continue
			}
			if j+2 < n && (b[j+1] == ' ' || b[j+1] == '-') && isDigit(b[j+2]) {
				g.sep[g.n] = ')'
				j += 2
				continue
			}
		}
		if c == ' ' && j+2 < n && b[j+1] == '(' && isDigit(b[j+2]) && g.n == 1 && j-s0 <= 3 {
			// "+1 (415) 555-2671": the country code, then an area code in
			// parentheses.
			k := j + 2
			for k < n && isDigit(b[k]) {
				k++
			}
			if k-(j+2) == 3 && k+1 < n && b[k] == ')' {
				g.sep[g.n] = '('
				j += 2
				continue
			}
		}
		break
	}
	end := j
	if end < n {
		c := b[end]
		if c == '@' {
			return end // the local part of an e-mail address
		}
		isoTime := c == 'T' && g.n == 3 && end+1 < n && isDigit(b[end+1]) // the date of an ISO 8601 timestamp ends here
		if !isoTime && (isLetter(c) || c == '_') {
			if g.n == 1 && isUpper(c) && end+2 < n && b[end+1] == ' ' && isUpper(b[end+2]) && end-i <= 5 && b[i] != '0' {
				if r, ok := st.address(i, end+1); ok {
					return r
				}
			}
			if g.n == 1 {
				if r, ok := st.monthDate(i, end, g); ok {
					return r
				}
				return st.word(i)
			}
			// The last group is glued to letters ("2024-05-01T12"): it
			// belongs to the next token.
			g.n--
			end = g.ge[g.n-1]
		}
	}
	if g.n == 1 {
		if r, ok := st.monthDate(i, end, g); ok {
			return r
		}
		if r, ok := st.poBox(i, end); ok {
			return r
		}
		if end < n && b[end] == ' ' && end-i <= 6 && b[i] != '0' {
			if r, ok := st.address(i, end); ok {
				return r
			}
		}
	} else if b[i] != '0' && g.ge[0]-i <= 6 && g.sep[1] == ' ' {
		if r, ok := st.address(i, g.ge[0]); ok {
			return r
		}
	}
	resume := end
	// Try the whole token, then sub-ranges split at spaces, longest first.
	a := 0
	for a < g.n {
		matched := false
		for z := g.n; z > a; z-- {
			if z < g.n && g.sep[z] != ' ' {
				continue
			}
			if r, ok := st.classify(g, a, z); ok {
				if r > resume {
					resume = r
				}
				a = z
				matched = true
				break
			}
		}
		if !matched {
			a++
			for a < g.n && g.sep[a] != ' ' {
				a++
			}
		}
	}
	if resume > st.done {
		st.done = resume
	}
	return resume
}

// classify tries the shapes on groups a..z-1. It reports whether they
// formed a recognised shape (found or deliberately ignored) and where
// scanning resumes.
func (st *scan) classify(g *groups, a, z int) (int, bool) {
	b := st.b
	m := z - a
	start, end := g.gs[a], g.ge[z-1]
	var dbuf [48]byte
	d := dbuf[:0]
	for k := a; k < z; k++ {
		if len(d)+g.ge[k]-g.gs[k] > len(dbuf) {
			return 0, false
		}
		d = append(d, b[g.gs[k]:g.ge[k]]...)
	}
	D := len(d)
	L := func(k int) int { return g.ge[a+k] - g.gs[a+k] }
	S := func(k int) byte { return g.sep[a+k] }
	uniform := func(seps string) bool {
		c := S(1)
		for k := 2; k < m; k++ {
			if S(k) != c {
				return false
			}
		}
		for k := range len(seps) {
			if seps[k] == c {
				return true
			}
		}
		return false
	}
	plus := a == 0 && start > 0 && b[start-1] == '+' && (start < 2 || !isAlnum(b[start-2])) // not "ZIP+4 …"
	paren := a == 0 && start > 0 && b[start-1] == '('

	// International numbers are only taken with their "+".
	if plus {
		if validE164(d) {
			hs := st.context(start - 1)
			k, h, _ := st.nearest(hs, kPhone, start)
			conf := float32(0.85)
			if k != 0 {
				conf = 0.96
			}
			st.emit(Phone, start-1, end, conf, h)
			return end, true
		}
		return end, m > 1
	}

	// SSN: 123-45-6789 (or spaced, with context).
	if m == 3 && L(0) == 3 && L(1) == 2 && L(2) == 4 && uniform("- ") {
		if !validSSN(d) {
			return end, true
		}
		hs := st.context(start)
		k, h, neg := st.nearest(hs, kSSN, start)
		switch {
		case k != 0:
			st.emit(SSN, start, end, 0.97, h)
		case S(1) == '-' && !neg && !st.phoneNear(hs):
			st.emit(SSN, start, end, 0.8, nil)
		}
		return end, true
	}

	// Payment cards: bare or in groups of four (Amex 4-6-5, Diners 4-6-4).
	if D >= 13 && D <= 19 {
		shape := m == 1
		if !shape && m >= 3 && uniform(" -") {
			shape = true
			for k := 0; k < m-1; k++ {
				if L(k) != 4 {
					shape = false
				}
			}
			shape = shape || (m == 3 && L(0) == 4 && L(1) == 6 && (L(2) == 5 || L(2) == 4))
		}
		if shape && validCard(d) {
			hs := st.context(start)
			k, h, neg := st.nearest(hs, kCard, start)
			switch {
			case k != 0:
				st.emit(PaymentCard, start, end, 0.97, h)
			case !neg && D != 13: // 13-digit Visa numbers are obsolete; barcodes look like them
				st.emit(PaymentCard, start, end, 0.85, nil)
			}
			return end, true
		}
		if shape && m > 1 {
			return end, true // a card-shaped number that fails the checks
		}
	}

	// NANP phone numbers: (415) 555-2671, 415-555-2671, 1-800-555-0199.
	if (m == 3 && L(0) == 3 && L(1) == 3 && L(2) == 4) || (m == 4 && L(0) == 1 && b[start] == '1' && L(1) == 3 && L(2) == 3 && L(3) == 4) {
		ok := false
		switch {
		case paren && m == 3 && S(1) == ')':
			ok = S(2) == '-' || S(2) == ' ' || S(2) == '.'
		case m == 4 && S(1) == '(':
			// "1 (888) 561-6971"
			ok = S(2) == ')' && (S(3) == '-' || S(3) == ' ' || S(3) == '.')
		default:
			ok = uniform("-. ")
		}
		if ok {
			dd := d
			if m == 4 {
				dd = d[1:]
			}
			if !validNANP(dd) {
				return end, true
			}
			if paren {
				start--
			}
			st.emitShaped(Phone, start, end, kPhone, 0.95, 0.8)
			return end, true
		}
	}

	// National numbers with a two-digit area code in parentheses, as in
	// Brazil and Australia: "(11) 98682-3076", "(03) 9123 4567".
	if paren && m == 3 && L(0) == 2 && (L(1) == 4 || L(1) == 5) && L(2) == 4 && S(1) == ')' && (S(2) == '-' || S(2) == ' ') {
		st.emitShaped(Phone, start-1, end, kPhone, 0.93, 0.78)
		return end, true
	}
	// Dashed national numbers with a trunk prefix: "03-4208-8021" (Japan),
	// "020-7946-0958".
	if m == 3 && d[0] == '0' && d[1] != '0' && (D == 10 || D == 11) && uniform("-") && L(0) >= 2 && L(2) == 4 {
		st.emitShaped(Phone, start, end, kPhone, 0.9, 0.75)
		return end, true
	}

	// Dates: a date of birth only with context; timestamps are skipped.
	if m == 3 && uniform("/-.") {
		y, mo, dy, ok := dateParts(L(0), L(1), L(2), b[g.gs[a]:g.ge[a]], b[g.gs[a+1]:g.ge[a+1]], b[g.gs[a+2]:g.ge[a+2]])
		if ok {
			if ts := timestampEnd(b, end); ts > end {
				return ts, true
			}
			if (validDate(y, mo, dy) || (L(2) == 2 && validDate(1900+y%100, mo, dy))) && st.mayDOB(start) {
				// The birth word labels the date: near it, not somewhere
				// earlier in the sentence ("Birthday party supplies on
				// sale through 06/30/2024").
				hs := within(st.context(start), start, idGap)
				if k, h, _ := st.nearest(hs, kDOB, start); k != 0 || st.cjkDOB(start) {
					st.emit(DateOfBirth, start, end, 0.92, h)
				}
			}
			return end, true
		}
	}

	// French numbers in five pairs: "06 12 34 56 78".
	if m == 5 && a == 0 && z == g.n && D == 10 && d[0] == '0' && d[1] != '0' && uniform(" .") && L(0) == 2 && L(1) == 2 && L(2) == 2 && L(3) == 2 && L(4) == 2 {
		st.emitShaped(Phone, start, end, kPhone, 0.93, 0.8)
		return end, true
	}
	// An NPI in an X12 claim segment: the "XX" qualifier names it
	// ("NM1*85*2*…*XX*1817426749~").
	if m == 1 && D == 10 && start >= 3 && b[start-1] == '*' && b[start-2] == 'X' && b[start-3] == 'X' && validNPI(d) {
		st.emit(NPI, start, end, 0.95, nil)
		return end, true
	}

	// An HL7 patient identifier typed MR ("PID|1||4471920^^^HOSP^MR|").
	if m == 1 && end+3 < len(b) && b[end] == '^' && hl7MR(b[end:]) {
		st.emit(MedicalRecord, start, end, 0.93, nil)
		return end, true
	}

	// A cheque's MICR line: ⑆routing⑆ account⑈ (E-13B transit and on-us
	// symbols, U+2446 and U+2448).
	if m == 1 && end+3 <= len(b) && b[end] == 0xE2 && b[end+1] == 0x91 {
		switch {
		case b[end+2] == 0x86 && D == 9 && validABA(d):
			st.emit(RoutingNumber, start, end, 0.95, nil)
			return end + 3, true
		case b[end+2] == 0x88 && D >= 6 && D <= 17:
			st.emit(BankAccount, start, end, 0.9, nil)
			return end + 3, true
		}
	}

	// Everything else needs context.
	if D < 5 {
		return 0, false
	}
	if m > 1 && !uniform("-") {
		// Spaced national numbers next to a phone word: "Tel 020 7946 0958".
		if D >= 9 && D <= 12 && d[0] == '0' && uniform(" .") {
			hs := within(st.context(start), start, idGap)
			if k, h, _ := st.nearest(hs, kPhone, start); k != 0 {
				st.emit(Phone, start, end, 0.82, h)
				return end, true
			}
		}
		// Licence numbers printed in groups: "NY DL 701 697 686", "PA DL #
		// 18 167 397", "Michigan R 158 990 127 951" (the letter included).
		if D >= 7 && D <= 13 && uniform(" ") {
			s := start
			if s >= 2 && isUpper(b[s-2]) && b[s-1] == ' ' && (s == 2 || !isAlnum(b[s-3])) {
				s -= 2
			}
			hs := within(st.context(s), s, idGap)
			if k, h, _ := st.nearest(hs, kDL, s); k != 0 {
				st.emit(DriversLicense, s, end, 0.8, h)
				return end, true
			}
		}
		return 0, false
	}
	hs := within(st.context(start), start, idGap)
	want := kRouting | kSSN | kNPI | kPhone | kAccount | kPassport | kDL | kMRN | kInsurance | kBiometric | kDOB | kCard
	for {
		k, h, _ := st.nearest(hs, want, start)
		if k == 0 {
			return 0, false
		}
		if t, conf := bareKind(k, d, m); t != TypeUnspecified {
			if t == Biometric && st.kindsOf(hs)&kNotBio != 0 {
				return end, true
			}
			st.emit(t, start, end, conf, h)
			return end, true
		}
		if h == nil {
			return 0, false
		}
		// That word did not fit; look further back.
		idx := len(hs) - 1
		for idx >= 0 && hs[idx] != h[0] {
			idx--
		}
		hs = hs[:idx]
	}
}

// bareKind decides what a plain number (m groups) is, given the kinds of
// its nearest context word.
func bareKind(k kind, d []byte, m int) (Type, float32) {
	D := len(d)
	switch {
	case k&kRouting != 0 && D == 9 && m == 1 && validABA(d):
		return RoutingNumber, 0.93
	case k&kSSN != 0 && D == 9 && validSSN(d):
		return SSN, 0.92
	case k&kNPI != 0 && D == 10 && m == 1 && validNPI(d):
		return NPI, 0.93
	case k&kCard != 0:
		return TypeUnspecified, 0
	case k&kPhone != 0 && ((D == 10 && validNANP(d)) || (D == 11 && d[0] == '1' && validNANP(d[1:]))):
		return Phone, 0.88
	case k&kPhone != 0 && D == 7 && m == 2 && d[0] >= '2' && !allSame(d):
		return Phone, 0.8 // a local number: "phone 555-0100"
	case k&kPhone != 0 && D >= 9 && D <= 12 && d[0] == '0' && m >= 2:
		return Phone, 0.82 // a national number with its trunk prefix: "020-7946-0958"
	case k&kDOB != 0 && D == 8 && m == 1 && compactDate(d):
		return DateOfBirth, 0.88
	case k&kAccount != 0 && D >= 6 && D <= 17 && !allSame(d):
		return BankAccount, 0.85
	case k&kPassport != 0 && D >= 6 && D <= 9 && m == 1:
		return Passport, 0.88
	case k&kDL != 0 && D >= 5 && D <= 13:
		return DriversLicense, 0.82
	case k&kMRN != 0 && D >= 5 && D <= 12:
		return MedicalRecord, 0.85
	case k&kInsurance != 0 && D >= 6 && D <= 15:
		return HealthInsurance, 0.82
	case k&kBiometric != 0 && D >= 5:
		return Biometric, 0.78
	}
	return TypeUnspecified, 0
}

// compactDate reports whether eight digits are a YYYYMMDD or MMDDYYYY date.
func compactDate(d []byte) bool {
	return validDate(atoi(d[0:4]), atoi(d[4:6]), atoi(d[6:8])) || validDate(atoi(d[4:8]), atoi(d[0:2]), atoi(d[2:4])) ||
		validDate(atoi(d[4:8]), atoi(d[2:4]), atoi(d[0:2]))
}

// dateParts reads a numeric date of lengths l0-l1-l2: YYYY-MM-DD,
// MM/DD/YYYY or DD/MM/YYYY (whichever is valid), or MM/DD/YY.
func dateParts(l0, l1, l2 int, p0, p1, p2 []byte) (y, m, d int, ok bool) {
	switch {
	case l0 == 4 && l1 <= 2 && l2 <= 2:
		return atoi(p0), atoi(p1), atoi(p2), true
	case l0 <= 2 && l1 <= 2 && (l2 == 4 || l2 == 2):
		y, m, d = atoi(p2), atoi(p0), atoi(p1)
		if m > 12 {
			m, d = d, m
		}
		if l2 == 2 {
			y += 1900
			if y < 1930 {
				y += 100
			}
		}
		return y, m, d, true
	}
	return 0, 0, 0, false
}

// timestampEnd returns the end of a time of day that follows a date at
// end ("T12:34:56.789Z", " 12:34:56"), or end when none does.
func timestampEnd(b []byte, end int) int {
	if end+3 >= len(b) || (b[end] != 'T' && b[end] != ' ' && b[end] != '_') || !isDigit(b[end+1]) || !isDigit(b[end+2]) || b[end+3] != ':' {
		return end
	}
	k := end + 1
	for k < len(b) && (isDigit(b[k]) || b[k] == ':' || b[k] == '.' || b[k] == 'Z' || b[k] == '+' || b[k] == ',') {
		k++
	}
	return k
}

// phoneNear reports whether a phone word is among the hits (a 3-2-4 number
// next to "phone" is more likely an extension-style number than an SSN).
func (st *scan) phoneNear(hs []hit) bool {
	return st.kindsOf(hs)&kPhone != 0
}

var monthNames = []string{"january", "february", "march", "april", "may", "june", "july", "august", "september",
	"october", "november", "december"}

// foreignMonths are month names in French, Spanish, Portuguese, Italian,
// German and Dutch (ASCII spellings only), matched whole.
var foreignMonths = map[string]int{
	"janvier": 1, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7, "septembre": 9, "octobre": 10, "novembre": 11,
	"enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8, "septiembre": 9,
	"octubre": 10, "noviembre": 11, "diciembre": 12,
	"janeiro": 1, "fevereiro": 2, "maio": 5, "junho": 6, "julho": 7, "setembro": 9, "outubro": 10, "novembro": 11, "dezembro": 12,
	"gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7, "settembre": 9, "ottobre": 10, "dicembre": 12,
	"januar": 1, "februar": 2, "juni": 6, "juli": 7, "oktober": 10, "dezember": 12,
	"januari": 1, "februari": 2, "maart": 3, "mei": 5, "augustus": 8,
	"février": 2, "août": 8, "décembre": 12, "märz": 3, "março": 3,
}

// skipOf skips a "de " or "of " between a day and its month at b[k].
func skipOf(b []byte, k int) int {
	if k+3 <= len(b) && ((b[k] == 'd' && b[k+1] == 'e') || (b[k] == 'o' && b[k+1] == 'f')) && b[k+2] == ' ' {
		return k + 3
	}
	return k
}

// monthWordAt reports whether a month name (or "de" and a month name, as in
// "21 de abril de 1976") starts at b[k].
func monthWordAt(b []byte, k int) bool {
	k = skipOf(b, k)
	e := k
	for e < len(b) && (isLetter(b[e]) || b[e] >= 0x80) && e-k < 10 {
		e++
	}
	return month(b[k:e]) != 0
}

// month returns the month (1-12) named by w (full name or three-letter
// abbreviation, any case), or 0.
func month(w []byte) int {
	if len(w) < 3 || len(w) > 9 {
		return 0
	}
	var buf [9]byte
	for i, c := range w {
		buf[i] = lower(c)
	}
	lw := string(buf[:len(w)])
	for i, m := range monthNames {
		if lw == m || (len(lw) == 3 && m[:3] == lw) || (lw == "sept" && i == 8) {
			return i + 1
		}
	}
	return foreignMonths[lw]
}

// monthDate recognises "March 5, 1987", "5 March 1987" and "05-Mar-1987"
// around a one- or two-digit number at b[i:e] and reports a date of birth
// when context says so.
func (st *scan) monthDate(i, e int, g *groups) (int, bool) {
	b := st.b
	n := len(b)
	dl := e - i
	if dl > 2 {
		return 0, false
	}
	day := atoi(b[i:e])
	var start, end, mo int
	// Month before: "March 5, 1987", "Mar. 5 1987".
	if i >= 4 && b[i-1] == ' ' {
		k := i - 1
		if b[k-1] == '.' {
			k--
		}
		ms := k
		for ms > 0 && isLetter(b[ms-1]) && k-ms < 9 {
			ms--
		}
		if ms < k && (ms == 0 || !isLetter(b[ms-1])) {
			if mo = month(b[ms:k]); mo != 0 {
				y := e
				if y+2 <= n && ordinal(b[y:y+2]) {
					y += 2
				}
				if y < n && b[y] == ',' {
					y++
				}
				if y < n && b[y] == ' ' {
					y++
				}
				if y+4 <= n && fourDigits(b[y:]) {
					start, end = ms, y+4
				}
			}
		}
	}
	// Month after: "5 March 1987", "05-Mar-1987", "5th March 1987".
	if end == 0 && e+1 < n && (b[e] == ' ' || b[e] == '-' || b[e] == 't' || b[e] == 's' || b[e] == 'n' || b[e] == 'r') {
		k := e
		if b[k] != ' ' && b[k] != '-' {
			if k+2 < n && isLower(b[k+1]) && (b[k+2] == ' ') {
				k += 2
			} else {
				return 0, false
			}
		}
		sep := b[k]
		k++
		if sep == ' ' && k+3 < n {
			k = skipOf(b, k) // "21 de abril de 1976", "the 3rd of May 1981"
		}
		ms := k
		for k < n && (isLetter(b[k]) || b[k] >= 0x80) && k-ms < 10 {
			k++
		}
		if mo = month(b[ms:k]); mo != 0 {
			if k < n && b[k] == '.' {
				k++
			}
			if k < n && (b[k] == sep || b[k] == ',') {
				k++
				if k < n && b[k] == ' ' {
					k++
				}
				if k+3 <= n && b[k] == 'd' && b[k+1] == 'e' && b[k+2] == ' ' {
					k += 3
				}
				if k+4 <= n && fourDigits(b[k:]) {
					start, end = i, k+4
				}
			}
		}
	}
	if end == 0 || (end < n && isDigit(b[end])) {
		return 0, false
	}
	y := atoi(b[end-4 : end])
	if !validDate(y, mo, day) {
		return end, true
	}
	_ = g
	hs := st.context(start)
	if k, h, _ := st.nearest(hs, kDOB, start); k != 0 {
		st.emit(DateOfBirth, start, end, 0.92, h)
	}
	if end > st.done {
		st.done = end
	}
	return end, true
}

func fourDigits(b []byte) bool {
	return len(b) >= 4 && isDigit(b[0]) && isDigit(b[1]) && isDigit(b[2]) && isDigit(b[3])
}

// mayDOB is a cheap pre-check before looking for date-of-birth context:
// every English such word has a 'b' ("dob", "birth", "born"); the French,
// Spanish, Italian and Dutch ones are looked for whole; or the column says
// so.
func (st *scan) mayDOB(p int) bool {
	lo := max(p-ctxWindow, 0)
	w := st.b[lo:p]
	if bytes.IndexByte(w, 'b') >= 0 || bytes.IndexByte(w, 'B') >= 0 || st.colKinds(p)&kDOB != 0 || st.cjkDOB(p) {
		return true
	}
	// "naissance", "nacimiento", "nascita", "geboortedatum" (its 'b' is
	// found above).
	for k := bytes.IndexByte(w, 'n'); k >= 0 && k+7 <= len(w); {
		switch string(w[k : k+4]) {
		case "nais", "naci", "nasc", "n\xc3\xa9 ", "n\xc3\xa9e":
			return true
		}
		j := bytes.IndexByte(w[k+1:], 'n')
		if j < 0 {
			break
		}
		k += j + 1
	}
	return false
}

// emitShaped reports a value whose shape and checks identify it: with
// confidence hi when a context word of kind want labels it, lo when no
// word does, and not at all when a negative word labels it.
func (st *scan) emitShaped(t Type, start, end int, want kind, hi, lo float32) {
	k, h, neg := st.nearest(st.context(start), want, start)
	switch {
	case k != 0:
		st.emit(t, start, end, hi, h)
	case !neg:
		st.emit(t, start, end, lo, nil)
	}
}

// cjkDOBWords are date-of-birth labels in Korean, Japanese and Chinese.
var cjkDOBWords = [][]byte{[]byte("생년월일"), []byte("生年月日"), []byte("出生日期"), []byte("出生年月日")}

// cjkDOB reports whether a Korean, Japanese or Chinese birth-date label
// ends just before p ("생년월일: 1989-10-03"). The keyword automaton sees
// every non-ASCII byte as one symbol, so these are matched as bytes.
func (st *scan) cjkDOB(p int) bool {
	w := st.b[max(p-20, 0):p]
	hasCJK := false
	for _, c := range w {
		if c >= 0xE0 {
			hasCJK = true
			break
		}
	}
	if !hasCJK {
		return false
	}
	for _, l := range cjkDOBWords {
		if bytes.Contains(w, l) {
			return true
		}
	}
	return false
}

// hl7MR reports whether the HL7 components after an identifier ("^^^HOSP^MR"
// up to the next field or repetition) end in the identifier type code MR.
func hl7MR(b []byte) bool {
	e := 0
	for e < len(b) && e < 64 && b[e] != '|' && b[e] != '~' && b[e] != ' ' && b[e] != '\n' {
		e++
	}
	c := b[:e]
	if i := bytes.LastIndexByte(c, '^'); i >= 0 {
		return string(c[i+1:]) == "MR" || string(c[i+1:]) == "MRN"
	}
	return false
}
