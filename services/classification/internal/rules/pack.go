// Package rules is the breach-notification rules engine. Rules are data:
// versioned rule packs (YAML, embedded from packs/) that cite their sources
// and carry an effective date, so a lawyer can review and change them without
// touching Go. The engine is a pure function of (facts, packs, now) and every
// obligation it produces names the pack, version and rule that produced it.
//
// packs/README.md documents the pack format for authors.
package rules

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/breachline/breachline/services/classification/internal/domain"
)

// Pack is one versioned rule pack as written in YAML. A released version is
// never edited: a change is a new file with a new version, so stored
// assessments can be reproduced from the version they name.
type Pack struct {
	// ID names the pack across versions, e.g. "us-tx".
	ID string `json:"id"`
	// Version is unique per ID, e.g. "2026.1".
	Version string `json:"version"`
	// Title is the human name of the law or policy.
	Title string `json:"title"`
	// Jurisdiction labels obligations: an ISO 3166 code, "EU" or "ORG".
	Jurisdiction string `json:"jurisdiction"`
	// EffectiveDate (YYYY-MM-DD) is when this version may first be used;
	// the newest version effective at assessment time is used.
	EffectiveDate string `json:"effective_date"`
	// Sources are where the facts in the pack come from.
	Sources []Source `json:"sources"`
	// Verified says whether every fact was checked against a primary or
	// high-trust source; when false, Notes must say what is not.
	Verified *bool `json:"verified"`
	// Notes record interpretations, heuristics and unverified facts.
	Notes []string `json:"notes,omitempty"`
	// SourceDate is when the sources were last checked, as free text (many
	// law-firm pages are undated).
	SourceDate string `json:"source_date,omitempty"`
	// Constraints apply to every obligation, of any pack, whose audience is
	// listed (e.g. the organisation's quorum approval before public notices).
	Constraints []PackConstraint `json:"constraints,omitempty"`
	// BaselineDefinition, set on exactly one pack, names the definition that
	// decides an assessment's personal_information and exceptions.
	BaselineDefinition string `json:"baseline_definition,omitempty"`
	// Definitions say which exposed data makes a notifiable breach.
	Definitions []Definition `json:"definitions,omitempty"`
	// Rules produce obligations, in this order before sorting.
	Rules []Rule `json:"rules"`

	effective time.Time
	defs      map[string]*Definition
	rules     map[string]*Rule
	// origin is where the pack was loaded from ("embedded" or "directory").
	origin string
}

// PackConstraint is a constraint on how notices of some audiences are given.
type PackConstraint struct {
	Audiences []domain.Audience `json:"audiences"`
	Text      string            `json:"text"`
	Citation  string            `json:"citation"`
}

// Substitute is a statute's substitute-notice permission: notice by e-mail,
// website posting and statewide media instead of individual notice when the
// cost or the number of people exceeds a threshold ("more than", as the
// statutes word it).
type Substitute struct {
	CostOverUSD int64 `json:"cost_over_usd,omitempty"`
	PersonsOver int64 `json:"persons_over,omitempty"`
	// Text is the statute's wording or the source's summary.
	Text string `json:"text"`
	// Unverified marks thresholds from secondary sources.
	Unverified bool `json:"unverified,omitempty"`
}

// Source is one source a pack relies on: a public URL, or for the
// organisation's own policies the document's name.
type Source struct {
	URL      string `json:"url,omitempty"`
	Document string `json:"document,omitempty"`
	Title    string `json:"title,omitempty"`
}

// Exception kinds a Definition may honour. Each removes the duty the
// definition gates (see packs/README.md).
const (
	ExceptionPublicRecords         = "public_records"
	ExceptionEncryption            = "encryption"
	ExceptionRetrievedBeforeMisuse = "retrieved_before_misuse"
	ExceptionProperlyDisposed      = "properly_disposed"
	ExceptionNamesAndAddressesOnly = "names_and_addresses_only"
)

