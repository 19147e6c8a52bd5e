package e2e_test

import (
	"os"
	"testing"
)

// TestMain removes the binaries the tests built (see binaries) when they
// are done, so repeated runs do not fill the temp directory.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}
