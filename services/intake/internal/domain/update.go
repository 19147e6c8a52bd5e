package domain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
)

// IncidentUpdate is an UpdateIncident request: the fields of Incident named
// by Paths replace the stored ones, if Etag is still current.
type IncidentUpdate struct {
	Incident Incident
	Paths    []string
	Etag     string
}

// updatable lists the fields UpdateIncident may change, as leaf paths. A
// mask path selects every leaf it names or contains ("record.discovery"
// selects its three fields), so REST clients can send whole sub-messages or
// single fields. Each leaf knows how to copy itself and how to render its
// value for the timeline.
var updatable = []struct {
	path   string
	set    func(dst, src *Incident)
	render func(i *Incident) string
}{
	{"title", func(d, s *Incident) { d.Title = s.Title }, func(i *Incident) string { return i.Title }},
	{"description", func(d, s *Incident) { d.Description = s.Description }, func(i *Incident) string { return i.Description }},
	{"type", func(d, s *Incident) { d.Type = s.Type }, func(i *Incident) string { return i.Type.String() }},
	{"severity", func(d, s *Incident) { d.Severity = s.Severity }, func(i *Incident) string { return i.Severity.String() }},
	{"customer_ids", func(d, s *Incident) { d.CustomerIDs = s.CustomerIDs }, func(i *Incident) string { return renderList(i.CustomerIDs) }},
	{"asset", func(d, s *Incident) { d.Asset = s.Asset }, func(i *Incident) string { return i.Asset }},
	{"record.occurred_start_time", func(d, s *Incident) { d.Record.OccurredStart = s.Record.OccurredStart }, func(i *Incident) string { return renderTime(i.Record.OccurredStart) }},
	{"record.occurred_end_time", func(d, s *Incident) { d.Record.OccurredEnd = s.Record.OccurredEnd }, func(i *Incident) string { return renderTime(i.Record.OccurredEnd) }},
	{"record.location", func(d, s *Incident) { d.Record.Location = s.Record.Location }, func(i *Incident) string { return i.Record.Location }},
	{"record.discovery.discovered_at", func(d, s *Incident) { d.Record.Discovery.DiscoveredAt = s.Record.Discovery.DiscoveredAt }, func(i *Incident) string { return renderTime(i.Record.Discovery.DiscoveredAt) }},
	{"record.discovery.discovered_by", func(d, s *Incident) { d.Record.Discovery.DiscoveredBy = s.Record.Discovery.DiscoveredBy }, func(i *Incident) string { return i.Record.Discovery.DiscoveredBy }},
	{"record.discovery.how", func(d, s *Incident) { d.Record.Discovery.How = s.Record.Discovery.How }, func(i *Incident) string { return i.Record.Discovery.How }},
	{"record.intrusion.method", func(d, s *Incident) { d.Record.Intrusion.Method = s.Record.Intrusion.Method }, func(i *Incident) string { return i.Record.Intrusion.Method }},
	{"record.intrusion.entry_points", func(d, s *Incident) { d.Record.Intrusion.EntryPoints = s.Record.Intrusion.EntryPoints }, func(i *Incident) string { return renderList(i.Record.Intrusion.EntryPoints) }},
	{"record.intrusion.exit_points", func(d, s *Incident) { d.Record.Intrusion.ExitPoints = s.Record.Intrusion.ExitPoints }, func(i *Incident) string { return renderList(i.Record.Intrusion.ExitPoints) }},
	{"record.intrusion.paths", func(d, s *Incident) { d.Record.Intrusion.Paths = s.Record.Intrusion.Paths }, func(i *Incident) string { return renderList(i.Record.Intrusion.Paths) }},
	{"record.intrusion.compromised_systems", func(d, s *Incident) { d.Record.Intrusion.CompromisedSystems = s.Record.Intrusion.CompromisedSystems }, func(i *Incident) string { return renderList(i.Record.Intrusion.CompromisedSystems) }},
	{"record.data_impact.deleted", func(d, s *Incident) { d.Record.DataImpact.Deleted = s.Record.DataImpact.Deleted }, func(i *Incident) string { return i.Record.DataImpact.Deleted.String() }},
	{"record.data_impact.modified", func(d, s *Incident) { d.Record.DataImpact.Modified = s.Record.DataImpact.Modified }, func(i *Incident) string { return i.Record.DataImpact.Modified.String() }},
	{"record.data_impact.viewed", func(d, s *Incident) { d.Record.DataImpact.Viewed = s.Record.DataImpact.Viewed }, func(i *Incident) string { return i.Record.DataImpact.Viewed.String() }},
	{"record.physical_assets_missing", func(d, s *Incident) { d.Record.PhysicalAssetsMissing = s.Record.PhysicalAssetsMissing }, func(i *Incident) string { return renderList(i.Record.PhysicalAssetsMissing) }},
	{"record.records_form", func(d, s *Incident) { d.Record.RecordsForm = s.Record.RecordsForm }, func(i *Incident) string { return i.Record.RecordsForm.String() }},
	{"record.compromised_data.relationships", func(d, s *Incident) { d.Record.CompromisedData.Relationships = s.Record.CompromisedData.Relationships }, func(i *Incident) string { return renderList(i.Record.CompromisedData.Relationships) }},
	{"record.compromised_data.data_fields", func(d, s *Incident) { d.Record.CompromisedData.DataFields = s.Record.CompromisedData.DataFields }, func(i *Incident) string { return renderList(i.Record.CompromisedData.DataFields) }},
	{"record.compromised_data.encrypted_fields", func(d, s *Incident) {
		d.Record.CompromisedData.EncryptedFields = s.Record.CompromisedData.EncryptedFields
	}, func(i *Incident) string { return renderList(i.Record.CompromisedData.EncryptedFields) }},
	{"record.compromised_data.record_count", func(d, s *Incident) { d.Record.CompromisedData.RecordCount = s.Record.CompromisedData.RecordCount }, func(i *Incident) string { return strconv.FormatInt(i.Record.CompromisedData.RecordCount, 10) }},
	{"facts.encryption_key_compromised", func(d, s *Incident) { d.Facts.EncryptionKeyCompromised = s.Facts.EncryptionKeyCompromised }, func(i *Incident) string { return strconv.FormatBool(i.Facts.EncryptionKeyCompromised) }},
	{"facts.affected", func(d, s *Incident) { d.Facts.Affected = s.Facts.Affected }, func(i *Incident) string { return renderList(i.Facts.Affected) }},
	{"facts.retrieved_before_misuse", func(d, s *Incident) { d.Facts.RetrievedBeforeMisuse = s.Facts.RetrievedBeforeMisuse }, func(i *Incident) string { return strconv.FormatBool(i.Facts.RetrievedBeforeMisuse) }},
	{"facts.properly_disposed", func(d, s *Incident) { d.Facts.ProperlyDisposed = s.Facts.ProperlyDisposed }, func(i *Incident) string { return strconv.FormatBool(i.Facts.ProperlyDisposed) }},
	{"facts.public_records_only", func(d, s *Incident) { d.Facts.PublicRecordsOnly = s.Facts.PublicRecordsOnly }, func(i *Incident) string { return strconv.FormatBool(i.Facts.PublicRecordsOnly) }},
}

