package packgen

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func readRows(t *testing.T) []Row {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "reference", "breach_laws.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := ReadCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestGeneratedPacksUpToDate is the drift check of the generated packs;
// UPDATE_PACKS=1 rewrites them.
func TestGeneratedPacksUpToDate(t *testing.T) {
	t.Parallel()
	files, err := Generate(readRows(t))
	if err != nil {
		t.Fatal(err)
	}
	update := os.Getenv("UPDATE_PACKS") == "1"
	for name, want := range files {
		path := filepath.Join("..", "packs", name)
		if update {
			if err := os.WriteFile(path, want, 0o600); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (run UPDATE_PACKS=1 go test ./internal/rules/packgen)", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s drifted from breach_laws.csv (run UPDATE_PACKS=1 go test ./internal/rules/packgen)", name)
		}
	}
}

func TestUSCodes_all54(t *testing.T) {
	t.Parallel()
	codes := USCodes(readRows(t))
	if len(codes) != 54 {
		t.Fatalf("US rows = %d, want 54 (50 states, DC, PR, GU, VI)", len(codes))
	}
	for _, c := range []string{"DC", "PR", "GU", "VI", "TX", "CA", "WY"} {
		if !slices.Contains(codes, c) {
			t.Errorf("missing %s", c)
		}
	}
}