var knownExceptions = []string{
	ExceptionPublicRecords, ExceptionEncryption, ExceptionRetrievedBeforeMisuse,
	ExceptionProperlyDisposed, ExceptionNamesAndAddressesOnly,
}

// Definition is a "personal information" definition: which exposed elements,
// alone or combined, make data notifiable, and which exceptions remove the
// duty.
type Definition struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	Citation    string `json:"citation"`
	// WithName elements count when exposed together with a name.
	WithName []domain.Element `json:"with_name,omitempty"`
	// Alone elements count without a name.
	Alone []domain.Element `json:"alone,omitempty"`
	// AllOf lists combinations that count together, without a name (e.g.
	// e-mail address + password).
	AllOf [][]domain.Element `json:"all_of,omitempty"`
	// Exceptions this definition honours.
	Exceptions []string `json:"exceptions,omitempty"`
	// UnverifiedElements may be covered, but the source does not confirm it;
	// when one is involved and the definition is otherwise not met, a finding
	// asks for review instead of assuming either way.
	UnverifiedElements []domain.Element `json:"unverified_elements,omitempty"`
}

// Rule produces one obligation (or one per jurisdiction) when its scope,
// definition and thresholds are met.
type Rule struct {
	// ID is unique within the pack.
	ID string `json:"id"`
	// Obligation is the stable key in obligation_id ("<pack>.<obligation>");
	// defaults to ID. Rules that replace each other over time (different
	// effective windows) share it.
	Obligation string          `json:"obligation,omitempty"`
	Title      string          `json:"title"`
	Audience   domain.Audience `json:"audience"`
	// Recipient names who is told when the audience is a specific party
	// (e.g. "FBI San Antonio Field Office"); it leads the reason.
	Recipient string `json:"recipient,omitempty"`
	// Jurisdiction overrides the pack's label.
	Jurisdiction string `json:"jurisdiction,omitempty"`
	Citation     string `json:"citation"`
	// EffectiveFrom/EffectiveUntil (YYYY-MM-DD, until exclusive) bound the
	// discovery dates the rule applies to: the law in force when the clock
	// started.
	EffectiveFrom  string `json:"effective_from,omitempty"`
	EffectiveUntil string `json:"effective_until,omitempty"`
	// EffectiveDate (YYYY-MM-DD) is when the law or policy text this rule
	// rests on took effect, when it differs from the pack's effective_date
	// (e.g. a policy clause unchanged since an older edition); empty means
	// the pack's. It is a record for reviewers, not a gate: it may not be
	// after the pack's effective_date (a duty that starts later needs
	// effective_from). See Pack.RuleEffectiveDate.
	EffectiveDate string `json:"effective_date,omitempty"`
	// Sources are what this rule rests on, when more precise than the
	// pack's sources; empty means the pack's. See Pack.RuleSources.
	Sources []Source `json:"sources,omitempty"`
	// SourceDate is when this rule's own sources were last checked; empty
	// means the pack's source_date.
	SourceDate string `json:"source_date,omitempty"`
	// Verified false marks a rule resting on an unverified fact; Notes say which.
	Verified *bool    `json:"verified,omitempty"`
	Notes    []string `json:"notes,omitempty"`
	// Condition is a condition the facts do not carry (e.g. "we act as
	// processor"), stated in the reason so a reviewer can drop the duty.
	Condition string `json:"condition,omitempty"`
	Scope     Scope  `json:"scope"`
	// When gates the rule on facts (see conditions in packs/README.md); a
	// false condition skips the rule with a finding. An unknown role makes
	// the rule fire with its condition stated.
	When []string `json:"when,omitempty"`
	// AppliesIf are conditions that, when false, list the obligation with
	// notify=false and the reason (e.g. SEC: materiality not determined).
	AppliesIf []string `json:"applies_if,omitempty"`
	// WhenException makes the rule fire only when the required definition is
	// met and this exception removed the duty (a filing the exception needs,
	// e.g. Alaska's written no-harm notice to the Attorney General).
	WhenException string `json:"when_exception,omitempty"`
	// Review marks a duty resting on an unknown fact (an unverified
	// threshold); the obligation fires for a person to review.
	Review string `json:"review,omitempty"`
	// Content is what the notice must contain.
	Content []string `json:"content,omitempty"`
	// SubstituteNotice is the statute's substitute-notice permission.
	SubstituteNotice *Substitute `json:"substitute_notice,omitempty"`
	// Requires names a definition of this pack (or the baseline) that must
	// be met, with its exceptions; empty means no personal-information test.
	Requires   string      `json:"requires,omitempty"`
	Thresholds []Threshold `json:"thresholds,omitempty"`
	Deadline   Deadline    `json:"deadline"`

	from, until time.Time
	within      clock
	calendar    *Calendar
	when        []condition
	appliesIf   []condition
}

