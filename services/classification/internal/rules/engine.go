package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/breachline/breachline/services/classification/internal/domain"
)

// Evaluate is the rules engine: a pure function from facts and pack versions
// to a decision. The baseline definition (org policy) decides
// personal_information and exceptions; every rule whose jurisdiction scope,
// effective window, definition and thresholds are met yields an obligation.
// Obligations are ordered by deadline (those without one last), then id.
func Evaluate(f domain.Facts, packs []*Pack) domain.Decision {
	v := newView(f)
	var d domain.Decision
	d.Findings = append(d.Findings, v.summary())

	for _, p := range packs {
		d.RulePacks = append(d.RulePacks, p.Ref())
		if p.BaselineDefinition == "" {
			continue
		}
		res := evalDefinition(p.defs[p.BaselineDefinition], v)
		d.PersonalInformation = res.pi
		d.Exceptions = res.exceptions
		d.Findings = append(d.Findings, fmt.Sprintf("%s %s (policy definition): %s", p.ID, p.BaselineDefinition, res.explain()))
	}
	if !slices.ContainsFunc(packs, func(p *Pack) bool { return p.BaselineDefinition != "" }) {
		d.Findings = append(d.Findings, "no pack with the baseline personal-information definition was used; personal_information is false by default")
	}

	for _, p := range packs {
		obs, findings := evalPack(p, v)
		d.Obligations = append(d.Obligations, obs...)
		d.Findings = append(d.Findings, findings...)
	}
	d.Findings = append(d.Findings, uncovered(packs, v)...)

	slices.SortStableFunc(d.Obligations, func(a, b domain.Obligation) int {
		switch {
		case a.Deadline.IsZero() != b.Deadline.IsZero():
			if a.Deadline.IsZero() {
				return 1
			}
			return -1
		case !a.Deadline.Equal(b.Deadline):
			return a.Deadline.Compare(b.Deadline)
		}
		return strings.Compare(a.ObligationID, b.ObligationID)
	})
	return d
}

// view is the facts prepared for matching.
type view struct {
	f         domain.Facts
	elements  map[domain.Element]bool
	encrypted map[domain.Element]bool
	affected  []domain.JurisdictionCount // sorted by jurisdiction
	total     int64
}

func newView(f domain.Facts) view {
	v := view{f: f, elements: map[domain.Element]bool{}, encrypted: map[domain.Element]bool{}}
	for _, e := range f.DataElements {
		v.elements[e] = true
	}
	for _, e := range f.EncryptedElements {
		v.encrypted[e] = true
	}
	v.affected = slices.SortedFunc(slices.Values(f.Affected), func(a, b domain.JurisdictionCount) int {
		return strings.Compare(a.Jurisdiction, b.Jurisdiction)
	})
	v.total = f.TotalAffected()
	return v
}

// ordered lists the members of set in domain.Elements order.
func ordered(set map[domain.Element]bool) []string {
	var out []string
	for _, e := range domain.Elements {
		if set[e] {
			out = append(out, string(e))
		}
	}
	return out
}

func (v view) summary() string {
	s := "data elements: " + orNone(ordered(v.elements))
	if len(v.encrypted) > 0 {
		key := "key not compromised"
		if v.f.EncryptionKeyCompromised {
			key = "key compromised, so encryption protects nothing"
		}
		s += "; encrypted: " + strings.Join(ordered(v.encrypted), ", ") + " (" + key + ")"
	}
	return s + fmt.Sprintf("; %s affected individuals in %d jurisdictions", num(v.total), len(v.affected))
}

// exposed is the elements an unauthorised person could read: encrypted ones
// count only when the key was compromised too.
func (v view) exposed(honourEncryption bool) map[domain.Element]bool {
	if !honourEncryption || v.f.EncryptionKeyCompromised {
		return v.elements
	}
	out := map[domain.Element]bool{}
	for e := range v.elements {
		if !v.encrypted[e] {
			out[e] = true
		}
	}
	return out
}

// defResult is a definition applied to the facts.
type defResult struct {
	def *Definition
	// pi: the data meets the definition (public-records exclusion applied).
	pi bool
	// basis: which combinations met it; exposedBasis: those still readable.
	basis, exposedBasis []string
	// exceptions applied, as "kind: explanation".
	exceptions []string
	// notifiable: pi and no exception applies.
	notifiable bool
	notes      []string
}

