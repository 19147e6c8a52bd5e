// Package packgen turns the reference breach-law dataset
// (rules/reference/breach_laws.csv, see breach_laws.md beside it) into one
// rule pack per US jurisdiction. The generated packs are committed data, a
// lawyer reads them like any other pack; TestGeneratedPacksUpToDate fails
// when they drift from the CSV, and `UPDATE_PACKS=1 go test
// ./internal/rules/packgen` rewrites them.
//
// The reading of each cell is conservative and never assumes a value: "?"
// gives no rule value (a manual-review rule where a duty may exist), "(secondary
// source)" marks the value unverified, and every pack quotes the cells it
// read in its notes so a reviewer sees the source next to the
// interpretation. Jurisdictions with a hand-written pack (Handwritten) are
// skipped.
package packgen

import (
	"encoding/csv"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Handwritten lists the codes whose packs are written by hand, with
// effective-dated rules the CSV cannot express.
var Handwritten = []string{"TX", "CA"}

// Version and EffectiveDate of every generated pack: the date of the newest
// change the reference encodes (CA SB 446 and OK SB 626, 2026-01-01).
const (
	Version       = "2026.1"
	EffectiveDate = "2026-01-01"
)

// Row is one CSV row by column name.
type Row map[string]string

// ReadCSV reads the dataset.
func ReadCSV(r io.Reader) ([]Row, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read csv: %w", err)
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("read csv: no rows")
	}
	var rows []Row
	for _, rec := range recs[1:] {
		row := Row{}
		for i, h := range recs[0] {
			if i < len(rec) {
				row[h] = strings.TrimSpace(rec[i])
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// US lists the 54 US jurisdictions: 50 states, DC, PR, GU and VI.
var US = strings.Fields(`AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT
	NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI`)

func isUSRow(r Row) bool { return slices.Contains(US, r["code"]) }

// Generate returns file name -> YAML for every US row not in Handwritten.
func Generate(rows []Row) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, r := range rows {
		if !isUSRow(r) || slices.Contains(Handwritten, r["code"]) {
			continue
		}
		g := newGen(r)
		name := fmt.Sprintf("us-%s.%s.yaml", strings.ToLower(r["code"]), Version)
		out[name] = g.yaml()
	}
	return out, nil
}

// USCodes lists the codes of the US rows (all 54 jurisdictions).
func USCodes(rows []Row) []string {
	var out []string
	for _, r := range rows {
		if isUSRow(r) {
			out = append(out, r["code"])
		}
	}
	return out
}

var (
	reThreshold   = regexp.MustCompile(`^(>|at least |)\s*([0-9][0-9,]*)(\s+or more)?`)
	reDays        = regexp.MustCompile(`(\d+)(?:th)?\s+(calendar\s+|business\s+)?days?`)
	reISODate     = regexp.MustCompile(`(?:from|since|eff\.) (\d{4}-\d{2}-\d{2})`)
	reTIN         = regexp.MustCompile(`\b(i?tin)\b`)
	reAfterNotify = regexp.MustCompile(`(\d+)\s+(business\s+)?days\s+(after|of)\s+(notifying|distribution|notice)`)
)

func unknown(s string) bool { return strings.HasPrefix(s, "?") }
func secondary(s string) bool {
	return strings.Contains(strings.ToLower(s), "secondary") || strings.Contains(s, "?")
}
func yes(s string) bool { return strings.HasPrefix(strings.ToLower(s), "yes") }
func absent(s string) bool {
	l := strings.ToLower(s)
	return l == "" || l == "n/a" || strings.HasPrefix(l, "none") || strings.HasPrefix(l, "no ") || l == "no"
}

// threshold parses ">1,000 ...", "500 or more", "at least 250", "1 (any)".
type threshold struct {
	op    string
	value int64
	ok    bool
}

func parseThreshold(s string) threshold {
	m := reThreshold.FindStringSubmatch(strings.ToLower(s))
	if m == nil || m[2] == "" {
		return threshold{}
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(m[2], ",", ""), 10, 64)
	if err != nil {
		return threshold{}
	}
	op := ">="
	if m[1] == ">" {
		op = ">"
	}
	return threshold{op: op, value: n, ok: true}
}

// gen builds one pack's YAML.
type gen struct {
	r        Row
	code     string
	label    string
	state    string
	notes    []string
	verified bool
	b        strings.Builder
}

func newGen(r Row) *gen {
	code := r["code"]
	return &gen{r: r, code: code, label: "US-" + code, state: r["jurisdiction"], verified: true}
}

func q(s string) string { return strconv.Quote(s) }

func (g *gen) line(indent int, format string, args ...any) {
	g.b.WriteString(strings.Repeat("  ", indent))
	fmt.Fprintf(&g.b, format, args...)
	g.b.WriteByte('\n')
}

func (g *gen) note(s string) { g.notes = append(g.notes, s) }

// scope lists the residence codes: the territories also as countries (a
// Puerto Rico resident may be given as "PR" or "US-PR").
func (g *gen) scope() string {
	switch g.code {
	case "PR", "GU", "VI":
		return fmt.Sprintf("[US-%s, %s]", g.code, g.code)
	}
	return "[US-" + g.code + "]"
}
