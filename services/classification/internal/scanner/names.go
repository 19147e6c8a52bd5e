package scanner

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// nameWindow is how far from another finding a person name is looked for.
// Beyond it, up to nameReach and within the finding's paragraph (a
// record: a form, a multi-line e-mail, a signature block), names are
// looked for at the start of each line only (the first nameLineHead
// bytes), where labels and signature names stand.
const (
	nameWindow   = 96
	nameReach    = 256
	nameLineHead = 32
)

// names finds person names next to the other findings. A name counts when
// something says it is one: a label ("Name:", "Patient", "Dear Mr.",
// "traveler": "…", a sign-off), a table column whose header names a
// person, an e-mail address right after it ("Jane Doe <jane@…>"); or, in
// unlabelled prose, when it starts with a common given name. A name on its
// own is not personal information worth reporting.
func (st *scan) names() {
	if len(st.findings) == 0 {
		return
	}
	sort.SliceStable(st.findings, func(i, j int) bool { return st.findings[i].Start < st.findings[j].Start })
	others := len(st.findings)
	b := st.b
	scanned, heads := 0, 0
	for x := range others {
		f := st.findings[x]
		if f.Type == Secret {
			continue
		}
		lo, hi := max(f.Start-nameWindow, scanned, 0), min(f.End+nameWindow, len(b))
		st.namesIn(lo, hi, others)
		scanned = max(scanned, hi)
		// The line heads of the rest of the paragraph.
		if from := max(f.Start-nameReach, heads, 0); from < lo {
			if ps := st.paragraphStart(from, f.Start); ps < lo {
				st.lineHeads(ps, lo, others)
			}
		}
		to := st.paragraphEnd(f.End, min(f.End+nameReach, len(b)))
		if from := max(hi, heads); from < to {
			st.lineHeads(from, to, others)
		}
		heads = max(heads, to)
	}
}

// paragraphStart returns the start of the last paragraph that begins in
// b[from:to] (after its last blank line), or from.
func (st *scan) paragraphStart(from, to int) int {
	b := st.b
	start := from
	for k := from; k < to; {
		n := bytes.IndexByte(b[k:to], '\n')
		if n < 0 {
			break
		}
		k += n + 1
		if blankBefore(b, k-1) {
			start = k
		}
	}
	return start
}

// paragraphEnd returns the end of the paragraph that b[from:] is in (its
// next blank line), or to.
func (st *scan) paragraphEnd(from, to int) int {
	b := st.b
	for k := from; k < to; {
		n := bytes.IndexByte(b[k:to], '\n')
		if n < 0 {
			break
		}
		k += n + 1
		if blankBefore(b, k-1) {
			return k
		}
	}
	return to
}

// lineHeads looks for names in the first nameLineHead bytes of each line
// that starts in b[from:to].
func (st *scan) lineHeads(from, to, others int) {
	b := st.b
	for ls := from; ls < to; {
		if ls > 0 && b[ls-1] != '\n' {
			k := bytes.IndexByte(b[ls:to], '\n')
			if k < 0 {
				return
			}
			ls += k + 1
			continue
		}
		le := min(ls+nameLineHead, to)
		if k := bytes.IndexByte(b[ls:le], '\n'); k >= 0 {
			le = ls + k
		}
		if labelLine(b[ls:le]) {
			st.namesIn(ls, le, others)
		}
		ls = le + 1
	}
}

// labelLine reports whether a line may start with a label or a name: its
// first byte after spaces and markup is a letter (not a timestamp or a
// JSON object).
func labelLine(l []byte) bool {
	for _, c := range l {
		switch {
		case c == ' ' || c == '\t' || c == '"' || c == '\'' || c == '|' || c == '*' || c == '-' || c == '>':
			continue
		case isLetter(c) || c >= 0xC3:
			return true
		}
		return false
	}
	return false
}

