package domain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/breachline/breachline/pkg/apperr"
)

// Limits of analysis inputs.
const (
	MaxAnalysisText  = 20000 // bytes, long text fields
	MaxAnalysisShort = 500   // characters, list items and short fields
	MaxAnalysisList  = 100   // items per list
	MaxRationale     = 4000  // bytes
)

// AnalysisKinds are the analyses in the order they are listed.
var AnalysisKinds = []AnalysisKind{AnalysisTechnical, AnalysisPhysical, AnalysisLegal}

// RequiredAnalyses are the analyses a notification decision needs for
// records in form: the technical analysis for electronic (or not yet
// known) records, the physical-records analysis for paper, and always the
// legal analysis.
func RequiredAnalyses(form RecordsForm) []AnalysisKind {
	switch form {
	case RecordsFormPhysical:
		return []AnalysisKind{AnalysisPhysical, AnalysisLegal}
	case RecordsFormBoth:
		return []AnalysisKind{AnalysisTechnical, AnalysisPhysical, AnalysisLegal}
	}
	return []AnalysisKind{AnalysisTechnical, AnalysisLegal}
}

// AnalysisSave is a SaveAnalysis request.
type AnalysisSave struct {
	IncidentID string
	Kind       AnalysisKind
	Content    AnalysisContent
	Etag       string
	RequestID  string
}

// ValidKind reports whether k names an analysis.
func ValidKind(k AnalysisKind) bool {
	return k == AnalysisTechnical || k == AnalysisPhysical || k == AnalysisLegal
}

// ValidateAnalysis checks s without the store.
func ValidateAnalysis(s AnalysisSave) error {
	var v apperr.Violations
	const p = "analysis."
	addIDViolation(&v, p+"incident_id", s.IncidentID)
	if !ValidKind(s.Kind) {
		v.Add(p+"analysis_id", `must be "technical", "physical" or "legal"`)
	}
	c := s.Content
	set := 0
	for _, ok := range []bool{c.Technical != nil, c.Physical != nil, c.Legal != nil} {
		if ok {
			set++
		}
	}
	switch {
	case set != 1:
		v.Add(p+"content", "exactly one of technical, physical or legal is required")
	case c.Technical != nil && s.Kind == AnalysisTechnical:
		t := c.Technical
		const f = p + "technical."
		checkLong(&v, f+"nature_and_extent", t.NatureAndExtent, true)
		checkAnalysisElements(&v, f+"data_elements", t.DataElements)
		if t.Likelihood < LikelihoodLow || t.Likelihood > LikelihoodHigh {
			v.Add(f+"identity_theft_likelihood", "is required: LOW, MEDIUM or HIGH")
		}
		checkLong(&v, f+"likelihood_rationale", t.LikelihoodRationale, false)
		checkItems(&v, f+"parties", t.Parties)
		checkLong(&v, f+"mitigation", t.Mitigation, false)
	case c.Physical != nil && s.Kind == AnalysisPhysical:
		ph := c.Physical
		const f = p + "physical."
		checkLong(&v, f+"nature_and_extent", ph.NatureAndExtent, true)
		checkShort(&v, f+"department", ph.Department, true)
		checkLong(&v, f+"access", ph.Access, false)
		checkLong(&v, f+"protection", ph.Protection, false)
		checkLong(&v, f+"investigation", ph.Investigation, false)
		checkItems(&v, f+"disclosed_to", ph.DisclosedTo)
		checkAnalysisElements(&v, f+"data_elements", ph.DataElements)
	case c.Legal != nil && s.Kind == AnalysisLegal:
		l := c.Legal
		const f = p + "legal."
		if len(l.Laws) == 0 {
			v.Add(f+"laws", "must name at least one law or jurisdiction")
		}
		checkItems(&v, f+"laws", l.Laws)
		checkItems(&v, f+"authorities", l.Authorities)
		if l.AuthoritiesMustBeNotified && len(l.Authorities) == 0 {
			v.Add(f+"authorities", "must name the authorities when authorities_must_be_notified is set")
		}
		checkLong(&v, f+"law_enforcement_delay_details", l.LawEnforcementDelayDetails, l.LawEnforcementDelayRequested)
		checkLong(&v, f+"summary", l.Summary, true)
	default:
		v.Add(p+"content", "must be the %s analysis, as analysis_id says", s.Kind)
	}
	if s.Etag != "" {
		if n, err := strconv.ParseInt(s.Etag, 10, 64); err != nil || n <= 0 {
			v.Add(p+"etag", "must be an etag returned by the service")
		}
	}
	if s.RequestID != "" && !requestIDPattern.MatchString(s.RequestID) {
		v.Add("request_id", "must be 1 to 128 letters, digits, '.', '_', ':' or '-'")
	}
	return v.Err()
}

