// Package store keeps dispatch's campaigns in MongoDB. The bson shapes are
// private to this package; the rest of the service sees domain structs only.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// campaignsColl is the one collection: a campaign and, later, its pending
// side effects live on one document, so every change is a single-document
// atomic update.
const campaignsColl = "campaigns"

// Store is the MongoDB implementation of domain.Store.
type Store struct {
	campaigns   *mongo.Collection
	keys        *mongo.Collection
	chunks      *mongo.Collection
	holds       *mongo.Collection
	leases      *mongo.Collection
	checkpoints *mongo.Collection
	done        *mongo.Collection
	timeline    *mongo.Collection
	sending     *mongo.Collection
}

var _ domain.Store = (*Store)(nil)

// New returns a Store on db. Call EnsureIndexes first: idempotency relies on
// the unique index.
func New(db *mongo.Database) *Store {
	return &Store{
		campaigns:   db.Collection(campaignsColl),
		keys:        db.Collection(keysColl),
		chunks:      db.Collection(chunksColl),
		holds:       db.Collection(holdsColl),
		leases:      db.Collection(leasesColl),
		checkpoints: db.Collection(checkpointsColl),
		done:        db.Collection(doneColl),
		timeline:    db.Collection(timelineColl),
		sending:     db.Collection(SendingColl),
	}
}

// Indexes are the indexes the Store needs:
//   - (assessment_id, obligation_id) unique: the natural key of a campaign,
//     which makes drafting idempotent and race-free;
//   - (incident_id, _id): lists by incident in drafting order.
func Indexes() mongox.Indexes {
	return mongox.Indexes{
		campaignsColl: {
			{
				Keys:    bson.D{{Key: "assessment_id", Value: 1}, {Key: "obligation_id", Value: 1}},
				Options: options.Index().SetUnique(true).SetName("assessment_obligation_unique"),
			},
			{
				Keys:    bson.D{{Key: "incident_id", Value: 1}, {Key: "_id", Value: 1}},
				Options: options.Index().SetName("incident_id"),
			},
			{
				Keys:    bson.D{{Key: "state", Value: 1}},
				Options: options.Index().SetName("state"),
			},
		},
		timelineColl: {
			{
				Keys:    bson.D{{Key: "pending", Value: 1}, {Key: "next_attempt_at", Value: 1}},
				Options: options.Index().SetName("pending_next_attempt"),
			},
		},
		noticesColl:   noticeIndexes(),
		NoticeQueue:   noticeQueueIndexes(),
		artifactsColl: artifactIndexes(),
		bouncesColl:   bounceIndexes(),
		fallbacksColl: fallbackIndexes(),
		holdsColl: {
			{
				Keys:    bson.D{{Key: "request_id", Value: 1}},
				Options: options.Index().SetUnique(true).SetName("request_id_unique"),
			},
		},
	}
}

// campaignDoc is a stored campaign. The obligation id sits at the top level
// beside assessment_id because together they are the unique key.
type campaignDoc struct {
	ID           string        `bson:"_id"`
	IncidentID   string        `bson:"incident_id"`
	AssessmentID string        `bson:"assessment_id"`
	ObligationID string        `bson:"obligation_id"`
	Obligation   obligationDoc `bson:"obligation"`
	State        string        `bson:"state"`
	Channel      string        `bson:"channel"`
	CreateTime   time.Time     `bson:"create_time"`

	TemplateID      string            `bson:"template_id,omitempty"`
	Content         map[string]string `bson:"content,omitempty"`
	Version         int64             `bson:"version"`
	ContentHash     string            `bson:"content_hash"`
	DraftedBy       string            `bson:"drafted_by"`
	Approvals       []approvalDoc     `bson:"approvals"`
	RecipientChunks []string          `bson:"recipient_chunks"`
	RecipientCount  int64             `bson:"recipient_count"`
	SentVersion     int64             `bson:"sent_version"`
}

type approvalDoc struct {
	Approver    string    `bson:"approver"`
	Role        string    `bson:"role"`
	Version     int64     `bson:"version"`
	ContentHash string    `bson:"content_hash"`
	Time        time.Time `bson:"time"`
}

// obligationDoc is the obligation copied into a campaign. BSON dates hold
// milliseconds, so the deadline is kept as a date (for queries such as
// deadline escalation) plus the sub-millisecond remainder in nanoseconds, and
// reads back exactly.
type obligationDoc struct {
	RulePack        string     `bson:"rule_pack"`
	RulePackVersion string     `bson:"rule_pack_version"`
	RuleID          string     `bson:"rule_id"`
	Jurisdiction    string     `bson:"jurisdiction"`
	Audience        string     `bson:"audience"`
	Deadline        *time.Time `bson:"deadline,omitempty"`
	DeadlineSubMsNs int32      `bson:"deadline_sub_ms_ns,omitempty"`
	DeadlineText    string     `bson:"deadline_text"`
	Reason          string     `bson:"reason"`
	Citation        string     `bson:"citation"`
	AffectedCount   int64      `bson:"affected_count"`
	Recipient       string     `bson:"recipient,omitempty"`
}

