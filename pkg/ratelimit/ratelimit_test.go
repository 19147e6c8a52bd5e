package ratelimit_test

import (
	"testing"
	"time"

	"github.com/breachline/breachline/pkg/ratelimit"
)

func TestKeyed(t *testing.T) {
	t.Parallel()
	k := ratelimit.NewKeyed(10, 2)
	now := time.Now()
	for i := range 2 {
		if wait := k.Reserve("a", now); wait != 0 {
			t.Fatalf("call %d within the burst waited %v", i+1, wait)
		}
	}
	wait := k.Reserve("a", now)
	if wait <= 0 || wait > 100*time.Millisecond {
		t.Fatalf("call over the burst: wait %v, want (0, 100ms]", wait)
	}
	if again := k.Reserve("a", now); again != wait {
		t.Fatalf("a refused call took a token: wait %v then %v", wait, again)
	}
	if w := k.Reserve("b", now); w != 0 {
		t.Fatalf("another key shares the bucket: wait %v", w)
	}
	if w := k.Reserve("a", now.Add(wait)); w != 0 {
		t.Fatalf("after the announced wait: wait %v, want 0", w)
	}
	// Buckets idle longer than a full refill (at least a minute) are dropped.
	k.Reserve("c", now.Add(2*time.Minute))
	if n := k.Len(); n != 1 {
		t.Fatalf("%d buckets after the idle sweep, want 1", n)
	}
}
