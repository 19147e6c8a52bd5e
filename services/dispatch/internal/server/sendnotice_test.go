package server_test

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	dispatchv1 "github.com/breachline/breachline/pkg/gen/breachline/dispatch/v1"
	"github.com/breachline/breachline/pkg/grpcx"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/pkg/mongotest"
	"github.com/breachline/breachline/pkg/mongox"
	"github.com/breachline/breachline/pkg/worker"
	"github.com/breachline/breachline/services/dispatch/internal/channel"
	"github.com/breachline/breachline/services/dispatch/internal/domain"
	"github.com/breachline/breachline/services/dispatch/internal/server"
	"github.com/breachline/breachline/services/dispatch/internal/smtptest"
	"github.com/breachline/breachline/services/dispatch/internal/store"
)

// newNoticeStack serves DispatchService with operational notices delivered
// by a running notice worker to a real SMTP server on loopback.
func newNoticeStack(t *testing.T) (dispatchv1.DispatchServiceClient, *smtptest.Server) {
	t.Helper()
	db := mongotest.DB(t)
	if err := mongox.EnsureIndexes(t.Context(), db, store.Indexes()); err != nil {
		t.Fatalf("EnsureIndexes: %v", err)
	}
	mail := smtptest.Start(t)
	st := store.New(db)
	notices := domain.NewNotices(st, channel.SMTP{Addr: mail.Addr(), From: "notices@example.org"}, time.Now)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		worker.Run(ctx, slog.New(slog.DiscardHandler), "notices", 20*time.Millisecond, notices.Step("test"))
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
	handler := server.New(domain.NewService(st, time.Now)).WithNotices(notices)
	srv := grpcx.NewServer(grpcx.Options{Service: "dispatch", ShutdownGrace: time.Second, Validator: handler})
	dispatchv1.RegisterDispatchServiceServer(srv.GRPC(), handler)
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeListener(t.Context(), lis) }()
	t.Cleanup(func() { <-served })
	conn, err := grpcx.Dial(lis.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return dispatchv1.NewDispatchServiceClient(conn), mail
}

func noticeRequest(requestID, to string) *dispatchv1.SendNoticeRequest {
	return &dispatchv1.SendNoticeRequest{
		RequestId: requestID, To: to, Kind: "sensitive-data-removal", CustomerId: "acme",
		Subject: "Action required: remove sensitive data",
		Body:    "We found Social Security numbers in product X / table Y.\n.\nRemove them by 2026-03-16.\n",
	}
}

// waitNotice polls GetNotice until the notice leaves PENDING.
func waitNotice(t *testing.T, c dispatchv1.DispatchServiceClient, id string) *dispatchv1.Notice {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for {
		got, err := c.GetNotice(as(t.Context(), "ops"), &dispatchv1.GetNoticeRequest{NoticeId: id})
		if err != nil {
			t.Fatalf("GetNotice: %v", err)
		}
		if got.GetNotice().GetStatus() != dispatchv1.NoticeStatus_NOTICE_STATUS_PENDING {
			return got.GetNotice()
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("notice %s still pending", id)
		}
	}
}

