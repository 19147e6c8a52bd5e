package server

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/breachline/breachline/pkg/apperr"
	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

func noticeParams(r *dispatchv1.SendNoticeRequest) domain.SendNoticeParams {
	return domain.SendNoticeParams{
		RequestID: r.GetRequestId(), To: r.GetTo(), Subject: r.GetSubject(), Body: r.GetBody(),
		Kind: r.GetKind(), IncidentID: r.GetIncidentId(), CustomerID: r.GetCustomerId(),
	}
}

var noticeStatuses = map[domain.NoticeStatus]dispatchv1.NoticeStatus{
	domain.NoticePending: dispatchv1.NoticeStatus_NOTICE_STATUS_PENDING,
	domain.NoticeSent:    dispatchv1.NoticeStatus_NOTICE_STATUS_SENT,
	domain.NoticeFailed:  dispatchv1.NoticeStatus_NOTICE_STATUS_FAILED,
}

func noticeToProto(n domain.Notice) *dispatchv1.Notice {
	out := &dispatchv1.Notice{
		NoticeId: n.ID, RequestId: n.RequestID, Kind: n.Kind, To: n.To, Subject: n.Subject, Body: n.Body,
		IncidentId: n.IncidentID, CustomerId: n.CustomerID, Status: noticeStatuses[n.Status],
		CreateTime: timestamppb.New(n.CreateTime), Attempts: int32(min(n.Attempts, 1<<30)),
	}
	if !n.SendTime.IsZero() {
		out.SendTime = timestamppb.New(n.SendTime)
	}
	return out
}

func (s *Server) noticesOrErr() (*domain.Notices, error) {
	if s.notices == nil {
		return nil, fmt.Errorf("operational notices are not configured: %w", apperr.ErrUnavailable)
	}
	return s.notices, nil
}

// SendNotice stores a one-off notice for the notice worker to deliver.
func (s *Server) SendNotice(ctx context.Context, req *dispatchv1.SendNoticeRequest) (*dispatchv1.SendNoticeResponse, error) {
	n, err := s.noticesOrErr()
	if err != nil {
		return nil, err
	}
	out, err := n.Send(ctx, noticeParams(req))
	if err != nil {
		return nil, err
	}
	return &dispatchv1.SendNoticeResponse{Notice: noticeToProto(out)}, nil
}

// GetNotice returns one notice and its delivery status.
func (s *Server) GetNotice(ctx context.Context, req *dispatchv1.GetNoticeRequest) (*dispatchv1.GetNoticeResponse, error) {
	n, err := s.noticesOrErr()
	if err != nil {
		return nil, err
	}
	out, err := n.Get(ctx, req.GetNoticeId())
	if err != nil {
		return nil, err
	}
	return &dispatchv1.GetNoticeResponse{Notice: noticeToProto(out)}, nil
}
