package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// Collections beside campaigns. The recipient and outbox collections are
// written by insert only and read by _id only: both are atomic and cheap on
// MongoDB and on the embedded FerretDB, whose updates and non-_id queries
// scan the whole collection.
const (
	keysColl        = "recipient_keys"     // _id "<campaign>#<recipient key>": which chunk owns an address
	chunksColl      = "recipient_chunks"   // _id "<campaign>#<request id>": up to 1,000 recipients
	holdsColl       = "holds"              // law-enforcement holds
	leasesColl      = "outbox_leases"      // _id "<unit>#L<n>"
	checkpointsColl = "outbox_checkpoints" // _id "<unit>#C<n>"
	doneColl        = "outbox_done"        // _id "<unit>"
)

// UpdateCampaign implements domain.Store with a version fence: the filter
// names the version the change was made from, so of two racing edits one
// wins and the other gets ErrConflict (on FerretDB the read-modify-write of
// one document by _id is serialised by SQLite).
func (s *Store) UpdateCampaign(ctx context.Context, c domain.Campaign, prev int64) error {
	d := toDoc(c)
	set := bson.D{
		{Key: "template_id", Value: d.TemplateID},
		{Key: "content", Value: d.Content},
		{Key: "channel", Value: d.Channel},
		{Key: "version", Value: d.Version},
		{Key: "content_hash", Value: d.ContentHash},
		{Key: "drafted_by", Value: d.DraftedBy},
		{Key: "approvals", Value: d.Approvals},
		{Key: "recipient_chunks", Value: d.RecipientChunks},
		{Key: "recipient_count", Value: d.RecipientCount},
		{Key: "state", Value: d.State},
	}
	filter := bson.D{{Key: "_id", Value: c.ID}, {Key: "$or", Value: bson.A{
		bson.D{{Key: "version", Value: prev}},
		bson.D{{Key: "version", Value: bson.D{{Key: "$exists", Value: false}}}},
	}}}
	if prev > 1 {
		filter = bson.D{{Key: "_id", Value: c.ID}, {Key: "version", Value: prev}}
	}
	r, err := s.campaigns.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: set}})
	if err != nil {
		return fmt.Errorf("update campaign: %w", err)
	}
	if r.MatchedCount == 0 {
		return fmt.Errorf("campaign %s changed since version %d: %w", c.ID, prev, apperr.ErrConflict)
	}
	return nil
}

// setState updates the campaign's state if it is one of from (SetState,
// in sending.go, keeps the outbox's work set in step).
func (s *Store) setState(ctx context.Context, id string, from []domain.State, to domain.State, sentVersion int64) error {
	codes := bson.A{}
	for _, f := range from {
		codes = append(codes, f.String())
	}
	set := bson.D{{Key: "state", Value: to.String()}}
	if sentVersion > 0 {
		set = append(set, bson.E{Key: "sent_version", Value: sentVersion})
	}
	r, err := s.campaigns.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "state", Value: bson.D{{Key: "$in", Value: codes}}}},
		bson.D{{Key: "$set", Value: set}})
	if err != nil {
		return fmt.Errorf("set campaign state: %w", err)
	}
	if r.MatchedCount == 0 {
		return fmt.Errorf("campaign %s cannot become %s from its state: %w", id, to, apperr.ErrFailedPrecondition)
	}
	return nil
}

// AddApproval implements domain.Store.
func (s *Store) AddApproval(ctx context.Context, id string, a domain.Approval) error {
	r, err := s.campaigns.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "version", Value: a.Version}, {Key: "content_hash", Value: a.ContentHash}, {Key: "state", Value: domain.StateDraft.String()}},
		bson.D{{Key: "$push", Value: bson.D{{Key: "approvals", Value: approvalDoc(a)}}}})
	if err != nil {
		return fmt.Errorf("add approval: %w", err)
	}
	if r.MatchedCount == 0 {
		return fmt.Errorf("campaign %s is no longer at version %d: %w", id, a.Version, apperr.ErrConflict)
	}
	return nil
}

