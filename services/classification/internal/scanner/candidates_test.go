package scanner

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestCandidates_exactPerByte checks the hot loop's SWAR mask against a
// byte-at-a-time answer, including every byte the main loop dispatches on.
func TestCandidates_exactPerByte(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	s := New()
	for range 300000 {
		var buf [8]byte
		for k := range buf {
			switch r.IntN(3) {
			case 0:
				buf[k] = byte(r.IntN(256))
			case 1:
				buf[k] = byte(0x28 + r.IntN(0x20))
			default:
				buf[k] = "-./09:;<=>?@A"[r.IntN(13)]
			}
		}
		m := candidates(binary.LittleEndian.Uint64(buf[:]))
		for k, c := range buf {
			want := (c >= 0x30 && c <= 0x40) || c == '-'
			got := m>>(8*k+7)&1 == 1
			if want != got {
				t.Fatalf("%q byte %d (%#x): got %v want %v", buf, k, c, got, want)
			}
			if s.class[c] != clsNone && !got {
				t.Fatalf("class byte %#x not a candidate", c)
			}
		}
	}
}
