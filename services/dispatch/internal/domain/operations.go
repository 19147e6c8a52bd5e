package domain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
)

// SystemDrafter drafts campaigns created from obligations; any person may
// approve those.
const SystemDrafter = "system:classification"

// HoldIDPrefix starts every hold id.
const HoldIDPrefix = "hld"

// Limits on the editing requests.
const (
	MaxRecipients   = 1000
	MaxContentLen   = 10000
	MaxNameLen      = 200
	MaxAddressLen   = 320
	MaxHoldTextLen  = 2000
	maxEditAttempts = 5
)

var (
	requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	contentKeys = []string{"what_happened", "information_involved", "what_we_are_doing", "contact"}
	knownRoles  = []string{"legal", "executive_director", "officer", "security_coordinator", "loss_prevention", "marketing"}
)

func (s *Service) campaign(ctx context.Context, id string) (Campaign, error) {
	c, err := s.GetCampaign(ctx, id)
	if err == nil && c.Version == 0 {
		c.Version = 1 // drafted before versions existed; the store fence accepts both
	}
	return c, err
}

// View is a campaign with what the policy and holds say about it.
type View struct {
	Campaign
	MissingApprovals []string
	ActiveHolds      []string
}

// Describe adds the missing approvals and active holds to c.
func (s *Service) Describe(ctx context.Context, c Campaign) (View, error) {
	v := View{Campaign: c, MissingApprovals: s.policy.QuorumFor(c.Obligation.Audience).Missing(c.Approvals)}
	hs, err := s.store.ActiveHolds(ctx, c.IncidentID, c.ID)
	if err != nil {
		return View{}, err
	}
	for _, h := range hs {
		v.ActiveHolds = append(v.ActiveHolds, h.ID)
	}
	return v, nil
}

// Edit is an UpdateCampaign request: the fields named in Mask change.
type Edit struct {
	CampaignID string
	Mask       []string
	Channel    Channel
	TemplateID string
	Content    map[string]string
	Actor      string
}

// UpdateCampaign applies an edit to a draft (or completed) campaign, making
// a new version: approvals of the old version no longer count.
func (s *Service) UpdateCampaign(ctx context.Context, e Edit) (Campaign, error) {
	var v apperr.Violations
	if len(e.Mask) == 0 {
		v.Add("update_mask", "must name at least one of channel, template_id, content")
	}
	for _, m := range e.Mask {
		switch m {
		case "channel":
			if _, ok := channelCodes[e.Channel]; !ok {
				v.Add("campaign.channel", "must be a known channel")
			}
		case "template_id":
			if _, ok := s.templates.Get(e.TemplateID); e.TemplateID != "" && !ok {
				v.Add("campaign.template_id", "unknown template %q", e.TemplateID)
			}
		case "content":
			for k, val := range e.Content {
				if !slices.Contains(contentKeys, k) {
					v.Add("campaign.content", "unknown key %q (known: %s)", k, strings.Join(contentKeys, ", "))
				}
				checkLen(&v, "campaign.content["+k+"]", val, MaxContentLen)
			}
		default:
			v.Add("update_mask", "cannot update %q (channel, template_id, content)", m)
		}
	}
	if err := v.Err(); err != nil {
		return Campaign{}, err
	}
	return s.edit(ctx, e.CampaignID, e.Actor, func(c *Campaign) error {
		for _, m := range e.Mask {
			switch m {
			case "channel":
				c.Channel = e.Channel
			case "template_id":
				c.TemplateID = e.TemplateID
			case "content":
				c.Content = e.Content
			}
		}
		return nil
	})
}