// notUpdatable explains the mask paths that name real fields UpdateIncident
// does not change.
var notUpdatable = map[string]string{
	"state":                    "changes only through TransitionIncident",
	"facts.data_elements":      "mirrors record.compromised_data.data_fields; change that instead",
	"facts.encrypted_elements": "mirrors record.compromised_data.encrypted_fields; change that instead",
	"facts.discovered_at":      "mirrors record.discovery.discovered_at; change that instead",
	"record.duration":          "is output only (occurred_end_time minus occurred_start_time)",
	"signal_count":             "is output only",
	"assessment_status":        "is output only",
	"assessment_id":            "is output only",
	"create_time":              "is output only",
	"update_time":              "is output only",
}

// ignoredPaths may appear in masks that REST clients derive from the body;
// they name the incident and its version rather than fields to change.
var ignoredPaths = []string{"incident_id", "etag"}

// selectLeaves returns the indexes into updatable that path selects.
func selectLeaves(path string) []int {
	var out []int
	for i, f := range updatable {
		if f.path == path || strings.HasPrefix(f.path, path+".") || strings.HasPrefix(path, f.path+".") {
			out = append(out, i)
		}
	}
	return out
}

// ValidateUpdate checks u without the store: the incident id, the etag's
// presence and form, the mask, and the values of the masked fields. It
// returns an *apperr.InvalidError with paths as in UpdateIncidentRequest.
func ValidateUpdate(u IncidentUpdate, now time.Time) error {
	var v apperr.Violations
	_, _ = checkUpdate(&v, u, now)
	return v.Err()
}

// ValidateUpdate is ValidateUpdate at the intake's clock.
func (in *Intake) ValidateUpdate(u IncidentUpdate) error { return ValidateUpdate(u, in.now().UTC()) }

