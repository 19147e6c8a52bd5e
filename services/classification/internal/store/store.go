// Package store keeps assessments in MongoDB (collection "assessments"),
// together with the pending hand-over of their obligations to dispatch. It
// uses only single-document atomic operations and unique indexes, so it runs
// the same on a replica set and on the embedded FerretDB server.
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
	"github.com/breachline/breachline/services/classification/internal/domain"
)

// Collection is where assessments live.
const Collection = "assessments"

// CampaignQueue is the queue of assessments whose obligations are still to
// be handed to dispatch (mongox.Queue: one document per pending hand-over,
// keyed by assessment id, deleted when done; fences in
// "campaign_handovers_leases"). The relay claims from this small collection,
// never from the growing assessments.
const CampaignQueue = "campaign_handovers"

// Store is the MongoDB implementation of domain.Store.
type Store struct {
	coll  *mongo.Collection
	queue *mongox.Queue
}

var _ domain.Store = (*Store)(nil)

// New returns a Store over db. Call mongox.EnsureIndexes(ctx, db, Indexes())
// first: idempotency rests on the unique request_id index.
func New(db *mongo.Database) *Store {
	return &Store{coll: db.Collection(Collection), queue: mongox.NewQueue(db, CampaignQueue)}
}

// Indexes are the indexes the Store relies on: request_id unique (one
// assessment per idempotency key), incident_id for filtered listing, and
// the due order of the hand-over queue.
func Indexes() mongox.Indexes {
	return mongox.Indexes{Collection: {
		{Keys: bson.D{{Key: "request_id", Value: 1}}, Options: options.Index().SetUnique(true).SetName("request_id_unique")},
		{Keys: bson.D{{Key: "incident_id", Value: 1}, {Key: "_id", Value: -1}}, Options: options.Index().SetName("incident_newest")},
	}, CampaignQueue: {
		{Keys: bson.D{{Key: "due_at", Value: 1}}, Options: options.Index().SetName("due")},
	}, HandoverCollection: handoverIndexes()}
}

type assessmentDoc struct {
	ID                  string          `bson:"_id"`
	RequestID           string          `bson:"request_id"`
	RequestHash         string          `bson:"request_hash"`
	IncidentID          string          `bson:"incident_id"`
	Facts               factsDoc        `bson:"facts"`
	PersonalInformation bool            `bson:"personal_information"`
	Findings            []string        `bson:"findings"`
	Exceptions          []string        `bson:"exceptions"`
	Obligations         []obligationDoc `bson:"obligations"`
	RulePacks           []rulePackDoc   `bson:"rule_packs"`
	Customers           []customerDoc   `bson:"customer_terms,omitempty"`
	CreateTime          time.Time       `bson:"create_time"`

	// Whether the hand-over to dispatch is still owed (see domain.Relay);
	// while it is, the assessment's id is in CampaignQueue.
	CampaignsPending bool `bson:"campaigns_pending"`
}

type factsDoc struct {
	DataElements             []string      `bson:"data_elements"`
	EncryptedElements        []string      `bson:"encrypted_elements"`
	EncryptionKeyCompromised bool          `bson:"encryption_key_compromised"`
	Affected                 []affectedDoc `bson:"affected"`
	RetrievedBeforeMisuse    bool          `bson:"retrieved_before_misuse"`
	ProperlyDisposed         bool          `bson:"properly_disposed"`
	PublicRecordsOnly        bool          `bson:"public_records_only"`
	DiscoveredAt             time.Time     `bson:"discovered_at"`
	DeterminedAt             *time.Time    `bson:"determined_at,omitempty"`
	CustomerIDs              []string      `bson:"customer_ids,omitempty"`
	Role                     string        `bson:"role,omitempty"`
	HIPAARole                string        `bson:"hipaa_role,omitempty"`
	NIS2Entity               string        `bson:"nis2_entity,omitempty"`
	SECRegistrant            bool          `bson:"sec_registrant,omitempty"`
	MaterialityDeterminedAt  *time.Time    `bson:"materiality_determined_at,omitempty"`
	Holds                    []holdDoc     `bson:"law_enforcement_holds,omitempty"`
	NoticeCostUSD            int64         `bson:"notice_cost_estimate_usd,omitempty"`
}

