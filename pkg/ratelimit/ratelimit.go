// Package ratelimit keeps one token bucket per caller, for the gateway's
// per-caller REST limits and the gRPC services' per-identity limits.
// golang.org/x/time/rate is the bucket: its reservation says exactly how
// long until the next token (which callers turn into Retry-After and
// google.rpc.RetryInfo), and it is safe for concurrent use, so this package
// only keeps the set of buckets bounded.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed holds one token bucket per key (a subject, an address).
type Keyed struct {
	limit rate.Limit
	burst int
	// idle is how long an unused bucket takes to refill completely; after
	// that it is indistinguishable from a new one and is dropped.
	idle time.Duration

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim      *rate.Limiter
	lastSeen time.Time
}

// NewKeyed returns buckets refilling at rps tokens per second, holding at
// most burst (at least 1).
func NewKeyed(rps float64, burst int) *Keyed {
	burst = max(burst, 1)
	idle := time.Duration(float64(burst) / rps * float64(time.Second))
	return &Keyed{
		limit: rate.Limit(rps), burst: burst, idle: max(idle, time.Minute),
		buckets: map[string]*bucket{}, lastSweep: time.Now(),
	}
}

// Reserve takes a token from key's bucket and returns 0, or returns how
// long the caller must wait for one (without taking it).
func (k *Keyed) Reserve(key string, now time.Time) time.Duration {
	k.mu.Lock()
	if now.Sub(k.lastSweep) > k.idle {
		for name, b := range k.buckets {
			if now.Sub(b.lastSeen) > k.idle {
				delete(k.buckets, name)
			}
		}
		k.lastSweep = now
	}
	b, ok := k.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(k.limit, k.burst)}
		k.buckets[key] = b
	}
	b.lastSeen = now
	k.mu.Unlock()
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// Rate is the sustained rate of every bucket, in tokens per second.
func (k *Keyed) Rate() float64 { return float64(k.limit) }

// Burst is how many tokens a full bucket holds.
func (k *Keyed) Burst() int { return k.burst }

// Len is the number of buckets kept.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}
