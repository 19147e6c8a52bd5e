package channel

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// WebsiteDir publishes notice pages into a directory the organisation's
// web server serves (WEBSITE_DIR), as <dir>/<campaign>/<artifact name>.
// The page is written to a temporary file and renamed, so the web server
// never serves half a page.
type WebsiteDir struct{ Dir string }

var _ domain.WebsitePublisher = WebsiteDir{}

// Publish implements domain.WebsitePublisher.
func (w WebsiteDir) Publish(_ context.Context, c domain.Campaign, a domain.Artifact, page []byte) error {
	dir := filepath.Join(w.Dir, c.ID)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".page-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(page); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil { //nolint:gosec // a public web page
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, a.Name)); err != nil {
		return fmt.Errorf("publish %s: %w", a.Name, err)
	}
	return nil
}
