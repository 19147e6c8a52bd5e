package scanner

import "bytes"

// word handles an identifier-like token that contains a digit at i: secrets
// with well-known prefixes, JWTs, IBANs, Medicare identifiers, and ids that
// context words make a passport, licence, record or member number.
func (st *scan) word(i int) int {
	b := st.b
	n := len(b)
	ws := i
	for ws > st.done && i-ws < 128 && isWordByte(b[ws-1]) {
		ws--
	}
	for ws < i && (b[ws] == '.' || b[ws] == '-') {
		ws++
	}
	we := i
	for we < n && isWordByte(b[we]) && we-ws < 4096 {
		we++
	}
	if we < n && b[we] == '@' {
		return we // the local part of an e-mail address
	}
	for we > i+1 && (b[we-1] == '.' || b[we-1] == '-') {
		we--
	}
	tok := b[ws:we]
	if ps, pe, ok := st.afterPasswordWord(ws, we); ok {
		st.emit(Credentials, ps, pe, 0.85, nil)
		return pe
	}
	if r, ok := st.secretToken(ws, we); ok {
		return r
	}
	if r, ok := st.afterSecretWord(ws, we); ok {
		return r
	}
	if len(tok) >= 4 && isUpper(tok[0]) && isUpper(tok[1]) && isDigit(tok[2]) && isDigit(tok[3]) {
		if r, ok := st.iban(ws, we); ok {
			return r
		}
	}
	st.idToken(ws, we, i)
	if we > st.done {
		st.done = we
	}
	return we
}

// secretPrefixes are token prefixes of well-known secrets with the minimum
// length of a whole token.
var secretPrefixes = []struct {
	prefix string
	min    int
	max    int
}{
	{"AKIA", 20, 20}, {"ASIA", 20, 20}, {"AIza", 39, 39},
	{"ghp_", 40, 40}, {"gho_", 40, 40}, {"ghu_", 40, 40}, {"ghs_", 40, 40}, {"ghr_", 40, 40},
	{"github_pat_", 60, 255}, {"glpat-", 26, 64},
	{"xoxb-", 20, 255}, {"xoxp-", 20, 255}, {"xoxa-", 20, 255}, {"xoxr-", 20, 255}, {"xoxs-", 20, 255},
	{"sk_live_", 24, 255}, {"rk_live_", 24, 255}, {"sk_test_", 24, 255}, {"sk-proj-", 40, 255}, {"sk-ant-", 40, 255},
	{"sk-", 40, 60}, {"npm_", 40, 40}, {"SK", 34, 34}, {"key-", 36, 36}, {"hf_", 37, 37}, {"SG.", 60, 80}, {"shpat_", 38, 38}, {"dop_v1_", 71, 71},
}

// secretToken recognises secrets by prefix and JWTs.
func (st *scan) secretToken(ws, we int) (int, bool) {
	b := st.b
	tok := b[ws:we]
	if len(tok) < 20 {
		return 0, false
	}
	if tok[0] == 'e' && bytes.HasPrefix(tok, []byte("eyJ")) {
		// JWT: header.payload.signature, base64url.
		e := we
		for e < len(b) && (isAlnum(b[e]) || b[e] == '_' || b[e] == '-' || b[e] == '.') {
			e++
		}
		parts := bytes.Split(b[ws:e], []byte("."))
		if len(parts) == 3 && len(parts[0]) >= 10 && len(parts[1]) >= 10 && len(parts[2]) >= 16 && !bytes.ContainsRune(b[ws:e], '+') {
			st.emit(Secret, ws, e, 0.97, nil)
			return e, true
		}
		return 0, false
	}
	for _, p := range secretPrefixes {
		if tok[0] != p.prefix[0] || !bytes.HasPrefix(tok, []byte(p.prefix)) {
			continue
		}
		if len(tok) < p.min || len(tok) > p.max {
			continue
		}
		body := tok[len(p.prefix):]
		digits, letters := 0, 0
		for _, c := range body {
			switch {
			case isDigit(c):
				digits++
			case isLetter(c):
				letters++
			case c == '_' || c == '-' || c == '.':
			default:
				return 0, false
			}
		}
		// AWS key ids are base32 upper case and may hold no digit.
		awsID := (p.prefix == "AKIA" || p.prefix == "ASIA") && upperOnly(body)
		if (digits == 0 && !awsID) || letters == 0 || allSame(body) {
			return 0, false // "AKIAXXXXXXXXXXXXXXXX" is a placeholder
		}
		st.emit(Secret, ws, we, 0.96, nil)
		return we, true
	}
	return 0, false
}

