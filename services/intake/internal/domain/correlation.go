package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ActionSignalAttached is the timeline action recording a signal that
// correlation attached to an existing incident.
const ActionSignalAttached = "signal.attached"

// CorrelationKey is one attribute signals about the same incident share.
type CorrelationKey string

// The correlation keys. Asset and type must be equal; customer matches when
// the two customer id lists overlap.
const (
	CorrelateAsset    CorrelationKey = "asset"
	CorrelateCustomer CorrelationKey = "customer"
	CorrelateType     CorrelationKey = "type"
)

// maxCorrelationCandidates bounds how many open incidents with the same key
// are examined per signal, newest first.
const maxCorrelationCandidates = 50

// Correlation configures how a new signal finds an open incident to attach
// to. The zero value disables correlation: every signal opens an incident.
type Correlation struct {
	// Keys are the attributes that must match; each at most once.
	Keys []CorrelationKey
	// Window is how far apart (either way) the new signal's observed_at and
	// the incident's last signal may be. Zero disables correlation.
	Window time.Duration
}

// ParseCorrelationKeys parses a comma-separated list such as "asset,type".
func ParseCorrelationKeys(s string) ([]CorrelationKey, error) {
	var keys []CorrelationKey
	for part := range strings.SplitSeq(s, ",") {
		k := CorrelationKey(strings.TrimSpace(part))
		switch k {
		case CorrelateAsset, CorrelateCustomer, CorrelateType:
		default:
			return nil, fmt.Errorf("unknown correlation key %q: use asset, customer or type", k)
		}
		if slices.Contains(keys, k) {
			return nil, fmt.Errorf("correlation key %q given twice", k)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("at least one correlation key is required")
	}
	return keys, nil
}

// Enabled reports whether signals are correlated at all.
func (c Correlation) Enabled() bool { return c.Window > 0 && len(c.Keys) > 0 }

// KeyOf is the correlation key stored on the incident s opens: a hash of
// the configured keys and s's values for the equality keys (asset, type).
// Customer overlap cannot be hashed, so it is checked on the candidates.
// Empty when correlation is disabled.
func (c Correlation) KeyOf(s Signal) string {
	if !c.Enabled() {
		return ""
	}
	h := sha256.New()
	keys := slices.Clone(c.Keys)
	slices.Sort(keys)
	for _, k := range keys {
		var v string
		switch k {
		case CorrelateAsset:
			v = s.Asset
		case CorrelateType:
			v = strconv.Itoa(int(s.Type))
		case CorrelateCustomer:
		}
		_, _ = fmt.Fprintf(h, "%d:%s=%d:%s,", len(k), k, len(v), v)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// matches reports whether s may attach to inc, a candidate with s's key.
func (c Correlation) matches(s Signal, inc Incident) bool {
	if inc.State == IncidentStateClosed || inc.CorrelationKey != s.CorrelationKey {
		return false
	}
	if slices.Contains(c.Keys, CorrelateCustomer) &&
		!slices.ContainsFunc(s.CustomerIDs, func(id string) bool { return slices.Contains(inc.CustomerIDs, id) }) {
		return false
	}
	last := inc.LastSignalAt
	if last.IsZero() {
		last = inc.CreateTime
	}
	d := s.ObservedAt.Sub(last)
	return d.Abs() <= c.Window
}

// pick returns the candidate s attaches to: of those that match, the one
// whose last signal is latest.
func (c Correlation) pick(s Signal, candidates []Incident) (Incident, bool) {
	var best Incident
	found := false
	for _, inc := range candidates {
		if c.matches(s, inc) && (!found || inc.LastSignalAt.After(best.LastSignalAt)) {
			best, found = inc, true
		}
	}
	return best, found
}

// attachedEntry describes s joining an incident.
func attachedEntry(s Signal) *TimelineEntry {
	return &TimelineEntry{
		Action:  ActionSignalAttached,
		Summary: cutSummary("Signal " + s.ID + " (" + s.Source + " event " + s.SourceEventID + ") attached: " + s.Title),
	}
}

// attach is the change s makes to the incident it joins.
func attach(s Signal) mutation {
	return func(cur Incident) (Incident, *TimelineEntry, bool, error) {
		next := cur
		next.SignalCount++
		next.Severity = max(cur.Severity, s.Severity)
		if s.ObservedAt.After(next.LastSignalAt) {
			next.LastSignalAt = s.ObservedAt
		}
		e := attachedEntry(s)
		e.Changes = []Change{{Field: "signal_count", OldValue: strconv.FormatInt(cur.SignalCount, 10), NewValue: strconv.FormatInt(next.SignalCount, 10)}}
		if next.Severity != cur.Severity {
			e.Changes = append(e.Changes, Change{Field: "severity", OldValue: cur.Severity.String(), NewValue: next.Severity.String()})
		}
		return next, e, true, nil
	}
}
