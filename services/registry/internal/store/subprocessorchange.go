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
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// changeDoc is a proposed subprocessor change; _id is the "spc_..." id.
type changeDoc struct {
	ID              string    `bson:"_id"`
	Kind            string    `bson:"kind"`
	SubprocessorID  string    `bson:"subprocessor_id"`
	ReplacesID      string    `bson:"replaces_subprocessor_id,omitempty"`
	Description     string    `bson:"description,omitempty"`
	EffectiveTime   time.Time `bson:"effective_time"`
	ObjectionWindow int64     `bson:"objection_window_ms"`
	Products        []string  `bson:"products"`
	AffectedCount   int32     `bson:"affected_customer_count"`
	CreateTime      time.Time `bson:"create_time"`
	ProposedBy      string    `bson:"proposed_by,omitempty"`
	FanoutPending   bool      `bson:"fanout_pending"`
	RequestKey      string    `bson:"request_key"`
	Fingerprint     string    `bson:"fingerprint"`
}

func (d changeDoc) toDomain() domain.SubprocessorChange {
	return domain.SubprocessorChange{
		ID:              d.ID,
		Kind:            domain.ChangeKind(d.Kind),
		SubprocessorID:  d.SubprocessorID,
		ReplacesID:      d.ReplacesID,
		Description:     d.Description,
		EffectiveTime:   utc(d.EffectiveTime),
		ObjectionWindow: time.Duration(d.ObjectionWindow) * time.Millisecond,
		Products:        nilIfEmpty(d.Products),
		AffectedCount:   d.AffectedCount,
		CreateTime:      utc(d.CreateTime),
		ProposedBy:      d.ProposedBy,
		FanoutPending:   d.FanoutPending,
	}
}

// changeCustomerDoc is one affected customer of a change; _id is
// "<change>#<customer>". Only the notice worker writes it after the
// fan-out, so its updates never race another writer's.
type changeCustomerDoc struct {
	ID                string     `bson:"_id"`
	ChangeID          string     `bson:"change_id"`
	CustomerID        string     `bson:"customer_id"`
	NotificationEmail string     `bson:"notification_email"`
	NotifyPending     bool       `bson:"notify_pending"`
	NotifyTime        *time.Time `bson:"notify_time,omitempty"`
	NoticeID          string     `bson:"notice_id,omitempty"`
	WindowEnd         *time.Time `bson:"window_end_time,omitempty"`
}

func (d changeCustomerDoc) toDomain() domain.ChangeCustomer {
	e := domain.ChangeCustomer{
		ChangeID:          d.ChangeID,
		CustomerID:        d.CustomerID,
		NotificationEmail: d.NotificationEmail,
		NotifyPending:     d.NotifyPending,
		NoticeID:          d.NoticeID,
	}
	if d.NotifyTime != nil {
		e.NotifyTime = utc(*d.NotifyTime)
	}
	if d.WindowEnd != nil {
		e.WindowEnd = utc(*d.WindowEnd)
	}
	return e
}

// objectionDoc is an objection; _id is "<change>#<customer>" (one per
// customer and change). Insert-only.
type objectionDoc struct {
	ID          string    `bson:"_id"`
	ChangeID    string    `bson:"change_id"`
	CustomerID  string    `bson:"customer_id"`
	Reason      string    `bson:"reason"`
	ObjectTime  time.Time `bson:"object_time"`
	ObjectedBy  string    `bson:"objected_by,omitempty"`
	RequestKey  string    `bson:"request_key"`
	Fingerprint string    `bson:"fingerprint"`
}

// resolutionDoc resolves the objection with the same _id. Insert-only.
type resolutionDoc struct {
	ID          string    `bson:"_id"`
	ChangeID    string    `bson:"change_id"`
	CustomerID  string    `bson:"customer_id"`
	Outcome     string    `bson:"outcome"`
	Note        string    `bson:"note"`
	ResolveTime time.Time `bson:"resolve_time"`
	ResolvedBy  string    `bson:"resolved_by,omitempty"`
	RequestKey  string    `bson:"request_key"`
	Fingerprint string    `bson:"fingerprint"`
}

