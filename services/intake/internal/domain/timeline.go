package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// ActorKind says whether an entry was made by a person or a service;
// numbers equal breachline.intake.v1.ActorKind.
type ActorKind int32

// ActorKind values, as in the proto.
const (
	ActorKindUnspecified ActorKind = iota
	ActorKindPerson
	ActorKindService
)

var actorKindNames = []string{"UNSPECIFIED", "PERSON", "SERVICE"}

func (k ActorKind) String() string { return enumName(actorKindNames, int32(k)) }

// Actor is who made a timeline entry.
type Actor struct {
	Kind    ActorKind
	Subject string
}

// Caller is who is calling and the correlation id of the call; the server
// builds it from the authenticated identity and the x-request-id.
type Caller struct {
	Actor         Actor
	CorrelationID string
}

// Change is one field an action changed, rendered as text.
type Change struct {
	Field    string
	OldValue string
	NewValue string
}

// Timeline actions intake records itself. Other services record their own
// dotted actions through AppendTimelineEntry.
const (
	ActionIncidentCreated      = "incident.created"
	ActionIncidentUpdated      = "incident.updated"
	ActionIncidentTransitioned = "incident.transitioned"
	ActionNoteAdded            = "note.added"
	ActionAssessmentCompleted  = "assessment.completed"
)

// TimelineEntry is one action on an incident. The hashed fields are listed
// in HashEntry; IncidentVersion and Snapshot are how the timeline doubles as
// the incident's write-ahead log (see Intake.commit) and are not part of the
// record a regulator verifies.
type TimelineEntry struct {
	IncidentID    string
	Seq           int64
	Time          time.Time
	Actor         Actor
	Action        string
	Summary       string
	Note          string
	Changes       []Change
	RequestID     string
	CorrelationID string
	PrevHash      string
	Hash          string

	// IncidentVersion is the incident's version after the entry.
	IncidentVersion int64
	// Snapshot is the incident after the entry, on entries that changed it
	// (nil on notes and other services' entries).
	Snapshot *Incident
}

// GenesisHash is the prev_hash of an incident's first entry.
var GenesisHash = strings.Repeat("0", 64)

// HashScheme names and describes the entry hash, for exports.
const HashScheme = `sha256-netstring-v1: hash = lowercase hex SHA-256 of the concatenation of netstrings ` +
	`N(x) = <byte length of x in decimal> ":" x "," (x in UTF-8) of, in order: ` +
	`"breachline.timeline.v1", incident_id, seq (decimal), time (RFC 3339 UTC with exactly three fraction digits, ` +
	`e.g. 2026-11-20T09:30:00.000Z), actor.kind (PERSON or SERVICE), actor.subject, action, summary, note, ` +
	`request_id, correlation_id, the number of changes (decimal), then for each change in order field, old_value, ` +
	`new_value, and last prev_hash (64 zeros for seq 1). An absent string is the empty string.`

// TimeFormat is how entry times are written into the hash.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// HashEntry computes e's hash from its fields and PrevHash per HashScheme.
func HashEntry(e TimelineEntry) string {
	h := sha256.New()
	put := func(s string) {
		_, _ = h.Write([]byte(strconv.Itoa(len(s))))
		_, _ = h.Write([]byte{':'})
		_, _ = h.Write([]byte(s))
		_, _ = h.Write([]byte{','})
	}
	put("breachline.timeline.v1")
	put(e.IncidentID)
	put(strconv.FormatInt(e.Seq, 10))
	put(e.Time.UTC().Format(TimeFormat))
	put(e.Actor.Kind.String())
	put(e.Actor.Subject)
	put(e.Action)
	put(e.Summary)
	put(e.Note)
	put(e.RequestID)
	put(e.CorrelationID)
	put(strconv.Itoa(len(e.Changes)))
	for _, c := range e.Changes {
		put(c.Field)
		put(c.OldValue)
		put(c.NewValue)
	}
	put(e.PrevHash)
	return hex.EncodeToString(h.Sum(nil))
}

// BreakKind is how a hash chain is broken; numbers equal
// breachline.intake.v1.TimelineBreakKind.
type BreakKind int32

// BreakKind values, as in the proto.
const (
	BreakUnspecified BreakKind = iota
	BreakAltered
	BreakMissing
	BreakReordered
	BreakBrokenLink
)

// Break is the first place a chain does not verify.
type Break struct {
	Seq          int64
	Kind         BreakKind
	ExpectedHash string
	FoundHash    string
	Description  string
}

// Verification is the result of checking a chain.
type Verification struct {
	OK             bool
	EntriesChecked int64
	HeadSeq        int64
	HeadHash       string
	FirstBreak     *Break
}

// VerifyChain checks entries, in the order given (seq order as stored, or
// an export's order), against the hash chain: seq runs 1, 2, … without gaps,
// every hash matches its entry's content and every prev_hash is the hash of
// the entry before. incidentVersion, when positive, is the version of the
// incident document: a timeline whose entries end below it has lost its
// tail. It reports the first break.
func VerifyChain(entries []TimelineEntry, incidentVersion int64) Verification {
	res := Verification{OK: true, EntriesChecked: int64(len(entries)), HeadHash: GenesisHash}
	prev := GenesisHash
	var maxVersion int64
	fail := func(b Break) Verification {
		res.OK = false
		res.FirstBreak = &b
		return res
	}
	for i, e := range entries {
		want := int64(i) + 1
		switch {
		case e.Seq > want:
			return fail(Break{Seq: want, Kind: BreakMissing, ExpectedHash: prev, FoundHash: e.PrevHash,
				Description: "entries " + strconv.FormatInt(want, 10) + " to " + strconv.FormatInt(e.Seq-1, 10) + " are missing"})
		case e.Seq < want:
			return fail(Break{Seq: e.Seq, Kind: BreakReordered, FoundHash: e.Hash,
				Description: "entry " + strconv.FormatInt(e.Seq, 10) + " appears at position " + strconv.FormatInt(want, 10)})
		}
		if got := HashEntry(e); got != e.Hash {
			return fail(Break{Seq: e.Seq, Kind: BreakAltered, ExpectedHash: got, FoundHash: e.Hash,
				Description: "entry " + strconv.FormatInt(e.Seq, 10) + " does not match its hash: its content was altered"})
		}
		if e.PrevHash != prev {
			return fail(Break{Seq: e.Seq, Kind: BreakBrokenLink, ExpectedHash: prev, FoundHash: e.PrevHash,
				Description: "entry " + strconv.FormatInt(e.Seq, 10) + " does not commit to the hash of the entry before it: one of the two was rewritten"})
		}
		prev = e.Hash
		res.HeadSeq, res.HeadHash = e.Seq, e.Hash
		maxVersion = max(maxVersion, e.IncidentVersion)
	}
	if incidentVersion > 0 && maxVersion < incidentVersion {
		return fail(Break{Seq: res.HeadSeq + 1, Kind: BreakMissing, ExpectedHash: "", FoundHash: "",
			Description: "the incident is at version " + strconv.FormatInt(incidentVersion, 10) +
				" but the timeline records changes only up to version " + strconv.FormatInt(maxVersion, 10) +
				": entries after " + strconv.FormatInt(res.HeadSeq, 10) + " are missing"})
	}
	return res
}