// Scope says which affected individuals a rule is about.
type Scope struct {
	// Jurisdictions are codes of residence: "US-TX" matches exactly, a
	// country "DE" also matches its subdivisions ("DE-BY"), "*" matches all.
	Jurisdictions []string `json:"jurisdictions"`
	// Label names the counted people in reasons, e.g. "Texas residents".
	Label string `json:"label,omitempty"`
	// PerJurisdiction makes one obligation per matching jurisdiction
	// (e.g. HIPAA media notice per state).
	PerJurisdiction bool `json:"per_jurisdiction,omitempty"`
	// Always fires the rule even when no affected individual is in scope
	// (organisation policy applies to every assessed incident).
	Always bool `json:"always,omitempty"`
	// PerCustomer makes one obligation per customer in the facts'
	// customer_ids, with the customer's registry terms.
	PerCustomer bool `json:"per_customer,omitempty"`
}

// Threshold compares a count of affected individuals with a value. Op is
// explicit because statutes differ: "at least 250" is ">=", "more than 500"
// is ">".
type Threshold struct {
	Op    string `json:"op"`
	Value int64  `json:"value"`
	// Count is "in_scope" (default: residents the rule is about) or
	// "all_affected" (everyone affected, wherever they live).
	Count string `json:"count,omitempty"`
	// Text is the statute's wording, e.g. "at least 250 residents".
	Text string `json:"text,omitempty"`
}

// Deadline is when notice is due. Within empty means the law sets no fixed
// period; the obligation then has no deadline and Text says what applies.
type Deadline struct {
	// From is "discovered_at" (default), "determined_at" (determination of
	// the breach; discovered_at when unknown), "materiality_determined_at",
	// "calendar_year_end" (end of the calendar year of discovery, UTC) or
	// "rule:<id>" — the deadline of another rule of the pack.
	From string `json:"from,omitempty"`
	// Within is "0" (immediately), "<n>h" hours, "<n>d" calendar days,
	// "<n>bd" business days, "<n>m" calendar months, or "contract" (the
	// customer's notify_within_hours; per_customer rules only).
	Within string `json:"within,omitempty"`
	// Calendar names the holiday calendar business days skip (e.g.
	// "us-federal"); without it business days are Monday to Friday in UTC.
	Calendar string `json:"calendar,omitempty"`
	// Text is the deadline as the law or policy words it.
	Text string `json:"text"`
}

var (
	idPattern     = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	labelPattern  = regexp.MustCompile(`^(ORG|EU|[A-Z]{2}(-[A-Z0-9]{1,6})?)$`)
	scopePattern  = regexp.MustCompile(`^(\*|[A-Z]{2}(-[A-Z0-9]{1,3})?)$`)
	withinPattern = regexp.MustCompile(`^(0|contract|[1-9][0-9]{0,4}(h|d|bd|m))$`)
	knownFroms    = []string{"", "discovered_at", "determined_at", "materiality_determined_at", "calendar_year_end"}
	knownOps      = []string{">", ">=", "<", "<="}
	knownCounts   = []string{"", "in_scope", "all_affected"}
)

// clock is a parsed Deadline.Within.
type clock struct {
	set          bool
	contract     bool
	hours        int
	days         int
	businessDays int
	months       int
}

