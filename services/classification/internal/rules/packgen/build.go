package packgen

import (
	"fmt"
	"slices"
	"strings"
)

// columns quoted in every pack's notes, in CSV order.
var quoted = []string{
	"pi_elements_beyond_core", "trigger_access_or_acquisition", "risk_of_harm_exception",
	"encryption_safe_harbor", "safe_harbor_lost_if_key_compromised", "individual_notice_deadline",
	"individual_deadline_clock_starts", "regulator_notice_required", "regulator_name",
	"regulator_threshold_residents", "regulator_deadline", "cra_notice_threshold",
	"substitute_notice_cost_threshold_usd", "substitute_notice_persons_threshold",
	"content_and_remediation_requirements", "other_notes", "confidence",
}

// coverage records the coverage limits of reference section 5.1.
var coverage = map[string]string{
	"GA": "Coverage: applies only to information brokers and government data collectors (O.C.G.A. 10-1-911/912); check that we are one before notifying under this pack.",
	"WY": "Coverage: private sector only.",
	"NM": "Coverage: the state and its political subdivisions are exempt.",
	"MN": "Coverage: does not apply to GLBA financial institutions.",
	"WI": "Coverage: HIPAA- or GLBA-compliant entities are deemed compliant.",
	"OR": "Coverage: GLBA-compliant entities are deemed compliant, except for employee data.",
	"OK": "Coverage: from 2026-01-01, HIPAA/GLBA-compliant entities are deemed compliant if the AG is notified.",
}

// exceptionFiling is a notice an exception needs (reference section 5.6).
type exceptionFiling struct {
	recipient, citation, within, text string
}

var exceptionFilings = map[string]exceptionFiling{
	"AK": {"the Alaska Attorney General (written no-harm notification)", "Alaska Stat. § 45.48.010(c)", "", "before relying on the no-harm exception: investigate and notify the Attorney General in writing; keep the determination 5 years"},
	"FL": {"the Florida Department of Legal Affairs (written no-harm determination)", "Fla. Stat. § 501.171(4)(c)", "30d", "provide the written determination to the Department of Legal Affairs within 30 days after the determination; keep it 5 years"},
	"VT": {"the Vermont Attorney General or Department of Financial Regulation (no-misuse determination)", "9 V.S.A. § 2435(d)", "", "the determination that misuse is not reasonably possible must be provided to the AG or DFR"},
	"SD": {"the South Dakota Attorney General (no-harm notice)", "S.D. Codified Laws § 22-40-20", "", "the no-harm exception is available only after investigation and notice to the Attorney General; keep the documentation at least 3 years"},
}

var core = []string{"ssn", "drivers_license", "financial_account", "payment_card"}

