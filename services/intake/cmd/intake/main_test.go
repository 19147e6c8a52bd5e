package main

import (
	"strings"
	"testing"
)

// TestRunRejectsBadConfig checks that configuration is validated before
// anything starts: run fails at once, naming every bad variable.
func TestRunRejectsBadConfig(t *testing.T) {
	t.Setenv("MONGODB_URI", "")
	t.Setenv("CLASSIFICATION_ADDR", "no-port")
	t.Setenv("RELAY_INTERVAL", "0s")
	err := run(t.Context())
	if err == nil {
		t.Fatal("run with bad config succeeded")
	}
	for _, name := range []string{"MONGODB_URI", "CLASSIFICATION_ADDR", "RELAY_INTERVAL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}
