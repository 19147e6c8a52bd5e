package scanner

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// labelled is one corpus case: the text and its expected findings.
type labelled struct {
	line int
	text string
	want []span
}

type span struct {
	t          Type
	start, end int
}

// loadCorpus reads a corpus file such as testdata/corpus.txt: one case a
// line, "\n" escapes a newline, and [[type:value]] marks an expected finding.
func loadCorpus(t *testing.T, path string) []labelled {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	ln := 0
	for sc.Scan() {
		ln++
		raw := sc.Text()
		if raw == "" || strings.HasPrefix(raw, "#") {
			continue
		}
		raw = strings.ReplaceAll(raw, `\n`, "\n")
		c := labelled{line: ln}
		var sb strings.Builder
		for {
			i := strings.Index(raw, "[[")
			if i < 0 {
				sb.WriteString(raw)
				break
			}
			sb.WriteString(raw[:i])
			j := strings.Index(raw[i:], "]]")
			colon := strings.IndexByte(raw[i:], ':')
			if j < 0 || colon < 0 || colon > j {
				t.Fatalf("corpus line %d: bad marker", ln)
			}
			typ, ok := ParseType(raw[i+2 : i+colon])
			if !ok {
				t.Fatalf("corpus line %d: unknown type %q", ln, raw[i+2:i+colon])
			}
			val := raw[i+colon+1 : i+j]
			start := sb.Len()
			sb.WriteString(val)
			c.want = append(c.want, span{t: typ, start: start, end: sb.Len()})
			raw = raw[i+j+2:]
		}
		c.text = sb.String()
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func overlaps(a, b span) bool { return a.t == b.t && a.start < b.end && b.start < a.end }

// TestCorpusAccuracy measures precision and recall per type on each
// labelled corpus (testdata/corpus*.txt: the scanner authors' own and the
// blind holdout) and fails below 0.95 for any type in any file.
func TestCorpusAccuracy(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/corpus*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/corpus*.txt files")
	}
	for _, path := range files {
		t.Run("file="+filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			corpusAccuracy(t, path)
		})
	}
}

// corpusAccuracy checks one corpus file and logs its per-type table.
func corpusAccuracy(t *testing.T, path string) {
	t.Helper()
	s := New()
	cases := loadCorpus(t, path)
	file := filepath.Base(path)
	var tp, fp, fn [numTypes]int
	for _, c := range cases {
		got := s.Scan([]byte(c.text)).Findings
		matched := make([]bool, len(got))
		for _, w := range c.want {
			hit := false
			for i, g := range got {
				if overlaps(w, span{g.Type, g.Start, g.End}) {
					matched[i] = true
					hit = true
				}
			}
			if hit {
				tp[w.t]++
			} else {
				fn[w.t]++
				t.Logf("%s:%d: missed %s %q in %q", file, c.line, w.t, c.text[w.start:w.end], c.text)
			}
		}
		for i, g := range got {
			if !matched[i] {
				fp[g.Type]++
				t.Logf("%s:%d: false %s at %d-%d %q in %q", file, c.line, g.Type, g.Start, g.End, g.Masked, c.text)
			}
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-17s %5s %5s %5s %9s %7s\n", "type", "tp", "fp", "fn", "precision", "recall")
	failed := false
	for ty := SSN; ty < numTypes; ty++ {
		p, r := ratio(tp[ty], tp[ty]+fp[ty]), ratio(tp[ty], tp[ty]+fn[ty])
		fmt.Fprintf(&sb, "%-17s %5d %5d %5d %9.3f %7.3f\n", ty, tp[ty], fp[ty], fn[ty], p, r)
		if p < 0.95 || r < 0.95 {
			failed = true
		}
	}
	t.Logf("accuracy on %s, %d cases:\n%s", file, len(cases), sb.String())
	if failed {
		t.Errorf("%s: precision or recall below 0.95 for some type (table above)", file)
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}
