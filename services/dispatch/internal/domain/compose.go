package domain

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The composed channels produce files instead of talking to a receiver:
//
//	LETTER            one print-ready PDF per recipient chunk (≤ 1,000 letters), one letter per recipient
//	REGULATOR_PACKET  one ZIP per authority: the notice, a sample individual notice, counts by jurisdiction, dates, contact
//	WEBSITE           one HTML notice page per campaign version, with the substitute-notice determination
//	MEDIA_RELEASE     e-mailed to each outlet like EMAIL, plus the release itself as a text file per version
//
// A unit of a composed channel is done in one step: render its recipients,
// store the artefacts (insert-only, first wins), then one checkpoint that
// covers the chunk. A worker killed half-way redoes the step; the artefact
// it had stored is kept, so the record of what was produced never changes.

// Letter is one printed notice.
type Letter struct {
	Name, Address string
	Subject, Body string
	Jurisdiction  string
}

// Printer lays letters out as one print-ready PDF.
type Printer interface {
	Print(org OrgData, letters []Letter) ([]byte, error)
}

// WithPrinter sets how letters are printed.
func (s *Service) WithPrinter(p Printer) *Service { s.printer = p; return s }

// composed reports whether a channel's units are produced as files.
func composed(ch Channel) bool {
	return ch == ChannelLetter || ch == ChannelRegulatorPacket || ch == ChannelWebsite
}

// LettersName is the artefact name of a chunk's letter batch.
func LettersName(version int64, chunkPos int) string {
	return fmt.Sprintf("v%d-letters-%03d.pdf", version, chunkPos)
}

// PacketName is the artefact name of one authority's submission packet.
func PacketName(version int64, r Recipient) string {
	return fmt.Sprintf("v%d-packet-%s.zip", version, r.Key)
}

// NoticePageName is the artefact name of the website notice page.
func NoticePageName(version int64) string { return fmt.Sprintf("v%d-notice.html", version) }

// MediaReleaseName is the artefact name of the media release.
func MediaReleaseName(version int64) string { return fmt.Sprintf("v%d-media-release.txt", version) }

// composeUnit produces the artefacts of one unit of a composed channel and
// records the outcome as one checkpoint.
func (e *Engine) composeUnit(ctx context.Context, ref unitRef, t *Template, rs []Recipient, covered map[int]bool, seq int, tally Tally) error {
	c := ref.campaign
	s := e.svc
	ck := Checkpoint{Unit: ref.unit, Seq: seq + 1, Time: time.Now().UTC()}
	var letters []Letter
	facts := (*packetFacts)(nil)
	for i, r := range rs {
		if covered[i] {
			continue
		}
		subj, body, err := t.Render(s.renderData(c, r))
		if err != nil {
			return err
		}
		switch c.Channel {
		case ChannelLetter:
			// A campaign switched to letters after e-mail recipients were
			// added prints to their postal addresses.
			addr := r.Address
			if r.PostalAddress != "" {
				addr = r.PostalAddress
			}
			if strings.TrimSpace(addr) == "" || isEmail(addr) {
				ck.Failed = append(ck.Failed, Failure{Index: i, Reason: "no postal address", Attempts: 1})
				continue
			}
			letters = append(letters, Letter{Name: r.Name, Address: addr, Subject: subj, Body: body, Jurisdiction: r.Jurisdiction})
		case ChannelRegulatorPacket:
			if facts == nil {
				f, err := s.packetFactsFor(ctx, c)
				if err != nil {
					return err
				}
				facts = &f
			}
			zipped, err := s.packet(c, *facts, r, subj, body)
			if err != nil {
				return err
			}
			if _, err := s.putArtifact(ctx, c, PacketName(c.SentVersion, r), KindRegulatorPacket, "application/zip",
				"submission packet for "+r.Name, 1, zipped); err != nil {
				return err
			}
		}
		ck.Sent = append(ck.Sent, i)
	}
	if len(letters) > 0 {
		if s.printer == nil {
			return fmt.Errorf("no letter printer configured")
		}
		pos := slices.Index(c.RecipientChunks, ref.chunk) + 1
		pdf, err := s.printer.Print(s.org, letters)
		if err != nil {
			return fmt.Errorf("print letters: %w", err)
		}
		if _, err := s.putArtifact(ctx, c, LettersName(c.SentVersion, pos), KindLetters, "application/pdf",
			fmt.Sprintf("%d letters, batch %d of the campaign", len(letters), pos), int64(len(letters)), pdf); err != nil {
			return err
		}
	}
	if len(ck.Sent)+len(ck.Failed) > 0 {
		won, err := s.store.InsertCheckpoint(ctx, ck)
		if err != nil {
			return err
		}
		if !won {
			return errLostLease
		}
		tally.Sent += int64(len(ck.Sent))
		tally.Failed += int64(len(ck.Failed))
	}
	if err := s.store.InsertDone(ctx, ref.unit, tally); err != nil {
		return err
	}
	e.mu.Lock()
	e.done[ref.unit] = true
	e.mu.Unlock()
	return nil
}