// checkUpdate validates u into v and returns the selected leaves and the
// version the etag names.
func checkUpdate(v *apperr.Violations, u IncidentUpdate, now time.Time) ([]int, int64) {
	if err := checkIncidentID("incident.incident_id", u.Incident.ID); err != nil {
		ie, _ := apperr.AsInvalid(err)
		*v = append(*v, ie.Violations...)
	}
	version, err := strconv.ParseInt(u.Etag, 10, 64)
	switch {
	case u.Etag == "":
		v.Add("incident.etag", "is required: send the etag of the incident the change is based on")
	case err != nil || version <= 0:
		v.Add("incident.etag", "is not an etag returned by this service")
	}
	var leaves []int
	seen := map[int]bool{}
	valid := 0
	for _, p := range u.Paths {
		if slices.Contains(ignoredPaths, p) {
			continue
		}
		valid++
		if why, ok := notUpdatable[p]; ok {
			v.Add("update_mask", "field %q %s", p, why)
			continue
		}
		sel := selectLeaves(p)
		if len(sel) == 0 {
			v.Add("update_mask", "unknown field %q; see UpdateIncidentRequest.update_mask for the fields that can change", p)
			continue
		}
		for _, i := range sel {
			if !seen[i] {
				seen[i] = true
				leaves = append(leaves, i)
			}
		}
	}
	slices.Sort(leaves) // changes are listed in the table's order
	if valid == 0 && len(*v) == 0 {
		v.Add("update_mask", "must name at least one field to change")
	}
	// Validate the masked values on their own; cross-field rules against
	// the stored incident are checked again on the merged result.
	var cand Incident
	for _, i := range leaves {
		updatable[i].set(&cand, &u.Incident)
	}
	checkIncidentFields(v, cand, func(path string) bool { return seen[indexOf(path)] }, now)
	return leaves, version
}

func indexOf(path string) int {
	for i, f := range updatable {
		if f.path == path {
			return i
		}
	}
	return -1
}

// checkIncidentFields validates the changeable fields of inc under
// "incident."; has reports whether a top-level path is being set (title is
// required only then).
func checkIncidentFields(v *apperr.Violations, inc Incident, has func(string) bool, now time.Time) {
	const p = "incident."
	if has("title") {
		checkLen(v, p+"title", inc.Title, MaxTitleLen)
		if inc.Title != "" && strings.TrimSpace(inc.Title) == "" {
			v.Add(p+"title", "must not be blank")
		}
	}
	if len(inc.Description) > MaxDescriptionBytes {
		v.Add(p+"description", "must be at most %d bytes", MaxDescriptionBytes)
	}
	if !inc.Type.Valid() {
		v.Add(p+"type", "unknown incident type %d", inc.Type)
	}
	if !inc.Severity.Valid() {
		v.Add(p+"severity", "unknown severity %d", inc.Severity)
	}
	checkCustomerIDs(v, p+"customer_ids", inc.CustomerIDs)
	checkMaxRunes(v, p+"asset", inc.Asset, MaxAssetLen)
	checkRecord(v, p+"record", inc.Record, now)
	f := inc.Facts
	f.DataElements, f.EncryptedElements, f.DiscoveredAt = nil, nil, time.Time{}
	checkFacts(v, p+"facts", f, now)
}

// UpdateIncident applies u (see IncidentUpdate) and records it on the
// timeline as one "incident.updated" entry listing every changed field. A
// stale etag is apperr.ErrConflict. An update that changes nothing returns
// the incident and a nil entry, and records nothing. When the facts the
// assessment reads change, the facts version moves on and a new assessment
// is requested.
func (in *Intake) UpdateIncident(ctx context.Context, caller Caller, u IncidentUpdate) (Incident, *TimelineEntry, error) {
	now := in.now().UTC()
	var v apperr.Violations
	leaves, version := checkUpdate(&v, u, now)
	if err := v.Err(); err != nil {
		return Incident{}, nil, err
	}
	src := u.Incident
	normalizeRecord(&src.Record)
	inc, e, err := in.commit(ctx, u.Incident.ID, caller, ids.New("upd"), func(cur Incident) (Incident, *TimelineEntry, bool, error) {
		if cur.Version != version {
			return Incident{}, nil, false, fmt.Errorf("incident %s: etag %s is stale, the incident is at %s; read it again: %w",
				cur.ID, u.Etag, cur.Etag(), apperr.ErrConflict)
		}
		next := cur
		next.CustomerIDs = slices.Clone(cur.CustomerIDs)
		var changes []Change
		for _, i := range leaves {
			f := updatable[i]
			f.set(&next, &src)
			if old, nw := f.render(&cur), f.render(&next); old != nw {
				changes = append(changes, Change{Field: f.path, OldValue: old, NewValue: nw})
			}
		}
		var mv apperr.Violations
		checkIncidentFields(&mv, next, func(string) bool { return true }, in.now().UTC())
		if err := mv.Err(); err != nil {
			return Incident{}, nil, false, err
		}
		if len(changes) == 0 {
			return cur, nil, false, nil
		}
		next.SyncFacts()
		if renderJSON(next.Facts) != renderJSON(cur.Facts) {
			next.FactsVersion = cur.FactsVersion + 1
			next.AssessmentStatus = AssessmentStatusPending
			next.LastError = ""
			next.NextAttemptAt = in.now().UTC().Truncate(time.Millisecond)
			if cur.AssessmentStatus != AssessmentStatusPending {
				changes = append(changes, Change{Field: "assessment_status",
					OldValue: cur.AssessmentStatus.String(), NewValue: AssessmentStatusPending.String()})
			}
		}
		fields := make([]string, len(changes))
		for i, c := range changes {
			fields[i] = c.Field
		}
		return next, &TimelineEntry{
			Action:  ActionIncidentUpdated,
			Summary: cutSummary("Updated " + strings.Join(fields, ", ")),
			Changes: changes,
		}, true, nil
	})
	if errors.Is(err, errReplay) {
		err = nil
	}
	return inc, e, err
}