func parseWithin(s string) (clock, error) {
	if s == "" {
		return clock{}, nil
	}
	if !withinPattern.MatchString(s) {
		return clock{}, fmt.Errorf("must be 0, <n>h, <n>d, <n>bd, <n>m or contract, not %q", s)
	}
	switch {
	case s == "0":
		return clock{set: true}, nil
	case s == "contract":
		return clock{set: true, contract: true}, nil
	case strings.HasSuffix(s, "m"):
		n, _ := strconv.Atoi(strings.TrimSuffix(s, "m"))
		return clock{set: true, months: n}, nil
	case strings.HasSuffix(s, "bd"):
		n, _ := strconv.Atoi(strings.TrimSuffix(s, "bd"))
		return clock{set: true, businessDays: n}, nil
	case strings.HasSuffix(s, "d"):
		n, _ := strconv.Atoi(strings.TrimSuffix(s, "d"))
		return clock{set: true, days: n}, nil
	default:
		n, _ := strconv.Atoi(strings.TrimSuffix(s, "h"))
		return clock{set: true, hours: n}, nil
	}
}

// add applies the clock to t. Calendar days are 24-hour periods in UTC;
// business days skip weekends and, with a calendar, its holidays in its
// time zone, ending at its end of day when it sets one.
func (c clock) add(t time.Time, cal *Calendar) time.Time {
	t = t.Add(time.Duration(c.hours)*time.Hour).AddDate(0, c.months, c.days)
	if c.businessDays == 0 {
		return t
	}
	if cal != nil {
		return cal.addBusinessDays(t, c.businessDays)
	}
	for n := c.businessDays; n > 0; {
		t = t.AddDate(0, 0, 1)
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return t
}

// describe words the clock for deadline_basis.
func (c clock) describe(cal *Calendar) string {
	switch {
	case c.contract:
		return "the contract's notification period"
	case c.hours > 0:
		return fmt.Sprintf("%d hours", c.hours)
	case c.days > 0:
		return fmt.Sprintf("%d calendar days", c.days)
	case c.months > 0:
		return fmt.Sprintf("%d calendar month(s)", c.months)
	case c.businessDays > 0 && cal != nil:
		return fmt.Sprintf("%d business days (%s)", c.businessDays, cal.describe())
	case c.businessDays > 0:
		return fmt.Sprintf("%d business days (Monday to Friday, UTC, no holidays)", c.businessDays)
	default:
		return "immediately"
	}
}

// ParsePack decodes one pack strictly (unknown fields are errors) and
// validates it. name is used in error messages.
func ParsePack(name string, data []byte) (*Pack, error) {
	var p Pack
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &p, nil
}

// Ref names the pack at its version.
func (p *Pack) Ref() domain.RulePackRef {
	return domain.RulePackRef{Pack: p.ID, Version: p.Version}
}

// problems collects every validation error of a pack.
type problems []error

func (ps *problems) add(field, format string, args ...any) {
	*ps = append(*ps, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
}

func parseDate(ps *problems, field, s string, required bool) time.Time {
	if s == "" {
		if required {
			ps.add(field, "is required")
		}
		return time.Time{}
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		ps.add(field, "must be a date YYYY-MM-DD, not %q", s)
	}
	return t
}

func (p *Pack) validate() error {
	var ps problems
	if !idPattern.MatchString(p.ID) {
		ps.add("id", "must be lower-case words joined by hyphens, not %q", p.ID)
	}
	if strings.TrimSpace(p.Version) == "" {
		ps.add("version", "is required")
	}
	if strings.TrimSpace(p.Title) == "" {
		ps.add("title", "is required")
	}
	if !labelPattern.MatchString(p.Jurisdiction) {
		ps.add("jurisdiction", "must be an ISO 3166 code, EU or ORG, not %q", p.Jurisdiction)
	}
	p.effective = parseDate(&ps, "effective_date", p.EffectiveDate, true)
	if len(p.Sources) == 0 {
		ps.add("sources", "at least one source is required")
	}
	checkSources(&ps, "sources", p.Sources)
	switch {
	case p.Verified == nil:
		ps.add("verified", "is required (true, or false with notes on what is unverified)")
	case !*p.Verified && len(p.Notes) == 0:
		ps.add("notes", "are required when verified is false")
	}

	p.defs = make(map[string]*Definition, len(p.Definitions))
	for i := range p.Definitions {
		d := &p.Definitions[i]
		p.validateDefinition(&ps, fmt.Sprintf("definitions[%d]", i), d)
		if _, dup := p.defs[d.ID]; dup {
			ps.add(fmt.Sprintf("definitions[%d].id", i), "duplicate definition %q", d.ID)
		}
		p.defs[d.ID] = d
	}
	if p.BaselineDefinition != "" && p.defs[p.BaselineDefinition] == nil {
		ps.add("baseline_definition", "names no definition of this pack: %q", p.BaselineDefinition)
	}

	if len(p.Rules) == 0 {
		ps.add("rules", "at least one rule is required")
	}
	p.rules = make(map[string]*Rule, len(p.Rules))
	for i := range p.Rules {
		r := &p.Rules[i]
		if _, dup := p.rules[r.ID]; dup {
			ps.add(fmt.Sprintf("rules[%d].id", i), "duplicate rule %q", r.ID)
		}
		p.rules[r.ID] = r
	}
	for i := range p.Rules {
		p.validateRule(&ps, fmt.Sprintf("rules[%d]", i), &p.Rules[i])
	}
	p.checkObligationWindows(&ps)
	p.checkDeadlineRefs(&ps)
	return errors.Join(ps...)
}

// checkSources requires each source to be exactly one of an http(s) URL or
// a document name.
func checkSources(ps *problems, path string, sources []Source) {
	for i, s := range sources {
		field := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case (s.URL == "") == (s.Document == ""):
			ps.add(field, "must have exactly one of url or document")
		case s.URL != "":
			if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				ps.add(field+".url", "must be an http(s) URL, not %q", s.URL)
			}
		}
	}
}

