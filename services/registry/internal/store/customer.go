package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

// customerDoc is a customer as stored; _id is the customer id.
type customerDoc struct {
	ID                           string       `bson:"_id"`
	DisplayName                  string       `bson:"display_name"`
	Region                       string       `bson:"region"`
	NotificationEmail            string       `bson:"notification_email"`
	NotificationEmailConfirmTime time.Time    `bson:"notification_email_confirm_time"`
	Products                     []string     `bson:"products"`
	EmployeeNotification         string       `bson:"employee_notification"`
	NotifyWithinHours            int32        `bson:"notify_within_hours"`
	Contacts                     []contactDoc `bson:"contacts,omitempty"`
	CreateTime                   time.Time    `bson:"create_time"`
	UpdateTime                   time.Time    `bson:"update_time"`
	Version                      int64        `bson:"version"`
	// ChangeSyncPending: the customer may have to join open subprocessor
	// changes (domain.Customer.ChangeSyncPending); absent when false.
	ChangeSyncPending bool `bson:"change_sync_pending,omitempty"`
	// RequestKey and Fingerprint are always set on customers (the unique
	// index needs a value) and empty in version snapshots.
	RequestKey  string `bson:"request_key,omitempty"`
	Fingerprint string `bson:"fingerprint,omitempty"`
}

func customerToDoc(c domain.Customer, idem domain.Idempotency) customerDoc {
	return customerDoc{
		ID:                           c.ID,
		DisplayName:                  c.DisplayName,
		Region:                       string(c.Region),
		NotificationEmail:            c.NotificationEmail,
		NotificationEmailConfirmTime: c.NotificationEmailConfirmTime,
		Products:                     orEmpty(c.Products),
		EmployeeNotification:         string(c.EmployeeNotification),
		NotifyWithinHours:            c.NotifyWithinHours,
		Contacts:                     contactsToDocs(c.Contacts),
		CreateTime:                   c.CreateTime,
		UpdateTime:                   c.UpdateTime,
		Version:                      c.Version,
		ChangeSyncPending:            c.ChangeSyncPending,
		RequestKey:                   requestKey(idem, c.ID),
		Fingerprint:                  idem.Fingerprint,
	}
}

func (d customerDoc) toDomain() domain.Customer {
	return domain.Customer{
		ID:                           d.ID,
		DisplayName:                  d.DisplayName,
		Region:                       domain.Region(d.Region),
		NotificationEmail:            d.NotificationEmail,
		NotificationEmailConfirmTime: utc(d.NotificationEmailConfirmTime),
		Products:                     nilIfEmpty(d.Products),
		EmployeeNotification:         domain.EmployeeNotification(d.EmployeeNotification),
		NotifyWithinHours:            d.NotifyWithinHours,
		Contacts:                     contactsFromDocs(d.Contacts),
		CreateTime:                   utc(d.CreateTime),
		UpdateTime:                   utc(d.UpdateTime),
		Version:                      d.Version,
		ChangeSyncPending:            d.ChangeSyncPending,
	}
}

// contactDoc is a customer contact as stored.
type contactDoc struct {
	Name  string `bson:"name"`
	Role  string `bson:"role,omitempty"`
	Email string `bson:"email,omitempty"`
	Phone string `bson:"phone,omitempty"`
}

func contactsToDocs(cs []domain.Contact) []contactDoc {
	if len(cs) == 0 {
		return nil
	}
	out := make([]contactDoc, 0, len(cs))
	for _, c := range cs {
		out = append(out, contactDoc(c))
	}
	return out
}

func contactsFromDocs(ds []contactDoc) []domain.Contact {
	if len(ds) == 0 {
		return nil
	}
	out := make([]domain.Contact, 0, len(ds))
	for _, d := range ds {
		out = append(out, domain.Contact(d))
	}
	return out
}

// CreateCustomer implements domain.CustomerStore.
func (s *Store) CreateCustomer(ctx context.Context, c domain.Customer, idem domain.Idempotency) (domain.Customer, error) {
	doc := customerToDoc(c, idem)
	doc, err := insertOnce(ctx, s.customers, doc, c.ID, idem)
	if err != nil {
		return domain.Customer{}, err
	}
	if err := s.recordFirstVersion(ctx, doc); err != nil {
		return domain.Customer{}, err
	}
	return doc.toDomain(), nil
}

// GetCustomer implements domain.CustomerStore.
func (s *Store) GetCustomer(ctx context.Context, id string) (domain.Customer, error) {
	doc, err := s.getCustomerDoc(ctx, id)
	if err != nil {
		return domain.Customer{}, err
	}
	return doc.toDomain(), nil
}

