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

// Store is the MongoDB implementation of domain.Store.
type Store struct {
	coll *mongo.Collection
}

var _ domain.Store = (*Store)(nil)

// New returns a Store over db. Call mongox.EnsureIndexes(ctx, db, Indexes())
// first: idempotency rests on the unique request_id index.
func New(db *mongo.Database) *Store {
	return &Store{coll: db.Collection(Collection)}
}

// Indexes are the indexes the Store relies on: request_id unique (one
// assessment per idempotency key), incident_id for filtered listing, and
// the pending-campaigns queue the relay claims from.
func Indexes() mongox.Indexes {
	return mongox.Indexes{Collection: {
		{Keys: bson.D{{Key: "request_id", Value: 1}}, Options: options.Index().SetUnique(true).SetName("request_id_unique")},
		{Keys: bson.D{{Key: "incident_id", Value: 1}, {Key: "_id", Value: -1}}, Options: options.Index().SetName("incident_newest")},
		{Keys: bson.D{{Key: "campaigns_pending", Value: 1}, {Key: "next_attempt_at", Value: 1}}, Options: options.Index().SetName("campaigns_due")},
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

	// The pending hand-over to dispatch (see domain.Relay).
	CampaignsPending bool       `bson:"campaigns_pending"`
	NextAttemptAt    time.Time  `bson:"next_attempt_at"`
	Attempts         int        `bson:"attempts"`
	LeaseUntil       *time.Time `bson:"lease_until,omitempty"`
	LeaseOwner       string     `bson:"lease_owner,omitempty"`
	LastError        string     `bson:"last_error,omitempty"`
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

// Create inserts a with campaigns pending; on a duplicate request_id it
// returns the stored assessment instead (created=false).
func (s *Store) Create(ctx context.Context, a domain.Assessment) (domain.Assessment, bool, error) {
	doc := toDoc(a)
	doc.CampaignsPending = true
	doc.NextAttemptAt = a.CreateTime
	_, err := s.coll.InsertOne(ctx, doc)
	if err == nil {
		return fromDoc(doc), true, nil
	}
	if !mongox.IsDuplicateKey(err) {
		return domain.Assessment{}, false, fmt.Errorf("insert assessment: %w", err)
	}
	var stored assessmentDoc
	err = s.coll.FindOne(ctx, bson.D{{Key: "request_id", Value: a.RequestID}}).Decode(&stored)
	if err != nil {
		return domain.Assessment{}, false, mongox.NotFound(err, "assessment by request_id")
	}
	return fromDoc(stored), false, nil
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

// ClaimPendingCampaigns leases the oldest due assessment with campaigns
// pending (mongox.Claim also increments attempts).
func (s *Store) ClaimPendingCampaigns(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (domain.PendingCampaigns, bool, error) {
	var doc assessmentDoc
	ok, err := mongox.Claim(ctx, s.coll, bson.D{
		{Key: "campaigns_pending", Value: true},
		{Key: "next_attempt_at", Value: bson.D{{Key: "$lte", Value: now}}},
	}, owner, now, leaseFor, &doc)
	if err != nil || !ok {
		return domain.PendingCampaigns{}, false, err
	}
	return domain.PendingCampaigns{Assessment: fromDoc(doc), Attempts: doc.Attempts}, true, nil
}

// errLeaseLost: the lease expired and another replica took the work; it will
// finish it, so this replica's result is dropped.
var errLeaseLost = errors.New("lease lost")

// CompleteCampaigns clears the pending flag, if owner still holds the lease.
func (s *Store) CompleteCampaigns(ctx context.Context, id, owner string) error {
	return s.release(ctx, id, owner, bson.D{{Key: "campaigns_pending", Value: false}}, bson.D{{Key: "last_error", Value: ""}})
}

// RetryCampaigns records the failure and makes the assessment due at next.
func (s *Store) RetryCampaigns(ctx context.Context, id, owner, lastError string, next time.Time) error {
	return s.release(ctx, id, owner, bson.D{{Key: "last_error", Value: lastError}, {Key: "next_attempt_at", Value: next}}, nil)
}

func (s *Store) release(ctx context.Context, id, owner string, set, unset bson.D) error {
	unset = append(unset, bson.E{Key: mongox.LeaseUntilField, Value: ""}, bson.E{Key: mongox.LeaseOwnerField, Value: ""})
	res, err := s.coll.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: mongox.LeaseOwnerField, Value: owner}},
		bson.D{{Key: "$set", Value: set}, {Key: "$unset", Value: unset}})
	if err != nil {
		return fmt.Errorf("update assessment %s: %w", id, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("assessment %s: %w: %w", id, errLeaseLost, apperr.ErrConflict)
	}
	return nil
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