func checkLong(v *apperr.Violations, field, s string, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		v.Add(field, "is required and must not be blank")
	case len(s) > MaxAnalysisText:
		v.Add(field, "must be at most %d bytes", MaxAnalysisText)
	}
}

func checkShort(v *apperr.Violations, field, s string, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		v.Add(field, "is required and must not be blank")
	case utf8.RuneCountInString(s) > MaxAnalysisShort:
		v.Add(field, "must be at most %d characters", MaxAnalysisShort)
	}
}

func checkItems(v *apperr.Violations, field string, items []string) {
	if len(items) > MaxAnalysisList {
		v.Add(field, "must have at most %d items", MaxAnalysisList)
		return
	}
	for i, s := range items {
		checkShort(v, fmt.Sprintf("%s[%d]", field, i), s, true)
	}
}

func checkAnalysisElements(v *apperr.Violations, field string, es []DataElement) {
	for i, e := range es {
		if !e.Valid() {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "unknown data element %d", e)
		}
	}
}

// ContentHash is the lowercase hex SHA-256 of the content's JSON (the
// struct's fixed field order makes it canonical).
func ContentHash(c AnalysisContent) string {
	raw, _ := json.Marshal(c) //nolint:errchkjson // plain structs of strings, numbers and bools always marshal
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// SaveAnalysis stores a new version of an analysis. Its version number is
// fenced by the version's unique id, so of two concurrent saves one gets
// version n and the other n+1 (or, with an etag, ABORTED).
func (r *Response) SaveAnalysis(ctx context.Context, caller Caller, s AnalysisSave) (Analysis, error) {
	if err := ValidateAnalysis(s); err != nil {
		return Analysis{}, err
	}
	if _, err := r.load(ctx, s.IncidentID); err != nil {
		return Analysis{}, err
	}
	if s.RequestID != "" {
		a, ok, err := r.rs.AnalysisByRequest(ctx, s.IncidentID, s.Kind, s.RequestID)
		if err != nil {
			return Analysis{}, err
		}
		if ok {
			return r.finishAnalysis(ctx, a)
		}
	}
	for range maxAppendAttempts {
		cur, ok, err := r.rs.LatestAnalysis(ctx, s.IncidentID, s.Kind)
		if err != nil {
			return Analysis{}, err
		}
		if s.Etag != "" && (!ok || cur.Etag() != s.Etag) {
			return Analysis{}, fmt.Errorf("%s analysis changed since it was read (etag %s): %w", s.Kind, s.Etag, apperr.ErrConflict)
		}
		now := r.clock()
		a := Analysis{
			IncidentID:  s.IncidentID,
			Kind:        s.Kind,
			Content:     s.Content,
			Version:     cur.Version + 1,
			ContentHash: ContentHash(s.Content),
			Author:      caller.Actor.Subject,
			CreateTime:  now,
			RequestID:   s.RequestID,
		}
		a.Owed = Owed{
			RequestID: "response.analysis:" + analysisID(a.IncidentID, a.Kind, a.Version),
			Caller:    caller,
			Entry: TimelineEntry{
				Action: ActionAnalysisSaved,
				Summary: cutSummary(kindTitle(s.Kind) + " version " + strconv.FormatInt(a.Version, 10) + " saved by " + a.Author +
					" (content sha256 " + a.ContentHash + ")"),
				Changes: []Change{
					{Field: "version", OldValue: versionText(cur.Version), NewValue: strconv.FormatInt(a.Version, 10)},
					{Field: "content_hash", OldValue: cur.ContentHash, NewValue: a.ContentHash},
				},
			},
		}
		if ok {
			if _, signed, err := r.rs.GetSignOff(ctx, s.IncidentID, s.Kind, cur.Version); err != nil {
				return Analysis{}, err
			} else if signed {
				a.Owed.Entry.Summary = cutSummary(a.Owed.Entry.Summary + "; the sign-off of version " + strconv.FormatInt(cur.Version, 10) + " no longer applies")
			}
		}
		switch err := r.rs.InsertAnalysis(ctx, a); {
		case errors.Is(err, apperr.ErrConflict):
			continue
		case err != nil:
			return Analysis{}, err
		}
		return r.finishAnalysis(context.WithoutCancel(ctx), a)
	}
	return Analysis{}, fmt.Errorf("%s analysis: busy, try again: %w", s.Kind, apperr.ErrConflict)
}

func versionText(v int64) string {
	if v == 0 {
		return ""
	}
	return strconv.FormatInt(v, 10)
}

func kindTitle(k AnalysisKind) string {
	switch k {
	case AnalysisTechnical:
		return "Technical analysis"
	case AnalysisPhysical:
		return "Physical-records analysis"
	}
	return "Legal analysis"
}

func analysisID(incidentID string, k AnalysisKind, version int64) string {
	return incidentID + "/" + string(k) + "#" + strconv.FormatInt(version, 10)
}

// finishAnalysis commits the timeline entry a stored version (and its
// sign-off) owes, if not yet done, and returns the version with its sign-off.
func (r *Response) finishAnalysis(ctx context.Context, a Analysis) (Analysis, error) {
	if !a.Owed.Logged {
		if err := r.owe(ctx, a.IncidentID, a.Owed); err != nil {
			return Analysis{}, err
		}
		if err := r.rs.MarkLogged(ctx, LoggedAnalysis, analysisID(a.IncidentID, a.Kind, a.Version)); err != nil {
			return Analysis{}, err
		}
		a.Owed.Logged = true
	}
	so, ok, err := r.rs.GetSignOff(ctx, a.IncidentID, a.Kind, a.Version)
	if err != nil {
		return Analysis{}, err
	}
	if ok {
		if !so.Owed.Logged {
			if err := r.owe(ctx, a.IncidentID, so.Owed); err != nil {
				return Analysis{}, err
			}
			if err := r.rs.MarkLogged(ctx, LoggedSignOff, analysisID(a.IncidentID, a.Kind, a.Version)); err != nil {
				return Analysis{}, err
			}
			so.Owed.Logged = true
		}
		a.SignOff = &so
	}
	return a, nil
}

func checkAnalysisRef(incidentID string, kind AnalysisKind) error {
	var v apperr.Violations
	addIDViolation(&v, "incident_id", incidentID)
	if !ValidKind(kind) {
		v.Add("analysis_id", `must be "technical", "physical" or "legal"`)
	}
	return v.Err()
}

// GetAnalysis returns one version of an analysis (0: the current one).
func (r *Response) GetAnalysis(ctx context.Context, incidentID string, kind AnalysisKind, version int64) (Analysis, error) {
	if err := checkAnalysisRef(incidentID, kind); err != nil {
		return Analysis{}, err
	}
	if version < 0 {
		return Analysis{}, apperr.Invalid("version", "must not be negative")
	}
	var a Analysis
	if version == 0 {
		cur, ok, err := r.rs.LatestAnalysis(ctx, incidentID, kind)
		if err != nil {
			return Analysis{}, err
		}
		if !ok {
			return Analysis{}, fmt.Errorf("%s analysis of incident %s: %w", kind, incidentID, apperr.ErrNotFound)
		}
		a = cur
	} else {
		var err error
		if a, err = r.rs.GetAnalysis(ctx, incidentID, kind, version); err != nil {
			return Analysis{}, err
		}
	}
	return r.finishAnalysis(ctx, a)
}

// ListAnalyses returns the current version of each saved analysis and the
// analyses the decision requires.
func (r *Response) ListAnalyses(ctx context.Context, incidentID string) ([]Analysis, []AnalysisKind, error) {
	if err := checkIncidentID("incident_id", incidentID); err != nil {
		return nil, nil, err
	}
	v, err := r.load(ctx, incidentID)
	if err != nil {
		return nil, nil, err
	}
	var out []Analysis
	for _, k := range AnalysisKinds {
		cur, ok, err := r.rs.LatestAnalysis(ctx, incidentID, k)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			continue
		}
		a, err := r.finishAnalysis(ctx, cur)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, a)
	}
	return out, RequiredAnalyses(v.inc.Record.RecordsForm), nil
}

