package rules

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/services/classification/internal/domain"
)

// embedded holds the shipped packs; the binary carries its rules, so a
// deployment's decisions depend only on its version.
//
//go:embed packs/*.yaml
var embedded embed.FS

// Library is every version of every rule pack, validated.
type Library struct {
	// versions by pack id, oldest effective date first.
	versions map[string][]*Pack
	ids      []string
}

// Origins of a pack version.
const (
	OriginEmbedded  = "embedded"
	OriginDirectory = "directory"
)

// Embedded loads the packs shipped in the binary.
func Embedded() (*Library, error) {
	packs, err := embeddedPacks()
	if err != nil {
		return nil, err
	}
	return NewLibrary(packs...)
}

func embeddedPacks() ([]*Pack, error) {
	sub, err := fs.Sub(embedded, "packs")
	if err != nil {
		return nil, fmt.Errorf("embedded packs: %w", err)
	}
	return parseAll(sub, OriginEmbedded)
}

// WithDirectory loads the embedded packs overridden and extended by the
// packs in fsys (RULE_PACKS_DIR): a pack there with the id and version of an
// embedded one replaces it, any other is added. Every problem is reported
// and nothing is loaded if there is one.
func WithDirectory(fsys fs.FS) (*Library, error) {
	base, err := embeddedPacks()
	if err != nil {
		return nil, err
	}
	extra, err := parseAll(fsys, OriginDirectory)
	if err != nil {
		return nil, err
	}
	packs := slices.DeleteFunc(base, func(p *Pack) bool {
		return slices.ContainsFunc(extra, func(q *Pack) bool { return q.ID == p.ID && q.Version == p.Version })
	})
	return NewLibrary(append(packs, extra...)...)
}

// Load reads and validates every *.yaml file at the root of fsys. All
// problems in all files are reported together.
func Load(fsys fs.FS) (*Library, error) {
	packs, err := parseAll(fsys, OriginDirectory)
	if err != nil {
		return nil, err
	}
	return NewLibrary(packs...)
}

func parseAll(fsys fs.FS, origin string) ([]*Pack, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list packs: %w", err)
	}
	var (
		packs []*Pack
		errs  []error
	)
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", name, err))
			continue
		}
		p, err := ParsePack(path.Base(name), data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.origin = origin
		packs = append(packs, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return packs, nil
}

// NewLibrary checks the packs against each other: versions and effective
// dates unique per pack id, and exactly one pack id (in all its versions)
// naming the baseline personal-information definition.
func NewLibrary(packs ...*Pack) (*Library, error) {
	l := &Library{versions: map[string][]*Pack{}}
	cals, err := loadCalendars()
	if err != nil {
		return nil, fmt.Errorf("calendars: %w", err)
	}
	var errs []error
	for _, p := range packs {
		for i := range p.Rules {
			r := &p.Rules[i]
			if name := r.Deadline.Calendar; name != "" {
				if r.calendar = cals[name]; r.calendar == nil {
					errs = append(errs, fmt.Errorf("pack %s: rule %s: unknown calendar %q", p.ID, r.ID, name))
				}
			}
		}
		for _, q := range l.versions[p.ID] {
			if q.Version == p.Version {
				errs = append(errs, fmt.Errorf("pack %s: version %s appears twice", p.ID, p.Version))
			}
			if q.effective.Equal(p.effective) {
				errs = append(errs, fmt.Errorf("pack %s: versions %s and %s share effective_date %s", p.ID, q.Version, p.Version, p.EffectiveDate))
			}
		}
		l.versions[p.ID] = append(l.versions[p.ID], p)
	}
	var baselines []string
	for id, vs := range l.versions {
		slices.SortFunc(vs, func(a, b *Pack) int { return a.effective.Compare(b.effective) })
		l.ids = append(l.ids, id)
		n := 0
		for _, p := range vs {
			if p.BaselineDefinition != "" {
				n++
			}
		}
		switch {
		case n == len(vs):
			baselines = append(baselines, id)
		case n > 0:
			errs = append(errs, fmt.Errorf("pack %s: every version or none must set baseline_definition", id))
		}
	}
	slices.Sort(l.ids)
	slices.Sort(baselines)
	if len(baselines) != 1 {
		errs = append(errs, fmt.Errorf("exactly one pack must set baseline_definition, found %d (%s)", len(baselines), strings.Join(baselines, ", ")))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return l, nil
}

// Current returns, for each pack id, the newest version effective at now,
// ordered by pack id. A pack whose first version is not yet effective is
// left out.
func (l *Library) Current(now time.Time) []*Pack {
	var out []*Pack
	for _, id := range l.ids {
		var cur *Pack
		for _, p := range l.versions[id] {
			if !p.effective.After(now) {
				cur = p
			}
		}
		if cur != nil {
			out = append(out, cur)
		}
	}
	return out
}

// Exact returns the packs named by refs (as stored on an assessment), so a
// decision can be reproduced with the versions it used. A version that is
// not loaded is an error wrapping apperr.ErrFailedPrecondition.
func (l *Library) Exact(refs []domain.RulePackRef) ([]*Pack, error) {
	out := make([]*Pack, 0, len(refs))
	for _, ref := range refs {
		i := slices.IndexFunc(l.versions[ref.Pack], func(p *Pack) bool { return p.Version == ref.Version })
		if i < 0 {
			return nil, fmt.Errorf("rule pack %s version %s is not loaded (neither embedded in this build nor in RULE_PACKS_DIR): %w",
				ref.Pack, ref.Version, apperr.ErrFailedPrecondition)
		}
		out = append(out, l.versions[ref.Pack][i])
	}
	slices.SortFunc(out, func(a, b *Pack) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// All returns every version of every pack, by id then effective date.
func (l *Library) All() []*Pack {
	var out []*Pack
	for _, id := range l.ids {
		out = append(out, l.versions[id]...)
	}
	return out
}

// Get returns pack id at version, or the version in force at now when
// version is empty; nil when there is none.
func (l *Library) Get(id, version string, now time.Time) *Pack {
	if version == "" {
		var cur *Pack
		for _, p := range l.versions[id] {
			if !p.effective.After(now) {
				cur = p
			}
		}
		return cur
	}
	i := slices.IndexFunc(l.versions[id], func(p *Pack) bool { return p.Version == version })
	if i < 0 {
		return nil
	}
	return l.versions[id][i]
}

// Engine is the domain.Engine over the active Library, which a reload may
// swap at any time; each decision uses one library throughout.
type Engine struct {
	lib atomic.Pointer[Library]
}

var _ domain.Engine = (*Engine)(nil)

// NewEngine returns an Engine over lib.
func NewEngine(lib *Library) *Engine {
	e := &Engine{}
	e.lib.Store(lib)
	return e
}

// Library returns the active library.
func (e *Engine) Library() *Library { return e.lib.Load() }

// Swap makes lib the active library.
func (e *Engine) Swap(lib *Library) { e.lib.Store(lib) }

// Assess decides on in with the pack versions in force at now.
func (e *Engine) Assess(in domain.Input, now time.Time) (domain.Decision, error) {
	packs := e.Library().Current(now)
	if len(packs) == 0 {
		return domain.Decision{}, errors.New("no rule pack is in force")
	}
	return Evaluate(in, packs), nil
}

// Reproduce decides on in again with exactly the pack versions in refs.
func (e *Engine) Reproduce(in domain.Input, refs []domain.RulePackRef) (domain.Decision, error) {
	packs, err := e.Library().Exact(refs)
	if err != nil {
		return domain.Decision{}, err
	}
	return Evaluate(in, packs), nil
}