// edit runs change on the current campaign and stores it as a new version,
// retrying on a concurrent edit.
func (s *Service) edit(ctx context.Context, id, actor string, change func(*Campaign) error) (Campaign, error) {
	for range maxEditAttempts {
		c, err := s.campaign(ctx, id)
		if err != nil {
			return Campaign{}, err
		}
		if c.State != StateDraft && c.State != StateCompleted {
			return Campaign{}, fmt.Errorf("campaign %s is %s; pause is not edit, wait until it completes: %w", id, c.State, apperr.ErrFailedPrecondition)
		}
		prev := c.Version
		if err := change(&c); err != nil {
			return Campaign{}, err
		}
		t, ok := s.templates.Resolve(c.TemplateID, c.Obligation.Audience, c.Obligation.Jurisdiction)
		if !ok {
			return Campaign{}, fmt.Errorf("no template for campaign %s: %w", id, apperr.ErrFailedPrecondition)
		}
		c.State = StateDraft
		c.Version = prev + 1
		c.ContentHash = ContentHash(t, c)
		c.DraftedBy = actor
		c.Approvals = nil
		err = s.store.UpdateCampaign(ctx, c, prev)
		if errors.Is(err, apperr.ErrConflict) {
			continue
		}
		if err != nil {
			return Campaign{}, fmt.Errorf("update campaign %s: %w", id, err)
		}
		return c, nil
	}
	return Campaign{}, fmt.Errorf("campaign %s kept changing: %w", id, apperr.ErrConflict)
}

// Rendered is one rendered notice.
type Rendered struct {
	Subject, Body string
	Version       int64
	ContentHash   string
}

// Preview renders the campaign's current version for r (a placeholder when
// r is empty).
func (s *Service) Preview(ctx context.Context, id string, r Recipient) (Rendered, error) {
	c, err := s.campaign(ctx, id)
	if err != nil {
		return Rendered{}, err
	}
	if r.Name == "" {
		r.Name = "Jane Sample"
	}
	t, ok := s.templates.Resolve(c.TemplateID, c.Obligation.Audience, c.Obligation.Jurisdiction)
	if !ok {
		return Rendered{}, fmt.Errorf("no template for campaign %s: %w", id, apperr.ErrFailedPrecondition)
	}
	subj, body, err := t.Render(s.renderData(c, r))
	if err != nil {
		return Rendered{}, err
	}
	return Rendered{Subject: subj, Body: body, Version: c.Version, ContentHash: c.ContentHash}, nil
}

func (s *Service) renderData(c Campaign, r Recipient) RenderData {
	return RenderData{
		Org:       s.org,
		Recipient: RecipientData{Name: r.Name, Jurisdiction: r.Jurisdiction},
		Obligation: ObligationData{
			Jurisdiction: c.Obligation.Jurisdiction, Audience: c.Obligation.Audience.String(),
			Citation: c.Obligation.Citation, DeadlineText: c.Obligation.DeadlineText,
		},
		Content: c.Content,
	}
}

// RecipientKey identifies an address within a campaign without storing it
// in ids or logs.
func RecipientKey(address string) string {
	h := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(address))))
	return hex.EncodeToString(h[:12])
}

