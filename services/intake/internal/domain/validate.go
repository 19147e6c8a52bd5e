package domain

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/breachline/breachline/pkg/apperr"
)

// Limits on a signal. They bound what one SIEM event can make intake store.
const (
	MaxSourceEventIDLen = 256       // runes
	MaxTitleLen         = 512       // runes
	MaxDescriptionBytes = 16 << 10  // bytes
	MaxAssetLen         = 256       // runes
	MaxCustomerIDs      = 100       // entries
	MaxAffected         = 1000      // jurisdictions
	MaxRawBytes         = 256 << 10 // bytes of the payload as JSON
	// MaxClockSkew is how far in the future a source's clock may be.
	MaxClockSkew = 24 * time.Hour
)

var (
	sourcePattern       = regexp.MustCompile(`^[a-z0-9._-]{1,64}$`)
	customerIDPattern   = regexp.MustCompile(`^[a-z][a-z0-9-]{2,62}$`)
	jurisdictionPattern = regexp.MustCompile(`^[A-Z]{2}(-[A-Z0-9]{1,3})?$`)
	// earliest is the earliest credible event time: no SIEM signal predates
	// the Unix epoch, and a zero or negative timestamp is a client bug.
	earliest = time.Unix(0, 0).UTC()
)

// ValidCustomerID reports whether id has the form of a registry customer id.
func ValidCustomerID(id string) bool { return customerIDPattern.MatchString(id) }

// ValidateSignal checks a reported signal against intake's rules at time now
// and returns an *apperr.InvalidError listing every violation, with paths
// under "signal.", or nil.
func ValidateSignal(s Signal, now time.Time) error {
	var v apperr.Violations
	const p = "signal."

	if !sourcePattern.MatchString(s.Source) {
		v.Add(p+"source", "must be 1 to 64 characters of lowercase letters, digits, '.', '_' and '-'")
	}
	checkLen(&v, p+"source_event_id", s.SourceEventID, MaxSourceEventIDLen)
	checkLen(&v, p+"title", s.Title, MaxTitleLen)
	if s.Title != "" && strings.TrimSpace(s.Title) == "" {
		v.Add(p+"title", "must not be blank")
	}
	if len(s.Description) > MaxDescriptionBytes {
		v.Add(p+"description", "must be at most %d bytes", MaxDescriptionBytes)
	}
	if !s.Severity.Valid() {
		v.Add(p+"severity", "unknown severity %d", s.Severity)
	}
	if !s.Type.Valid() {
		v.Add(p+"type", "unknown incident type %d", s.Type)
	}
	if s.ObservedAt.IsZero() {
		v.Add(p+"observed_at", "is required")
	} else {
		checkTime(&v, p+"observed_at", s.ObservedAt, now)
	}
	if utf8.RuneCountInString(s.Asset) > MaxAssetLen {
		v.Add(p+"asset", "must be at most %d characters", MaxAssetLen)
	}
	checkCustomerIDs(&v, p+"customer_ids", s.CustomerIDs)
	if s.Exposure != nil {
		checkFacts(&v, p+"exposure", *s.Exposure, now)
	}
	if s.Raw != nil {
		b, err := json.Marshal(s.Raw)
		switch {
		case err != nil:
			v.Add(p+"raw", "must be representable as JSON (no NaN or infinite numbers)")
		case len(b) > MaxRawBytes:
			v.Add(p+"raw", "must be at most %d bytes as JSON, is %d", MaxRawBytes, len(b))
		}
	}
	return v.Err()
}

func checkLen(v *apperr.Violations, field, s string, maxRunes int) {
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		v.Add(field, "is required")
	case n > maxRunes:
		v.Add(field, "must be at most %d characters", maxRunes)
	}
}

func checkTime(v *apperr.Violations, field string, t, now time.Time) {
	switch {
	case t.Before(earliest):
		v.Add(field, "must not be before 1970-01-01T00:00:00Z")
	case t.After(now.Add(MaxClockSkew)):
		v.Add(field, "must not be more than %s in the future", MaxClockSkew)
	}
}

func checkCustomerIDs(v *apperr.Violations, field string, idsIn []string) {
	if len(idsIn) > MaxCustomerIDs {
		v.Add(field, "must have at most %d entries, has %d", MaxCustomerIDs, len(idsIn))
		return
	}
	seen := make(map[string]int, len(idsIn))
	for i, id := range idsIn {
		f := fmt.Sprintf("%s[%d]", field, i)
		if !ValidCustomerID(id) {
			v.Add(f, "must be a customer id: a lowercase letter, then 2 to 62 lowercase letters, digits or '-'")
			continue
		}
		if j, dup := seen[id]; dup {
			v.Add(f, "duplicates customer_ids[%d]", j)
			continue
		}
		seen[id] = i
	}
}

// checkFacts validates breach facts under prefix (e.g. "signal.exposure").
func checkFacts(v *apperr.Violations, prefix string, f BreachFacts, now time.Time) {
	data := make(map[DataElement]int, len(f.DataElements))
	for i, e := range f.DataElements {
		field := fmt.Sprintf("%s.data_elements[%d]", prefix, i)
		if !e.Valid() {
			v.Add(field, "unknown or unspecified data element %d", e)
			continue
		}
		if j, dup := data[e]; dup {
			v.Add(field, "duplicates data_elements[%d]", j)
			continue
		}
		data[e] = i
	}
	enc := make(map[DataElement]int, len(f.EncryptedElements))
	for i, e := range f.EncryptedElements {
		field := fmt.Sprintf("%s.encrypted_elements[%d]", prefix, i)
		if !e.Valid() {
			v.Add(field, "unknown or unspecified data element %d", e)
			continue
		}
		if j, dup := enc[e]; dup {
			v.Add(field, "duplicates encrypted_elements[%d]", j)
			continue
		}
		enc[e] = i
		if _, ok := data[e]; !ok {
			v.Add(field, "must also be listed in data_elements")
		}
	}
	if len(f.Affected) > MaxAffected {
		v.Add(prefix+".affected", "must have at most %d entries, has %d", MaxAffected, len(f.Affected))
	} else {
		where := make(map[string]int, len(f.Affected))
		for i, a := range f.Affected {
			field := fmt.Sprintf("%s.affected[%d]", prefix, i)
			switch j, dup := where[a.Jurisdiction]; {
			case !jurisdictionPattern.MatchString(a.Jurisdiction):
				v.Add(field+".jurisdiction", `must be an ISO 3166 country or subdivision code such as "DE" or "US-TX"`)
			case dup:
				v.Add(field+".jurisdiction", "duplicates affected[%d]", j)
			default:
				where[a.Jurisdiction] = i
			}
			if a.Count <= 0 {
				v.Add(field+".count", "must be positive")
			}
		}
	}
	if !f.DiscoveredAt.IsZero() {
		checkTime(v, prefix+".discovered_at", f.DiscoveredAt, now)
	}
}

// Validate checks s the way ReportSignal does, without touching the store.
func (in *Intake) Validate(s Signal) error {
	return ValidateSignal(s, in.now().UTC())
}