// composeCampaign produces the per-version artefact of a website or media
// campaign before it completes (once: the artefact id is the fence).
func (s *Service) composeCampaign(ctx context.Context, c Campaign) error {
	if c.Channel != ChannelWebsite && c.Channel != ChannelMediaRelease {
		return nil
	}
	t, ok := s.templates.Resolve(c.TemplateID, c.Obligation.Audience, c.Obligation.Jurisdiction)
	if !ok {
		return fmt.Errorf("no template for campaign %s", c.ID)
	}
	facts, err := s.packetFactsFor(ctx, c)
	if err != nil {
		return err
	}
	if c.Channel == ChannelWebsite {
		det := s.substitute.Decide(c.Obligation.Jurisdiction, facts.affectedIn(c.Obligation.Jurisdiction, c.Obligation.AffectedCount))
		subj, body, err := t.Render(s.renderData(c, Recipient{Name: PublicAddressee}))
		if err != nil {
			return err
		}
		posted := s.now().UTC().Truncate(time.Millisecond)
		page, err := noticePage(s.org, subj, body, posted, det)
		if err != nil {
			return err
		}
		a, err := s.putArtifact(ctx, c, NoticePageName(c.SentVersion), KindWebsiteNotice, "text/html; charset=utf-8", det.Summary, 0, page)
		if err != nil {
			return err
		}
		if sum := sha256.Sum256(page); hex.EncodeToString(sum[:]) != a.SHA256 {
			// A previous pass (or replica) posted it first: publish that
			// page, with its posting time, not this rendering.
			if _, page, err = s.store.GetArtifact(ctx, c.ID, a.Name); err != nil {
				return err
			}
		}
		if s.website != nil {
			if err := s.website.Publish(ctx, c, a, page); err != nil {
				return fmt.Errorf("publish notice page: %w", err)
			}
		}
		return s.note(ctx, c.IncidentID, fmt.Sprintf("dispatch.%s.v%d.posted", c.ID, c.SentVersion), "dispatch.website.posted",
			fmt.Sprintf("Campaign %s version %d notice posted on the website at %s (sha256 %s). %s", c.ID, c.SentVersion, a.CreateTime.Format(time.RFC3339), a.SHA256[:12], det.Summary))
	}
	subj, body, err := t.Render(s.renderData(c, Recipient{Name: "News Desk"}))
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "FOR IMMEDIATE RELEASE\n%s\n\n%s\n\n%s\n", s.now().UTC().Format("January 2, 2006"), subj, strings.TrimSpace(body))
	if states := facts.jurisdictions(); len(states) > 0 {
		fmt.Fprintf(&b, "\nAffected jurisdictions: %s\n", strings.Join(states, ", "))
	}
	fmt.Fprintf(&b, "\nMedia contact: %s, %s, %s\n", s.org.Name, s.org.Phone, s.org.Email)
	if outlets, err := s.recipientNames(ctx, c); err != nil {
		return err
	} else if len(outlets) > 0 {
		fmt.Fprintf(&b, "\nDistribution: %s\n", strings.Join(outlets, "; "))
	}
	_, err = s.putArtifact(ctx, c, MediaReleaseName(c.SentVersion), KindMediaRelease, "text/plain; charset=utf-8",
		"media release for "+c.Obligation.Jurisdiction, c.RecipientCount, []byte(b.String()))
	return err
}