func (p *Pack) validateDefinition(ps *problems, path string, d *Definition) {
	if !idPattern.MatchString(d.ID) {
		ps.add(path+".id", "must be lower-case words joined by hyphens, not %q", d.ID)
	}
	if strings.TrimSpace(d.Citation) == "" {
		ps.add(path+".citation", "is required")
	}
	checkElements(ps, path+".unverified_elements", d.UnverifiedElements)
	if len(d.WithName)+len(d.Alone)+len(d.AllOf) == 0 {
		ps.add(path, "must list with_name, alone or all_of elements")
	}
	checkElements(ps, path+".with_name", d.WithName)
	checkElements(ps, path+".alone", d.Alone)
	for j, combo := range d.AllOf {
		if len(combo) < 2 {
			ps.add(fmt.Sprintf("%s.all_of[%d]", path, j), "a combination needs at least two elements")
		}
		checkElements(ps, fmt.Sprintf("%s.all_of[%d]", path, j), combo)
	}
	for j, e := range d.Exceptions {
		if !slices.Contains(knownExceptions, e) {
			ps.add(fmt.Sprintf("%s.exceptions[%d]", path, j), "unknown exception %q (known: %s)", e, strings.Join(knownExceptions, ", "))
		}
	}
}

func checkElements(ps *problems, path string, es []domain.Element) {
	for i, e := range es {
		if !e.Known() {
			ps.add(fmt.Sprintf("%s[%d]", path, i), "unknown data element %q", e)
		}
	}
}

