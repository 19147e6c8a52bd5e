package domain_test

import (
	"strings"
	"testing"

	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

const msgID = "<cmp_0123456789abcdef01234567.v2.0123456789abcdef01234567@breachline>"

func report(reportType, statusPart, returned string) []byte {
	return []byte(strings.ReplaceAll("From: MAILER-DAEMON@mx.example\n"+
		"MIME-Version: 1.0\n"+
		"Content-Type: multipart/report; report-type="+reportType+"; boundary=\"X\"\n\n"+
		"--X\nContent-Type: text/plain\n\nHuman-readable part.\n"+
		statusPart+
		"--X\nContent-Type: text/rfc822-headers\n\n"+returned+"\n"+
		"--X--\n", "\n", "\r\n"))
}

func TestParseDSN(t *testing.T) {
	t.Parallel()
	status := func(fields string) string {
		return "--X\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n" + fields + "\n"
	}
	tests := []struct {
		name    string
		raw     []byte
		want    domain.DSN
		wantErr bool
	}{
		{"hard_bounce", report("delivery-status", status("Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\n"), "Message-ID: "+msgID+"\n"),
			domain.DSN{MessageID: msgID, Type: domain.BounceHard, Diagnostic: "smtp; 550 5.1.1 user unknown"}, false},
		{"delayed_is_soft", report("delivery-status", status("Final-Recipient: rfc822; a@example.org\nAction: delayed\nStatus: 4.4.7\n"), "Message-ID: "+msgID+"\n"),
			domain.DSN{MessageID: msgID, Type: domain.BounceSoft, Diagnostic: "4.4.7"}, false},
		{"failed_with_4xx_is_soft", report("delivery-status", status("Original-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 4.2.2\nDiagnostic-Code: smtp; 452 mailbox full\n"), "Subject: x\n"),
			domain.DSN{Type: domain.BounceSoft, Diagnostic: "smtp; 452 mailbox full"}, false},
		{"original_message_id_field", report("delivery-status", "--X\nContent-Type: message/delivery-status\n\nOriginal-Message-ID: "+msgID+"\nReporting-MTA: dns; mx\n\nAction: failed\nStatus: 5.7.1\n\n", "Subject: x\n"),
			domain.DSN{MessageID: msgID, Type: domain.BounceHard, Diagnostic: "5.7.1"}, false},
		{"feedback_report_is_a_complaint", report("feedback-report", "--X\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\n\n", "Message-ID: "+msgID+"\n"),
			domain.DSN{MessageID: msgID, Type: domain.BounceComplaint}, false},
		{"not_a_report", []byte("From: a@example.org\r\nContent-Type: text/plain\r\n\r\nhello\r\n"), domain.DSN{}, true},
	}
	for _, tt := range tests {
		t.Run("case="+tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.ParseDSN(tt.raw)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseDSN = %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestSubstituteDecide(t *testing.T) {
	t.Parallel()
	rules, err := domain.LoadSubstituteRules()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		jurisdiction string
		affected     int64
		applies      bool
	}{
		{"illinois_over_500000_people", "US-IL", 500001, true},
		{"illinois_under_both_thresholds", "US-IL", 240000, false},
		{"alabama_persons_threshold_is_100000", "US-AL", 100001, true},
		{"oregon_has_a_cost_threshold_only", "US-OR", 260000, true},
		{"default_for_jurisdictions_without_data", "US-TX", 249000, false},
		{"default_cost_exceeded", "us-tx", 250001, true},
	}
	for _, tt := range tests {
		t.Run("case="+tt.name, func(t *testing.T) {
			t.Parallel()
			if d := rules.Decide(tt.jurisdiction, tt.affected); d.Applies != tt.applies || d.Summary == "" {
				t.Fatalf("Decide(%s, %d) = %+v, want applies %v", tt.jurisdiction, tt.affected, d, tt.applies)
			}
		})
	}
}