// SignOffRequest is a SignOffAnalysis request.
type SignOffRequest struct {
	IncidentID  string
	Kind        AnalysisKind
	Version     int64
	ContentHash string
	// Signer is the person signing (the caller, or the person a service
	// acts for); empty: the caller's subject.
	Signer string
}

// SignOffAnalysis records the caller's sign-off of the current version of
// an analysis. The caller must be the team member whose subject it is and
// hold the analysis's owner role (or deputise for a member who does).
func (r *Response) SignOffAnalysis(ctx context.Context, caller Caller, s SignOffRequest) (Analysis, error) {
	if err := checkAnalysisRef(s.IncidentID, s.Kind); err != nil {
		return Analysis{}, err
	}
	var v apperr.Violations
	if s.Version <= 0 {
		v.Add("version", "must be the version read (1 or more)")
	}
	if len(s.ContentHash) != 64 {
		v.Add("content_hash", "must be the version's content_hash (64 hex digits)")
	}
	if err := v.Err(); err != nil {
		return Analysis{}, err
	}
	a, err := r.rs.GetAnalysis(ctx, s.IncidentID, s.Kind, s.Version)
	if err != nil {
		return Analysis{}, err
	}
	cur, _, err := r.rs.LatestAnalysis(ctx, s.IncidentID, s.Kind)
	if err != nil {
		return Analysis{}, err
	}
	if cur.Version != s.Version {
		return Analysis{}, fmt.Errorf("%s analysis version %d is not the current version %d: read and sign that: %w", s.Kind, s.Version, cur.Version, apperr.ErrFailedPrecondition)
	}
	if a.ContentHash != s.ContentHash {
		return Analysis{}, fmt.Errorf("content_hash does not match %s analysis version %d: %w", s.Kind, s.Version, apperr.ErrFailedPrecondition)
	}
	team, err := r.rs.ListMembers(ctx, RoleUnspecified, "", 0)
	if err != nil {
		return Analysis{}, err
	}
	owner := s.Kind.Owner()
	who := s.Signer
	if who == "" {
		who = caller.Actor.Subject
	}
	var signer *TeamMember
	for i := range team {
		if team[i].Subject != "" && team[i].Subject == who {
			signer = &team[i]
		}
	}
	if signer == nil {
		return Analysis{}, fmt.Errorf("the caller %s is not on the response team (no member has this subject): %w", who, apperr.ErrPermissionDenied)
	}
	if !holdsRole(*signer, owner, team) {
		return Analysis{}, fmt.Errorf("the %s analysis is signed off by the %s role, which member %s neither holds nor deputises for: %w", s.Kind, owner, signer.ID, apperr.ErrPermissionDenied)
	}
	so := SignOff{
		IncidentID: a.IncidentID, Kind: a.Kind, Version: a.Version, ContentHash: a.ContentHash,
		Signer: who, MemberID: signer.ID, Role: owner, Time: r.clock(),
	}
	so.Owed = Owed{
		RequestID: "response.signoff:" + analysisID(a.IncidentID, a.Kind, a.Version),
		Caller:    caller,
		Entry: TimelineEntry{
			Action: ActionAnalysisSignedOff,
			Summary: cutSummary(kindTitle(a.Kind) + " version " + strconv.FormatInt(a.Version, 10) + " (content sha256 " + a.ContentHash +
				") signed off by " + signer.Name + " as " + owner.String()),
			Changes: []Change{{Field: "signed_version", OldValue: "", NewValue: strconv.FormatInt(a.Version, 10)}},
		},
	}
	if err := r.rs.InsertSignOff(ctx, so); err != nil && !errors.Is(err, apperr.ErrAlreadyExists) {
		return Analysis{}, err
	}
	return r.finishAnalysis(context.WithoutCancel(ctx), a)
}