// namesIn looks for names that start in b[lo:hi].
func (st *scan) namesIn(lo, hi, others int) {
	b := st.b
	for q := lo; q < hi; {
		if q+8 <= hi {
			// Jump to the first upper-case or non-ASCII byte.
			m := upperMask(binary.LittleEndian.Uint64(b[q:]))
			if m == 0 {
				q += 8
				continue
			}
			q += bits.TrailingZeros64(m) >> 3
		}
		c := b[q]
		if (isUpper(c) || c >= 0xC3) && nameStart(b, q) {
			if n, up := nameLetter(b, q); n > 0 {
				if up {
					if e := st.nameAt(q, others); e > q {
						q = e
						continue
					}
				}
				// Not a name: skip the rest of the word.
				q += n
				for q < hi && (isLetter(b[q]) || b[q] >= utf8.RuneSelf) {
					q++
				}
				continue
			}
		}
		q++
	}
}

// upperMask has the high bit of each of the eight bytes of x that is an
// upper-case ASCII letter or not ASCII set (SWAR, exact for ASCII bytes;
// the mask may mark a few bytes more than that, never fewer).
func upperMask(x uint64) uint64 {
	const (
		l = 0x0101010101010101
		h = 0x8080808080808080
		m = 0x40 // exclusive lower bound
		n = 0x5B // exclusive upper bound
	)
	return (x & h) | (l*(127+n)-(x&(l*127)))&^x&((x&(l*127))+l*(127-m))&h
}

// blankBefore reports whether the newline b[k] ends a blank line.
func blankBefore(b []byte, k int) bool {
	for j := k - 1; j >= 0 && k-j <= 4; j-- {
		switch b[j] {
		case '\n':
			return true
		case ' ', '\t', '\r':
			continue
		}
		return false
	}
	return false
}

// nameLetter returns the length of the letter (ASCII or UTF-8) at b[k], 0
// if there is none, and whether it is upper case.
func nameLetter(b []byte, k int) (int, bool) {
	c := b[k]
	if c < utf8.RuneSelf {
		if isLetter(c) {
			return 1, isUpper(c)
		}
		return 0, false
	}
	r, n := utf8.DecodeRune(b[k:])
	if r == utf8.RuneError || !unicode.IsLetter(r) {
		return 0, false
	}
	return n, unicode.IsUpper(r)
}

// nameStart reports whether no letter precedes b[q].
func nameStart(b []byte, q int) bool {
	if q == 0 {
		return true
	}
	c := b[q-1]
	if c < utf8.RuneSelf {
		return !isLetter(c) && !isDigit(c)
	}
	r, _ := utf8.DecodeLastRune(b[max(q-4, 0):q])
	return !unicode.IsLetter(r)
}

// nameWord returns the end of the capitalised word at b[k] (letters, with
// inner apostrophes and hyphens: O'Neill, Duval-Leroy), its letter count,
// and whether all its ASCII letters are upper case; end is k when no
// capitalised word starts there. Letters outside ASCII do not make a word
// lower or upper case.
func nameWord(b []byte, k int) (end, letters int, caps bool) {
	n, up := nameLetter(b, k)
	if n == 0 || !up {
		return k, 0, false
	}
	caps = true
	ascii := 0
	e := k
	for e < len(b) {
		n, up := nameLetter(b, e)
		if n == 0 {
			// An apostrophe or hyphen between letters, not a
			// possessive ("Doe's").
			if (b[e] == '\'' || b[e] == '-') && e > k && e+1 < len(b) &&
				(b[e] == '-' || b[e+1] != 's' || (e+2 < len(b) && isLetter(b[e+2]))) {
				if m, _ := nameLetter(b, e+1); m > 0 {
					e++
					continue
				}
			}
			break
		}
		if b[e] < utf8.RuneSelf {
			ascii++
			caps = caps && up
		}
		letters++
		e += n
	}
	return e, letters, caps && ascii > 1
}

// Name particles are lower-case words inside names ("Ludwig van
// Beethoven", "María de la Cruz"): see isParticle.

// particleEnd returns the end of the particles ("van der ") at b[k] when a
// capitalised word follows them, else k.
func particleEnd(b []byte, k int) int {
	e := k
	for range 2 {
		w := e
		for w < len(b) && isLower(b[w]) && w-e < 5 {
			w++
		}
		if w == e || w+1 >= len(b) || b[w] != ' ' || !isParticle(b[e:w]) {
			return k
		}
		e = w + 1
		if n, up := nameLetter(b, e); n > 0 && up {
			return e
		}
	}
	return k
}