type keyDoc struct {
	ID    string `bson:"_id"`
	Chunk string `bson:"chunk"`
}

// ClaimRecipientKeys implements domain.Store: an unordered InsertMany of
// one key document per address; a duplicate means the campaign already has
// the address, unless the existing key names this very chunk (a retry).
func (s *Store) ClaimRecipientKeys(ctx context.Context, campaignID, chunkID string, keys []string) ([]bool, error) {
	owned := make([]bool, len(keys))
	if len(keys) == 0 {
		return owned, nil
	}
	docs := make([]any, len(keys))
	for i, k := range keys {
		docs[i] = keyDoc{ID: campaignID + "#" + k, Chunk: chunkID}
		owned[i] = true
	}
	_, err := s.keys.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return owned, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return nil, fmt.Errorf("insert recipient keys: %w", err)
	}
	for _, we := range bwe.WriteErrors {
		if !mongox.IsDuplicateKey(we.WriteError) {
			return nil, fmt.Errorf("insert recipient keys: %w", err)
		}
		var existing keyDoc
		if err := s.keys.FindOne(ctx, bson.D{{Key: "_id", Value: campaignID + "#" + keys[we.Index]}}).Decode(&existing); err != nil {
			return nil, fmt.Errorf("read recipient key: %w", err)
		}
		owned[we.Index] = existing.Chunk == chunkID
	}
	return owned, nil
}

type recipientDoc struct {
	Key          string `bson:"k"`
	Name         string `bson:"n,omitempty"`
	Address      string `bson:"a"`
	Jurisdiction string `bson:"j,omitempty"`
	Postal       string `bson:"p,omitempty"`
}

type chunkDoc struct {
	ID         string         `bson:"_id"`
	CampaignID string         `bson:"campaign_id"`
	Recipients []recipientDoc `bson:"recipients"`
}

// InsertChunk implements domain.Store.
func (s *Store) InsertChunk(ctx context.Context, chunkID, campaignID string, rs []domain.Recipient) error {
	d := chunkDoc{ID: chunkID, CampaignID: campaignID, Recipients: make([]recipientDoc, len(rs))}
	for i, r := range rs {
		d.Recipients[i] = recipientDoc{Key: r.Key, Name: r.Name, Address: r.Address, Jurisdiction: r.Jurisdiction, Postal: r.PostalAddress}
	}
	if _, err := s.chunks.InsertOne(ctx, d); err != nil && !mongox.IsDuplicateKey(err) {
		return fmt.Errorf("insert recipient chunk: %w", err)
	}
	return nil
}

// GetChunk implements domain.Store.
func (s *Store) GetChunk(ctx context.Context, chunkID string) ([]domain.Recipient, error) {
	var d chunkDoc
	if err := s.chunks.FindOne(ctx, bson.D{{Key: "_id", Value: chunkID}}).Decode(&d); err != nil {
		return nil, mongox.NotFound(err, "find recipient chunk")
	}
	out := make([]domain.Recipient, len(d.Recipients))
	for i, r := range d.Recipients {
		out[i] = domain.Recipient{Key: r.Key, Name: r.Name, Address: r.Address, Jurisdiction: r.Jurisdiction, PostalAddress: r.Postal}
	}
	return out, nil
}

type holdDoc struct {
	ID          string     `bson:"_id"`
	RequestID   string     `bson:"request_id"`
	IncidentID  string     `bson:"incident_id,omitempty"`
	CampaignID  string     `bson:"campaign_id,omitempty"`
	RequestedBy string     `bson:"requested_by"`
	Reason      string     `bson:"reason"`
	PlacedBy    string     `bson:"placed_by"`
	PlaceTime   time.Time  `bson:"place_time"`
	ReleasedBy  string     `bson:"released_by,omitempty"`
	ReleaseTime *time.Time `bson:"release_time,omitempty"`
	Active      bool       `bson:"active"`
}