func evalDefinition(d *Definition, v view) defResult {
	r := defResult{def: d}
	honours := func(x string) bool { return slices.Contains(d.Exceptions, x) }
	if honours(ExceptionPublicRecords) && v.f.PublicRecordsOnly {
		r.exceptions = append(r.exceptions, ExceptionPublicRecords+": the data is lawfully available to the public from government records, which the definition excludes")
		return r
	}
	r.basis = d.match(v.elements)
	if len(r.basis) == 0 {
		return r
	}
	r.pi = true
	exposed := v.exposed(honours(ExceptionEncryption))
	r.exposedBasis = d.match(exposed)
	switch {
	case len(v.encrypted) > 0 && !honours(ExceptionEncryption):
		r.notes = append(r.notes, "encryption is not an exception under this definition")
	case len(v.encrypted) > 0 && v.f.EncryptionKeyCompromised:
		r.notes = append(r.notes, "encryption gives no safe harbour because the key was compromised")
	}
	if len(r.exposedBasis) == 0 {
		r.exceptions = append(r.exceptions, ExceptionEncryption+": "+strings.Join(ordered(v.encrypted), ", ")+" encrypted and the key was not compromised; what remains readable ("+orNone(ordered(exposed))+") is not personal information")
	}
	if honours(ExceptionRetrievedBeforeMisuse) && v.f.RetrievedBeforeMisuse {
		r.exceptions = append(r.exceptions, ExceptionRetrievedBeforeMisuse+": the data was retrieved before it could be copied, misused or transferred")
	}
	if honours(ExceptionProperlyDisposed) && v.f.ProperlyDisposed {
		r.exceptions = append(r.exceptions, ExceptionProperlyDisposed+": the improperly disposed records were destroyed before anyone retrieved them")
	}
	if honours(ExceptionNamesAndAddressesOnly) && namesAndAddressesOnly(exposed) {
		r.exceptions = append(r.exceptions, ExceptionNamesAndAddressesOnly+": only names and home addresses were exposed")
	}
	for _, x := range []struct {
		kind string
		set  bool
	}{
		{ExceptionRetrievedBeforeMisuse, v.f.RetrievedBeforeMisuse},
		{ExceptionProperlyDisposed, v.f.ProperlyDisposed},
		{ExceptionNamesAndAddressesOnly, namesAndAddressesOnly(exposed)},
	} {
		if x.set && !honours(x.kind) {
			r.notes = append(r.notes, x.kind+" is not an exception under this definition")
		}
	}
	r.notifiable = len(r.exceptions) == 0
	return r
}

// namesAndAddressesOnly: the seed's "intruder accessed files that contain
// only individuals' names and addresses". Addresses are home addresses; an
// e-mail address enables phishing and is not covered.
func namesAndAddressesOnly(exposed map[domain.Element]bool) bool {
	if !exposed[domain.ElementHomeAddress] {
		return false
	}
	for e := range exposed {
		if e != domain.ElementName && e != domain.ElementHomeAddress {
			return false
		}
	}
	return true
}

// match lists the combinations of d met by set, in definition order.
func (d *Definition) match(set map[domain.Element]bool) []string {
	var out []string
	if set[domain.ElementName] {
		for _, e := range d.WithName {
			if set[e] {
				out = append(out, "name + "+string(e))
			}
		}
	}
	for _, e := range d.Alone {
		switch {
		case !set[e], set[domain.ElementName] && slices.Contains(d.WithName, e):
		case e == domain.ElementName, set[domain.ElementName]:
			out = append(out, string(e))
		default:
			out = append(out, string(e)+" (without a name)")
		}
	}
	for _, combo := range d.AllOf {
		if !slices.ContainsFunc(combo, func(e domain.Element) bool { return !set[e] }) {
			parts := make([]string, len(combo))
			for i, e := range combo {
				parts[i] = string(e)
			}
			out = append(out, strings.Join(parts, " + "))
		}
	}
	return out
}

func (r defResult) explain() string {
	var s string
	switch {
	case len(r.exceptions) > 0 && !r.pi:
		s = "not met"
	case !r.pi:
		s = "not met: no combination of the definition was involved"
	case r.notifiable:
		s = "met by " + strings.Join(r.exposedBasis, ", ")
	default:
		s = "met by " + strings.Join(r.basis, ", ") + ", but an exception removes the duty"
	}
	for _, e := range r.exceptions {
		s += "; exception " + e
	}
	for _, n := range r.notes {
		s += "; " + n
	}
	return s
}

// evalPack applies every rule of p in force at discovery.
func evalPack(p *Pack, v view) ([]domain.Obligation, []string) {
	var (
		obs      []domain.Obligation
		findings []string
		defs     = map[string]defResult{}
	)
	for i := range p.Rules {
		r := &p.Rules[i]
		if !r.inForce(v.f.DiscoveredAt) {
			continue
		}
		matched := r.Scope.match(v.affected)
		if len(matched) == 0 && !r.Scope.Always {
			continue
		}
		var res defResult
		if r.Requires != "" {
			var seen bool
			res, seen = defs[r.Requires]
			if !seen {
				res = evalDefinition(p.defs[r.Requires], v)
				defs[r.Requires] = res
				findings = append(findings, fmt.Sprintf("%s %s: %s", p.ID, r.Requires, res.explain()))
			}
			if !res.notifiable {
				continue
			}
		}
		groups := [][]domain.JurisdictionCount{matched}
		if r.Scope.PerJurisdiction {
			groups = groups[:0]
			for _, m := range matched {
				groups = append(groups, []domain.JurisdictionCount{m})
			}
		}
		for _, g := range groups {
			ob, missed := p.obligation(r, g, res, v)
			if missed != "" {
				findings = append(findings, missed)
				continue
			}
			obs = append(obs, ob)
		}
	}
	return obs, findings
}