func isParticle(w []byte) bool {
	switch string(w) {
	case "van", "von", "de", "der", "den", "del", "della", "da", "di", "du", "la", "le", "bin", "ibn", "al", "el",
		"dos", "das", "ten", "ter":
		return true
	}
	return false
}

// nameAt recognises a name starting at b[q] and returns its end, or q.
func (st *scan) nameAt(q, others int) int {
	b := st.b
	// Cheap shape check first: another capitalised word after this one
	// (maybe after a comma: "Okafor, Daniel"), or a title before it.
	k0 := q + 1
	for k0 < len(b) && (isLetter(b[k0]) || b[k0] >= utf8.RuneSelf || b[k0] == '\'' || b[k0] == '-' || b[k0] == '.') {
		k0++
	}
	if k0 < len(b) && b[k0] == ',' {
		k0++
	}
	if k0+2 < len(b) && b[k0] == ' ' && b[k0+1] == ' ' { // OCR: "Deborah  Lynn  Fisher"
		k0++
	}
	if (k0+1 >= len(b) || b[k0] != ' ' || (!isUpper(b[k0+1]) && b[k0+1] < 0xC3 && particleEnd(b, k0+1) == k0+1)) &&
		(q < 2 || b[q-1] != ' ' || b[q-2] != '.') {
		return q
	}
	var starts, ends [4]int
	var upper [4]bool
	nw := 0
	k := q
	for nw < 4 {
		e, letters, upperRun := nameWord(b, k)
		if e == k {
			break
		}
		if letters == 1 && e < len(b) && b[e] == '.' { // an initial
			e++
		}
		upper[nw] = upperRun
		starts[nw], ends[nw] = k, e
		nw++
		k = e
		if k+1 >= len(b) || b[k] != ' ' {
			break
		}
		if b[k+1] == ' ' && k+2 < len(b) && b[k+2] != ' ' {
			k++ // a double space between the words of a scanned form
		}
		if n, up := nameLetter(b, k+1); n > 0 && up {
			k++
			continue
		}
		if p := particleEnd(b, k+1); p > k+1 && nw < 4 {
			k = p
			continue
		}
		break
	}
	if nw == 0 {
		return q
	}
	// "Okafor, Daniel": a surname, a comma and a given name.
	lastFirst := false
	if nw == 1 && ends[0]+2 < len(b) && b[ends[0]] == ',' && b[ends[0]+1] == ' ' {
		if e, letters, upperRun := nameWord(b, ends[0]+2); e > ends[0]+2 && letters > 1 {
			starts[1], ends[1], upper[1] = ends[0]+2, e, upperRun
			nw = 2
			lastFirst = true
		}
	}
	title := false
	if nw == 1 {
		// A single surname after a title ("Dear Mr. Alvarez").
		if q < 2 || b[q-1] != ' ' || b[q-2] != '.' {
			return q
		}
		title = true
	}
	// Trim words that are context words, months, street suffixes or other
	// capitalised words that are not names.
	good := 0
	var lb [24]byte
	for good < nw {
		w := b[starts[good]:ends[good]]
		wt := w
		if wt[len(wt)-1] == '.' {
			wt = wt[:len(wt)-1]
		}
		if st.notName(wt, lowerWord(lb[:], wt)) {
			break
		}
		good++
	}
	if lastFirst && good < 2 {
		return q
	}
	minWords := 2
	label := false
	if title {
		label, title = st.nameLabel(q)
		if !title {
			return q
		}
		minWords = 1
	}
	if good < minWords {
		return q
	}
	last := min(good, len(ends)) - 1
	end := ends[last]
	if end-starts[last] == 2 && b[end-1] == '.' {
		return q // ends with an initial
	}
	if !title {
		label, _ = st.nameLabel(q)
	}
	caps := false // an all-capitals word: only a label makes it a name
	for _, u := range upper[:good] {
		caps = caps || u
	}
	// The cheap signals first: a table row is only parsed for a name
	// nothing else speaks for.
	var conf float32
	switch {
	case label:
		conf = 0.9
	case !caps && !lastFirst && st.s.names[foldName(lb[:], b[starts[0]:ends[0]])]:
		conf = 0.8
	case st.nameWithEmail(q, end, others) || st.nameColumn(q, end):
		conf = 0.9
	default:
		return q
	}
	// The other findings are sorted by start and do not nest much: look at
	// those that start before end.
	fs := st.findings[:others]
	x := sort.Search(len(fs), func(i int) bool { return fs[i].Start >= end })
	for y := x - 1; y >= 0 && y >= x-8; y-- {
		if fs[y].End > q {
			return q
		}
	}
	st.findings = append(st.findings, Finding{Type: PersonName, Start: q, End: end, Confidence: conf, Masked: mask(PersonName, b[q:end])})
	return end
}

