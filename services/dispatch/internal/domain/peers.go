package domain

import (
	"context"
	"fmt"
	"net/mail"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/breachline/breachline/pkg/apperr"
)

// Individuals lists an incident's affected individuals (intake's
// AffectedIndividualsService), a page at a time.
type Individuals interface {
	ListIndividuals(ctx context.Context, incidentID, jurisdiction, pageToken string) (page []Recipient, firstID, next string, err error)
}

// Timeline appends entries to an incident's timeline (intake's
// AppendTimelineEntry); requestID makes a retry record nothing more.
type Timeline interface {
	AppendTimelineEntry(ctx context.Context, incidentID, requestID, action, summary string) error
}

// Contact is an addressee from data/contacts.yaml.
type Contact struct {
	Name    string `yaml:"name"`
	Address string `yaml:"address"`
}

// Contacts are the organisation's contacts and authority addresses.
type Contacts struct {
	Contacts    map[string][]Contact            `yaml:"contacts"`
	Authorities map[string]map[string][]Contact `yaml:"authorities"`
}

// LoadContacts parses the embedded contacts.
func LoadContacts() (Contacts, error) {
	b, err := dataFS.ReadFile("data/contacts.yaml")
	if err != nil {
		return Contacts{}, err
	}
	var c Contacts
	if err := yaml.Unmarshal(b, &c); err != nil {
		return Contacts{}, fmt.Errorf("contacts: %w", err)
	}
	return c, nil
}

// For returns the contacts of an audience in a jurisdiction.
func (c Contacts) For(a Audience, jurisdiction string) []Contact {
	if cs, ok := c.Contacts[a.String()]; ok {
		return cs
	}
	byJ := c.Authorities[a.String()]
	if cs, ok := byJ[jurisdiction]; ok {
		return cs
	}
	return byJ["*"]
}

// WithPeers sets the peers dispatch reads recipients from and reports to.
func (s *Service) WithPeers(ind Individuals, tl Timeline) *Service {
	s.individuals, s.timeline = ind, tl
	return s
}

// ResolveRecipients adds the recipients the campaign's audience implies and
// reports how many were new and where they came from. Each page or list is
// added under a request id derived from its content, so a repeat is a
// no-op.
func (s *Service) ResolveRecipients(ctx context.Context, id, actor string) (int, string, Campaign, error) {
	c, err := s.campaign(ctx, id)
	if err != nil {
		return 0, "", Campaign{}, err
	}
	switch c.Obligation.Audience {
	case AudienceIndividuals:
		if s.individuals == nil {
			return 0, "", Campaign{}, fmt.Errorf("intake is not configured: %w", apperr.ErrUnavailable)
		}
		total, token := 0, ""
		for {
			page, first, next, err := s.individuals.ListIndividuals(ctx, c.IncidentID, c.Obligation.Jurisdiction, token)
			if err != nil {
				return total, "intake", Campaign{}, err
			}
			var rs []Recipient
			for _, r := range page {
				switch {
				case c.Channel == ChannelLetter:
					if r.PostalAddress != "" {
						r.Address = r.PostalAddress // a letter campaign reaches those with a postal address
						rs = append(rs, r)
					}
				case isEmail(r.Address):
					rs = append(rs, r) // individuals without e-mail need a letter campaign
				}
			}
			if len(rs) > 0 {
				n, got, err := s.AddRecipients(ctx, id, "intake-"+first, actor, rs)
				if err != nil {
					return total, "intake", Campaign{}, err
				}
				total, c = total+n, got
			}
			if next == "" {
				return total, "intake", c, nil
			}
			token = next
		}
	case AudienceController:
		addr := strings.TrimSpace(c.Obligation.Recipient)
		if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr {
			return 0, "", Campaign{}, fmt.Errorf("the obligation names no Notification Email Address: %w", apperr.ErrFailedPrecondition)
		}
		n, got, err := s.AddRecipients(ctx, id, "obligation-"+RecipientKey(addr), actor, []Recipient{{Name: "Notification Email Address", Address: addr}})
		return n, "obligation", got, err
	default:
		cs := s.contacts.For(c.Obligation.Audience, c.Obligation.Jurisdiction)
		if len(cs) == 0 {
			return 0, "", Campaign{}, fmt.Errorf("no contacts for audience %s in %s (data/contacts.yaml): %w", c.Obligation.Audience, c.Obligation.Jurisdiction, apperr.ErrFailedPrecondition)
		}
		rs := make([]Recipient, len(cs))
		keys := make([]string, len(cs))
		for i, ct := range cs {
			rs[i] = Recipient{Name: ct.Name, Address: ct.Address, Jurisdiction: c.Obligation.Jurisdiction}
			keys[i] = RecipientKey(ct.Address)
		}
		n, got, err := s.AddRecipients(ctx, id, "contacts-"+RecipientKey(strings.Join(keys, ",")), actor, rs)
		return n, "contacts", got, err
	}
}

func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}
