package domain

// sensitiveKind names the kind of sensitive value s looks like it contains —
// "Social Security number" or "payment card number" — or returns "". It
// guards the rule that compromised values are never stored: an import row
// carrying one in any text field is rejected.
//
// It runs on every text field of every imported row, so it is written for
// speed: text with fewer than nine digits (almost every name, e-mail and
// address) is dismissed after one pass.
//
//   - SSN: three, two and four digits separated by '-' or ' ' ("123-45-6789"),
//     or nine digits alone as the whole value; not delimited by more digits.
//   - Payment card: 13 to 19 digits, optionally grouped by single spaces or
//     '-', that pass the Luhn check.
func sensitiveKind(s string) string {
	digits := 0
	for i := range len(s) {
		if s[i] >= '0' && s[i] <= '9' {
			digits++
		}
	}
	if digits < 9 {
		return ""
	}
	if looksLikeSSN(s) {
		return "Social Security number"
	}
	if looksLikeCard(s) {
		return "payment card number"
	}
	return ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func looksLikeSSN(s string) bool {
	if len(s) == 9 && allDigits(s) {
		return true
	}
	for i := 0; i+11 <= len(s); i++ {
		if i > 0 && isDigit(s[i-1]) {
			continue
		}
		w := s[i : i+11]
		sep := w[3]
		if (sep != '-' && sep != ' ') || w[6] != sep {
			continue
		}
		if !allDigits(w[0:3]) || !allDigits(w[4:6]) || !allDigits(w[7:11]) {
			continue
		}
		if i+11 < len(s) && isDigit(s[i+11]) {
			continue
		}
		return true
	}
	return false
}

func allDigits(s string) bool {
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// looksLikeCard finds a run of 13 to 19 digits, where single spaces or
// hyphens may separate groups, whose digits (or any 13-19 digit window of
// them) pass the Luhn check.
func looksLikeCard(s string) bool {
	var run []byte
	flush := func() bool {
		defer func() { run = run[:0] }()
		for n := 13; n <= 19 && n <= len(run); n++ {
			for start := 0; start+n <= len(run); start++ {
				if luhn(run[start : start+n]) {
					return true
				}
			}
		}
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
			run = append(run, c)
		case (c == ' ' || c == '-') && len(run) > 0 && i+1 < len(s) && isDigit(s[i+1]):
			// a single separator inside a group of digits
		default:
			if flush() {
				return true
			}
		}
	}
	return flush()
}

func luhn(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}