func (p *Pack) validateRule(ps *problems, path string, r *Rule) {
	if !idPattern.MatchString(r.ID) {
		ps.add(path+".id", "must be lower-case words joined by hyphens, not %q", r.ID)
	}
	if r.Obligation == "" {
		r.Obligation = r.ID
	} else if !idPattern.MatchString(r.Obligation) {
		ps.add(path+".obligation", "must be lower-case words joined by hyphens, not %q", r.Obligation)
	}
	if strings.TrimSpace(r.Title) == "" {
		ps.add(path+".title", "is required")
	}
	if !r.Audience.Known() {
		ps.add(path+".audience", "unknown audience %q", r.Audience)
	}
	if r.Jurisdiction != "" && !labelPattern.MatchString(r.Jurisdiction) {
		ps.add(path+".jurisdiction", "must be an ISO 3166 code, EU or ORG, not %q", r.Jurisdiction)
	}
	if strings.TrimSpace(r.Citation) == "" {
		ps.add(path+".citation", "is required")
	}
	r.from = parseDate(ps, path+".effective_from", r.EffectiveFrom, false)
	r.until = parseDate(ps, path+".effective_until", r.EffectiveUntil, false)
	if !r.from.IsZero() && !r.until.IsZero() && !r.from.Before(r.until) {
		ps.add(path+".effective_until", "must be after effective_from")
	}
	if d := parseDate(ps, path+".effective_date", r.EffectiveDate, false); !d.IsZero() && !p.effective.IsZero() && d.After(p.effective) {
		ps.add(path+".effective_date", "%s is after the pack's effective_date %s; a duty that starts later needs effective_from", r.EffectiveDate, p.EffectiveDate)
	}
	checkSources(ps, path+".sources", r.Sources)
	if r.Verified != nil && !*r.Verified && len(r.Notes) == 0 {
		ps.add(path+".notes", "are required when verified is false")
	}
	r.when = parseConditions(ps, path+".when", r.When)
	r.appliesIf = parseConditions(ps, path+".applies_if", r.AppliesIf)
	if r.WhenException != "" {
		if !slices.Contains(knownExceptions, r.WhenException) {
			ps.add(path+".when_exception", "unknown exception %q", r.WhenException)
		}
		if r.Requires == "" {
			ps.add(path+".when_exception", "needs requires: the definition whose exception it is")
		}
	}
	for j, c := range r.Content {
		if strings.TrimSpace(c) == "" {
			ps.add(fmt.Sprintf("%s.content[%d]", path, j), "must not be empty")
		}
	}
	if sn := r.SubstituteNotice; sn != nil {
		if sn.CostOverUSD < 0 || sn.PersonsOver < 0 {
			ps.add(path+".substitute_notice", "thresholds must not be negative")
		}
		if strings.TrimSpace(sn.Text) == "" {
			ps.add(path+".substitute_notice.text", "is required")
		}
	}
	for _, c := range r.when {
		if c.key == condEmployeeNotification && !r.Scope.PerCustomer {
			ps.add(path+".when", "employee_notification needs scope.per_customer")
		}
	}
	if r.Scope.PerCustomer && r.Scope.PerJurisdiction {
		ps.add(path+".scope", "per_customer and per_jurisdiction exclude each other")
	}
	if len(r.Scope.Jurisdictions) == 0 {
		ps.add(path+".scope.jurisdictions", "at least one jurisdiction (or \"*\") is required")
	}
	for j, code := range r.Scope.Jurisdictions {
		if !scopePattern.MatchString(code) {
			ps.add(fmt.Sprintf("%s.scope.jurisdictions[%d]", path, j), "must be an ISO 3166 code or \"*\", not %q", code)
		}
	}
	if r.Requires != "" && p.defs[r.Requires] == nil {
		ps.add(path+".requires", "names no definition of this pack: %q", r.Requires)
	}
	for j, t := range r.Thresholds {
		tp := fmt.Sprintf("%s.thresholds[%d]", path, j)
		if !slices.Contains(knownOps, t.Op) {
			ps.add(tp+".op", "must be one of %s, not %q", strings.Join(knownOps, " "), t.Op)
		}
		if t.Value < 0 {
			ps.add(tp+".value", "must not be negative")
		}
		if !slices.Contains(knownCounts, t.Count) {
			ps.add(tp+".count", "must be in_scope or all_affected, not %q", t.Count)
		}
	}
	if strings.TrimSpace(r.Deadline.Text) == "" {
		ps.add(path+".deadline.text", "is required")
	}
	c, err := parseWithin(r.Deadline.Within)
	if err != nil {
		ps.add(path+".deadline.within", "%v", err)
	}
	r.within = c
	if c.contract && !r.Scope.PerCustomer {
		ps.add(path+".deadline.within", "contract needs scope.per_customer")
	}
	if r.Deadline.Calendar != "" && c.businessDays == 0 {
		ps.add(path+".deadline.calendar", "only applies to business days (<n>bd)")
	}
	switch from := r.Deadline.From; {
	case slices.Contains(knownFroms, from):
	case strings.HasPrefix(from, "rule:"):
		if p.rules[strings.TrimPrefix(from, "rule:")] == nil {
			ps.add(path+".deadline.from", "names no rule of this pack: %q", from)
		}
		if r.Deadline.Within == "" {
			ps.add(path+".deadline.within", "is required when deadline.from names a rule")
		}
	default:
		ps.add(path+".deadline.from", "must be discovered_at, determined_at, materiality_determined_at, calendar_year_end or rule:<id>, not %q", from)
	}
}

