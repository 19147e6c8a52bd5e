package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/breachline/breachline/services/classification/internal/domain"
)

// Evaluate is the rules engine: a pure function from the input (facts and
// customer terms) and pack versions to a decision. The baseline definition
// (org policy) decides personal_information and exceptions; every rule whose
// conditions, jurisdiction scope and effective window are met yields an
// obligation: notify=true when its definition and thresholds are met too,
// notify=false with the reason when not. Obligations are ordered: notify
// first, then by deadline (those without one last), then id.
func Evaluate(in domain.Input, packs []*Pack) domain.Decision {
	v := newView(in)
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
	d.Findings = append(d.Findings, unknownCustomers(v)...)
	applyPackConstraints(packs, d.Obligations)

	slices.SortStableFunc(d.Obligations, compareObligations)
	return d
}

func compareObligations(a, b domain.Obligation) int {
	switch {
	case a.Notify != b.Notify:
		if a.Notify {
			return -1
		}
		return 1
	case a.Deadline.IsZero() != b.Deadline.IsZero():
		if a.Deadline.IsZero() {
			return 1
		}
		return -1
	case !a.Deadline.Equal(b.Deadline):
		return a.Deadline.Compare(b.Deadline)
	}
	return strings.Compare(a.ObligationID, b.ObligationID)
}

// applyPackConstraints adds every pack's audience constraints (e.g. quorum
// approval before public notices) to the obligations that must be given.
func applyPackConstraints(packs []*Pack, obs []domain.Obligation) {
	for _, p := range packs {
		for _, c := range p.Constraints {
			for i := range obs {
				if obs[i].Notify && slices.Contains(c.Audiences, obs[i].Audience) {
					obs[i].ChannelConstraints = append(obs[i].ChannelConstraints, c.Text+" ("+c.Citation+")")
				}
			}
		}
	}
}

// unknownCustomers names customer ids the registry did not know.
func unknownCustomers(v view) []string {
	var out []string
	for _, c := range v.customers {
		if !c.Found {
			out = append(out, fmt.Sprintf("customer %s is not in the registry: its Notification Email Address and contractual terms are unknown; review manually", c.CustomerID))
		}
	}
	return out
}

// view is the facts prepared for matching.
type view struct {
	f         domain.Facts
	customers []domain.CustomerTerms
	elements  map[domain.Element]bool
	encrypted map[domain.Element]bool
	affected  []domain.JurisdictionCount // sorted by jurisdiction
	total     int64
}

func newView(in domain.Input) view {
	f := in.Facts
	v := view{f: f, customers: in.Customers, elements: map[domain.Element]bool{}, encrypted: map[domain.Element]bool{}}
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
		gated    = map[string]bool{}
		defs     = map[string]defResult{}
	)
	definition := func(id string) defResult {
		res, seen := defs[id]
		if !seen {
			res = evalDefinition(p.defs[id], v)
			defs[id] = res
			findings = append(findings, fmt.Sprintf("%s %s: %s", p.ID, id, res.explain()))
			if f := unverifiedElements(p.defs[id], res, v); f != "" {
				findings = append(findings, p.ID+" "+id+": "+f)
			}
		}
		return res
	}
	e := evaluator{p: p, v: v, deadlines: map[string]held{}}
	for i := range p.Rules {
		r := &p.Rules[i]
		if !r.inForce(v.f.DiscoveredAt) {
			continue
		}
		matched := r.Scope.match(v.affected)
		if len(matched) == 0 && !r.Scope.Always && !r.Scope.PerCustomer {
			continue
		}
		gate, why := evalAll(r.when, v.f, nil)
		if r.Scope.PerCustomer {
			gate, why = evalAll(slices.DeleteFunc(slices.Clone(r.when), func(c condition) bool { return c.key == condEmployeeNotification }), v.f, nil)
		}
		if gate == truthFalse {
			msg := fmt.Sprintf("%s: not applied: %s", p.ID, strings.Join(why, "; "))
			if !gated[msg] {
				gated[msg] = true
				findings = append(findings, msg)
			}
			continue
		}
		var res defResult
		if r.Requires != "" {
			res = definition(r.Requires)
		}
		if r.Scope.PerCustomer {
			for ci := range v.customers {
				if ob, ok := e.customerObligation(r, &v.customers[ci], res, why); ok {
					obs = append(obs, ob)
				}
			}
			continue
		}
		groups := [][]domain.JurisdictionCount{matched}
		if r.Scope.PerJurisdiction {
			groups = groups[:0]
			for _, m := range matched {
				groups = append(groups, []domain.JurisdictionCount{m})
			}
		}
		for _, g := range groups {
			obs = append(obs, e.obligation(r, g, res, why, nil))
		}
	}
	linkConsumerReportingAgencies(obs)
	return obs, findings
}

