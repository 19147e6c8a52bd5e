package channel

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/breachline/breachline/services/dispatch/internal/domain"
)

// PDF prints letters with github.com/go-pdf/fpdf: pure Go (no cgo, no
// external renderer), the standard PDF core fonts (nothing to embed or
// ship), automatic line wrapping and page breaks, and a long-lived API
// (the maintained successor of jung-kurt/gofpdf). Each letter starts on a
// new page with the sender, the recipient's postal address placed for a
// left-window envelope, the date and the rendered notice.
type PDF struct {
	// Now dates the letters; time.Now when nil.
	Now func() time.Time
}

var _ domain.Printer = PDF{}

// Print implements domain.Printer.
func (p PDF) Print(org domain.OrgData, letters []domain.Letter) ([]byte, error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	date := now().UTC()
	pdf := fpdf.New("P", "mm", "Letter", "")
	pdf.SetCreationDate(date)
	pdf.SetModificationDate(date)
	pdf.SetCatalogSort(true)
	pdf.SetTitle("Breach notice letters", false)
	pdf.SetProducer("Breachline", false)
	pdf.SetMargins(25, 20, 25)
	pdf.SetAutoPageBreak(true, 20)
	// The core fonts are Windows-1252; the translator maps UTF-8 text onto
	// it (accented names print correctly, characters outside it as "?").
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	for _, l := range letters {
		pdf.AddPage()
		pdf.SetFont("Helvetica", "B", 11)
		pdf.CellFormat(0, 5, tr(org.Name), "", 1, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 9)
		pdf.CellFormat(0, 4.5, tr(strings.TrimSpace(org.Phone+"  "+org.Email)), "", 1, "L", false, 0, "")
		pdf.Ln(12)
		pdf.SetFont("Helvetica", "", 11)
		pdf.MultiCell(90, 5, tr(strings.TrimSpace(l.Name+"\n"+l.Address)), "", "L", false)
		pdf.Ln(8)
		pdf.CellFormat(0, 5, date.Format("January 2, 2006"), "", 1, "L", false, 0, "")
		pdf.Ln(4)
		pdf.SetFont("Helvetica", "B", 12)
		pdf.MultiCell(0, 6, tr(l.Subject), "", "L", false)
		pdf.Ln(2)
		pdf.SetFont("Helvetica", "", 10.5)
		pdf.MultiCell(0, 5, tr(strings.TrimSpace(l.Body)), "", "L", false)
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("render pdf: %w", err)
	}
	return b.Bytes(), nil
}