// match returns the affected jurisdictions the scope covers.
func (s Scope) match(affected []domain.JurisdictionCount) []domain.JurisdictionCount {
	var out []domain.JurisdictionCount
	for _, a := range affected {
		if slices.ContainsFunc(s.Jurisdictions, func(p string) bool { return jurisdictionMatches(p, a.Jurisdiction) }) {
			out = append(out, a)
		}
	}
	return out
}

func jurisdictionMatches(pattern, code string) bool {
	switch {
	case pattern == "*":
		return true
	case strings.Contains(pattern, "-"):
		return pattern == code
	default:
		return code == pattern || strings.HasPrefix(code, pattern+"-")
	}
}

// obligation builds the obligation of r for group, or explains which
// threshold was not met.
func (p *Pack) obligation(r *Rule, group []domain.JurisdictionCount, res defResult, v view) (domain.Obligation, string) {
	var count int64
	codes := make([]string, len(group))
	for i, g := range group {
		count += g.Count
		codes[i] = g.Jurisdiction
	}
	id := p.ID + "." + r.Obligation
	jurisdiction := firstSet(r.Jurisdiction, p.Jurisdiction)
	label := firstSet(r.Scope.Label, "affected residents of "+strings.Join(codes, ", "))
	if r.Scope.PerJurisdiction {
		id += "." + strings.ToLower(codes[0])
		jurisdiction = codes[0]
		label = firstSet(r.Scope.Label, "affected residents") + " of " + codes[0]
	}

	var reasons []string
	if r.Recipient != "" {
		reasons = append(reasons, "notify "+r.Recipient)
	}
	for _, t := range r.Thresholds {
		n, what := count, label
		if t.Count == "all_affected" {
			n, what = v.total, "affected individuals in total"
		}
		if !t.met(n) {
			return domain.Obligation{}, fmt.Sprintf("%s not required: %s %s, threshold %s %s not met", id, num(n), what, t.Op, num(t.Value))
		}
		reasons = append(reasons, fmt.Sprintf("%s %s %s %s", num(n), what, opSymbol(t.Op), num(t.Value)))
	}
	switch {
	case len(r.Thresholds) > 0:
	case r.Scope.Always && len(group) == 0:
		reasons = append(reasons, "applies to every incident assessed as a possible data breach")
	case r.Scope.Always:
		reasons = append(reasons, fmt.Sprintf("applies to every incident assessed as a possible data breach; %s affected individuals", num(count)))
	default:
		reasons = append(reasons, fmt.Sprintf("%s %s", num(count), label))
	}
	if r.Requires != "" {
		reasons = append(reasons, fmt.Sprintf("%s met by %s", r.Requires, strings.Join(res.exposedBasis, ", ")))
	}
	if r.Condition != "" {
		reasons = append(reasons, "applies if "+r.Condition)
	}
	if r.Verified != nil && !*r.Verified {
		reasons = append(reasons, "rests on an unverified fact (see the pack notes)")
	}
	return domain.Obligation{
		ObligationID:    id,
		RulePack:        p.ID,
		RulePackVersion: p.Version,
		RuleID:          r.ID,
		Jurisdiction:    jurisdiction,
		Audience:        r.Audience,
		Deadline:        p.deadline(r, v.f.DiscoveredAt),
		DeadlineText:    r.Deadline.Text,
		Reason:          strings.Join(reasons, "; "),
		Citation:        r.Citation,
		AffectedCount:   count,
	}, ""
}

func (t Threshold) met(n int64) bool {
	switch t.Op {
	case ">":
		return n > t.Value
	case ">=":
		return n >= t.Value
	case "<":
		return n < t.Value
	default: // "<=", validated at load
		return n <= t.Value
	}
}

func opSymbol(op string) string {
	switch op {
	case ">=":
		return "≥"
	case "<=":
		return "≤"
	default:
		return op
	}
}

// uncovered names affected jurisdictions for which no pack has an
// individual-notice rule, so a person reviews them instead of silence.
func uncovered(packs []*Pack, v view) []string {
	var out []string
	for _, a := range v.affected {
		covered := slices.ContainsFunc(packs, func(p *Pack) bool {
			return slices.ContainsFunc(p.Rules, func(r Rule) bool {
				return r.Audience == domain.AudienceIndividuals && !slices.Contains(r.Scope.Jurisdictions, "*") &&
					len(r.Scope.match([]domain.JurisdictionCount{a})) > 0
			})
		})
		if !covered {
			out = append(out, fmt.Sprintf("%s: %s affected residents, but no rule pack covers this jurisdiction; review its notice duties manually", a.Jurisdiction, num(a.Count)))
		}
	}
	return out
}

func firstSet(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// num formats n with thousands separators ("10,001").
func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