func holdFromDoc(d holdDoc) domain.Hold {
	h := domain.Hold{ID: d.ID, RequestID: d.RequestID, IncidentID: d.IncidentID, CampaignID: d.CampaignID,
		RequestedBy: d.RequestedBy, Reason: d.Reason, PlacedBy: d.PlacedBy, PlaceTime: d.PlaceTime.UTC(), ReleasedBy: d.ReleasedBy}
	if d.ReleaseTime != nil {
		h.ReleaseTime = d.ReleaseTime.UTC()
	}
	return h
}

// CreateHold implements domain.Store; the unique request_id makes it
// idempotent.
func (s *Store) CreateHold(ctx context.Context, h domain.Hold) (domain.Hold, error) {
	d := holdDoc{ID: h.ID, RequestID: h.RequestID, IncidentID: h.IncidentID, CampaignID: h.CampaignID,
		RequestedBy: h.RequestedBy, Reason: h.Reason, PlacedBy: h.PlacedBy, PlaceTime: h.PlaceTime, Active: true}
	if _, err := s.holds.InsertOne(ctx, d); err != nil && !mongox.IsDuplicateKey(err) {
		return domain.Hold{}, fmt.Errorf("insert hold: %w", err)
	}
	var got holdDoc
	if err := s.holds.FindOne(ctx, bson.D{{Key: "request_id", Value: h.RequestID}}).Decode(&got); err != nil {
		return domain.Hold{}, mongox.NotFound(err, "find hold")
	}
	return holdFromDoc(got), nil
}

// ReleaseHold implements domain.Store.
func (s *Store) ReleaseHold(ctx context.Context, id, by string, at time.Time) (domain.Hold, error) {
	if _, err := s.holds.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "active", Value: true}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "active", Value: false}, {Key: "released_by", Value: by}, {Key: "release_time", Value: at}}}}); err != nil {
		return domain.Hold{}, fmt.Errorf("release hold: %w", err)
	}
	var got holdDoc
	if err := s.holds.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&got); err != nil {
		return domain.Hold{}, mongox.NotFound(err, "find hold")
	}
	return holdFromDoc(got), nil
}

// ListHolds implements domain.Store.
func (s *Store) ListHolds(ctx context.Context, incidentID string) ([]domain.Hold, error) {
	f := bson.D{}
	if incidentID != "" {
		f = bson.D{{Key: "incident_id", Value: incidentID}}
	}
	return s.findHolds(ctx, f)
}

// ActiveHolds implements domain.Store.
func (s *Store) ActiveHolds(ctx context.Context, incidentID, campaignID string) ([]domain.Hold, error) {
	return s.findHolds(ctx, bson.D{{Key: "active", Value: true}, {Key: "$or", Value: bson.A{
		bson.D{{Key: "incident_id", Value: incidentID}},
		bson.D{{Key: "campaign_id", Value: campaignID}},
	}}})
}

func (s *Store) findHolds(ctx context.Context, f bson.D) ([]domain.Hold, error) {
	docs, err := mongox.FindAll[holdDoc](ctx, s.holds, f, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("find holds: %w", err)
	}
	out := make([]domain.Hold, 0, len(docs))
	for _, d := range docs {
		out = append(out, holdFromDoc(d))
	}
	return out, nil
}

type leaseDoc struct {
	ID    string    `bson:"_id"`
	Owner string    `bson:"owner"`
	Until time.Time `bson:"until"`
}

// LatestLease implements domain.OutboxStore by reading attempts 1, 2, ...
// by _id until one is missing (attempts are few; _id reads are cheap).
func (s *Store) LatestLease(ctx context.Context, unit string) (domain.Lease, bool, error) {
	var last domain.Lease
	found := false
	for n := 1; ; n++ {
		var d leaseDoc
		err := s.leases.FindOne(ctx, bson.D{{Key: "_id", Value: fmt.Sprintf("%s#L%d", unit, n)}}).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return last, found, nil
		}
		if err != nil {
			return domain.Lease{}, false, fmt.Errorf("read lease: %w", err)
		}
		last = domain.Lease{Unit: unit, Attempt: n, Owner: d.Owner, Until: d.Until.UTC()}
		found = true
	}
}