type holdDoc struct {
	ID            string     `bson:"hold_id"`
	RequestedBy   string     `bson:"requested_by"`
	Reason        string     `bson:"reason,omitempty"`
	Start         time.Time  `bson:"start_time"`
	End           *time.Time `bson:"end_time,omitempty"`
	Jurisdictions []string   `bson:"jurisdictions,omitempty"`
	Audiences     []string   `bson:"audiences,omitempty"`
}

type customerDoc struct {
	CustomerID           string `bson:"customer_id"`
	Found                bool   `bson:"found"`
	DisplayName          string `bson:"display_name,omitempty"`
	NotificationEmail    string `bson:"notification_email,omitempty"`
	NotifyWithinHours    int32  `bson:"notify_within_hours,omitempty"`
	EmployeeNotification string `bson:"employee_notification,omitempty"`
	Etag                 string `bson:"etag,omitempty"`
}

type affectedDoc struct {
	Jurisdiction string `bson:"jurisdiction"`
	Count        int64  `bson:"count"`
}

type obligationDoc struct {
	ObligationID       string     `bson:"obligation_id"`
	RulePack           string     `bson:"rule_pack"`
	RulePackVersion    string     `bson:"rule_pack_version"`
	RuleID             string     `bson:"rule_id"`
	Jurisdiction       string     `bson:"jurisdiction"`
	Audience           string     `bson:"audience"`
	Deadline           *time.Time `bson:"deadline,omitempty"`
	DeadlineText       string     `bson:"deadline_text"`
	Reason             string     `bson:"reason"`
	Citation           string     `bson:"citation"`
	AffectedCount      int64      `bson:"affected_count"`
	Title              string     `bson:"title,omitempty"`
	Notify             bool       `bson:"notify"`
	Paused             bool       `bson:"paused,omitempty"`
	PausedSince        *time.Time `bson:"paused_since,omitempty"`
	HoldIDs            []string   `bson:"hold_ids,omitempty"`
	RequiredContent    []string   `bson:"required_content,omitempty"`
	ChannelConstraints []string   `bson:"channel_constraints,omitempty"`
	Recipient          string     `bson:"recipient,omitempty"`
	DeadlineBasis      string     `bson:"deadline_basis,omitempty"`
	ManualReview       bool       `bson:"manual_review,omitempty"`
	Unverified         bool       `bson:"unverified,omitempty"`
}

type rulePackDoc struct {
	Pack    string `bson:"pack"`
	Version string `bson:"version"`
}

// Create inserts a with campaigns pending and queues its hand-over; on a
// duplicate request_id it returns the stored assessment instead
// (created=false), queueing its hand-over again if it is still owed, so a
// replica that died between the two inserts is repaired by the caller's
// retry.
func (s *Store) Create(ctx context.Context, a domain.Assessment) (domain.Assessment, bool, error) {
	doc := toDoc(a)
	doc.CampaignsPending = true
	_, err := s.coll.InsertOne(ctx, doc)
	created := err == nil
	if err != nil && !mongox.IsDuplicateKey(err) {
		return domain.Assessment{}, false, fmt.Errorf("insert assessment: %w", err)
	}
	if !created {
		// The request_id lookup reads every assessment on the embedded
		// store; it runs only for a repeated request.
		if err := s.coll.FindOne(ctx, bson.D{{Key: "request_id", Value: a.RequestID}}).Decode(&doc); err != nil {
			return domain.Assessment{}, false, mongox.NotFound(err, "assessment by request_id")
		}
	}
	if doc.CampaignsPending {
		if err := s.queue.Enqueue(ctx, doc.ID, doc.CreateTime); err != nil {
			return domain.Assessment{}, false, fmt.Errorf("queue campaigns of %s: %w", doc.ID, err)
		}
	}
	return fromDoc(doc), created, nil
}