func entryID(changeID, customerID string) string { return changeID + "#" + customerID }

// CreateSubprocessorChange implements domain.SubprocessorChangeStore.
func (s *Store) CreateSubprocessorChange(ctx context.Context, c domain.SubprocessorChange, idem domain.Idempotency) (domain.SubprocessorChange, error) {
	doc := changeDoc{
		ID:              c.ID,
		Kind:            string(c.Kind),
		SubprocessorID:  c.SubprocessorID,
		ReplacesID:      c.ReplacesID,
		Description:     c.Description,
		EffectiveTime:   c.EffectiveTime,
		ObjectionWindow: c.ObjectionWindow.Milliseconds(),
		Products:        orEmpty(c.Products),
		AffectedCount:   c.AffectedCount,
		CreateTime:      c.CreateTime,
		ProposedBy:      c.ProposedBy,
		FanoutPending:   c.FanoutPending,
		RequestKey:      requestKey(idem, c.ID),
		Fingerprint:     idem.Fingerprint,
	}
	doc, err := insertOnce(ctx, s.changes, doc, c.ID, idem)
	if err != nil {
		return domain.SubprocessorChange{}, err
	}
	return doc.toDomain(), nil
}

// GetSubprocessorChange implements domain.SubprocessorChangeStore.
func (s *Store) GetSubprocessorChange(ctx context.Context, id string) (domain.SubprocessorChange, error) {
	doc, err := findByID[changeDoc](ctx, s.changes, id, "subprocessor change")
	if err != nil {
		return domain.SubprocessorChange{}, err
	}
	return doc.toDomain(), nil
}

// ListSubprocessorChanges implements domain.SubprocessorChangeStore.
func (s *Store) ListSubprocessorChanges(ctx context.Context, q domain.ChangeQuery) ([]domain.SubprocessorChange, error) {
	filter := bson.D{}
	if q.SubprocessorID != "" {
		filter = append(filter, bson.E{Key: "subprocessor_id", Value: q.SubprocessorID})
	}
	if q.Before != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: q.Before}}})
	}
	docs, err := mongox.FindAll[changeDoc](ctx, s.changes, filter,
		options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(q.Limit)))
	if err != nil {
		return nil, err
	}
	out := make([]domain.SubprocessorChange, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.toDomain())
	}
	return out, nil
}

// AllSubprocessorChanges implements domain.SubprocessorChangeStore.
func (s *Store) AllSubprocessorChanges(ctx context.Context) ([]domain.SubprocessorChange, error) {
	docs, err := mongox.FindAll[changeDoc](ctx, s.changes, bson.D{})
	if err != nil {
		return nil, err
	}
	out := make([]domain.SubprocessorChange, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.toDomain())
	}
	return out, nil
}

// AffectedCustomers implements domain.SubprocessorChangeStore.
func (s *Store) AffectedCustomers(ctx context.Context, products []string) ([]domain.Customer, error) {
	docs, err := mongox.FindAll[customerDoc](ctx, s.customers,
		bson.D{
			{Key: "region", Value: string(domain.RegionEUEEACH)},
			{Key: "products", Value: bson.D{{Key: "$in", Value: products}}},
		},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("find affected customers: %w", err)
	}
	out := make([]domain.Customer, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.toDomain())
	}
	return out, nil
}

