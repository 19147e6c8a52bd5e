package rules

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/breachline/breachline/services/classification/internal/domain"
	"github.com/breachline/breachline/services/classification/internal/rules/packgen"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// BenchmarkAssess1M assesses an incident with 1,000,000 affected individuals
// spread over all 54 US jurisdictions (and a few EU states), given their
// per-jurisdiction counts, and prints assess.1m_s: the time of one full
// assessment, from facts to the ordered decision.
func BenchmarkAssess1M(b *testing.B) {
	e := engine(b)
	var affected []domain.JurisdictionCount
	var total int64
	for i, code := range packgen.US {
		n := int64(18_000 + i*10)
		affected = append(affected, domain.JurisdictionCount{Jurisdiction: "US-" + code, Count: n})
		total += n
	}
	for _, c := range []string{"DE", "FR", "IE"} {
		affected = append(affected, domain.JurisdictionCount{Jurisdiction: c, Count: 1000})
		total += 1000
	}
	affected[0].Count += 1_000_000 - total
	f := domain.Facts{
		DataElements:  els(domain.ElementName, domain.ElementSSN, domain.ElementMedical, domain.ElementEmailAddress),
		Affected:      affected,
		DiscoveredAt:  discovered,
		HIPAARole:     domain.HIPAACoveredEntity,
		Holds:         []domain.Hold{{ID: "fbi-1", RequestedBy: "FBI", Start: discovered.Add(time.Hour), End: discovered.Add(49 * time.Hour)}},
		NoticeCostUSD: 600_000,
	}
	if got := f.TotalAffected(); got != 1_000_000 {
		b.Fatalf("total = %d", got)
	}
	start := time.Now()
	d, err := e.Assess(domain.Input{Facts: f}, discovered)
	elapsed := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := e.Assess(domain.Input{Facts: f}, discovered); err != nil {
			b.Fatal(err)
		}
	}
	fmt.Fprintf(os.Stdout, "bench: assess.1m_s %.4f s\n", elapsed.Seconds())
	fmt.Fprintf(os.Stdout, "bench: assess.1m_obligations %d count\n", len(d.Obligations))
}