// iban recognises an IBAN, compact (DE89370400440532013000) or in groups of
// four (DE89 3704 0044 0532 0130 00), at b[ws:we].
func (st *scan) iban(ws, we int) (int, bool) {
	b := st.b
	var buf [40]byte
	c := buf[:0]
	end := we
	if we-ws == 4 {
		// Groups are taken up to the country's length, so a word after the
		// IBAN ("… 7969 BIC COBADEFF") is not read as its last group.
		want, known := ibanLengths[[2]byte{b[ws], b[ws+1]}]
		if !known {
			return 0, false
		}
		c = append(c, b[ws:we]...)
		k := we
		for k+1 < len(b) && b[k] == ' ' && len(c) < int(want) {
			g := k + 1
			for g < len(b) && g-k <= 5 && (isDigit(b[g]) || isUpper(b[g])) {
				g++
			}
			l := g - k - 1
			if l == 0 || l > 4 || (g < len(b) && isAlnum(b[g])) {
				break
			}
			c = append(c, b[k+1:g]...)
			k = g
			end = g
			if l < 4 {
				break
			}
		}
	} else {
		if we-ws > 34 {
			return 0, false
		}
		for _, x := range b[ws:we] {
			if !isDigit(x) && !isUpper(x) {
				return 0, false
			}
		}
		c = append(c, b[ws:we]...)
	}
	if len(c) < 15 {
		return 0, false
	}
	if _, known := ibanLengths[[2]byte{c[0], c[1]}]; !known {
		return 0, false
	}
	if validIBAN(c) {
		hs := st.context(ws)
		k, h, _ := st.nearest(hs, kAccount|kIBAN, ws)
		conf := float32(0.95)
		if k != 0 {
			conf = 0.99
		}
		st.emit(IBAN, ws, end, conf, h)
	}
	if end > st.done {
		st.done = end
	}
	return end, true
}

// idToken classifies an id-like token (upper-case letters, digits, dashes)
// by the context words before it; i is its first digit.
func (st *scan) idToken(ws, we, i int) {
	b := st.b
	tok := b[ws:we]
	if len(tok) < 5 || len(tok) > 40 {
		return
	}
	digits, upper, lowerHex, other := 0, 0, 0, 0
	var cbuf [24]byte
	compact := cbuf[:0]
	for _, c := range tok {
		switch {
		case isDigit(c):
			digits++
		case isUpper(c):
			upper++
		case c >= 'a' && c <= 'f':
			lowerHex++
		case c == '-':
			continue
		default:
			other++
		}
		if len(compact) < len(cbuf) {
			compact = append(compact, c)
		}
	}
	// Fewer than three digits: only a long upper-case id can be a passport
	// or licence number ("KMWC7LJTP", "WDLGXP496XNV").
	if other > 0 || digits == 0 || (digits < 3 && (len(compact) < 8 || lowerHex > 0)) {
		return
	}
	// "NPI-1581516691", "NPI#1581516691": the label glued to the number.
	if len(tok) == 14 && (tok[3] == '-' || tok[3] == '#') && bytes.EqualFold(tok[:3], []byte("NPI")) && validNPI(tok[4:]) {
		st.emit(NPI, ws+4, we, 0.95, nil)
		return
	}
	if len(compact) == 11 && lowerHex == 0 && validMBI(compact) {
		st.emitShaped(HealthInsurance, ws, we, kInsurance, 0.95, 0.75)
		return
	}
	hs := within(st.context(i), i, idGap)
	if lowerHex > 0 {
		// Lower-case hex is a hash or template reference: only biometric.
		if upper == 0 && len(tok) >= 8 {
			if k, h, _ := st.nearest(hs, kBiometric, i); k != 0 && st.kindsOf(hs)&kNotBio == 0 {
				st.emit(Biometric, ws, we, 0.8, h)
			}
		}
		return
	}
	want := kPassport | kDL | kMRN | kInsurance | kBiometric | kSSN
	for {
		k, h, _ := st.nearest(hs, want, i)
		if k == 0 {
			return
		}
		if t, conf := idKind(k, compact, digits, upper); t != TypeUnspecified {
			if t == Biometric && st.kindsOf(hs)&kNotBio != 0 {
				return
			}
			st.emit(t, ws, we, conf, h)
			return
		}
		if h == nil {
			return
		}
		idx := len(hs) - 1
		for idx >= 0 && hs[idx] != h[0] {
			idx--
		}
		hs = hs[:idx]
	}
}

