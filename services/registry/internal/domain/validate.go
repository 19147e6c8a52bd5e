package domain

import (
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/breachline/breachline/pkg/apperr"
)

// Limits shared by several resources. They are part of the API contract
// (documented in the protos) and keep documents far below BSON's 16 MiB.
const (
	maxRequestIDLen = 128
	maxEmailLen     = 254 // RFC 5321 path limit
	maxListItems    = 50
	maxCategoryLen  = 100
)

var (
	// slugRE is the shape of client-chosen resource ids: DNS-label-like so
	// they are safe in URLs, logs and file names.
	slugRE = regexp.MustCompile(`^[a-z][a-z0-9-]{2,62}$`)
	// productRE is the shape of a product code.
	productRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
)

// checkRequestID validates an optional AIP-155 request id.
func checkRequestID(v *apperr.Violations, field, id string) {
	switch {
	case len(id) > maxRequestIDLen:
		v.Add(field, "must be at most %d characters", maxRequestIDLen)
	case strings.IndexFunc(id, unicode.IsControl) >= 0:
		v.Add(field, "must not contain control characters")
	}
}

// checkSlug validates a required client-chosen id.
func checkSlug(v *apperr.Violations, field, id string) {
	switch {
	case id == "":
		v.Add(field, "is required")
	case !slugRE.MatchString(id):
		v.Add(field, "must be 3 to 63 lowercase letters, digits or '-', starting with a letter")
	}
}

// checkName validates a required single-line human-readable text of 1..maxRunes
// characters.
func checkName(v *apperr.Violations, field, s string, maxRunes int) {
	switch {
	case strings.TrimSpace(s) == "":
		v.Add(field, "is required")
	case utf8.RuneCountInString(s) > maxRunes:
		v.Add(field, "must be at most %d characters", maxRunes)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		v.Add(field, "must be a single line without control characters")
	}
}

// checkText validates free text that may span lines; required says whether
// it may be empty.
func checkText(v *apperr.Violations, field, s string, required bool, maxRunes int) {
	switch {
	case required && strings.TrimSpace(s) == "":
		v.Add(field, "is required")
	case utf8.RuneCountInString(s) > maxRunes:
		v.Add(field, "must be at most %d characters", maxRunes)
	case strings.IndexFunc(s, isBadControl) >= 0:
		v.Add(field, "must not contain control characters other than tab and newline")
	}
}

func isBadControl(r rune) bool {
	return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t'
}

// checkEmail validates a bare e-mail address: what net/mail parses, with no
// display name, comments or angle brackets, at most 254 characters. The
// description never repeats the value: addresses are personal data.
func checkEmail(v *apperr.Violations, field, s string) {
	if s == "" {
		v.Add(field, "is required")
		return
	}
	if len(s) > maxEmailLen {
		v.Add(field, "must be at most %d characters", maxEmailLen)
		return
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		v.Add(field, "must be a bare e-mail address like name@example.org")
		return
	}
	at := strings.LastIndexByte(s, '@')
	if !strings.Contains(s[at+1:], ".") {
		v.Add(field, "must have a fully qualified domain")
	}
}

// checkList validates a list of codes: at most maxListItems entries, no
// duplicates, each passing item. Violations name the index, e.g.
// "customer.products[2]".
func checkList(v *apperr.Violations, field string, items []string, item func(string) string) {
	if len(items) > maxListItems {
		v.Add(field, "must have at most %d entries", maxListItems)
		return
	}
	seen := make(map[string]bool, len(items))
	for i, s := range items {
		f := field + "[" + strconv.Itoa(i) + "]"
		if msg := item(s); msg != "" {
			v.Add(f, "%s", msg)
			continue
		}
		if seen[s] {
			v.Add(f, "duplicates an earlier entry")
		}
		seen[s] = true
	}
}

// productItem validates one product code for checkList.
func productItem(s string) string {
	if !productRE.MatchString(s) {
		return "must be 1 to 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit"
	}
	return ""
}

// categoryItem validates one data category for checkList.
func categoryItem(s string) string {
	switch {
	case strings.TrimSpace(s) == "":
		return "must not be blank"
	case s != strings.TrimSpace(s):
		return "must not start or end with spaces"
	case utf8.RuneCountInString(s) > maxCategoryLen:
		return "must be at most " + strconv.Itoa(maxCategoryLen) + " characters"
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "must not contain control characters"
	}
	return ""
}