// elementsOf maps one listed item to data elements.
func elementsOf(item string) []string {
	l := strings.ToLower(item)
	var out []string
	add := func(e string) {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	if strings.Contains(l, "medical") || strings.Contains(l, "health information") || strings.Contains(l, "health records") ||
		strings.Contains(l, "mental health") || strings.Contains(l, "diagnosis") || strings.Contains(l, "hipaa-protected") {
		add("medical")
	}
	if strings.Contains(l, "health insurance") {
		add("health_insurance")
	}
	if strings.Contains(l, "biometric") || strings.Contains(l, "dna") || strings.Contains(l, "fingerprint") {
		add("biometric")
	}
	if strings.Contains(l, "passport") {
		add("passport")
	}
	if reTIN.MatchString(l) || strings.Contains(l, "taxpayer") || strings.Contains(l, "tax information") || strings.Contains(l, "identity protection pin") {
		add("tax_id")
	}
	for _, k := range []string{"military", "gov", "state id", "tribal id", "federal id", "student", "official id", "voter id", "dc id", "guam id", "id card"} {
		if strings.Contains(l, k) {
			add("government_id")
			break
		}
	}
	if strings.Contains(l, "driver authorization") {
		add("drivers_license")
	}
	if strings.Contains(l, "date of birth") {
		add("date_of_birth")
	}
	if (strings.Contains(l, "password") || strings.Contains(l, "pin")) && !strings.Contains(l, "username") && !strings.Contains(l, "email") && !strings.Contains(l, "only if") {
		add("financial_access_code")
		if !strings.Contains(l, "financial") {
			add("password")
		}
	}
	return out
}

// definition reads pi_elements_beyond_core.
func (g *gen) definition() (withName, alone []string, allOf [][]string, unverified []string) {
	withName = slices.Clone(core)
	addTo := func(list *[]string, es ...string) {
		for _, e := range es {
			if !slices.Contains(*list, e) {
				*list = append(*list, e)
			}
		}
	}
	cell := g.r["pi_elements_beyond_core"]
	if strings.HasPrefix(strings.ToLower(cell), "none") {
		return withName, nil, nil, nil
	}
	var notModelled []string
	for _, item := range strings.Split(cell, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		l := strings.ToLower(item)
		es := elementsOf(item)
		credentials := (strings.Contains(l, "username") || strings.Contains(l, "email +")) && !strings.Contains(l, "only if")
		switch {
		case strings.Contains(item, "?"):
			addTo(&unverified, es...)
			g.note("Unverified element (\"?\" in the reference), not assumed either way: " + item)
			continue
		case secondary(item):
			g.verified = false
			g.note("From a secondary source only, counted as likely: " + item)
		}
		switch {
		case credentials && strings.Contains(l, "standalone"):
			addTo(&alone, "online_credentials")
			allOf = [][]string{{"email_address", "password"}}
		case credentials:
			addTo(&withName, "online_credentials")
		case strings.Contains(l, "any element without name"):
			addTo(&alone, core...)
			g.note("Elements count without a name when sufficient for identity theft: the core elements are counted alone (conservative).")
		case strings.Contains(l, "ssn alone"):
			addTo(&alone, "ssn")
		}
		addTo(&withName, es...)
		if len(es) == 0 && !credentials && !strings.Contains(l, "any element") && !strings.Contains(l, "ssn alone") {
			notModelled = append(notModelled, item)
		}
	}
	if len(notModelled) > 0 {
		g.note("Listed but not a separate data element here (account and card numbers already count without their access code, the conservative reading; the rest has no element yet, so review when involved): " + strings.Join(notModelled, "; "))
	}
	return withName, alone, allOf, unverified
}

func (g *gen) yaml() []byte {
	r := g.r
	withName, alone, allOf, unverifiedEls := g.definition()
	var exceptions []string
	exceptions = append(exceptions, "public_records")
	risk, enc, key := r["risk_of_harm_exception"], r["encryption_safe_harbor"], r["safe_harbor_lost_if_key_compromised"]
	switch {
	case yes(enc):
		exceptions = append(exceptions, "encryption")
	default:
		g.verified = false
		g.note("Encryption safe harbour not confirmed (" + enc + "): encrypted data counts as exposed.")
	}
	if yes(enc) && unknown(key) {
		g.verified = false
		g.note("Whether a compromised key removes the encryption safe harbour is unverified (\"?\"); the engine treats a compromised key as removing it (conservative).")
	}
	if yes(risk) {
		exceptions = append(exceptions, "retrieved_before_misuse")
		g.note("Risk-of-harm exception (" + risk + "): retrieval before misuse is honoured as showing misuse is not reasonably likely; the statute's own test (investigation, documentation, any filing) still has to be met.")
	} else {
		if unknown(risk) {
			g.verified = false
		}
		g.note("No risk-of-harm exception is honoured (" + risk + "): retrieval before misuse does not remove the duty.")
	}
	exceptions = append(exceptions, "properly_disposed")
	g.note("Interpretations common to the generated packs: publicly available government records are excluded (public_records) and records destroyed before anyone retrieved them were never acquired (properly_disposed); verify against the statute's definitions.")
	if c, ok := coverage[g.code]; ok {
		g.note(c)
	}
	if !strings.HasPrefix(strings.ToLower(r["confidence"]), "high") {
		g.verified = false
	}

	rules := g.rules()

	for _, col := range quoted {
		if v := r[col]; v != "" {
			if strings.Contains(v, "?") || strings.Contains(strings.ToLower(v), "secondary") {
				g.verified = false
			}
		}
	}

	b := &g.b
	b.Reset()
	fmt.Fprintf(b, "# Generated by internal/rules/packgen from rules/reference/breach_laws.csv (row %s).\n", g.code)
	b.WriteString("# Change the CSV row (or packgen's tables) and run UPDATE_PACKS=1 go test ./internal/rules/packgen;\n")
	b.WriteString("# TestGeneratedPacksUpToDate fails when this file drifts from its source.\n")
	g.line(0, "id: us-%s", strings.ToLower(g.code))
	g.line(0, "version: %s", q(Version))
	g.line(0, "title: %s", q(g.state+": "+r["statute_citation"]))
	g.line(0, "jurisdiction: %s", g.label)
	g.line(0, "effective_date: %s", q(EffectiveDate))
	g.line(0, "source_date: %s", q(r["source_date"]))
	g.line(0, "sources:")
	for _, u := range strings.Split(r["source_url"], "|") {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		if !strings.HasPrefix(u, "http") {
			u = "https://" + u
		}
		g.line(1, "- url: %s", q(u))
	}
	g.line(0, "verified: %v", g.verified)
	g.line(0, "notes:")
	if !g.verified {
		g.line(1, "- %s", q("Not verified: at least one value is \"?\" or from a secondary source in the reference dataset, or the row's confidence is not high; see the quoted cells below."))
	}
	for _, n := range g.notes {
		g.line(1, "- %s", q(n))
	}
	for _, col := range quoted {
		if v := r[col]; v != "" {
			g.line(1, "- %s", q("reference "+col+": "+v))
		}
	}
	g.line(0, "definitions:")
	g.line(1, "- id: personal-information")
	g.line(2, "description: %s", q("Personal information under "+r["statute_citation"]+": a name with a core element (SSN, driver's licence or state ID, account or card number) or a listed extra."))
	g.line(2, "citation: %s", q(r["statute_citation"]))
	g.line(2, "with_name: [%s]", strings.Join(withName, ", "))
	if len(alone) > 0 {
		g.line(2, "alone: [%s]", strings.Join(alone, ", "))
	}
	if len(allOf) > 0 {
		g.line(2, "all_of:")
		for _, c := range allOf {
			g.line(3, "- [%s]", strings.Join(c, ", "))
		}
	}
	g.line(2, "exceptions: [%s]", strings.Join(exceptions, ", "))
	if len(unverifiedEls) > 0 {
		g.line(2, "unverified_elements: [%s]", strings.Join(unverifiedEls, ", "))
	}
	g.line(0, "rules:")
	for _, ru := range rules {
		g.writeRule(ru)
	}
	return []byte(b.String())
}

// rule is a generated rule before it is written.
type rule struct {
	id, title, audience, recipient, citation, effectiveFrom string
	verified                                                bool
	notes                                                   []string
	requires, whenException, review                         string
	threshold                                               threshold
	thresholdText                                           string
	from, within, deadlineText                              string
	content                                                 []string
	costOver, personsOver                                   int64
	substituteText                                          string
	substituteUnverified                                    bool
}

func (g *gen) rules() []rule {
	r := g.r
	citation := r["statute_citation"]
	clock := r["individual_deadline_clock_starts"]
	from := "discovered_at"
	if l := strings.ToLower(clock); strings.Contains(l, "determin") || strings.Contains(l, "confirmation") || strings.Contains(l, "after investigation") {
		from = "determined_at"
	}
	var out []rule

	// Individuals.
	ind := rule{id: "individuals", title: "Notify affected " + g.state + " residents", audience: "individuals", citation: citation,
		verified: true, requires: "personal-information", from: from}
	dl := r["individual_notice_deadline"]
	if m := reDays.FindStringSubmatch(dl); m != nil {
		ind.within = m[1] + "d"
		if strings.Contains(m[2], "business") {
			ind.within = m[1] + "bd"
		}
	}
	ind.deadlineText = dl + " (clock: " + clock + ")"
	if ind.within == "" {
		ind.deadlineText += "; no fixed statutory period, so the obligation has no deadline"
	}
	if unknown(dl) || secondary(dl) || secondary(clock) {
		ind.verified = false
		ind.notes = append(ind.notes, "deadline or clock start from a secondary or unverified source")
	}
	var regContent []string
	if c := r["content_and_remediation_requirements"]; c != "" && !strings.HasPrefix(strings.ToLower(c), "no specific") {
		target := &ind.content
		for _, part := range strings.Split(c, ";") {
			part = strings.TrimSpace(part)
			l := strings.ToLower(part)
			for _, p := range []string{"ag notice:", "dla notice:"} {
				if strings.HasPrefix(l, p) {
					target, part = &regContent, strings.TrimSpace(part[len(p):])
				}
			}
			if strings.HasPrefix(l, "individual notice:") {
				target, part = &ind.content, strings.TrimSpace(part[len("individual notice:"):])
			}
			if part != "" {
				*target = append(*target, part)
			}
		}
	}
	cost, persons := r["substitute_notice_cost_threshold_usd"], r["substitute_notice_persons_threshold"]
	if tc, tp := parseThreshold(cost), parseThreshold(persons); (tc.ok && tc.op == ">") || (tp.ok && tp.op == ">") {
		if tc.ok && tc.op == ">" {
			ind.costOver = tc.value
		}
		if tp.ok && tp.op == ">" {
			ind.personsOver = tp.value
		}
		ind.substituteText = "cost: " + cost + "; persons: " + persons
		ind.substituteUnverified = secondary(cost) || secondary(persons)
	}
	out = append(out, ind)

	// Regulator.
	if req := r["regulator_notice_required"]; yes(req) {
		reg := rule{id: "regulator", title: "Notify the " + g.state + " regulator", audience: "regulator",
			recipient: r["regulator_name"] + " (" + g.state + ")", citation: citation, verified: true, requires: "personal-information",
			content: regContent}
		if m := reISODate.FindStringSubmatch(req); m != nil {
			reg.effectiveFrom = m[1]
		}
		th := r["regulator_threshold_residents"]
		switch t := parseThreshold(th); {
		case unknown(th):
			reg.review = "the regulator threshold is unverified (\"?\"): " + th
		case t.ok:
			reg.threshold, reg.thresholdText = t, th
			if secondary(th) || strings.Contains(strings.ToLower(th), "says") {
				reg.verified = false
				reg.notes = append(reg.notes, "threshold: "+th)
			}
		}
		g.regulatorDeadline(&reg, from, ind.within != "")
		out = append(out, reg)
	}

	// Consumer reporting agencies.
	switch cra := r["cra_notice_threshold"]; {
	case absent(cra):
	case unknown(cra):
		out = append(out, rule{id: "consumer-reporting-agencies", title: "Notify the nationwide consumer reporting agencies", audience: "consumer_reporting_agencies",
			recipient: "each nationwide consumer reporting agency", citation: citation, requires: "personal-information", verified: false,
			notes: []string{"threshold unverified"}, review: "the consumer reporting agency threshold is unverified (\"?\"); decide whether notice is due",
			deadlineText: "unverified (\"?\" in the reference); no fixed period"})
	default:
		c := rule{id: "consumer-reporting-agencies", title: "Notify the nationwide consumer reporting agencies", audience: "consumer_reporting_agencies",
			recipient: "each nationwide consumer reporting agency", citation: citation, requires: "personal-information", verified: true,
			deadlineText: cra + "; no fixed period unless stated"}
		t := parseThreshold(cra)
		switch {
		case t.ok:
			c.threshold, c.thresholdText = t, cra
		case strings.HasPrefix(strings.ToLower(cra), "all"):
		default:
			c.review = "the consumer reporting agency rule could not be read as a threshold: " + cra
		}
		if secondary(cra) || strings.Contains(cra, "csrps") {
			c.verified = false
			c.notes = append(c.notes, "threshold: "+cra)
		}
		if m := reDays.FindStringSubmatch(cra); m != nil {
			c.from, c.within = from, m[1]+"d"
		}
		out = append(out, c)
	}

	// Exception filings.
	if f, ok := exceptionFilings[g.code]; ok && yes(r["risk_of_harm_exception"]) {
		out = append(out, rule{id: "no-harm-filing", title: "File the no-harm determination", audience: "regulator", recipient: f.recipient,
			citation: f.citation, requires: "personal-information", whenException: "retrieved_before_misuse", verified: false,
			notes: []string{"citation from memory; the duty itself is in the reference (section 5.6)"},
			from:  "determined_at", within: f.within, deadlineText: f.text})
	}
	return out
}

// regulatorDeadline reads regulator_deadline.
func (g *gen) regulatorDeadline(reg *rule, from string, individualsFixed bool) {
	rd := g.r["regulator_deadline"]
	l := strings.ToLower(rd)
	reg.deadlineText = rd
	m := reDays.FindStringSubmatch(l)
	after := reAfterNotify.FindStringSubmatch(l)
	switch {
	case unknown(rd):
		reg.verified = false
		reg.notes = append(reg.notes, "timing unverified")
		reg.deadlineText = "timing not verified (\"?\" in the reference): " + rd
	case strings.Contains(l, "days after determin"):
		reg.from, reg.within = "determined_at", m[1]+"d"
	case strings.Contains(l, "no later than when") || strings.Contains(l, "not later than time") || strings.Contains(l, "concurrent") ||
		strings.Contains(l, "simultaneous") || strings.Contains(l, "no later than notice"):
		reg.from, reg.within = "rule:individuals", "0"
	case after != nil:
		reg.from, reg.within = "rule:individuals", after[1]+"d"
		if after[2] != "" {
			reg.within = after[1] + "bd"
		}
	case strings.Contains(l, "before") || strings.Contains(l, "prior to"):
		reg.from, reg.within = "rule:individuals", "0"
		reg.deadlineText += "; computed as the individual-notice deadline, the latest possible time: notify the regulator first"
	case m != nil && (strings.Contains(l, "discovery") || strings.Contains(l, "detected")):
		reg.from, reg.within = "discovered_at", m[1]+"d"
		if strings.Contains(m[2], "business") {
			reg.within = m[1] + "bd"
		}
	case m != nil:
		reg.from, reg.within = from, m[1]+"d"
	}
	if reg.from == "rule:individuals" && !individualsFixed {
		reg.deadlineText += "; the individual notice has no fixed period, so neither has this"
	}
	if secondary(rd) || strings.Contains(rd, "(csrps)") || strings.Contains(rd, "wordsbywit") {
		reg.verified = false
		reg.notes = append(reg.notes, "deadline: "+rd)
	}
}

func (g *gen) writeRule(ru rule) {
	g.line(1, "- id: %s", ru.id)
	g.line(2, "title: %s", q(ru.title))
	g.line(2, "audience: %s", ru.audience)
	if ru.recipient != "" {
		g.line(2, "recipient: %s", q(ru.recipient))
	}
	g.line(2, "citation: %s", q(ru.citation))
	if ru.effectiveFrom != "" {
		g.line(2, "effective_from: %s", q(ru.effectiveFrom))
	}
	if !ru.verified {
		g.line(2, "verified: false")
		g.line(2, "notes: [%s]", q("unverified: "+strings.Join(ru.notes, "; ")))
	}
	g.line(2, "scope:")
	g.line(3, "jurisdictions: %s", g.scope())
	g.line(3, "label: %s", q(g.state+" residents"))
	g.line(2, "requires: %s", ru.requires)
	if ru.whenException != "" {
		g.line(2, "when_exception: %s", ru.whenException)
	}
	if ru.review != "" {
		g.line(2, "review: %s", q(ru.review))
	}
	if ru.threshold.ok {
		g.line(2, "thresholds:")
		g.line(3, "- op: %s", q(ru.threshold.op))
		g.line(4, "value: %d", ru.threshold.value)
		g.line(4, "text: %s", q(ru.thresholdText))
	}
	if len(ru.content) > 0 {
		g.line(2, "content:")
		for _, c := range ru.content {
			g.line(3, "- %s", q(c))
		}
	}
	if ru.substituteText != "" {
		g.line(2, "substitute_notice:")
		if ru.costOver > 0 {
			g.line(3, "cost_over_usd: %d", ru.costOver)
		}
		if ru.personsOver > 0 {
			g.line(3, "persons_over: %d", ru.personsOver)
		}
		g.line(3, "text: %s", q(ru.substituteText))
		if ru.substituteUnverified {
			g.line(3, "unverified: true")
		}
	}
	g.line(2, "deadline:")
	if ru.from != "" && ru.from != "discovered_at" {
		g.line(3, "from: %s", ru.from)
	}
	if ru.within != "" {
		g.line(3, "within: %s", q(ru.within))
	}
	g.line(3, "text: %s", q(ru.deadlineText))
}
