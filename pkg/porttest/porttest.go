// Package porttest picks loopback addresses for test processes that bind
// them themselves (a service binary started by a test).
package porttest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"testing"
)

// FreeAddrs returns n distinct loopback addresses whose ports were free a
// moment ago. All n listeners stay open until every port is chosen, so the
// kernel cannot hand the same port out twice.
//
// The ports come from below the kernel's ephemeral range: a port taken
// from ":0" is released before the binary binds it, and in that gap any
// outgoing connection (the services dial the store hundreds of times) may
// be given it as its local port — "bind: address already in use". Nothing
// but a deliberate listener uses the ports below the range.
func FreeAddrs(t testing.TB, n int) []string {
	t.Helper()
	lo, hi := portsBelowEphemeral()
	addrs := make([]string, 0, n)
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for tries := 0; len(addrs) < n; tries++ {
		if tries > 1000 {
			t.Fatalf("no free loopback port in %d-%d after %d tries", lo, hi, tries)
		}
		port := lo + rand.IntN(hi-lo) //nolint:gosec // a port to try, not a secret
		l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue // taken
		}
		listeners = append(listeners, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs
}

// portsBelowEphemeral returns a range of ports [lo, hi) under the kernel's
// ephemeral range (net.ipv4.ip_local_port_range, 32768 by default).
func portsBelowEphemeral() (lo, hi int) {
	hi = 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var a, z int
		if _, err := fmt.Sscan(string(b), &a, &z); err == nil && a > 12000 {
			hi = a
		}
	}
	return 10000, hi
}

