// Package classify is intake's client of ClassificationService: the
// domain.Assessor the assessment relay calls.
package classify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/breachline/breachline/pkg/apperr"
	classificationv1 "github.com/breachline/breachline/pkg/gen/breachline/classification/v1"
	"github.com/breachline/breachline/services/intake/internal/domain"
	"github.com/breachline/breachline/services/intake/internal/protoconv"
)

// Client asks classification for breach assessments.
type Client struct {
	c classificationv1.ClassificationServiceClient
}

var _ domain.Assessor = (*Client)(nil)

// New returns a client over conn (from grpcx.Dial).
func New(conn grpc.ClientConnInterface) *Client {
	return &Client{c: classificationv1.NewClassificationServiceClient(conn)}
}

// AssessIncident implements domain.Assessor. Its errors carry only the gRPC
// code and, for rejected input, the offending field paths: the status
// message may quote the facts and is not kept. Transient codes wrap
// apperr.ErrUnavailable.
func (c *Client) AssessIncident(ctx context.Context, req domain.AssessmentRequest) (string, error) {
	resp, err := c.c.AssessIncident(ctx, &classificationv1.AssessIncidentRequest{
		RequestId:  req.RequestID,
		IncidentId: req.IncidentID,
		Facts:      protoconv.FactsToProto(req.Facts),
	})
	if err != nil {
		return "", describe(err)
	}
	id := resp.GetAssessment().GetAssessmentId()
	if id == "" {
		return "", errors.New("classification AssessIncident: response has no assessment id")
	}
	return id, nil
}

func describe(err error) error {
	st := status.Convert(err)
	msg := "classification AssessIncident: " + st.Code().String()
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if len(fields) > 0 {
		msg += " (" + strings.Join(fields, ", ") + ")"
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted, codes.Canceled:
		return fmt.Errorf("%s: %w", msg, apperr.ErrUnavailable)
	default:
		return errors.New(msg)
	}
}
