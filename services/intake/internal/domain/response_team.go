package domain

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongox"
)

// Page sizes of ListTeamMembers.
const (
	DefaultTeamPageSize = 100
	MaxTeamPageSize     = 500
)

var (
	memberIDPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)
	phonePattern    = regexp.MustCompile(`^\+[0-9][0-9 ().-]{6,30}$`)
	subjectPattern  = regexp.MustCompile(`^[A-Za-z0-9._@:-]{1,128}$`)
)

// MemberPut is a PutTeamMember request.
type MemberPut struct {
	Member TeamMember
	// Etag is the version the change is based on; empty: any.
	Etag string
}

// ValidateMember checks m without the store (deputy_of must also exist,
// which PutMember checks).
func ValidateMember(p MemberPut) error {
	m := p.Member
	var v apperr.Violations
	const f = "member."
	if !memberIDPattern.MatchString(m.ID) {
		v.Add(f+"member_id", "must be a lowercase letter, then 1 to 62 lowercase letters, digits or '-'")
	}
	if strings.TrimSpace(m.Name) == "" || utf8.RuneCountInString(m.Name) > 200 {
		v.Add(f+"name", "is required: 1 to 200 characters")
	}
	if len(m.Roles) == 0 {
		v.Add(f+"roles", "must name at least one role")
	}
	for i, r := range m.Roles {
		switch {
		case !r.Valid():
			v.Add(fmt.Sprintf("%sroles[%d]", f, i), "unknown team role %d", r)
		case slices.Index(m.Roles, r) < i:
			v.Add(fmt.Sprintf("%sroles[%d]", f, i), "repeats %s", r)
		}
	}
	if m.DeputyOf != "" && (!memberIDPattern.MatchString(m.DeputyOf) || m.DeputyOf == m.ID) {
		v.Add(f+"deputy_of", "must be the member id of another member")
	}
	if a, err := mail.ParseAddress(m.Email); err != nil || a.Address != m.Email || len(m.Email) > 254 {
		v.Add(f+"email", "must be an e-mail address such as name@example.org")
	}
	if m.Phone != "" && !phonePattern.MatchString(m.Phone) {
		v.Add(f+"phone", "must be an international number starting with '+', e.g. +1 555 010 0199")
	}
	if m.Subject != "" && !subjectPattern.MatchString(m.Subject) {
		v.Add(f+"subject", "must be 1 to 128 letters, digits, '.', '_', '@', ':' or '-'")
	}
	if p.Etag != "" {
		if n, err := strconv.ParseInt(p.Etag, 10, 64); err != nil || n <= 0 {
			v.Add(f+"etag", "must be an etag returned by the service")
		}
	}
	return v.Err()
}

// PutMember creates or replaces a team member.
func (r *Response) PutMember(ctx context.Context, p MemberPut) (TeamMember, error) {
	if err := ValidateMember(p); err != nil {
		return TeamMember{}, err
	}
	m := p.Member
	if m.DeputyOf != "" {
		if _, err := r.rs.GetMember(ctx, m.DeputyOf); errors.Is(err, apperr.ErrNotFound) {
			return TeamMember{}, apperr.Invalid("member.deputy_of", "names no team member")
		} else if err != nil {
			return TeamMember{}, err
		}
	}
	for range maxAppendAttempts {
		cur, err := r.rs.GetMember(ctx, m.ID)
		exists := err == nil
		if err != nil && !errors.Is(err, apperr.ErrNotFound) {
			return TeamMember{}, err
		}
		if p.Etag != "" && (!exists || strconv.FormatInt(cur.Version, 10) != p.Etag) {
			return TeamMember{}, fmt.Errorf("team member %s changed since it was read (etag %s): %w", m.ID, p.Etag, apperr.ErrConflict)
		}
		m.Version = cur.Version + 1
		m.UpdateTime = r.clock()
		err = r.rs.PutMember(ctx, m, cur.Version)
		if errors.Is(err, apperr.ErrConflict) && p.Etag == "" {
			continue
		}
		if err != nil {
			return TeamMember{}, err
		}
		return m, nil
	}
	return TeamMember{}, fmt.Errorf("team member %s: busy, try again: %w", m.ID, apperr.ErrConflict)
}

// MemberPage is one page of the team.
type MemberPage struct {
	Members       []TeamMember
	NextPageToken string
}

// ListMembers returns a page of the team, by member id.
func (r *Response) ListMembers(ctx context.Context, role TeamRole, pageSize int32, pageToken string) (MemberPage, error) {
	var v apperr.Violations
	size, err := mongox.PageSize(pageSize, DefaultTeamPageSize, MaxTeamPageSize)
	if ie, ok := apperr.AsInvalid(err); ok {
		v = append(v, ie.Violations...)
	}
	if role != RoleUnspecified && !role.Valid() {
		v.Add("role", "unknown team role %d", role)
	}
	var after string
	if pageToken != "" {
		if err := mongox.DecodePageToken(pageToken, &after); err != nil {
			ie, _ := apperr.AsInvalid(err)
			v = append(v, ie.Violations...)
		}
	}
	if err := v.Err(); err != nil {
		return MemberPage{}, err
	}
	ms, err := r.rs.ListMembers(ctx, role, after, size+1)
	if err != nil {
		return MemberPage{}, err
	}
	var page MemberPage
	if len(ms) > size {
		ms = ms[:size]
		if page.NextPageToken, err = mongox.EncodePageToken(ms[size-1].ID); err != nil {
			return MemberPage{}, err
		}
	}
	page.Members = ms
	return page, nil
}

// holdsRole reports whether m holds role, or deputises for a member who
// does.
func holdsRole(m TeamMember, role TeamRole, team []TeamMember) bool {
	if slices.Contains(m.Roles, role) {
		return true
	}
	for _, o := range team {
		if o.ID == m.DeputyOf && slices.Contains(o.Roles, role) {
			return true
		}
	}
	return false
}
