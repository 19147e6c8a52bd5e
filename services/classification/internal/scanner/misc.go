package scanner

import (
	"bytes"
	"strings"
)

// at handles an '@': credentials in a URL (scheme://user:pass@host) or an
// e-mail address.
func (st *scan) at(a int) int {
	b := st.b
	n := len(b)
	if a+1 >= n || !isAlnum(b[a+1]) {
		return a + 1
	}
	// scheme://user:pass@host
	q := a
	for q > 0 && a-q < 256 && !bytes.ContainsRune([]byte(" \t\r\n\"'<>/@()[]{}"), rune(b[q-1])) {
		q--
	}
	if q >= 3 && b[q-1] == '/' && b[q-2] == '/' && b[q-3] == ':' {
		// The userinfo of a URL, never an e-mail address; a password with
		// or without a user name ("redis://:pw@host").
		if c := bytes.IndexByte(b[q:a], ':'); c >= 0 && q+c+1 < a {
			pass := b[q+c+1 : a]
			if !placeholder(pass) {
				st.emit(Credentials, q, a, 0.95, nil)
			}
		} else if c < 0 {
			st.secretToken(q, a) // a token as the user: "https://github_pat_…@github.com"
		}
		return st.skipHost(a + 1)
	}
	// e-mail: local part back from a
	ls := a
	lim := max(a-64, 0)
	for ls > lim && isLocalByte(b[ls-1]) {
		ls--
	}
	for ls < a && b[ls] == '.' {
		ls++
	}
	if ls == a {
		return a + 1
	}
	end, ok := domainEnd(b, a+1)
	if !ok {
		return a + 1
	}
	if end < n && b[end] == ':' && string(b[ls:a]) == "git" {
		return end // git@host:org/repo is a remote, not a mailbox
	}
	if ls < st.done {
		ls = st.done
		if ls >= a {
			return end
		}
	}
	st.emit(Email, ls, end, 0.96, nil)
	return end
}

func isLocalByte(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '\''
}

// fileExtensions are "top-level domains" that are really file names
// (icon@2x.png).
var fileExtensions = map[string]bool{"png": true, "jpg": true, "jpeg": true, "gif": true, "svg": true, "webp": true,
	"js": true, "ts": true, "css": true, "json": true, "yaml": true, "yml": true, "txt": true, "md": true, "go": true,
	"py": true, "html": true, "xml": true, "log": true, "ico": true, "pdf": true, "zip": true, "gz": true, "tar": true}

// domainEnd returns the end of a domain name starting at p: at least two
// labels and an alphabetic top-level domain.
func domainEnd(b []byte, p int) (int, bool) {
	k := p
	labels := 0
	lastStart := p
	for {
		s := k
		for k < len(b) && (isAlnum(b[k]) || b[k] == '-') && k-s < 63 {
			k++
		}
		if k == s {
			return 0, false
		}
		labels++
		lastStart = s
		if k+1 < len(b) && b[k] == '.' && isAlnum(b[k+1]) && k-p < 253 {
			k++
			continue
		}
		break
	}
	if labels < 2 {
		return 0, false
	}
	tld := b[lastStart:k]
	if len(tld) < 2 || len(tld) > 24 {
		return 0, false
	}
	var lb [24]byte
	for i, c := range tld {
		if !isLetter(c) {
			return 0, false
		}
		lb[i] = lower(c)
	}
	if fileExtensions[string(lb[:len(tld)])] {
		return 0, false
	}
	return k, true
}

func (st *scan) skipHost(k int) int {
	for k < len(st.b) && (isAlnum(st.b[k]) || st.b[k] == '.' || st.b[k] == '-') {
		k++
	}
	if k > st.done {
		st.done = k
	}
	return k
}

// keyClass is what a key in "key=value" / "key: value" names.
type keyClass uint8

const (
	keyNone keyClass = iota
	keyPassword
	keySecret
	keyAuthorization
)