// foldName returns w in lower case with the diacritics of Latin letters
// removed ("José" → "jose") if it fits in buf, else "".
func foldName(buf []byte, w []byte) string {
	n := 0
	for k := 0; k < len(w); {
		if n >= len(buf) {
			return ""
		}
		c := w[k]
		if c < utf8.RuneSelf {
			buf[n] = lower(c)
			n++
			k++
			continue
		}
		r, size := utf8.DecodeRune(w[k:])
		f := foldRune(r)
		if f == 0 {
			return ""
		}
		buf[n] = f
		n++
		k += size
	}
	return string(buf[:n])
}

// foldRune returns the base letter of a Latin letter with a diacritic, in
// lower case, or 0.
func foldRune(r rune) byte {
	r = unicode.ToLower(r)
	for _, g := range foldGroups {
		if strings.ContainsRune(g[1:], r) {
			return g[0]
		}
	}
	return 0
}

var foldGroups = []string{"aàáâãäåāăą", "cçćĉċč", "dďđ", "eèéêëēĕėęě", "gĝğġģ", "hĥħ", "iìíîïĩīĭįı", "jĵ", "kķ",
	"lĺļľŀł", "nñńņňŉ", "oòóôõöøōŏő", "rŕŗř", "sśŝşš", "tţťŧ", "uùúûüũūŭůűų", "wŵ", "yýÿŷ", "zźżž"}

// nameLabel reports whether a name label ("Name:", "Patient", "Dear",
// "Thanks,") precedes b[q], and whether it is a title (Mr., Dr.) that may
// precede a surname alone.
func (st *scan) nameLabel(q int) (label, title bool) {
	b := st.b
	k := q
	colon, comma, newline := false, false, false
	for s := 0; s < 6 && k > 0 && strings.IndexByte(":=\"' \t.,>(\r\n", b[k-1]) >= 0; s++ {
		switch b[k-1] {
		case ':', '=':
			colon = true
		case ',':
			comma = true
		case '\n':
			newline = true
		}
		k--
	}
	if k == q || k == 0 || !isLetter(b[k-1]) {
		return false, false
	}
	if newline && !colon && !comma {
		return false, false // a label ends its line with ':' or ','
	}
	ws := wordBefore(b, k, 20)
	if ws < 0 {
		return false, false
	}
	if comma && st.signOff(ws, k) {
		return true, false
	}
	node := st.s.kw.exact(b, ws, k)
	if node == 0 || st.s.kw.kinds[node]&kName == 0 {
		return false, false
	}
	switch st.s.kw.word[node] {
	case "mr", "mrs", "ms", "miss", "dr", "heer", "mevrouw", "herr", "frau", "monsieur", "madame", "senor", "senora":
		return true, true
	case "subject":
		// "Subject:" is an e-mail header; "subject Jane Doe" a label.
		return !colon, false
	}
	return true, false
}

// signOff reports whether b[ws:we] ends a letter's closing ("Thanks",
// "Best regards", "Thank you").
func (st *scan) signOff(ws, we int) bool {
	var lb [12]byte
	switch lowerWord(lb[:], st.b[ws:we]) {
	case "thanks", "regards", "sincerely", "cheers", "best", "respectfully", "faithfully", "truly", "wishes",
		"warmly", "thx", "cordially":
		return true
	case "you":
		return ws >= 6 && strings.EqualFold(string(st.b[ws-6:ws]), "thank ")
	}
	return false
}