// unverifiedElements flags involved elements a definition may cover
// without the source confirming it, when the definition is otherwise not met.
func unverifiedElements(d *Definition, res defResult, v view) string {
	if res.pi || len(d.UnverifiedElements) == 0 {
		return ""
	}
	var hit []string
	for _, e := range d.UnverifiedElements {
		if v.elements[e] {
			hit = append(hit, string(e))
		}
	}
	if len(hit) == 0 {
		return ""
	}
	return "may cover " + strings.Join(hit, ", ") + " (unverified in the source); review manually whether notice is due"
}

// linkConsumerReportingAgencies notes on each individual notice that the
// same pack's consumer-reporting-agency notice fires too.
func linkConsumerReportingAgencies(obs []domain.Obligation) {
	for _, cra := range obs {
		if cra.Audience != domain.AudienceConsumerReportingAgencies || !cra.Notify {
			continue
		}
		for i := range obs {
			o := &obs[i]
			if o.Audience == domain.AudienceIndividuals && o.Notify && o.RulePack == cra.RulePack && o.Jurisdiction == cra.Jurisdiction {
				o.ChannelConstraints = append(o.ChannelConstraints, "also notify the nationwide consumer reporting agencies ("+cra.ObligationID+"): "+cra.Reason)
			}
		}
	}
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

// evaluator builds one pack's obligations.
type evaluator struct {
	p *Pack
	v view
	// deadlines of rules by id, after holds, for rule:<id> references.
	deadlines map[string]held
}

// obligation builds the obligation of r for group: notify=true when every
// test passes, else notify=false with the first failing test as reason.
func (e *evaluator) obligation(r *Rule, group []domain.JurisdictionCount, res defResult, unknown []string, cust *domain.CustomerTerms) domain.Obligation {
	p, v := e.p, e.v
	var count int64
	codes := make([]string, len(group))
	for i, g := range group {
		count += g.Count
		codes[i] = g.Jurisdiction
	}
	id := p.ID + "." + r.Obligation
	jurisdiction := firstSet(r.Jurisdiction, p.Jurisdiction)
	label := firstSet(r.Scope.Label, "affected residents of "+strings.Join(codes, ", "))
	switch {
	case r.Scope.PerJurisdiction:
		id += "." + strings.ToLower(codes[0])
		jurisdiction = codes[0]
		label = firstSet(r.Scope.Label, "affected residents") + " of " + codes[0]
	case cust != nil:
		id += "." + cust.CustomerID
	}
	ob := domain.Obligation{
		ObligationID:    id,
		RulePack:        p.ID,
		RulePackVersion: p.Version,
		RuleID:          r.ID,
		Title:           r.Title,
		Jurisdiction:    jurisdiction,
		Audience:        r.Audience,
		DeadlineText:    r.Deadline.Text,
		Citation:        r.Citation,
		AffectedCount:   count,
		Recipient:       r.Recipient,
		Unverified:      r.Verified != nil && !*r.Verified,
	}
	if cust != nil {
		ob.Recipient = cust.NotificationEmail
		if cust.DisplayName != "" {
			ob.Recipient = cust.DisplayName + " <" + cust.NotificationEmail + ">"
		}
	}
	notRequired := func(why string) domain.Obligation {
		ob.Reason = "not required: " + why
		return ob
	}

	var reasons []string
	switch {
	case r.WhenException != "":
		if !res.pi || !slices.ContainsFunc(res.exceptions, func(x string) bool { return strings.HasPrefix(x, r.WhenException+":") }) {
			return notRequired(fmt.Sprintf("only when the %s exception is relied on; %s: %s", r.WhenException, r.Requires, res.explain()))
		}
		reasons = append(reasons, fmt.Sprintf("the %s exception is relied on, which requires this notice", r.WhenException))
	case r.Requires != "" && !res.notifiable:
		return notRequired(fmt.Sprintf("%s: %s", r.Requires, res.explain()))
	}
	if t, why := evalAll(r.appliesIf, v.f, cust); t == truthFalse {
		return notRequired(strings.Join(why, "; "))
	}
	for _, t := range r.Thresholds {
		n, what := count, label
		if t.Count == "all_affected" {
			n, what = v.total, "affected individuals in total"
		}
		if !t.met(n) {
			return notRequired(fmt.Sprintf("%s %s, threshold %s %s not met", num(n), what, opSymbol(t.Op), num(t.Value)))
		}
		reasons = append(reasons, fmt.Sprintf("%s %s %s %s", num(n), what, opSymbol(t.Op), num(t.Value)))
	}
	ob.Notify = true
	switch {
	case len(r.Thresholds) > 0:
	case cust != nil:
		reasons = append(reasons, "customer "+cust.CustomerID+" is involved in the incident")
	case r.Scope.Always && len(group) == 0:
		reasons = append(reasons, "applies to every incident assessed as a possible data breach")
	case r.Scope.Always:
		reasons = append(reasons, fmt.Sprintf("applies to every incident assessed as a possible data breach; %s affected individuals", num(count)))
	default:
		reasons = append(reasons, fmt.Sprintf("%s %s", num(count), label))
	}
	if r.Requires != "" && r.WhenException == "" {
		reasons = append(reasons, fmt.Sprintf("%s met by %s", r.Requires, strings.Join(res.exposedBasis, ", ")))
	}
	if r.Condition != "" {
		reasons = append(reasons, "applies if "+r.Condition)
	}
	reasons = append(reasons, unknown...)
	if r.Review != "" {
		ob.ManualReview = true
		reasons = append(reasons, "manual review: "+r.Review)
	}
	if ob.Unverified {
		reasons = append(reasons, "rests on an unverified fact (see the rule pack notes)")
	}
	if r.Recipient != "" && cust == nil {
		reasons = append([]string{"notify " + r.Recipient}, reasons...)
	}
	ob.Reason = strings.Join(reasons, "; ")
	ob.RequiredContent = slices.Clone(r.Content)
	if sn := r.SubstituteNotice; sn != nil {
		ob.ChannelConstraints = append(ob.ChannelConstraints, substituteConstraint(sn, count, v.f.NoticeCostUSD))
	}
	h := e.deadline(r, jurisdiction, cust)
	ob.Deadline, ob.DeadlineBasis, ob.Paused, ob.PausedSince, ob.HoldIDs = h.at, h.basis, h.paused, h.pausedSince, h.holdIDs
	if h.note != "" {
		ob.DeadlineText += "; " + h.note
	}
	return ob
}

// customerObligation is r for one customer. An unknown customer gets a
// manual-review obligation from rules without customer conditions.
func (e *evaluator) customerObligation(r *Rule, c *domain.CustomerTerms, res defResult, unknown []string) (domain.Obligation, bool) {
	if !c.Found {
		if slices.ContainsFunc(r.when, func(x condition) bool { return x.key == condEmployeeNotification }) {
			return domain.Obligation{}, false
		}
		ob := domain.Obligation{
			ObligationID: e.p.ID + "." + r.Obligation + "." + c.CustomerID, RulePack: e.p.ID, RulePackVersion: e.p.Version,
			RuleID: r.ID, Title: r.Title, Jurisdiction: firstSet(r.Jurisdiction, e.p.Jurisdiction), Audience: r.Audience,
			Citation: r.Citation, Notify: true, ManualReview: true,
			Recipient:    "unknown customer " + c.CustomerID,
			Reason:       "manual review: customer " + c.CustomerID + " is not in the registry, so its Notification Email Address and notification period are unknown; register the customer or correct the incident's customer_ids",
			DeadlineText: r.Deadline.Text, DeadlineBasis: "unknown: the contract's notification period is not known",
		}
		return ob, true
	}
	if t, _ := evalAll(r.when, e.v.f, c); t == truthFalse {
		return domain.Obligation{}, false
	}
	return e.obligation(r, nil, res, unknown, c), true
}

// substituteConstraint says whether the statute's substitute notice is
// permitted by the estimated cost or the number of people.
func substituteConstraint(sn *Substitute, count, cost int64) string {
	var why []string
	if sn.CostOverUSD > 0 && cost > sn.CostOverUSD {
		why = append(why, fmt.Sprintf("estimated notice cost $%s > $%s", num(cost), num(sn.CostOverUSD)))
	}
	if sn.PersonsOver > 0 && count > sn.PersonsOver {
		why = append(why, fmt.Sprintf("%s persons to notify > %s", num(count), num(sn.PersonsOver)))
	}
	suffix := " (" + sn.Text + ")"
	if sn.Unverified {
		suffix = " (" + sn.Text + "; thresholds unverified)"
	}
	if len(why) > 0 {
		return "substitute notice permitted: " + strings.Join(why, "; ") + suffix
	}
	var limits []string
	if sn.CostOverUSD > 0 {
		c := "cost over $" + num(sn.CostOverUSD)
		if cost == 0 {
			c += " (no cost estimate given)"
		}
		limits = append(limits, c)
	}
	if sn.PersonsOver > 0 {
		limits = append(limits, "more than "+num(sn.PersonsOver)+" persons")
	}
	return "substitute notice not permitted by cost or count: it needs " + strings.Join(limits, " or ") + suffix
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