var passwordKeys = []string{"password", "passwd", "pwd", "passphrase", "passcode", "pass", "pw", "pword", "userpass", "user_pass",
	"passwort", "kennwort", "wachtwoord", "senha", "passe", "contraseña", "contrasena", "clave", "pgpassword", "mysql_pwd"} // German, Dutch, Portuguese, French ("mot de passe"), Spanish
var secretKeys = []string{"api_key", "apikey", "secret", "secret_key", "access_key", "private_key", "token", "api_secret",
	"client_secret", "signing_key", "session_key", "master_key", "encryption_key", "auth_key", "credentials", "credential",
	"access_token", "refresh_token", "auth_token", "webhook_secret", "app_secret", "secret_key_base", "accountkey", "account_key",
	"storage_key", "shared_key", "sharedaccesskey", "shared_access_key"}

// classifyKey matches the key (any case, '-' and '.' as '_') by suffix at a
// word boundary: "DB_PASSWORD", "client-secret", "x-api-key".
func classifyKey(key []byte) keyClass {
	if len(key) > 48 {
		key = key[len(key)-48:]
	}
	// Fast rejection on the last three letters of every key word below.
	if len(key) < 2 {
		return keyNone
	}
	if len(key) == 2 {
		if lower(key[0]) == 'p' && lower(key[1]) == 'w' {
			return keyPassword
		}
		return keyNone
	}
	l3 := uint32(lower(key[len(key)-3]))<<16 | uint32(lower(key[len(key)-2]))<<8 | uint32(lower(key[len(key)-1]))
	const (
		ord    = 'o'<<16 | 'r'<<8 | 'd'
		swd    = 's'<<16 | 'w'<<8 | 'd'
		pwd    = 'p'<<16 | 'w'<<8 | 'd'
		ase    = 'a'<<16 | 's'<<8 | 'e'
		ode    = 'o'<<16 | 'd'<<8 | 'e'
		ass    = 'a'<<16 | 's'<<8 | 's'
		upw    = '_'<<16 | 'p'<<8 | 'w'
		key3   = 'k'<<16 | 'e'<<8 | 'y'
		ret    = 'r'<<16 | 'e'<<8 | 't'
		ken    = 'k'<<16 | 'e'<<8 | 'n'
		als    = 'a'<<16 | 'l'<<8 | 's'
		ial    = 'i'<<16 | 'a'<<8 | 'l'
		ion    = 'i'<<16 | 'o'<<8 | 'n'
		ort    = 'o'<<16 | 'r'<<8 | 't'
		nha    = 'n'<<16 | 'h'<<8 | 'a'
		sse    = 's'<<16 | 's'<<8 | 'e'
		ena    = 'e'<<16 | 'n'<<8 | 'a'
		ave    = 'a'<<16 | 'v'<<8 | 'e'
		ntilde = 0xC3<<16 | 0xB1<<8 | 'a' // "ña"
	)
	switch l3 {
	case ord, swd, pwd, ase, ode, ass, upw, key3, ret, ken, als, ial, ion, ort, nha, sse, ena, ave, ntilde:
	default:
		return keyNone
	}
	var buf [48]byte
	k := buf[:len(key)]
	for i, c := range key {
		switch {
		case c == '-' || c == '.':
			c = '_'
		case isUpper(c):
			c |= 0x20 // camelCase boundaries are checked on key below
		}
		k[i] = c
	}
	if string(k) == "authorization" || string(k) == "proxy_authorization" {
		return keyAuthorization
	}
	if l3 == ion {
		return keyNone // only the authorization keys end so ("duration", "region")
	}
	at := func(words []string) bool {
		for _, w := range words {
			if len(k) < len(w) || string(k[len(k)-len(w):]) != w {
				continue
			}
			p := len(k) - len(w)
			if p == 0 || k[p-1] == '_' || (isUpper(key[p]) && isLower(key[p-1])) {
				return true
			}
		}
		return false
	}
	switch {
	case at(passwordKeys):
		return keyPassword
	case at(secretKeys):
		return keySecret
	}
	return keyNone
}