// nameWithEmail reports whether an e-mail address whose local part holds
// the name's first or last word follows the name b[q:end]: as its display
// name ("Jane Doe <jane.doe@…>", "\"Jane Doe\" <…>", "Jane Doe
// (jdoe@…)"), or right after it ("Jane Doe, jane.doe@…", a table row).
// A shared mailbox ("Acme Notifications <noreply@…>") does not count.
func (st *scan) nameWithEmail(q, end, others int) bool {
	b := st.b
	k := end
	if k < len(b) && (b[k] == '"' || b[k] == '\'') {
		k++
	}
	gap := k
	for k < len(b) && k-gap < 3 && (b[k] == ' ' || b[k] == ',' || b[k] == '|' || b[k] == '\t') {
		k++
	}
	if k < len(b) && (b[k] == '<' || b[k] == '(') {
		k++
	}
	fs := st.findings[:others]
	x := sort.Search(len(fs), func(i int) bool { return fs[i].Start >= k })
	if x == len(fs) || fs[x].Start != k || fs[x].Type != Email {
		return false
	}
	at := bytes.IndexByte(b[k:fs[x].End], '@')
	if at <= 0 || at > 64 {
		return false
	}
	var lp, lb [64]byte
	local := lowerWord(lp[:], b[k:k+at])
	fe := q
	for fe < end && b[fe] != ' ' {
		fe++
	}
	ls := end
	for ls > q && b[ls-1] != ' ' {
		ls--
	}
	for _, w := range [2][]byte{b[q:fe], b[ls:end]} {
		if f := foldName(lb[:], w); len(f) >= 3 && strings.Contains(local, f) {
			return true
		}
	}
	return false
}

// nameOrgWords are capitalised words that are not names: organisations,
// job titles, form and header words.
var nameOrgWords = map[string]bool{}

// suffixSurnames are street suffixes that are also common surnames ("Mei
// Park", "Dana Hill"): in a name they do not end it.
var suffixSurnames = map[string]bool{"park": true, "hill": true, "hills": true, "lane": true, "wood": true, "woods": true,
	"brook": true, "brooks": true, "ford": true, "field": true, "fields": true, "hall": true, "mills": true, "glen": true,
	"banks": true, "grove": true, "rivers": true, "knolls": true, "vista": true, "wells": true}

func init() {
	for w := range strings.FieldsSeq(`support team teams ops practice services service group department dept desk office company
		corporation corp solutions systems technologies technology tech partners holdings associates foundation
		institute agency center centre committee council care billing security labs lab industries international
		global gmbh ag sa plc pty limited incorporated enterprises ventures capital financial finance medical health
		healthcare pharmacy pharma store shop market manager director officer president engineer analyst specialist
		coordinator assistant representative agent administrator lead head chief senior junior vp ceo cto cfo coo
		hr it operations sales marketing legal compliance payroll accounting recruiting human resources direct main
		general regional national federal county city hotel airport station trust union mutual life blue cross
		shield valley river lake north south east west central pacific atlantic american european data cloud
		network networks software digital media news press college academy laboratory diagnostics records portal
		platform app web online express airlines airline energy power electric water motors auto pay payments
		wallet total amount status type details notes description summary report form file page section field value
		record request response update updated first last full home work personal primary secondary emergency
		shipping mailing tax income wages rx bin pcn plan seat gate flight room badge age sex gender male female
		height weight eye hair relationship position title role active inactive pending approved denied verified
		level hire start end code zip postal country nationality issued expires expiry issue class restrictions
		balance wire transfer due dear hi hello regards best sincerely cheers attached details below above see
		note warning notice confidential private public internal external department dr mr mrs ms jr sr ii iii iv
		md phd rn esq street avenue period complete completed review access reset help information alert confirm
		verify verification welcome statement overview agreement terms conditions privacy`) {
		nameOrgWords[w] = true
	}
}

// notName reports capitalised words that are not names.
func (st *scan) notName(w []byte, lw string) bool {
	if lw == "" {
		return true // longer than any name word
	}
	if node, end := st.s.kw.match(w, 0); node != 0 && end == len(w) {
		return true
	}
	if (month(w) != 0 && foreignMonths[lw] == 0) || (st.s.suffixes[lw] != 0 && !suffixSurnames[lw]) || nameOrgWords[lw] {
		return true
	}
	switch lw {
	case "the", "a", "an", "and", "or", "of", "for", "to", "in", "on", "at", "by", "with", "from", "is", "was",
		"not", "no", "none", "unknown", "n/a", "null", "test", "monday", "tuesday", "wednesday", "thursday", "friday",
		"saturday", "sunday", "inc", "llc", "ltd", "corp", "co", "bank", "hospital", "clinic", "university", "school",
		"please", "thanks", "thank", "hello", "hi", "re", "fw", "fwd", "subject", "date", "number", "id", "apt",
		"suite", "unit", "united", "states", "america", "new", "york", "us", "usa", "user", "admin", "error", "warn",
		"info", "debug", "true", "false", "yes", "ok", "get", "post", "put", "delete", "http", "https", "ssn", "dob":
		return true
	}
	return false
}

