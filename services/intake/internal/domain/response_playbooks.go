package domain

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/breachline/breachline/pkg/apperr"
)

//go:embed playbooks/*.yaml
var embeddedPlaybooks embed.FS

// Playbook is the response to one kind of incident, as data.
type Playbook struct {
	ID            string
	Version       string
	Title         string
	Description   string
	Source        string
	IncidentTypes []IncidentType
	// Form is the records form the playbook is for; unspecified: any.
	Form  RecordsForm
	Tasks []PlaybookTask
}

// PlaybookTask is one task a playbook opens.
type PlaybookTask struct {
	Key         string
	Title       string
	Description string
	Owner       TeamRole
	DueAfter    time.Duration
}

// AlertTaskKey is the task the response worker completes itself once it
// has alerted the team.
const AlertTaskKey = "alert_team"

// Playbooks is a loaded, validated set of playbooks (every version).
type Playbooks struct {
	all []Playbook // by id, then version ascending
}

type playbookFile struct {
	ID            string   `yaml:"id"`
	Version       string   `yaml:"version"`
	Title         string   `yaml:"title"`
	Description   string   `yaml:"description"`
	Source        string   `yaml:"source"`
	IncidentTypes []string `yaml:"incident_types"`
	RecordsForm   string   `yaml:"records_form"`
	Tasks         []struct {
		Key         string `yaml:"key"`
		Title       string `yaml:"title"`
		Description string `yaml:"description"`
		Owner       string `yaml:"owner"`
		DueAfter    string `yaml:"due_after"`
	} `yaml:"tasks"`
}

var (
	playbookIDPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)
	taskKeyPattern    = regexp.MustCompile(`^[a-z][a-z0-9_]{1,62}$`)
	incidentTypeCodes = []string{"unspecified", "personal_information_breach", "port_scan", "firewall_breach",
		"virus_outbreak", "ransomware", "lost_or_stolen_device", "improper_disposal", "third_party"}
)

// LoadPlaybooks reads and validates the embedded playbooks.
func LoadPlaybooks() (*Playbooks, error) {
	sub, err := fs.Sub(embeddedPlaybooks, "playbooks")
	if err != nil {
		return nil, err
	}
	return ParsePlaybooks(sub)
}

