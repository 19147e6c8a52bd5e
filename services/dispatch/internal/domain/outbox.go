package domain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/breachline/breachline/pkg/mongox"
)

// OutboxStore persists the outbox. A campaign's recipients are stored in chunks (one per
// AddRecipients call, at most MaxRecipients each); the unit of delivery
// work is a chunk of one sent version: "<chunk id>@v<version>". Every
// record about a unit is an insert under a unique id, never an update, so
// claims are atomic on MongoDB and on the embedded FerretDB alike (whose
// updates are neither atomic nor cheap on large collections):
//
//	lease      "<unit>#L<n>"   attempt n of the unit, owner and expiry
//	checkpoint "<unit>#C<n>"   recipients (by index) sent or failed since the last one
//	done       "<unit>"        final tally
//
// A worker claims a unit by inserting lease n+1 once lease n has expired;
// the unique id lets exactly one claimer win. It sends the recipients no
// checkpoint covers and inserts a checkpoint every FlushEvery messages; if
// its checkpoint id is already taken another worker has the unit and it
// stops. So a killed worker re-sends at most the messages accepted since its
// last checkpoint: the duplicates per kill are bounded by
// Workers × (FlushEvery + 1).
type OutboxStore interface {
	// LatestLease returns the newest lease of unit.
	LatestLease(ctx context.Context, unit string) (Lease, bool, error)
	// InsertLease inserts l, reporting false when its attempt was taken.
	InsertLease(ctx context.Context, l Lease) (bool, error)
	// Checkpoints returns the unit's checkpoints in order.
	Checkpoints(ctx context.Context, unit string) ([]Checkpoint, error)
	// InsertCheckpoint inserts ck, reporting false when its seq was taken.
	InsertCheckpoint(ctx context.Context, ck Checkpoint) (bool, error)
	// GetDone returns the unit's final tally.
	GetDone(ctx context.Context, unit string) (Tally, bool, error)
	// InsertDone records the unit's final tally (no-op if recorded).
	InsertDone(ctx context.Context, unit string, t Tally) error
}

// Lease is one attempt at a unit.
type Lease struct {
	Unit    string
	Attempt int
	Owner   string
	Until   time.Time
}

// Checkpoint records outcomes by recipient index within the chunk.
type Checkpoint struct {
	Unit   string
	Seq    int
	Sent   []int
	Failed []Failure
	// Skipped are recipients not sent this version because their address
	// hard-bounced on an earlier one (Reason says which); Attempts is 0.
	Skipped []Failure
	// Time is when the checkpoint was written (zero on records written
	// before it was kept).
	Time time.Time
	// Details are the sent recipients that took more than one attempt or
	// for which the receiving server named its message id; the rest took
	// one attempt and have none.
	Details []Detail
}

// Failure is a permanent delivery failure.
type Failure struct {
	Index    int
	Reason   string
	Attempts int
}

// Detail is what is worth keeping about one sent message beyond "sent".
type Detail struct {
	Index    int
	Attempts int
	Provider string
}

// Tally counts a unit's outcomes.
type Tally struct{ Sent, Failed, Skipped int64 }

// size is how many recipients ck covers.
func (ck Checkpoint) size() int { return len(ck.Sent) + len(ck.Failed) + len(ck.Skipped) }

// Message is one rendered notice for one recipient.
type Message struct {
	CampaignID, RecipientKey string
	Version                  int64
	To, Name                 string
	Subject, Body            string
}

// Session delivers messages over one connection of a channel.
type Session interface {
	Send(ctx context.Context, m Message) error
	Close() error
}

// Receipter is a Session that can name the receiving system's id for the
// message it last sent (e.g. an SMTP server's queue id); empty when the
// receiver gave none.
type Receipter interface {
	Receipt() string
}

// Transport opens sessions of a channel.
type Transport interface {
	Open(ctx context.Context) (Session, error)
}

// PermanentError marks a delivery failure retrying cannot fix (an SMTP
// 5xx, a webhook 4xx).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// EngineConfig tunes the delivery engine.
type EngineConfig struct {
	Owner       string
	Workers     int
	FlushEvery  int
	Lease       time.Duration
	MaxAttempts int
	RetryBase   time.Duration
	Idle        time.Duration
	// RatePerSec limits messages per second per channel (0: unlimited).
	RatePerSec map[Channel]float64
}

