package scanner

import "math"

// Validators for candidate values. Each takes the digits (or characters) of
// an already located candidate, without separators, and is allocation free.

// luhn reports whether the decimal digits pass the Luhn (mod 10) check.
func luhn(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// cardIssuer reports whether the digits start with an issuer identification
// range of a major card network and have a length that network issues.
func cardIssuer(d []byte) bool {
	n := len(d)
	if n < 13 || n > 19 {
		return false
	}
	p2 := int(d[0]-'0')*10 + int(d[1]-'0')
	p3 := p2*10 + int(d[2]-'0')
	p4 := p3*10 + int(d[3]-'0')
	p6 := p4*100 + int(d[4]-'0')*10 + int(d[5]-'0')
	switch {
	case d[0] == '4': // Visa
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p4 == 6011, p2 == 65, p3 >= 644 && p3 <= 649, p6 >= 622126 && p6 <= 622925: // Discover
		return n >= 16
	case p4 >= 3528 && p4 <= 3589: // JCB
		return n >= 16
	case p3 >= 300 && p3 <= 305, p2 == 36, p2 == 38, p2 == 39, p4 == 3095: // Diners Club
		return n >= 14
	case p2 == 62: // UnionPay
		return n >= 16
	case p4 == 5018, p4 == 5020, p4 == 5038, p4 == 5893, p4 == 6304, p4 == 6759, p4 == 6761, p4 == 6762, p4 == 6763: // Maestro
		return n >= 12
	}
	return false
}

// validCard is the full payment-card check: issuer range, length, Luhn, and
// not one digit repeated.
func validCard(d []byte) bool {
	return cardIssuer(d) && luhn(d) && !allSame(d)
}

// validSSN applies the SSA rules: area 000, 666 and 900-999, group 00 and
// serial 0000 are never issued, and a few numbers are known to be invalid
// (published in advertising or reserved for examples).
func validSSN(d []byte) bool {
	if len(d) != 9 {
		return false
	}
	area := atoi(d[0:3])
	group := atoi(d[3:5])
	serial := atoi(d[5:9])
	if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
		return false
	}
	switch string(d) {
	case "078051120", // the Woolworth wallet card
		"219099999", // Social Security Board pamphlet
		"123456789", "111111111", "222222222", "333333333", "444444444",
		"555555555", "777777777", "888888888":
		return false
	}
	// 987-65-4320 to 987-65-4329 are reserved for advertising; area 987 is
	// already excluded above.
	return true
}

// validABA checks an ABA routing transit number: nine digits, the 3-7-1
// weighted checksum, and a first two digits within the Federal Reserve
// routing symbol ranges.
func validABA(d []byte) bool {
	if len(d) != 9 || allSame(d) {
		return false
	}
	p := atoi(d[0:2])
	if p > 12 && (p < 21 || p > 32) && (p < 61 || p > 72) && p != 80 {
		return false
	}
	sum := 0
	for i := 0; i < 9; i += 3 {
		sum += 3*int(d[i]-'0') + 7*int(d[i+1]-'0') + int(d[i+2]-'0')
	}
	return sum%10 == 0
}

// validNPI checks a US National Provider Identifier: ten digits starting
// with 1 or 2 whose Luhn check, computed with the 80840 prefix, passes.
func validNPI(d []byte) bool {
	if len(d) != 10 || (d[0] != '1' && d[0] != '2') {
		return false
	}
	var buf [15]byte
	copy(buf[:], "80840")
	copy(buf[5:], d)
	return luhn(buf[:])
}