// checkObligationWindows rejects two rules with the same obligation key that
// are in force at the same time: obligation ids must be unique per assessment.
func (p *Pack) checkObligationWindows(ps *problems) {
	for i := range p.Rules {
		for j := i + 1; j < len(p.Rules); j++ {
			a, b := &p.Rules[i], &p.Rules[j]
			if a.Obligation != b.Obligation {
				continue
			}
			if overlaps(a.from, a.until, b.from, b.until) {
				ps.add(fmt.Sprintf("rules[%d]", j), "obligation %q is also produced by rule %q in an overlapping effective window", b.Obligation, a.ID)
			}
		}
	}
}

func overlaps(aFrom, aUntil, bFrom, bUntil time.Time) bool {
	aEndsBeforeB := !aUntil.IsZero() && !aUntil.After(bFrom)
	bEndsBeforeA := !bUntil.IsZero() && !bUntil.After(aFrom)
	return !aEndsBeforeB && !bEndsBeforeA
}

// checkDeadlineRefs rejects cycles among deadline.from references.
func (p *Pack) checkDeadlineRefs(ps *problems) {
	for i := range p.Rules {
		seen := map[string]bool{}
		r := &p.Rules[i]
		for r != nil {
			if seen[r.ID] {
				ps.add(fmt.Sprintf("rules[%d].deadline.from", i), "deadline references form a cycle through %q", r.ID)
				break
			}
			seen[r.ID] = true
			ref, ok := strings.CutPrefix(r.Deadline.From, "rule:")
			if !ok {
				break
			}
			r = p.rules[ref]
		}
	}
}

func (r *Rule) inForce(t time.Time) bool {
	return (r.from.IsZero() || !t.Before(r.from)) && (r.until.IsZero() || t.Before(r.until))
}

// RuleEffectiveDate is the date (YYYY-MM-DD) from which r, in this pack
// version, applies: the rule's own effective_date, else the pack's.
func (p *Pack) RuleEffectiveDate(r *Rule) string {
	return firstSet(r.EffectiveDate, p.EffectiveDate)
}

// RuleSources are the sources r rests on: its own, else the pack's.
func (p *Pack) RuleSources(r *Rule) []Source {
	if len(r.Sources) > 0 {
		return r.Sources
	}
	return p.Sources
}

// RuleSourceDate is when r's sources were last checked: its own
// source_date when it has its own sources or date, else the pack's.
func (p *Pack) RuleSourceDate(r *Rule) string {
	if r.SourceDate != "" || len(r.Sources) > 0 {
		return r.SourceDate
	}
	return p.SourceDate
}

// Origin is where the pack was loaded from: OriginEmbedded or
// OriginDirectory.
func (p *Pack) Origin() string { return p.origin }

// Effective is the first day the version may be used.
func (p *Pack) Effective() time.Time { return p.effective }

// String names the pack at its version, e.g. "us-tx@2026.1".
func (p *Pack) String() string { return p.ID + "@" + p.Version }