// AddRecipients adds recipients to a draft, skipping addresses the campaign
// already has. Idempotent on requestID.
func (s *Service) AddRecipients(ctx context.Context, id, requestID, actor string, rs []Recipient) (int, Campaign, error) {
	var v apperr.Violations
	if !requestIDRE.MatchString(requestID) {
		v.Add("request_id", "must be 1 to 128 letters, digits or ._:-")
	}
	if len(rs) > MaxRecipients {
		v.Add("recipients", "must have at most %d recipients, has %d", MaxRecipients, len(rs))
	}
	c, err := s.campaign(ctx, id)
	if err != nil {
		return 0, Campaign{}, err
	}
	for i, r := range rs {
		p := fmt.Sprintf("recipients[%d].", i)
		checkLen(&v, p+"name", r.Name, MaxNameLen)
		checkLen(&v, p+"jurisdiction", r.Jurisdiction, MaxJurisdictionLen)
		switch {
		case r.Address == "":
			v.Add(p+"address", "is required")
		case len(r.Address) > MaxAddressLen:
			v.Add(p+"address", "must be at most %d bytes", MaxAddressLen)
		case c.Channel == ChannelEmail:
			if a, err := mail.ParseAddress(r.Address); err != nil || a.Address != r.Address {
				v.Add(p+"address", "must be a bare e-mail address")
			}
		case c.Channel == ChannelWebhook && !strings.HasPrefix(r.Address, "https://") && !strings.HasPrefix(r.Address, "http://"):
			v.Add(p+"address", "must be an http(s) URL")
		}
	}
	if err := v.Err(); err != nil {
		return 0, Campaign{}, err
	}
	chunkID := id + "#" + requestID
	if slices.Contains(c.RecipientChunks, chunkID) {
		return 0, c, nil
	}
	if c.State != StateDraft {
		return 0, Campaign{}, fmt.Errorf("campaign %s is %s; recipients are added to drafts: %w", id, c.State, apperr.ErrFailedPrecondition)
	}
	keys := make([]string, 0, len(rs))
	uniq := make([]Recipient, 0, len(rs))
	seen := map[string]bool{}
	for _, r := range rs {
		r.Key = RecipientKey(r.Address)
		if seen[r.Key] {
			continue
		}
		seen[r.Key] = true
		keys = append(keys, r.Key)
		uniq = append(uniq, r)
	}
	owned, err := s.store.ClaimRecipientKeys(ctx, id, chunkID, keys)
	if err != nil {
		return 0, Campaign{}, err
	}
	mine := uniq[:0]
	for i, r := range uniq {
		if owned[i] {
			mine = append(mine, r)
		}
	}
	if len(mine) == 0 {
		return 0, c, nil
	}
	if err := s.store.InsertChunk(ctx, chunkID, id, mine); err != nil {
		return 0, Campaign{}, err
	}
	added := 0
	c, err = s.edit(ctx, id, actor, func(c *Campaign) error {
		if slices.Contains(c.RecipientChunks, chunkID) {
			return errAlreadyAdded
		}
		c.RecipientChunks = append(c.RecipientChunks, chunkID)
		c.RecipientCount += int64(len(mine))
		added = len(mine)
		return nil
	})
	if errors.Is(err, errAlreadyAdded) {
		c, err = s.campaign(ctx, id)
		return 0, c, err
	}
	return added, c, err
}

var errAlreadyAdded = errors.New("chunk already added")