// ibanLengths is the IBAN length of every country in the SWIFT IBAN registry.
var ibanLengths = map[[2]byte]uint8{
	{'A', 'D'}: 24, {'A', 'E'}: 23, {'A', 'L'}: 28, {'A', 'T'}: 20, {'A', 'Z'}: 28, {'B', 'A'}: 20, {'B', 'E'}: 16,
	{'B', 'G'}: 22, {'B', 'H'}: 22, {'B', 'I'}: 27, {'B', 'R'}: 29, {'B', 'Y'}: 28, {'C', 'H'}: 21, {'C', 'R'}: 22,
	{'C', 'Y'}: 28, {'C', 'Z'}: 24, {'D', 'E'}: 22, {'D', 'J'}: 27, {'D', 'K'}: 18, {'D', 'O'}: 28, {'E', 'E'}: 20,
	{'E', 'G'}: 29, {'E', 'S'}: 24, {'F', 'I'}: 18, {'F', 'K'}: 18, {'F', 'O'}: 18, {'F', 'R'}: 27, {'G', 'B'}: 22,
	{'G', 'E'}: 22, {'G', 'I'}: 23, {'G', 'L'}: 18, {'G', 'R'}: 27, {'G', 'T'}: 28, {'H', 'N'}: 28, {'H', 'R'}: 21,
	{'H', 'U'}: 28, {'I', 'E'}: 22, {'I', 'L'}: 23, {'I', 'Q'}: 23, {'I', 'S'}: 26, {'I', 'T'}: 27, {'J', 'O'}: 30,
	{'K', 'W'}: 30, {'K', 'Z'}: 20, {'L', 'B'}: 28, {'L', 'C'}: 32, {'L', 'I'}: 21, {'L', 'T'}: 20, {'L', 'U'}: 20,
	{'L', 'V'}: 21, {'L', 'Y'}: 25, {'M', 'C'}: 27, {'M', 'D'}: 24, {'M', 'E'}: 22, {'M', 'K'}: 19, {'M', 'N'}: 20,
	{'M', 'R'}: 27, {'M', 'T'}: 31, {'M', 'U'}: 30, {'N', 'I'}: 28, {'N', 'L'}: 18, {'N', 'O'}: 15, {'O', 'M'}: 23,
	{'P', 'K'}: 24, {'P', 'L'}: 28, {'P', 'S'}: 29, {'P', 'T'}: 25, {'Q', 'A'}: 29, {'R', 'O'}: 24, {'R', 'S'}: 22,
	{'R', 'U'}: 33, {'S', 'A'}: 24, {'S', 'C'}: 31, {'S', 'D'}: 18, {'S', 'E'}: 24, {'S', 'I'}: 19, {'S', 'K'}: 24,
	{'S', 'M'}: 27, {'S', 'O'}: 23, {'S', 'T'}: 25, {'S', 'V'}: 28, {'T', 'L'}: 23, {'T', 'N'}: 24, {'T', 'R'}: 26,
	{'U', 'A'}: 29, {'V', 'A'}: 22, {'V', 'G'}: 24, {'X', 'K'}: 20, {'Y', 'E'}: 30,
}

// validIBAN checks a compact, upper-case IBAN: a registry country, that
// country's length, digits as check digits, and the ISO 7064 mod-97 check.
func validIBAN(s []byte) bool {
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	want, ok := ibanLengths[[2]byte{s[0], s[1]}]
	if !ok || int(want) != len(s) || !isDigit(s[2]) || !isDigit(s[3]) {
		return false
	}
	rem := 0
	for k := range len(s) {
		c := s[(k+4)%len(s)]
		switch {
		case isDigit(c):
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A'+10)) % 97
		default:
			return false
		}
	}
	return rem == 1
}

// validNANP checks a ten-digit North American number: area code and
// exchange start with 2-9, and the area code is not an N11 service code.
func validNANP(d []byte) bool {
	if len(d) != 10 || d[0] < '2' || d[3] < '2' {
		return false
	}
	if d[1] == '1' && d[2] == '1' {
		return false
	}
	if d[4] == '1' && d[5] == '1' { // N11 exchanges are service codes
		return false
	}
	return !allSame(d)
}