func toDoc(c domain.Campaign) campaignDoc {
	o := c.Obligation
	d := campaignDoc{
		ID:           c.ID,
		IncidentID:   c.IncidentID,
		AssessmentID: c.AssessmentID,
		ObligationID: o.ID,
		Obligation: obligationDoc{
			RulePack:        o.RulePack,
			RulePackVersion: o.RulePackVersion,
			RuleID:          o.RuleID,
			Jurisdiction:    o.Jurisdiction,
			Audience:        o.Audience.String(),
			DeadlineText:    o.DeadlineText,
			Reason:          o.Reason,
			Citation:        o.Citation,
			AffectedCount:   o.AffectedCount,
			Recipient:       o.Recipient,
		},
		State:      c.State.String(),
		Channel:    c.Channel.String(),
		CreateTime: c.CreateTime.UTC(),

		TemplateID:      c.TemplateID,
		Content:         c.Content,
		Version:         c.Version,
		ContentHash:     c.ContentHash,
		DraftedBy:       c.DraftedBy,
		Approvals:       []approvalDoc{},
		RecipientChunks: c.RecipientChunks,
		RecipientCount:  c.RecipientCount,
		SentVersion:     c.SentVersion,
	}
	if d.RecipientChunks == nil {
		d.RecipientChunks = []string{}
	}
	for _, a := range c.Approvals {
		d.Approvals = append(d.Approvals, approvalDoc(a))
	}
	if !o.Deadline.IsZero() {
		ms := o.Deadline.UTC().Truncate(time.Millisecond)
		d.Obligation.Deadline = &ms
		d.Obligation.DeadlineSubMsNs = int32(o.Deadline.Sub(ms))
	}
	return d
}

func fromDoc(d campaignDoc) (domain.Campaign, error) {
	aud, err := domain.ParseAudience(d.Obligation.Audience)
	if err != nil {
		return domain.Campaign{}, fmt.Errorf("campaign %s: %w", d.ID, err)
	}
	st, err := domain.ParseState(d.State)
	if err != nil {
		return domain.Campaign{}, fmt.Errorf("campaign %s: %w", d.ID, err)
	}
	ch, err := domain.ParseChannel(d.Channel)
	if err != nil {
		return domain.Campaign{}, fmt.Errorf("campaign %s: %w", d.ID, err)
	}
	o := d.Obligation
	c := domain.Campaign{
		ID:           d.ID,
		IncidentID:   d.IncidentID,
		AssessmentID: d.AssessmentID,
		Obligation: domain.Obligation{
			ID:              d.ObligationID,
			RulePack:        o.RulePack,
			RulePackVersion: o.RulePackVersion,
			RuleID:          o.RuleID,
			Jurisdiction:    o.Jurisdiction,
			Audience:        aud,
			DeadlineText:    o.DeadlineText,
			Reason:          o.Reason,
			Citation:        o.Citation,
			AffectedCount:   o.AffectedCount,
			Recipient:       o.Recipient,
		},
		State:      st,
		Channel:    ch,
		CreateTime: d.CreateTime.UTC(),

		TemplateID:      d.TemplateID,
		Content:         d.Content,
		Version:         d.Version,
		ContentHash:     d.ContentHash,
		DraftedBy:       d.DraftedBy,
		RecipientChunks: d.RecipientChunks,
		RecipientCount:  d.RecipientCount,
		SentVersion:     d.SentVersion,
	}
	if len(c.RecipientChunks) == 0 {
		c.RecipientChunks = nil
	}
	if len(c.Content) == 0 {
		c.Content = nil
	}
	for _, a := range d.Approvals {
		a.Time = a.Time.UTC()
		c.Approvals = append(c.Approvals, domain.Approval(a))
	}
	if o.Deadline != nil {
		c.Obligation.Deadline = o.Deadline.UTC().Add(time.Duration(o.DeadlineSubMsNs))
	}
	return c, nil
}