// ListCustomers implements domain.CustomerStore.
func (s *Store) ListCustomers(ctx context.Context, q domain.CustomerQuery) ([]domain.Customer, error) {
	filter := bson.D{}
	if q.Region != "" {
		filter = append(filter, bson.E{Key: "region", Value: string(q.Region)})
	}
	return findPage(ctx, s.customers, afterFilter(filter, q.After), q.Limit, customerDoc.toDomain)
}

// customerVersionDoc is one version of a customer in the customer_versions
// log; _id is "<id>@v<version>". Inserting it is how an update claims the
// next version: the unique _id lets exactly one writer have each version.
// The log also answers "which Notification Email Address was on file at
// time T", which a notice's proof of delivery needs.
type customerVersionDoc struct {
	ID         string      `bson:"_id"`
	CustomerID string      `bson:"customer_id"`
	Version    int64       `bson:"version"`
	Time       time.Time   `bson:"time"`
	Snapshot   customerDoc `bson:"snapshot"`
}

// staleClaim is how old a claimed version must be, with the customer still
// at the version before it, before another writer finishes it: its writer
// crashed between the claim and the document update.
const staleClaim = time.Minute

func versionID(id string, version int64) string {
	return id + "@v" + strconv.FormatInt(version, 10)
}

// UpdateCustomer implements domain.CustomerStore.
//
// Two writes, each atomic on its own:
//
//  1. claim version expectVersion+1 by inserting it into customer_versions
//     (unique _id, so of two concurrent writers from the same version
//     exactly one wins and the other gets ErrConflict);
//  2. apply it with one findOneAndUpdate filtered on {_id, version}.
//
// The version filter alone is enough on MongoDB, but not on the embedded
// FerretDB server, whose findAndModify reads and then writes by _id without
// re-checking the filter; the insert is atomic on both. A claim whose
// writer died before step 2 is applied by the next writer that trips over
// it once it is older than staleClaim, so a crash never wedges a customer.
func (s *Store) UpdateCustomer(ctx context.Context, c domain.Customer, expectVersion int64) (domain.Customer, error) {
	next := customerToDoc(c, domain.Idempotency{})
	next.RequestKey = ""
	next.Version = expectVersion + 1
	claim := customerVersionDoc{
		ID:         versionID(c.ID, next.Version),
		CustomerID: c.ID,
		Version:    next.Version,
		Time:       c.UpdateTime,
		Snapshot:   next,
	}
	if _, err := s.versions.InsertOne(ctx, claim); err != nil {
		if !mongox.IsDuplicateKey(err) {
			return domain.Customer{}, fmt.Errorf("claim version of customer %s: %w", c.ID, err)
		}
		if err := s.finishStaleClaim(ctx, claim.ID, expectVersion, c.UpdateTime); err != nil {
			return domain.Customer{}, err
		}
		return domain.Customer{}, fmt.Errorf("customer %s changed concurrently: %w", c.ID, apperr.ErrConflict)
	}
	doc, err := s.applyVersion(ctx, claim, expectVersion)
	if errors.Is(err, mongo.ErrNoDocuments) {
		// Only the holder of the claim, or someone finishing it for a
		// presumed-dead holder, moves the customer to this version, and both
		// write the same snapshot.
		doc, err = s.getCustomerDoc(ctx, c.ID)
		if errors.Is(err, apperr.ErrNotFound) {
			// No such customer: withdraw the claim so that it can never be
			// applied to a customer created later under the same id.
			if _, derr := s.versions.DeleteOne(ctx, bson.D{{Key: "_id", Value: claim.ID}}); derr != nil {
				return domain.Customer{}, fmt.Errorf("withdraw claim %s: %w", claim.ID, derr)
			}
		}
		if err == nil && doc.Version < next.Version {
			err = fmt.Errorf("customer %s: claimed version %d not applied: %w", c.ID, next.Version, apperr.ErrConflict)
		}
	}
	if err != nil {
		return domain.Customer{}, err
	}
	return doc.toDomain(), nil
}

// applyVersion writes the claimed version v onto the customer if it is
// still at the version before.
func (s *Store) applyVersion(ctx context.Context, v customerVersionDoc, from int64) (customerDoc, error) {
	n := v.Snapshot
	update := bson.D{{Key: "$set", Value: bson.D{
		{Key: "display_name", Value: n.DisplayName},
		{Key: "region", Value: n.Region},
		{Key: "notification_email", Value: n.NotificationEmail},
		{Key: "notification_email_confirm_time", Value: n.NotificationEmailConfirmTime},
		{Key: "products", Value: n.Products},
		{Key: "employee_notification", Value: n.EmployeeNotification},
		{Key: "notify_within_hours", Value: n.NotifyWithinHours},
		{Key: "contacts", Value: n.Contacts},
		{Key: "update_time", Value: n.UpdateTime},
		{Key: "version", Value: v.Version},
		{Key: "change_sync_pending", Value: n.ChangeSyncPending},
	}}}
	var doc customerDoc
	err := s.customers.FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: v.CustomerID}, {Key: "version", Value: from}}, update,
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&doc)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return customerDoc{}, fmt.Errorf("update customer %s: %w", v.CustomerID, err)
	}
	return doc, err
}