// PublicAddressee is the salutation of notices addressed to the public.
const PublicAddressee = "Customers, Associates and Others Affected"

func (s *Service) recipientNames(ctx context.Context, c Campaign) ([]string, error) {
	var out []string
	for _, ch := range c.RecipientChunks {
		rs, err := s.store.GetChunk(ctx, ch)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			out = append(out, r.Name)
		}
	}
	return out, nil
}

// WebsitePublisher puts the notice page where the public website serves
// it (e.g. a directory the web server reads).
type WebsitePublisher interface {
	Publish(ctx context.Context, c Campaign, a Artifact, page []byte) error
}

// WithWebsite sets where notice pages are published (besides the
// artefact store); nil keeps them in the store only.
func (s *Service) WithWebsite(p WebsitePublisher) *Service { s.website = p; return s }

// packetFacts are the incident facts a regulator packet states.
type packetFacts struct {
	// Affected counts individuals by jurisdiction (from the incident's
	// individuals obligations).
	Affected map[string]int64
	// Notified counts individuals sent a direct notice, by jurisdiction.
	Notified map[string]int64
	// Holds describes the incident's law-enforcement holds.
	Holds []string
	// Individuals is the incident's individuals campaign per jurisdiction.
	Individuals map[string]Campaign
}

func (f packetFacts) jurisdictions() []string {
	out := make([]string, 0, len(f.Affected))
	for j := range f.Affected {
		out = append(out, j)
	}
	sort.Strings(out)
	return out
}

func (f packetFacts) affectedIn(j string, fallback int64) int64 {
	if n, ok := f.Affected[j]; ok {
		return n
	}
	return fallback
}

func (s *Service) packetFactsFor(ctx context.Context, c Campaign) (packetFacts, error) {
	cs, err := s.store.List(ctx, ListQuery{IncidentID: c.IncidentID, Limit: MaxObligations})
	if err != nil {
		return packetFacts{}, err
	}
	f := packetFacts{Affected: map[string]int64{}, Notified: map[string]int64{}, Individuals: map[string]Campaign{}}
	for _, o := range cs {
		if o.Obligation.Audience != AudienceIndividuals {
			continue
		}
		j := o.Obligation.Jurisdiction
		f.Affected[j] = max(f.Affected[j], o.Obligation.AffectedCount)
		if _, ok := f.Individuals[j]; !ok {
			f.Individuals[j] = o
		}
		if o.SentVersion > 0 && (o.Channel == ChannelEmail || o.Channel == ChannelLetter || o.Channel == ChannelWebhook) {
			p, err := s.Progress(ctx, o.ID)
			if err != nil {
				return packetFacts{}, err
			}
			f.Notified[j] += p.Sent
		}
	}
	hs, err := s.store.ListHolds(ctx, c.IncidentID)
	if err != nil {
		return packetFacts{}, err
	}
	for _, h := range hs {
		state := "active"
		if !h.Active() {
			state = "released " + h.ReleaseTime.Format(time.RFC3339)
		}
		f.Holds = append(f.Holds, fmt.Sprintf("requested by %s, placed %s, %s", h.RequestedBy, h.PlaceTime.Format(time.RFC3339), state))
	}
	return f, nil
}

