package server

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	"github.com/breachline/breachline/services/classification/internal/protoconv"
	"github.com/breachline/breachline/services/classification/internal/rules"
)

const (
	defaultPackPageSize = 50
	maxPackPageSize     = 500
)

// ListRulePacks lists every version of every pack in the active set.
func (s *Server) ListRulePacks(_ context.Context, req *classificationv1.ListRulePacksRequest) (*classificationv1.ListRulePacksResponse, error) {
	var v apperr.Violations
	if req.GetPageSize() < 0 {
		v.Add("page_size", "must not be negative")
	}
	after, err := decodePackToken(req.GetPageToken())
	if err != nil {
		v.Add("page_token", "is not a token this service issued")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	switch {
	case size == 0:
		size = defaultPackPageSize
	case size > maxPackPageSize:
		size = maxPackPageSize
	}
	lib := s.engine.Library()
	now := s.now()
	all := lib.All()
	start := 0
	if after != "" {
		// The token names the last pack returned; if a reload removed it,
		// continue after where it would sort.
		if i := slices.IndexFunc(all, func(p *rules.Pack) bool { return p.String() == after }); i >= 0 {
			start = i + 1
		} else if start = slices.IndexFunc(all, func(p *rules.Pack) bool { return p.String() > after }); start < 0 {
			start = len(all)
		}
	}
	page := all[start:min(start+size, len(all))]
	resp := &classificationv1.ListRulePacksResponse{}
	for _, p := range page {
		resp.RulePacks = append(resp.RulePacks, summary(p, lib, now))
	}
	if start+size < len(all) {
		resp.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1].String()))
	}
	return resp, nil
}

func decodePackToken(t string) (string, error) {
	if t == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil || !strings.Contains(string(b), "@") {
		return "", fmt.Errorf("bad page token")
	}
	return string(b), nil
}

// GetRulePack returns one pack version in structured form.
func (s *Server) GetRulePack(_ context.Context, req *classificationv1.GetRulePackRequest) (*classificationv1.GetRulePackResponse, error) {
	lib := s.engine.Library()
	now := s.now()
	p := lib.Get(req.GetPackId(), req.GetVersion(), now)
	if p == nil {
		return nil, fmt.Errorf("rule pack %q version %q: %w", req.GetPackId(), req.GetVersion(), apperr.ErrNotFound)
	}
	out := &classificationv1.RulePack{Summary: summary(p, lib, now), Notes: p.Notes}
	out.Sources = sourcesToProto(p.Sources)
	for _, d := range p.Definitions {
		pd := &classificationv1.RulePackDefinition{
			DefinitionId: d.ID, Description: d.Description, Citation: d.Citation, Exceptions: d.Exceptions,
		}
		for _, e := range d.WithName {
			pd.WithName = append(pd.WithName, protoconv.ElementToProto(e))
		}
		for _, e := range d.Alone {
			pd.Alone = append(pd.Alone, protoconv.ElementToProto(e))
		}
		for _, combo := range d.AllOf {
			parts := make([]string, len(combo))
			for i, e := range combo {
				parts[i] = string(e)
			}
			pd.AllOf = append(pd.AllOf, strings.Join(parts, " + "))
		}
		out.Definitions = append(out.Definitions, pd)
	}
	for i := range p.Rules {
		r := &p.Rules[i]
		pr := &classificationv1.RulePackRule{
			RuleId: r.ID, Obligation: r.Obligation, Title: r.Title, Audience: protoconv.AudienceToProto(r.Audience),
			Recipient: r.Recipient, Citation: r.Citation, EffectiveFrom: r.EffectiveFrom, EffectiveUntil: r.EffectiveUntil,
			Verified: r.Verified == nil || *r.Verified, Notes: r.Notes, ScopeJurisdictions: r.Scope.Jurisdictions,
			Requires: r.Requires, DeadlineFrom: r.Deadline.From, DeadlineWithin: r.Deadline.Within, DeadlineText: r.Deadline.Text,
			RequiredContent: r.Content, When: append(slices.Clone(r.When), r.AppliesIf...), ManualReview: r.Review,
			EffectiveDate: p.RuleEffectiveDate(r), Sources: sourcesToProto(p.RuleSources(r)), SourceDate: p.RuleSourceDate(r),
		}
		for _, t := range r.Thresholds {
			pr.Thresholds = append(pr.Thresholds, fmt.Sprintf("%s %d (%s)", t.Op, t.Value, t.Text))
		}
		out.Rules = append(out.Rules, pr)
	}
	return &classificationv1.GetRulePackResponse{RulePack: out}, nil
}

func sourcesToProto(srcs []rules.Source) []*classificationv1.RulePackSource {
	out := make([]*classificationv1.RulePackSource, 0, len(srcs))
	for _, src := range srcs {
		out = append(out, &classificationv1.RulePackSource{Url: src.URL, Document: src.Document, Title: src.Title})
	}
	return out
}

func summary(p *rules.Pack, lib *rules.Library, now time.Time) *classificationv1.RulePackSummary {
	cur := lib.Get(p.ID, "", now)
	return &classificationv1.RulePackSummary{
		PackId:        p.ID,
		Version:       p.Version,
		Title:         p.Title,
		Jurisdiction:  p.Jurisdiction,
		EffectiveDate: p.EffectiveDate,
		Verified:      p.Verified != nil && *p.Verified,
		SourceCount:   int32(len(p.Sources)),
		RuleCount:     int32(len(p.Rules)),
		InForce:       cur == p,
		Origin:        p.Origin(),
		SourceDate:    p.SourceDate,
	}
}