// Get returns one assessment.
func (s *Store) Get(ctx context.Context, id string) (domain.Assessment, error) {
	var doc assessmentDoc
	if err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
		return domain.Assessment{}, mongox.NotFound(err, "assessment "+id)
	}
	return fromDoc(doc), nil
}

// pageCursor is what a page token carries: the last id returned and the
// filter it belongs to, so a token cannot be replayed against another filter.
type pageCursor struct {
	Last       string `json:"l"`
	IncidentID string `json:"i,omitempty"`
}

// List returns assessments newest first (ids are time-ordered), resuming
// after the token's last id with a range filter, never skip().
func (s *Store) List(ctx context.Context, q domain.ListQuery) ([]domain.Assessment, string, error) {
	filter := bson.D{}
	if q.IncidentID != "" {
		filter = append(filter, bson.E{Key: "incident_id", Value: q.IncidentID})
	}
	if q.PageToken != "" {
		var c pageCursor
		if err := mongox.DecodePageToken(q.PageToken, &c); err != nil {
			return nil, "", err
		}
		if c.IncidentID != q.IncidentID || c.Last == "" {
			return nil, "", apperr.Invalid("page_token", "does not belong to this query's incident_id filter")
		}
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: c.Last}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(q.PageSize) + 1)
	docs, err := mongox.FindAll[assessmentDoc](ctx, s.coll, filter, opts)
	if err != nil {
		return nil, "", fmt.Errorf("list assessments: %w", err)
	}
	var next string
	if len(docs) > q.PageSize {
		docs = docs[:q.PageSize]
		next, err = mongox.EncodePageToken(pageCursor{Last: docs[len(docs)-1].ID, IncidentID: q.IncidentID})
		if err != nil {
			return nil, "", err
		}
	}
	out := make([]domain.Assessment, len(docs))
	for i, d := range docs {
		out[i] = fromDoc(d)
	}
	return out, next, nil
}

// ClaimPendingCampaigns claims the earliest due hand-over from
// CampaignQueue and reads its assessment by _id. A queued id whose
// assessment is missing or no longer pending is dropped from the queue.
func (s *Store) ClaimPendingCampaigns(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (domain.PendingCampaigns, bool, error) {
	for {
		job, ok, err := s.queue.Claim(ctx, owner, now, leaseFor)
		if err != nil || !ok {
			return domain.PendingCampaigns{}, false, err
		}
		var doc assessmentDoc
		err = s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: job.Key}}).Decode(&doc)
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return domain.PendingCampaigns{}, false, fmt.Errorf("read assessment %s: %w", job.Key, err)
		}
		if err == nil && doc.CampaignsPending {
			return domain.PendingCampaigns{Assessment: fromDoc(doc), Attempts: job.Attempt}, true, nil
		}
		if err := s.queue.Done(ctx, job); err != nil && !errors.Is(err, mongox.ErrLeaseLost) {
			return domain.PendingCampaigns{}, false, err
		}
	}
}

// errLeaseLost: the lease expired and another replica took the work; it will
// finish it, so this replica's result is dropped.
var errLeaseLost = mongox.ErrLeaseLost

// CompleteCampaigns removes the hand-over from the queue, if owner still
// holds its lease, and clears the assessment's pending flag.
func (s *Store) CompleteCampaigns(ctx context.Context, id, owner string) error {
	if err := s.queue.Done(ctx, mongox.Job{Key: id, Owner: owner}); err != nil {
		return leaseErr(id, err)
	}
	if _, err := s.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "campaigns_pending", Value: false}}}}); err != nil {
		return fmt.Errorf("update assessment %s: %w", id, err)
	}
	return nil
}

// RetryCampaigns records the failure on the queued hand-over and makes it
// due at next.
func (s *Store) RetryCampaigns(ctx context.Context, id, owner, lastError string, next time.Time) error {
	if err := s.queue.Retry(ctx, mongox.Job{Key: id, Owner: owner}, next, lastError); err != nil {
		return leaseErr(id, err)
	}
	return nil
}