// CreateDrafts implements domain.Store. It inserts every draft in one
// unordered batch and counts the unique-index violations as "already
// existed": the index, not a read-before-write, decides, so two racing
// callers cannot both create a campaign for the same obligation. It then
// reads the stored campaigns back, in input order.
func (s *Store) CreateDrafts(ctx context.Context, drafts []domain.Campaign) ([]domain.Campaign, int, error) {
	if len(drafts) == 0 {
		return []domain.Campaign{}, 0, nil
	}
	docs := make([]any, len(drafts))
	for i, c := range drafts {
		docs[i] = toDoc(c)
	}
	created := len(drafts)
	_, err := s.campaigns.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		// Every draft is stored as given: answer from the documents written
		// (round-tripped through BSON, so exactly as a read would return
		// them) instead of a read-back by natural key, which on the
		// embedded store reads every campaign.
		out := make([]domain.Campaign, len(docs))
		for i, d := range docs {
			if out[i], err = roundTrip(d.(campaignDoc)); err != nil {
				return nil, 0, err
			}
		}
		return out, created, nil
	}
	dups, ok := onlyDuplicates(err)
	if !ok {
		return nil, 0, fmt.Errorf("insert campaigns: %w", err)
	}
	created -= dups
	stored, err := s.findByKeys(ctx, drafts)
	if err != nil {
		return nil, 0, err
	}
	return stored, created, nil
}

// roundTrip returns the campaign a read of d would return.
func roundTrip(d campaignDoc) (domain.Campaign, error) {
	raw, err := bson.Marshal(d)
	if err != nil {
		return domain.Campaign{}, fmt.Errorf("encode campaign %s: %w", d.ID, err)
	}
	var back campaignDoc
	if err := bson.Unmarshal(raw, &back); err != nil {
		return domain.Campaign{}, fmt.Errorf("decode campaign %s: %w", d.ID, err)
	}
	return fromDoc(back)
}

// onlyDuplicates reports how many writes of a bulk error were unique-index
// violations, and whether those were all that went wrong.
func onlyDuplicates(err error) (int, bool) {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return 0, false
	}
	for _, we := range bwe.WriteErrors {
		if !mongox.IsDuplicateKey(we.WriteError) {
			return 0, false
		}
	}
	return len(bwe.WriteErrors), true
}

type naturalKey struct{ assessment, obligation string }

// findByKeys returns the stored campaign for each draft's natural key, in
// the drafts' order.
func (s *Store) findByKeys(ctx context.Context, drafts []domain.Campaign) ([]domain.Campaign, error) {
	assessments := map[string]bool{}
	var assessmentIDs, obligationIDs bson.A
	for _, c := range drafts {
		if !assessments[c.AssessmentID] {
			assessments[c.AssessmentID] = true
			assessmentIDs = append(assessmentIDs, c.AssessmentID)
		}
		obligationIDs = append(obligationIDs, c.Obligation.ID)
	}
	filter := bson.D{
		{Key: "assessment_id", Value: bson.D{{Key: "$in", Value: assessmentIDs}}},
		{Key: "obligation_id", Value: bson.D{{Key: "$in", Value: obligationIDs}}},
	}
	found, err := s.find(ctx, filter, options.Find())
	if err != nil {
		return nil, err
	}
	byKey := make(map[naturalKey]domain.Campaign, len(found))
	for _, c := range found {
		byKey[naturalKey{c.AssessmentID, c.Obligation.ID}] = c
	}
	out := make([]domain.Campaign, len(drafts))
	for i, d := range drafts {
		c, ok := byKey[naturalKey{d.AssessmentID, d.Obligation.ID}]
		if !ok {
			// Inserted or existing a moment ago; absent now only if the
			// store lost an acknowledged write.
			return nil, fmt.Errorf("campaign for assessment %s obligation %s missing after insert", d.AssessmentID, d.Obligation.ID)
		}
		out[i] = c
	}
	return out, nil
}

// Get implements domain.Store.
func (s *Store) Get(ctx context.Context, id string) (domain.Campaign, error) {
	var d campaignDoc
	if err := s.campaigns.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return domain.Campaign{}, mongox.NotFound(err, "find campaign")
	}
	return fromDoc(d)
}

// List implements domain.Store with a range on _id (never skip), so a page
// costs the same however deep it is.
func (s *Store) List(ctx context.Context, q domain.ListQuery) ([]domain.Campaign, error) {
	filter := bson.D{}
	if q.IncidentID != "" {
		filter = append(filter, bson.E{Key: "incident_id", Value: q.IncidentID})
	}
	if q.After != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: q.After}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(q.Limit))
	return s.find(ctx, filter, opts)
}

func (s *Store) find(ctx context.Context, filter bson.D, opts *options.FindOptionsBuilder) ([]domain.Campaign, error) {
	docs, err := mongox.FindAll[campaignDoc](ctx, s.campaigns, filter, opts)
	if err != nil {
		return nil, fmt.Errorf("find campaigns: %w", err)
	}
	out := make([]domain.Campaign, 0, len(docs))
	for _, d := range docs {
		c, err := fromDoc(d)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
