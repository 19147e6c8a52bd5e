package domain

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongox"
)

// Page sizes of ListTimeline.
const (
	DefaultTimelinePageSize = 100
	MaxTimelinePageSize     = 1000
)

var (
	requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	actionPattern    = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)
	// reservedActions are the action namespaces intake records itself;
	// another service may not write entries that look like intake's.
	reservedActions = []string{"incident.", "note.", "assessment.", "signal.", "response."}
)

// Note is an AddIncidentNote request.
type Note struct {
	IncidentID string
	Text       string
	// RequestID is the idempotency key; empty means a new note.
	RequestID string
}

// ValidateNote checks n without the store.
func ValidateNote(n Note) error {
	var v apperr.Violations
	addIDViolation(&v, "incident_id", n.IncidentID)
	switch {
	case n.Text == "" || strings.TrimSpace(n.Text) == "":
		v.Add("note", "is required and must not be blank")
	case len(n.Text) > MaxNoteBytes:
		v.Add("note", "must be at most %d bytes", MaxNoteBytes)
	}
	if n.RequestID != "" && !requestIDPattern.MatchString(n.RequestID) {
		v.Add("request_id", "must be 1 to 128 letters, digits, '.', '_', ':' or '-'")
	}
	return v.Err()
}

// AddNote records a responder's note; caller is its author. A retry with
// the same request id returns the first note; reusing the id for a
// different text is apperr.ErrAlreadyExists.
func (in *Intake) AddNote(ctx context.Context, caller Caller, n Note) (TimelineEntry, error) {
	if err := ValidateNote(n); err != nil {
		return TimelineEntry{}, err
	}
	key := n.RequestID
	if key == "" {
		key = ids.New("note")
	}
	return in.appendOnly(ctx, n.IncidentID, caller, key, TimelineEntry{
		Action:  ActionNoteAdded,
		Summary: "Note added",
		Note:    n.Text,
	})
}

// ValidateEntry checks an entry another service appends.
func ValidateEntry(incidentID, requestID string, e TimelineEntry) error {
	var v apperr.Violations
	addIDViolation(&v, "incident_id", incidentID)
	const p = "entry."
	switch {
	case e.Action == "":
		v.Add(p+"action", "is required")
	case len(e.Action) > MaxActionLen || !actionPattern.MatchString(e.Action):
		v.Add(p+"action", `must be a dotted lowercase name such as "dispatch.campaign_approved", at most %d characters`, MaxActionLen)
	default:
		for _, r := range reservedActions {
			if strings.HasPrefix(e.Action, r) {
				v.Add(p+"action", "must not start with %q: intake records those actions itself", r)
			}
		}
	}
	checkMaxRunes(&v, p+"summary", e.Summary, MaxSummaryLen)
	if len(e.Note) > MaxNoteBytes {
		v.Add(p+"note", "must be at most %d bytes", MaxNoteBytes)
	}
	if len(e.Changes) > MaxChanges {
		v.Add(p+"changes", "must have at most %d entries, has %d", MaxChanges, len(e.Changes))
	} else {
		for i, c := range e.Changes {
			f := fmt.Sprintf("%schanges[%d]", p, i)
			if c.Field == "" || len(c.Field) > MaxChangeField {
				v.Add(f+".field", "must be 1 to %d bytes", MaxChangeField)
			}
			if len(c.OldValue) > MaxChangeValue {
				v.Add(f+".old_value", "must be at most %d bytes", MaxChangeValue)
			}
			if len(c.NewValue) > MaxChangeValue {
				v.Add(f+".new_value", "must be at most %d bytes", MaxChangeValue)
			}
		}
	}
	if !requestIDPattern.MatchString(requestID) {
		v.Add("request_id", "is required: 1 to 128 letters, digits, '.', '_', ':' or '-'")
	}
	return v.Err()
}

// AppendEntry records another service's action (caller is the actor). A
// retry with the same request id returns the first entry.
func (in *Intake) AppendEntry(ctx context.Context, caller Caller, incidentID, requestID string, e TimelineEntry) (TimelineEntry, error) {
	if err := ValidateEntry(incidentID, requestID, e); err != nil {
		return TimelineEntry{}, err
	}
	return in.appendOnly(ctx, incidentID, caller, requestID, TimelineEntry{
		Action: e.Action, Summary: e.Summary, Note: e.Note, Changes: e.Changes,
	})
}