// InsertLease implements domain.OutboxStore.
func (s *Store) InsertLease(ctx context.Context, l domain.Lease) (bool, error) {
	return insertFence(ctx, s.leases, leaseDoc{ID: fmt.Sprintf("%s#L%d", l.Unit, l.Attempt), Owner: l.Owner, Until: l.Until})
}

type failureDoc struct {
	Index    int    `bson:"i"`
	Reason   string `bson:"r"`
	Attempts int    `bson:"n,omitempty"`
}

type detailDoc struct {
	Index    int    `bson:"i"`
	Attempts int    `bson:"n,omitempty"`
	Provider string `bson:"p,omitempty"`
}

type checkpointDoc struct {
	ID      string       `bson:"_id"`
	Sent    []int        `bson:"sent"`
	Failed  []failureDoc `bson:"failed"`
	Skipped []failureDoc `bson:"skipped,omitempty"`
	Time    *time.Time   `bson:"t,omitempty"`
	Details []detailDoc  `bson:"d,omitempty"`
}

// Checkpoints implements domain.OutboxStore.
func (s *Store) Checkpoints(ctx context.Context, unit string) ([]domain.Checkpoint, error) {
	var out []domain.Checkpoint
	for n := 1; ; n++ {
		var d checkpointDoc
		err := s.checkpoints.FindOne(ctx, bson.D{{Key: "_id", Value: fmt.Sprintf("%s#C%d", unit, n)}}).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read checkpoint: %w", err)
		}
		ck := domain.Checkpoint{Unit: unit, Seq: n, Sent: d.Sent}
		if d.Time != nil {
			ck.Time = d.Time.UTC()
		}
		for _, f := range d.Failed {
			ck.Failed = append(ck.Failed, domain.Failure(f))
		}
		for _, f := range d.Skipped {
			ck.Skipped = append(ck.Skipped, domain.Failure(f))
		}
		for _, x := range d.Details {
			ck.Details = append(ck.Details, domain.Detail(x))
		}
		out = append(out, ck)
	}
}

// InsertCheckpoint implements domain.OutboxStore.
func (s *Store) InsertCheckpoint(ctx context.Context, ck domain.Checkpoint) (bool, error) {
	d := checkpointDoc{ID: fmt.Sprintf("%s#C%d", ck.Unit, ck.Seq), Sent: ck.Sent, Failed: []failureDoc{}}
	if d.Sent == nil {
		d.Sent = []int{}
	}
	for _, f := range ck.Failed {
		d.Failed = append(d.Failed, failureDoc(f))
	}
	for _, f := range ck.Skipped {
		d.Skipped = append(d.Skipped, failureDoc(f))
	}
	for _, x := range ck.Details {
		d.Details = append(d.Details, detailDoc(x))
	}
	if !ck.Time.IsZero() {
		t := ck.Time
		d.Time = &t
	}
	return insertFence(ctx, s.checkpoints, d)
}

type doneDoc struct {
	ID      string `bson:"_id"`
	Sent    int64  `bson:"sent"`
	Failed  int64  `bson:"failed"`
	Skipped int64  `bson:"skipped,omitempty"`
}

