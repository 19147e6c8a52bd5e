package domain

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"
)

//go:embed data/templates/*.yaml data/policy.yaml data/contacts.yaml data/substitute_notice.yaml
var dataFS embed.FS

// Template is one version of a notice for an audience and jurisdiction. The
// texts are Go text/template sources; headings, required phrases and the
// content the response team must supply are data, so a lawyer can change a
// state's wording without touching Go code.
type Template struct {
	Audience        string            `yaml:"audience"`
	Jurisdiction    string            `yaml:"jurisdiction"`
	Version         int64             `yaml:"version"`
	Headings        map[string]string `yaml:"headings"`
	ContentKeys     []string          `yaml:"content_keys"`
	RequiredPhrases []string          `yaml:"required_phrases"`
	Subject         string            `yaml:"subject"`
	Body            string            `yaml:"body"`

	subject, body *template.Template
}

// ID is "<audience>.<jurisdiction>.v<version>" with "*" spelled "default".
func (t *Template) ID() string {
	return fmt.Sprintf("%s.%s.v%d", star(t.Audience), star(t.Jurisdiction), t.Version)
}

func star(s string) string {
	if s == "*" {
		return "default"
	}
	return s
}

// Templates is the loaded template catalogue.
type Templates struct {
	all  []*Template
	byID map[string]*Template
}

// LoadTemplates parses the embedded templates and checks that each renders
// a sample notice containing its required phrases.
func LoadTemplates() (*Templates, error) {
	files, err := fs.Glob(dataFS, "data/templates/*.yaml")
	if err != nil {
		return nil, err
	}
	ts := &Templates{byID: map[string]*Template{}}
	for _, f := range files {
		b, err := dataFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var t Template
		if err := yaml.Unmarshal(b, &t); err != nil {
			return nil, fmt.Errorf("template %s: %w", f, err)
		}
		opt := template.New("").Option("missingkey=zero")
		if t.subject, err = opt.New("subject").Parse(t.Subject); err != nil {
			return nil, fmt.Errorf("template %s subject: %w", f, err)
		}
		if t.body, err = opt.New("body").Parse(t.Body); err != nil {
			return nil, fmt.Errorf("template %s body: %w", f, err)
		}
		if _, dup := ts.byID[t.ID()]; dup {
			return nil, fmt.Errorf("template %s: duplicate id %s", f, t.ID())
		}
		sample := RenderData{Recipient: RecipientData{Name: "Sample"}, Content: map[string]string{}}
		_, body, err := t.Render(sample)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", f, err)
		}
		if miss := t.MissingPhrases(body); len(miss) > 0 {
			return nil, fmt.Errorf("template %s lacks required content %q", f, miss)
		}
		ts.byID[t.ID()] = &t
		ts.all = append(ts.all, &t)
	}
	sort.Slice(ts.all, func(i, j int) bool { return ts.all[i].ID() < ts.all[j].ID() })
	return ts, nil
}

// All returns every template in id order.
func (ts *Templates) All() []*Template { return ts.all }

// Get returns a template by id.
func (ts *Templates) Get(id string) (*Template, bool) {
	t, ok := ts.byID[id]
	return t, ok
}

// Resolve returns the template a campaign uses: the named one, or the newest
// for (audience, jurisdiction), falling back to the audience's default
// jurisdiction and then to the catch-all.
func (ts *Templates) Resolve(id string, a Audience, jurisdiction string) (*Template, bool) {
	if id != "" {
		return ts.Get(id)
	}
	for _, key := range [][2]string{{a.String(), jurisdiction}, {a.String(), "*"}, {"*", "*"}} {
		var best *Template
		for _, t := range ts.all {
			if strings.EqualFold(t.Audience, key[0]) && strings.EqualFold(t.Jurisdiction, key[1]) && (best == nil || t.Version > best.Version) {
				best = t
			}
		}
		if best != nil {
			return best, true
		}
	}
	return nil, false
}

// OrgData is the sender organisation shown in notices.
type OrgData struct {
	Name, Phone, Email, Website string
}

