package scanner

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxMasked bounds a masked rendering; longer values keep their end.
const maxMasked = 48

// mask renders v without revealing it: letters and digits become '*'
// except the last four, separators stay. Credentials and secrets reveal
// nothing but a well-known prefix; names keep their initials; e-mail
// addresses keep the first letter and the top-level domain.
func mask(t Type, v []byte) string {
	switch t {
	case Credentials:
		return "********"
	case Secret:
		for _, p := range secretPrefixes {
			if strings.HasPrefix(string(v), p.prefix) {
				return p.prefix + "********"
			}
		}
		if strings.HasPrefix(string(v), "-----BEGIN ") {
			if e := strings.Index(string(v[5:]), "-----"); e > 0 && e < 40 && !strings.ContainsAny(string(v[:e+10]), "0123456789") {
				return string(v[:e+10]) + "********"
			}
			return "-----BEGIN PRIVATE KEY-----********"
		}
		if strings.HasPrefix(string(v), "eyJ") {
			return "eyJ********"
		}
		return "********"
	case PersonName:
		// Keep each word's initial; any other letter, ASCII or not,
		// becomes one '*'.
		out := make([]byte, 0, len(v))
		prev := false
		for _, r := range string(v) {
			l := unicode.IsLetter(r)
			switch {
			case l && prev:
				out = append(out, '*')
			default:
				out = utf8.AppendRune(out, r)
			}
			prev = l
		}
		return truncMasked(out)
	case Email:
		at := strings.LastIndexByte(string(v), '@')
		dot := strings.LastIndexByte(string(v), '.')
		if at > 0 && dot > at {
			var sb strings.Builder
			if isLetter(v[0]) {
				sb.WriteByte(v[0])
			} else {
				sb.WriteByte('*')
			}
			sb.WriteString("***@")
			for _, c := range v[at+1 : dot] {
				if isAlnum(c) {
					c = '*'
				}
				sb.WriteByte(c)
			}
			sb.Write(v[dot:])
			return sb.String()
		}
	}
	out := make([]byte, len(v))
	keep := 4
	for i := len(v) - 1; i >= 0; i-- {
		c := v[i]
		switch {
		case isAlnum(c) && keep > 0:
			keep--
			out[i] = c
		case isAlnum(c) || c >= 0x80:
			out[i] = '*'
		default:
			out[i] = c
		}
	}
	return truncMasked(out)
}

func truncMasked(out []byte) string {
	if len(out) > maxMasked {
		return "…" + string(out[len(out)-maxMasked:])
	}
	return string(out)
}
