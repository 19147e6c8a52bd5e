package scanner

// usStates are the USPS state and territory codes.
const usStates = "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP"

func isState(w []byte) bool {
	if len(w) != 2 || !isUpper(w[0]) || !isUpper(w[1]) {
		return false
	}
	for k := 0; k+1 < len(usStates); k += 3 {
		if usStates[k] == w[0] && usStates[k+1] == w[1] {
			return true
		}
	}
	return false
}

// lowerWord returns w in lower case if it fits in buf.
func lowerWord(buf []byte, w []byte) string {
	if len(w) > len(buf) {
		return ""
	}
	for i, c := range w {
		buf[i] = lower(c)
	}
	return string(buf[:len(w)])
}

// address recognises a street address whose house number is b[i:e]:
// capitalised street-name words and a street suffix, then optionally a
// unit, a city, a state and a ZIP code. A ZIP code alone is not an address.
func (st *scan) address(i, e int) (int, bool) {
	b := st.b
	n := len(b)
	k := e + 1
	words := 0
	suffixEnd := 0
	weak := false
	var lb [16]byte
	// A numbered highway or route: "4400 Hwy 290 W", "12 State Route 9".
	if he, ok := highway(b, k); ok {
		suffixEnd, words = he, 1
	}
	// A street named after its type word: "1450 Calle Ocho", "12 Rue Cler".
	if se, ok := streetPrefix(b, k); ok && suffixEnd == 0 {
		suffixEnd, words = se, 1
	}
	for words < 6 && k < n && suffixEnd == 0 {
		ws := k
		switch {
		case isDigit(b[k]):
			for k < n && isDigit(b[k]) {
				k++
			}
			if k+2 > n || !ordinal(b[k:k+2]) {
				return 0, false
			}
			k += 2
			if k < n && isLetter(b[k]) {
				return 0, false
			}
		case isLetter(b[k]):
			for k < n && (isLetter(b[k]) || b[k] == '\'') {
				k++
			}
		default:
			return 0, false
		}
		w := b[ws:k]
		if sfx := st.s.suffixes[lowerWord(lb[:], w)]; (words > 0 || sfx == 'n') && isUpper(w[0]) && sfx != 0 && (k >= n || !isAlnum(b[k])) &&
			(sfx != 'w' || !st.suffixNext(k)) { // "Harbor View Blvd": the street name holds a weak suffix
			weak = sfx == 'w'
			suffixEnd = k
			if k < n && b[k] == '.' {
				suffixEnd = k + 1
			}
			break
		}
		if !isUpper(w[0]) && !isDigit(w[0]) {
			return 0, false
		}
		words++
		switch {
		case k+1 < n && b[k] == ' ':
			k++
		case k+2 < n && b[k] == '.' && b[k+1] == ' ' && k-ws == 1:
			k += 2
		default:
			return 0, false
		}
	}
	if suffixEnd == 0 {
		return 0, false
	}
	end := suffixEnd
	// A direction after the suffix: "Avenue NW".
	if end+3 <= n && b[end] == ' ' {
		d := end + 1
		de := d
		for de < n && de-d < 2 && (b[de] == 'N' || b[de] == 'S' || b[de] == 'E' || b[de] == 'W') {
			de++
		}
		if de > d && (de >= n || !isAlnum(b[de])) {
			end = de
		}
	}
	end = st.unit(end)
	conf := float32(0.8)
	unitEnd := end
	csz := false
	if e2, ok := st.cityStateZip(end); ok {
		end = e2
		conf = 0.93
		csz = true
	}
	hs := st.context(i)
	k2, h, _ := st.nearest(hs, kAddress, i)
	if k2 != 0 {
		conf = 0.95
	}
	if weak && k2 == 0 && !csz && unitEnd == suffixEnd && !addressEnd(b, end) && e-i < 3 {
		return 0, false // "3 Google Drive folders", "9 Supreme Court justices"
	}
	st.emit(StreetAddress, i, end, conf, h)
	return end, true
}

// suffixNext reports whether a capitalised strong street suffix follows
// b[k] ("… View Blvd").
func (st *scan) suffixNext(k int) bool {
	b := st.b
	if k+2 >= len(b) || b[k] != ' ' || !isUpper(b[k+1]) {
		return false
	}
	e := k + 1
	for e < len(b) && isLetter(b[e]) {
		e++
	}
	var lb [16]byte
	return st.s.suffixes[lowerWord(lb[:], b[k+1:e])] == 's' && (e >= len(b) || !isAlnum(b[e]))
}

// highway recognises a numbered road after a house number at b[k]:
// "Hwy 290", "Highway 1", "Route 66", "State Route 9", "US Hwy 101",
// "County Road 12", "FM 1960", then its number, and returns its end.
func highway(b []byte, k int) (int, bool) {
	n := len(b)
	l := highwayWords.at(b, k, isDigit)
	if l == 0 {
		return 0, false
	}
	e := k + l
	for e < n && isDigit(b[e]) && e-k-l < 5 {
		e++
	}
	if e < n && isAlnum(b[e]) {
		return 0, false
	}
	return e, true
}

var (
	highwayWords = newPrefixSet("US Highway ", "US Hwy ", "State Route ", "State Highway ", "County Road ", "Highway ",
		"Hwy ", "Hwy. ", "Route ", "Rte ", "Rte. ", "SR ", "FM ", "CR ")
	streetTypeWords = newPrefixSet("Calle ", "Avenida ", "Av. ", "Camino ", "Paseo ", "Carrera ", "Rue ", "Boulevard ",
		"Rua ", "Via ", "Viale ", "Piazza ", "Plaza ")
)

// prefixSet is a list of literal words looked for at a position, with the
// set of their first bytes for a one-byte rejection (numbers before a space
// are common; these words are not).
type prefixSet struct {
	words []string
	first [256]bool
}

