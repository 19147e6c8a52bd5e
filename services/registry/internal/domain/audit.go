package domain

import (
	"context"
	"fmt"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
)

// IncidentSummary is an incident involving a customer, as intake has it.
type IncidentSummary struct {
	ID         string
	Title      string
	State      string
	Severity   string
	CreateTime time.Time
	UpdateTime time.Time
	// Campaigns are the incident's notices to the customer (from
	// dispatch), filled in by the audit export.
	Campaigns []IncidentCampaign
}

// Incidents reads incidents from intake. CustomerIncidents returns the
// incidents involving customerID opened in [from, to), at most limit+1 (so
// the caller can tell the list was cut).
type Incidents interface {
	CustomerIncidents(ctx context.Context, customerID string, from, to time.Time, limit int) ([]IncidentSummary, error)
}

// WithIncidents makes the audit export read incidents through i.
func WithIncidents(i Incidents) Option {
	return func(s *Service) { s.incidents = i }
}

// Audit export limits.
const (
	// maxAuditItems caps each list of an export; a longer list is cut and
	// the export says so (Truncated).
	maxAuditItems = 10000
	// maxAuditPeriod is the longest period one export covers.
	maxAuditPeriod = 3 * 366 * 24 * time.Hour
)

// CustomerAudit is everything needed to demonstrate compliance for one
// customer over a period (DPA 8.1), each list holding what was opened in
// [Start, End).
type CustomerAudit struct {
	Customer            Customer
	Start, End          time.Time
	GenerateTime        time.Time
	DataSubjectRequests []DataSubjectRequest
	DataReturnRequests  []DataReturnRequest
	RemovalRequests     []RemovalRequest
	SubprocessorChanges []AuditChange
	Incidents           []IncidentSummary
	Truncated           bool
}

// AuditChange is a proposed subprocessor change as it concerned the
// customer: the change, and the customer's notice, window and objection.
type AuditChange struct {
	Change   SubprocessorChange
	Customer ChangeCustomer
}

// AuditParams are the inputs of ExportCustomerAudit.
type AuditParams struct {
	CustomerID string
	Start, End time.Time
}

// ValidateExportCustomerAudit reports every problem of the input (pure).
func (s *Service) ValidateExportCustomerAudit(p AuditParams) error {
	_, err := validateAudit(p, s.now())
	return err
}

func validateAudit(p AuditParams, now time.Time) (time.Time, error) {
	var v apperr.Violations
	checkSlug(&v, "customer_id", p.CustomerID)
	start, end := storedTime(p.Start), storedTime(p.End)
	if end.IsZero() {
		end = now
	}
	switch {
	case start.IsZero():
		v.Add("start_time", "is required")
	case !end.After(start):
		v.Add("end_time", "must be after start_time")
	case end.Sub(start) > maxAuditPeriod:
		v.Add("end_time", "must be at most 3 years after start_time")
	}
	return end, v.Err()
}

