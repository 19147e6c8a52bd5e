package porttest_test

import (
	"net"
	"strconv"
	"testing"

	"github.com/breachline/breachline/pkg/porttest"
)

func TestFreeAddrs(t *testing.T) {
	t.Parallel()
	addrs := porttest.FreeAddrs(t, 8)
	seen := map[string]bool{}
	for _, a := range addrs {
		if seen[a] {
			t.Fatalf("%s handed out twice", a)
		}
		seen[a] = true
		_, p, err := net.SplitHostPort(a)
		if err != nil {
			t.Fatal(err)
		}
		port, _ := strconv.Atoi(p)
		if port < 10000 || port >= 32768 {
			t.Errorf("%s: port outside 10000-32767, inside the default ephemeral range", a)
		}
		// Free again: the caller's binary can bind it.
		l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", a)
		if err != nil {
			t.Fatalf("%s not free after FreeAddrs: %v", a, err)
		}
		_ = l.Close()
	}
}
