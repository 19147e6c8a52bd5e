package server

import (
	"context"
	"errors"
	"io"
	"maps"
	"slices"

	"google.golang.org/grpc"

	"github.com/breachline/breachline/pkg/apperr"
	commonv1 "github.com/breachline/breachline/pkg/gen/breachline/common/v1"
	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/protoconv"
)

// IndividualsHandler serves AffectedIndividualsService.
type IndividualsHandler struct {
	intakev1.UnimplementedAffectedIndividualsServiceServer
	individuals *domain.Individuals
}

var _ intakev1.AffectedIndividualsServiceServer = (*IndividualsHandler)(nil)

// NewIndividuals returns the handler over the affected-individuals use cases.
func NewIndividuals(individuals *domain.Individuals) *IndividualsHandler {
	return &IndividualsHandler{individuals: individuals}
}

// ImportAffectedIndividuals implements
// AffectedIndividualsService.ImportAffectedIndividuals. Receiving and
// validating rows happens on this goroutine while the domain's writers store
// earlier batches, so reading the stream and writing the store overlap.
func (h *IndividualsHandler) ImportAffectedIndividuals(stream grpc.ClientStreamingServer[intakev1.ImportAffectedIndividualsRequest, intakev1.ImportAffectedIndividualsResponse]) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return apperr.Invalid("header", "is required: the first message of the stream must carry the header")
	}
	if err != nil {
		return err
	}
	hdr := first.GetHeader()
	if hdr == nil {
		return apperr.Invalid("header", "is required: the first message of the stream must carry the header")
	}
	run, imp, err := h.individuals.BeginImport(ctx, domain.ImportHeader{
		IncidentID: hdr.GetIncidentId(), RequestID: hdr.GetRequestId(), SourceName: hdr.GetSourceName(),
	})
	if err != nil {
		return err
	}
	if run == nil { // a finished import with this request id: answer with it
		return stream.SendAndClose(&intakev1.ImportAffectedIndividualsResponse{Import: importToProto(imp)})
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return run.Abort(err)
		}
		b := msg.GetBatch()
		if b == nil {
			return run.Abort(apperr.Invalid("batch", "is required: every message after the header must carry a batch of rows"))
		}
		rows := make([]domain.ImportRow, len(b.GetRows()))
		for i, r := range b.GetRows() {
			rows[i] = rowFromProto(r)
		}
		if err := run.Add(rows); err != nil {
			return run.Abort(err)
		}
	}
	imp, err = run.Finish()
	if err != nil {
		return err
	}
	return stream.SendAndClose(&intakev1.ImportAffectedIndividualsResponse{Import: importToProto(imp)})
}

// GetImport implements AffectedIndividualsService.GetImport.
func (h *IndividualsHandler) GetImport(ctx context.Context, req *intakev1.GetImportRequest) (*intakev1.GetImportResponse, error) {
	imp, err := h.individuals.GetImport(ctx, req.GetIncidentId(), req.GetImportId())
	if err != nil {
		return nil, err
	}
	return &intakev1.GetImportResponse{Import: importToProto(imp)}, nil
}

