package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/breachline/breachline/services/classification/internal/domain"
)

// held is a rule's deadline after law-enforcement holds.
type held struct {
	at          time.Time
	basis       string
	paused      bool
	pausedSince time.Time
	holdIDs     []string
	note        string
}

// holdNote is appended to the deadline text of a held obligation. The
// statutes let notice be delayed while law enforcement determines that it
// would impede a criminal investigation, and require it promptly once law
// enforcement says it no longer would, e.g. Tex. Bus. & Com. Code §
// 521.053(d) and Cal. Civ. Code § 1798.82(c).
const holdNote = "delayed at law enforcement's request: notice must follow promptly once law enforcement determines it will no longer impede the investigation (e.g. Tex. Bus. & Com. Code § 521.053(d), Cal. Civ. Code § 1798.82(c)); the clock is paused while the hold is open and the deadline moves by the time it was paused, an outer bound"

// deadline computes r's deadline for jurisdiction (and customer), with the
// holds in scope applied. Validation guarantees references resolve and form
// no cycle.
func (e *evaluator) deadline(r *Rule, jurisdiction string, cust *domain.CustomerTerms) held {
	f := e.v.f
	var (
		h      held
		anchor time.Time
		from   string
		skip   []string
	)
	switch fr := r.Deadline.From; {
	case strings.HasPrefix(fr, "rule:"):
		ref := e.p.rules[strings.TrimPrefix(fr, "rule:")]
		base := e.deadline(ref, jurisdiction, cust)
		h.holdIDs, skip = slices.Clone(base.holdIDs), base.holdIDs
		switch {
		case base.paused:
			h.paused, h.pausedSince, h.note = true, base.pausedSince, base.note
			h.basis = "the deadline of rule " + ref.ID + " + " + r.within.describe(r.calendar) + ", paused with it"
			return h
		case base.at.IsZero():
			h.basis = "no fixed period: rule " + ref.ID + " has no fixed deadline"
			return h
		}
		anchor, from = base.at, "the deadline of rule "+ref.ID
	case fr == "determined_at":
		anchor, from = f.ClockStart(), "determination of the breach (determined_at)"
		if f.DeterminedAt.IsZero() {
			from = "determination of the breach (determined_at unset, so discovered_at)"
		}
	case fr == "materiality_determined_at":
		anchor, from = f.MaterialityDeterminedAt, "materiality determination (materiality_determined_at)"
		if anchor.IsZero() {
			h.basis = "no deadline until the incident is determined to be material"
			return h
		}
	case fr == "calendar_year_end":
		y := f.DiscoveredAt.UTC().Year()
		anchor, from = time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC), fmt.Sprintf("the end of calendar year %d (of discovery)", y)
	default:
		anchor, from = f.DiscoveredAt, "discovery (discovered_at)"
	}
	c := r.within
	switch {
	case !c.set:
		h.basis = "no fixed period; clock starts at " + from
	case c.contract && (cust == nil || cust.NotifyWithinHours <= 0):
		h.basis = "no fixed period: the contract says without undue delay; clock starts at " + from
	case c.contract:
		h.at = anchor.Add(time.Duration(cust.NotifyWithinHours) * time.Hour)
		h.basis = fmt.Sprintf("%s + %d hours (the customer's contractual notification period)", from, cust.NotifyWithinHours)
	default:
		h.at = c.add(anchor, r.calendar)
		h.basis = from + " + " + c.describe(r.calendar)
	}
	applyHolds(&h, e.v.f.Holds, jurisdiction, r.Audience, anchor, skip)
	return h
}

// applyHolds pauses or extends h for the holds covering (jurisdiction,
// audience) that are not in skip (already applied to a referenced rule).
// An open hold that began before the deadline pauses the clock: no deadline
// until released. A released hold moves the deadline by the time it
// overlapped the running clock (overlapping holds count once). A hold that
// began after the deadline does not revive the clock.
func applyHolds(h *held, holds []domain.Hold, jurisdiction string, audience domain.Audience, start time.Time, skip []string) {
	var cover []domain.Hold
	for _, x := range holds {
		if x.Covers(jurisdiction, audience) && !slices.Contains(skip, x.ID) {
			cover = append(cover, x)
		}
	}
	if len(cover) == 0 {
		return
	}
	slices.SortFunc(cover, func(a, b domain.Hold) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	var notes []string
	if h.at.IsZero() {
		for _, x := range cover {
			h.holdIDs = append(h.holdIDs, x.ID)
			if x.End.IsZero() && !h.paused {
				h.paused, h.pausedSince = true, x.Start
			}
		}
		h.note = holdNote
		return
	}
	deadline, covered := h.at, start
	for _, x := range cover {
		if !x.Start.Before(deadline) {
			notes = append(notes, fmt.Sprintf("hold %s began after the deadline and does not extend it", x.ID))
			continue
		}
		h.holdIDs = append(h.holdIDs, x.ID)
		if x.End.IsZero() {
			h.paused, h.pausedSince = true, x.Start
			break
		}
		from := x.Start
		if from.Before(covered) {
			from = covered
		}
		if x.End.After(from) {
			deadline = deadline.Add(x.End.Sub(from))
			covered = x.End
		}
	}
	switch {
	case h.paused:
		h.basis += fmt.Sprintf("; paused since %s by law-enforcement hold (unpaused deadline was %s)", h.pausedSince.UTC().Format(time.RFC3339), h.at.UTC().Format(time.RFC3339))
		h.at = time.Time{}
	case !deadline.Equal(h.at):
		h.basis += fmt.Sprintf("; extended by %s of law-enforcement hold (from %s)", deadline.Sub(h.at), h.at.UTC().Format(time.RFC3339))
		h.at = deadline
	}
	if len(h.holdIDs) > 0 {
		notes = append([]string{holdNote}, notes...)
	}
	h.note = strings.Join(notes, "; ")
}