// ParsePlaybooks reads and validates every *.yaml file of fsys. Every
// incident type must have a playbook, and (id, version) must be unique.
func ParsePlaybooks(fsys fs.FS) (*Playbooks, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	var set Playbooks
	var errs []string
	for _, name := range names {
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		p, err := parsePlaybook(raw)
		if err != nil {
			errs = append(errs, path.Base(name)+": "+err.Error())
			continue
		}
		set.all = append(set.all, p)
	}
	slices.SortFunc(set.all, func(a, b Playbook) int {
		return cmpStrings(a.ID+"\x00"+a.Version, b.ID+"\x00"+b.Version)
	})
	for i := 1; i < len(set.all); i++ {
		if set.all[i].ID == set.all[i-1].ID && set.all[i].Version == set.all[i-1].Version {
			errs = append(errs, "playbook "+set.all[i].ID+" version "+set.all[i].Version+" is defined twice")
		}
	}
	for t := IncidentTypeUnspecified; t <= IncidentTypeThirdParty; t++ {
		if len(set.selectFor(t, RecordsFormUnspecified)) == 0 {
			errs = append(errs, "no playbook for incident type "+incidentTypeCodes[t])
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("playbooks: %s", strings.Join(errs, "; "))
	}
	return &set, nil
}

func cmpStrings(a, b string) int { return strings.Compare(a, b) }

func parsePlaybook(raw []byte) (Playbook, error) {
	var f playbookFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return Playbook{}, err
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if !playbookIDPattern.MatchString(f.ID) {
		bad("id %q must be lowercase letters, digits and '-'", f.ID)
	}
	if f.Version == "" || f.Title == "" {
		bad("version and title are required")
	}
	p := Playbook{ID: f.ID, Version: f.Version, Title: f.Title, Description: strings.TrimSpace(f.Description), Source: f.Source}
	for _, code := range f.IncidentTypes {
		i := slices.Index(incidentTypeCodes, code)
		if i < 0 {
			bad("unknown incident type %q", code)
			continue
		}
		p.IncidentTypes = append(p.IncidentTypes, IncidentType(i))
	}
	if len(p.IncidentTypes) == 0 {
		bad("incident_types is required")
	}
	switch f.RecordsForm {
	case "", "any":
	case "electronic":
		p.Form = RecordsFormElectronic
	case "physical":
		p.Form = RecordsFormPhysical
	default:
		bad("records_form %q must be electronic, physical or any", f.RecordsForm)
	}
	seen := map[string]bool{}
	for i, t := range f.Tasks {
		if !taskKeyPattern.MatchString(t.Key) || seen[t.Key] {
			bad("tasks[%d].key %q must be unique lowercase letters, digits and '_'", i, t.Key)
		}
		seen[t.Key] = true
		role, ok := ParseRole(t.Owner)
		if !ok {
			bad("tasks[%d].owner %q is not a team role", i, t.Owner)
		}
		due, err := time.ParseDuration(t.DueAfter)
		if err != nil || due < 0 {
			bad("tasks[%d].due_after %q must be a non-negative Go duration", i, t.DueAfter)
		}
		if t.Title == "" {
			bad("tasks[%d].title is required", i)
		}
		p.Tasks = append(p.Tasks, PlaybookTask{Key: t.Key, Title: t.Title, Description: strings.TrimSpace(t.Description), Owner: role, DueAfter: due})
	}
	if len(p.Tasks) == 0 {
		bad("tasks is required")
	}
	if len(problems) > 0 {
		return Playbook{}, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return p, nil
}

// Current returns the newest version of every playbook, by id.
func (s *Playbooks) Current() []Playbook {
	var out []Playbook
	for i, p := range s.all {
		if i+1 == len(s.all) || s.all[i+1].ID != p.ID {
			out = append(out, p)
		}
	}
	return out
}

// Get returns playbook id at version (empty: the newest).
func (s *Playbooks) Get(id, version string) (Playbook, error) {
	var found *Playbook
	for i := range s.all {
		if s.all[i].ID == id && (version == "" || s.all[i].Version == version) {
			found = &s.all[i]
		}
	}
	if found == nil {
		if !playbookIDPattern.MatchString(id) {
			return Playbook{}, apperr.Invalid("playbook_id", "must be a playbook id such as %q", "pi-breach-electronic")
		}
		return Playbook{}, fmt.Errorf("playbook %s %s: %w", id, version, apperr.ErrNotFound)
	}
	return *found, nil
}

// Select returns the playbooks in force for an incident of type t whose
// records are in form (see playbooks/README.md).
func (s *Playbooks) Select(t IncidentType, form RecordsForm) []Playbook {
	return s.selectFor(t, form)
}

func (s *Playbooks) selectFor(t IncidentType, form RecordsForm) []Playbook {
	var candidates []Playbook
	for _, p := range s.Current() {
		if slices.Contains(p.IncidentTypes, t) {
			candidates = append(candidates, p)
		}
	}
	if len(candidates) <= 1 {
		return candidates
	}
	want := func(f RecordsForm) bool {
		switch form {
		case RecordsFormBoth:
			return true
		case RecordsFormPhysical:
			return f != RecordsFormElectronic
		default:
			return f != RecordsFormPhysical
		}
	}
	var out []Playbook
	for _, p := range candidates {
		if want(p.Form) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return candidates[:1]
	}
	return out
}

// TasksFor returns the tasks an incident opens: those of its playbooks,
// merged by key in order, due from discovery.
func (s *Playbooks) TasksFor(inc Incident, now time.Time) []Task {
	discovered := discoveryOf(inc)
	var tasks []Task
	seen := map[string]bool{}
	for _, p := range s.Select(inc.Type, inc.Record.RecordsForm) {
		for _, pt := range p.Tasks {
			if seen[pt.Key] {
				continue
			}
			seen[pt.Key] = true
			tasks = append(tasks, Task{
				IncidentID:      inc.ID,
				Key:             pt.Key,
				Title:           pt.Title,
				Description:     pt.Description,
				OwnerRole:       pt.Owner,
				PlaybookID:      p.ID,
				PlaybookVersion: p.Version,
				Order:           len(tasks),
				State:           TaskStateOpen,
				DueTime:         discovered.Add(pt.DueAfter),
				CreateTime:      now,
				UpdateTime:      now,
				Version:         1,
			})
		}
	}
	return tasks
}

// discoveryOf is when the incident was discovered: the record's discovery
// time, else when intake opened it.
func discoveryOf(inc Incident) time.Time {
	switch {
	case !inc.Record.Discovery.DiscoveredAt.IsZero():
		return inc.Record.Discovery.DiscoveredAt
	case !inc.Facts.DiscoveredAt.IsZero():
		return inc.Facts.DiscoveredAt
	}
	return inc.CreateTime
}