// AddChangeCustomers implements domain.SubprocessorChangeStore: one
// unordered InsertMany (entries that exist already fail alone on their
// _id), then the change's fan-out flag is cleared and its count updated.
func (s *Store) AddChangeCustomers(ctx context.Context, changeID string, entries []domain.ChangeCustomer) error {
	if len(entries) > 0 {
		docs := make([]any, 0, len(entries))
		for _, e := range entries {
			docs = append(docs, newEntryDoc(e))
		}
		if _, err := s.changeCusts.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false)); err != nil && !onlyDuplicates(err) {
			return fmt.Errorf("insert customers of change %s: %w", changeID, err)
		}
	}
	return s.countChangeCustomers(ctx, changeID, bson.E{Key: "fanout_pending", Value: false})
}

// AddChangeCustomer implements domain.SubprocessorChangeStore.
func (s *Store) AddChangeCustomer(ctx context.Context, e domain.ChangeCustomer) (bool, error) {
	if _, err := s.changeCusts.InsertOne(ctx, newEntryDoc(e)); err != nil {
		if mongox.IsDuplicateKey(err) {
			return false, nil
		}
		return false, fmt.Errorf("add customer %s to change %s: %w", e.CustomerID, e.ChangeID, err)
	}
	return true, s.countChangeCustomers(ctx, e.ChangeID)
}

func newEntryDoc(e domain.ChangeCustomer) changeCustomerDoc {
	return changeCustomerDoc{
		ID: entryID(e.ChangeID, e.CustomerID), ChangeID: e.ChangeID, CustomerID: e.CustomerID,
		NotificationEmail: e.NotificationEmail, NotifyPending: e.NotifyPending,
	}
}

// countChangeCustomers counts the entries of a change after an insert and
// records the count with $max (and sets set): entries are never removed,
// so of concurrent counters the last to count saw every insert and has the
// largest number, whatever order their writes land in.
func (s *Store) countChangeCustomers(ctx context.Context, changeID string, set ...bson.E) error {
	n, err := s.changeCusts.CountDocuments(ctx, bson.D{{Key: "change_id", Value: changeID}})
	if err != nil {
		return fmt.Errorf("count customers of change %s: %w", changeID, err)
	}
	update := bson.D{{Key: "$max", Value: bson.D{{Key: "affected_customer_count", Value: int32(n)}}}}
	if len(set) > 0 {
		update = append(update, bson.E{Key: "$set", Value: bson.D(set)})
	}
	if _, err := s.changes.UpdateOne(ctx, bson.D{{Key: "_id", Value: changeID}}, update); err != nil {
		return fmt.Errorf("record customers of change %s: %w", changeID, err)
	}
	return nil
}

// ChangeWindowsOpen implements domain.SubprocessorChangeStore.
func (s *Store) ChangeWindowsOpen(ctx context.Context, changeID string, now time.Time) (bool, error) {
	n, err := s.changeCusts.CountDocuments(ctx, bson.D{
		{Key: "change_id", Value: changeID},
		{Key: "$or", Value: bson.A{
			bson.D{{Key: "notify_pending", Value: true}},
			bson.D{{Key: "window_end_time", Value: bson.D{{Key: "$gt", Value: now}}}},
		}},
	}, options.Count().SetLimit(1))
	if err != nil {
		return false, fmt.Errorf("open windows of change %s: %w", changeID, err)
	}
	return n > 0, nil
}

// onlyDuplicates reports whether every failure of a bulk insert is a
// duplicate key.
func onlyDuplicates(err error) bool {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return false
	}
	for _, we := range bwe.WriteErrors {
		if we.Code != 11000 {
			return false
		}
	}
	return true
}

// NextUnfannedChange implements domain.SubprocessorChangeStore.
func (s *Store) NextUnfannedChange(ctx context.Context, before time.Time) (domain.SubprocessorChange, bool, error) {
	var doc changeDoc
	err := s.changes.FindOne(ctx,
		bson.D{{Key: "fanout_pending", Value: true}, {Key: "create_time", Value: bson.D{{Key: "$lt", Value: before}}}},
		options.FindOne().SetSort(bson.D{{Key: "create_time", Value: 1}})).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return domain.SubprocessorChange{}, false, nil
	}
	if err != nil {
		return domain.SubprocessorChange{}, false, fmt.Errorf("find unfinished fan-out: %w", err)
	}
	return doc.toDomain(), true, nil
}