// Engine delivers sending campaigns from the outbox.
type Engine struct {
	svc        *Service
	cfg        EngineConfig
	transports map[Channel]Transport
	limiters   map[Channel]*rate.Limiter
	log        *slog.Logger

	mu      sync.Mutex
	busy    map[string]bool
	done    map[string]bool
	leased  map[string]time.Time
	units   []unitRef
	refresh time.Time
}

type unitRef struct {
	unit     string
	chunk    string
	campaign Campaign
}

// NewEngine returns an engine over svc's store.
func NewEngine(svc *Service, cfg EngineConfig, transports map[Channel]Transport, log *slog.Logger) *Engine {
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = 50
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 100 * time.Millisecond
	}
	if cfg.Idle <= 0 {
		cfg.Idle = 200 * time.Millisecond
	}
	e := &Engine{svc: svc, cfg: cfg, transports: transports, log: log, limiters: map[Channel]*rate.Limiter{},
		busy: map[string]bool{}, done: map[string]bool{}, leased: map[string]time.Time{}}
	for ch := range transports {
		l := rate.Inf
		if r := cfg.RatePerSec[ch]; r > 0 {
			l = rate.Limit(r)
		}
		e.limiters[ch] = rate.NewLimiter(l, max(1, cfg.Workers))
	}
	return e
}

// InFlightBound is the most messages a kill of this process can cause to
// be sent twice.
func (e *Engine) InFlightBound() int { return e.cfg.Workers * (e.cfg.FlushEvery + 1) }

// Unit names the outbox unit of a chunk for a version.
func Unit(chunkID string, version int64) string { return fmt.Sprintf("%s@v%d", chunkID, version) }

// Run runs the workers until ctx is done.
func (e *Engine) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range e.cfg.Workers {
		wg.Go(func() { e.work(ctx) })
	}
	wg.Wait()
}

func (e *Engine) work(ctx context.Context) {
	sessions := map[Channel]Session{}
	defer func() {
		for _, s := range sessions {
			_ = s.Close()
		}
	}()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ref, lease, ok, err := e.claim(ctx)
		if err != nil && ctx.Err() == nil {
			e.log.WarnContext(ctx, "outbox claim failed", "error", err.Error())
		}
		if !ok {
			t.Reset(e.cfg.Idle)
			continue
		}
		if err := e.process(ctx, ref, lease, sessions); err != nil && ctx.Err() == nil {
			e.log.WarnContext(ctx, "outbox unit failed", "unit", ref.unit, "error", err.Error())
		}
		e.mu.Lock()
		delete(e.busy, ref.unit)
		e.mu.Unlock()
		t.Reset(0)
	}
}

// candidates refreshes the list of units of sending, unheld campaigns and
// completes campaigns whose units are all done.
func (e *Engine) candidates(ctx context.Context) ([]unitRef, error) {
	e.mu.Lock()
	if time.Since(e.refresh) < max(e.cfg.Idle, minRefresh) && e.units != nil {
		u := e.units
		e.mu.Unlock()
		return u, nil
	}
	e.refresh = time.Now()
	e.mu.Unlock()
	cs, err := e.svc.store.ListByState(ctx, StateSending)
	if err != nil {
		return nil, err
	}
	// Not nil when empty: an empty list is cached like any other, so idle
	// workers do not re-read it on every poll.
	units := []unitRef{}
	for _, c := range cs {
		hs, err := e.svc.store.ActiveHolds(ctx, c.IncidentID, c.ID)
		if err != nil {
			return nil, err
		}
		if len(hs) > 0 {
			continue
		}
		open := 0
		for _, ch := range c.RecipientChunks {
			u := Unit(ch, c.SentVersion)
			e.mu.Lock()
			known := e.done[u]
			// A unit this process works on, or another holds a live lease
			// on, is not done; skip the read.
			skip := e.busy[u] || time.Now().Before(e.leased[u])
			e.mu.Unlock()
			if !known && !skip {
				if _, ok, err := e.svc.store.GetDone(ctx, u); err != nil {
					return nil, err
				} else if ok {
					e.mu.Lock()
					e.done[u] = true
					e.mu.Unlock()
					known = true
				}
			}
			if !known {
				open++
				units = append(units, unitRef{unit: u, chunk: ch, campaign: c})
			}
		}
		if open == 0 {
			if err := e.complete(ctx, c); err != nil {
				return nil, err
			}
		}
	}
	e.mu.Lock()
	e.units = units
	e.mu.Unlock()
	return units, nil
}