// leaseErr marks a lost lease as a conflict (the relay drops its result).
func leaseErr(id string, err error) error {
	if errors.Is(err, mongox.ErrLeaseLost) {
		return fmt.Errorf("assessment %s: %w: %w", id, err, apperr.ErrConflict)
	}
	return fmt.Errorf("assessment %s: %w", id, err)
}

func toDoc(a domain.Assessment) assessmentDoc {
	d := assessmentDoc{
		ID:                  a.ID,
		RequestID:           a.RequestID,
		RequestHash:         a.RequestHash,
		IncidentID:          a.IncidentID,
		PersonalInformation: a.PersonalInformation,
		Findings:            nonNil(a.Findings),
		Exceptions:          nonNil(a.Exceptions),
		Obligations:         make([]obligationDoc, len(a.Obligations)),
		RulePacks:           make([]rulePackDoc, len(a.RulePacks)),
		CreateTime:          a.CreateTime.UTC(),
		Facts: factsDoc{
			DataElements:             elementStrings(a.Facts.DataElements),
			EncryptedElements:        elementStrings(a.Facts.EncryptedElements),
			EncryptionKeyCompromised: a.Facts.EncryptionKeyCompromised,
			Affected:                 make([]affectedDoc, len(a.Facts.Affected)),
			RetrievedBeforeMisuse:    a.Facts.RetrievedBeforeMisuse,
			ProperlyDisposed:         a.Facts.ProperlyDisposed,
			PublicRecordsOnly:        a.Facts.PublicRecordsOnly,
			DiscoveredAt:             a.Facts.DiscoveredAt.UTC(),
			DeterminedAt:             timePtr(a.Facts.DeterminedAt),
			CustomerIDs:              a.Facts.CustomerIDs,
			Role:                     a.Facts.Role,
			HIPAARole:                a.Facts.HIPAARole,
			NIS2Entity:               a.Facts.NIS2Entity,
			SECRegistrant:            a.Facts.SECRegistrant,
			MaterialityDeterminedAt:  timePtr(a.Facts.MaterialityDeterminedAt),
			NoticeCostUSD:            a.Facts.NoticeCostUSD,
		},
	}
	for _, h := range a.Facts.Holds {
		hd := holdDoc{ID: h.ID, RequestedBy: h.RequestedBy, Reason: h.Reason, Start: h.Start.UTC(), End: timePtr(h.End), Jurisdictions: h.Jurisdictions}
		for _, au := range h.Audiences {
			hd.Audiences = append(hd.Audiences, string(au))
		}
		d.Facts.Holds = append(d.Facts.Holds, hd)
	}
	for _, c := range a.Customers {
		d.Customers = append(d.Customers, customerDoc(c))
	}
	for i, c := range a.Facts.Affected {
		d.Facts.Affected[i] = affectedDoc{Jurisdiction: c.Jurisdiction, Count: c.Count}
	}
	for i, o := range a.Obligations {
		od := obligationDoc{
			ObligationID: o.ObligationID, RulePack: o.RulePack, RulePackVersion: o.RulePackVersion,
			RuleID: o.RuleID, Jurisdiction: o.Jurisdiction, Audience: string(o.Audience),
			DeadlineText: o.DeadlineText, Reason: o.Reason, Citation: o.Citation, AffectedCount: o.AffectedCount,
			Title: o.Title, Notify: o.Notify, Paused: o.Paused, PausedSince: timePtr(o.PausedSince), HoldIDs: o.HoldIDs,
			RequiredContent: o.RequiredContent, ChannelConstraints: o.ChannelConstraints, Recipient: o.Recipient,
			DeadlineBasis: o.DeadlineBasis, ManualReview: o.ManualReview, Unverified: o.Unverified,
		}
		if !o.Deadline.IsZero() {
			dl := o.Deadline.UTC()
			od.Deadline = &dl
		}
		d.Obligations[i] = od
	}
	for i, r := range a.RulePacks {
		d.RulePacks[i] = rulePackDoc{Pack: r.Pack, Version: r.Version}
	}
	return d
}