// callingCodes are the ITU country calling codes (E.164), by length.
var callingCodes = func() map[int]bool {
	m := map[int]bool{1: true, 7: true}
	two := []int{20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58,
		60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98}
	for _, c := range two {
		m[c] = true
	}
	three := []int{211, 212, 213, 216, 218, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234,
		235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 248, 249, 250, 251, 252, 253, 254, 255, 256, 257,
		258, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 290, 291, 297, 298, 299, 350, 351, 352, 353, 354, 355,
		356, 357, 358, 359, 370, 371, 372, 373, 374, 375, 376, 377, 378, 380, 381, 382, 383, 385, 386, 387, 389, 420,
		421, 423, 500, 501, 502, 503, 504, 505, 506, 507, 508, 509, 590, 591, 592, 593, 594, 595, 596, 597, 598, 599,
		670, 672, 673, 674, 675, 676, 677, 678, 679, 680, 681, 682, 683, 685, 686, 687, 688, 689, 690, 691, 692, 850,
		852, 853, 855, 856, 880, 886, 960, 961, 962, 963, 964, 965, 966, 967, 968, 970, 971, 972, 973, 974, 975, 976,
		977, 992, 993, 994, 995, 996, 998}
	for _, c := range three {
		m[c] = true
	}
	return m
}()

// validE164 checks an international number given with a leading "+": a
// known country calling code and 8 to 15 digits in all. For +1 the national
// number must be a valid NANP number.
func validE164(d []byte) bool {
	if len(d) < 8 || len(d) > 15 || d[0] == '0' {
		return false
	}
	if d[0] == '1' {
		return len(d) == 11 && validNANP(d[1:])
	}
	for l := 1; l <= 3; l++ {
		if callingCodes[atoi(d[:l])] {
			return !allSame(d[l:])
		}
	}
	return false
}

// validMBI checks the shape of a Medicare Beneficiary Identifier (11
// characters, upper case, without dashes): positions 1, 4, 7, 10, 11 are
// digits (1 not zero), 2, 5, 8, 9 letters, 3 and 6 letters or digits; the
// letters S, L, O, I, B and Z are never used.
func validMBI(s []byte) bool {
	if len(s) != 11 || s[0] < '1' || s[0] > '9' {
		return false
	}
	for i, c := range s {
		switch i {
		case 3, 6, 9, 10:
			if !isDigit(c) {
				return false
			}
		case 1, 4, 7, 8:
			if !mbiLetter(c) {
				return false
			}
		case 2, 5:
			if !isDigit(c) && !mbiLetter(c) {
				return false
			}
		}
	}
	return true
}

func mbiLetter(c byte) bool {
	if c < 'A' || c > 'Z' {
		return false
	}
	switch c {
	case 'S', 'L', 'O', 'I', 'B', 'Z':
		return false
	}
	return true
}

// validDate checks year, month and day ranges for a date of birth.
func validDate(y, m, d int) bool {
	if m < 1 || m > 12 || d < 1 || d > 31 || y < 1900 || y > 2030 {
		return false
	}
	switch m {
	case 2:
		return d <= 29
	case 4, 6, 9, 11:
		return d <= 30
	}
	return true
}

// entropy returns the Shannon entropy of s in bits per byte.
func entropy(s []byte) float64 {
	if len(s) == 0 {
		return 0
	}
	var counts [256]uint16
	for _, c := range s {
		counts[c]++
	}
	n := float64(len(s))
	var h float64
	for _, c := range counts {
		if c != 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

func atoi(d []byte) int {
	v := 0
	for _, c := range d {
		v = v*10 + int(c-'0')
	}
	return v
}

func allSame(d []byte) bool {
	for _, c := range d[1:] {
		if c != d[0] {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isLetter(c byte) bool {
	return (c|0x20) >= 'a' && (c|0x20) <= 'z'
}
func isAlnum(c byte) bool { return isDigit(c) || isLetter(c) }
func lower(c byte) byte {
	if isUpper(c) {
		return c | 0x20
	}
	return c
}