// assign handles '=' and ':' after a key that names a password or secret.
func (st *scan) assign(a int) int {
	b := st.b
	n := len(b)
	k := a - 1
	for s := 0; s < 2 && k >= 0 && (b[k] == '"' || b[k] == '\'' || b[k] == ' '); s++ {
		k--
	}
	if k < 0 || !isLetter(b[k]) {
		return a + 1
	}
	switch lower(b[k]) {
	case 'd', 's', 't', 'n', 'y', 'e', 'w', 'r', 'l', 'a':
	default:
		return a + 1
	}
	ks := k
	for ks > 0 && k-ks < 48 && (isAlnum(b[ks-1]) || b[ks-1] == '_' || b[ks-1] == '-' || b[ks-1] == '.' || b[ks-1] >= 0x80) {
		ks--
	}
	cls := classifyKey(b[ks : k+1])
	if cls == keyNone && k+1-ks == 5 {
		cls = st.envValueKey(ks, k+1)
	}
	if cls == keyNone {
		// An AWS access key id under any name ("AWS_ACCESS_KEY_ID=AKIA…"):
		// it may hold no digit, so the main loop would not stop in it.
		v := a + 1
		for v < n && v-a <= 3 && (b[v] == ' ' || b[v] == '"' || b[v] == '\'') {
			v++
		}
		if v+20 <= n && b[v] == 'A' && (bytes.HasPrefix(b[v:], []byte("AKIA")) || bytes.HasPrefix(b[v:], []byte("ASIA"))) &&
			(v+20 == n || !isAlnum(b[v+20])) {
			if r, ok := st.secretToken(v, v+20); ok {
				return r
			}
		}
		return a + 1
	}
	// The value: optional spaces and quote, then up to the closing quote or
	// a delimiter.
	v := a + 1
	if a+1 < n && b[a] == ':' && b[a+1] == '/' {
		return a + 1 // a URL scheme, not a value
	}
	for v < n && v-a <= 4 && (b[v] == ' ' || b[v] == '\t') {
		v++
	}
	var quote byte
	if v < n && (b[v] == '"' || b[v] == '\'') {
		quote = b[v]
		v++
	}
	scheme := ""
	if cls == keyAuthorization || cls == keySecret {
		for _, s := range []string{"Bearer ", "bearer ", "Basic ", "basic ", "Token ", "token "} {
			if bytes.HasPrefix(b[v:], []byte(s)) {
				scheme = s
				v += len(s)
				break
			}
		}
	}
	e := v
	for e < n && e-v < 1024 {
		c := b[e]
		if quote != 0 {
			if c == quote || c == '\n' {
				break
			}
		} else if c == '&' && queryParam(b[e+1:]) {
			break
		} else if c <= ' ' || c == ',' || c == ';' || c == '}' || c == ')' || c == ']' || c == '"' || c == '\'' || c == '<' || c == '>' {
			break
		}
		e++
	}
	val := b[v:e]
	if len(val) == 0 || placeholder(val) || code(val) || (val[0] == '/' && bytes.Count(val, []byte("/")) >= 2) {
		return max(e, a+1) // also a path: "pwd: /home/app/current"
	}
	if b[a] == ':' && quote == 0 && allLower(val) && e+1 < n && b[e] == ' ' && isLetter(b[e+1]) {
		return a + 1 // prose: "password: must be at least ..."
	}
	switch {
	case cls == keyAuthorization && scheme == "":
		return a + 1
	case cls == keyAuthorization && (scheme == "Basic " || scheme == "basic "):
		st.emit(Credentials, v, e, 0.93, nil)
	case cls == keyPassword:
		if len(val) < 3 {
			return a + 1
		}
		hs := st.context(ks)
		conf := float32(0.85)
		var used []hit
		if _, h, _ := st.nearest(hs, kUser, ks); h != nil {
			conf = 0.95
			used = h
		}
		st.emit(Credentials, v, e, conf, used)
	default: // secrets and bearer tokens
		if len(val) < 16 || entropy(val) < 3.0 || !mixed(val) {
			return max(e, a+1)
		}
		st.emit(Secret, v, e, 0.88, nil)
	}
	return e
}