// idKind decides what an alphanumeric id is, given its context kinds.
func idKind(k kind, c []byte, digits, upper int) (Type, float32) {
	lead := 0
	for lead < len(c) && isUpper(c[lead]) {
		lead++
	}
	tailDigits := true
	for _, x := range c[lead:] {
		if !isDigit(x) {
			tailDigits = false
		}
	}
	switch {
	case k&kPassport != 0 && lead <= 2 && tailDigits && len(c)-lead >= 6 && len(c)-lead <= 9:
		return Passport, 0.88
	case k&kPassport != 0 && len(c) >= 6 && len(c) <= 9 && digits >= 3:
		return Passport, 0.8 // other national formats: "C01X00T47"
	case k&kPassport != 0 && len(c) >= 8 && len(c) <= 9 && digits >= 1:
		return Passport, 0.75 // German and similar: "KMWC7LJTP"
	case k&kDL != 0 && len(c) >= 5 && len(c) <= 16 && (digits >= 4 || (digits >= 2 && len(c) >= 10) ||
		(len(c) == 12 && c[0] == 'W' && c[1] == 'D' && c[2] == 'L')): // Washington: WDL + 9
		return DriversLicense, 0.82
	case k&kMRN != 0 && len(c) >= 5 && len(c) <= 16 && digits >= 4:
		return MedicalRecord, 0.85
	case k&kInsurance != 0 && len(c) >= 6 && len(c) <= 20 && digits >= 4:
		return HealthInsurance, 0.82
	case k&kBiometric != 0 && len(c) >= 6 && digits >= 3:
		return Biometric, 0.8
	}
	_ = upper
	return TypeUnspecified, 0
}

// afterPasswordWord recognises a password given in prose after a password
// word without a delimiter ("passwd letmein123", "the password is
// P@ssw0rd!"). The token at ws..we contains a digit; the password is the
// whole run of non-space bytes around it, without trailing punctuation.
func (st *scan) afterPasswordWord(ws, we int) (int, int, bool) {
	b := st.b
	ps := ws
	for ps > 0 && ws-ps < 64 && b[ps-1] > ' ' && b[ps-1] < 0x7f {
		ps--
	}
	if ps < 2 || b[ps-1] != ' ' {
		return 0, 0, false
	}
	k := ps - 1
	var lb [12]byte
	for range 2 {
		e := k
		for k > 0 && e-k < 12 && isLetter(b[k-1]) {
			k--
		}
		if k == e || (k > 0 && isAlnum(b[k-1])) {
			return 0, 0, false
		}
		switch lowerWord(lb[:], b[k:e]) {
		case "password", "passwd", "pwd", "passcode", "passphrase", "passwort", "kennwort", "wachtwoord", "senha":
			return ps, st.passwordEnd(ps, we), true
		case "is", "was", "ist", "es", "est", "era", "war":
			if k < 2 || b[k-1] != ' ' {
				return 0, 0, false
			}
			// "the password for the server is P@ssw0rd!"
			hs := st.context(k)
			if kk, h, _ := st.nearest(hs, kPassword, k); kk != 0 && len(h) == 1 && k-h[0].end <= 40 {
				return ps, st.passwordEnd(ps, we), true
			}
			k--
			continue
		}
		return 0, 0, false
	}
	return 0, 0, false
}