// packetSummary is summary.json in a regulator packet.
type packetSummary struct {
	Authority      string           `json:"authority"`
	CampaignID     string           `json:"campaign_id"`
	IncidentID     string           `json:"incident_id"`
	Version        int64            `json:"version"`
	ContentHash    string           `json:"content_hash"`
	Jurisdiction   string           `json:"jurisdiction"`
	Citation       string           `json:"citation"`
	RulePack       string           `json:"rule_pack"`
	Deadline       string           `json:"deadline,omitempty"`
	DeadlineText   string           `json:"deadline_text,omitempty"`
	AffectedTotal  int64            `json:"affected_total"`
	ByJurisdiction map[string]int64 `json:"affected_by_jurisdiction"`
	// Notified counts, per jurisdiction, the individuals already sent a
	// notice directly (by e-mail, letter or webhook) when the packet was
	// made, as e.g. Texas's form asks.
	Notified map[string]int64 `json:"individuals_notified_by_jurisdiction"`
	// LawEnforcement lists the law-enforcement holds on the incident: who
	// asked and whether the hold is still active.
	LawEnforcement []string          `json:"law_enforcement_holds"`
	Dates          map[string]string `json:"dates"`
	Approvals      []string          `json:"approvals"`
	Contact        OrgData           `json:"contact"`
}

// packet zips one authority's submission: the notice addressed to it, a
// sample of the individuals' notice, and summary.json.
func (s *Service) packet(c Campaign, f packetFacts, r Recipient, subj, body string) ([]byte, error) {
	sum := packetSummary{
		Authority: r.Name, CampaignID: c.ID, IncidentID: c.IncidentID, Version: c.SentVersion, ContentHash: c.ContentHash,
		Jurisdiction: c.Obligation.Jurisdiction, Citation: c.Obligation.Citation,
		RulePack: c.Obligation.RulePack + "@" + c.Obligation.RulePackVersion, DeadlineText: c.Obligation.DeadlineText,
		ByJurisdiction: f.Affected, Notified: f.Notified, LawEnforcement: append([]string{}, f.Holds...), Contact: s.org,
		Dates: map[string]string{"campaign_drafted": c.CreateTime.Format(time.RFC3339), "packet_created": s.now().UTC().Format(time.RFC3339)},
	}
	if len(sum.ByJurisdiction) == 0 {
		sum.ByJurisdiction = map[string]int64{c.Obligation.Jurisdiction: c.Obligation.AffectedCount}
	}
	for _, n := range sum.ByJurisdiction {
		sum.AffectedTotal += n
	}
	if !c.Obligation.Deadline.IsZero() {
		sum.Deadline = c.Obligation.Deadline.Format(time.RFC3339)
	}
	for _, a := range c.Approvals {
		sum.Approvals = append(sum.Approvals, fmt.Sprintf("%s (%s) %s", a.Approver, a.Role, a.Time.Format(time.RFC3339)))
	}
	sample := "No individuals notice applies in this jurisdiction.\n"
	ind, ok := f.Individuals[c.Obligation.Jurisdiction]
	if !ok {
		ind = c
		ind.Obligation.Audience = AudienceIndividuals
		ind.TemplateID = ""
	}
	if t, ok := s.templates.Resolve(ind.TemplateID, AudienceIndividuals, c.Obligation.Jurisdiction); ok {
		ss, sb, err := t.Render(s.renderData(ind, Recipient{Name: "Jane Sample", Jurisdiction: c.Obligation.Jurisdiction}))
		if err != nil {
			return nil, err
		}
		sample = "Subject: " + ss + "\n\n" + sb
		sum.Dates["individuals_notice_version"] = fmt.Sprint(ind.Version)
	}
	js, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct{ name, text string }{
		{"notice.txt", "Subject: " + subj + "\n\n" + body},
		{"sample-individual-notice.txt", sample},
		{"summary.json", string(js) + "\n"},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: c.CreateTime})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(f.text)); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// SubstituteRules are the substitute-notice thresholds
// (data/substitute_notice.yaml).
type SubstituteRules struct {
	Version       string                         `yaml:"version"`
	LetterCostUSD float64                        `yaml:"letter_cost_usd"`
	Default       SubstituteThreshold            `yaml:"default"`
	Jurisdictions map[string]SubstituteThreshold `yaml:"jurisdictions"`
}

