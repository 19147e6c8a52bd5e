package scanner

import (
	"sort"
	"strings"
)

// nameWindow is how far from another finding a person name is looked for.
const nameWindow = 96

// names finds person names next to the other findings: after a label
// ("Name:", "Patient:", "Dear Mr.") or starting with a common first name.
// A name on its own is not personal information worth reporting.
func (st *scan) names() {
	if len(st.findings) == 0 {
		return
	}
	sort.SliceStable(st.findings, func(i, j int) bool { return st.findings[i].Start < st.findings[j].Start })
	others := len(st.findings)
	scanned := 0
	for x := range others {
		f := st.findings[x]
		if f.Type == Secret {
			continue
		}
		lo := max(f.Start-nameWindow, scanned)
		hi := min(f.End+nameWindow, len(st.b))
		for q := lo; q < hi; q++ {
			if !isUpper(st.b[q]) || (q > 0 && isLetter(st.b[q-1])) {
				continue
			}
			if e := st.nameAt(q, others); e > q {
				q = e
			}
		}
		scanned = max(scanned, hi)
	}
}

// nameAt recognises a name starting at b[q] and returns its end, or q.
func (st *scan) nameAt(q, others int) int {
	b := st.b
	// Cheap shape check first: a second capitalised word, or a title
	// before a single one.
	k0 := q + 1
	for k0 < len(b) && (isLetter(b[k0]) || b[k0] == '\'' || b[k0] == '-' || b[k0] == '.') {
		k0++
	}
	two := k0+1 < len(b) && b[k0] == ' ' && isUpper(b[k0+1])
	if !two && (q < 2 || b[q-1] != ' ' || b[q-2] != '.') {
		return q
	}
	label, title := st.nameLabel(q)
	var ends [4]int
	var starts [4]int
	nw := 0
	k := q
	caps := false
	for nw < 4 && k < len(b) && isUpper(b[k]) {
		ws := k
		k++
		upperRun := true
		for k < len(b) && (isLetter(b[k]) || b[k] == '\'' || b[k] == '-') {
			if !isUpper(b[k]) {
				upperRun = false
			}
			k++
		}
		l := k - ws
		switch {
		case l == 1 && k < len(b) && b[k] == '.': // middle initial
			k++
		case l == 1:
		case upperRun:
			caps = true
		}
		starts[nw], ends[nw] = ws, k
		nw++
		if k+1 < len(b) && b[k] == ' ' && isUpper(b[k+1]) {
			k++
			continue
		}
		break
	}
	if nw == 0 {
		return q
	}
	// Trim words that are context words, months, or street suffixes.
	good := 0
	var lb [24]byte
	for good < nw {
		w := b[starts[good]:ends[good]]
		wt := w
		if wt[len(wt)-1] == '.' {
			wt = wt[:len(wt)-1]
		}
		lw := lowerWord(lb[:], wt)
		if st.notName(w, lw) {
			break
		}
		good++
	}
	if good == 0 {
		return q
	}
	last := min(good, len(ends)) - 1
	end := ends[last]
	minWords := 2
	if title {
		minWords = 1
	}
	if good < minWords || (ends[last]-starts[last] == 2 && b[ends[last]-1] == '.') {
		return q
	}
	var conf float32
	switch {
	case label:
		conf = 0.9
	case !caps && st.s.names[lowerWord(lb[:], b[starts[0]:ends[0]])]:
		conf = 0.8
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

// nameLabel reports whether a name label ("Name:", "Patient", "Dear")
// precedes b[q], and whether it is a title (Mr., Dr.) that may precede a
// surname alone.
func (st *scan) nameLabel(q int) (label, title bool) {
	b := st.b
	k := q
	for s := 0; s < 5 && k > 0 && strings.IndexByte(":=\"' \t.,", b[k-1]) >= 0; s++ {
		k--
	}
	if k == q || k == 0 || !isLetter(b[k-1]) {
		return false, false
	}
	ws := k
	for ws > 0 && isLetter(b[ws-1]) && k-ws < 20 {
		ws--
	}
	if !wordStart(b, ws) {
		return false, false
	}
	node, end := st.s.kw.match(b[:k], ws)
	if node == 0 || end != k || st.s.kw.kinds[node]&kName == 0 {
		return false, false
	}
	switch st.s.kw.word[node] {
	case "mr", "mrs", "ms", "miss", "dr":
		return true, true
	}
	return true, false
}

// notName reports capitalised words that are not names.
func (st *scan) notName(w []byte, lw string) bool {
	if lw == "" {
		return true
	}
	if node, end := st.s.kw.match(w, 0); node != 0 && end == len(w) {
		return true
	}
	if month(w) != 0 || st.s.suffixes[lw] != 0 {
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