// passwordEnd extends a password from its digit token to the end of its run
// of non-space bytes, without trailing punctuation.
func (st *scan) passwordEnd(ps, we int) int {
	b := st.b
	pe := we
	for pe < len(b) && pe-ps < 128 && b[pe] > ' ' && b[pe] < 0x7f {
		pe++
	}
	for pe > we && (b[pe-1] == '.' || b[pe-1] == ',' || b[pe-1] == ';' || b[pe-1] == ')' || b[pe-1] == '"') {
		pe--
	}
	return pe
}

// afterSecretWord recognises a random token given in prose right after a
// secret word ("… and secret AZG8dDy4CYvi…", "token Xk2…"), or a Slack
// webhook path segment (slackWebhook). b[ws:we] contains a digit.
func (st *scan) afterSecretWord(ws, we int) (int, bool) {
	b := st.b
	if ws > 0 && b[ws-1] == '/' {
		return st.slackWebhook(ws, we)
	}
	if ws < 2 || b[ws-1] != ' ' || we-ws < 20 {
		return 0, false
	}
	// The whole token, with the base64 bytes a word stops at.
	e := we
	for e < len(b) && e-ws < 256 && (isAlnum(b[e]) || b[e] == '/' || b[e] == '+' || b[e] == '=' || b[e] == '_' || b[e] == '-') {
		e++
	}
	tok := b[ws:e]
	up, lo, dg := false, false, false
	for _, c := range tok {
		up = up || isUpper(c)
		lo = lo || isLower(c)
		dg = dg || isDigit(c)
	}
	hex := !up && lo && dg && len(tok) >= 32 && len(tok) <= 64 && isHex(tok) // "auth token 86311c23…"
	if (!hex && (!up || !lo || !dg)) || entropy(tok) < 3.5 {
		return 0, false
	}
	k := ws - 1
	q := wordBefore(b, k, 16)
	if q < 0 {
		return 0, false
	}
	if node := st.s.kw.exact(b, q, k); node == 0 || st.s.kw.kinds[node]&kSecret == 0 {
		return 0, false
	}
	st.emit(Secret, ws, e, 0.85, nil)
	return e, true
}

// slackWebhook recognises the token path of a Slack incoming-webhook URL
// ("https://hooks.slack.com/services/T…/B…/…") from one of its segments at
// b[ws:we] (b[ws-1] is '/'), and reports the whole URL.
func (st *scan) slackWebhook(ws, we int) (int, bool) {
	b := st.b
	const slack = "hooks.slack.com/services/"
	if we-ws < 8 {
		return 0, false
	}
	lo := max(0, ws-len(slack)-40)
	i := bytes.LastIndex(b[lo:ws], []byte(slack))
	if i < 0 {
		return 0, false
	}
	s := lo + i
	for _, scheme := range []string{"https://", "http://"} {
		if s >= len(scheme) && bytes.Equal(b[s-len(scheme):s], []byte(scheme)) {
			s -= len(scheme)
			break
		}
	}
	e := ws
	for e < len(b) && (isAlnum(b[e]) || b[e] == '/' || b[e] == '_' || b[e] == '-') {
		e++
	}
	st.emit(Secret, s, e, 0.97, nil)
	return e, true
}

// upperOnly reports whether v holds only upper-case letters and digits.
func upperOnly(v []byte) bool {
	for _, c := range v {
		if !isUpper(c) && !isDigit(c) {
			return false
		}
	}
	return true
}

// isHex reports whether v holds only hexadecimal digits.
func isHex(v []byte) bool {
	for _, c := range v {
		if !isDigit(c) && (lower(c) < 'a' || lower(c) > 'f') {
			return false
		}
	}
	return true
}