// RecipientData is the recipient shown in a notice.
type RecipientData struct {
	Name, Jurisdiction string
}

// ObligationData is the obligation shown in a notice.
type ObligationData struct {
	Jurisdiction, Audience, Citation, DeadlineText string
}

// RenderData is everything a template may use.
type RenderData struct {
	Org        OrgData
	Recipient  RecipientData
	Obligation ObligationData
	Content    map[string]string
	Headings   map[string]string
}

// Render executes the template for one recipient.
func (t *Template) Render(d RenderData) (subject, body string, err error) {
	d.Headings = t.Headings
	var sb, bb bytes.Buffer
	if err := t.subject.Execute(&sb, d); err != nil {
		return "", "", fmt.Errorf("render subject: %w", err)
	}
	if err := t.body.Execute(&bb, d); err != nil {
		return "", "", fmt.Errorf("render body: %w", err)
	}
	return strings.TrimSpace(sb.String()), bb.String(), nil
}

// MissingPhrases lists the required phrases body lacks.
func (t *Template) MissingPhrases(body string) []string {
	var miss []string
	for _, p := range t.RequiredPhrases {
		if !strings.Contains(body, p) {
			miss = append(miss, p)
		}
	}
	return miss
}

// MissingContent lists the content keys the template needs that content
// leaves empty.
func (t *Template) MissingContent(content map[string]string) []string {
	var miss []string
	for _, k := range t.ContentKeys {
		if strings.TrimSpace(content[k]) == "" {
			miss = append(miss, k)
		}
	}
	return miss
}

// ContentHash is the SHA-256 of everything that decides what a version
// sends: template text, content, channel and the recipient list.
func ContentHash(t *Template, c Campaign) string {
	keys := make([]string, 0, len(c.Content))
	for k := range c.Content {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	enc := json.NewEncoder(h)
	_ = enc.Encode([]any{t.ID(), t.Subject, t.Body, t.Headings, c.Channel.String(), c.Obligation})
	for _, k := range keys {
		_ = enc.Encode([2]string{k, c.Content[k]})
	}
	_ = enc.Encode([]any{c.RecipientChunks, c.RecipientCount})
	return hex.EncodeToString(h.Sum(nil))
}

// Policy is the approval policy (data/policy.yaml).
type Policy struct {
	Version   string            `yaml:"version"`
	Default   Quorum            `yaml:"default"`
	Audiences map[string]Quorum `yaml:"audiences"`
}

// Quorum is the roles one version needs: every role in AllOf and at least
// one in AnyOf, each from a different approver.
type Quorum struct {
	AllOf []string `yaml:"all_of"`
	AnyOf []string `yaml:"any_of"`
}

// LoadPolicy parses the embedded approval policy.
func LoadPolicy() (Policy, error) {
	b, err := dataFS.ReadFile("data/policy.yaml")
	if err != nil {
		return Policy{}, err
	}
	var p Policy
	if err := yaml.Unmarshal(b, &p); err != nil {
		return Policy{}, fmt.Errorf("approval policy: %w", err)
	}
	return p, nil
}

// QuorumFor returns the quorum for an audience.
func (p Policy) QuorumFor(a Audience) Quorum {
	if q, ok := p.Audiences[a.String()]; ok {
		return q
	}
	return p.Default
}

// Missing lists the roles still needed given approvals of the current
// version (each approver counted once, in the first role they claimed).
func (q Quorum) Missing(approvals []Approval) []string {
	roles := map[string]bool{}
	seen := map[string]bool{}
	for _, a := range approvals {
		if seen[a.Approver] {
			continue
		}
		seen[a.Approver] = true
		roles[a.Role] = true
	}
	var miss []string
	for _, r := range q.AllOf {
		if !roles[r] {
			miss = append(miss, r)
		}
	}
	if len(q.AnyOf) > 0 {
		ok := false
		for _, r := range q.AnyOf {
			ok = ok || roles[r]
		}
		if !ok {
			miss = append(miss, "one of "+strings.Join(q.AnyOf, "|"))
		}
	}
	return miss
}