// ChangeCustomers implements domain.SubprocessorChangeStore.
func (s *Store) ChangeCustomers(ctx context.Context, changeID string) ([]domain.ChangeCustomer, error) {
	return s.joinedEntries(ctx, bson.D{{Key: "change_id", Value: changeID}})
}

// AllChangeCustomers implements domain.SubprocessorChangeStore.
func (s *Store) AllChangeCustomers(ctx context.Context) ([]domain.ChangeCustomer, error) {
	return s.joinedEntries(ctx, bson.D{})
}

// CustomerChangeEntries implements domain.SubprocessorChangeStore.
func (s *Store) CustomerChangeEntries(ctx context.Context, customerID string) ([]domain.ChangeCustomer, error) {
	return s.joinedEntries(ctx, bson.D{{Key: "customer_id", Value: customerID}})
}

// GetChangeCustomer implements domain.SubprocessorChangeStore.
func (s *Store) GetChangeCustomer(ctx context.Context, changeID, customerID string) (domain.ChangeCustomer, error) {
	list, err := s.joinedEntries(ctx, bson.D{{Key: "_id", Value: entryID(changeID, customerID)}})
	if err != nil {
		return domain.ChangeCustomer{}, err
	}
	if len(list) == 0 {
		return domain.ChangeCustomer{}, mongox.NotFound(mongo.ErrNoDocuments, "customer "+customerID+" of change "+changeID)
	}
	return list[0], nil
}

// joinedEntries reads the entries matching filter (on change_id or _id,
// which the objections and resolutions share) with their objections and
// resolutions: three reads, joined in memory ($lookup is not available on
// the embedded server).
func (s *Store) joinedEntries(ctx context.Context, filter bson.D) ([]domain.ChangeCustomer, error) {
	docs, err := mongox.FindAll[changeCustomerDoc](ctx, s.changeCusts, filter,
		options.Find().SetSort(bson.D{{Key: "change_id", Value: 1}, {Key: "customer_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("find change customers: %w", err)
	}
	objs, err := mongox.FindAll[objectionDoc](ctx, s.objections, filter)
	if err != nil {
		return nil, fmt.Errorf("find objections: %w", err)
	}
	ress, err := mongox.FindAll[resolutionDoc](ctx, s.resolutions, filter)
	if err != nil {
		return nil, fmt.Errorf("find resolutions: %w", err)
	}
	byID := make(map[string]*domain.Objection, len(objs))
	for _, o := range objs {
		byID[o.ID] = &domain.Objection{
			ChangeID: o.ChangeID, CustomerID: o.CustomerID, Reason: o.Reason,
			ObjectTime: utc(o.ObjectTime), ObjectedBy: o.ObjectedBy,
		}
	}
	for _, r := range ress {
		if o := byID[r.ID]; o != nil {
			o.Resolution = &domain.Resolution{
				ChangeID: r.ChangeID, CustomerID: r.CustomerID, Outcome: domain.ObjectionOutcome(r.Outcome),
				Note: r.Note, ResolveTime: utc(r.ResolveTime), ResolvedBy: r.ResolvedBy,
			}
		}
	}
	out := make([]domain.ChangeCustomer, 0, len(docs))
	for _, d := range docs {
		e := d.toDomain()
		e.Objection = byID[d.ID]
		out = append(out, e)
	}
	return out, nil
}

// ClaimChangeNotice implements domain.SubprocessorChangeStore with
// mongox.Claim (fences in subprocessor_change_customers_leases).
func (s *Store) ClaimChangeNotice(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (domain.ChangeCustomer, int, bool, error) {
	var raw bson.Raw
	ok, err := mongox.Claim(ctx, s.changeCusts, bson.D{{Key: "notify_pending", Value: true}}, owner, now, leaseFor, &raw)
	if err != nil || !ok {
		return domain.ChangeCustomer{}, 0, false, err
	}
	var doc changeCustomerDoc
	var lease struct {
		Attempts int `bson:"attempts"`
	}
	if err := errors.Join(bson.Unmarshal(raw, &doc), bson.Unmarshal(raw, &lease)); err != nil {
		return domain.ChangeCustomer{}, 0, false, fmt.Errorf("decode claimed change customer: %w", err)
	}
	return doc.toDomain(), lease.Attempts, true, nil
}

// RetryChangeNotice implements domain.SubprocessorChangeStore.
func (s *Store) RetryChangeNotice(ctx context.Context, changeID, customerID, owner string, next time.Time) error {
	if _, err := s.changeCusts.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: entryID(changeID, customerID)}, {Key: mongox.LeaseOwnerField, Value: owner}},
		bson.D{{Key: "$set", Value: bson.D{{Key: mongox.LeaseUntilField, Value: next}}}}); err != nil {
		return fmt.Errorf("retry notice of change %s: %w", changeID, err)
	}
	return nil
}

// RecordChangeNotice implements domain.SubprocessorChangeStore.
func (s *Store) RecordChangeNotice(ctx context.Context, changeID, customerID, noticeID string, notifyTime, windowEnd time.Time) error {
	if _, err := s.changeCusts.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: entryID(changeID, customerID)}, {Key: "notify_pending", Value: true}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "notify_pending", Value: false},
			{Key: "notify_time", Value: notifyTime},
			{Key: "notice_id", Value: noticeID},
			{Key: "window_end_time", Value: windowEnd},
		}}}); err != nil {
		return fmt.Errorf("record notice of change %s: %w", changeID, err)
	}
	return nil
}