// nameTable remembers the header line of the last table a name was looked
// for in, so that the rows of a long table do not each walk up to it.
type nameTable struct {
	// row is the start of a row known to be in the table whose header
	// line starts at hdr; sep and n are its separator and their count.
	row, hdr int
	sep      byte
	n        int
}

// maxCellLine bounds the table lines names are looked for in.
const maxCellLine = 4096

// nameColumn reports whether b[q:end] is a whole cell of a table (CSV,
// TSV, pipe or markdown) whose header names a person in that column
// ("name", "full_name", "holder", "| Name |").
func (st *scan) nameColumn(q, end int) bool {
	b := st.b
	// A whole cell: only a separator, a quote or spaces around it.
	k := q
	for k > 0 && q-k < 3 && (b[k-1] == ' ' || b[k-1] == '"' || b[k-1] == '\'') {
		k--
	}
	if k > 0 && strings.IndexByte("\t|,;\n", b[k-1]) < 0 {
		return false
	}
	k = end
	for k < len(b) && k-end < 3 && (b[k] == ' ' || b[k] == '"' || b[k] == '\'' || b[k] == '\r') {
		k++
	}
	if k < len(b) && strings.IndexByte("\t|,;\n", b[k]) < 0 {
		return false
	}
	ls := q
	for ls > 0 && b[ls-1] != '\n' && q-ls < maxCellLine {
		ls--
	}
	le := end
	for le < len(b) && b[le] != '\n' && le-ls < maxCellLine {
		le++
	}
	if (ls > 0 && b[ls-1] != '\n') || (le < len(b) && b[le] != '\n') {
		return false
	}
	line := bytes.TrimSuffix(b[ls:le], []byte("\r"))
	sep := lineSep(line)
	if sep == 0 {
		return false
	}
	n, col, cs, ce := cellOf(line, sep, q-ls)
	for cs < ce && (line[cs] == ' ' || line[cs] == '"' || line[cs] == '\'') {
		cs++
	}
	for ce > cs && (line[ce-1] == ' ' || line[ce-1] == '"' || line[ce-1] == '\'') {
		ce--
	}
	if ls+cs != q || ls+ce != end {
		return false
	}
	hs := st.tableHeader(ls, sep, n)
	if hs < 0 {
		return false
	}
	he := hs
	for he < len(b) && b[he] != '\n' {
		he++
	}
	hline := bytes.TrimSuffix(b[hs:he], []byte("\r"))
	hn, _, _, _ := cellOf(hline, sep, len(hline))
	if hn != n {
		return false
	}
	cell := nthCell(hline, sep, col)
	return personHeader(cell)
}

// lineSep returns the separator of a table line: tab, '|', ',' or ';'
// outside double quotes, in that order of preference, or 0.
func lineSep(line []byte) byte {
	var tabs, pipes, commas, semis int
	inQuote := false
	for _, c := range line {
		switch c {
		case '"':
			inQuote = !inQuote
		case '\t':
			tabs++
		case '|':
			pipes++
		case ',':
			if !inQuote {
				commas++
			}
		case ';':
			if !inQuote {
				semis++
			}
		}
	}
	switch {
	case tabs > 0:
		return '\t'
	case pipes > 0:
		return '|'
	case commas > 0:
		return ','
	case semis > 0:
		return ';'
	}
	return 0
}

// cellOf returns the number of separators in line (outside double quotes),
// the column of the cell holding line[p] and that cell's bounds.
func cellOf(line []byte, sep byte, p int) (n, col, cs, ce int) {
	inQuote := false
	ce = -1
	for i, c := range line {
		switch {
		case c == '"':
			inQuote = !inQuote
		case c == sep && !inQuote:
			n++
			if i < p {
				col++
				cs = i + 1
			} else if ce < 0 {
				ce = i
			}
		}
	}
	if ce < 0 {
		ce = len(line)
	}
	return n, col, cs, ce
}