// placeholder reports values that stand for a password rather than being
// one: "****", "<password>", "${DB_PASSWORD}", "[REDACTED]", "null".
func placeholder(v []byte) bool {
	switch v[0] {
	case '$', '{', '<', '%', '[', '(':
		return true
	}
	same := true
	for _, c := range v {
		if c != v[0] {
			same = false
			break
		}
	}
	if same && (v[0] == '*' || v[0] == 'x' || v[0] == 'X' || v[0] == '.' || v[0] == '#' || v[0] == '-') {
		return true
	}
	if len(v) <= 12 {
		var lb [12]byte
		for i, c := range v {
			lb[i] = lower(c)
		}
		switch string(lb[:len(v)]) {
		case "null", "none", "nil", "undefined", "true", "false", "redacted", "hidden", "masked", "empty", "required",
			"optional", "string", "n/a", "na", "yes", "no", "secret", "filtered", "removed", "omitted", "not_set", "unset":
			return true
		}
	}
	return false
}

func allLower(v []byte) bool {
	for _, c := range v {
		if !isLower(c) {
			return false
		}
	}
	return true
}

// mixed reports whether v has both letters and digits (random tokens do).
func mixed(v []byte) bool {
	l, d := false, false
	for _, c := range v {
		l = l || isLetter(c)
		d = d || isDigit(c)
	}
	return l && d
}

// dash handles "-----BEGIN ... PRIVATE KEY-----" blocks.
func (st *scan) dash(i int) int {
	b := st.b
	const begin = "-----BEGIN "
	if i+2 < len(b) && i > 0 && b[i-1] == ' ' && (b[i+1] == 'p' || b[i+1] == 'u') {
		if r, ok := st.cliPassword(i); ok {
			return r
		}
	}
	if i+len(begin) > len(b) || b[i+1] != '-' || !bytes.HasPrefix(b[i:], []byte(begin)) {
		return i + 1
	}
	he := bytes.Index(b[i+len(begin):min(len(b), i+len(begin)+64)], []byte("-----"))
	if he < 0 {
		return i + len(begin)
	}
	label := b[i+len(begin) : i+len(begin)+he]
	hdrEnd := i + len(begin) + he + 5
	if !bytes.Contains(label, []byte("PRIVATE KEY")) {
		return hdrEnd
	}
	rest := b[hdrEnd:min(len(b), hdrEnd+32<<10)]
	ee := bytes.Index(rest, []byte("-----END "))
	end := hdrEnd
	if ee >= 0 {
		end = hdrEnd + ee + len("-----END ")
		if c := bytes.Index(b[end:min(len(b), end+64)], []byte("-----")); c >= 0 {
			end += c + 5
		}
	} else {
		// Truncated: take the base64 body.
		for end < len(b) && (isAlnum(b[end]) || bytes.IndexByte([]byte("+/=\r\n"), b[end]) >= 0) {
			end++
		}
	}
	st.emit(Secret, i, end, 0.99, nil)
	return end
}

// streetSuffixSet returns the USPS street suffixes and their common
// abbreviations: 's' for strong ones, 'w' for words that are common in prose
// too ("Google Drive", "Supreme Court"), which need an address-like end.
func streetSuffixSet() map[string]byte {
	m := map[string]byte{}
	for _, s := range strings.Fields(`street st avenue ave av road rd boulevard blvd lane ln dr ct pl terrace ter
		parkway pkwy cir highway hwy sq trl pike aly plz xing expressway expy freeway fwy turnpike tpke cres pt rdg hts
		cmns cv lndg rte ctr grv holw vw vis`) {
		m[s] = 's'
	}
	m["broadway"] = 'n' // a street name that needs no suffix or other word
	for _, s := range strings.Fields(`drive court place way circle square trail loop alley plaza crossing row run path
		walk crescent close point ridge heights commons cove landing mall park pass route center grove hollow glen view
		vista`) {
		m[s] = 'w'
	}
	return m
}