// Approve records the approver's approval, in role, of the campaign's
// exact current version. The approver may approve only in a role it holds
// (PERMISSION_DENIED otherwise, before anything is read or written).
func (s *Service) Approve(ctx context.Context, id string, version int64, hash, role string, approver Approver) (Campaign, error) {
	actor := approver.Subject
	var v apperr.Violations
	if version <= 0 {
		v.Add("version", "must be positive")
	}
	if hash == "" {
		v.Add("content_hash", "is required")
	}
	if !slices.Contains(knownRoles, role) {
		v.Add("role", "must be one of %s", strings.Join(knownRoles, ", "))
	}
	if err := v.Err(); err != nil {
		return Campaign{}, err
	}
	if !slices.Contains(approver.Roles, role) {
		return Campaign{}, fmt.Errorf("%s may approve only as %s, not as %s: %w",
			actor, orNone(approver.Roles), role, apperr.ErrPermissionDenied)
	}
	c, err := s.campaign(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	switch {
	case c.Version != version || c.ContentHash != hash:
		return Campaign{}, fmt.Errorf("campaign %s is at version %d (%s); approvals bind to the current version: %w", id, c.Version, c.ContentHash, apperr.ErrFailedPrecondition)
	case c.State != StateDraft:
		return Campaign{}, fmt.Errorf("campaign %s is %s; only drafts are approved: %w", id, c.State, apperr.ErrFailedPrecondition)
	case actor == c.DraftedBy:
		return Campaign{}, fmt.Errorf("%s drafted version %d and cannot approve it: %w", actor, version, apperr.ErrPermissionDenied)
	}
	noteApproval := func(a Approval) error {
		return s.note(ctx, c.IncidentID, fmt.Sprintf("dispatch.%s.v%d.approval.%s", id, version, RecipientKey(a.Approver)[:16]), "dispatch.approval",
			fmt.Sprintf("Campaign %s (%s, %s) version %d (%s) approved by %s as %s; policy %s", id, c.Obligation.Audience, c.Obligation.Jurisdiction, version, hash[:min(12, len(hash))], a.Approver, a.Role, s.policy.Version))
	}
	for _, a := range c.Approvals {
		if a.Approver == actor {
			return c, noteApproval(a) // the same person approving again adds nothing
		}
	}
	a := Approval{Approver: actor, Role: role, Version: version, ContentHash: hash, Time: s.now().UTC().Truncate(time.Millisecond)}
	if err := s.store.AddApproval(ctx, id, a); err != nil {
		return Campaign{}, fmt.Errorf("approve campaign %s: %w", id, err)
	}
	if err := noteApproval(a); err != nil {
		return Campaign{}, err
	}
	return s.campaign(ctx, id)
}

// Approver is who approves a campaign: the authenticated subject and the
// approval roles (legal, executive_director, …) the caller's roles hold
// (authz.ApprovalRoles). Both come from the caller's credentials, never
// from the request.
type Approver struct {
	Subject string
	Roles   []string
}

func orNone(roles []string) string {
	if len(roles) == 0 {
		return "(no approval role)"
	}
	return strings.Join(roles, ", ")
}

// PlaceHold records a law-enforcement hold (idempotent on h.RequestID).
func (s *Service) PlaceHold(ctx context.Context, h Hold) (Hold, error) {
	var v apperr.Violations
	if !requestIDRE.MatchString(h.RequestID) {
		v.Add("request_id", "must be 1 to 128 letters, digits or ._:-")
	}
	if (h.IncidentID == "") == (h.CampaignID == "") {
		v.Add("hold.incident_id", "set exactly one of incident_id and campaign_id")
	}
	checkLen(&v, "hold.incident_id", h.IncidentID, MaxIDLen)
	if h.CampaignID != "" && !ids.Valid(IDPrefix, h.CampaignID) {
		v.Add("hold.campaign_id", "must be a campaign id")
	}
	for f, val := range map[string]string{"hold.requested_by": h.RequestedBy, "hold.reason": h.Reason} {
		if strings.TrimSpace(val) == "" {
			v.Add(f, "is required")
		}
		checkLen(&v, f, val, MaxHoldTextLen)
	}
	if err := v.Err(); err != nil {
		return Hold{}, err
	}
	if h.CampaignID != "" {
		if _, err := s.campaign(ctx, h.CampaignID); err != nil {
			return Hold{}, err
		}
	}
	h.ID = ids.New(HoldIDPrefix)
	h.PlaceTime = s.now().UTC().Truncate(time.Millisecond)
	got, err := s.store.CreateHold(ctx, h)
	if err != nil {
		return Hold{}, err
	}
	return got, s.noteHold(ctx, got, "placed")
}

// noteHold puts a hold's placement or release on the incident's timeline.
func (s *Service) noteHold(ctx context.Context, h Hold, what string) error {
	incident, scope := h.IncidentID, "incident "+h.IncidentID
	if h.CampaignID != "" {
		c, err := s.campaign(ctx, h.CampaignID)
		if err != nil {
			return err
		}
		incident, scope = c.IncidentID, "campaign "+h.CampaignID
	}
	summary := fmt.Sprintf("Law-enforcement hold %s on %s placed by %s at the request of %s: %s", h.ID, scope, h.PlacedBy, h.RequestedBy, h.Reason)
	if what == "released" {
		summary = fmt.Sprintf("Law-enforcement hold %s on %s released by %s", h.ID, scope, h.ReleasedBy)
	}
	return s.note(ctx, incident, fmt.Sprintf("dispatch.%s.%s", h.ID, what), "dispatch.hold."+what, summary)
}

// ReleaseHold releases a hold.
func (s *Service) ReleaseHold(ctx context.Context, id, actor string) (Hold, error) {
	if !ids.Valid(HoldIDPrefix, id) {
		return Hold{}, apperr.Invalid("hold_id", "must be a hold id (%s_ followed by 24 hex digits)", HoldIDPrefix)
	}
	h, err := s.store.ReleaseHold(ctx, id, actor, s.now().UTC().Truncate(time.Millisecond))
	if err != nil {
		return Hold{}, err
	}
	return h, s.noteHold(ctx, h, "released")
}

// ListHolds returns holds of an incident (all when empty).
func (s *Service) ListHolds(ctx context.Context, incidentID string) ([]Hold, error) {
	return s.store.ListHolds(ctx, incidentID)
}

// PausedDeadlines returns the deadlines of the campaigns a hold covers.
func (s *Service) PausedDeadlines(ctx context.Context, h Hold) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if h.CampaignID != "" {
		c, err := s.campaign(ctx, h.CampaignID)
		if err != nil {
			return nil, err
		}
		out[c.ID] = c.Obligation.Deadline
		return out, nil
	}
	cs, err := s.store.List(ctx, ListQuery{IncidentID: h.IncidentID, Limit: MaxObligations})
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		out[c.ID] = c.Obligation.Deadline
	}
	return out, nil
}