// ExportCustomerAudit assembles the customer's audit export: the customer,
// its data subject requests received, return/deletion requests and removal
// requests opened, (from intake) its incidents opened in the period, and
// (from dispatch) the notices of those incidents addressed to the customer
// with their delivery. Intake or dispatch being down fails the export with
// UNAVAILABLE rather than leaving anything out silently.
func (s *Service) ExportCustomerAudit(ctx context.Context, p AuditParams) (CustomerAudit, error) {
	now := s.now()
	end, err := validateAudit(p, now)
	if err != nil {
		return CustomerAudit{}, err
	}
	start := storedTime(p.Start)
	cust, err := s.store.GetCustomer(ctx, p.CustomerID)
	if err != nil {
		return CustomerAudit{}, err
	}
	out := CustomerAudit{Customer: cust, Start: start, End: end, GenerateTime: now}
	cut := func(n int) bool { return n > maxAuditItems }

	dsrs, err := s.store.ListDataSubjectRequests(ctx, DSRQuery{CustomerID: p.CustomerID, ReceivedFrom: start, ReceivedTo: end, Limit: maxAuditItems + 1})
	if err != nil {
		return CustomerAudit{}, fmt.Errorf("audit data subject requests: %w", err)
	}
	if cut(len(dsrs)) {
		dsrs, out.Truncated = dsrs[:maxAuditItems], true
	}
	out.DataSubjectRequests = dsrs

	returns, err := s.store.ListDataReturnRequests(ctx, DataReturnQuery{CustomerID: p.CustomerID, CreatedFrom: start, CreatedTo: end, Limit: maxAuditItems + 1})
	if err != nil {
		return CustomerAudit{}, fmt.Errorf("audit data return requests: %w", err)
	}
	if cut(len(returns)) {
		returns, out.Truncated = returns[:maxAuditItems], true
	}
	out.DataReturnRequests = returns

	// Removal requests have no time filter in their store query; a
	// customer has few of them, so the period is applied here.
	var removals []RemovalRequest
	after := ""
	for {
		page, err := s.store.ListRemovalRequests(ctx, RemovalQuery{After: after, CustomerID: p.CustomerID, Limit: maxPageSize})
		if err != nil {
			return CustomerAudit{}, fmt.Errorf("audit removal requests: %w", err)
		}
		for _, r := range page {
			if !r.OpenTime.Before(start) && r.OpenTime.Before(end) {
				removals = append(removals, r)
			}
		}
		if len(page) < maxPageSize || cut(len(removals)) {
			break
		}
		after = page[len(page)-1].ID
	}
	if cut(len(removals)) {
		removals, out.Truncated = removals[:maxAuditItems], true
	}
	out.RemovalRequests = removals

	changes, err := s.auditChanges(ctx, p.CustomerID, start, end)
	if err != nil {
		return CustomerAudit{}, err
	}
	if cut(len(changes)) {
		changes, out.Truncated = changes[:maxAuditItems], true
	}
	out.SubprocessorChanges = changes

	if s.incidents == nil {
		return CustomerAudit{}, fmt.Errorf("audit export: no intake configured: %w", apperr.ErrUnavailable)
	}
	incidents, err := s.incidents.CustomerIncidents(ctx, p.CustomerID, start, end, maxAuditItems)
	if err != nil {
		return CustomerAudit{}, fmt.Errorf("audit incidents: %w", err)
	}
	if cut(len(incidents)) {
		incidents, out.Truncated = incidents[:maxAuditItems], true
	}
	campaigns, cutDeliveries, err := s.customerCampaigns(ctx, cust, incidents)
	if err != nil {
		return CustomerAudit{}, err
	}
	for i := range incidents {
		incidents[i].Campaigns = campaigns[incidents[i].ID]
	}
	out.Truncated = out.Truncated || cutDeliveries
	out.Incidents = incidents
	return out, nil
}

// auditChanges returns the customer's subprocessor change entries with any
// event in [start, end): the change proposed, the notice sent, an
// objection raised or resolved.
func (s *Service) auditChanges(ctx context.Context, customerID string, start, end time.Time) ([]AuditChange, error) {
	entries, err := s.store.CustomerChangeEntries(ctx, customerID)
	if err != nil {
		return nil, fmt.Errorf("audit subprocessor changes: %w", err)
	}
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(start) && t.Before(end) }
	changes := map[string]SubprocessorChange{}
	var out []AuditChange
	for _, e := range entries {
		c, ok := changes[e.ChangeID]
		if !ok {
			if c, err = s.store.GetSubprocessorChange(ctx, e.ChangeID); err != nil {
				return nil, fmt.Errorf("audit subprocessor change %s: %w", e.ChangeID, err)
			}
			changes[e.ChangeID] = c
		}
		touched := in(c.CreateTime) || in(e.NotifyTime)
		if o := e.Objection; o != nil {
			touched = touched || in(o.ObjectTime) || (o.Resolution != nil && in(o.Resolution.ResolveTime))
		}
		if touched {
			out = append(out, AuditChange{Change: c, Customer: e})
		}
	}
	return out, nil
}
