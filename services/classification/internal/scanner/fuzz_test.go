package scanner

import (
	"testing"
)

// FuzzScan checks that no input panics, that findings lie within the
// content in order, and that a masked value never reveals more than four
// digits of the content it masks.
func FuzzScan(f *testing.F) {
	for _, seed := range []string{
		"SSN: 536-22-1947, card 4111 1111 1111 1111",
		"Name: Jane Doe dob 03/14/1985 phone (415) 555-2671 jane@example.com",
		"password=hunter22 token=ghp_1a2b3C4d5E6f7G8h9I0jK1lM2nO3pQ4rS5tU",
		"IBAN DE89 3704 0044 0532 0130 00 routing 021000021 acct 12345678",
		"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END",
		"postgres://u:p@h.example.com 742 Evergreen Terrace, Springfield, IL 62704",
		"id,ssn,dob\n1,536221947,19850314\n",
		"+1 (415) 555-2671 +44 20 7946 0958 5 March 1987 born",
		"Fingerprint template: FP-00123456, latent fingerprints, scans of face geometry, iris_scan, dnaProfile",
		"@@@::==----- 9", "",
	} {
		f.Add([]byte(seed))
	}
	s := New()
	f.Fuzz(func(t *testing.T, b []byte) {
		r := s.Scan(b)
		prev := 0
		for _, x := range r.Findings {
			if x.Start < 0 || x.End > len(b) || x.Start >= x.End {
				t.Fatalf("finding %s at %d-%d out of bounds (len %d)", x.Type, x.Start, x.End, len(b))
			}
			if x.Start < prev {
				t.Fatalf("findings out of order: %d after %d", x.Start, prev)
			}
			prev = x.Start
			if x.Type == TypeUnspecified || x.Confidence <= 0 || x.Confidence > 1 {
				t.Fatalf("finding %+v has no type or a bad confidence", x)
			}
			if d := revealedDigits(x.Masked, b[x.Start:x.End]); d > 4 {
				t.Fatalf("masked %q reveals %d digits of its value", x.Masked, d)
			}
		}
	})
}

// revealedDigits counts the digits of masked that appear in v.
func revealedDigits(masked string, v []byte) int {
	var have [10]int
	for _, c := range v {
		if isDigit(c) {
			have[c-'0']++
		}
	}
	n := 0
	for i := 0; i < len(masked); i++ {
		c := masked[i]
		if isDigit(c) && have[c-'0'] > 0 {
			have[c-'0']--
			n++
		}
	}
	return n
}