// GetDone implements domain.OutboxStore.
func (s *Store) GetDone(ctx context.Context, unit string) (domain.Tally, bool, error) {
	var d doneDoc
	err := s.done.FindOne(ctx, bson.D{{Key: "_id", Value: unit}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return domain.Tally{}, false, nil
	}
	if err != nil {
		return domain.Tally{}, false, fmt.Errorf("read outbox done: %w", err)
	}
	return domain.Tally{Sent: d.Sent, Failed: d.Failed, Skipped: d.Skipped}, true, nil
}

// InsertDone implements domain.OutboxStore.
func (s *Store) InsertDone(ctx context.Context, unit string, t domain.Tally) error {
	_, err := insertFence(ctx, s.done, doneDoc{ID: unit, Sent: t.Sent, Failed: t.Failed, Skipped: t.Skipped})
	return err
}

func insertFence(ctx context.Context, c *mongo.Collection, doc any) (bool, error) {
	if _, err := c.InsertOne(ctx, doc); err != nil {
		if mongox.IsDuplicateKey(err) {
			return false, nil
		}
		return false, fmt.Errorf("insert into %s: %w", c.Name(), err)
	}
	return true, nil
}

const timelineColl = "timeline_outbox" // _id = request id: entries pending relay to intake

type timelineDoc struct {
	ID            string    `bson:"_id"`
	IncidentID    string    `bson:"incident_id"`
	Action        string    `bson:"action"`
	Summary       string    `bson:"summary"`
	Pending       bool      `bson:"pending"`
	NextAttemptAt time.Time `bson:"next_attempt_at"`
	Attempts      int       `bson:"attempts"`
	// CreatedAt orders the relay: entries reach the incident's timeline in
	// the order dispatch recorded them (ids are request ids, not times).
	CreatedAt time.Time `bson:"created_at"`
}

// EnqueueTimeline implements domain.Store.
func (s *Store) EnqueueTimeline(ctx context.Context, e domain.TimelineEntry) error {
	_, err := insertFence(ctx, s.timeline, timelineDoc{
		ID: e.RequestID, IncidentID: e.IncidentID, Action: e.Action, Summary: e.Summary, Pending: true,
		NextAttemptAt: time.Unix(0, 0).UTC(), CreatedAt: time.Now().UTC(),
	})
	return err
}

// ClaimTimeline implements domain.Store with mongox.Claim.
func (s *Store) ClaimTimeline(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (domain.TimelineEntry, bool, error) {
	var d timelineDoc
	ok, err := mongox.Claim(ctx, s.timeline, bson.D{{Key: "pending", Value: true}, {Key: "next_attempt_at", Value: bson.D{{Key: "$lte", Value: now}}}}, owner, now, leaseFor, &d,
		mongox.OrderBy(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil || !ok {
		return domain.TimelineEntry{}, false, err
	}
	return domain.TimelineEntry{RequestID: d.ID, IncidentID: d.IncidentID, Action: d.Action, Summary: d.Summary, Attempts: d.Attempts}, true, nil
}

// CompleteTimeline implements domain.Store.
func (s *Store) CompleteTimeline(ctx context.Context, requestID, owner string) error {
	_, err := s.timeline.UpdateOne(ctx, bson.D{{Key: "_id", Value: requestID}, {Key: mongox.LeaseOwnerField, Value: owner}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "pending", Value: false}}}})
	if err != nil {
		return fmt.Errorf("complete timeline entry: %w", err)
	}
	return nil
}

// RetryTimeline implements domain.Store.
func (s *Store) RetryTimeline(ctx context.Context, requestID, owner string, next time.Time) error {
	_, err := s.timeline.UpdateOne(ctx, bson.D{{Key: "_id", Value: requestID}, {Key: mongox.LeaseOwnerField, Value: owner}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "next_attempt_at", Value: next}, {Key: mongox.LeaseUntilField, Value: next}}}})
	if err != nil {
		return fmt.Errorf("retry timeline entry: %w", err)
	}
	return nil
}

const escalationsColl = "escalations" // _id "<campaign>#<window>": one deadline alert per window

// InsertEscalation implements domain.Store.
func (s *Store) InsertEscalation(ctx context.Context, key string, at time.Time) (bool, error) {
	return insertFence(ctx, s.campaigns.Database().Collection(escalationsColl), bson.D{{Key: "_id", Value: key}, {Key: "time", Value: at}})
}

// DeleteEscalation implements domain.Store.
func (s *Store) DeleteEscalation(ctx context.Context, key string) error {
	if _, err := s.campaigns.Database().Collection(escalationsColl).DeleteOne(ctx, bson.D{{Key: "_id", Value: key}}); err != nil {
		return fmt.Errorf("delete escalation: %w", err)
	}
	return nil
}