// ListImportErrors implements AffectedIndividualsService.ListImportErrors.
func (h *IndividualsHandler) ListImportErrors(ctx context.Context, req *intakev1.ListImportErrorsRequest) (*intakev1.ListImportErrorsResponse, error) {
	page, err := h.individuals.ListImportErrors(ctx, req.GetIncidentId(), req.GetImportId(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &intakev1.ListImportErrorsResponse{
		Errors:        make([]*intakev1.ImportError, 0, len(page.Errors)),
		NextPageToken: page.NextPageToken,
		Truncated:     page.Truncated,
	}
	for _, e := range page.Errors {
		resp.Errors = append(resp.Errors, &intakev1.ImportError{Line: e.Line, Field: e.Field, Reason: e.Reason})
	}
	return resp, nil
}

// ListAffectedIndividuals implements
// AffectedIndividualsService.ListAffectedIndividuals.
func (h *IndividualsHandler) ListAffectedIndividuals(ctx context.Context, req *intakev1.ListAffectedIndividualsRequest) (*intakev1.ListAffectedIndividualsResponse, error) {
	page, err := h.individuals.ListIndividuals(ctx, domain.IndividualFilter{
		IncidentID: req.GetIncidentId(), Jurisdiction: req.GetJurisdiction(), Relationship: domain.Relationship(req.GetRelationship()),
	}, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &intakev1.ListAffectedIndividualsResponse{
		AffectedIndividuals: make([]*intakev1.AffectedIndividual, 0, len(page.Individuals)),
		NextPageToken:       page.NextPageToken,
	}
	for _, ind := range page.Individuals {
		resp.AffectedIndividuals = append(resp.AffectedIndividuals, individualToProto(ind))
	}
	return resp, nil
}

// GetAffectedCounts implements AffectedIndividualsService.GetAffectedCounts.
func (h *IndividualsHandler) GetAffectedCounts(ctx context.Context, req *intakev1.GetAffectedCountsRequest) (*intakev1.GetAffectedCountsResponse, error) {
	c, err := h.individuals.AffectedCounts(ctx, req.GetIncidentId())
	if err != nil {
		return nil, err
	}
	resp := &intakev1.GetAffectedCountsResponse{Total: c.Total, RunningImports: c.RunningImports}
	for _, j := range c.Jurisdictions() {
		resp.ByJurisdiction = append(resp.ByJurisdiction, &commonv1.JurisdictionCount{Jurisdiction: j.Jurisdiction, Count: j.Count})
	}
	for _, e := range slices.Sorted(maps.Keys(c.ByElement)) {
		resp.ByDataElement = append(resp.ByDataElement, &intakev1.DataElementCount{DataElement: commonv1.DataElement(e), Count: c.ByElement[e]})
	}
	for _, r := range slices.Sorted(maps.Keys(c.ByRelationship)) {
		resp.ByRelationship = append(resp.ByRelationship, &intakev1.RelationshipCount{Relationship: intakev1.Relationship(r), Count: c.ByRelationship[r]})
	}
	return resp, nil
}

func rowFromProto(r *intakev1.AffectedIndividualRow) domain.ImportRow {
	p := r.GetIndividual()
	row := domain.ImportRow{
		Line: r.GetLine(),
		Individual: domain.Individual{
			ExternalID: p.GetExternalId(), FullName: p.GetFullName(), GivenName: p.GetGivenName(), FamilyName: p.GetFamilyName(),
			Email: p.GetEmail(), Phone: p.GetPhone(), AddressLines: p.GetAddressLines(), Locality: p.GetLocality(),
			PostalCode: p.GetPostalCode(), Jurisdiction: p.GetJurisdiction(), Relationship: domain.Relationship(p.GetRelationship()),
			DataElements: make([]domain.DataElement, len(p.GetDataElements())),
		},
	}
	for i, e := range p.GetDataElements() {
		row.Individual.DataElements[i] = domain.DataElement(e)
	}
	for _, sp := range r.GetSourceProblems() {
		row.SourceProblems = append(row.SourceProblems, domain.RowProblem{Field: sp.GetField(), Reason: sp.GetReason()})
	}
	return row
}

func individualToProto(ind domain.Individual) *intakev1.AffectedIndividual {
	out := &intakev1.AffectedIndividual{
		IndividualId: ind.ID, ExternalId: ind.ExternalID, FullName: ind.FullName, GivenName: ind.GivenName,
		FamilyName: ind.FamilyName, Email: ind.Email, Phone: ind.Phone, AddressLines: ind.AddressLines,
		Locality: ind.Locality, PostalCode: ind.PostalCode, Jurisdiction: ind.Jurisdiction,
		Relationship: intakev1.Relationship(ind.Relationship), ImportId: ind.ImportID,
	}
	for _, e := range ind.DataElements {
		out.DataElements = append(out.DataElements, commonv1.DataElement(e))
	}
	return out
}

func importToProto(imp domain.Import) *intakev1.Import {
	out := &intakev1.Import{
		ImportId: imp.ID, IncidentId: imp.IncidentID, RequestId: imp.RequestID, SourceName: imp.SourceName,
		Status:   intakev1.ImportStatus(imp.Status),
		RowsRead: imp.Progress.Read, RowsAccepted: imp.Progress.Accepted,
		RowsDuplicate: imp.Progress.Duplicate, RowsRejected: imp.Progress.Rejected,
		StartTime: protoconv.TimeToProto(imp.StartTime), UpdateTime: protoconv.TimeToProto(imp.UpdateTime),
		FinishTime: protoconv.TimeToProto(imp.FinishTime), Attempts: imp.Attempt,
	}
	return out
}
