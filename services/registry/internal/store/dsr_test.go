package store

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/breachline/breachline/pkg/apperr"
	"github.com/breachline/breachline/pkg/ids"
	"github.com/breachline/breachline/services/registry/internal/domain"
)

func dsrAt(customerID string, receive time.Time) domain.DataSubjectRequest {
	return domain.DataSubjectRequest{
		ID: ids.New("dsr"), CustomerID: customerID, Type: domain.DSRAccess,
		Subject:     domain.DataSubject{Name: "Zoé", Email: "zoe@example.org"},
		ReceiveTime: receive, DueTime: domain.DueTime(receive), OriginalDueTime: domain.DueTime(receive),
		Status: domain.DSRReceived, CreateTime: t0, UpdateTime: t0, NotificationEmail: "dpo@acme.example", ForwardPending: true,
		StatusHistory: []domain.DSRStatusChange{{To: domain.DSRReceived, Time: t0, Actor: "a"}},
		Version:       1,
	}
}

func TestDataSubjectRequestChanges(t *testing.T) {
	t.Parallel()

	t.Run("method=Update/case=fenced_roundtrip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		d := dsrAt("acme", t0)
		if _, err := s.CreateDataSubjectRequest(t.Context(), d, idem("", "")); err != nil {
			t.Fatal(err)
		}
		next := d
		next.Version = 2
		next.Status = domain.DSRForwarded
		next.ForwardPending = false
		next.ForwardTime = t0.Add(time.Second)
		next.ForwardNoticeID = "ntc_1"
		next.Tasks = []domain.AssistanceTask{{ID: "tsk_1", Kind: domain.TaskExport, Description: "x", CreateTime: t0, CreatedBy: "a", Fingerprint: "f",
			CompleteTime: t0.Add(time.Hour), Evidence: "job 1", ArtefactSHA256: "ab"}}
		next.Extensions = []domain.DueDateExtension{{Months: 1, Reason: "r", PreviousDue: d.DueTime, NewDue: domain.MonthsAfter(t0, 2), RecordTime: t0, Actor: "a"}}
		next.Assistance = []domain.AssistanceRecord{{Description: "helped", RecordTime: t0, Actor: "a"}}
		got, err := s.UpdateDataSubjectRequest(t.Context(), next, 1)
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, got, next)
		// A second writer from version 1 loses the fence.
		loser := d
		loser.Version = 2
		loser.Status = domain.DSRRejected
		if _, err := s.UpdateDataSubjectRequest(t.Context(), loser, 1); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("second writer: %v", err)
		}
		read, err := s.GetDataSubjectRequest(t.Context(), d.ID)
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, read, next)
		hist, err := s.DataSubjectRequestHistory(t.Context(), d.ID)
		if err != nil || len(hist) != 1 || hist[0].Status != domain.DSRForwarded {
			t.Fatalf("history = %v, %v", hist, err)
		}
	})

	t.Run("method=List/case=received_range", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		var made []string
		for i := range 3 {
			d := dsrAt("acme", t0.Add(time.Duration(i)*time.Hour))
			made = append(made, d.ID)
			if _, err := s.CreateDataSubjectRequest(t.Context(), d, idem("", "")); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.ListDataSubjectRequests(t.Context(), domain.DSRQuery{CustomerID: "acme", ReceivedFrom: t0.Add(time.Hour), ReceivedTo: t0.Add(2 * time.Hour), Limit: 10})
		if err != nil || len(got) != 1 || got[0].ID != made[1] {
			t.Fatalf("range = %v, %v", got, err)
		}
	})
}

func TestDevSigningSeed(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	first, err := s.DevSigningSeed(t.Context(), bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.DevSigningSeed(t.Context(), bytes.Repeat([]byte{2}, 32))
	if err != nil || !bytes.Equal(first, second) || first[0] != 1 {
		t.Fatalf("seeds %x / %x, %v: every replica must get the first one", first, second, err)
	}
}
