package domain

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
)

// Reproduction is a stored assessment decided again with the facts,
// customer terms and rule pack versions it stored.
type Reproduction struct {
	// Assessment is the stored assessment with the re-run decision in place
	// of the stored one.
	Assessment Assessment
	// Differences lists where the re-run decision differs from the stored
	// one; empty when they are identical.
	Differences []Difference
}

// Identical reports whether the re-run decision equals the stored one.
func (r Reproduction) Identical() bool { return len(r.Differences) == 0 }

// Difference is one field in which two decisions differ.
type Difference struct {
	// ObligationID is the obligation that differs; empty for a field of
	// the decision itself.
	ObligationID string
	// Field is the proto field name, or "obligation" when the obligation
	// is in only one of the decisions.
	Field string
	// Stored and Reproduced are the two values as text.
	Stored, Reproduced string
}

// absent is the value of an obligation missing from one decision.
const absent = "absent"

// Reproduce decides the stored assessment id again: the same facts and
// customer terms (the registry is not read again) with exactly the pack
// versions it names, not the versions in force now. It stores nothing. A
// named version that is no longer loaded fails with
// apperr.ErrFailedPrecondition naming it.
func (s *Service) Reproduce(ctx context.Context, id string) (Reproduction, error) {
	if !ids.Valid(IDPrefix, id) {
		return Reproduction{}, apperr.Invalid("assessment_id", "must be an assessment id (%s_...)", IDPrefix)
	}
	stored, err := s.store.Get(ctx, id)
	if err != nil {
		return Reproduction{}, err
	}
	d, err := s.engine.Reproduce(Input{Facts: stored.Facts, Customers: stored.Customers}, stored.RulePacks)
	if err != nil {
		return Reproduction{}, fmt.Errorf("reproduce assessment %s: %w", id, err)
	}
	again := stored
	again.Decision = d
	return Reproduction{Assessment: again, Differences: Compare(stored.Decision, d)}, nil
}

// Compare lists the differences between two decisions: first the
// decision's own fields, then each obligation by id, field by field.
func Compare(stored, again Decision) []Difference {
	var out []Difference
	add := func(obligation, field, a, b string) {
		if a != b {
			out = append(out, Difference{ObligationID: obligation, Field: field, Stored: a, Reproduced: b})
		}
	}
	add("", "personal_information", strconv.FormatBool(stored.PersonalInformation), strconv.FormatBool(again.PersonalInformation))
	add("", "exceptions", listText(stored.Exceptions), listText(again.Exceptions))
	add("", "findings", listText(stored.Findings), listText(again.Findings))
	add("", "rule_packs", refsText(stored.RulePacks), refsText(again.RulePacks))

	byID := func(obs []Obligation) map[string]Obligation {
		m := make(map[string]Obligation, len(obs))
		for _, o := range obs {
			m[o.ObligationID] = o
		}
		return m
	}
	before, after := byID(stored.Obligations), byID(again.Obligations)
	var keys []string
	for id := range before {
		keys = append(keys, id)
	}
	for id := range after {
		if _, ok := before[id]; !ok {
			keys = append(keys, id)
		}
	}
	slices.Sort(keys)
	for _, id := range keys {
		a, inA := before[id]
		b, inB := after[id]
		switch {
		case !inA:
			add(id, "obligation", absent, "present")
			continue
		case !inB:
			add(id, "obligation", "present", absent)
			continue
		}
		add(id, "rule_pack", a.RulePack, b.RulePack)
		add(id, "rule_pack_version", a.RulePackVersion, b.RulePackVersion)
		add(id, "rule_id", a.RuleID, b.RuleID)
		add(id, "title", a.Title, b.Title)
		add(id, "jurisdiction", a.Jurisdiction, b.Jurisdiction)
		add(id, "audience", string(a.Audience), string(b.Audience))
		add(id, "recipient", a.Recipient, b.Recipient)
		add(id, "notify", strconv.FormatBool(a.Notify), strconv.FormatBool(b.Notify))
		add(id, "reason", a.Reason, b.Reason)
		add(id, "citation", a.Citation, b.Citation)
		add(id, "affected_count", strconv.FormatInt(a.AffectedCount, 10), strconv.FormatInt(b.AffectedCount, 10))
		add(id, "deadline", timeText(a.Deadline), timeText(b.Deadline))
		add(id, "deadline_text", a.DeadlineText, b.DeadlineText)
		add(id, "deadline_basis", a.DeadlineBasis, b.DeadlineBasis)
		add(id, "paused", strconv.FormatBool(a.Paused), strconv.FormatBool(b.Paused))
		add(id, "paused_since", timeText(a.PausedSince), timeText(b.PausedSince))
		add(id, "hold_ids", listText(a.HoldIDs), listText(b.HoldIDs))
		add(id, "required_content", listText(a.RequiredContent), listText(b.RequiredContent))
		add(id, "channel_constraints", listText(a.ChannelConstraints), listText(b.ChannelConstraints))
		add(id, "manual_review", strconv.FormatBool(a.ManualReview), strconv.FormatBool(b.ManualReview))
		add(id, "unverified", strconv.FormatBool(a.Unverified), strconv.FormatBool(b.Unverified))
	}
	return out
}

// timeText renders an instant in UTC, so equal instants compare equal
// whatever their zone; "unset" for the zero time.
func timeText(t time.Time) string {
	if t.IsZero() {
		return "unset"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// listText renders a list as JSON; nil and empty are the same.
func listText(xs []string) string {
	if len(xs) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(xs) // a []string always marshals
	return string(b)
}

func refsText(refs []RulePackRef) string {
	xs := make([]string, len(refs))
	for i, r := range refs {
		xs[i] = r.Pack + "@" + r.Version
	}
	return listText(xs)
}