// SubstituteThreshold is one jurisdiction's pair; a zero field does not
// apply.
type SubstituteThreshold struct {
	CostUSD float64 `yaml:"cost_usd"`
	Persons int64   `yaml:"persons"`
	Source  string  `yaml:"source"`
}

// LoadSubstituteRules parses the embedded thresholds.
func LoadSubstituteRules() (SubstituteRules, error) {
	b, err := dataFS.ReadFile("data/substitute_notice.yaml")
	if err != nil {
		return SubstituteRules{}, err
	}
	var r SubstituteRules
	if err := yaml.Unmarshal(b, &r); err != nil {
		return SubstituteRules{}, fmt.Errorf("substitute notice thresholds: %w", err)
	}
	return r, nil
}

// WithSubstituteDefaults overrides the default thresholds and the cost of
// one letter (zero keeps the data file's value).
func (s *Service) WithSubstituteDefaults(costUSD float64, persons int64, letterCostUSD float64) *Service {
	if costUSD > 0 {
		s.substitute.Default.CostUSD = costUSD
		s.substitute.Default.Source = "configured default (SUBSTITUTE_COST_USD/SUBSTITUTE_PERSONS), not a statute"
	}
	if persons > 0 {
		s.substitute.Default.Persons = persons
		s.substitute.Default.Source = "configured default (SUBSTITUTE_COST_USD/SUBSTITUTE_PERSONS), not a statute"
	}
	if letterCostUSD > 0 {
		s.substitute.LetterCostUSD = letterCostUSD
	}
	return s
}

// SubstituteDecision says whether substitute notice is allowed and why.
type SubstituteDecision struct {
	Applies bool
	Summary string
}

// Decide applies jurisdiction j's thresholds to affected people.
func (r SubstituteRules) Decide(j string, affected int64) SubstituteDecision {
	th, ok := r.Jurisdictions[strings.ToUpper(j)]
	if !ok {
		th = r.Default
	}
	cost := float64(affected) * r.LetterCostUSD
	var why []string
	if th.CostUSD > 0 && cost > th.CostUSD {
		why = append(why, fmt.Sprintf("written notice would cost about $%.0f, over $%.0f", cost, th.CostUSD))
	}
	if th.Persons > 0 && affected > th.Persons {
		why = append(why, fmt.Sprintf("%d people to notify, over %d", affected, th.Persons))
	}
	d := SubstituteDecision{Applies: len(why) > 0}
	if d.Applies {
		d.Summary = fmt.Sprintf("Substitute notice applies in %s: %s (%s; thresholds %s).", j, strings.Join(why, "; "), th.Source, r.Version)
	} else {
		d.Summary = fmt.Sprintf("Substitute notice does not apply in %s: %d people, about $%.0f of written notice, within $%.0f / %d (%s; thresholds %s); this posting supplements individual notice.",
			j, affected, cost, th.CostUSD, th.Persons, th.Source, r.Version)
	}
	return d
}

var noticePageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body>
<main>
<h1>{{.Subject}}</h1>
<p><small>Posted {{.Posted}} by {{.Org.Name}}.</small></p>
{{range .Paragraphs}}<p>{{.}}</p>
{{end}}{{if .Substitute.Applies}}<p><strong>This is a substitute notice.</strong> {{.Substitute.Summary}}</p>
{{end}}<p>Questions: call {{.Org.Phone}} or write to <a href="mailto:{{.Org.Email}}">{{.Org.Email}}</a>.</p>
</main>
</body>
</html>
`))

// noticePage renders the website notice (html/template escapes the text).
func noticePage(org OrgData, subject, body string, posted time.Time, det SubstituteDecision) ([]byte, error) {
	var paras []string
	for p := range strings.SplitSeq(strings.TrimSpace(body), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			paras = append(paras, p)
		}
	}
	var b bytes.Buffer
	err := noticePageTmpl.Execute(&b, map[string]any{
		"Subject": subject, "Posted": posted.Format(time.RFC1123), "Org": org, "Paragraphs": paras, "Substitute": det,
	})
	return b.Bytes(), err
}
