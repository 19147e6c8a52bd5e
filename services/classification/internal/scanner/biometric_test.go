package scanner

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestBiometricPhrases checks which spans of a text are reported as
// biometric: phrases that name biometric data, joined with an identifier
// right after them, and none for key, device and build fingerprints or
// other senses of the words.
func TestBiometricPhrases(t *testing.T) {
	t.Parallel()
	s := New()
	cases := []struct {
		name string
		text string
		want []string
	}{
		{"template", "we collect and store your fingerprint template for timeclock use", []string{"fingerprint template"}},
		{"plural", "We do not sell biometric data such as fingerprints or retina images.", []string{"biometric data", "fingerprints", "retina images"}},
		{"geometry", "biometric identifiers including scans of face geometry will be retained", []string{"biometric identifiers", "scans of face geometry"}},
		{"overlapping", "finger scan of face geometry", []string{"finger scan of face geometry"}},
		{"caps", "IRIS SCAN enrollment completed", []string{"IRIS SCAN"}},
		{"snake", "voice_print stored", []string{"voice_print"}},
		{"camel", "faceTemplate enrolled; palmVeinPattern saved", []string{"faceTemplate", "palmVeinPattern"}},
		{"hyphen", "finger-print scans exported", []string{"finger-print scans"}},
		{"dna", "Forensic report: DNA sample collected", []string{"DNA sample"}},
		{"genetic", "raw genetic data uploaded", []string{"genetic data"}},
		{"latent", "match on latent fingerprints from the scene", []string{"latent fingerprints"}},
		{"keystroke", "keystroke dynamics profile", []string{"keystroke dynamics"}},
		{"line-start", "voiceprint", []string{"voiceprint"}},
		{"joined-id", "Fingerprint template: FP-00123456", []string{"Fingerprint template: FP-00123456"}},
		{"joined-key", "retina_scan_id=RS-4432-981", []string{"retina_scan_id=RS-4432-981"}},
		{"joined-hash", "voiceprint hash 9f86d081884c7d659a2feaa0c55ad015", []string{"voiceprint hash 9f86d081884c7d659a2feaa0c55ad015"}},
		{"not-joined-next-line", "Iris scan\nref IR-5521-0098", []string{"Iris scan"}},
		{"ssh", "SSH host key fingerprint SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8", nil},
		{"ecdsa", "The ECDSA key fingerprint is SHA256:4q1vB3fXq2mR9kL0pZ7sT8uW6yA5cD4eF3gH2iJ1kLm.", nil},
		{"tls", "TLS certificate fingerprint (SHA-1): 5E:FF:56:A2:AF:15:88:25", nil},
		{"gpg", "gpg --fingerprint: 8B0F 2A36 9C1D 7E45", nil},
		{"after", "the fingerprint of the SSH key changed", nil},
		{"build", "Android build fingerprint: google/raven/raven:14/UQ1A", nil},
		{"browser", "Our vendor uses browser fingerprinting (canvas, fonts)", nil},
		{"device", "Device fingerprint 4f2a9c88 recorded", nil},
		{"content-hash", "Webpack content hash fingerprint added to asset filenames", nil},
		{"thumbprint", "Certificate thumbprint: A909502DD82AE41433E6F83886B00D4277A32A7B", nil},
		{"retina-display", "MacBook Pro with Retina display", nil},
		{"face-value", "The bond traded below face value; let's face it, face-to-face", nil},
		{"iris-name", "Iris Johnson approved; the iris diaphragm was stuck", nil},
		{"dna-figurative", "Customer focus is in our company DNA", nil},
		{"palm-oil", "Sustainable palm oil sourcing", nil},
		{"voice", "Voice assistant integration shipped", nil},
		{"interface", "the interface facade and surface scans", nil},
		{"biometric-alone", "biometric_type: enrolled", nil},
		{"iris-name-number", "Iris Johnson, employee 55123", nil},
		{"retina-number", "Retina display model 88213 shipped", nil},
		{"dna-joined", "DNA sample ID DNA-88231 collected", []string{"DNA sample ID DNA-88231"}},
	}
	for _, c := range cases {
		t.Run("method=Scan/case="+c.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, f := range s.Scan([]byte(c.text)).Findings {
				if f.Type == Biometric {
					got = append(got, c.text[f.Start:f.End])
				}
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("biometric findings %q, want %q", got, c.want)
			}
		})
	}
}

// TestBiometricPrefilterAlignment checks that the sampled prefilter lets
// every phrase through in every spelling and at every alignment.
func TestBiometricPrefilterAlignment(t *testing.T) {
	t.Parallel()
	s := New()
	phrases, _ := bioPhraseList()
	for _, p := range phrases {
		for _, v := range []string{p, strings.ToUpper(p), strings.ReplaceAll(p, " ", "_"), strings.ReplaceAll(p, " ", "-"), camel(p)} {
			for pad := range 2 * bioStride {
				text := strings.Repeat("x", pad) + " " + v + " ."
				r := s.Scan([]byte(text))
				if r.Counts[Biometric] != 1 {
					t.Errorf("phrase %q at offset %d: %d findings, want 1", v, pad+1, r.Counts[Biometric])
				}
			}
		}
	}
}

func camel(p string) string {
	var sb strings.Builder
	up := false
	for _, c := range p {
		switch {
		case c == ' ':
			up = true
		case up:
			sb.WriteString(strings.ToUpper(string(c)))
			up = false
		default:
			sb.WriteRune(c)
		}
	}
	return sb.String()
}

// BenchmarkBiometricPrefilter measures the biometric phrase pass alone
// (thread CPU time, best of five) on the mixed text of BenchmarkScan and on
// prose with no candidate at all.
func BenchmarkBiometricPrefilter(b *testing.B) {
	s := New()
	for _, in := range []struct {
		name string
		b    []byte
	}{{"mixed", mixedText(benchSize, 1)}, {"prose", bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog. "), benchSize/45)}} {
		b.Run("input="+in.name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			best := time.Duration(1 << 62)
			for range max(b.N, 5) {
				st := scan{s: s, b: in.b}
				c0 := threadCPU(b)
				st.biometric()
				best = min(best, threadCPU(b)-c0)
			}
			b.ReportMetric(float64(len(in.b))/1e6/best.Seconds(), "MB/s")
		})
	}
}
