package scanner

// lt handles '<': a passport's machine-readable zone ("P<USAHOLLOWAY<<…"
// followed by the data line) and XML elements that hold a password or a
// secret ("<password>…</password>").
func (st *scan) lt(i int) int {
	b := st.b
	if i >= 1 && b[i-1] == 'P' && (i == 1 || !isAlnum(b[i-2])) {
		if r, ok := st.mrz(i - 1); ok {
			return r
		}
	}
	if r, ok := st.mrzLine2(i); ok {
		return r
	}
	k := i + 1
	for k < len(b) && k-i <= 40 && (isAlnum(b[k]) || b[k] == '_' || b[k] == '-' || b[k] == '.' || b[k] == ':') {
		k++
	}
	if k == i+1 || k >= len(b) || b[k] != '>' {
		return i + 1
	}
	cls := classifyKey(b[i+1 : k])
	if cls != keyPassword && cls != keySecret {
		return i + 1
	}
	v := k + 1
	e := v
	for e < len(b) && b[e] != '<' && b[e] != '\n' && e-v < 1024 {
		e++
	}
	if e+1 >= len(b) || b[e] != '<' || b[e+1] != '/' {
		return i + 1
	}
	val := b[v:e]
	switch {
	case len(val) == 0 || placeholder(val) || code(val):
	case cls == keyPassword && len(val) >= 3:
		st.emit(Credentials, v, e, 0.9, nil)
	case cls == keySecret && len(val) >= 16 && entropy(val) >= 3.0 && mixed(val):
		st.emit(Secret, v, e, 0.88, nil)
	}
	return e
}

// mrz recognises the two-line machine-readable zone of a passport (ICAO
// 9303 TD3) starting at b[p] ("P<" then the issuing state and the name,
// then a line that starts with the document number and its check digit)
// and reports the document number as a Passport.
func (st *scan) mrz(p int) (int, bool) {
	b := st.b
	e1 := p
	for e1 < len(b) && b[e1] != '\n' && b[e1] != '\r' {
		c := b[e1]
		if !isUpper(c) && c != '<' {
			return 0, false
		}
		e1++
	}
	if e1-p < 30 || e1-p > 48 { // 44 in TD3; tolerate a mistyped filler run
		return 0, false
	}
	s2 := e1
	for s2 < len(b) && (b[s2] == '\r' || b[s2] == '\n') && s2-e1 < 2 {
		s2++
	}
	e2 := s2
	for e2 < len(b) && (isUpper(b[e2]) || isDigit(b[e2]) || b[e2] == '<') {
		e2++
	}
	if e2-s2 < 28 || e2-s2 > 48 {
		return 0, false
	}
	num := b[s2 : s2+9]
	if mrzCheck(num) != b[s2+9] {
		return 0, false
	}
	if !st.emitDocNumber(s2, 0.97) {
		return 0, false
	}
	return e2, true
}

// emitDocNumber reports the document number that opens an MRZ data line at
// b[s] (nine characters, filler '<' trimmed), unless it is too short.
func (st *scan) emitDocNumber(s int, conf float32) bool {
	ne := s + 9
	for ne > s && st.b[ne-1] == '<' {
		ne--
	}
	if ne-s < 6 {
		return false
	}
	st.emit(Passport, s, ne, conf, nil)
	return true
}

// mrzCheck computes an ICAO 9303 check digit: weights 7, 3, 1; digits are
// their value, letters A-Z are 10-35 and the filler '<' is 0.
func mrzCheck(f []byte) byte {
	sum := 0
	w := [3]int{7, 3, 1}
	for i, c := range f {
		v := 0
		switch {
		case isDigit(c):
			v = int(c - '0')
		case isUpper(c):
			v = int(c-'A') + 10
		}
		sum += v * w[i%3]
	}
	return byte('0' + sum%10)
}

// mrzLine2 recognises the data line of a passport's machine-readable zone
// on its own ("K226863384USA8207153F3009145<<<<<<<<<<<<<<06"), the '<' at
// b[i] being one of its fillers: the document number, birth date and expiry
// each carry an ICAO check digit, and all three must hold.
func (st *scan) mrzLine2(i int) (int, bool) {
	b := st.b
	s := i
	for s > 0 && i-s < 44 && (isUpper(b[s-1]) || isDigit(b[s-1]) || b[s-1] == '<') {
		s--
	}
	if s > 0 && isAlnum(b[s-1]) || i-s < 28 || s+44 > len(b) {
		return 0, false
	}
	l := b[s : s+44]
	for _, c := range l {
		if !isUpper(c) && !isDigit(c) && c != '<' {
			return 0, false
		}
	}
	if s+44 < len(b) && isAlnum(b[s+44]) {
		return 0, false
	}
	// number(9) check, nationality(3), birth(6) check, sex, expiry(6) check
	if mrzCheck(l[0:9]) != l[9] || mrzCheck(l[13:19]) != l[19] || mrzCheck(l[21:27]) != l[27] ||
		(l[20] != 'M' && l[20] != 'F' && l[20] != '<') || !isUpper(l[10]) {
		return 0, false
	}
	if !st.emitDocNumber(s, 0.95) {
		return 0, false
	}
	return s + 44, true
}