// nthCell returns the col-th cell of line.
func nthCell(line []byte, sep byte, col int) []byte {
	inQuote := false
	cs := 0
	for i, c := range line {
		switch {
		case c == '"':
			inQuote = !inQuote
		case c == sep && !inQuote:
			if col == 0 {
				return line[cs:i]
			}
			col--
			cs = i + 1
		}
	}
	if col == 0 {
		return line[cs:]
	}
	return nil
}

// tableHeader returns the start of the header line of the table whose row
// starts at ls: the first line of the run of lines, without a blank one,
// that have n separators sep. It returns -1 when the row is that first line
// or the run is too long to walk.
func (st *scan) tableHeader(ls int, sep byte, n int) int {
	b := st.b
	t := &st.ntab
	cur := ls
	hdr := -1
	for steps := 0; hdr < 0; steps++ {
		if t.sep == sep && t.n == n && t.row == cur && cur != ls {
			hdr = t.hdr
			break
		}
		if cur == 0 {
			hdr = cur
			break
		}
		if steps > 256 {
			return -1
		}
		ps := cur - 1
		for ps > 0 && b[ps-1] != '\n' && cur-ps < maxCellLine {
			ps--
		}
		prev := bytes.TrimSuffix(b[ps:cur-1], []byte("\r"))
		if len(bytes.TrimSpace(prev)) == 0 || (ps > 0 && b[ps-1] != '\n') {
			hdr = cur
			break
		}
		if pn, _, _, _ := cellOf(prev, sep, 0); pn != n {
			hdr = cur
			break
		}
		cur = ps
	}
	*t = nameTable{row: ls, hdr: hdr, sep: sep, n: n}
	if hdr == ls {
		return -1
	}
	return hdr
}

// personRoles are the last words of column names that hold a person's name.
var personRoles = map[string]bool{}

func init() {
	for w := range strings.FieldsSeq(`name names fullname surname lastname firstname givenname holder cardholder
		accountholder traveler traveller passenger customer patient insured subscriber policyholder employee applicant
		beneficiary guarantor member dependent dependant driver renter owner recipient contact student prescriber
		physician doctor voter visitor guest claimant borrower payee person individual author sender signer signatory
		kontoinhaber inhaber nombre nom vorname nachname titular`) {
		personRoles[w] = true
	}
}

// personHeader reports whether a column name names a person's name:
// "name", "full_name", "Card Holder", "travelerName"; not "company_name" or
// "file name".
func personHeader(cell []byte) bool {
	var buf [64]byte
	n := 0
	for i, c := range cell {
		if n >= len(buf)-1 {
			return false
		}
		switch {
		case isLetter(c):
			if i > 0 && isUpper(c) && isLower(cell[i-1]) {
				buf[n] = ' '
				n++
			}
			buf[n] = lower(c)
			n++
		case c == '_' || c == '-' || c == '.' || c == ' ' || c == '/' || c == '\t':
			buf[n] = ' '
			n++
		}
	}
	h := strings.TrimSpace(string(buf[:n]))
	if h == "" {
		return false
	}
	for _, x := range notPersonName {
		if strings.Contains(h, x) {
			return false
		}
	}
	f := strings.Fields(h)
	if !personRoles[f[len(f)-1]] {
		return false
	}
	// Every other word qualifies a person: "patient_full_name", not
	// "plan_name" or "drug name".
	for i, w := range f[:len(f)-1] {
		if w == "card" || w == "account" || w == "policy" {
			// "card holder", not "card name"
			if f[i+1] != "holder" {
				return false
			}
			continue
		}
		if !personRoles[w] && !personQualifiers[w] {
			return false
		}
	}
	return true
}

// personQualifiers are the other words of column names that hold a
// person's name ("legal_first_name", "account holder").
var personQualifiers = map[string]bool{}

func init() {
	for w := range strings.FieldsSeq(`full first last given family middle legal maiden preferred primary secondary
		emergency insured provider the of his her their`) {
		personQualifiers[w] = true
	}
}
