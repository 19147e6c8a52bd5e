package domain

import (
	"bytes"
	_ "embed" // the seed team file
	"fmt"

	"go.yaml.in/yaml/v3"
)

//go:embed team/team.yaml
var seedTeamFile []byte

// SeedTeam is the team intake stores when its database is new
// (team/team.yaml: the procedure's Breach Notification Team). Each member
// is validated as PutTeamMember would.
func SeedTeam() ([]TeamMember, error) {
	var f struct {
		Members []struct {
			ID       string   `yaml:"id"`
			Name     string   `yaml:"name"`
			Roles    []string `yaml:"roles"`
			DeputyOf string   `yaml:"deputy_of"`
			Email    string   `yaml:"email"`
			Phone    string   `yaml:"phone"`
			Subject  string   `yaml:"subject"`
		} `yaml:"members"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(seedTeamFile))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("seed team: %w", err)
	}
	out := make([]TeamMember, 0, len(f.Members))
	for _, m := range f.Members {
		tm := TeamMember{ID: m.ID, Name: m.Name, DeputyOf: m.DeputyOf, Email: m.Email, Phone: m.Phone, Subject: m.Subject, Version: 1}
		for _, code := range m.Roles {
			r, ok := ParseRole(code)
			if !ok {
				return nil, fmt.Errorf("seed team: member %s: unknown role %q", m.ID, code)
			}
			tm.Roles = append(tm.Roles, r)
		}
		if err := ValidateMember(MemberPut{Member: tm}); err != nil {
			return nil, fmt.Errorf("seed team: member %s: %w", m.ID, err)
		}
		out = append(out, tm)
	}
	return out, nil
}