// DecisionRequest is a FinalizeNotificationDecision request.
type DecisionRequest struct {
	IncidentID string
	Notify     bool
	Rationale  string
}

// FinalizeDecision records the notification decision once every required
// analysis is signed off in its current version.
func (r *Response) FinalizeDecision(ctx context.Context, caller Caller, req DecisionRequest) (Decision, error) {
	var v apperr.Violations
	addIDViolation(&v, "incident_id", req.IncidentID)
	checkText(&v, "rationale", req.Rationale, MaxRationale)
	if err := v.Err(); err != nil {
		return Decision{}, err
	}
	view, err := r.load(ctx, req.IncidentID)
	if err != nil {
		return Decision{}, err
	}
	if d, err := r.rs.GetDecision(ctx, req.IncidentID); err == nil {
		return r.sameDecision(ctx, d, req)
	} else if !errors.Is(err, apperr.ErrNotFound) {
		return Decision{}, err
	}
	var missing []string
	var refs []AnalysisRef
	for _, k := range RequiredAnalyses(view.inc.Record.RecordsForm) {
		cur, ok, err := r.rs.LatestAnalysis(ctx, req.IncidentID, k)
		if err != nil {
			return Decision{}, err
		}
		if !ok {
			missing = append(missing, string(k)+" (not written)")
			continue
		}
		so, signed, err := r.rs.GetSignOff(ctx, req.IncidentID, k, cur.Version)
		if err != nil {
			return Decision{}, err
		}
		if !signed {
			missing = append(missing, fmt.Sprintf("%s (version %d not signed off)", k, cur.Version))
			continue
		}
		refs = append(refs, AnalysisRef{Kind: k, Version: cur.Version, ContentHash: cur.ContentHash, Signer: so.Signer})
	}
	if len(missing) > 0 {
		return Decision{}, fmt.Errorf("the notification decision needs signed-off analyses: %s: %w", strings.Join(missing, ", "), apperr.ErrFailedPrecondition)
	}
	d := Decision{
		IncidentID: req.IncidentID, Notify: req.Notify, Rationale: req.Rationale, Analyses: refs,
		DecidedBy: caller.Actor.Subject, Time: r.clock(),
	}
	word := "do not notify"
	if d.Notify {
		word = "notify"
	}
	var basis []string
	for _, ref := range refs {
		basis = append(basis, fmt.Sprintf("%s v%d", ref.Kind, ref.Version))
	}
	d.Owed = Owed{
		RequestID: "response.decision:" + req.IncidentID,
		Caller:    caller,
		Entry: TimelineEntry{
			Action:  ActionNotificationDecide,
			Summary: cutSummary("Notification decision: " + word + ", by " + d.DecidedBy + ", on signed analyses " + strings.Join(basis, ", ")),
			Note:    d.Rationale,
			Changes: []Change{{Field: "notify", OldValue: "", NewValue: strconv.FormatBool(d.Notify)}},
		},
	}
	switch err := r.rs.InsertDecision(ctx, d); {
	case errors.Is(err, apperr.ErrAlreadyExists):
		stored, err := r.rs.GetDecision(ctx, req.IncidentID)
		if err != nil {
			return Decision{}, err
		}
		return r.sameDecision(ctx, stored, req)
	case err != nil:
		return Decision{}, err
	}
	d, err = r.finishDecision(context.WithoutCancel(ctx), d)
	if err != nil {
		return Decision{}, err
	}
	r.metrics.decided(ctx, view.inc, d)
	return d, nil
}