// complete records the outcome on the timeline (first, so that it cannot
// be lost) and marks the campaign completed.
func (e *Engine) complete(ctx context.Context, c Campaign) error {
	if err := e.svc.composeCampaign(ctx, c); err != nil {
		return err
	}
	p, err := e.svc.Progress(ctx, c.ID)
	if err != nil {
		return err
	}
	skipped := ""
	if p.Skipped > 0 {
		skipped = fmt.Sprintf(", %d skipped (hard-bounced on an earlier version)", p.Skipped)
	}
	if err := e.svc.note(ctx, c.IncidentID, fmt.Sprintf("dispatch.%s.v%d.completed", c.ID, c.SentVersion), "dispatch.send.completed",
		fmt.Sprintf("Campaign %s (%s, %s) version %d completed: %d sent, %d failed%s of %d", c.ID, c.Obligation.Audience, c.Obligation.Jurisdiction, c.SentVersion, p.Sent, p.Failed, skipped, p.Total)); err != nil {
		return err
	}
	if err := e.svc.store.SetState(ctx, c.ID, []State{StateSending}, StateCompleted, 0); err == nil {
		e.log.InfoContext(ctx, "campaign completed", "campaign_id", c.ID, "version", c.SentVersion)
	}
	return nil
}

func (e *Engine) claim(ctx context.Context) (unitRef, Lease, bool, error) {
	units, err := e.candidates(ctx)
	if err != nil {
		return unitRef{}, Lease{}, false, err
	}
	start := rand.IntN(max(1, len(units))) //nolint:gosec // spreads workers over units; not a secret
	for i := range units {
		ref := units[(start+i)%len(units)]
		e.mu.Lock()
		skip := e.busy[ref.unit] || e.done[ref.unit] || time.Now().Before(e.leased[ref.unit])
		if !skip {
			e.busy[ref.unit] = true
		}
		e.mu.Unlock()
		if skip {
			continue
		}
		l, won, err := e.tryLease(ctx, ref.unit)
		if err != nil || !won {
			e.mu.Lock()
			delete(e.busy, ref.unit)
			e.mu.Unlock()
			if err != nil {
				return unitRef{}, Lease{}, false, err
			}
			continue
		}
		return ref, l, true, nil
	}
	return unitRef{}, Lease{}, false, nil
}

func (e *Engine) tryLease(ctx context.Context, unit string) (Lease, bool, error) {
	now := time.Now()
	last, ok, err := e.svc.store.LatestLease(ctx, unit)
	if err != nil {
		return Lease{}, false, err
	}
	if ok && now.Before(last.Until) {
		e.mu.Lock()
		e.leased[unit] = last.Until
		e.mu.Unlock()
		return Lease{}, false, nil
	}
	l := Lease{Unit: unit, Attempt: last.Attempt + 1, Owner: e.cfg.Owner, Until: now.Add(e.cfg.Lease)}
	won, err := e.svc.store.InsertLease(ctx, l)
	return l, won, err
}

var errLostLease = errors.New("lease lost to another worker")

// minRefresh bounds how often the list of open units is re-read, so idle
// workers do not poll the store in a tight loop.
const minRefresh = 250 * time.Millisecond