// Send starts delivering version, which must be current, approved per
// policy, complete and not held. Repeating it is a no-op.
func (s *Service) Send(ctx context.Context, id string, version int64) (Campaign, error) {
	if version <= 0 {
		return Campaign{}, apperr.Invalid("version", "must be positive")
	}
	c, err := s.campaign(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	noteSend := func() error {
		return s.note(ctx, c.IncidentID, fmt.Sprintf("dispatch.%s.v%d.send", id, version), "dispatch.send.started",
			fmt.Sprintf("Campaign %s (%s, %s) version %d sending to %d recipients by %s", id, c.Obligation.Audience, c.Obligation.Jurisdiction, version, c.RecipientCount, c.Channel))
	}
	if c.SentVersion == version && c.State != StateDraft {
		return c, noteSend()
	}
	if c.Version != version || c.State != StateDraft {
		return Campaign{}, fmt.Errorf("campaign %s is %s at version %d: %w", id, c.State, c.Version, apperr.ErrFailedPrecondition)
	}
	if miss := s.policy.QuorumFor(c.Obligation.Audience).Missing(c.Approvals); len(miss) > 0 {
		return Campaign{}, fmt.Errorf("version %d still needs approval by %s (policy %s): %w", version, strings.Join(miss, ", "), s.policy.Version, apperr.ErrFailedPrecondition)
	}
	t, ok := s.templates.Resolve(c.TemplateID, c.Obligation.Audience, c.Obligation.Jurisdiction)
	if !ok {
		return Campaign{}, fmt.Errorf("no template for campaign %s: %w", id, apperr.ErrFailedPrecondition)
	}
	if miss := t.MissingContent(c.Content); len(miss) > 0 {
		return Campaign{}, fmt.Errorf("content %s is empty: %w", strings.Join(miss, ", "), apperr.ErrFailedPrecondition)
	}
	if _, ok := channelCodes[c.Channel]; !ok {
		return Campaign{}, fmt.Errorf("campaign %s has no channel: %w", id, apperr.ErrFailedPrecondition)
	}
	hs, err := s.store.ActiveHolds(ctx, c.IncidentID, c.ID)
	if err != nil {
		return Campaign{}, err
	}
	if len(hs) > 0 {
		return Campaign{}, fmt.Errorf("campaign %s is under law-enforcement hold %s: %w", id, hs[0].ID, apperr.ErrFailedPrecondition)
	}
	if err := s.store.SetState(ctx, id, []State{StateDraft}, StateSending, version); err != nil {
		return Campaign{}, err
	}
	if err := noteSend(); err != nil {
		return Campaign{}, err
	}
	return s.campaign(ctx, id)
}

// Pause stops a sending campaign.
func (s *Service) Pause(ctx context.Context, id string) (Campaign, error) {
	if _, err := s.campaign(ctx, id); err != nil {
		return Campaign{}, err
	}
	if err := s.store.SetState(ctx, id, []State{StateSending, StatePaused}, StatePaused, 0); err != nil {
		return Campaign{}, err
	}
	return s.campaign(ctx, id)
}

// Resume continues a paused campaign.
func (s *Service) Resume(ctx context.Context, id string) (Campaign, error) {
	if _, err := s.campaign(ctx, id); err != nil {
		return Campaign{}, err
	}
	if err := s.store.SetState(ctx, id, []State{StatePaused, StateSending}, StateSending, 0); err != nil {
		return Campaign{}, err
	}
	return s.campaign(ctx, id)
}