// CreateObjection implements domain.SubprocessorChangeStore.
func (s *Store) CreateObjection(ctx context.Context, o domain.Objection, idem domain.Idempotency) (domain.Objection, error) {
	id := entryID(o.ChangeID, o.CustomerID)
	doc := objectionDoc{
		ID: id, ChangeID: o.ChangeID, CustomerID: o.CustomerID, Reason: o.Reason,
		ObjectTime: o.ObjectTime, ObjectedBy: o.ObjectedBy,
		RequestKey: requestKey(idem, id), Fingerprint: idem.Fingerprint,
	}
	doc, err := insertOnce(ctx, s.objections, doc, id, idem)
	if err != nil {
		return domain.Objection{}, err
	}
	return domain.Objection{
		ChangeID: doc.ChangeID, CustomerID: doc.CustomerID, Reason: doc.Reason,
		ObjectTime: utc(doc.ObjectTime), ObjectedBy: doc.ObjectedBy,
	}, nil
}

// CreateResolution implements domain.SubprocessorChangeStore.
func (s *Store) CreateResolution(ctx context.Context, r domain.Resolution, idem domain.Idempotency) (domain.Resolution, error) {
	id := entryID(r.ChangeID, r.CustomerID)
	doc := resolutionDoc{
		ID: id, ChangeID: r.ChangeID, CustomerID: r.CustomerID, Outcome: string(r.Outcome), Note: r.Note,
		ResolveTime: r.ResolveTime, ResolvedBy: r.ResolvedBy,
		RequestKey: requestKey(idem, id), Fingerprint: idem.Fingerprint,
	}
	doc, err := insertOnce(ctx, s.resolutions, doc, id, idem)
	if err != nil {
		return domain.Resolution{}, err
	}
	return domain.Resolution{
		ChangeID: doc.ChangeID, CustomerID: doc.CustomerID, Outcome: domain.ObjectionOutcome(doc.Outcome),
		Note: doc.Note, ResolveTime: utc(doc.ResolveTime), ResolvedBy: doc.ResolvedBy,
	}, nil
}