func TestSendNotice(t *testing.T) {
	t.Parallel()
	c, mail := newNoticeStack(t)

	t.Run("method=SendNotice/case=delivered-exactly-once", func(t *testing.T) {
		t.Parallel()
		ctx := as(t.Context(), "svc:registry")
		req := noticeRequest("removal-notice:rmr_1", "privacy@acme.example")
		first, err := c.SendNotice(ctx, req)
		if err != nil {
			t.Fatalf("SendNotice: %v", err)
		}
		n := first.GetNotice()
		if !strings.HasPrefix(n.GetNoticeId(), "ntc_") || n.GetKind() != req.GetKind() || n.GetTo() != req.GetTo() {
			t.Fatalf("notice = %v", n)
		}
		again, err := c.SendNotice(ctx, req)
		if err != nil {
			t.Fatalf("SendNotice again: %v", err)
		}
		if again.GetNotice().GetNoticeId() != n.GetNoticeId() {
			t.Fatalf("retry made notice %s, want %s", again.GetNotice().GetNoticeId(), n.GetNoticeId())
		}
		sent := waitNotice(t, c, n.GetNoticeId())
		if sent.GetStatus() != dispatchv1.NoticeStatus_NOTICE_STATUS_SENT || sent.GetSendTime() == nil || sent.GetAttempts() != 1 {
			t.Fatalf("notice = %v, want SENT once", sent)
		}
		// A retry after delivery returns the sent notice and sends nothing.
		late, err := c.SendNotice(ctx, req)
		if err != nil {
			t.Fatalf("SendNotice after delivery: %v", err)
		}
		if late.GetNotice().GetStatus() != dispatchv1.NoticeStatus_NOTICE_STATUS_SENT {
			t.Fatalf("late retry = %v", late.GetNotice())
		}
		if got := mail.Counts()[req.GetTo()]; got != 1 {
			t.Fatalf("SMTP server got %d messages for %s, want 1", got, req.GetTo())
		}
	})

	t.Run("method=SendNotice/case=request-id-reused", func(t *testing.T) {
		t.Parallel()
		ctx := as(t.Context(), "svc:registry")
		req := noticeRequest("reused-key", "a@acme.example")
		if _, err := c.SendNotice(ctx, req); err != nil {
			t.Fatalf("SendNotice: %v", err)
		}
		req.Body = "something else"
		_, err := c.SendNotice(ctx, req)
		wantCode(t, err, codes.AlreadyExists)
	})

	t.Run("method=SendNotice/case=rejected-permanently", func(t *testing.T) {
		t.Parallel()
		ctx := as(t.Context(), "svc:registry")
		mail.Reject("gone@acme.example")
		resp, err := c.SendNotice(ctx, noticeRequest("rejected", "gone@acme.example"))
		if err != nil {
			t.Fatalf("SendNotice: %v", err)
		}
		if got := waitNotice(t, c, resp.GetNotice().GetNoticeId()); got.GetStatus() != dispatchv1.NoticeStatus_NOTICE_STATUS_FAILED || got.GetSendTime() != nil {
			t.Fatalf("notice = %v, want FAILED", got)
		}
	})

	t.Run("method=GetNotice/case=errors", func(t *testing.T) {
		t.Parallel()
		ctx := as(t.Context(), "ops")
		_, err := c.GetNotice(ctx, &dispatchv1.GetNoticeRequest{NoticeId: "cmp_1"})
		wantCode(t, err, codes.InvalidArgument)
		_, err = c.GetNotice(ctx, &dispatchv1.GetNoticeRequest{NoticeId: ids.New(domain.NoticeIDPrefix)})
		wantCode(t, err, codes.NotFound)
	})
}

func TestSendNoticeInvalid(t *testing.T) {
	t.Parallel()
	c, mail := newNoticeStack(t)
	tests := []struct {
		name string
		req  *dispatchv1.SendNoticeRequest
		want []string
	}{
		{
			name: "empty",
			req:  &dispatchv1.SendNoticeRequest{},
			want: []string{"body", "kind", "request_id", "subject", "to"},
		},
		{
			name: "malformed",
			req: &dispatchv1.SendNoticeRequest{
				RequestId: strings.Repeat("k", 129), To: "Acme <privacy@acme.example>", Subject: "two\nlines",
				Body: strings.Repeat("b", domain.MaxNoticeBodyBytes+1), Kind: "Sensitive Data",
				IncidentId: strings.Repeat("i", 129), CustomerId: "bad\x00id",
			},
			want: []string{"body", "customer_id", "incident_id", "kind", "request_id", "subject", "to"},
		},
	}
	// Runs after the parallel subtests.
	t.Cleanup(func() {
		if mail.Total() != 0 {
			t.Errorf("invalid requests sent %d messages", mail.Total())
		}
	})
	for _, tt := range tests {
		t.Run("method=SendNotice/case="+tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := c.SendNotice(as(t.Context(), "svc:registry"), tt.req)
			got := fieldViolations(t, err)
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("violations = %v, want %v", got, tt.want)
			}
		})
	}
}
