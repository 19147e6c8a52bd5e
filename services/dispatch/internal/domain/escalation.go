package domain

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Escalator alerts the response team when an obligation's deadline is
// within Window and its campaign has not been sent: the "24 hours before a
// 72-hour GDPR deadline" alarm. Alerts go out through the same transports
// as notices. Each campaign is escalated at most once per window: a unique
// fence "<campaign>#<window>" is inserted before the alert is sent (and
// removed again if sending fails, so the next pass retries).
type Escalator struct {
	svc        *Service
	transports map[Channel]Transport
	Window     time.Duration
}

// NewEscalator returns an escalator over svc with the engine's transports.
func NewEscalator(svc *Service, transports map[Channel]Transport, window time.Duration) *Escalator {
	if window <= 0 {
		window = 24 * time.Hour
	}
	return &Escalator{svc: svc, transports: transports, Window: window}
}

// Step is a worker.Step: it checks every unsent campaign once.
func (x *Escalator) Step(ctx context.Context) (bool, error) {
	now := x.svc.now().UTC()
	var errs []error
	for _, st := range []State{StateDraft, StatePaused} {
		cs, err := x.svc.store.ListByState(ctx, st)
		if err != nil {
			return false, err
		}
		for _, c := range cs {
			d := c.Obligation.Deadline
			if d.IsZero() || c.Obligation.Audience == AudienceResponseTeam || d.Sub(now) > x.Window {
				continue
			}
			errs = append(errs, x.escalate(ctx, c, now))
		}
	}
	return false, errors.Join(errs...)
}

func (x *Escalator) escalate(ctx context.Context, c Campaign, now time.Time) error {
	hs, err := x.svc.store.ActiveHolds(ctx, c.IncidentID, c.ID)
	if err != nil || len(hs) > 0 {
		return err // a held deadline is paused, not missed
	}
	key := fmt.Sprintf("%s#%s", c.ID, x.Window)
	won, err := x.svc.store.InsertEscalation(ctx, key, now)
	if err != nil || !won {
		return err
	}
	tr, ok := x.transports[ChannelEmail]
	if !ok {
		return errors.New("no e-mail transport for escalations")
	}
	left := c.Obligation.Deadline.Sub(now).Round(time.Minute)
	when := "due in " + left.String()
	if left < 0 {
		when = "OVERDUE by " + (-left).String()
	}
	subject := fmt.Sprintf("DEADLINE: %s notice for %s %s", c.Obligation.Audience, c.Obligation.Jurisdiction, when)
	body := fmt.Sprintf("Campaign %s (incident %s) is %s and has not been sent.\nDeadline: %s (%s)\nBasis: %s\nMissing approvals: %v\n",
		c.ID, c.IncidentID, c.State, c.Obligation.Deadline.Format(time.RFC3339), c.Obligation.DeadlineText, c.Obligation.Citation,
		x.svc.policy.QuorumFor(c.Obligation.Audience).Missing(c.Approvals))
	sendErr := func() error {
		s, err := tr.Open(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = s.Close() }()
		for _, ct := range x.svc.contacts.For(AudienceResponseTeam, "") {
			m := Message{CampaignID: c.ID, Version: c.Version, RecipientKey: "escalation-" + RecipientKey(ct.Address), To: ct.Address, Name: ct.Name, Subject: subject, Body: body}
			if err := s.Send(ctx, m); err != nil {
				return err
			}
		}
		return nil
	}()
	if sendErr != nil {
		return errors.Join(sendErr, x.svc.store.DeleteEscalation(ctx, key))
	}
	return x.svc.note(ctx, c.IncidentID, "dispatch."+c.ID+".escalated", "dispatch.escalation",
		fmt.Sprintf("Response team alerted: campaign %s (%s, %s) unsent, %s", c.ID, c.Obligation.Audience, c.Obligation.Jurisdiction, when))
}
