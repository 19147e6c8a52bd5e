package scanner

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// benchSize is the size of the generated mixed text.
const benchSize = 64 << 20

// BenchmarkScan measures single-goroutine scan throughput on ~64 MiB of
// mixed realistic text (logs, e-mails, prose, CSV, JSON) with personal
// information sprinkled at about one finding per few KB, and the ratio to a
// plain bytes.Count pass over the same buffer measured in the same run. It
// does its own timing, so it works with -benchtime 1x.
//
// Throughput is per core: the goroutine is locked to its thread and timed
// with the thread's CPU clock (best of nine rounds), so other processes on
// a shared machine do not distort it; the wall-clock figure is printed too.
func BenchmarkScan(b *testing.B) {
	buf := mixedText(benchSize, 1)
	s := New()
	warm := s.Scan(buf) // warm-up
	findings := 0
	for _, c := range warm.Counts {
		findings += c
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const rounds = 9
	scanCPU, countCPU, scanWall := time.Duration(1<<62), time.Duration(1<<62), time.Duration(1<<62)
	sink := 0
	for range rounds {
		w0, c0 := time.Now(), threadCPU(b)
		r := s.Scan(buf)
		c1, w1 := threadCPU(b), time.Now()
		scanCPU, scanWall = min(scanCPU, c1-c0), min(scanWall, w1.Sub(w0))
		sink += len(r.Findings)
		const counts = 8
		c0 = threadCPU(b)
		for range counts {
			sink += bytes.Count(buf, []byte("\n"))
		}
		countCPU = min(countCPU, (threadCPU(b)-c0)/counts)
	}
	for range b.N {
		sink += len(s.Scan(buf[:1<<16]).Findings)
	}
	mbps := float64(len(buf)) / 1e6 / scanCPU.Seconds()
	b.ReportMetric(mbps, "MB/s")
	fmt.Fprintf(os.Stdout, "bench: scan.mb_per_s %.1f MB/s\n", mbps)
	fmt.Fprintf(os.Stdout, "bench: scan.count_ratio %.2f x\n", scanCPU.Seconds()/countCPU.Seconds())
	fmt.Fprintf(os.Stdout, "bench: scan.wall_mb_per_s %.1f MB/s\n", float64(len(buf))/1e6/scanWall.Seconds())
	fmt.Fprintf(os.Stdout, "bench: scan.findings_per_mib %.1f findings\n", float64(findings)/float64(len(buf)>>20))
	_ = sink
}

// threadCPU returns the CPU time the calling thread has used.
func threadCPU(b *testing.B) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		b.Fatalf("thread CPU clock: %v", err)
	}
	return time.Duration(ts.Nano())
}

// mixedText generates n bytes of realistic mixed content.
func mixedText(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var sb bytes.Buffer
	sb.Grow(n + 4096)
	words := strings.Fields(`the of and to in is that for it as was with be by on not he this are or his from at which but
		have an they you were her she there been one all we their has would when if so no will more about up out can what
		said them some could into than time only new other then these two may first any like now my such make over our
		even most after also made many did must before back through years where much your way well down should because
		each just those people how too little state good very world still own see men work long here get both between life
		being under never day same another know while last might great old year off come since against go came right used
		take three system service customer account request support team report data update release policy review process`)
	caps := strings.Fields(`Monday Tuesday January March Paris London Acme Globex Initech Umbrella Hooli Stark Wayne Kubernetes Postgres Redis`)
	levels := []string{"INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"}
	paths := []string{"/api/v1/users", "/api/v1/orders", "/healthz", "/static/app.js", "/api/v2/search", "/login", "/metrics"}
	pii := func() string {
		switch r.IntN(12) {
		case 0:
			return "ssn=536-22-1947"
		case 1:
			return "card 4111 1111 1111 1111"
		case 2:
			return "email jane.doe@example.com"
		case 3:
			return "phone (415) 555-2671"
		case 4:
			return "DOB: 03/14/1985"
		case 5:
			return "password=Xk9mPq2vL"
		case 6:
			return "ship to 742 Evergreen Terrace, Springfield, IL 62704"
		case 7:
			return "IBAN GB29NWBK60161331926819"
		case 8:
			return "MRN: 00482913"
		case 9:
			return "token=ghp_1a2b3C4d5E6f7G8h9I0jK1lM2nO3pQ4rS5tU"
		case 10:
			return "Name: John Smith, acct 7788990011"
		default:
			return "+44 20 7946 0958"
		}
	}
	sentence := func() {
		k := 6 + r.IntN(14)
		for i := range k {
			if i > 0 {
				sb.WriteByte(' ')
			}
			switch {
			case r.IntN(25) == 0:
				sb.WriteString(caps[r.IntN(len(caps))])
			case r.IntN(40) == 0:
				fmt.Fprintf(&sb, "%d", r.IntN(2000))
			default:
				sb.WriteString(words[r.IntN(len(words))])
			}
		}
		sb.WriteString(". ")
	}
	ts := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for sb.Len() < n {
		ts = ts.Add(time.Duration(r.IntN(5000)) * time.Millisecond)
		switch k := r.IntN(100); {
		case k < 45: // log line
			fmt.Fprintf(&sb, "%s %s [%s] method=GET path=%s/%d status=%d duration=%dms bytes=%d ip=10.%d.%d.%d request_id=%08x-%04x\n",
				ts.Format(time.RFC3339Nano), levels[r.IntN(len(levels))], caps[r.IntN(len(caps))], paths[r.IntN(len(paths))],
				r.IntN(100000), 200+r.IntN(4)*100, r.IntN(900), r.IntN(50000), r.IntN(256), r.IntN(256), r.IntN(256), r.Uint32(), r.IntN(65536))
		case k < 60: // JSON event
			fmt.Fprintf(&sb, `{"ts":"%s","event":"%s","user_id":%d,"amount":%d.%02d,"currency":"USD","ok":true,"tags":["%s","%s"]}`+"\n",
				ts.Format(time.RFC3339), words[r.IntN(len(words))], r.IntN(1000000), r.IntN(5000), r.IntN(100), words[r.IntN(len(words))], words[r.IntN(len(words))])
		case k < 70: // CSV row
			fmt.Fprintf(&sb, "%d,%s,%s,%d.%02d,%s,%d\n", r.IntN(1000000), caps[r.IntN(len(caps))], words[r.IntN(len(words))],
				r.IntN(10000), r.IntN(100), ts.Format("2006-01-02"), r.IntN(50))
		case k < 74: // e-mail header and body
			fmt.Fprintf(&sb, "From: %s <%s@example.org>\nSubject: Re: %s %s\nDate: %s\n\n", caps[r.IntN(len(caps))], words[r.IntN(len(words))],
				words[r.IntN(len(words))], words[r.IntN(len(words))], ts.Format(time.RFC1123Z))
			for range 3 + r.IntN(4) {
				sentence()
			}
			sb.WriteString("\n\n")
		default: // prose paragraph
			for range 4 + r.IntN(6) {
				sentence()
			}
			sb.WriteString("\n\n")
		}
		if r.IntN(30) == 0 { // about one finding per few KB
			sb.WriteString("note: ")
			sb.WriteString(pii())
			sb.WriteString("\n")
		}
	}
	return sb.Bytes()[:n]
}