func fromDoc(d assessmentDoc) domain.Assessment {
	a := domain.Assessment{
		ID:          d.ID,
		RequestID:   d.RequestID,
		RequestHash: d.RequestHash,
		IncidentID:  d.IncidentID,
		Facts: domain.Facts{
			DataElements:             elements(d.Facts.DataElements),
			EncryptedElements:        elements(d.Facts.EncryptedElements),
			EncryptionKeyCompromised: d.Facts.EncryptionKeyCompromised,
			RetrievedBeforeMisuse:    d.Facts.RetrievedBeforeMisuse,
			ProperlyDisposed:         d.Facts.ProperlyDisposed,
			PublicRecordsOnly:        d.Facts.PublicRecordsOnly,
			DiscoveredAt:             d.Facts.DiscoveredAt.UTC(),
			DeterminedAt:             timeVal(d.Facts.DeterminedAt),
			CustomerIDs:              d.Facts.CustomerIDs,
			Role:                     d.Facts.Role,
			HIPAARole:                d.Facts.HIPAARole,
			NIS2Entity:               d.Facts.NIS2Entity,
			SECRegistrant:            d.Facts.SECRegistrant,
			MaterialityDeterminedAt:  timeVal(d.Facts.MaterialityDeterminedAt),
			NoticeCostUSD:            d.Facts.NoticeCostUSD,
		},
		Decision: domain.Decision{
			PersonalInformation: d.PersonalInformation,
			Findings:            d.Findings,
			Exceptions:          d.Exceptions,
		},
		CreateTime: d.CreateTime.UTC(),
	}
	for _, h := range d.Facts.Holds {
		hold := domain.Hold{ID: h.ID, RequestedBy: h.RequestedBy, Reason: h.Reason, Start: h.Start.UTC(), End: timeVal(h.End), Jurisdictions: h.Jurisdictions}
		for _, au := range h.Audiences {
			hold.Audiences = append(hold.Audiences, domain.Audience(au))
		}
		a.Facts.Holds = append(a.Facts.Holds, hold)
	}
	for _, c := range d.Customers {
		a.Customers = append(a.Customers, domain.CustomerTerms(c))
	}
	for _, c := range d.Facts.Affected {
		a.Facts.Affected = append(a.Facts.Affected, domain.JurisdictionCount{Jurisdiction: c.Jurisdiction, Count: c.Count})
	}
	for _, o := range d.Obligations {
		ob := domain.Obligation{
			ObligationID: o.ObligationID, RulePack: o.RulePack, RulePackVersion: o.RulePackVersion,
			RuleID: o.RuleID, Jurisdiction: o.Jurisdiction, Audience: domain.Audience(o.Audience),
			DeadlineText: o.DeadlineText, Reason: o.Reason, Citation: o.Citation, AffectedCount: o.AffectedCount,
			Title: o.Title, Notify: o.Notify, Paused: o.Paused, PausedSince: timeVal(o.PausedSince), HoldIDs: o.HoldIDs,
			RequiredContent: o.RequiredContent, ChannelConstraints: o.ChannelConstraints, Recipient: o.Recipient,
			DeadlineBasis: o.DeadlineBasis, ManualReview: o.ManualReview, Unverified: o.Unverified,
		}
		if o.Deadline != nil {
			ob.Deadline = o.Deadline.UTC()
		}
		a.Obligations = append(a.Obligations, ob)
	}
	for _, r := range d.RulePacks {
		a.RulePacks = append(a.RulePacks, domain.RulePackRef{Pack: r.Pack, Version: r.Version})
	}
	return a
}

func elementStrings(es []domain.Element) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = string(e)
	}
	return out
}

func elements(ss []string) []domain.Element {
	if len(ss) == 0 {
		return nil
	}
	out := make([]domain.Element, len(ss))
	for i, s := range ss {
		out[i] = domain.Element(s)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func timeVal(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
