package domain

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
)

// jsonDoc is a decoded JSON object with path lookups that report failures as
// field violations under "payload.". Descriptions never quote payload
// values: a payload may hold personal data and violations are logged.
type jsonDoc struct {
	obj map[string]any
	// prefix is the path of obj inside the payload ("payload" or
	// "payload.alerts[0]").
	prefix string
	v      *apperr.Violations
	// origin maps a signal field ("signal.title") to the payload path it
	// was taken from, so a signal-level violation names the JSON path.
	origin map[string]string
}

// decodeObject parses data as one JSON object.
func decodeObject(data []byte, v *apperr.Violations) (map[string]any, bool) {
	var val any
	if err := json.Unmarshal(data, &val); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			v.Add("payload", "is not valid JSON: syntax error at byte offset %d", se.Offset)
		} else {
			v.Add("payload", "is not valid JSON")
		}
		return nil, false
	}
	obj, ok := val.(map[string]any)
	if !ok {
		v.Add("payload", "must be a JSON object, is %s", jsonKind(val))
		return nil, false
	}
	return obj, true
}

func jsonKind(val any) string {
	switch val.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "of an unknown kind"
}

func (d *jsonDoc) path(p string) string { return d.prefix + "." + p }

// lookup finds a dotted path in the object. Each step tries the nested form
// ({"kibana": {"alert": ...}}) and the flattened key ("kibana.alert.uuid"),
// as Elastic documents use both.
func (d *jsonDoc) lookup(p string) (any, bool) { return lookupIn(d.obj, strings.Split(p, ".")) }

func lookupIn(m map[string]any, parts []string) (any, bool) {
	for i := len(parts); i >= 1; i-- {
		val, ok := m[strings.Join(parts[:i], ".")]
		if !ok {
			continue
		}
		if i == len(parts) {
			return val, val != nil
		}
		if sub, ok := val.(map[string]any); ok {
			if got, ok := lookupIn(sub, parts[i:]); ok {
				return got, true
			}
		}
	}
	return nil, false
}

// str returns the first of paths holding a non-blank string (numbers are
// accepted and formatted as integers when whole), and the path it came from.
// A present value of another kind is a violation.
func (d *jsonDoc) str(paths ...string) (string, string) {
	for _, p := range paths {
		val, ok := d.lookup(p)
		if !ok {
			continue
		}
		switch x := val.(type) {
		case string:
			if strings.TrimSpace(x) != "" {
				return x, d.path(p)
			}
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return strconv.FormatInt(int64(x), 10), d.path(p)
			}
			return strconv.FormatFloat(x, 'f', -1, 64), d.path(p)
		default:
			d.v.Add(d.path(p), "must be a string, is %s", jsonKind(val))
			return "", ""
		}
	}
	return "", ""
}

// required is str that records a violation naming the first path when none
// holds a value.
func (d *jsonDoc) required(format string, paths ...string) (string, string) {
	s, from := d.str(paths...)
	if s == "" && from == "" && !d.hasViolationOn(paths) {
		desc := "is required for " + format
		if len(paths) > 1 {
			alt := make([]string, 0, len(paths)-1)
			for _, p := range paths[1:] {
				alt = append(alt, d.path(p))
			}
			desc += " (or " + strings.Join(alt, ", ") + ")"
		}
		d.v.Add(d.path(paths[0]), "%s", desc)
	}
	return s, from
}

func (d *jsonDoc) hasViolationOn(paths []string) bool {
	for _, fv := range *d.v {
		for _, p := range paths {
			if fv.Field == d.path(p) {
				return true
			}
		}
	}
	return false
}

// set records that signal field f came from payload path from.
func (d *jsonDoc) set(f, from string) {
	if from != "" {
		d.origin["signal."+f] = from
	}
}

// rfc3339 reads an RFC 3339 timestamp at the first present path.
func (d *jsonDoc) rfc3339(paths ...string) (time.Time, string) {
	s, from := d.str(paths...)
	if from == "" {
		return time.Time{}, ""
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.v.Add(from, "must be an RFC 3339 timestamp such as 2026-03-01T12:00:00Z")
		return time.Time{}, ""
	}
	return t, from
}

// epoch reads a Unix time at path: a number or a decimal string, in units
// of unit (time.Millisecond for OCSF, time.Second for Splunk).
func (d *jsonDoc) epoch(p string, unit time.Duration) (time.Time, string) {
	val, ok := d.lookup(p)
	if !ok {
		return time.Time{}, ""
	}
	var f float64
	switch x := val.(type) {
	case float64:
		f = x
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			d.v.Add(d.path(p), "must be a Unix time in %s", unitName(unit))
			return time.Time{}, ""
		}
	default:
		d.v.Add(d.path(p), "must be a Unix time in %s, is %s", unitName(unit), jsonKind(val))
		return time.Time{}, ""
	}
	if f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) || f*float64(unit) > math.MaxInt64 {
		d.v.Add(d.path(p), "must be a positive Unix time in %s", unitName(unit))
		return time.Time{}, ""
	}
	return time.Unix(0, int64(f*float64(unit))).UTC(), d.path(p)
}

func unitName(unit time.Duration) string {
	if unit == time.Millisecond {
		return "milliseconds"
	}
	return "seconds"
}

// object returns the object at path, or nil when absent; another kind is a
// violation.
func (d *jsonDoc) object(p string) map[string]any {
	val, ok := d.lookup(p)
	if !ok {
		return nil
	}
	m, isObj := val.(map[string]any)
	if !isObj {
		d.v.Add(d.path(p), "must be an object, is %s", jsonKind(val))
	}
	return m
}

// severityWord maps the severity words SIEMs use (Kibana, Splunk ES
// urgency, Sentinel) to a Severity; ok is false for an unknown word.
func severityWord(s string) (Severity, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "informational", "info", "information":
		return SeverityInfo, true
	case "low":
		return SeverityLow, true
	case "medium", "moderate":
		return SeverityMedium, true
	case "high":
		return SeverityHigh, true
	case "critical":
		return SeverityCritical, true
	}
	return SeverityUnspecified, false
}

// severity reads a severity word at the first present path.
func (d *jsonDoc) severity(paths ...string) Severity {
	s, from := d.str(paths...)
	if from == "" {
		return SeverityUnspecified
	}
	sev, ok := severityWord(s)
	if !ok {
		d.v.Add(from, "must be one of informational, low, medium, high or critical")
	}
	d.set("severity", from)
	return sev
}