// appendOnly records an entry that does not change the incident.
func (in *Intake) appendOnly(ctx context.Context, id string, caller Caller, key string, draft TimelineEntry) (TimelineEntry, error) {
	_, e, err := in.commit(ctx, id, caller, key, func(cur Incident) (Incident, *TimelineEntry, bool, error) {
		d := draft
		return cur, &d, false, nil
	})
	if errors.Is(err, errReplay) {
		if e.Action != draft.Action || e.Note != draft.Note || e.Summary != draft.Summary || len(e.Changes) != len(draft.Changes) {
			return TimelineEntry{}, fmt.Errorf("request_id %s was used for a different entry of incident %s: %w", key, id, apperr.ErrAlreadyExists)
		}
		err = nil
	}
	if err != nil {
		return TimelineEntry{}, err
	}
	return *e, nil
}

// TimelinePage is one page of a timeline, oldest first.
type TimelinePage struct {
	Entries       []TimelineEntry
	NextPageToken string
}

type timelineToken struct {
	Incident string `json:"i"`
	After    int64  `json:"a"`
}

// ListTimeline returns a page of an incident's timeline.
func (in *Intake) ListTimeline(ctx context.Context, id string, pageSize int32, pageToken string) (TimelinePage, error) {
	var v apperr.Violations
	addIDViolation(&v, "incident_id", id)
	size, err := mongox.PageSize(pageSize, DefaultTimelinePageSize, MaxTimelinePageSize)
	if ie, ok := apperr.AsInvalid(err); ok {
		v = append(v, ie.Violations...)
	}
	var tok timelineToken
	if pageToken != "" {
		if err := mongox.DecodePageToken(pageToken, &tok); err != nil {
			ie, _ := apperr.AsInvalid(err)
			v = append(v, ie.Violations...)
		} else if tok.Incident != id {
			v.Add("page_token", "belongs to another incident; start again without a token")
		}
	}
	if err := v.Err(); err != nil {
		return TimelinePage{}, err
	}
	if _, err := in.load(ctx, id); err != nil {
		return TimelinePage{}, err
	}
	entries, err := in.store.ListEntries(ctx, id, tok.After, size+1)
	if err != nil {
		return TimelinePage{}, err
	}
	var page TimelinePage
	if len(entries) > size {
		entries = entries[:size]
		next, err := mongox.EncodePageToken(timelineToken{Incident: id, After: entries[size-1].Seq})
		if err != nil {
			return TimelinePage{}, err
		}
		page.NextPageToken = next
	}
	page.Entries = entries
	return page, nil
}

// VerifyTimeline recomputes the incident's hash chain from the store.
func (in *Intake) VerifyTimeline(ctx context.Context, id string) (Verification, error) {
	_, _, res, err := in.chain(ctx, id)
	return res, err
}

// Export is an incident with its complete timeline and the verification
// of the chain at export time.
type Export struct {
	ExportTime   time.Time
	Incident     Incident
	Timeline     []TimelineEntry
	Verification Verification
}

// ExportIncident returns the incident's verifiable record.
func (in *Intake) ExportIncident(ctx context.Context, id string) (Export, error) {
	inc, entries, res, err := in.chain(ctx, id)
	if err != nil {
		return Export{}, err
	}
	return Export{
		ExportTime:   in.now().UTC().Truncate(time.Millisecond),
		Incident:     inc,
		Timeline:     entries,
		Verification: res,
	}, nil
}

func (in *Intake) chain(ctx context.Context, id string) (Incident, []TimelineEntry, Verification, error) {
	if err := checkIncidentID("incident_id", id); err != nil {
		return Incident{}, nil, Verification{}, err
	}
	v, err := in.load(ctx, id)
	if err != nil {
		return Incident{}, nil, Verification{}, err
	}
	entries, err := in.store.ListEntries(ctx, id, 0, 0)
	if err != nil {
		return Incident{}, nil, Verification{}, err
	}
	return v.inc, entries, VerifyChain(entries, v.inc.Version), nil
}

func addIDViolation(v *apperr.Violations, field, id string) {
	if err := checkIncidentID(field, id); err != nil {
		ie, _ := apperr.AsInvalid(err)
		*v = append(*v, ie.Violations...)
	}
}