func newPrefixSet(words ...string) *prefixSet {
	p := &prefixSet{words: words}
	for _, w := range words {
		p.first[w[0]] = true
	}
	return p
}

// at returns the length of the first word of the set at b[k] that is
// followed by a byte next accepts, or 0.
func (p *prefixSet) at(b []byte, k int, next func(byte) bool) int {
	if k >= len(b) || !p.first[b[k]] {
		return 0
	}
	for _, w := range p.words {
		if k+len(w) < len(b) && string(b[k:k+len(w)]) == w && next(b[k+len(w)]) {
			return len(w)
		}
	}
	return 0
}

// poBox recognises a post-office box whose number is b[i:e] ("PO Box
// 1256", "P.O. Box 77, Columbus, OH 43211") and returns where it ends.
func (st *scan) poBox(i, e int) (int, bool) {
	b := st.b
	if i < 7 || b[i-1] != ' ' || lower(b[i-4]) != 'b' || lower(b[i-3]) != 'o' || lower(b[i-2]) != 'x' || b[i-5] != ' ' {
		return 0, false
	}
	p := i - 5
	s := -1
	for _, pre := range []string{"PO", "P.O.", "P. O.", "Post Office", "po", "p.o."} {
		if p >= len(pre) && string(b[p-len(pre):p]) == pre && (p == len(pre) || !isAlnum(b[p-len(pre)-1])) {
			s = p - len(pre)
			break
		}
	}
	if s < 0 {
		return 0, false
	}
	end := e
	conf := float32(0.85)
	if e2, ok := st.cityStateZip(e); ok {
		end, conf = e2, 0.93
	}
	hs := st.context(s)
	k, h, _ := st.nearest(hs, kAddress, s)
	if k != 0 {
		conf = 0.95
	}
	st.emit(StreetAddress, s, end, conf, h)
	return end, true
}

func ordinal(s []byte) bool {
	a, b := lower(s[0]), lower(s[1])
	return (a == 's' && b == 't') || (a == 'n' && b == 'd') || (a == 'r' && b == 'd') || (a == 't' && b == 'h')
}

// unit extends an address over "Apt 4B", "Suite 200", "Unit 5", "#12".
func (st *scan) unit(end int) int {
	b := st.b
	n := len(b)
	k := end
	if k < n && b[k] == ',' {
		k++
	}
	if k >= n || b[k] != ' ' {
		return end
	}
	k++
	ws := k
	if k < n && b[k] == '#' {
		k++
	} else {
		for k < n && isLetter(b[k]) {
			k++
		}
		var lb [12]byte
		switch lowerWord(lb[:], b[ws:k]) {
		case "apt", "apartment", "suite", "ste", "unit", "fl", "floor", "rm", "room", "bldg", "building":
		default:
			return end
		}
		if k < n && b[k] == '.' {
			k++
		}
		if k < n && b[k] == ' ' {
			k++
		}
	}
	vs := k
	for k < n && isAlnum(b[k]) && k-vs < 6 {
		k++
	}
	if k == vs || (k < n && isAlnum(b[k])) {
		return end
	}
	return k
}

// cityStateZip extends an address over ", Springfield, IL 62704".
func (st *scan) cityStateZip(end int) (int, bool) {
	b := st.b
	n := len(b)
	k := end
	if k < n && b[k] == ',' {
		k++
	}
	if k >= n || b[k] != ' ' {
		return end, false
	}
	k++
	// City: one to three capitalised words.
	words := 0
	for words < 3 && k < n && isUpper(b[k]) {
		ws := k
		for k < n && (isLetter(b[k]) || b[k] == '.') {
			k++
		}
		if isState(b[ws:k]) && words > 0 {
			k = ws
			break
		}
		words++
		if k < n && b[k] == ',' {
			k++
		}
		if k < n && b[k] == ' ' {
			k++
		} else {
			break
		}
	}
	if words == 0 || k+2 > n || !isState(b[k:k+2]) || (k+2 < n && isAlnum(b[k+2])) {
		return end, false
	}
	k += 2
	z := k
	if z < n && b[z] == ' ' {
		z++
	}
	if z+5 <= n && fourDigits(b[z:]) && isDigit(b[z+4]) && (z+5 == n || !isDigit(b[z+5])) {
		k = z + 5
		if k+5 <= n && b[k] == '-' && fourDigits(b[k+1:]) {
			k += 5
		}
	}
	return k, true
}

// addressEnd reports whether an address may end at b[e]: the end of the
// text or line, or punctuation, not a sentence that goes on.
func addressEnd(b []byte, e int) bool {
	if e >= len(b) {
		return true
	}
	switch b[e] {
	case ',', ';', '\n', '\r', ')', '"', '\'', '|', '\t':
		return true
	case '.':
		return e+1 >= len(b) || b[e+1] == ' ' || b[e+1] == '\n'
	}
	return false
}

// streetPrefix recognises a street whose type word comes first, as in
// Spanish, French, Portuguese and Italian ("Calle Ocho", "Avenida Juárez",
// "Rue Cler", "Via Roma"): the type word and one to three capitalised
// words. It returns their end.
func streetPrefix(b []byte, k int) (int, bool) {
	l := streetTypeWords.at(b, k, func(c byte) bool { return isUpper(c) || isDigit(c) })
	if l == 0 {
		return 0, false
	}
	e := k + l
	for words := 0; words < 3; words++ {
		for e < len(b) && (isLetter(b[e]) || isDigit(b[e]) || b[e] >= 0x80) {
			e++
		}
		if e+1 >= len(b) || b[e] != ' ' || (!isUpper(b[e+1]) && !isDigit(b[e+1])) {
			break
		}
		e++
	}
	return e, true
}