func (e *Engine) process(ctx context.Context, ref unitRef, lease Lease, sessions map[Channel]Session) error {
	c := ref.campaign
	t, ok := e.svc.templates.Resolve(c.TemplateID, c.Obligation.Audience, c.Obligation.Jurisdiction)
	if !ok {
		return fmt.Errorf("no template for campaign %s", c.ID)
	}
	var tr Transport
	if !composed(c.Channel) {
		if tr, ok = e.transports[c.Channel]; !ok {
			return fmt.Errorf("no transport for channel %s", c.Channel)
		}
	}
	rs, err := e.svc.store.GetChunk(ctx, ref.chunk)
	if err != nil {
		return err
	}
	cks, err := e.svc.store.Checkpoints(ctx, ref.unit)
	if err != nil {
		return err
	}
	covered := map[int]bool{}
	var tally Tally
	for _, ck := range cks {
		for _, i := range ck.Sent {
			covered[i] = true
		}
		for _, f := range ck.Failed {
			covered[f.Index] = true
		}
		for _, f := range ck.Skipped {
			covered[f.Index] = true
		}
		tally.Sent += int64(len(ck.Sent))
		tally.Failed += int64(len(ck.Failed))
		tally.Skipped += int64(len(ck.Skipped))
	}
	seq := len(cks)
	if composed(c.Channel) {
		return e.composeUnit(ctx, ref, t, rs, covered, seq, tally)
	}
	bounced, err := e.svc.hardBounced(ctx, c)
	if err != nil {
		return err
	}
	cur := Checkpoint{Unit: ref.unit}
	flush := func() error {
		if cur.size() == 0 {
			return nil
		}
		seq++
		cur.Seq = seq
		cur.Time = time.Now().UTC()
		won, err := e.svc.store.InsertCheckpoint(ctx, cur)
		if err != nil {
			return err
		}
		if !won {
			return errLostLease
		}
		tally.Sent += int64(len(cur.Sent))
		tally.Failed += int64(len(cur.Failed))
		tally.Skipped += int64(len(cur.Skipped))
		cur = Checkpoint{Unit: ref.unit}
		return nil
	}
	margin := e.cfg.Lease / 5
	checked := time.Now()
	for i, r := range rs {
		if covered[i] {
			continue
		}
		if cur.size() >= e.cfg.FlushEvery {
			if err := flush(); err != nil {
				return err
			}
			if time.Since(checked) >= minRefresh {
				checked = time.Now()
				if stop, err := e.stopped(ctx, c); err != nil || stop {
					return errors.Join(err, e.release(ctx, lease))
				}
			}
		}
		if time.Until(lease.Until) < margin {
			// Renew before expiry by taking the next attempt ourselves; no
			// one else may take it until the current lease has expired.
			if err := flush(); err != nil {
				return err
			}
			next := Lease{Unit: lease.Unit, Attempt: lease.Attempt + 1, Owner: e.cfg.Owner, Until: time.Now().Add(e.cfg.Lease)}
			won, err := e.svc.store.InsertLease(ctx, next)
			if err != nil || !won || time.Now().After(lease.Until) {
				return errors.Join(err, errLostLease)
			}
			lease = next
		}
		if b, ok := bounced[r.Key]; ok {
			cur.Skipped = append(cur.Skipped, Failure{Index: i, Reason: skipReason(b)})
			continue
		}
		if err := e.limiter(c.Channel).Wait(ctx); err != nil {
			return errors.Join(flush(), err)
		}
		subj, body, err := t.Render(e.svc.renderData(c, r))
		if err != nil {
			return errors.Join(flush(), err)
		}
		m := Message{CampaignID: c.ID, RecipientKey: r.Key, Version: c.SentVersion, To: r.Address, Name: r.Name, Subject: subj, Body: body}
		attempts, provider, err := e.deliver(ctx, tr, sessions, c.Channel, m)
		if err != nil {
			var pe *PermanentError
			if !errors.As(err, &pe) && ctx.Err() != nil {
				return errors.Join(flush(), err)
			}
			cur.Failed = append(cur.Failed, Failure{Index: i, Reason: failureReason(err), Attempts: attempts})
			continue
		}
		cur.Sent = append(cur.Sent, i)
		if attempts > 1 || provider != "" {
			cur.Details = append(cur.Details, Detail{Index: i, Attempts: attempts, Provider: provider})
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := e.svc.store.InsertDone(ctx, ref.unit, tally); err != nil {
		return err
	}
	e.mu.Lock()
	e.done[ref.unit] = true
	e.mu.Unlock()
	return nil
}

func failureReason(err error) string {
	var pe *PermanentError
	if errors.As(err, &pe) {
		return "rejected: " + pe.Err.Error()
	}
	return "retries exhausted: " + err.Error()
}

// stopped reports whether the campaign was paused or held since the unit
// was claimed.
func (e *Engine) stopped(ctx context.Context, c Campaign) (bool, error) {
	cur, err := e.svc.store.Get(ctx, c.ID)
	if err != nil {
		return false, err
	}
	if cur.State != StateSending || cur.SentVersion != c.SentVersion {
		return true, nil
	}
	hs, err := e.svc.store.ActiveHolds(ctx, c.IncidentID, c.ID)
	return len(hs) > 0, err
}

// release ends the lease early so that a resume picks the unit up at once.
func (e *Engine) release(ctx context.Context, l Lease) error {
	_, err := e.svc.store.InsertLease(ctx, Lease{Unit: l.Unit, Attempt: l.Attempt + 1, Owner: "released", Until: time.Now()})
	return err
}

// deliver sends m, retrying transient failures with exponential backoff and
// full jitter on a fresh session. It reports the attempts made and the
// receiver's message id, if it named one.
func (e *Engine) deliver(ctx context.Context, tr Transport, sessions map[Channel]Session, ch Channel, m Message) (int, string, error) {
	var last error
	for attempt := 1; attempt <= e.cfg.MaxAttempts; attempt++ {
		s := sessions[ch]
		if s == nil {
			var err error
			if s, err = tr.Open(ctx); err != nil {
				last = err
				var pe *PermanentError
				if errors.As(err, &pe) || !e.backoff(ctx, attempt) {
					return attempt, "", err
				}
				continue
			}
			sessions[ch] = s
		}
		err := s.Send(ctx, m)
		if err == nil {
			provider := ""
			if r, ok := s.(Receipter); ok {
				provider = r.Receipt()
			}
			return attempt, provider, nil
		}
		var pe *PermanentError
		if errors.As(err, &pe) {
			return attempt, "", err
		}
		last = err
		_ = s.Close()
		delete(sessions, ch)
		if !e.backoff(ctx, attempt) {
			return attempt, "", err
		}
	}
	return e.cfg.MaxAttempts, "", last
}

// limiter returns the channel's rate limiter (unlimited for channels
// without a transport of their own).
func (e *Engine) limiter(ch Channel) *rate.Limiter {
	if l, ok := e.limiters[ch]; ok {
		return l
	}
	return rate.NewLimiter(rate.Inf, 1)
}

func (e *Engine) backoff(ctx context.Context, attempt int) bool {
	d := mongox.Backoff(attempt, e.cfg.RetryBase, 10*time.Second)
	d = time.Duration(rand.Int64N(int64(d)) + 1) //nolint:gosec // full jitter; not a secret
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Progress counts the deliveries of a campaign's sent version.
type Progress struct {
	Version                     int64
	Total, Queued, Sent, Failed int64
	State                       State
	// Delivered are sent and not reported hard-bounced; Bounced are sent
	// and then hard-bounced; Skipped were not sent this version because
	// the address hard-bounced on an earlier one.
	Delivered, Bounced, Skipped int64
}

// Progress reads the outbox records of the campaign's sent version.
func (s *Service) Progress(ctx context.Context, id string) (Progress, error) {
	c, err := s.campaign(ctx, id)
	if err != nil {
		return Progress{}, err
	}
	p := Progress{Version: c.SentVersion, Total: c.RecipientCount, State: c.State}
	if c.SentVersion == 0 {
		p.Queued = 0
		return p, nil
	}
	for _, ch := range slices.Clone(c.RecipientChunks) {
		u := Unit(ch, c.SentVersion)
		t, ok, err := s.store.GetDone(ctx, u)
		if err != nil {
			return Progress{}, err
		}
		if !ok {
			cks, err := s.store.Checkpoints(ctx, u)
			if err != nil {
				return Progress{}, err
			}
			for _, ck := range cks {
				t.Sent += int64(len(ck.Sent))
				t.Failed += int64(len(ck.Failed))
				t.Skipped += int64(len(ck.Skipped))
			}
		}
		p.Sent += t.Sent
		p.Failed += t.Failed
		p.Skipped += t.Skipped
	}
	p.Queued = p.Total - p.Sent - p.Failed - p.Skipped
	return p, s.countBounced(ctx, id, &p)
}