func (r *Response) sameDecision(ctx context.Context, d Decision, req DecisionRequest) (Decision, error) {
	if d.Notify != req.Notify || d.Rationale != req.Rationale {
		return Decision{}, fmt.Errorf("incident %s already has a final notification decision: %w", req.IncidentID, apperr.ErrAlreadyExists)
	}
	return r.finishDecision(ctx, d)
}

func (r *Response) finishDecision(ctx context.Context, d Decision) (Decision, error) {
	if d.Owed.Logged {
		return d, nil
	}
	if err := r.owe(ctx, d.IncidentID, d.Owed); err != nil {
		return Decision{}, err
	}
	if err := r.rs.MarkLogged(ctx, LoggedDecision, d.IncidentID); err != nil {
		return Decision{}, err
	}
	d.Owed.Logged = true
	return d, nil
}

// GetDecision returns the incident's decision.
func (r *Response) GetDecision(ctx context.Context, incidentID string) (Decision, error) {
	if err := checkIncidentID("incident_id", incidentID); err != nil {
		return Decision{}, err
	}
	d, err := r.rs.GetDecision(ctx, incidentID)
	if err != nil {
		return Decision{}, err
	}
	return r.finishDecision(ctx, d)
}

// UnmarshalText reverses MarshalText, so analyses stored as JSON (with
// elements by name, as their content hash was computed) read back.
func (e *DataElement) UnmarshalText(b []byte) error {
	i := slices.Index(dataElementNames, string(b))
	if i < 0 {
		return fmt.Errorf("unknown data element %q", b)
	}
	*e = DataElement(i)
	return nil
}