// Transition is a TransitionIncident request.
type Transition struct {
	IncidentID string
	To         IncidentState
	Reason     string
	// Etag, when set, must be the incident's current etag.
	Etag string
}

// ValidateTransition checks t without the store.
func ValidateTransition(t Transition) error {
	var v apperr.Violations
	if err := checkIncidentID("incident_id", t.IncidentID); err != nil {
		ie, _ := apperr.AsInvalid(err)
		v = append(v, ie.Violations...)
	}
	if !t.To.Valid() {
		v.Add("state", "must be one of REPORTED, TRIAGE, INVESTIGATING, CONTAINED, NOTIFYING, CLOSED")
	}
	checkLen(&v, "reason", t.Reason, MaxReasonLen)
	if t.Reason != "" && strings.TrimSpace(t.Reason) == "" {
		v.Add("reason", "must not be blank")
	}
	if _, err := strconv.ParseInt(t.Etag, 10, 64); t.Etag != "" && err != nil {
		v.Add("etag", "is not an etag returned by this service")
	}
	return v.Err()
}

// TransitionIncident moves an incident along its lifecycle (see
// transitions) and records the move, with its reason as the entry's note. A
// move the lifecycle does not allow is apperr.ErrFailedPrecondition naming
// the allowed next states.
func (in *Intake) TransitionIncident(ctx context.Context, caller Caller, t Transition) (Incident, *TimelineEntry, error) {
	if err := ValidateTransition(t); err != nil {
		return Incident{}, nil, err
	}
	inc, e, err := in.commit(ctx, t.IncidentID, caller, ids.New("trn"), func(cur Incident) (Incident, *TimelineEntry, bool, error) {
		if t.Etag != "" && t.Etag != cur.Etag() {
			return Incident{}, nil, false, fmt.Errorf("incident %s: etag %s is stale, the incident is at %s: %w",
				cur.ID, t.Etag, cur.Etag(), apperr.ErrConflict)
		}
		if !CanTransition(cur.State, t.To) {
			allowed := stateList(NextStates(cur.State))
			if allowed == "" {
				allowed = "none"
			}
			return Incident{}, nil, false, fmt.Errorf("incident %s is %s and cannot move to %s; allowed next states: %s: %w",
				cur.ID, cur.State, t.To, allowed, apperr.ErrFailedPrecondition)
		}
		next := cur
		next.State = t.To
		return next, &TimelineEntry{
			Action:  ActionIncidentTransitioned,
			Summary: "State " + cur.State.String() + " → " + t.To.String(),
			Note:    t.Reason,
			Changes: []Change{{Field: "state", OldValue: cur.State.String(), NewValue: t.To.String()}},
		}, true, nil
	})
	if errors.Is(err, errReplay) {
		err = nil
	}
	return inc, e, err
}

// normalizeRecord brings the record's times to UTC milliseconds, the
// precision the timeline records.
func normalizeRecord(r *IncidentRecord) {
	for _, t := range []*time.Time{&r.OccurredStart, &r.OccurredEnd, &r.Discovery.DiscoveredAt} {
		if !t.IsZero() {
			*t = t.UTC().Truncate(time.Millisecond)
		}
	}
}

func renderTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeFormat)
}

func renderList[T any](list []T) string {
	if len(list) == 0 {
		return ""
	}
	return renderJSON(list)
}

func cutSummary(s string) string {
	r := []rune(s)
	if len(r) <= MaxSummaryLen {
		return s
	}
	return string(r[:MaxSummaryLen-1]) + "…"
}