// finishStaleClaim applies the claim claimID when its writer has evidently
// died: the claim is older than staleClaim and the customer is still at the
// version before it. It returns ErrNotFound for an unknown customer.
func (s *Store) finishStaleClaim(ctx context.Context, claimID string, from int64, now time.Time) error {
	var claim customerVersionDoc
	if err := s.versions.FindOne(ctx, bson.D{{Key: "_id", Value: claimID}}).Decode(&claim); err != nil {
		return fmt.Errorf("read claim %s: %w", claimID, err)
	}
	doc, err := s.getCustomerDoc(ctx, claim.CustomerID)
	if err != nil {
		return err
	}
	if doc.Version != from || !doc.CreateTime.Equal(claim.Snapshot.CreateTime) || now.Sub(claim.Time) < staleClaim {
		return nil
	}
	if _, err := s.applyVersion(ctx, claim, from); err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return err
	}
	return nil
}

func (s *Store) getCustomerDoc(ctx context.Context, id string) (customerDoc, error) {
	return findByID[customerDoc](ctx, s.customers, id, "customer")
}

// CustomerHistory returns the recorded versions of customer id, oldest
// first. Version 1 is written right after the create; a create interrupted
// between its two writes has no version 1 entry (the customer document
// itself is authoritative).
func (s *Store) CustomerHistory(ctx context.Context, id string) ([]domain.CustomerVersion, error) {
	docs, err := mongox.FindAll[customerVersionDoc](ctx, s.versions, bson.D{{Key: "customer_id", Value: id}},
		options.Find().SetSort(bson.D{{Key: "version", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("find versions of customer %s: %w", id, err)
	}
	out := make([]domain.CustomerVersion, 0, len(docs))
	for _, d := range docs {
		snap := d.Snapshot
		snap.ID = d.CustomerID
		out = append(out, domain.CustomerVersion{Version: d.Version, Time: utc(d.Time), Snapshot: snap.toDomain()})
	}
	return out, nil
}

// recordFirstVersion writes version 1 of a new customer to the log,
// idempotently (a retried create writes it again as a no-op).
func (s *Store) recordFirstVersion(ctx context.Context, doc customerDoc) error {
	if doc.Version != 1 {
		return nil
	}
	snap := doc
	snap.RequestKey, snap.Fingerprint = "", ""
	_, err := s.versions.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: versionID(doc.ID, 1)}},
		bson.D{{Key: "$setOnInsert", Value: bson.D{
			{Key: "customer_id", Value: doc.ID},
			{Key: "version", Value: int64(1)},
			{Key: "time", Value: doc.CreateTime},
			{Key: "snapshot", Value: snap},
		}}},
		options.UpdateOne().SetUpsert(true))
	if err != nil && !mongox.IsDuplicateKey(err) {
		return fmt.Errorf("record version 1 of customer %s: %w", doc.ID, err)
	}
	return nil
}

// FinishCustomerChangeSync implements domain.CustomerStore: the flag is
// cleared only at the version that joined, so a later update that set it
// again keeps it for its own join.
func (s *Store) FinishCustomerChangeSync(ctx context.Context, id string, version int64) error {
	if _, err := s.customers.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "version", Value: version}, {Key: "change_sync_pending", Value: true}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "change_sync_pending", Value: ""}}}}); err != nil {
		return fmt.Errorf("finish change sync of customer %s: %w", id, err)
	}
	return nil
}

// NextCustomerChangeSync implements domain.CustomerStore.
func (s *Store) NextCustomerChangeSync(ctx context.Context, before time.Time) (domain.Customer, bool, error) {
	var doc customerDoc
	err := s.customers.FindOne(ctx,
		bson.D{{Key: "change_sync_pending", Value: true}, {Key: "update_time", Value: bson.D{{Key: "$lt", Value: before}}}},
		options.FindOne().SetSort(bson.D{{Key: "update_time", Value: 1}})).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return domain.Customer{}, false, nil
	}
	if err != nil {
		return domain.Customer{}, false, fmt.Errorf("find customer to join changes: %w", err)
	}
	return doc.toDomain(), true, nil
}
