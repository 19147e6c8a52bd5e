package grpcx_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	intakev1 "github.com/breachline/breachline/pkg/gen/breachline/intake/v1"
	"github.com/breachline/breachline/pkg/grpcx"
)

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestQuietMethodsLogFailuresOnly checks that a quiet method's successful
// calls leave no Info line while its failures and other methods still log.
func TestQuietMethodsLogFailuresOnly(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	client := start(t, func(o *grpcx.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		o.QuietMethods = []string{intakev1.IntakeService_GetIncident_FullMethodName}
	})
	if _, err := client.GetIncident(t.Context(), &intakev1.GetIncidentRequest{IncidentId: "inc_1"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "GetIncident") {
		t.Fatalf("a successful quiet call was logged at Info:\n%s", logs.String())
	}
	if _, err := client.GetIncident(t.Context(), &intakev1.GetIncidentRequest{IncidentId: "missing"}); err == nil {
		t.Fatal("GetIncident(missing) succeeded")
	}
	if !strings.Contains(logs.String(), "code=NotFound") {
		t.Fatalf("a failed quiet call was not logged:\n%s", logs.String())
	}
	if _, err := client.ListIncidents(t.Context(), &intakev1.ListIncidentsRequest{}); err == nil || !strings.Contains(logs.String(), "ListIncidents") {
		t.Fatalf("another method's call was not logged (err %v):\n%s", err, logs.String())
	}
}