// queryParam reports whether b starts with "name=", as after a '&' in a
// query string.
func queryParam(b []byte) bool {
	for k := 0; k < len(b) && k < 32; k++ {
		switch c := b[k]; {
		case c == '=':
			return k > 0
		case !isAlnum(c) && c != '_' && c != '-' && c != '.':
			return false
		}
	}
	return false
}

// code reports values that are program text rather than a literal: a call
// or an index ("getenv('X')", "os.environ[") or a dotted identifier
// ("process.env.DB_PASSWORD"). A '(' inside a random string
// ("django-insecure-*+t2O(E^1…") does not make it code.
func code(v []byte) bool {
	dots := 0
	for i, c := range v {
		switch {
		case c == '.':
			if i == 0 || i == len(v)-1 || v[i-1] == '.' {
				return false
			}
			dots++
		case c == '(' || c == '[':
			return i > 0 && v[i-1] != '.'
		case isLetter(c) || c == '_':
		default:
			return false
		}
	}
	return dots > 0
}

// cliPassword recognises a password given on a command line: "mysql -u root
// -pSECRET", "sshpass -p 'SECRET' ssh …", "curl -u user:SECRET …". b[i] is
// the '-' of the flag.
func (st *scan) cliPassword(i int) (int, bool) {
	b := st.b
	ls := i
	for ls > 0 && b[ls-1] != '\n' && i-ls < 256 {
		ls--
	}
	line := b[ls:i]
	flag := b[i+1]
	v := i + 2
	var user bool
	switch {
	case flag == 'p' && (isWordByte(b[v]) || b[v] == '\'' || b[v] == '"') && bytes.Contains(line, []byte("mysql")):
	case flag == 'p' && b[v] == ' ' && bytes.Contains(line, []byte("sshpass")):
		v++
	case flag == 'u' && b[v] == ' ' && bytes.Contains(line, []byte("curl")):
		v++
		user = true
	default:
		return 0, false
	}
	var quote byte
	if v < len(b) && (b[v] == '\'' || b[v] == '"') {
		quote = b[v]
		v++
	}
	e := v
	for e < len(b) && e-v < 256 && b[e] != '\n' && (quote != 0 && b[e] != quote || quote == 0 && b[e] != ' ' && b[e] != '\t') {
		e++
	}
	if user {
		c := bytes.IndexByte(b[v:e], ':')
		if c <= 0 {
			return 0, false
		}
		v += c + 1
	}
	val := b[v:e]
	if len(val) < 3 || placeholder(val) {
		return 0, false
	}
	st.emit(Credentials, v, e, 0.9, nil)
	return e, true
}

// envValueKey classifies the "value" key of a name/value pair by the name
// on the line above, as in a Kubernetes env list:
//
//   - name: DATADOG_API_KEY
//     value: "d25e0a04…"
func (st *scan) envValueKey(ks, ke int) keyClass {
	b := st.b
	if lower(b[ks]) != 'v' || !bytes.EqualFold(b[ks:ke], []byte("value")) {
		return keyNone
	}
	ls := ks
	for ls > 0 && b[ls-1] != '\n' && ks-ls < 64 {
		ls--
	}
	// An attribute pair on the same line: <add key="SmtpPassword" value="…" />
	for _, attr := range []string{`key="`, `name="`} {
		if i := bytes.LastIndex(b[ls:ks], []byte(attr)); i >= 0 {
			v := b[ls+i+len(attr) : ks]
			if q := bytes.IndexByte(v, '"'); q > 0 && q <= 48 {
				return classifyKey(v[:q])
			}
		}
	}
	if ls == 0 || b[ls-1] != '\n' {
		return keyNone
	}
	pe := ls - 1
	ps := pe
	for ps > 0 && b[ps-1] != '\n' && pe-ps < 128 {
		ps--
	}
	prev := b[ps:pe]
	i := bytes.Index(prev, []byte("name:"))
	if i < 0 {
		return keyNone
	}
	name := bytes.Trim(prev[i+len("name:"):], " \t\"'\r")
	if len(name) == 0 || len(name) > 48 {
		return keyNone
	}
	return classifyKey(name)
}
